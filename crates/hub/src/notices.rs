//! Notices, the domain: a manager's message to every manager screen,
//! announced as `system:notification` (durable, topic `system`).

use countertop_protocol::{Event, NewNotification, SystemNotification, Topic};

use crate::auth::random_id;
use crate::error::AppError;
use crate::input::{text, Invalid};
use crate::log::Routing;
use crate::Hub;

/// Why a notice could not be sent.
#[derive(Debug, thiserror::Error)]
pub(crate) enum NoticeError {
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] sqlx::Error),
}

impl From<Invalid> for NoticeError {
    fn from(err: Invalid) -> NoticeError {
        NoticeError::Invalid(err.0)
    }
}

impl From<NoticeError> for AppError {
    fn from(err: NoticeError) -> AppError {
        match err {
            NoticeError::Invalid(message) => AppError::validation(message),
            NoticeError::Store(e) => e.into(),
        }
    }
}

/// Checks and announces a notice; answers it as sent.
pub(crate) async fn send(
    hub: &Hub,
    body: NewNotification,
) -> Result<SystemNotification, NoticeError> {
    let now = hub.clock.now();
    let notice = SystemNotification {
        id: format!("ntf-{}", random_id(10)),
        level: body.level,
        title: text("title", &body.title, 120)?,
        message: text("message", &body.message, 2000)?,
        timestamp: now,
    };
    let mut w = hub.log.begin().await?;
    w.emit(
        &Event::SystemNotification(notice.clone()),
        Routing::topic(Topic::System),
        now,
    )
    .await?;
    w.commit().await?;
    Ok(notice)
}
