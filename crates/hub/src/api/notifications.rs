//! `POST /api/notifications`: a manager's notice to every manager screen and
//! every barista board.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use countertop_protocol::{Action, NewNotification, SystemNotification};

use crate::auth::Caller;
use crate::error::{ApiJson, ApiResult};
use crate::Hub;

pub async fn create(
    State(hub): State<Hub>,
    caller: Caller,
    ApiJson(body): ApiJson<NewNotification>,
) -> ApiResult<(StatusCode, Json<SystemNotification>)> {
    caller.require(Action::SendNotification)?;
    let notice = crate::notices::send(&hub, body).await?;
    Ok((StatusCode::CREATED, Json(notice)))
}
