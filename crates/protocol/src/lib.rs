//! Wire types of the Countertop hub protocol, version 2 (`shared/PROTOCOL.md`,
//! `docs/protocol.md`).
//!
//! This crate is the one place where the JSON shapes of the protocol live. It
//! has no I/O: the hub and the client core both depend on it and convert to
//! their own domain types at their edges. Field names are camelCase on the
//! wire, except `order_id` in `subscribe_order`, which the protocol keeps in
//! snake_case for the clients it replaces.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub mod codes;
pub mod dialect;
pub mod menu;
pub mod report;
pub mod rest;
pub mod roles;
pub mod topic;
pub mod workshop;

pub use codes::{ErrorCode, SettingKey, Widget};
pub use menu::{
    ChosenOption, Fulfilment, LineOption, Names, OptionChoice, OptionError, OptionGroup, Photo,
    PricedOptions, DEFAULT_STATION,
};
pub use report::*;
pub use rest::*;
pub use roles::{default_topics, may_read, Access, Action};
pub use topic::{Topic, TopicError};

/// The protocol version this crate describes.
pub const PROTOCOL_VERSION: u32 = 2;

/// The largest client frame the hub accepts (64 KiB); larger closes with 1009.
pub const MAX_FRAME_BYTES: usize = 64 * 1024;

/// Close code sent to connections of a revoked device.
pub const CLOSE_REVOKED: u16 = 4001;

/// Close code sent to every device's connection when the manager rotates
/// the hub's signing secret: refresh the token (`POST /api/devices/refresh`)
/// and connect again.
pub const CLOSE_SECRET_ROTATED: u16 = 4002;

/// A wall-clock instant on the wire (RFC 3339, UTC).
pub type Timestamp = DateTime<Utc>;

// ---------------------------------------------------------------------------
// Client → hub
// ---------------------------------------------------------------------------

/// A message a client sends over the WebSocket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientMessage {
    Ping,
    Subscribe {
        topics: Vec<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        since: Option<u64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        epoch: Option<String>,
    },
    Unsubscribe {
        topics: Vec<String>,
    },
    SubscribeAdmin,
    SubscribeOrder {
        order_id: OrderRef,
    },
}

/// What `subscribe_order` names: an order by its id, or today's order by its
/// daily number (the pizzeria's receipt number). Written back as it came.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum OrderRef {
    Number(u32),
    Id(String),
}

/// Why a client frame could not be understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("frame is not valid JSON: {0}")]
    Json(String),
    #[error("frame has no string field \"type\"")]
    MissingType,
    #[error("unknown message type \"{0}\"")]
    UnknownType(String),
    #[error("invalid \"{kind}\" message: {detail}")]
    Invalid { kind: String, detail: String },
    #[error("too many topics in one message (at most {max})")]
    TooManyTopics { max: usize },
}

impl DecodeError {
    /// The stable error code sent to the client.
    pub fn code(&self) -> ErrorCode {
        ErrorCode::Validation
    }
}

/// The most topics one `subscribe`/`unsubscribe` may name.
pub const MAX_TOPICS_PER_MESSAGE: usize = 64;

/// Decodes one text frame from a client. Never panics: every input is either a
/// valid message or a [`DecodeError`] the hub turns into an `error` event.
pub fn decode_client_message(text: &str) -> Result<ClientMessage, DecodeError> {
    let value: Value = serde_json::from_str(text).map_err(|e| DecodeError::Json(e.to_string()))?;
    let kind = value
        .get("type")
        .and_then(Value::as_str)
        .ok_or(DecodeError::MissingType)?
        .to_owned();
    const KNOWN: [&str; 5] = [
        "ping",
        "subscribe",
        "unsubscribe",
        "subscribe_admin",
        "subscribe_order",
    ];
    if !KNOWN.contains(&kind.as_str()) {
        let mut shown: String = kind.chars().take(40).collect();
        if shown.len() < kind.len() {
            shown.push('…');
        }
        return Err(DecodeError::UnknownType(shown));
    }
    let message: ClientMessage =
        serde_json::from_value(value).map_err(|e| DecodeError::Invalid {
            kind: kind.clone(),
            detail: e.to_string(),
        })?;
    match &message {
        ClientMessage::Subscribe { topics, .. } | ClientMessage::Unsubscribe { topics }
            if topics.len() > MAX_TOPICS_PER_MESSAGE =>
        {
            Err(DecodeError::TooManyTopics {
                max: MAX_TOPICS_PER_MESSAGE,
            })
        }
        _ => Ok(message),
    }
}

// ---------------------------------------------------------------------------
// Hub → client: control events (no seq)
// ---------------------------------------------------------------------------

/// First frame on every WebSocket connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Welcome {
    pub connection_id: String,
    pub device_id: Option<String>,
    pub role: Option<Role>,
    pub epoch: String,
    pub seq: u64,
    /// What the connection reads from now on (version 2).
    #[serde(default)]
    pub topics: Vec<String>,
}

/// Answer to `subscribe` (topics), `subscribe_admin` (role) or
/// `subscribe_order` (`order_id`, as the client sent it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Subscribed {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topics: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    #[serde(default, rename = "order_id", skip_serializing_if = "Option::is_none")]
    pub order_id: Option<OrderRef>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unsubscribed {
    pub topics: Vec<String>,
}

/// Sent after the events a `subscribe` with `since` asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Replayed {
    /// The `since` the client asked for.
    pub from: u64,
    /// The newest seq sent or skipped.
    pub to: u64,
    /// How many events were sent.
    pub count: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResyncReason {
    HistoryExpired,
    EpochChanged,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resync {
    pub reason: ResyncReason,
}

/// `{"code": "...", "message": "..."}`: the body of an `error` event and of
/// every HTTP error (wrapped in `{"error": ...}` there).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub code: String,
    pub message: String,
}

/// `{"error": {...}}`, the body of every HTTP error answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorResponse {
    pub error: ErrorBody,
}

/// The SSE `welcome` event's data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamWelcome {
    pub epoch: String,
    pub seq: u64,
}

// ---------------------------------------------------------------------------
// Durable events
// ---------------------------------------------------------------------------

/// Every event the hub sends, durable or not, as `{"event": NAME, "data": {...}}`.
/// A durable event additionally carries `seq` (see [`Frame`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", content = "data")]
pub enum Event {
    #[serde(rename = "welcome")]
    Welcome(Welcome),
    #[serde(rename = "pong")]
    Pong,
    #[serde(rename = "subscribed")]
    Subscribed(Subscribed),
    #[serde(rename = "unsubscribed")]
    Unsubscribed(Unsubscribed),
    #[serde(rename = "replayed")]
    Replayed(Replayed),
    #[serde(rename = "resync")]
    Resync(Resync),
    #[serde(rename = "error")]
    Error(ErrorBody),
    #[serde(rename = "order:created")]
    OrderCreated(OrderCreated),
    /// On `orders` and `order:{id}` the full change; on `board` only
    /// `orderId`, `dailyNum` and `status` (the other fields are absent).
    #[serde(rename = "order:status_changed")]
    OrderStatusChanged(OrderStatusChanged),
    #[serde(rename = "order:cancelled")]
    OrderCancelled(OrderCancelled),
    /// A station marked lines of an order done (or undone). Not in the
    /// version 2 contract: documented in `docs/protocol.md`.
    #[serde(rename = "order:items_marked")]
    OrderItemsMarked(OrderItemsMarked),
    #[serde(rename = "menu:sold_out_changed")]
    MenuSoldOutChanged(MenuSoldOutChanged),
    #[serde(rename = "menu:updated")]
    MenuUpdated(MenuItem),
    #[serde(rename = "menu:deleted")]
    MenuDeleted(MenuDeleted),
    #[serde(rename = "cell:balance_changed")]
    CellBalanceChanged(CellBalanceChanged),
    #[serde(rename = "settings:changed")]
    SettingsChanged(SettingsChanged),
    #[serde(rename = "workorder:updated")]
    WorkorderUpdated(WorkorderUpdated),
    #[serde(rename = "system:notification")]
    SystemNotification(SystemNotification),
    #[serde(rename = "batch:progress")]
    BatchProgress(BatchProgress),
    #[serde(rename = "dashboard:update")]
    DashboardUpdate(DashboardUpdate),
}

impl Event {
    /// The event's wire name (`order:created`, `pong`, ...).
    pub fn name(&self) -> &'static str {
        match self {
            Event::Welcome(_) => "welcome",
            Event::Pong => "pong",
            Event::Subscribed(_) => "subscribed",
            Event::Unsubscribed(_) => "unsubscribed",
            Event::Replayed(_) => "replayed",
            Event::Resync(_) => "resync",
            Event::Error(_) => "error",
            Event::OrderCreated(_) => "order:created",
            Event::OrderStatusChanged(_) => "order:status_changed",
            Event::OrderCancelled(_) => "order:cancelled",
            Event::OrderItemsMarked(_) => "order:items_marked",
            Event::MenuSoldOutChanged(_) => "menu:sold_out_changed",
            Event::MenuUpdated(_) => "menu:updated",
            Event::MenuDeleted(_) => "menu:deleted",
            Event::CellBalanceChanged(_) => "cell:balance_changed",
            Event::SettingsChanged(_) => "settings:changed",
            Event::WorkorderUpdated(_) => "workorder:updated",
            Event::SystemNotification(_) => "system:notification",
            Event::BatchProgress(_) => "batch:progress",
            Event::DashboardUpdate(_) => "dashboard:update",
        }
    }

    /// Whether this kind of event carries a `seq` and is kept in the event log.
    pub fn is_durable(&self) -> bool {
        !matches!(
            self,
            Event::Welcome(_)
                | Event::Pong
                | Event::Subscribed(_)
                | Event::Unsubscribed(_)
                | Event::Replayed(_)
                | Event::Resync(_)
                | Event::Error(_)
        )
    }

    /// Builds an event from its wire name and `data`, as stored in a log or
    /// received over SSE.
    pub fn from_parts(name: &str, data: Value) -> Result<Event, serde_json::Error> {
        serde_json::from_value(serde_json::json!({ "event": name, "data": data }))
    }

    /// The `data` object alone, as SSE sends it.
    pub fn data_json(&self) -> Value {
        match serde_json::to_value(self) {
            Ok(Value::Object(mut map)) => map.remove("data").unwrap_or(Value::Null),
            _ => Value::Null,
        }
    }
}

/// One frame from the hub: `{"event": NAME, "seq"?: N, "data": {...}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Frame {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
    #[serde(flatten)]
    pub event: Event,
}

impl Frame {
    pub fn control(event: Event) -> Frame {
        Frame { seq: None, event }
    }
}

/// A line item of an order as the hub reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderLine {
    pub menu_id: String,
    pub menu_name: String,
    pub quantity: u32,
    pub unit_price: i64,
    pub total_price: i64,
    /// The options chosen, priced: `unit_price` includes their deltas.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "menu::lenient_options"
    )]
    pub options: Vec<LineOption>,
    /// The station that makes this line (the menu item's when the order
    /// was placed). Absent on orders of hubs before stations: those lines
    /// go to [`menu::DEFAULT_STATION`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub station: Option<String>,
    /// Whether its station has marked it done (`order:items_marked`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub done: bool,
    /// When it was marked done.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub done_at: Option<Timestamp>,
}

impl OrderLine {
    /// The station that makes this line.
    pub fn station(&self) -> &str {
        self.station.as_deref().unwrap_or(menu::DEFAULT_STATION)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum PayType {
    Card,
    Cash,
    Cell,
}

impl PayType {
    pub fn as_str(self) -> &'static str {
        match self {
            PayType::Card => "CARD",
            PayType::Cash => "CASH",
            PayType::Cell => "CELL",
        }
    }

    pub fn parse(s: &str) -> Option<PayType> {
        match s {
            "CARD" => Some(PayType::Card),
            "CASH" => Some(PayType::Cash),
            "CELL" => Some(PayType::Cell),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "UPPERCASE")]
pub enum OrderStatus {
    Pending,
    Making,
    Ready,
    Completed,
    Cancelled,
}

impl OrderStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Pending => "PENDING",
            OrderStatus::Making => "MAKING",
            OrderStatus::Ready => "READY",
            OrderStatus::Completed => "COMPLETED",
            OrderStatus::Cancelled => "CANCELLED",
        }
    }

    pub fn parse(s: &str) -> Option<OrderStatus> {
        match s {
            "PENDING" => Some(OrderStatus::Pending),
            "MAKING" => Some(OrderStatus::Making),
            "READY" => Some(OrderStatus::Ready),
            "COMPLETED" => Some(OrderStatus::Completed),
            "CANCELLED" => Some(OrderStatus::Cancelled),
            _ => None,
        }
    }

    /// The one status a `PATCH .../status` may move to from here, if any.
    /// Cancelling is not a status move: it goes through the cancel call.
    pub fn next(self) -> Option<OrderStatus> {
        match self {
            OrderStatus::Pending => Some(OrderStatus::Making),
            OrderStatus::Making => Some(OrderStatus::Ready),
            OrderStatus::Ready => Some(OrderStatus::Completed),
            OrderStatus::Completed | OrderStatus::Cancelled => None,
        }
    }

    /// What kind of move `PATCH .../status` from here to `to` is, if the
    /// protocol allows it: one step on, or a recall undoing a bump (`READY →
    /// MAKING`, and `COMPLETED → READY` within [`RECALL_WINDOW_MINUTES`] of
    /// completion, which only the hub, knowing when, can check).
    pub fn move_to(self, to: OrderStatus) -> Option<StatusMove> {
        match (self, to) {
            _ if self.next() == Some(to) => Some(StatusMove::Forward),
            (OrderStatus::Ready, OrderStatus::Making)
            | (OrderStatus::Completed, OrderStatus::Ready) => Some(StatusMove::Recall),
            _ => None,
        }
    }

    /// Whether the order may still be cancelled.
    pub fn is_cancellable(self) -> bool {
        matches!(
            self,
            OrderStatus::Pending | OrderStatus::Making | OrderStatus::Ready
        )
    }

    /// Open orders are the ones staff still have to work on.
    pub fn is_open(self) -> bool {
        self.is_cancellable()
    }
}

/// A completed order may be recalled to `READY` for this long.
pub const RECALL_WINDOW_MINUTES: i64 = 30;

/// The kinds of status move [`OrderStatus::move_to`] allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusMove {
    /// One step on: `PENDING → MAKING → READY → COMPLETED`.
    Forward,
    /// A barista undoing a bump: `READY → MAKING`, `COMPLETED → READY`.
    Recall,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CellInfo {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderCreated {
    pub order_id: String,
    pub daily_num: u32,
    pub pay_type: PayType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cell_info: Option<CellInfo>,
    pub items: Vec<OrderLine>,
    pub total_amount: i64,
    pub status: OrderStatus,
    pub created_at: Timestamp,
    #[serde(default)]
    pub fulfilment: Fulfilment,
    /// When the customer placed it: `created_at` unless a device queued it
    /// while the hub was out of reach. Timers start here. Absent on orders
    /// of hubs before it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub placed_at: Option<Timestamp>,
    /// The provisional reference a device gave an order it queued offline,
    /// shown to the customer until the daily number came.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderStatusChanged {
    pub order_id: String,
    pub daily_num: u32,
    pub status: OrderStatus,
    /// Absent on the `board` topic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_status: Option<OrderStatus>,
    /// Absent on the `board` topic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<Timestamp>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderCancelled {
    pub order_id: String,
    pub daily_num: u32,
    pub reason: String,
    pub cancelled_at: Timestamp,
}

/// Lines of an order marked done or undone, by their index in `items`.
/// Only lines whose mark changed are listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderItemsMarked {
    pub order_id: String,
    pub daily_num: u32,
    pub lines: Vec<u32>,
    pub done: bool,
    pub marked_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MenuDeleted {
    pub menu_id: String,
    pub menu_name: String,
    pub deleted_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MenuSoldOutChanged {
    pub menu_id: String,
    pub menu_name: String,
    pub is_sold_out: bool,
    pub updated_at: Timestamp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum BalanceChangeType {
    Charge,
    Order,
    Refund,
    /// A manager's correction with a reason: not in the version 2 contract,
    /// documented in `docs/protocol.md`.
    Correction,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CellBalanceChanged {
    pub cell_id: String,
    pub cell_name: String,
    pub balance_before: i64,
    pub balance_after: i64,
    pub change_amount: i64,
    #[serde(rename = "type")]
    pub kind: BalanceChangeType,
    pub updated_at: Timestamp,
    /// A correction's reason (`CORRECTION` only; absent otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpdatedBy {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SettingsChanged {
    pub key: String,
    pub value: String,
    pub updated_by: UpdatedBy,
    pub updated_at: Timestamp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WorkorderChange {
    Created,
    Status,
    Column,
    Session,
    Presented,
    Signature,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkorderUpdated {
    pub work_order_id: String,
    pub change_type: WorkorderChange,
    pub work_order: Workorder,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NotificationLevel {
    Info,
    Warning,
    Error,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SystemNotification {
    pub id: String,
    pub level: NotificationLevel,
    pub title: String,
    pub message: String,
    pub timestamp: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchProgress {
    pub batch_id: String,
    pub progress: f64,
    pub current: u64,
    pub total: u64,
    pub status: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DashboardUpdate {
    pub widget_id: String,
    pub value: Value,
    pub timestamp: Timestamp,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durable_frame_round_trips_with_seq_beside_event_and_data() {
        let text = r#"{"event":"order:cancelled","seq":7,"data":{"orderId":"ORD-1-abc123","dailyNum":3,"reason":"spilled","cancelledAt":"2026-11-23T10:00:00Z"}}"#;
        let frame: Frame = serde_json::from_str(text).unwrap();
        assert_eq!(frame.seq, Some(7));
        assert_eq!(frame.event.name(), "order:cancelled");
        let back: Value = serde_json::to_value(&frame).unwrap();
        assert_eq!(back, serde_json::from_str::<Value>(text).unwrap());
    }

    #[test]
    fn pong_has_no_data_and_no_seq() {
        let text = serde_json::to_string(&Frame::control(Event::Pong)).unwrap();
        assert_eq!(text, r#"{"event":"pong"}"#);
        let back: Frame = serde_json::from_str(&text).unwrap();
        assert_eq!(back.event, Event::Pong);
    }

    #[test]
    fn subscribe_order_keeps_snake_case_field() {
        let msg = decode_client_message(r#"{"type":"subscribe_order","order_id":"ORD-1-a"}"#);
        assert_eq!(
            msg,
            Ok(ClientMessage::SubscribeOrder {
                order_id: OrderRef::Id("ORD-1-a".into())
            })
        );
        let msg = decode_client_message(r#"{"type":"subscribe_order","order_id":123}"#);
        assert_eq!(
            msg,
            Ok(ClientMessage::SubscribeOrder {
                order_id: OrderRef::Number(123)
            })
        );
        let answer = Event::Subscribed(Subscribed {
            order_id: Some(OrderRef::Number(123)),
            ..Subscribed::default()
        });
        assert_eq!(
            serde_json::to_string(&Frame::control(answer)).unwrap(),
            r#"{"event":"subscribed","data":{"order_id":123}}"#
        );
    }

    #[test]
    fn decoder_names_what_is_wrong() {
        assert!(matches!(
            decode_client_message("{"),
            Err(DecodeError::Json(_))
        ));
        assert_eq!(
            decode_client_message(r#"{"type":"dance"}"#),
            Err(DecodeError::UnknownType("dance".into()))
        );
        assert!(matches!(
            decode_client_message(r#"{"type":"subscribe","topics":"orders"}"#),
            Err(DecodeError::Invalid { .. })
        ));
        assert_eq!(
            decode_client_message(r#"{"type":5}"#),
            Err(DecodeError::MissingType)
        );
    }

    #[test]
    fn status_moves_follow_the_protocol() {
        use OrderStatus::*;
        assert_eq!(Pending.next(), Some(Making));
        assert_eq!(Making.next(), Some(Ready));
        assert_eq!(Ready.next(), Some(Completed));
        assert_eq!(Completed.next(), None);
        let all = [Pending, Making, Ready, Completed, Cancelled];
        for from in all {
            for to in all {
                let expected = match (from, to) {
                    (Pending, Making) | (Making, Ready) | (Ready, Completed) => {
                        Some(StatusMove::Forward)
                    }
                    (Ready, Making) | (Completed, Ready) => Some(StatusMove::Recall),
                    _ => None,
                };
                assert_eq!(from.move_to(to), expected, "{from:?} → {to:?}");
            }
        }
        assert!(Ready.is_cancellable());
        assert!(!Completed.is_cancellable());
        assert!(!Cancelled.is_cancellable());
    }
}
