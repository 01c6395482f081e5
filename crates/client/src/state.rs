//! What the core tells the UI: the connection state and the stream of core events.

use std::time::Duration;

use countertop_protocol::{ErrorBody, Event, Order, Timestamp};
use serde::Serialize;

use crate::alerts::Alert;

/// The connection's state, as the UI shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "state", rename_all = "camelCase")]
pub enum ConnectionState {
    /// Opening the socket (attempt 1 is the first since the link was last live).
    #[serde(rename_all = "camelCase")]
    Connecting { attempt: u32 },
    /// Subscribed and receiving events.
    #[serde(rename_all = "camelCase")]
    Live { since: Timestamp },
    /// Waiting before quick attempt `attempt` of `of`.
    #[serde(rename_all = "camelCase")]
    Reconnecting {
        attempt: u32,
        of: u32,
        #[serde(rename = "nextTryInMs", serialize_with = "millis")]
        next_try_in: Duration,
    },
    /// The quick attempts failed: trying every so often, or when asked.
    #[serde(rename_all = "camelCase")]
    Suspended {
        since: Timestamp,
        next_try_at: Timestamp,
    },
    /// The hub refused this device's token; nothing will change until the
    /// device is paired again (or the user asks for a retry).
    #[serde(rename_all = "camelCase")]
    Rejected { code: String, message: String },
    /// The connection was shut down.
    Stopped,
}

fn millis<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

impl ConnectionState {
    pub fn is_live(&self) -> bool {
        matches!(self, ConnectionState::Live { .. })
    }

    /// The short name the UI and the CLI show (`live`, `reconnecting`, ...).
    pub fn name(&self) -> &'static str {
        match self {
            ConnectionState::Connecting { .. } => "connecting",
            ConnectionState::Live { .. } => "live",
            ConnectionState::Reconnecting { .. } => "reconnecting",
            ConnectionState::Suspended { .. } => "suspended",
            ConnectionState::Rejected { .. } => "rejected",
            ConnectionState::Stopped => "stopped",
        }
    }
}

/// Which of the café's hub nodes a connection uses, when the device knows
/// several (a pairing's `hubs`, or given): it moves to the next one when
/// the one in use is unreachable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HubNode {
    /// The node's address, as the device reaches it (`https://10.0.0.2:3443`).
    pub url: String,
    /// Its place in the device's list, from 1.
    pub number: u32,
    /// How many nodes the device knows.
    pub of: u32,
}

impl HubNode {
    /// The address without its scheme (`10.0.0.2:3443`), as a screen shows it.
    pub fn host(&self) -> &str {
        self.url
            .split_once("://")
            .map_or(self.url.as_str(), |(_, rest)| rest)
    }
}

/// The state together with how fresh the data is.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Status {
    #[serde(flatten)]
    pub state: ConnectionState,
    /// When the newest applied event was received; the UI shows its age.
    pub newest_event_at: Option<Timestamp>,
    /// The hub node in use (or tried next), when the device knows several.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node: Option<HubNode>,
}

impl Status {
    /// How old the newest applied event is at `now` (what the UI shows as
    /// "updated 12 s ago").
    pub fn newest_event_age(&self, now: Timestamp) -> Option<Duration> {
        self.newest_event_at.map(|at| {
            now.signed_duration_since(at)
                .to_std()
                .unwrap_or(Duration::ZERO)
        })
    }
}

/// Why the cache was loaded from a snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SnapshotReason {
    /// The cache was empty.
    Initial,
    /// The hub could not replay what was missed.
    Resync,
}

/// Everything the core reports, in the order it happened. The app shell
/// forwards these to the UI; the CLI prints them.
#[derive(Debug, Clone, PartialEq)]
pub enum CoreEvent {
    State(Status),
    /// A durable event, committed to the cache (never sent for a skipped one).
    Applied {
        seq: u64,
        event: Box<Event>,
        replayed: bool,
    },
    /// The cache was replaced by a snapshot as of `seq`.
    Snapshot {
        seq: u64,
        epoch: String,
        reason: SnapshotReason,
        orders: Vec<Order>,
    },
    Alert(Alert),
    /// How many actions wait in the outbox.
    OutboxDepth(usize),
    /// An outbox entry reached the hub; `response` is what it answered.
    OutboxSent {
        key: String,
        response: serde_json::Value,
    },
    /// The hub refused an outbox entry (sold out, insufficient balance, ...).
    OutboxRefused {
        key: String,
        error: ErrorBody,
    },
    /// The hub sent an `error` event on the socket.
    HubError(ErrorBody),
}
