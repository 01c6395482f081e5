//! The connection: one actor task owns the socket, the reconnect loop and
//! the cache's writer side; an outbox task it starts sends queued actions
//! while the link is live. [`ConnectionHandle`] is the cloneable API.
//!
//! A session goes: open the socket → read `welcome` → load a snapshot if
//! the cache has none → `subscribe` with the cache's `since` and `epoch` →
//! apply replayed events until `replayed` (or reload the snapshot on
//! `resync`) → apply live events. Every frame resets the heartbeat; a ping
//! goes out every `ping_every`, and a link that sends nothing for
//! `answer_within` after a ping is dropped and the reconnect policy runs.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use countertop_protocol::{Action, Topic};
use countertop_protocol::{
    ClientMessage, Event, Frame, NewOrder, NewOrderItem, Order, OrderStatus, PayType, Role,
    SignatureSubmission, CLOSE_REVOKED, MAX_TOPICS_PER_MESSAGE,
};
use futures::{SinkExt, StreamExt};
use rand::{rngs::StdRng, Rng, SeedableRng};
use tokio::sync::{mpsc, watch, Notify};
use tokio::time::{sleep_until, timeout, timeout_at, Instant};

use crate::admin::HubApi;
use crate::alerts::{alert_for, Alert, AlertOutput, AlertSettings};
use crate::cache::{Applied, Cache, Outcome};
use crate::clock::Clock;
use crate::error::{ClientError, LinkError};
use crate::link::{HubLink, Incoming, Outgoing, Submitted};
use crate::outbox::{new_key, OutboxOp};
use crate::policy::{Heartbeat, ReconnectPolicy};
use crate::state::{ConnectionState, CoreEvent, SnapshotReason, Status};

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

/// The topics a role reads. A kiosk also follows each order it placed.
pub fn topics_for(role: Role, followed: &[String]) -> Vec<String> {
    let mut topics = role.default_topics();
    if role == Role::Kiosk {
        topics.extend(followed.iter().map(|id| Topic::Order(id.clone())));
    }
    topics.iter().map(Topic::to_string).collect()
}

/// The hub setting that lets kiosks take orders while the hub is out of
/// reach (`"true"`); queued orders are sent, exactly once, when it is back.
pub const OFFLINE_ORDERING_SETTING: &str = "offline_ordering";

/// How many of its open orders a kiosk keeps following after a restart
/// (with the base topics, within one `subscribe`).
const KIOSK_FOLLOWS_AT_MOST: usize = 50;

/// How long a kiosk gathers newly placed orders before following them.
const FOLLOW_BATCHING: Duration = Duration::from_millis(250);

fn followed_orders(cache: &Cache) -> Vec<String> {
    let mut open: Vec<Order> = cache
        .orders()
        .unwrap_or_default()
        .into_iter()
        .filter(|o| o.status.is_open())
        .collect();
    open.sort_by_key(|o| std::cmp::Reverse(o.created_at));
    open.into_iter()
        .take(KIOSK_FOLLOWS_AT_MOST)
        .map(|o| o.order_id)
        .collect()
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
        let text = serde_json::to_string(&settings).map_err(crate::error::CacheError::from)?;
        self.cache
            .set_local_setting(crate::device::ALERT_SETTINGS_KEY, &text)?;
        self.commands
            .send(Command::SetAlerts(settings))
            .map_err(|_| ClientError::Stopped)
    }

    /// Switches the kiosk's offline-ordering policy, and keeps it for next time.
    pub fn set_offline_ordering(&self, on: bool) -> Result<(), ClientError> {
        let value = if on { "true" } else { "false" };
        self.cache
            .set_local_setting(crate::device::OFFLINE_ORDERING_KEY, value)?;
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
            if settings.get("is_kiosk_active").map(String::as_str) == Some("false") {
                return Err(ClientError::KioskInactive);
            }
            // The café's policy is the hub's `offline_ordering` setting (kept
            // in the cache, so it holds through an outage); this device may
            // also be told to take orders offline on its own.
            let offline_ok = self.offline_ordering.load(Ordering::Relaxed)
                || settings.get(OFFLINE_ORDERING_SETTING).map(String::as_str) == Some("true");
            if !offline_ok && !self.status.borrow().state.is_live() {
                return Err(ClientError::OrderingPaused);
            }
        }
        Ok(())
    }

    /// Queues an order; returns its idempotency key. The outcome arrives as
    /// [`CoreEvent::OutboxSent`] or [`CoreEvent::OutboxRefused`] with that key.
    pub fn place_order(
        &self,
        items: Vec<NewOrderItem>,
        pay_type: PayType,
        cell_id: Option<String>,
    ) -> Result<String, ClientError> {
        self.allow(Action::PlaceOrder)?;
        self.ordering_open()?;
        let order = NewOrder {
            idempotency_key: new_key(),
            items,
            pay_type,
            cell_id,
        };
        self.queue(OutboxOp::PlaceOrder { order })
    }

    /// Queues a status move (barista, manager).
    pub fn change_status(
        &self,
        order_id: &str,
        status: OrderStatus,
    ) -> Result<String, ClientError> {
        self.allow(Action::ChangeOrderStatus)?;
        self.queue(OutboxOp::ChangeStatus {
            order_id: order_id.to_owned(),
            status,
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

    fn queue(&self, op: OutboxOp) -> Result<String, ClientError> {
        let key = op.key();
        self.cache.enqueue(&key, &op)?;
        let _ = self
            .events
            .send(CoreEvent::OutboxDepth(self.cache.outbox_len()?));
        self.wake_outbox.notify_one();
        Ok(key)
    }
}

/// Why a session ended.
enum SessionEnd {
    Lost(String),
    Rejected(LinkError),
    Shutdown,
}

struct Actor<L> {
    link: Arc<L>,
    cache: Cache,
    config: ConnectionConfig,
    events: mpsc::UnboundedSender<CoreEvent>,
    status: watch::Sender<Status>,
    commands: mpsc::UnboundedReceiver<Command>,
    output: Arc<dyn AlertOutput>,
    rng: StdRng,
}

/// What a session is doing with the stream of frames.
struct Session {
    /// Between `subscribe` with `since` and `replayed` (or `resync`).
    replaying: bool,
    live: bool,
}

impl<L: HubLink> Actor<L> {
    fn emit(&self, event: CoreEvent) {
        // The receiver may be gone (a CLI that stopped reading); the
        // connection keeps the cache current all the same.
        let _ = self.events.send(event);
    }

    fn set_state(&self, state: ConnectionState) {
        let changed = self.status.send_if_modified(|s| {
            if s.state == state {
                false
            } else {
                s.state = state.clone();
                true
            }
        });
        if changed {
            let status = self.status.borrow().clone();
            tracing::info!(state = status.state.name(), "connection state");
            self.emit(CoreEvent::State(status));
        }
    }

    async fn run(mut self) {
        let quick = self.config.policy.quick_attempts;
        let mut failures: u32 = 0;
        let mut suspended_since = None;
        loop {
            self.set_state(ConnectionState::Connecting { attempt: failures });
            let mut session = Session {
                replaying: false,
                live: false,
            };
            match self.session(&mut session).await {
                SessionEnd::Shutdown => break,
                SessionEnd::Rejected(e) => {
                    tracing::warn!(error = %e, "the hub refused this device");
                    self.set_state(ConnectionState::Rejected {
                        code: e.code().to_owned(),
                        message: e.to_string(),
                    });
                    if !self.wait_for_retry(None).await {
                        break;
                    }
                    failures = 0;
                    suspended_since = None;
                    continue;
                }
                SessionEnd::Lost(reason) => {
                    tracing::info!(%reason, "link lost");
                    if session.live {
                        failures = 0;
                        suspended_since = None;
                    }
                    failures += 1;
                }
            }
            let wait = if failures <= quick {
                let wait = self
                    .config
                    .policy
                    .quick_delay(failures, self.rng.gen::<f64>());
                self.set_state(ConnectionState::Reconnecting {
                    attempt: failures,
                    of: quick,
                    next_try_in: wait,
                });
                wait
            } else {
                let now = self.config.clock.now();
                let since = *suspended_since.get_or_insert(now);
                let wait = self.config.policy.suspended_interval;
                self.set_state(ConnectionState::Suspended {
                    since,
                    next_try_at: now
                        + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::zero()),
                });
                wait
            };
            if !self.wait_for_retry(Some(Instant::now() + wait)).await {
                break;
            }
        }
        self.set_state(ConnectionState::Stopped);
    }

    /// Waits until `deadline` or a retry request; false on shutdown.
    async fn wait_for_retry(&mut self, deadline: Option<Instant>) -> bool {
        loop {
            let command = match deadline {
                Some(deadline) => tokio::select! {
                    () = sleep_until(deadline) => return true,
                    command = self.commands.recv() => command,
                },
                None => self.commands.recv().await,
            };
            match command {
                Some(Command::Retry) => return true,
                Some(Command::Shutdown) | None => return false,
                Some(Command::SetAlerts(settings)) => self.config.alerts = settings,
                // Followed orders are in the cache; the next subscribe names them.
                Some(Command::Follow { .. }) => {}
            }
        }
    }

    async fn session(&mut self, session: &mut Session) -> SessionEnd {
        let heartbeat = self.config.heartbeat.clone();
        let socket = match timeout(heartbeat.connect_within, self.link.open()).await {
            Err(_) => return SessionEnd::Lost("opening the socket timed out".into()),
            Ok(Err(e)) if e.is_transient() => return SessionEnd::Lost(e.to_string()),
            Ok(Err(e)) => return SessionEnd::Rejected(e),
            Ok(Ok(socket)) => socket,
        };
        let mut outgoing = socket.outgoing;
        let mut incoming = socket.incoming;

        // The hub speaks first (a WebSocket ping may come before it).
        let welcome_by = Instant::now() + heartbeat.connect_within;
        loop {
            match timeout_at(welcome_by, incoming.next()).await {
                Err(_) => return SessionEnd::Lost("no welcome from the hub".into()),
                Ok(None) => return SessionEnd::Lost("closed before welcome".into()),
                Ok(Some(Err(e))) => return SessionEnd::Lost(e.to_string()),
                Ok(Some(Ok(Incoming::Control))) => continue,
                Ok(Some(Ok(Incoming::Closed {
                    code: Some(CLOSE_REVOKED),
                }))) => return SessionEnd::Rejected(LinkError::Unauthorized),
                Ok(Some(Ok(Incoming::Closed { code }))) => {
                    return SessionEnd::Lost(format!("closed before welcome ({code:?})"))
                }
                Ok(Some(Ok(Incoming::Text(text)))) => match serde_json::from_str::<Frame>(&text) {
                    Ok(Frame {
                        event: Event::Welcome(_),
                        ..
                    }) => break,
                    _ => {
                        return SessionEnd::Lost(format!(
                            "expected welcome, got {}",
                            shorten(&text)
                        ))
                    }
                },
            }
        }

        let cursor = match self.cache.cursor() {
            Ok(cursor) => cursor,
            Err(e) => return SessionEnd::Lost(format!("cache: {e}")),
        };
        if cursor.epoch.is_none() {
            if let Err(end) = self.load_snapshot(SnapshotReason::Initial).await {
                return end;
            }
        }
        let cursor = match self.cache.cursor() {
            Ok(cursor) => cursor,
            Err(e) => return SessionEnd::Lost(format!("cache: {e}")),
        };
        let followed = if self.config.role == Role::Kiosk {
            followed_orders(&self.cache)
        } else {
            Vec::new()
        };
        let subscribe = ClientMessage::Subscribe {
            topics: topics_for(self.config.role, &followed),
            since: Some(cursor.seq),
            epoch: cursor.epoch,
        };
        if let Err(end) = send(&mut outgoing, &subscribe, heartbeat.answer_within).await {
            return end;
        }
        session.replaying = true;

        let mut next_ping = Instant::now() + heartbeat.ping_every;
        let mut answer_by: Option<Instant> = None;
        let mut follows: Vec<String> = Vec::new();
        let mut follow_at: Option<Instant> = None;
        let mut follow_since: Option<u64> = None;
        loop {
            let dead_at = answer_by.unwrap_or(next_ping + heartbeat.ping_every);
            tokio::select! {
                command = self.commands.recv() => match command {
                    Some(Command::Shutdown) | None => {
                        let _ = timeout(Duration::from_secs(1), outgoing.close()).await;
                        return SessionEnd::Shutdown;
                    }
                    Some(Command::Retry) => {}
                    Some(Command::SetAlerts(settings)) => self.config.alerts = settings,
                    Some(Command::Follow { order_id, since }) => {
                        follows.push(format!("order:{order_id}"));
                        follow_since = Some(follow_since.map_or(since, |s| s.min(since)));
                        follow_at.get_or_insert(Instant::now() + FOLLOW_BATCHING);
                    }
                },
                () = sleep_until(follow_at.unwrap_or(dead_at)), if follow_at.is_some() => {
                    follow_at = None;
                    let since = follow_since.take();
                    let epoch = self.cache.cursor().ok().and_then(|c| c.epoch);
                    // One message for many orders: the hub rate-limits messages.
                    for topics in std::mem::take(&mut follows).chunks(MAX_TOPICS_PER_MESSAGE) {
                        let follow = ClientMessage::Subscribe {
                            topics: topics.to_vec(),
                            since,
                            epoch: epoch.clone(),
                        };
                        if let Err(end) = send(&mut outgoing, &follow, heartbeat.answer_within).await {
                            return end;
                        }
                    }
                }
                item = incoming.next() => {
                    answer_by = None;
                    match item {
                        None => return SessionEnd::Lost("the hub closed the socket".into()),
                        Some(Err(e)) => return SessionEnd::Lost(e.to_string()),
                        Some(Ok(Incoming::Closed { code: Some(CLOSE_REVOKED) })) => {
                            return SessionEnd::Rejected(LinkError::Unauthorized)
                        }
                        Some(Ok(Incoming::Closed { code })) => {
                            return SessionEnd::Lost(format!("the hub closed the socket ({code:?})"))
                        }
                        Some(Ok(Incoming::Control)) => {}
                        Some(Ok(Incoming::Text(text))) => {
                            if let Err(end) = self.on_text(&text, session).await {
                                return end;
                            }
                        }
                    }
                }
                () = sleep_until(next_ping) => {
                    if let Err(end) = send(&mut outgoing, &ClientMessage::Ping, heartbeat.answer_within).await {
                        return end;
                    }
                    next_ping = Instant::now() + heartbeat.ping_every;
                    if answer_by.is_none() {
                        answer_by = Some(Instant::now() + heartbeat.answer_within);
                    }
                }
                () = sleep_until(dead_at), if answer_by.is_some() => {
                    return SessionEnd::Lost(format!(
                        "no frame within {:?} of a ping",
                        heartbeat.answer_within
                    ));
                }
            }
        }
    }

    async fn on_text(&mut self, text: &str, session: &mut Session) -> Result<(), SessionEnd> {
        let frame: Frame = match serde_json::from_str(text) {
            Ok(frame) => frame,
            Err(e) => {
                // A newer hub may send events this client does not know yet.
                tracing::debug!(error = %e, frame = %shorten(text), "ignoring a frame");
                return Ok(());
            }
        };
        match frame.event {
            Event::Subscribed(_) => {
                if !session.live {
                    session.live = true;
                    self.set_state(ConnectionState::Live {
                        since: self.config.clock.now(),
                    });
                }
            }
            Event::Replayed(replayed) => {
                session.replaying = false;
                self.cache
                    .advance(replayed.to)
                    .map_err(|e| SessionEnd::Lost(format!("cache: {e}")))?;
            }
            Event::Resync(resync) => {
                tracing::info!(reason = ?resync.reason, "the hub asks for a resync");
                session.replaying = false;
                self.load_snapshot(SnapshotReason::Resync).await?;
            }
            Event::Error(body) => {
                tracing::warn!(code = %body.code, message = %body.message, "the hub reported an error");
                self.emit(CoreEvent::HubError(body));
            }
            Event::Welcome(_) | Event::Pong | Event::Unsubscribed(_) => {}
            event => match frame.seq {
                Some(seq) => self.apply(seq, event, session.replaying)?,
                None => tracing::debug!(event = event.name(), "durable event without seq; ignored"),
            },
        }
        Ok(())
    }

    fn apply(&mut self, seq: u64, event: Event, replayed: bool) -> Result<(), SessionEnd> {
        let now = self.config.clock.now();
        let alert = alert_for(&event, &self.config.alerts, replayed, now);
        let applied = self
            .cache
            .apply(seq, &event, alert)
            .map_err(|e| SessionEnd::Lost(format!("cache: {e}")))?;
        if let Applied::Committed { alert } = applied {
            self.status.send_if_modified(|s| {
                s.newest_event_at = Some(now);
                false
            });
            self.emit(CoreEvent::Applied {
                seq,
                event: Box::new(event),
                replayed,
            });
            if let Some(alert) = alert {
                self.deliver(alert);
            }
        }
        Ok(())
    }

    fn deliver(&self, alert: Alert) {
        self.output.deliver(&alert, self.config.alerts.volume);
        self.emit(CoreEvent::Alert(alert));
    }

    async fn load_snapshot(&mut self, reason: SnapshotReason) -> Result<(), SessionEnd> {
        let snapshot =
            match timeout(self.config.heartbeat.connect_within, self.link.snapshot()).await {
                Err(_) => return Err(SessionEnd::Lost("snapshot timed out".into())),
                Ok(Err(e)) if e.is_transient() => {
                    return Err(SessionEnd::Lost(format!("snapshot: {e}")))
                }
                Ok(Err(e)) => return Err(SessionEnd::Rejected(e)),
                Ok(Ok(snapshot)) => snapshot,
            };
        let now = self.config.clock.now();
        let settings = self.config.alerts.clone();
        // After a resync, orders that arrived while the device was away
        // alert like replayed ones; the first load only fills the screen.
        let alerts = self
            .cache
            .load_snapshot(&snapshot, |order| {
                (reason == SnapshotReason::Resync && order.status == OrderStatus::Pending)
                    .then(|| {
                        alert_for(
                            &Event::OrderCreated(order.created_event()),
                            &settings,
                            true,
                            now,
                        )
                    })
                    .flatten()
            })
            .map_err(|e| SessionEnd::Lost(format!("cache: {e}")))?;
        self.status.send_if_modified(|s| {
            s.newest_event_at = Some(now);
            false
        });
        self.emit(CoreEvent::Snapshot {
            seq: snapshot.seq,
            epoch: snapshot.epoch.clone(),
            reason,
            orders: snapshot.orders,
        });
        for alert in alerts {
            self.deliver(alert);
        }
        Ok(())
    }
}

async fn send(
    outgoing: &mut Outgoing,
    message: &ClientMessage,
    within: Duration,
) -> Result<(), SessionEnd> {
    let text = serde_json::to_string(message).map_err(|e| SessionEnd::Lost(e.to_string()))?;
    match timeout(within, outgoing.send(text)).await {
        Err(_) => Err(SessionEnd::Lost("sending timed out".into())),
        Ok(Err(e)) => Err(SessionEnd::Lost(e.to_string())),
        Ok(Ok(())) => Ok(()),
    }
}

fn shorten(text: &str) -> String {
    text.chars().take(120).collect()
}

/// Sends outbox entries, oldest first, one at a time, while the link is live.
struct OutboxSender<L> {
    link: Arc<L>,
    cache: Cache,
    status: watch::Receiver<Status>,
    wake: Arc<Notify>,
    events: mpsc::UnboundedSender<CoreEvent>,
    commands: mpsc::UnboundedSender<Command>,
    role: Role,
    retry: Duration,
}

impl<L: HubLink> OutboxSender<L> {
    async fn run(mut self) {
        loop {
            let usable = self
                .status
                .wait_for(|s| s.state.is_live() || s.state == ConnectionState::Stopped)
                .await
                .map(|s| s.state.is_live());
            if !matches!(usable, Ok(true)) {
                return;
            }
            let next = match self.cache.outbox_next() {
                Ok(next) => next,
                Err(e) => {
                    tracing::error!(error = %e, "cannot read the outbox");
                    tokio::time::sleep(self.retry).await;
                    continue;
                }
            };
            let Some(entry) = next else {
                tokio::select! {
                    () = self.wake.notified() => {}
                    _ = self.status.changed() => {}
                }
                continue;
            };
            // Where the cache stood before the hub saw this entry: a placed
            // order's history starts after it.
            let before = self.cache.cursor().map(|c| c.seq).unwrap_or(0);
            let outcome = match self.link.submit(&entry.op).await {
                Ok(Submitted::Done(response)) => Outcome::Sent { response },
                Ok(Submitted::Refused(error)) => Outcome::Refused { error },
                Err(e) => {
                    tracing::info!(key = %entry.key, op = entry.op.name(), error = %e, "outbox entry not sent yet");
                    tokio::time::sleep(self.retry).await;
                    continue;
                }
            };
            if let (OutboxOp::PlaceOrder { .. }, Outcome::Sent { response }) = (&entry.op, &outcome)
            {
                if let Ok(order) = serde_json::from_value::<Order>(response.clone()) {
                    if let Err(e) = self.cache.remember_order(&order) {
                        tracing::error!(error = %e, "cannot cache a placed order");
                    }
                    if self.role == Role::Kiosk {
                        let _ = self.commands.send(Command::Follow {
                            order_id: order.order_id,
                            since: before,
                        });
                    }
                }
            }
            if let Err(e) = self.cache.outbox_finish(entry.id, &entry.key, &outcome) {
                tracing::error!(error = %e, "cannot record an outbox outcome");
                tokio::time::sleep(self.retry).await;
                continue;
            }
            let event = match outcome {
                Outcome::Sent { response } => CoreEvent::OutboxSent {
                    key: entry.key,
                    response,
                },
                Outcome::Refused { error } => {
                    tracing::warn!(key = %entry.key, code = %error.code, "the hub refused an outbox entry");
                    CoreEvent::OutboxRefused {
                        key: entry.key,
                        error,
                    }
                }
            };
            let _ = self.events.send(event);
            if let Ok(depth) = self.cache.outbox_len() {
                let _ = self.events.send(CoreEvent::OutboxDepth(depth));
            }
        }
    }
}

#[cfg(test)]
#[path = "connection_tests.rs"]
mod tests;
