//! The views the UI reads: the app's own types, converted from the
//! protocol's and the core's.

use std::collections::BTreeMap;

use countertop_client::{ConnectionState, Dashboard, Status};
use countertop_protocol::{
    Cell, Device, MenuItem, NotificationLevel, Order, OrderStatus, PairingCode, PayType, Role,
    SystemNotification, Workorder, WorkorderStatus,
};
use serde::{Deserialize, Serialize};
use specta::Type;

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
    /// Manager: the hub's notices (`system:notification`), newest first.
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

// The figures are counted by the client core (`Dashboard::build`); this
// is only their shape for the UI.
impl From<Dashboard> for DashboardView {
    fn from(d: Dashboard) -> DashboardView {
        DashboardView {
            orders_today: d.orders_today,
            revenue_today: d.revenue_today,
            open_orders: d.open_orders,
            avg_prep_seconds: d.avg_prep_seconds,
            orders_per_hour: (0u32..)
                .zip(d.orders_per_hour)
                .map(|(hour, count)| HourCount { hour, count })
                .collect(),
            updated_at: d.updated_at.map(|t| t.to_rfc3339()),
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

/// The kiosk's link for a customer's phone: the hub's status page of an
/// order, and its QR code as SVG.
#[derive(Debug, Clone, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct StatusQr {
    pub url: String,
    pub svg: String,
}

impl From<countertop_client::status_link::StatusLink> for StatusQr {
    fn from(link: countertop_client::status_link::StatusLink) -> StatusQr {
        StatusQr {
            url: link.url,
            svg: link.svg,
        }
    }
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
