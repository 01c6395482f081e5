//! `GET /api/reports/daily`: a manager reads one local day's numbers.

use axum::extract::State;
use axum::Json;
use countertop_protocol::{Action, DailyReport};
use serde::Deserialize;

use crate::auth::Caller;
use crate::error::{ApiQuery, ApiResult};
use crate::{reports, Hub};

#[derive(Debug, Deserialize)]
pub struct DailyQuery {
    date: Option<String>,
}

pub async fn daily(
    State(hub): State<Hub>,
    caller: Caller,
    ApiQuery(q): ApiQuery<DailyQuery>,
) -> ApiResult<Json<DailyReport>> {
    caller.require(Action::ReadReports)?;
    Ok(Json(reports::daily(&hub, q.date.as_deref()).await?))
}
