//! The views the UI reads: the app's own types, converted from the
//! protocol's and the core's.

use std::collections::BTreeMap;

use countertop_client::{ConnectionState, Dashboard, Status};
use countertop_protocol::{
    Cell, Device, Fulfilment, LineOption, MenuItem, NotificationLevel, OptionChoice, OptionGroup,
    Order, OrderStatus, PairingCode, PayType, Role, SystemNotification, Workorder, WorkorderStatus,
};
use serde::{Deserialize, Serialize};

use super::errors::IpcErrorCode;
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

/// What the About panel shows.
#[derive(Debug, Clone, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct AboutView {
    /// This app's release, e.g. `0.2.0`.
    pub app_version: String,
    /// The hub's release, when it answered and said.
    pub hub_version: Option<String>,
    /// The hub's address.
    pub hub: String,
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

#[derive(Debug, Clone, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct MenuEntry {
    pub id: String,
    pub name: String,
    /// Its name in other languages, by language code.
    pub names: BTreeMap<String, String>,
    pub category: String,
    /// In the currency's minor unit.
    pub price: f64,
    pub is_sold_out: bool,
    /// How many are left, for items whose stock is counted.
    pub stock: Option<f64>,
    pub option_groups: Vec<OptionGroupEntry>,
    /// The station that makes it (`bar`, `kitchen`).
    pub station: String,
    pub position: f64,
    /// Where the UI loads its photo from, if it has one: the app's
    /// `photo://` scheme, which serves the device's kept copy.
    pub photo: Option<PhotoEntry>,
}

#[derive(Debug, Clone, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct PhotoEntry {
    pub url: String,
    pub thumb_url: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct OptionGroupEntry {
    pub id: String,
    pub name: String,
    pub names: BTreeMap<String, String>,
    pub required: bool,
    pub min: u32,
    pub max: u32,
    pub choices: Vec<OptionChoiceEntry>,
}

#[derive(Debug, Clone, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct OptionChoiceEntry {
    pub id: String,
    pub name: String,
    pub names: BTreeMap<String, String>,
    pub price_delta: f64,
    pub is_sold_out: bool,
}

impl From<OptionGroup> for OptionGroupEntry {
    fn from(g: OptionGroup) -> OptionGroupEntry {
        OptionGroupEntry {
            id: g.id,
            name: g.name,
            names: g.names,
            required: g.required,
            min: g.min,
            max: g.max,
            choices: g.choices.into_iter().map(OptionChoiceEntry::from).collect(),
        }
    }
}

impl From<OptionChoice> for OptionChoiceEntry {
    fn from(c: OptionChoice) -> OptionChoiceEntry {
        OptionChoiceEntry {
            id: c.id,
            name: c.name,
            names: c.names,
            price_delta: c.price_delta as f64,
            is_sold_out: c.is_sold_out,
        }
    }
}

impl From<OptionGroupEntry> for OptionGroup {
    fn from(g: OptionGroupEntry) -> OptionGroup {
        OptionGroup {
            id: g.id,
            name: g.name,
            names: g.names,
            required: g.required,
            min: g.min,
            max: g.max,
            choices: g
                .choices
                .into_iter()
                .map(|c| OptionChoice {
                    id: c.id,
                    name: c.name,
                    names: c.names,
                    price_delta: c.price_delta as i64,
                    is_sold_out: c.is_sold_out,
                })
                .collect(),
        }
    }
}

/// The URI scheme the app serves the menu's photos on, from the device's
/// photo store (kept for offline use), never straight from the hub.
pub const PHOTO_SCHEME: &str = "photo";

/// Where the webview loads the photo the hub serves at `path`
/// (`/api/menu/{id}/photo/thumb?v={version}`): the app's `photo` scheme, as
/// each platform's webview spells a custom scheme.
pub fn photo_address(path: &str) -> String {
    if cfg!(any(windows, target_os = "android")) {
        format!("http://{PHOTO_SCHEME}.localhost{path}")
    } else {
        format!("{PHOTO_SCHEME}://localhost{path}")
    }
}

impl MenuEntry {
    /// The view of `m`, its photo's addresses on the app's `photo` scheme.
    pub fn new(m: MenuItem) -> MenuEntry {
        MenuEntry {
            id: m.id,
            name: m.name,
            names: m.names,
            category: m.category,
            price: m.price as f64,
            is_sold_out: m.is_sold_out,
            stock: m.stock.map(|s| s as f64),
            option_groups: m
                .option_groups
                .into_iter()
                .map(OptionGroupEntry::from)
                .collect(),
            station: m.station,
            position: m.position as f64,
            photo: m.photo.map(|p| PhotoEntry {
                url: photo_address(&p.url),
                thumb_url: photo_address(&p.thumb_url),
            }),
        }
    }
}

#[derive(Debug, Clone, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct CellEntry {
    pub id: String,
    pub name: String,
    /// None on a kiosk: a team's balance is shown only once its PIN is in.
    pub balance: Option<f64>,
    /// Whether the team has a PIN; a kiosk pays only with such a team.
    pub has_pin: bool,
}

impl From<Cell> for CellEntry {
    fn from(c: Cell) -> CellEntry {
        CellEntry {
            id: c.id,
            name: c.name,
            balance: Some(c.balance as f64),
            has_pin: c.has_pin,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Serve {
    DineIn,
    TakeOut,
}

impl From<Fulfilment> for Serve {
    fn from(f: Fulfilment) -> Serve {
        match f {
            Fulfilment::DineIn => Serve::DineIn,
            Fulfilment::TakeOut => Serve::TakeOut,
        }
    }
}

impl From<Serve> for Fulfilment {
    fn from(s: Serve) -> Fulfilment {
        match s {
            Serve::DineIn => Fulfilment::DineIn,
            Serve::TakeOut => Fulfilment::TakeOut,
        }
    }
}

/// The kiosk's cart priced by the core, line by line, in cart order.
#[derive(Debug, Clone, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct CartQuote {
    pub lines: Vec<QuotedLineEntry>,
    pub total: f64,
    /// Whether the hub would take it as it stands.
    pub orderable: bool,
}

#[derive(Debug, Clone, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct QuotedLineEntry {
    pub menu_id: String,
    pub quantity: u32,
    pub options: Vec<LineOptionEntry>,
    pub unit_price: f64,
    pub total_price: f64,
    /// What the hub would refuse of this line, in words.
    pub problem: Option<String>,
    pub problem_code: Option<IpcErrorCode>,
    /// For a stock shorter than the cart: how many are left.
    pub left: Option<f64>,
}

impl From<countertop_client::cart::Quote> for CartQuote {
    fn from(q: countertop_client::cart::Quote) -> CartQuote {
        let orderable = !q.lines.is_empty() && q.problem().is_none();
        CartQuote {
            lines: q
                .lines
                .into_iter()
                .map(|l| QuotedLineEntry {
                    menu_id: l.menu_id,
                    quantity: l.quantity,
                    options: l.options.into_iter().map(LineOptionEntry::from).collect(),
                    unit_price: l.unit_price as f64,
                    total_price: l.total_price as f64,
                    left: match &l.problem {
                        Some(countertop_client::CartError::OnlyLeft { left, .. }) => {
                            Some(*left as f64)
                        }
                        _ => None,
                    },
                    problem_code: l.problem.as_ref().map(|p| p.kind().into()),
                    problem: l.problem.map(|p| p.to_string()),
                })
                .collect(),
            total: q.total as f64,
            orderable,
        }
    }
}

/// An order the kiosk queued: the key its outcome will name, and the
/// provisional reference to show until its number comes.
#[derive(Debug, Clone, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct PlacedOrder {
    pub key: String,
    pub reference: String,
}

/// A customer's wait, about.
#[derive(Debug, Clone, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct WaitEstimate {
    /// Open orders before this one.
    pub ahead: u32,
    pub minutes: u32,
}

/// One option of an order line, priced, by name.
#[derive(Debug, Clone, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct LineOptionEntry {
    pub group: String,
    pub choice: String,
    pub price_delta: f64,
}

impl From<LineOption> for LineOptionEntry {
    fn from(o: LineOption) -> LineOptionEntry {
        LineOptionEntry {
            group: o.group,
            choice: o.choice,
            price_delta: o.price_delta as f64,
        }
    }
}

#[derive(Debug, Clone, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct OrderEntryLine {
    pub menu_id: String,
    pub menu_name: String,
    pub quantity: u32,
    pub unit_price: f64,
    pub options: Vec<LineOptionEntry>,
    /// The station that makes it (`bar`, `kitchen`…).
    pub station: String,
    /// Whether its station marked it done.
    pub done: bool,
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
    pub fulfilment: Serve,
    /// RFC 3339: when the customer placed it (timers start here).
    pub placed_at: String,
    /// The provisional reference the kiosk showed while it was queued.
    pub reference: Option<String>,
}

impl From<Order> for OrderEntry {
    fn from(o: Order) -> OrderEntry {
        // A READY or picked-up order is made, every line of it.
        let made = matches!(o.status, OrderStatus::Ready | OrderStatus::Completed);
        OrderEntry {
            order_id: o.order_id,
            daily_num: o.daily_num,
            pay_type: o.pay_type.into(),
            cell_name: o.cell_info.map(|c| c.name),
            items: o
                .items
                .into_iter()
                .map(|l| OrderEntryLine {
                    // Filled from the menu (`stations::route`) when the
                    // line does not name its own.
                    station: l.station.clone().unwrap_or_default(),
                    done: l.done || made,
                    menu_id: l.menu_id,
                    menu_name: l.menu_name,
                    quantity: l.quantity,
                    unit_price: l.unit_price as f64,
                    options: l.options.into_iter().map(LineOptionEntry::from).collect(),
                })
                .collect(),
            total_amount: o.total_amount as f64,
            status: o.status.into(),
            created_at: o.created_at.to_rfc3339(),
            updated_at: o.updated_at.to_rfc3339(),
            cancel_reason: o.cancel_reason,
            fulfilment: o.fulfilment.into(),
            placed_at: o.placed_at.unwrap_or(o.created_at).to_rfc3339(),
            reference: o.reference,
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
    /// The hub node in use, when the device knows several (a café's nodes
    /// on one database): it moves to the next when one is unreachable.
    pub node: Option<LinkNode>,
}

/// Which of its hub nodes a device is on: `number` of `of`, at `address`
/// (`host:port`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct LinkNode {
    pub number: u32,
    pub of: u32,
    pub address: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Type)]
#[serde(rename_all = "lowercase")]
pub enum LinkState {
    Connecting,
    Live,
    Reconnecting,
    Offline,
    Rejected,
    /// The hub's address answered with another key than the one pinned at
    /// pairing: nothing is sent to it.
    #[serde(rename = "not_your_hub")]
    NotYourHub,
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
            ConnectionState::Rejected { code, message } if code == "not_your_hub" => {
                (LinkState::NotYourHub, None, None, Some(message))
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
            node: s.node.map(|n| LinkNode {
                number: n.number,
                of: n.of,
                address: n.host().to_owned(),
            }),
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
    /// Whether this device's alerts are heard: on, muted, or no sound
    /// device opened (it is looked for again every 30 s and at each sound).
    pub sound: SoundState,
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
    /// Manager and barista: the hub's notices (`system:notification`),
    /// newest first.
    pub notices: Vec<NoticeEntry>,
    /// Actions waiting to reach the hub.
    pub outbox_depth: u32,
    /// This device's id at the hub.
    pub device_id: String,
    /// Every station the menu and the open orders name, sorted.
    pub stations: Vec<String>,
    /// The stations this board shows (barista); empty: all of them, the
    /// expo view.
    pub board_stations: Vec<String>,
}

/// What a screen says of its device's sound.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub enum SoundState {
    /// Alerts play on the sound device.
    On,
    /// The device opened, and this device's alerts are muted.
    Muted,
    /// No sound device opened (or this device plays no sound at all).
    NoDevice,
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
    /// How a new device joins with it; none when the hub serves this
    /// computer only.
    pub join: Option<JoinView>,
}

impl PairingCodeView {
    pub fn new(code: PairingCode, role: RoleName, name: String) -> PairingCodeView {
        PairingCodeView {
            code: code.code,
            expires_at: code.expires_at.to_rfc3339(),
            role,
            name,
            join: None,
        }
    }

    pub fn with_join(self, join: Option<JoinView>) -> PairingCodeView {
        PairingCodeView { join, ..self }
    }
}

/// What a new device needs to join: the hub's address over TLS, the
/// fingerprint of its key, and the pairing link (and its QR code) that
/// carries both with the code.
#[derive(Debug, Clone, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct JoinView {
    pub link: String,
    pub qr_svg: String,
    pub address: String,
    /// Every LAN address of the hub, the first one in the link.
    pub addresses: Vec<String>,
    pub fingerprint: String,
    /// Its first eight digits, "3f2a 9c01", to compare by eye.
    pub fingerprint_short: String,
}

/// The hub as other devices reach it, for the manager's settings.
#[derive(Debug, Clone, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct HubInfoView {
    /// This computer hosts the hub.
    pub hosting: bool,
    /// The hosted hub serves other devices on the LAN (over TLS).
    pub lan: bool,
    pub port: Option<u16>,
    pub tls_port: Option<u16>,
    /// Where other devices join (empty: this computer only).
    pub addresses: Vec<String>,
    pub fingerprint: Option<String>,
    pub fingerprint_short: Option<String>,
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
