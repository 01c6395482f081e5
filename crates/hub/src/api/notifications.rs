//! `POST /api/notifications`: a manager's message to every manager screen.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use countertop_protocol::Action;
use countertop_protocol::{Event, NewNotification, SystemNotification, Topic};

use crate::auth::{random_id, Caller};
use crate::error::{ApiJson, ApiResult};
use crate::input::text;
use crate::log::Routing;
use crate::Hub;

pub async fn create(
    State(hub): State<Hub>,
    caller: Caller,
    ApiJson(body): ApiJson<NewNotification>,
) -> ApiResult<(StatusCode, Json<SystemNotification>)> {
    caller.require(Action::SendNotification)?;
    let now = hub.clock.now();
    let notification = SystemNotification {
        id: format!("ntf-{}", random_id(10)),
        level: body.level,
        title: text("title", &body.title, 120)?,
        message: text("message", &body.message, 2000)?,
        timestamp: now,
    };
    let mut w = hub.log.begin().await?;
    w.emit(
        &Event::SystemNotification(notification.clone()),
        Routing::topic(Topic::System),
        now,
    )
    .await?;
    w.commit().await?;
    Ok((StatusCode::CREATED, Json(notification)))
}
