//! Bodies of the REST calls, and the shapes of the things they return.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::menu::{default_station, ChosenOption, Fulfilment, Names, OptionGroup, Photo};
use crate::{NotificationLevel, OrderCreated, OrderLine, OrderStatus, PayType, Timestamp};

/// A device's role. Anonymous callers have no role at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Kiosk,
    Barista,
    Display,
    Manager,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Kiosk => "kiosk",
            Role::Barista => "barista",
            Role::Display => "display",
            Role::Manager => "manager",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "kiosk" => Some(Role::Kiosk),
            "barista" => Some(Role::Barista),
            "display" => Some(Role::Display),
            "manager" => Some(Role::Manager),
            _ => None,
        }
    }

    pub const ALL: [Role; 4] = [Role::Kiosk, Role::Barista, Role::Display, Role::Manager];
}

/// Claims of a device token (HS256 JWT).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The device id.
    pub sub: String,
    pub role: Role,
    pub name: String,
    pub iat: i64,
    pub exp: i64,
    pub jti: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MenuItem {
    pub id: String,
    pub name: String,
    pub category: String,
    pub price: i64,
    pub is_sold_out: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stock: Option<i64>,
    /// Empty for an item without options.
    #[serde(default)]
    pub option_groups: Vec<OptionGroup>,
    /// The station that makes it, a free word such as `bar` or `kitchen`.
    #[serde(default = "default_station")]
    pub station: String,
    /// Its name in other languages, by language code.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub names: Names,
    /// Where the menu shows it: items are listed by `position`, then `id`.
    #[serde(default)]
    pub position: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub photo: Option<Photo>,
}

/// `POST /api/menu`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewMenuItem {
    pub name: String,
    pub category: String,
    pub price: i64,
    #[serde(default)]
    pub is_sold_out: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stock: Option<i64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub option_groups: Vec<OptionGroup>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub station: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub names: Names,
}

/// `PATCH /api/menu/{id}`: every field optional. `stock: null` removes the
/// stock count; an absent `stock` leaves it as it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MenuPatch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_sold_out: Option<bool>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "double_option"
    )]
    pub stock: Option<Option<i64>>,
    /// The item's option groups, all of them: they replace the old ones.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub option_groups: Option<Vec<OptionGroup>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub station: Option<String>,
    /// Its names in other languages, all of them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub names: Option<Names>,
    /// Moves the item to this place in the menu (0 is first); the items
    /// from there on move down one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<i64>,
}

mod double_option {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(v: &Option<Option<i64>>, s: S) -> Result<S::Ok, S::Error> {
        v.serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<i64>>, D::Error> {
        Option::<i64>::deserialize(d).map(Some)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Cell {
    pub id: String,
    pub name: String,
    pub balance: i64,
    /// Whether the manager has set its PIN: a kiosk pays only with a cell
    /// that has one, and only with it.
    #[serde(default)]
    pub has_pin: bool,
}

/// `POST /api/cells`. Its `Debug` hides the PIN.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewCell {
    pub name: String,
    #[serde(default)]
    pub balance: i64,
    /// 4 to 8 digits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pin: Option<String>,
}

/// `PUT /api/cells/{id}/pin` (manager) and `POST /api/cells/{id}/unlock`
/// (kiosk, manager): 4 to 8 digits.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CellPin {
    pub pin: String,
}

impl std::fmt::Debug for NewCell {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let NewCell { name, balance, pin } = self;
        f.debug_struct("NewCell")
            .field("name", name)
            .field("balance", balance)
            .field("pin", &pin.as_ref().map(|_| ".."))
            .finish()
    }
}

impl CellPin {
    /// Whether `pin` is a PIN at all: 4 to 8 ASCII digits. The hub and the
    /// kiosk both refuse anything else before any hash is checked.
    pub fn is_well_formed(pin: &str) -> bool {
        (4..=8).contains(&pin.len()) && pin.bytes().all(|b| b.is_ascii_digit())
    }
}

impl std::fmt::Debug for CellPin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CellPin(..)")
    }
}

/// `PUT /api/kiosk/exit-pin` (manager) and `POST /api/kiosk/exit` (kiosk,
/// manager): the PIN that lets a person leave a locked kiosk, 4 to 8
/// digits (as a cell's, [`CellPin::is_well_formed`]).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KioskExitPin {
    pub pin: String,
}

impl std::fmt::Debug for KioskExitPin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KioskExitPin(..)")
    }
}

/// `GET`, `PUT` and `DELETE /api/kiosk/exit-pin`: whether the hub has a
/// kiosk exit PIN (never the PIN or its hash).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KioskExitPinState {
    pub is_set: bool,
}

/// `POST /api/cells/{id}/charge`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Charge {
    pub amount: i64,
}

/// Settings: string keys to string values.
pub type Settings = BTreeMap<String, String>;

/// `PUT /api/settings/{key}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SettingValue {
    pub value: String,
}

/// The answer to `PUT /api/settings/{key}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Setting {
    pub key: String,
    pub value: String,
}

/// One line of `POST /api/orders`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewOrderItem {
    pub menu_id: String,
    pub quantity: u32,
    /// One entry per choice chosen (a choice taken twice is sent twice).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<ChosenOption>,
}

/// `POST /api/orders`. Its `Debug` hides the cell's PIN.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewOrder {
    pub idempotency_key: String,
    pub items: Vec<NewOrderItem>,
    pub pay_type: PayType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cell_id: Option<String>,
    /// The cell's PIN: a kiosk paying with a cell must give it. Never
    /// stored, logged or announced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cell_pin: Option<String>,
    #[serde(default)]
    pub fulfilment: Fulfilment,
    /// When the customer placed it, by the device's clock, if the device
    /// queued it while the hub was out of reach. The hub keeps it only
    /// within the last 12 hours and not in the future; otherwise the order
    /// is placed now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub placed_at: Option<Timestamp>,
    /// The provisional reference the device showed the customer while the
    /// order was queued: 1 to 12 letters, digits or `-`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
}

impl std::fmt::Debug for NewOrder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Every field named, so that a new one is not left out unseen.
        let NewOrder {
            idempotency_key,
            items,
            pay_type,
            cell_id,
            cell_pin,
            fulfilment,
            placed_at,
            reference,
        } = self;
        f.debug_struct("NewOrder")
            .field("idempotency_key", idempotency_key)
            .field("items", items)
            .field("pay_type", pay_type)
            .field("cell_id", cell_id)
            .field("cell_pin", &cell_pin.as_ref().map(|_| ".."))
            .field("fulfilment", fulfilment)
            .field("placed_at", placed_at)
            .field("reference", reference)
            .finish()
    }
}

/// An order as `GET /api/orders` and `POST /api/orders` return it: the
/// `order:created` fields plus what has happened to it since.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Order {
    pub order_id: String,
    pub daily_num: u32,
    pub pay_type: PayType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cell_info: Option<crate::CellInfo>,
    pub items: Vec<OrderLine>,
    pub total_amount: i64,
    pub status: OrderStatus,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancel_reason: Option<String>,
    #[serde(default)]
    pub fulfilment: Fulfilment,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub placed_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
}

impl Order {
    /// The `order:created` event for this order as it was created.
    pub fn created_event(&self) -> OrderCreated {
        OrderCreated {
            order_id: self.order_id.clone(),
            daily_num: self.daily_num,
            pay_type: self.pay_type,
            cell_info: self.cell_info.clone(),
            items: self.items.clone(),
            total_amount: self.total_amount,
            status: OrderStatus::Pending,
            created_at: self.created_at,
            fulfilment: self.fulfilment,
            placed_at: self.placed_at,
            reference: self.reference.clone(),
        }
    }
}

/// `GET /api/orders/lookup?dailyNum=N`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderLookup {
    pub order_id: String,
    pub daily_num: u32,
    pub status: OrderStatus,
}

/// `PATCH /api/orders/{id}/status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusChange {
    pub status: OrderStatus,
    /// The status the sender saw the order in: when given and no longer the
    /// order's, the move is refused (`409 invalid_transition`). This hub's
    /// addition to the contract, so that a change queued offline and sent
    /// late cannot land as a recall (`READY → MAKING`) nobody asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<OrderStatus>,
}

/// `GET /api/backups` (manager): the hub's backups of its database.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BackupState {
    /// When the newest backup was made.
    pub last_at: Option<Timestamp>,
    pub last_file: Option<String>,
    /// Why the last attempt failed, until one succeeds.
    pub last_error: Option<String>,
    /// Hourly and daily backups kept (at most 24 and 14).
    pub hourly: u32,
    pub daily: u32,
    /// The second folder each backup is copied to, if one is set.
    pub copy_to: Option<String>,
    pub copy_error: Option<String>,
}

/// `POST /api/orders/{id}/marks`: lines of an order (indexes into its
/// `items`) marked done or undone by the station that makes them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MarkItems {
    pub lines: Vec<u32>,
    pub done: bool,
}

/// `POST /api/orders/{id}/cancel`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CancelOrder {
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkorderLine {
    pub description: String,
    pub amount: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum WorkorderStatus {
    Open,
    AwaitingSignature,
    Approved,
    InProgress,
    Done,
}

impl WorkorderStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            WorkorderStatus::Open => "OPEN",
            WorkorderStatus::AwaitingSignature => "AWAITING_SIGNATURE",
            WorkorderStatus::Approved => "APPROVED",
            WorkorderStatus::InProgress => "IN_PROGRESS",
            WorkorderStatus::Done => "DONE",
        }
    }

    pub fn parse(s: &str) -> Option<WorkorderStatus> {
        match s {
            "OPEN" => Some(WorkorderStatus::Open),
            "AWAITING_SIGNATURE" => Some(WorkorderStatus::AwaitingSignature),
            "APPROVED" => Some(WorkorderStatus::Approved),
            "IN_PROGRESS" => Some(WorkorderStatus::InProgress),
            "DONE" => Some(WorkorderStatus::Done),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Signature {
    pub signer_name: String,
    pub signature_svg: String,
    pub signed_at: Timestamp,
    /// The display device that captured it.
    pub device_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkSession {
    pub id: String,
    pub started_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopped_at: Option<Timestamp>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Workorder {
    pub id: String,
    pub title: String,
    pub customer_name: String,
    pub lines: Vec<WorkorderLine>,
    pub total_amount: i64,
    pub status: WorkorderStatus,
    pub column: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub presented_to: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<Signature>,
    #[serde(default)]
    pub sessions: Vec<WorkSession>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// `POST /api/workorders`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewWorkorder {
    pub title: String,
    pub customer_name: String,
    pub lines: Vec<WorkorderLine>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub column: Option<String>,
}

/// `PATCH /api/workorders/{id}/column`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ColumnChange {
    pub column: String,
}

/// `POST /api/workorders/{id}/present`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Present {
    pub device_id: String,
}

/// `PATCH /api/workorders/{id}/sessions/{sid}`: stop the session; `done`
/// also marks the workorder `DONE`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct StopSession {
    #[serde(default)]
    pub done: bool,
}

/// `POST /api/display/signature`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SignatureSubmission {
    pub work_order_id: String,
    pub signer_name: String,
    pub signature_svg: String,
}

/// `POST /api/notifications`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewNotification {
    pub level: NotificationLevel,
    pub title: String,
    pub message: String,
}

/// `POST /api/devices/pairing-codes`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PairingCodeRequest {
    pub role: Role,
    #[serde(default)]
    pub name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PairingCode {
    pub code: String,
    pub expires_at: Timestamp,
}

/// `POST /api/devices/pair`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PairRequest {
    pub code: String,
}

/// `POST /api/devices/pake/start` (docs/protocol.md, typed-code pairing):
/// the device's SPAKE2 message, base64.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PakeStart {
    pub msg: String,
}

/// The hub's answer to a PAKE start: one offer per open pairing code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PakeOffers {
    pub session: String,
    pub offers: Vec<PakeOffer>,
}

/// The hub's SPAKE2 message for one code, and its confirmation (both
/// base64): an HMAC under that code's key over the hub's certificate
/// fingerprint and both messages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PakeOffer {
    pub msg: String,
    pub confirm: String,
}

/// `POST /api/devices/pake/finish`: the device's confirmation (base64) for
/// the offer it verified.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PakeFinish {
    pub session: String,
    pub confirm: String,
}

/// The answer to pairing and to `POST /api/devices/refresh`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Paired {
    pub device_id: String,
    pub role: Role,
    pub name: String,
    pub token: String,
    pub expires_at: Timestamp,
    /// Beyond the contract: the café's hub nodes, as devices reach them
    /// (`countertop-hub serve --public-url`, repeatable), so a device can
    /// move to another node when its own is unreachable. Left out when the
    /// hub names none (one node).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hubs: Vec<String>,
}

/// The answer to `POST /api/devices/rotate-secret` (manager): new tokens
/// are signed with a new secret from `rotatedAt`; a token signed with the
/// previous one is accepted only by `POST /api/devices/refresh`, until
/// `previousValidUntil`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SecretRotated {
    pub rotated_at: Timestamp,
    pub previous_valid_until: Timestamp,
    /// The devices' open connections that were closed (code 4002), so that
    /// they refresh and come back.
    pub closed_connections: u64,
}

/// A paired device as `GET /api/devices` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Device {
    pub id: String,
    pub role: Role,
    pub name: String,
    pub paired_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_seen_at: Option<Timestamp>,
    pub connected: bool,
}

/// `GET /api/snapshot`: everything a client loads first, as of `seq`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Snapshot {
    pub epoch: String,
    pub seq: u64,
    pub menu: Vec<MenuItem>,
    pub settings: Settings,
    pub orders: Vec<Order>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cells: Option<Vec<Cell>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workorders: Option<Vec<Workorder>>,
    /// Today's open orders (`PENDING`, `MAKING`, `READY`) as the public
    /// board sees them, for every caller, anonymous included: the now-serving
    /// board loads them and then reads the `board` topic from `seq`.
    #[serde(default)]
    pub board: Vec<BoardEntry>,
}

/// One order on the now-serving board: what the `board` topic tells of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BoardEntry {
    pub order_id: String,
    pub daily_num: u32,
    pub status: OrderStatus,
}

/// `GET /api/ws/stats`: `{success: true, data}`, the envelope the ERP's
/// Socket.IO server used (seed 002).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WsStats {
    pub success: bool,
    pub data: ConnectionStats,
}

/// The open connections over every transport (WebSocket, SSE, Socket.IO).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConnectionStats {
    pub total_connections: u64,
    /// The same as `total_devices`: the ERP's clients read this name.
    pub total_users: u64,
    /// The topics with at least one subscriber, by name.
    pub rooms: Vec<String>,
    /// Devices with at least one open connection.
    pub total_devices: u64,
    /// Subscribers per topic.
    pub topics: BTreeMap<String, u64>,
    pub transports: TransportCounts,
    pub seq: u64,
    pub events_retained: u64,
}

/// Open connections per transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TransportCounts {
    pub websocket: u64,
    pub sse: u64,
    pub socketio: u64,
}

/// `GET /healthz`: `status` is `"ok"` (`200`), or `"unavailable"` (`503`)
/// while the node cannot reach its database.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    pub status: String,
    pub seq: u64,
    pub epoch: String,
    /// Beyond the contract: this node's name (`serve --node-name`), the
    /// `node` label of its `/metrics`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    /// Beyond the contract: the node's check of its database.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database: Option<DatabaseHealth>,
    /// Beyond the contract: the hub's release (`countertop-hub --version`),
    /// shown in the app's About.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

/// How `/healthz` found the node's database: one `SELECT 1` on a pooled
/// connection, given a second.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DatabaseHealth {
    /// `"sqlite"` or `"postgresql"`.
    pub backend: String,
    /// Whether it answered in time.
    pub up: bool,
    /// How long it took, in milliseconds, when it answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<u64>,
    /// Why it is down, for people (the details are in the hub's log).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// `GET /api/reports/daily?date=YYYY-MM-DD`: one local day's figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DailyReport {
    /// The local day, `YYYY-MM-DD`.
    pub date: String,
    /// The day's orders that were not cancelled.
    pub orders: u64,
    /// Their revenue, in minor units, by how they were paid.
    pub revenue_by_pay_type: RevenueByPayType,
    /// The day's cancelled orders.
    pub cancellations: u64,
    /// Points paid for the day's orders that were not cancelled (their
    /// `CELL` revenue).
    pub points_used: i64,
    /// Points charged to cells that day.
    pub points_charged: i64,
    /// Status moves back that day (`READY → MAKING`, `COMPLETED → READY`).
    pub recalls: u64,
    /// From placement to `READY`, over the day's orders that reached it;
    /// `null` when none did.
    pub prep_seconds: Option<PrepSeconds>,
}

/// Revenue of a day by pay type, in minor units.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub struct RevenueByPayType {
    pub card: i64,
    pub cash: i64,
    pub cell: i64,
}

/// Preparation times in seconds (to the millisecond): the median and the
/// 90th percentile, each interpolated between the nearest two times.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PrepSeconds {
    pub median: f64,
    pub p90: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pin_never_shows_in_debug() {
        let order: NewOrder = serde_json::from_str(
            r#"{"idempotencyKey":"k","items":[{"menuId":"latte","quantity":1}],"payType":"CELL","cellId":"cell-design","cellPin":"73920518"}"#,
        )
        .unwrap();
        let cell: NewCell = serde_json::from_str(r#"{"name":"Ops","pin":"73920518"}"#).unwrap();
        let pin = CellPin {
            pin: "73920518".into(),
        };
        for shown in [
            format!("{order:?}"),
            format!("{cell:?}"),
            format!("{pin:?}"),
        ] {
            assert!(!shown.contains("7392"), "{shown}");
        }
        assert!(format!("{order:?}").contains("cell-design"));
    }

    #[test]
    fn a_status_change_takes_an_optional_from_and_nothing_else() {
        let bare: StatusChange = serde_json::from_str(r#"{"status":"MAKING"}"#).unwrap();
        assert_eq!(
            bare,
            StatusChange {
                status: OrderStatus::Making,
                from: None
            }
        );
        assert_eq!(
            serde_json::to_string(&bare).unwrap(),
            r#"{"status":"MAKING"}"#,
            "without from, the body is the contract's own"
        );
        let text = r#"{"status":"MAKING","from":"PENDING"}"#;
        let with: StatusChange = serde_json::from_str(text).unwrap();
        assert_eq!(with.from, Some(OrderStatus::Pending));
        assert_eq!(serde_json::to_string(&with).unwrap(), text);
        assert!(
            serde_json::from_str::<StatusChange>(r#"{"status":"MAKING","was":"PENDING"}"#).is_err()
        );
        assert!(
            serde_json::from_str::<StatusChange>(r#"{"status":"MAKING","from":"LATE"}"#).is_err()
        );
    }

    #[test]
    fn a_daily_report_has_the_issue_s_wire_shape() {
        let mut report = DailyReport {
            date: "2026-12-03".into(),
            orders: 3,
            revenue_by_pay_type: RevenueByPayType {
                card: 4000,
                cash: 4500,
                cell: 5000,
            },
            cancellations: 1,
            points_used: 5000,
            points_charged: 2000,
            recalls: 1,
            prep_seconds: None,
        };
        assert_eq!(
            serde_json::to_string(&report).unwrap(),
            r#"{"date":"2026-12-03","orders":3,"revenueByPayType":{"CARD":4000,"CASH":4500,"CELL":5000},"cancellations":1,"pointsUsed":5000,"pointsCharged":2000,"recalls":1,"prepSeconds":null}"#
        );
        report.prep_seconds = Some(PrepSeconds {
            median: 120.0,
            p90: 168.5,
        });
        let text = serde_json::to_string(&report).unwrap();
        assert!(
            text.ends_with(r#""prepSeconds":{"median":120.0,"p90":168.5}}"#),
            "{text}"
        );
        assert_eq!(serde_json::from_str::<DailyReport>(&text).unwrap(), report);
    }
}
