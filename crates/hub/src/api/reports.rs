//! `GET /api/reports/daily` (manager): one local day's numbers; `/detail`
//! in full, and `/api/reports/daily.csv` as a spreadsheet's file. Each a
//! call into reports.rs.

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::Json;
use countertop_protocol::{Action, DailyReport, DailyReportDetail, SettingKey};
use serde::Deserialize;

use crate::auth::Caller;
use crate::error::{ApiQuery, ApiResult};
use crate::{reports, store, Hub};

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

/// `GET /api/reports/daily/detail?date=`.
pub async fn detail(
    State(hub): State<Hub>,
    caller: Caller,
    ApiQuery(q): ApiQuery<DailyQuery>,
) -> ApiResult<Json<DailyReportDetail>> {
    caller.require(Action::ReadReports)?;
    Ok(Json(reports::detail(&hub, q.date.as_deref()).await?))
}

/// `GET /api/reports/daily.csv?date=`: an attachment named after the day.
pub async fn csv(
    State(hub): State<Hub>,
    caller: Caller,
    ApiQuery(q): ApiQuery<DailyQuery>,
) -> ApiResult<impl IntoResponse> {
    caller.require(Action::ReadReports)?;
    let report = reports::detail(&hub, q.date.as_deref()).await?;
    let currency = {
        let mut conn = hub.pool().acquire().await?;
        store::settings::setting(&mut conn, SettingKey::Currency.as_str())
            .await?
            .unwrap_or_else(|| SettingKey::Currency.default_value().to_owned())
    };
    // The date is checked as YYYY-MM-DD: safe in a header as it is.
    let disposition = format!(
        "attachment; filename=\"countertop-report-{}.csv\"",
        report.date
    );
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        reports::csv(&report, &currency),
    ))
}
