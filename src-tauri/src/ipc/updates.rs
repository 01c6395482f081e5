//! The event the shell forwards from the client core to a device's windows.

use countertop_client::CoreEvent;
use countertop_protocol::ErrorCode;
use serde::Serialize;
use specta::Type;

use super::errors::IpcErrorCode;
use super::views::LinkStatus;

/// What the shell forwards from the client core to the windows of a device.
#[derive(Debug, Clone, Serialize, Type, tauri_specta::Event)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum CoreUpdate {
    /// The connection state changed.
    Status(LinkStatus),
    /// The cache changed (an event was applied or a snapshot loaded): read
    /// the screen again. `orderId` names a new order, to highlight it.
    #[serde(rename_all = "camelCase")]
    Changed { new_order_id: Option<String> },
    /// An alert was raised (new order, cancellation, notice).
    Alert { title: String, body: String },
    /// A burst of new orders closed (one chime for all of them): how many,
    /// and their daily numbers. A board shows "5 new orders" when `count`
    /// is 2 or more.
    NewOrders { count: u32, numbers: Vec<u32> },
    /// An outbox entry reached the hub. For an order: its number.
    #[serde(rename_all = "camelCase")]
    Sent {
        key: String,
        order_id: Option<String>,
        daily_num: Option<u32>,
    },
    /// The hub refused an outbox entry.
    Refused {
        key: String,
        code: IpcErrorCode,
        message: String,
    },
    /// How many actions wait in the outbox.
    Outbox { depth: u32 },
    /// The language preference changed (sent to every window).
    Preferences { language: Option<String> },
}

impl CoreUpdate {
    /// The update for a core event, if the UI needs to hear of it.
    pub fn from_core(event: CoreEvent) -> Option<CoreUpdate> {
        use countertop_protocol::Event;
        Some(match event {
            CoreEvent::State(status) => CoreUpdate::Status(status.into()),
            CoreEvent::Applied { event, .. } => CoreUpdate::Changed {
                new_order_id: match *event {
                    Event::OrderCreated(created) => Some(created.order_id),
                    _ => None,
                },
            },
            CoreEvent::Snapshot { .. } => CoreUpdate::Changed { new_order_id: None },
            CoreEvent::Alert(alert) => CoreUpdate::Alert {
                title: alert.title,
                body: alert.body,
            },
            CoreEvent::OutboxDepth(depth) => CoreUpdate::Outbox {
                depth: u32::try_from(depth).unwrap_or(u32::MAX),
            },
            CoreEvent::OutboxSent { key, response } => CoreUpdate::Sent {
                key,
                order_id: response
                    .get("orderId")
                    .and_then(|v| v.as_str())
                    .map(str::to_owned),
                daily_num: response
                    .get("dailyNum")
                    .and_then(|v| v.as_u64())
                    .and_then(|n| u32::try_from(n).ok()),
            },
            CoreEvent::OutboxRefused { key, error } => CoreUpdate::Refused {
                key,
                code: countertop_client::ErrorKind::Hub(ErrorCode::parse(&error.code)).into(),
                message: error.message,
            },
            CoreEvent::HubError(_) => return None,
        })
    }
}
