//! The Countertop client core: what a café device (kiosk, barista display,
//! signature display, manager) runs under its UI, with no Tauri in it.
//!
//! # Design
//!
//! - **One task owns the socket.** [`connection`] runs an actor that owns the
//!   WebSocket, the reconnect loop and the heartbeat, and is the only writer
//!   of the cache's hub state. [`ConnectionHandle`] is its cloneable API.
//!   Everything the core has to say ([`CoreEvent`]: state changes, applied
//!   events, snapshots, alerts, outbox depth and outcomes) flows out on one
//!   channel, in order; an app shell only forwards it.
//! - **The cache is the screen's source of truth.** [`Cache`] is a SQLite
//!   file in the device's data folder holding orders, menu, settings, cells,
//!   workorders and the cursor (`seq`, `epoch`). A screen reads it at start-up,
//!   before the hub answers. The connection resumes from the cursor by
//!   opening `/ws?topics=…&since=…&epoch=…` and reloads `/api/snapshot` on
//!   `resync`.
//! - **Exactly once.** An event is applied in one transaction with the new
//!   cursor; an event whose `seq` is not above the cursor is skipped and not
//!   reported. Events about an order are judged by that order's own newest
//!   seq instead (a kiosk that starts following an order is replayed its
//!   history after newer events of other topics), and an `order:created` for
//!   a known order is always skipped. An alert's dedupe row is written in the
//!   same transaction, so an order alerts at most once even across crashes
//!   and restarts.
//! - **Resume, never reload, unless told.** A connection opens with its
//!   topics and the cache's committed cursor in the address (`since`,
//!   `epoch`), is replayed everything after it, and moves the cursor to
//!   `replayed.to`; only an empty cache (before the socket opens) or a
//!   `resync` loads `/api/snapshot`.
//! - **Heartbeat.** A `ping` every 15 s; no frame at all within 10 s of one
//!   means the link is dead. Reconnecting: five quick attempts (1 s doubling,
//!   ±50 % jitter), then suspended, retrying every 30 s or on request.
//! - **The outbox.** Actions taken while offline are queued in the cache with
//!   a key and sent in order, one at a time, while the link is live. Orders
//!   carry the key as their idempotency key; refusals come back as
//!   [`CoreEvent::OutboxRefused`] and are kept in the cache.
//! - **Photos for offline.** [`Photos`] keeps the hub's JPEGs of the cached
//!   menu in a bounded store beside the cache, fetched after each change of
//!   the menu, so a kiosk shows them while the hub is out of reach.
//! - **Time is injected.** Timers use `tokio::time` (tests pause it); wall
//!   time comes from a [`Clock`].
//! - **Degrade, never fail, for the desktop.** No sound device, no
//!   notification server, no keyring: the core carries on, logging once.
//!   The device token never reaches a log.

pub mod admin;
pub mod alerts;
pub mod cache;
pub mod cart;
pub mod clock;
pub mod connection;
pub mod dashboard;
pub mod device;
pub mod discovery;
pub mod error;
#[cfg(test)]
mod fixtures;
pub mod link;
pub mod outbox;
pub mod pairing_link;
pub mod pake;
pub mod photos;
pub mod pin;
pub mod policy;
pub mod state;
pub mod status_link;
pub mod token;
pub mod workorders;

pub use admin::HubApi;
pub use alerts::{
    Alert, AlertKind, AlertOutput, AlertSettings, DesktopOutput, NewOrdersBurst, SilentOutput,
    Sound, SoundDevice,
};
pub use cache::{Cache, Cursor, DeviceInfo, Outcome, PhotoStore};
pub use cart::CartError;
pub use clock::{Clock, ManualClock, SystemClock, TokioClock};
pub use connection::{spawn, Checkout, ConnectionConfig, ConnectionHandle, Queued};
pub use dashboard::Dashboard;
pub use device::{connect, move_hub, pair, pair_pinned, store_pairing, ConnectOptions, DeviceKey};
pub use discovery::{browse, find, Browser, FoundHub};
pub use error::{CacheError, ClientError, ErrorKind, LinkError, TokenError};
pub use link::{ConnectQuery, HttpHub, HubLink, Incoming, Socket, Submitted, MAX_NODES};
pub use outbox::{OutboxKey, OutboxOp};
pub use pairing_link::PairingLink;
pub use pake::{pair_by_code, PakeError};
pub use photos::Photos;
pub use pin::{Fingerprint, PinnedTls, Trust};
pub use policy::{Heartbeat, ReconnectPolicy};
pub use state::{ConnectionState, CoreEvent, HubNode, SnapshotReason, Status};
pub use token::{DeviceToken, TokenStore, TokenVault};
