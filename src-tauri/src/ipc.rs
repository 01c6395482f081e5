//! What crosses the IPC boundary: the one error type, the views the UI
//! reads, and the event the shell forwards. TypeScript for all of these is
//! generated (`ui/src/bindings.ts`); see `tests/bindings.rs`.
//!
//! Views are the app's own types, converted from the protocol's at this
//! edge, so the wire types carry no UI concerns.

use std::collections::BTreeMap;

use chrono::{DateTime, Local, Timelike, Utc};
use countertop_client::{ClientError, ConnectionState, CoreEvent, Status};
use countertop_protocol::{
    Cell, Device, MenuItem, NotificationLevel, Order, OrderStatus, PairingCode, PayType, Role,
    SystemNotification, Workorder, WorkorderStatus,
};
use serde::{Deserialize, Serialize};
use specta::Type;

/// The one error every command returns: a stable snake_case `code` the UI
/// branches on (`sold_out`, `insufficient_balance`, `ordering_paused`, ...)
/// and a sentence for people.
#[derive(Debug, Clone, Serialize, Type, thiserror::Error)]
#[error("{message} ({code})")]
pub struct IpcError {
    pub code: String,
    pub message: String,
}

impl IpcError {
    pub fn new(code: &str, message: impl Into<String>) -> IpcError {
        IpcError {
            code: code.to_owned(),
            message: message.into(),
        }
    }
}

impl From<ClientError> for IpcError {
    fn from(e: ClientError) -> IpcError {
        IpcError::new(e.code(), e.to_string())
    }
}

impl From<countertop_client::CacheError> for IpcError {
    fn from(e: countertop_client::CacheError) -> IpcError {
        IpcError::new("cache", e.to_string())
    }
}

/// Who this window is.
#[derive(Debug, Clone, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct Session {
    /// `setup` when the instance has not been set up yet (first run).
    pub screen: ScreenKind,
    pub device_name: String,
    pub hub: String,
    /// Whether this instance hosts the hub itself.
    pub hosting: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "lowercase")]
pub enum ScreenKind {
    Setup,
    Kiosk,
    Barista,
    Board,
    Display,
    Manager,
}

impl ScreenKind {
    pub fn for_role(role: Role) -> ScreenKind {
        match role {
            Role::Kiosk => ScreenKind::Kiosk,
            Role::Barista => ScreenKind::Barista,
            Role::Display => ScreenKind::Display,
            Role::Manager => ScreenKind::Manager,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "lowercase")]
pub enum RoleName {
    Kiosk,
    Barista,
    Display,
    Manager,
}

impl From<Role> for RoleName {
    fn from(r: Role) -> RoleName {
        match r {
            Role::Kiosk => RoleName::Kiosk,
            Role::Barista => RoleName::Barista,
            Role::Display => RoleName::Display,
            Role::Manager => RoleName::Manager,
        }
    }
}

impl From<RoleName> for Role {
    fn from(r: RoleName) -> Role {
        match r {
            RoleName::Kiosk => Role::Kiosk,
            RoleName::Barista => Role::Barista,
            RoleName::Display => Role::Display,
            RoleName::Manager => Role::Manager,
        }
    }
}

/// The first-run choice: host the hub here, or join one.
#[derive(Debug, Clone, Serialize, Deserialize, Type)]
#[serde(tag = "mode", rename_all = "camelCase")]
pub enum SetupChoice {
    Host {
        role: RoleName,
    },
    #[serde(rename_all = "camelCase")]
    Join {
        hub_url: String,
        code: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "UPPERCASE")]
pub enum Pay {
    Card,
    Cash,
    Cell,
}

impl From<Pay> for PayType {
    fn from(p: Pay) -> PayType {
        match p {
            Pay::Card => PayType::Card,
            Pay::Cash => PayType::Cash,
            Pay::Cell => PayType::Cell,
        }
    }
}

impl From<PayType> for Pay {
    fn from(p: PayType) -> Pay {
        match p {
            PayType::Card => Pay::Card,
            PayType::Cash => Pay::Cash,
            PayType::Cell => Pay::Cell,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "UPPERCASE")]
pub enum Stage {
    Pending,
    Making,
    Ready,
    Completed,
    Cancelled,
}

impl From<OrderStatus> for Stage {
    fn from(s: OrderStatus) -> Stage {
        match s {
            OrderStatus::Pending => Stage::Pending,
            OrderStatus::Making => Stage::Making,
            OrderStatus::Ready => Stage::Ready,
            OrderStatus::Completed => Stage::Completed,
            OrderStatus::Cancelled => Stage::Cancelled,
        }
    }
}

/// One line of the kiosk's cart.
#[derive(Debug, Clone, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct CartLine {
    pub menu_id: String,
    pub quantity: u32,
}

#[derive(Debug, Clone, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct MenuEntry {
    pub id: String,
    pub name: String,
    pub category: String,
    /// In the currency's minor unit.
    pub price: f64,
    pub is_sold_out: bool,
    /// How many are left, for items whose stock is counted.
    pub stock: Option<f64>,
}

impl From<MenuItem> for MenuEntry {
    fn from(m: MenuItem) -> MenuEntry {
        MenuEntry {
            id: m.id,
            name: m.name,
            category: m.category,
            price: m.price as f64,
            is_sold_out: m.is_sold_out,
            stock: m.stock.map(|s| s as f64),
        }
    }
}

#[derive(Debug, Clone, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct CellEntry {
    pub id: String,
    pub name: String,
    pub balance: f64,
}

impl From<Cell> for CellEntry {
    fn from(c: Cell) -> CellEntry {
        CellEntry {
            id: c.id,
            name: c.name,
            balance: c.balance as f64,
        }
    }
}

#[derive(Debug, Clone, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct OrderEntryLine {
    pub menu_name: String,
    pub quantity: u32,
    /// The options as the kiosk sent them, in words (`size: large`).
    pub options: Option<String>,
}

#[derive(Debug, Clone, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct OrderEntry {
    pub order_id: String,
    pub daily_num: u32,
    pub pay_type: Pay,
    pub cell_name: Option<String>,
    pub items: Vec<OrderEntryLine>,
    pub total_amount: f64,
    pub status: Stage,
    /// RFC 3339.
    pub created_at: String,
    pub updated_at: String,
    pub cancel_reason: Option<String>,
}

fn describe_options(options: &serde_json::Value) -> Option<String> {
    match options {
        serde_json::Value::Null => None,
        serde_json::Value::Object(map) if map.is_empty() => None,
        serde_json::Value::Object(map) => Some(
            map.iter()
                .map(|(k, v)| match v {
                    serde_json::Value::String(s) => format!("{k}: {s}"),
                    other => format!("{k}: {other}"),
                })
                .collect::<Vec<_>>()
                .join(", "),
        ),
        other => Some(other.to_string()),
    }
}

impl From<Order> for OrderEntry {
    fn from(o: Order) -> OrderEntry {
        OrderEntry {
            order_id: o.order_id,
            daily_num: o.daily_num,
            pay_type: o.pay_type.into(),
            cell_name: o.cell_info.map(|c| c.name),
            items: o
                .items
                .into_iter()
                .map(|l| OrderEntryLine {
                    menu_name: l.menu_name,
                    quantity: l.quantity,
                    options: l.options.as_ref().and_then(describe_options),
                })
                .collect(),
            total_amount: o.total_amount as f64,
            status: o.status.into(),
            created_at: o.created_at.to_rfc3339(),
            updated_at: o.updated_at.to_rfc3339(),
            cancel_reason: o.cancel_reason,
        }
    }
}

/// The connection as the indicator shows it.
#[derive(Debug, Clone, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct LinkStatus {
    pub state: LinkState,
    /// For `reconnecting`: attempt `attempt` of `of`.
    pub attempt: Option<u32>,
    pub of: Option<u32>,
    /// For `rejected`: why.
    pub message: Option<String>,
    /// When the newest event arrived (RFC 3339); the UI shows its age.
    pub newest_event_at: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Type)]
#[serde(rename_all = "lowercase")]
pub enum LinkState {
    Connecting,
    Live,
    Reconnecting,
    Offline,
    Rejected,
}

impl From<Status> for LinkStatus {
    fn from(s: Status) -> LinkStatus {
        let (state, attempt, of, message) = match s.state {
            ConnectionState::Connecting { attempt } => {
                (LinkState::Connecting, Some(attempt), None, None)
            }
            ConnectionState::Live { .. } => (LinkState::Live, None, None, None),
            ConnectionState::Reconnecting { attempt, of, .. } => {
                (LinkState::Reconnecting, Some(attempt), Some(of), None)
            }
            ConnectionState::Suspended { .. } | ConnectionState::Stopped => {
                (LinkState::Offline, None, None, None)
            }
            ConnectionState::Rejected { message, .. } => {
                (LinkState::Rejected, None, None, Some(message))
            }
        };
        LinkStatus {
            state,
            attempt,
            of,
            message,
            newest_event_at: s.newest_event_at.map(|t| t.to_rfc3339()),
        }
    }
}

/// Everything a screen shows, read from the device's cache.
#[derive(Debug, Clone, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct Screen {
    pub menu: Vec<MenuEntry>,
    pub cells: Vec<CellEntry>,
    /// Newest first.
    pub orders: Vec<OrderEntry>,
    pub settings: BTreeMap<String, String>,
    pub status: LinkStatus,
    pub muted: bool,
    /// Whether this device plays alert sounds (new orders, cancellations).
    pub alert_sounds: bool,
    /// Kiosk: whether an order would be taken now (the hub is live, or the
    /// café takes orders offline).
    pub ordering_open: bool,
    /// Why not, in words, when `ordering_open` is false.
    pub ordering_problem: Option<String>,
    /// Manager: every workorder; display: those presented to it.
    pub workorders: Vec<WorkorderEntry>,
    pub dashboard: DashboardView,
    /// Manager: system notifications, newest first.
    pub notices: Vec<NoticeEntry>,
    /// Actions waiting to reach the hub.
    pub outbox_depth: u32,
    /// This device's id at the hub.
    pub device_id: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum WorkorderStage {
    Open,
    AwaitingSignature,
    Approved,
    InProgress,
    Done,
}

impl From<WorkorderStatus> for WorkorderStage {
    fn from(s: WorkorderStatus) -> WorkorderStage {
        match s {
            WorkorderStatus::Open => WorkorderStage::Open,
            WorkorderStatus::AwaitingSignature => WorkorderStage::AwaitingSignature,
            WorkorderStatus::Approved => WorkorderStage::Approved,
            WorkorderStatus::InProgress => WorkorderStage::InProgress,
            WorkorderStatus::Done => WorkorderStage::Done,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct WorkorderLineEntry {
    pub description: String,
    /// In the currency's minor unit.
    pub amount: f64,
}

#[derive(Debug, Clone, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct SignatureEntry {
    pub signer_name: String,
    pub signature_svg: String,
    pub signed_at: String,
}

#[derive(Debug, Clone, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct WorkSessionEntry {
    pub id: String,
    pub started_at: String,
    pub stopped_at: Option<String>,
}

#[derive(Debug, Clone, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct WorkorderEntry {
    pub id: String,
    pub title: String,
    pub customer_name: String,
    pub lines: Vec<WorkorderLineEntry>,
    pub total_amount: f64,
    pub status: WorkorderStage,
    pub column: String,
    /// The display device it is presented to.
    pub presented_to: Option<String>,
    pub signature: Option<SignatureEntry>,
    pub sessions: Vec<WorkSessionEntry>,
    pub created_at: String,
    pub updated_at: String,
}

impl From<Workorder> for WorkorderEntry {
    fn from(w: Workorder) -> WorkorderEntry {
        WorkorderEntry {
            id: w.id,
            title: w.title,
            customer_name: w.customer_name,
            lines: w
                .lines
                .into_iter()
                .map(|l| WorkorderLineEntry {
                    description: l.description,
                    amount: l.amount as f64,
                })
                .collect(),
            total_amount: w.total_amount as f64,
            status: w.status.into(),
            column: w.column,
            presented_to: w.presented_to,
            signature: w.signature.map(|s| SignatureEntry {
                signer_name: s.signer_name,
                signature_svg: s.signature_svg,
                signed_at: s.signed_at.to_rfc3339(),
            }),
            sessions: w
                .sessions
                .into_iter()
                .map(|s| WorkSessionEntry {
                    id: s.id,
                    started_at: s.started_at.to_rfc3339(),
                    stopped_at: s.stopped_at.map(|t| t.to_rfc3339()),
                })
                .collect(),
            created_at: w.created_at.to_rfc3339(),
            updated_at: w.updated_at.to_rfc3339(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "lowercase")]
pub enum NoticeLevel {
    Info,
    Warning,
    Error,
}

impl From<NotificationLevel> for NoticeLevel {
    fn from(l: NotificationLevel) -> NoticeLevel {
        match l {
            NotificationLevel::Info => NoticeLevel::Info,
            NotificationLevel::Warning => NoticeLevel::Warning,
            NotificationLevel::Error => NoticeLevel::Error,
        }
    }
}

impl From<NoticeLevel> for NotificationLevel {
    fn from(l: NoticeLevel) -> NotificationLevel {
        match l {
            NoticeLevel::Info => NotificationLevel::Info,
            NoticeLevel::Warning => NotificationLevel::Warning,
            NoticeLevel::Error => NotificationLevel::Error,
        }
    }
}

#[derive(Debug, Clone, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct NoticeEntry {
    pub id: String,
    pub level: NoticeLevel,
    pub title: String,
    pub message: String,
    pub timestamp: String,
}

impl From<SystemNotification> for NoticeEntry {
    fn from(n: SystemNotification) -> NoticeEntry {
        NoticeEntry {
            id: n.id,
            level: n.level.into(),
            title: n.title,
            message: n.message,
            timestamp: n.timestamp.to_rfc3339(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct HourCount {
    /// Local hour of the day, 0 to 23.
    pub hour: u32,
    pub count: u32,
}

/// The manager's dashboard. The hub's `dashboard:update` figures win when
/// they are from today; until one arrives, the figures are counted from the
/// cached orders (a manager reads every order).
#[derive(Debug, Clone, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct DashboardView {
    pub orders_today: f64,
    pub revenue_today: f64,
    pub open_orders: f64,
    pub avg_prep_seconds: Option<f64>,
    /// Today's orders by local hour, 24 entries.
    pub orders_per_hour: Vec<HourCount>,
    /// When the hub last sent a figure.
    pub updated_at: Option<String>,
}

impl DashboardView {
    /// Builds the view from the cached orders and the hub's newest figures,
    /// for the local day of `now`.
    pub fn build(
        orders: &[Order],
        figures: &BTreeMap<String, (serde_json::Value, DateTime<Utc>)>,
        now: DateTime<Local>,
    ) -> DashboardView {
        let today = now.date_naive();
        let todays: Vec<&Order> = orders
            .iter()
            .filter(|o| o.created_at.with_timezone(&Local).date_naive() == today)
            .collect();
        let mut per_hour = vec![0u32; 24];
        for o in &todays {
            let hour = o.created_at.with_timezone(&Local).hour() as usize;
            per_hour[hour] += 1;
        }
        let counted_revenue: i64 = todays
            .iter()
            .filter(|o| o.status != OrderStatus::Cancelled)
            .map(|o| o.total_amount)
            .sum();
        let counted_open = orders.iter().filter(|o| o.status.is_open()).count();
        let hub = |widget: &str| {
            figures
                .get(widget)
                .filter(|(_, at)| at.with_timezone(&Local).date_naive() == today)
                .and_then(|(value, _)| value.as_f64())
        };
        DashboardView {
            orders_today: hub("orders_today").unwrap_or(todays.len() as f64),
            revenue_today: hub("revenue_today").unwrap_or(counted_revenue as f64),
            open_orders: hub("open_orders").unwrap_or(counted_open as f64),
            avg_prep_seconds: hub("avg_prep_seconds"),
            orders_per_hour: per_hour
                .into_iter()
                .enumerate()
                .map(|(hour, count)| HourCount {
                    hour: hour as u32,
                    count,
                })
                .collect(),
            updated_at: figures
                .values()
                .map(|(_, at)| *at)
                .max()
                .map(|t| t.to_rfc3339()),
        }
    }
}

#[derive(Debug, Clone, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct DeviceEntry {
    pub id: String,
    pub role: RoleName,
    pub name: String,
    pub paired_at: String,
    pub last_seen_at: Option<String>,
    pub connected: bool,
    /// The device the asking window runs.
    pub is_this_device: bool,
}

impl DeviceEntry {
    pub fn new(d: Device, this_device: &str) -> DeviceEntry {
        DeviceEntry {
            is_this_device: d.id == this_device,
            id: d.id,
            role: d.role.into(),
            name: d.name,
            paired_at: d.paired_at.to_rfc3339(),
            last_seen_at: d.last_seen_at.map(|t| t.to_rfc3339()),
            connected: d.connected,
        }
    }
}

#[derive(Debug, Clone, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct PairingCodeView {
    pub code: String,
    pub expires_at: String,
    pub role: RoleName,
    pub name: String,
}

impl PairingCodeView {
    pub fn new(code: PairingCode, role: RoleName, name: String) -> PairingCodeView {
        PairingCodeView {
            code: code.code,
            expires_at: code.expires_at.to_rfc3339(),
            role,
            name,
        }
    }
}

/// A new menu item, from the manager's menu editor.
#[derive(Debug, Clone, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct NewMenuInput {
    pub name: String,
    pub category: String,
    pub price: f64,
    pub stock: Option<f64>,
}

/// A change to a menu item; `null` fields stay as they are, `clearStock`
/// stops counting its stock.
#[derive(Debug, Clone, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct MenuPatchInput {
    pub name: Option<String>,
    pub category: Option<String>,
    pub price: Option<f64>,
    pub stock: Option<f64>,
    pub clear_stock: bool,
    pub is_sold_out: Option<bool>,
}

#[derive(Debug, Clone, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct NewWorkorderInput {
    pub title: String,
    pub customer_name: String,
    pub lines: Vec<WorkorderLineEntry>,
}

/// A window's preferences (not the café's settings): its device's, else this
/// instance's.
#[derive(Debug, Clone, Serialize, Deserialize, Type, Default)]
#[serde(rename_all = "camelCase")]
pub struct Preferences {
    /// `None`: follow the system's language.
    pub language: Option<String>,
    /// The system's language (`de`, `ko`, ...), from the locale.
    #[serde(default)]
    pub system_language: String,
}

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
        code: String,
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
                code: error.code,
                message: error.message,
            },
            CoreEvent::HubError(_) => return None,
        })
    }
}
