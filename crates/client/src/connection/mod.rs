//! The connection: one actor task (`actor`) owns the socket, the reconnect
//! loop and the cache's writer side, one connected `session` at a time; an
//! outbox task it starts (`outbox_sender`) sends queued actions while the
//! link is live. [`ConnectionHandle`] is the cloneable API.
//!
//! A session goes: load a snapshot if the cache has none → open the socket
//! as `/ws?topics=…&since=…&epoch=…` with the cache's committed cursor (the
//! hub reads those topics from its first frame on, so nothing is
//! subscribed afterwards) → read `welcome` → apply replayed events until
//! `replayed` (or reload the snapshot on `resync`) → live: apply live
//! events. A kiosk follows the orders it places with a `subscribe` of their
//! new `order:{id}` topics with `since`. Every frame resets the heartbeat; a ping
//! goes out every `ping_every`, and a link that sends nothing for
//! `answer_within` after a ping is dropped and the reconnect policy runs.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use countertop_protocol::{
    Action, Fulfilment, NewOrder, NewOrderItem, OrderStatus, PayType, Role, SettingKey,
    SignatureSubmission, Topic,
};
use rand::{rngs::StdRng, SeedableRng};
use tokio::sync::{mpsc, watch, Notify};

use crate::admin::HubApi;
use crate::alerts::{AlertOutput, AlertSettings};
use crate::cache::Cache;
use crate::clock::Clock;
use crate::error::ClientError;
use crate::link::HubLink;
use crate::outbox::{OutboxKey, OutboxOp};
use crate::photos::Photos;
use crate::policy::{Heartbeat, ReconnectPolicy};
use crate::state::{ConnectionState, CoreEvent, Status};

use actor::Actor;
use outbox_sender::OutboxSender;

mod actor;
mod outbox_sender;
mod session;
#[cfg(test)]
mod tests;

/// How a connection behaves.
#[derive(Clone)]
pub struct ConnectionConfig {
    pub role: Role,
    pub policy: ReconnectPolicy,
    pub heartbeat: Heartbeat,
    pub alerts: AlertSettings,
    /// Whether a kiosk takes orders while the hub is out of reach.
    pub offline_ordering: bool,
    pub clock: Arc<dyn Clock>,
    /// Seed for the reconnect jitter; `None` seeds from the OS.
    pub jitter_seed: Option<u64>,
    /// How long the outbox waits before trying an entry again after a
    /// transient failure.
    pub outbox_retry: Duration,
}

impl ConnectionConfig {
    pub fn for_role(role: Role, clock: Arc<dyn Clock>) -> ConnectionConfig {
        ConnectionConfig {
            role,
            policy: ReconnectPolicy::default(),
            heartbeat: Heartbeat::default(),
            alerts: AlertSettings::for_role(role),
            offline_ordering: false,
            clock,
            jitter_seed: None,
            outbox_retry: Duration::from_secs(2),
        }
    }
}

/// The topics a role reads: its default ones; a barista also reads the
/// manager's notices (`notices`, which a manager reads through `system`),
/// and a kiosk follows each order it placed.
pub fn topics_for(role: Role, followed: &[String]) -> Vec<String> {
    let mut topics = role.default_topics();
    match role {
        Role::Barista => topics.push(Topic::Notices),
        Role::Kiosk => topics.extend(followed.iter().map(|id| Topic::Order(id.clone()))),
        Role::Display | Role::Manager => {}
    }
    topics.iter().map(Topic::to_string).collect()
}

#[derive(Debug)]
enum Command {
    Retry,
    /// Follow an order this kiosk placed; `since` is the cursor from before
    /// it was placed, so its history is replayed whatever happened meanwhile.
    Follow {
        order_id: String,
        since: u64,
    },
    SetAlerts(AlertSettings),
    Shutdown,
}

/// How a kiosk's order is paid and served.
#[derive(Debug, Clone)]
pub struct Checkout {
    pub pay_type: PayType,
    pub cell_id: Option<String>,
    /// The team's PIN, for a kiosk paying with team points.
    pub cell_pin: Option<String>,
    pub fulfilment: Fulfilment,
}

impl Default for Checkout {
    fn default() -> Checkout {
        Checkout {
            pay_type: PayType::Card,
            cell_id: None,
            cell_pin: None,
            fulfilment: Fulfilment::DineIn,
        }
    }
}

/// An order in the outbox: the key its outcome will name, and the reference
/// the customer is shown until the daily number comes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Queued {
    pub key: String,
    pub reference: String,
}

/// The API of a running connection. Clones share the one actor.
#[derive(Clone)]
pub struct ConnectionHandle {
    commands: mpsc::UnboundedSender<Command>,
    status: watch::Receiver<Status>,
    cache: Cache,
    wake_outbox: Arc<Notify>,
    events: mpsc::UnboundedSender<CoreEvent>,
    role: Role,
    offline_ordering: Arc<AtomicBool>,
    api: Option<HubApi>,
    photos: Option<Photos>,
    clock: Arc<dyn Clock>,
}

/// Starts a connection over `link`. Core events arrive on the returned
/// receiver, in order; the connection runs until [`ConnectionHandle::shutdown`].
pub fn spawn<L: HubLink>(
    link: Arc<L>,
    cache: Cache,
    config: ConnectionConfig,
    output: Arc<dyn AlertOutput>,
) -> (ConnectionHandle, mpsc::UnboundedReceiver<CoreEvent>) {
    let (events_tx, events_rx) = mpsc::unbounded_channel();
    let (commands_tx, commands_rx) = mpsc::unbounded_channel();
    let initial = Status {
        state: ConnectionState::Connecting { attempt: 0 },
        newest_event_at: None,
        node: link.node(),
    };
    let (status_tx, status_rx) = watch::channel(initial.clone());
    let _ = events_tx.send(CoreEvent::State(initial));
    if let Ok(depth) = cache.outbox_len() {
        let _ = events_tx.send(CoreEvent::OutboxDepth(depth));
    }
    let wake_outbox = Arc::new(Notify::new());
    let handle = ConnectionHandle {
        commands: commands_tx.clone(),
        status: status_rx.clone(),
        cache: cache.clone(),
        wake_outbox: wake_outbox.clone(),
        events: events_tx.clone(),
        role: config.role,
        offline_ordering: Arc::new(AtomicBool::new(config.offline_ordering)),
        api: None,
        photos: None,
        clock: config.clock.clone(),
    };
    let rng = match config.jitter_seed {
        Some(seed) => StdRng::seed_from_u64(seed),
        None => StdRng::from_entropy(),
    };
    let outbox = OutboxSender {
        link: link.clone(),
        cache: cache.clone(),
        status: status_rx,
        wake: wake_outbox,
        events: events_tx.clone(),
        commands: commands_tx,
        role: config.role,
        retry: config.outbox_retry,
    };
    tokio::spawn(outbox.run());
    let actor = Actor {
        link,
        cache,
        config,
        events: events_tx,
        status: status_tx,
        commands: commands_rx,
        output,
        rng,
    };
    tokio::spawn(actor.run());
    (handle, events_rx)
}

impl ConnectionHandle {
    /// The current state and the newest event's time.
    pub fn status(&self) -> Status {
        self.status.borrow().clone()
    }

    /// A receiver that sees every state change.
    pub fn watch_status(&self) -> watch::Receiver<Status> {
        self.status.clone()
    }

    /// Tries to connect now (the Retry button), whatever the wait left.
    pub fn retry(&self) {
        let _ = self.commands.send(Command::Retry);
    }

    /// Closes the socket and stops the connection.
    pub fn shutdown(&self) {
        let _ = self.commands.send(Command::Shutdown);
    }

    /// Changes the alert settings from now on, and keeps them for next time.
    pub fn set_alert_settings(&self, settings: AlertSettings) -> Result<(), ClientError> {
        self.cache.set_alert_settings(&settings)?;
        self.commands
            .send(Command::SetAlerts(settings))
            .map_err(|_| ClientError::Stopped)
    }

    /// Switches the kiosk's offline-ordering policy, and keeps it for next time.
    pub fn set_offline_ordering(&self, on: bool) -> Result<(), ClientError> {
        self.cache.set_offline_ordering(on)?;
        self.offline_ordering.store(on, Ordering::Relaxed);
        Ok(())
    }

    /// Gives the handle the direct REST calls of [`HubApi`].
    pub fn with_api(mut self, api: HubApi) -> ConnectionHandle {
        self.api = Some(api);
        self
    }

    /// Direct calls to the hub (menu, settings, devices, workorders, sold
    /// out): answered at once, never queued.
    pub fn api(&self) -> Result<&HubApi, ClientError> {
        self.api.as_ref().ok_or(ClientError::Stopped)
    }

    /// Gives the handle the menu's photos kept for offline use.
    pub fn with_photos(mut self, photos: Photos) -> ConnectionHandle {
        self.photos = Some(photos);
        self
    }

    /// The menu's photos: kept ones, else fetched from the hub.
    pub fn photos(&self) -> Result<&Photos, ClientError> {
        self.photos.as_ref().ok_or(ClientError::Stopped)
    }

    /// The local cache, to read state from.
    pub fn cache(&self) -> &Cache {
        &self.cache
    }

    pub fn role(&self) -> Role {
        self.role
    }

    /// Whether a kiosk would take an order right now.
    pub fn ordering_open(&self) -> Result<(), ClientError> {
        if self.role == Role::Kiosk {
            let settings = self.cache.settings()?;
            if settings
                .get(SettingKey::IsKioskActive.as_str())
                .map(String::as_str)
                == Some("false")
            {
                return Err(ClientError::KioskInactive);
            }
            // The café's policy is the hub's `offline_ordering` setting (kept
            // in the cache, so it holds through an outage); this device may
            // also be told to take orders offline on its own.
            let offline_ok = self.offline_ordering.load(Ordering::Relaxed)
                || settings
                    .get(SettingKey::OfflineOrdering.as_str())
                    .map(String::as_str)
                    == Some("true");
            if !offline_ok && !self.status.borrow().state.is_live() {
                return Err(ClientError::OrderingPaused);
            }
        }
        Ok(())
    }

    /// Queues an order, to eat in, paid by card or cash or from `cell_id`
    /// without a PIN (a manager's); returns its idempotency key. The outcome
    /// arrives as [`CoreEvent::OutboxSent`] or [`CoreEvent::OutboxRefused`]
    /// with that key.
    pub fn place_order(
        &self,
        items: Vec<NewOrderItem>,
        pay_type: PayType,
        cell_id: Option<String>,
    ) -> Result<String, ClientError> {
        let checkout = Checkout {
            pay_type,
            cell_id,
            ..Checkout::default()
        };
        Ok(self.place(items, checkout)?.key)
    }

    /// Queues an order as the kiosk's checkout says. It carries the time the
    /// customer placed it, so that a board's timer starts there even when
    /// the order waited in the outbox, and a provisional reference to show
    /// until its daily number comes. Team points are spent only while the
    /// hub is reachable: their PIN and balance are the hub's to check.
    pub fn place(
        &self,
        items: Vec<NewOrderItem>,
        checkout: Checkout,
    ) -> Result<Queued, ClientError> {
        self.allow(Action::PlaceOrder)?;
        self.ordering_open()?;
        if checkout.pay_type == PayType::Cell && !self.status.borrow().state.is_live() {
            return Err(ClientError::CellNeedsHub);
        }
        let key = OutboxKey::random();
        let reference = key.reference();
        let order = NewOrder {
            idempotency_key: key.into_string(),
            items,
            pay_type: checkout.pay_type,
            cell_id: checkout.cell_id,
            cell_pin: checkout.cell_pin,
            fulfilment: checkout.fulfilment,
            placed_at: Some(self.clock.now()),
            reference: Some(reference.clone()),
        };
        let key = self.queue(OutboxOp::PlaceOrder { order })?;
        Ok(Queued { key, reference })
    }

    /// Queues a status move (barista, manager) from `from`, the status the
    /// order has on this device's screen: the hub refuses the move if the
    /// order is no longer there when it arrives.
    pub fn change_status(
        &self,
        order_id: &str,
        from: OrderStatus,
        status: OrderStatus,
    ) -> Result<String, ClientError> {
        self.allow(Action::ChangeOrderStatus)?;
        self.queue(OutboxOp::ChangeStatus {
            order_id: order_id.to_owned(),
            status,
            from: Some(from),
        })
    }

    /// Queues marks on lines of an order (barista, manager): `lines` are
    /// indexes into its items, done or undone. The hub moves the order on
    /// when its last line is done, and back to MAKING when a line of a
    /// READY order is undone.
    pub fn mark_items(
        &self,
        order_id: &str,
        lines: Vec<u32>,
        done: bool,
    ) -> Result<String, ClientError> {
        self.allow(Action::ChangeOrderStatus)?;
        self.queue(OutboxOp::MarkItems {
            order_id: order_id.to_owned(),
            lines,
            done,
        })
    }

    /// Queues a cancellation (barista, manager).
    pub fn cancel(&self, order_id: &str, reason: &str) -> Result<String, ClientError> {
        self.allow(Action::CancelOrder)?;
        self.queue(OutboxOp::Cancel {
            order_id: order_id.to_owned(),
            reason: reason.to_owned(),
        })
    }

    /// Queues a signature (display).
    pub fn sign(&self, submission: SignatureSubmission) -> Result<String, ClientError> {
        self.allow(Action::SignWorkorder)?;
        self.queue(OutboxOp::Sign { submission })
    }

    fn allow(&self, action: Action) -> Result<(), ClientError> {
        ClientError::unless_role(self.role, action)
    }

    /// Queues `op` and returns its [`OutboxKey`] as the string that
    /// [`CoreEvent::OutboxSent`] and [`CoreEvent::OutboxRefused`] carry.
    fn queue(&self, op: OutboxOp) -> Result<String, ClientError> {
        let key = op.key();
        self.cache.enqueue(&key, &op)?;
        let _ = self
            .events
            .send(CoreEvent::OutboxDepth(self.cache.outbox_len()?));
        self.wake_outbox.notify_one();
        Ok(key.into_string())
    }
}
