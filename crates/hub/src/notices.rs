//! Notices, the domain: a manager's message to every manager screen and
//! the counter's boards, announced once as `system:notification` (durable,
//! topic `notices`, which `system` readers read too).

use countertop_protocol::{Event, NewNotification, SystemNotification, Topic};

use crate::auth::random_id;
use crate::input::{text, Refused};
use crate::log::Routing;
use crate::Hub;

/// Why a notice could not be sent.
pub(crate) type NoticeError = Refused;

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
        Routing::topic(Topic::Notices),
        now,
    )
    .await?;
    w.commit().await?;
    Ok(notice)
}
