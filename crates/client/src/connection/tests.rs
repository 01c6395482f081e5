//! Deterministic tests of the connection with paused tokio time, against an
//! in-memory hub behind [`HubLink`].

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use countertop_protocol::{
    ClientMessage, ErrorBody, ErrorCode, Event, Frame, NewOrderItem, Order, OrderStatus,
    OrderStatusChanged, PayType, Replayed, Resync, ResyncReason, Role, Snapshot, Subscribed, Topic,
    Welcome, MAX_TOPICS_PER_MESSAGE,
};
use futures::channel::mpsc as fmpsc;
use futures::{SinkExt, StreamExt};
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::*;
use crate::alerts::{alert_for, SilentOutput};
use crate::cache::{Applied, Outcome};
use crate::clock::TokioClock;
use crate::error::LinkError;
use crate::fixtures::created;
use crate::link::{ConnectQuery, Incoming, Socket, Submitted};
use crate::state::SnapshotReason;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0)
        .single()
        .unwrap_or_default()
}

/// The hub's side of one socket, opened as a version 2 hub opens one: the
/// connection reads the topics of its address from the first frame on.
struct ServerSide {
    /// What the client asked for in the address.
    query: ConnectQuery,
    /// What the connection reads: the address's topics, then followed ones.
    held: Vec<String>,
    to_client: fmpsc::UnboundedSender<Result<Incoming, LinkError>>,
    from_client: fmpsc::UnboundedReceiver<String>,
}

impl ServerSide {
    fn send(&self, frame: Frame) {
        let text = serde_json::to_string(&frame).unwrap();
        let _ = self.to_client.unbounded_send(Ok(Incoming::Text(text)));
    }

    fn event(&self, event: Event) {
        self.send(Frame::control(event));
    }

    fn durable(&self, seq: u64, event: Event) {
        self.send(Frame {
            seq: Some(seq),
            event,
        });
    }

    async fn recv(&mut self) -> ClientMessage {
        let text = tokio::time::timeout(Duration::from_secs(3600), self.from_client.next())
            .await
            .expect("the client said nothing")
            .expect("the client closed the socket");
        serde_json::from_str(&text).unwrap()
    }

    /// The welcome, listing the address's topics: returns them and the
    /// `since` asked for. The test sends the replay and `replayed` itself.
    fn handshake(&mut self) -> (Vec<String>, Option<u64>) {
        self.welcome("e1", 0);
        (self.query.topics.clone(), self.query.since)
    }

    fn welcome(&mut self, epoch: &str, seq: u64) {
        self.event(Event::Welcome(Welcome {
            connection_id: "c1".into(),
            device_id: Some("d1".into()),
            role: Some(Role::Barista),
            epoch: epoch.into(),
            seq,
            topics: self.held.clone(),
        }));
    }

    /// What a version 2 hub sends on its own: the welcome, then every event
    /// of `hub`'s log after the address's `since`, then `replayed`; or
    /// `resync` when the `epoch` is not the hub's or `since` is ahead of it.
    fn resume(&mut self, hub: &FakeHub) {
        let (epoch, seq, log) = hub.with(|s| (s.epoch.clone(), s.seq(), s.log.clone()));
        self.welcome(&epoch, seq);
        let Some(since) = self.query.since else {
            return;
        };
        if self.query.epoch.as_deref() != Some(epoch.as_str()) || since > seq {
            self.event(Event::Resync(Resync {
                reason: ResyncReason::EpochChanged,
            }));
            return;
        }
        let mut count = 0;
        for (n, event) in log.into_iter().filter(|(n, _)| *n > since) {
            self.durable(n, event);
            count += 1;
        }
        self.replayed(since, seq, count);
    }

    /// Commits `event` in `hub`'s log and sends it live.
    fn live(&self, hub: &FakeHub, seq: u64, event: Event) {
        hub.commit(seq, event.clone());
        self.durable(seq, event);
    }

    /// Answers the next `subscribe` as a version 2 hub does (pings on the
    /// way are answered): with `since`, naming a topic the connection reads
    /// already is refused whole with `already_subscribed`, which is `Err`.
    async fn follow(&mut self) -> Result<(Vec<String>, Option<u64>), Vec<String>> {
        loop {
            match self.recv().await {
                ClientMessage::Subscribe { topics, since, .. } => {
                    let held: Vec<String> = topics
                        .iter()
                        .filter(|t| self.held.contains(t))
                        .cloned()
                        .collect();
                    if since.is_some() && !held.is_empty() {
                        self.event(Event::Error(ErrorBody {
                            code: ErrorCode::AlreadySubscribed.as_str().into(),
                            message: format!("this connection reads {} already", held.join(", ")),
                        }));
                        return Err(held);
                    }
                    self.held.extend(topics.iter().cloned());
                    self.event(Event::Subscribed(Subscribed {
                        topics: Some(topics.clone()),
                        role: None,
                        order_id: None,
                    }));
                    return Ok((topics, since));
                }
                ClientMessage::Ping => self.event(Event::Pong),
                other => panic!("unexpected {other:?}"),
            }
        }
    }

    fn replayed(&self, from: u64, to: u64, count: u64) {
        self.event(Event::Replayed(Replayed { from, to, count }));
    }
}

struct HubState {
    accepting: bool,
    /// Each time the device reached for the hub: a socket it opened, or a
    /// snapshot refused while the hub was away (a device without a cache
    /// asks for the snapshot before it opens the socket).
    attempts: Vec<Instant>,
    /// What reached the hub, in order: `snapshot` and `open`.
    calls: Vec<&'static str>,
    /// The address of each socket opened.
    queries: Vec<ConnectQuery>,
    epoch: String,
    /// The durable events committed after the snapshot, for replays.
    log: Vec<(u64, Event)>,
    snapshot: Option<Snapshot>,
    submitted: Vec<OutboxOp>,
    refuse_menu: Option<String>,
}

impl HubState {
    /// The newest durable seq.
    fn seq(&self) -> u64 {
        let logged = self.log.last().map_or(0, |(n, _)| *n);
        logged.max(self.snapshot.as_ref().map_or(0, |s| s.seq))
    }
}

struct FakeHub {
    state: Mutex<HubState>,
    sockets: mpsc::UnboundedSender<ServerSide>,
}

impl FakeHub {
    fn new(accepting: bool) -> (Arc<FakeHub>, mpsc::UnboundedReceiver<ServerSide>) {
        let (sockets, rx) = mpsc::unbounded_channel();
        let hub = FakeHub {
            state: Mutex::new(HubState {
                accepting,
                attempts: Vec::new(),
                calls: Vec::new(),
                queries: Vec::new(),
                epoch: "e1".into(),
                log: Vec::new(),
                snapshot: Some(snapshot(1, vec![])),
                submitted: Vec::new(),
                refuse_menu: None,
            }),
            sockets,
        };
        (Arc::new(hub), rx)
    }

    fn with<T>(&self, f: impl FnOnce(&mut HubState) -> T) -> T {
        f(&mut self.state.lock().unwrap_or_else(PoisonError::into_inner))
    }

    fn commit(&self, seq: u64, event: Event) {
        self.with(|s| {
            assert_eq!(seq, s.seq() + 1, "the hub's sequence has no gaps");
            s.log.push((seq, event));
        });
    }
}

impl HubLink for FakeHub {
    async fn open(&self, query: &ConnectQuery) -> Result<Socket, LinkError> {
        // What a version 2 hub checks before the upgrade.
        assert!(query.topics.len() <= MAX_TOPICS_PER_MESSAGE, "{query:?}");
        for topic in &query.topics {
            assert!(Topic::parse(topic).is_ok(), "{topic} is no topic");
        }
        assert!(
            query.since.is_none() || query.epoch.is_some(),
            "a resume names its epoch: {query:?}"
        );
        let accepting = self.with(|s| {
            s.attempts.push(Instant::now());
            s.calls.push("open");
            s.accepting
        });
        if !accepting {
            return Err(LinkError::Network("connection refused".into()));
        }
        self.with(|s| s.queries.push(query.clone()));
        let (to_client, incoming) = fmpsc::unbounded();
        let (outgoing, from_client) = fmpsc::unbounded::<String>();
        let _ = self.sockets.send(ServerSide {
            query: query.clone(),
            held: query.topics.clone(),
            to_client,
            from_client,
        });
        Ok(Socket {
            outgoing: Box::pin(outgoing.sink_map_err(|e| LinkError::Network(e.to_string()))),
            incoming: Box::pin(incoming),
        })
    }

    async fn snapshot(&self) -> Result<Snapshot, LinkError> {
        self.with(|s| {
            if !s.accepting {
                s.attempts.push(Instant::now());
                return Err(LinkError::Network("connection refused".into()));
            }
            s.calls.push("snapshot");
            s.snapshot
                .clone()
                .ok_or_else(|| LinkError::Network("no snapshot".into()))
        })
    }

    async fn submit(&self, op: &OutboxOp) -> Result<Submitted, LinkError> {
        self.with(|s| {
            if !s.accepting {
                return Err(LinkError::Network("connection refused".into()));
            }
            s.submitted.push(op.clone());
            if let OutboxOp::PlaceOrder { order } = op {
                if order
                    .items
                    .iter()
                    .any(|i| Some(&i.menu_id) == s.refuse_menu.as_ref())
                {
                    return Ok(Submitted::Refused(ErrorBody {
                        code: "sold_out".into(),
                        message: "sold out".into(),
                    }));
                }
                let placed = order_at(&format!("ORD-{}", s.submitted.len()), 1, t0());
                return Ok(Submitted::Done(serde_json::to_value(placed).unwrap()));
            }
            Ok(Submitted::Done(serde_json::Value::Null))
        })
    }
}

fn snapshot(seq: u64, orders: Vec<Order>) -> Snapshot {
    Snapshot {
        epoch: "e1".into(),
        seq,
        menu: vec![],
        settings: Default::default(),
        orders,
        cells: None,
        workorders: None,
        board: vec![],
    }
}

fn order_at(id: &str, daily_num: u32, at: DateTime<Utc>) -> Order {
    let Event::OrderCreated(c) = created(id, daily_num, at) else {
        unreachable!()
    };
    Order {
        order_id: c.order_id,
        daily_num: c.daily_num,
        pay_type: c.pay_type,
        cell_info: None,
        items: c.items,
        total_amount: c.total_amount,
        status: OrderStatus::Pending,
        created_at: at,
        updated_at: at,
        cancel_reason: None,
        fulfilment: Default::default(),
        placed_at: None,
        reference: None,
    }
}

fn status_changed(id: &str, status: OrderStatus) -> Event {
    Event::OrderStatusChanged(OrderStatusChanged {
        order_id: id.into(),
        daily_num: 1,
        status,
        previous_status: Some(OrderStatus::Pending),
        updated_at: Some(t0()),
    })
}

struct Device {
    handle: ConnectionHandle,
    events: mpsc::UnboundedReceiver<CoreEvent>,
}

fn start(
    hub: &Arc<FakeHub>,
    dir: &std::path::Path,
    role: Role,
    tweak: impl FnOnce(&mut ConnectionConfig),
) -> Device {
    let cache = Cache::open(dir).unwrap();
    let mut config = ConnectionConfig::for_role(role, Arc::new(TokioClock::starting_at(t0())));
    config.jitter_seed = Some(7);
    tweak(&mut config);
    let (handle, events) = spawn(hub.clone(), cache, config, Arc::new(SilentOutput));
    Device { handle, events }
}

impl Device {
    async fn next(&mut self) -> CoreEvent {
        tokio::time::timeout(Duration::from_secs(24 * 3600), self.events.recv())
            .await
            .expect("no core event within a day")
            .expect("core event channel closed")
    }

    async fn next_state(&mut self) -> ConnectionState {
        loop {
            if let CoreEvent::State(status) = self.next().await {
                return status.state;
            }
        }
    }

    async fn until_state(&mut self, name: &str) -> ConnectionState {
        loop {
            let state = self.next_state().await;
            if state.name() == name {
                return state;
            }
        }
    }

    /// Everything reported up to the first event that `done` accepts.
    async fn collect_until(&mut self, done: impl Fn(&CoreEvent) -> bool) -> Vec<CoreEvent> {
        let mut seen = Vec::new();
        loop {
            let event = self.next().await;
            let last = done(&event);
            seen.push(event);
            if last {
                return seen;
            }
        }
    }

    /// Everything reported until `state` is reached.
    async fn collect_until_state(&mut self, name: &str) -> Vec<CoreEvent> {
        let mut seen = Vec::new();
        loop {
            let event = self.next().await;
            let done = matches!(&event, CoreEvent::State(s) if s.state.name() == name);
            seen.push(event);
            if done {
                return seen;
            }
        }
    }
}

fn applied_seqs(events: &[CoreEvent]) -> Vec<u64> {
    events
        .iter()
        .filter_map(|e| match e {
            CoreEvent::Applied { seq, .. } => Some(*seq),
            _ => None,
        })
        .collect()
}

fn alert_keys(events: &[CoreEvent]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match e {
            CoreEvent::Alert(a) => Some(a.key.clone()),
            _ => None,
        })
        .collect()
}

#[tokio::test(start_paused = true)]
async fn reconnect_makes_five_quick_attempts_then_suspends_and_retries_on_request() {
    let dir = tempfile::tempdir().unwrap();
    let (hub, mut sockets) = FakeHub::new(false);
    let mut device = start(&hub, dir.path(), Role::Barista, |_| {});
    assert_eq!(
        device.next_state().await,
        ConnectionState::Connecting { attempt: 0 }
    );
    let mut waits = Vec::new();
    for attempt in 1..=5u32 {
        match device.next_state().await {
            ConnectionState::Reconnecting {
                attempt: a,
                of,
                next_try_in,
            } => {
                assert_eq!((a, of), (attempt, 5));
                let nominal = 2f64.powi(attempt as i32 - 1);
                let secs = next_try_in.as_secs_f64();
                assert!(
                    secs >= nominal * 0.5 - 1e-9 && secs <= nominal * 1.5 + 1e-9,
                    "attempt {attempt}: waited {secs}s, nominal {nominal}s ±50 %"
                );
                waits.push(next_try_in);
            }
            other => panic!("expected reconnecting, got {other:?}"),
        }
        assert_eq!(
            device.next_state().await,
            ConnectionState::Connecting { attempt }
        );
    }
    let first_suspension = match device.next_state().await {
        ConnectionState::Suspended { since, next_try_at } => {
            assert_eq!(next_try_at - since, chrono::Duration::seconds(30));
            since
        }
        other => panic!("expected suspended, got {other:?}"),
    };
    // The waits between attempts were exactly the announced ones. (The
    // cache is empty, so each attempt asked for the snapshot first.)
    let opens = hub.with(|s| s.attempts.clone());
    assert_eq!(opens.len(), 6);
    for (i, wait) in waits.iter().enumerate() {
        let gap = opens[i + 1] - opens[i];
        // Timers have millisecond resolution.
        assert!(
            gap.abs_diff(*wait) <= Duration::from_millis(1),
            "gap before attempt {}: {gap:?} vs {wait:?}",
            i + 1
        );
    }
    // Suspended: every 30 s, keeping the time it started.
    assert_eq!(
        device.next_state().await,
        ConnectionState::Connecting { attempt: 6 }
    );
    match device.next_state().await {
        ConnectionState::Suspended { since, .. } => assert_eq!(since, first_suspension),
        other => panic!("expected suspended, got {other:?}"),
    }
    let opens = hub.with(|s| s.attempts.clone());
    assert_eq!(opens[6] - opens[5], Duration::from_secs(30));
    // The Retry button tries at once.
    tokio::time::advance(Duration::from_secs(3)).await;
    let asked = Instant::now();
    device.handle.retry();
    assert_eq!(
        device.next_state().await,
        ConnectionState::Connecting { attempt: 7 }
    );
    let opens = hub.with(|s| s.attempts.clone());
    assert_eq!(opens[7], asked);
    assert_eq!(device.until_state("suspended").await.name(), "suspended");
    // Once the hub is back, the next attempt goes live and resets the count.
    hub.with(|s| s.accepting = true);
    device.handle.retry();
    assert_eq!(
        device.next_state().await,
        ConnectionState::Connecting { attempt: 8 }
    );
    let mut server = sockets.recv().await.unwrap();
    server.resume(&hub);
    device.until_state("live").await;
    drop(server);
    match device.next_state().await {
        ConnectionState::Reconnecting { attempt: 1, .. } => {}
        other => panic!("expected a fresh first attempt, got {other:?}"),
    }
}

#[test]
fn quick_delays_double_are_capped_and_jittered_within_half() {
    let policy = ReconnectPolicy::default();
    assert_eq!(policy.quick_delay(1, 0.5), Duration::from_secs(1));
    assert_eq!(policy.quick_delay(2, 0.5), Duration::from_secs(2));
    assert_eq!(policy.quick_delay(5, 0.5), Duration::from_secs(16));
    assert_eq!(policy.quick_delay(9, 0.5), Duration::from_secs(16));
    assert_eq!(policy.quick_delay(3, 0.0), Duration::from_secs(2));
    assert_eq!(policy.quick_delay(3, 1.0), Duration::from_secs(6));
}

#[tokio::test(start_paused = true)]
async fn heartbeat_keeps_an_answering_link_and_drops_a_silent_one_ten_seconds_after_a_ping() {
    let dir = tempfile::tempdir().unwrap();
    let (hub, mut sockets) = FakeHub::new(true);
    let mut device = start(&hub, dir.path(), Role::Barista, |_| {});
    let mut server = sockets.recv().await.unwrap();
    let (_, since) = server.handshake();
    assert_eq!(since, Some(1), "resumes from the initial snapshot's seq");
    server.replayed(1, 1, 0);
    device.until_state("live").await;

    // Answer pings for a minute: four pings, 15 s apart, and the link stays.
    let started = Instant::now();
    for n in 1..=4u32 {
        assert_eq!(server.recv().await, ClientMessage::Ping);
        assert_eq!(Instant::now() - started, Duration::from_secs(15) * n);
        server.event(Event::Pong);
    }
    // Now go silent: the next ping is at 75 s, the link is dead at 85 s.
    assert_eq!(server.recv().await, ClientMessage::Ping);
    let pinged = Instant::now();
    match device.next_state().await {
        ConnectionState::Reconnecting { attempt: 1, .. } => {}
        other => panic!("expected reconnecting, got {other:?}"),
    }
    assert_eq!(Instant::now() - pinged, Duration::from_secs(10));
    assert_eq!(pinged - started, Duration::from_secs(75));
}

#[tokio::test(start_paused = true)]
async fn any_frame_after_a_ping_counts_as_an_answer() {
    let dir = tempfile::tempdir().unwrap();
    let (hub, mut sockets) = FakeHub::new(true);
    let mut device = start(&hub, dir.path(), Role::Barista, |_| {});
    let mut server = sockets.recv().await.unwrap();
    server.handshake();
    server.replayed(1, 1, 0);
    device.until_state("live").await;
    assert_eq!(server.recv().await, ClientMessage::Ping);
    // Not a pong: a WebSocket control frame 9 s later keeps the link.
    tokio::time::advance(Duration::from_secs(9)).await;
    let _ = server.to_client.unbounded_send(Ok(Incoming::Control));
    assert_eq!(server.recv().await, ClientMessage::Ping);
    // Not answered: dead 10 s after this second ping, not before.
    let pinged = Instant::now();
    device.until_state("reconnecting").await;
    assert_eq!(Instant::now() - pinged, Duration::from_secs(10));
}

#[tokio::test(start_paused = true)]
async fn events_apply_once_and_alert_once_across_overlapping_replays_and_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let (hub, mut sockets) = FakeHub::new(true);
    let mut device = start(&hub, dir.path(), Role::Barista, |_| {});
    let mut server = sockets.recv().await.unwrap();
    server.handshake();
    server.replayed(1, 1, 0);
    device.until_state("live").await;
    let now = t0();
    // Live events alert whatever their age.
    server.durable(2, created("ORD-A", 1, now));
    server.durable(3, created("ORD-B", 2, now - chrono::Duration::hours(1)));
    // The hub goes away.
    drop(server);
    let seen = device.collect_until_state("reconnecting").await;
    assert_eq!(applied_seqs(&seen), vec![2, 3]);
    assert_eq!(alert_keys(&seen), vec!["order:ORD-A", "order:ORD-B"]);

    // It comes back and replays too much: 2 and 3 again, then 4 (5 min old:
    // alerts) and 5 (20 min old: replayed, too old to alert).
    let mut server = sockets.recv().await.unwrap();
    let (_, since) = server.handshake();
    assert_eq!(since, Some(3));
    server.durable(2, created("ORD-A", 1, now));
    server.durable(3, created("ORD-B", 2, now));
    server.durable(4, created("ORD-C", 3, now - chrono::Duration::minutes(5)));
    server.durable(5, created("ORD-D", 4, now - chrono::Duration::minutes(20)));
    server.replayed(3, 5, 4);
    server.durable(6, status_changed("ORD-A", OrderStatus::Making));
    let seen = device
        .collect_until(|e| matches!(e, CoreEvent::Applied { seq: 6, .. }))
        .await;
    device.handle.shutdown();
    device.until_state("stopped").await;
    assert_eq!(applied_seqs(&seen), vec![4, 5, 6]);
    assert_eq!(alert_keys(&seen), vec!["order:ORD-C"]);

    // A restart on the same folder: the cache is there before the hub answers.
    let mut device = start(&hub, dir.path(), Role::Barista, |_| {});
    let cached = device.handle.cache().orders().unwrap();
    assert_eq!(cached.len(), 4);
    assert_eq!(
        device
            .handle
            .cache()
            .order("ORD-A")
            .unwrap()
            .unwrap()
            .status,
        OrderStatus::Making
    );
    let mut server = sockets.recv().await.unwrap();
    let (_, since) = server.handshake();
    assert_eq!(since, Some(6));
    // Even a replay of an order whose cursor was lost would not chime twice:
    // the dedupe row outlives the cursor.
    server.durable(7, status_changed("ORD-C", OrderStatus::Making));
    server.replayed(6, 7, 1);
    let seen = device
        .collect_until(|e| matches!(e, CoreEvent::Applied { seq: 7, .. }))
        .await;
    device.handle.shutdown();
    device.until_state("stopped").await;
    assert_eq!(applied_seqs(&seen), vec![7]);
    assert!(alert_keys(&seen).is_empty());
    assert_eq!(
        device.handle.cache().alerted_keys().unwrap(),
        vec!["order:ORD-A", "order:ORD-B", "order:ORD-C"]
    );
}

#[tokio::test(start_paused = true)]
async fn alert_dedupe_survives_a_lost_cursor() {
    // A re-pair forgets the hub's state and the cursor; the same order
    // delivered again is applied again but never alerts again.
    let dir = tempfile::tempdir().unwrap();
    let cache = Cache::open(dir.path()).unwrap();
    let settings = AlertSettings::for_role(Role::Barista);
    let event = created("ORD-X", 9, t0());
    let alert = alert_for(&event, &settings, false, t0());
    assert!(matches!(
        cache.apply(1, &event, alert.clone()).unwrap(),
        Applied::Committed { alert: Some(_) }
    ));
    assert_eq!(
        cache.apply(1, &event, alert.clone()).unwrap(),
        Applied::Skipped
    );
    cache
        .set_device(&crate::cache::DeviceInfo {
            device_id: "d".into(),
            role: Role::Barista,
            name: "n".into(),
            hub: "h".into(),
            token_expires_at: None,
            hub_fingerprint: None,
            hubs: Vec::new(),
        })
        .unwrap();
    assert_eq!(cache.cursor().unwrap().seq, 0);
    assert_eq!(
        cache.apply(1, &event, alert).unwrap(),
        Applied::Committed { alert: None }
    );
}

#[tokio::test(start_paused = true)]
async fn resync_reloads_the_snapshot_and_alerts_orders_missed_while_away() {
    let dir = tempfile::tempdir().unwrap();
    let (hub, mut sockets) = FakeHub::new(true);
    let mut device = start(&hub, dir.path(), Role::Barista, |_| {});
    let mut server = sockets.recv().await.unwrap();
    server.handshake();
    server.replayed(1, 1, 0);
    device.until_state("live").await;
    server.durable(2, created("ORD-A", 1, t0()));
    drop(server);
    device.until_state("reconnecting").await;

    // Meanwhile the hub's log was wiped and restarted.
    let mut fresh = snapshot(
        40,
        vec![order_at("ORD-A", 1, t0()), order_at("ORD-N", 2, t0())],
    );
    fresh.epoch = "e2".into();
    fresh.orders[0].status = OrderStatus::Ready;
    hub.with(|s| {
        s.epoch = "e2".into();
        s.log.clear();
        s.snapshot = Some(fresh);
    });
    let mut server = sockets.recv().await.unwrap();
    assert_eq!(
        (server.query.since, server.query.epoch.as_deref()),
        (Some(2), Some("e1"))
    );
    // The hub answers the old epoch with `resync`; the device is live once
    // the snapshot is loaded.
    server.resume(&hub);
    server.durable(40, status_changed("ORD-N", OrderStatus::Making));
    server.durable(41, status_changed("ORD-N", OrderStatus::Making));
    let seen = device
        .collect_until(|e| matches!(e, CoreEvent::Applied { seq: 41, .. }))
        .await;
    let snapshots: Vec<_> = seen
        .iter()
        .filter_map(|e| match e {
            CoreEvent::Snapshot {
                seq,
                reason,
                orders,
                ..
            } => Some((*seq, *reason, orders.len())),
            _ => None,
        })
        .collect();
    assert_eq!(snapshots, vec![(40, SnapshotReason::Resync, 2)]);
    let reloaded = seen
        .iter()
        .position(|e| matches!(e, CoreEvent::Snapshot { .. }))
        .unwrap();
    let live = seen
        .iter()
        .position(|e| matches!(e, CoreEvent::State(s) if s.state.is_live()))
        .expect("live after the resync's snapshot");
    assert!(reloaded < live);
    assert_eq!(
        applied_seqs(&seen),
        vec![41],
        "40 is in the snapshot already"
    );
    assert_eq!(alert_keys(&seen), vec!["order:ORD-N"]);
    let cache = device.handle.cache();
    assert_eq!(
        cache.cursor().unwrap(),
        crate::cache::Cursor {
            seq: 41,
            epoch: Some("e2".into())
        }
    );
    assert_eq!(
        cache.order("ORD-A").unwrap().unwrap().status,
        OrderStatus::Ready
    );
    assert_eq!(
        cache.order("ORD-N").unwrap().unwrap().status,
        OrderStatus::Making
    );
}

fn item(menu_id: &str) -> Vec<NewOrderItem> {
    vec![NewOrderItem {
        menu_id: menu_id.into(),
        quantity: 1,
        options: Vec::new(),
    }]
}

#[tokio::test(start_paused = true)]
async fn kiosk_ordering_offline_is_paused_by_default() {
    let dir = tempfile::tempdir().unwrap();
    let (hub, _sockets) = FakeHub::new(false);
    let mut device = start(&hub, dir.path(), Role::Kiosk, |_| {});
    device.until_state("reconnecting").await;
    let refused = device
        .handle
        .place_order(item("latte"), PayType::Card, None);
    assert!(
        matches!(refused, Err(ClientError::OrderingPaused)),
        "{refused:?}"
    );
    assert_eq!(device.handle.cache().outbox_len().unwrap(), 0);
}

#[tokio::test(start_paused = true)]
async fn outbox_sends_in_order_once_live_and_reports_refusals() {
    let dir = tempfile::tempdir().unwrap();
    let (hub, mut sockets) = FakeHub::new(false);
    hub.with(|s| s.refuse_menu = Some("sold-out-cake".into()));
    let mut device = start(&hub, dir.path(), Role::Kiosk, |c| c.offline_ordering = true);
    device.until_state("reconnecting").await;
    let first = device
        .handle
        .place_order(item("latte"), PayType::Card, None)
        .unwrap();
    let second = device
        .handle
        .place_order(item("sold-out-cake"), PayType::Cash, None)
        .unwrap();
    let third = device
        .handle
        .place_order(item("mocha"), PayType::Card, None)
        .unwrap();
    assert_eq!(device.handle.cache().outbox_len().unwrap(), 3);
    // Nothing goes out while the hub is away, however long.
    tokio::time::advance(Duration::from_secs(600)).await;
    assert!(hub.with(|s| s.submitted.is_empty()));

    hub.with(|s| s.accepting = true);
    device.handle.retry();
    let mut server = sockets.recv().await.unwrap();
    let (topics, _) = server.handshake();
    assert_eq!(topics, vec!["menu", "settings", "cells", "board"]);
    server.replayed(1, 1, 0);
    let mut sent = Vec::new();
    let mut refused = Vec::new();
    while sent.len() + refused.len() < 3 {
        match device.next().await {
            CoreEvent::OutboxSent { key, .. } => sent.push(key),
            CoreEvent::OutboxRefused { key, error } => refused.push((key, error.code)),
            _ => {}
        }
    }
    assert_eq!(sent, vec![first, third]);
    assert_eq!(refused, vec![(second.clone(), "sold_out".to_owned())]);
    let keys: Vec<String> = hub.with(|s| {
        s.submitted
            .iter()
            .map(|op| match op {
                OutboxOp::PlaceOrder { order } => order.idempotency_key.clone(),
                other => panic!("{other:?}"),
            })
            .collect()
    });
    assert_eq!(keys.len(), 3, "each sent exactly once");
    assert_eq!(device.handle.cache().outbox_len().unwrap(), 0);
    assert!(matches!(
        device.handle.cache().outcome(&second).unwrap(),
        Some(Outcome::Refused { .. })
    ));
    // The kiosk follows the orders it placed, in one message.
    let (topics, since) = server.follow().await.expect("new topics");
    assert_eq!(topics, vec!["order:ORD-1", "order:ORD-3"]);
    assert_eq!(since, Some(1), "from before the first order was placed");
}

#[tokio::test(start_paused = true)]
async fn connects_with_its_topics_and_cursor_in_the_address_and_subscribes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (hub, mut sockets) = FakeHub::new(true);
    let mut device = start(&hub, dir.path(), Role::Barista, |_| {});
    let mut server = sockets.recv().await.unwrap();
    // A new device loads the snapshot first and resumes from it.
    assert_eq!(hub.with(|s| s.calls.clone()), vec!["snapshot", "open"]);
    assert_eq!(
        server.query,
        ConnectQuery {
            topics: vec![
                "orders".into(),
                "board".into(),
                "menu".into(),
                "settings".into(),
                "cells".into(),
                "notices".into()
            ],
            since: Some(1),
            epoch: Some("e1".into()),
        }
    );
    // Welcomed but not replayed yet: not live.
    hub.commit(2, created("ORD-A", 1, t0()));
    server.welcome("e1", 2);
    server.durable(2, created("ORD-A", 1, t0()));
    let seen = device
        .collect_until(|e| matches!(e, CoreEvent::Applied { seq: 2, .. }))
        .await;
    assert!(seen
        .iter()
        .all(|e| !matches!(e, CoreEvent::State(s) if s.state.is_live())));
    assert!(matches!(
        seen.last(),
        Some(CoreEvent::Applied { replayed: true, .. })
    ));
    assert!(!device.handle.status().state.is_live());
    // `replayed` makes it live.
    server.replayed(1, 2, 1);
    device.until_state("live").await;
    let opened = Instant::now();
    // The first thing the client ever says is its heartbeat: no subscribe.
    assert_eq!(server.recv().await, ClientMessage::Ping);
    assert_eq!(Instant::now() - opened, Duration::from_secs(15));
    server.event(Event::Pong);
    server.live(&hub, 3, status_changed("ORD-A", OrderStatus::Making));
    device
        .collect_until(|e| matches!(e, CoreEvent::Applied { seq: 3, .. }))
        .await;

    // The next connection resumes from the committed cursor, without a
    // snapshot, and again sends nothing but pings.
    drop(server);
    device.until_state("reconnecting").await;
    let mut server = sockets.recv().await.unwrap();
    assert_eq!(
        hub.with(|s| s.calls.clone()),
        vec!["snapshot", "open", "open"]
    );
    assert_eq!(
        (server.query.since, server.query.epoch.as_deref()),
        (Some(3), Some("e1"))
    );
    server.resume(&hub);
    device.until_state("live").await;
    assert_eq!(server.recv().await, ClientMessage::Ping);
}

#[tokio::test(start_paused = true)]
async fn replays_from_the_committed_cursor_lose_and_double_nothing_across_reconnects() {
    let dir = tempfile::tempdir().unwrap();
    let (hub, mut sockets) = FakeHub::new(true);
    let mut device = start(&hub, dir.path(), Role::Barista, |_| {});
    let mut applied = Vec::new();
    let mut next = 2u64;
    for round in 0..4u32 {
        let mut server = sockets.recv().await.unwrap();
        server.resume(&hub);
        // Live events after the replay, then the link drops; more events
        // are committed while the device is away.
        for _ in 0..3 {
            let id = format!("ORD-{next}");
            server.live(&hub, next, created(&id, next as u32, t0()));
            next += 1;
        }
        drop(server);
        let seen = device.collect_until_state("reconnecting").await;
        applied.extend(applied_seqs(&seen));
        for _ in 0..=round {
            let id = format!("ORD-{next}");
            hub.commit(next, created(&id, next as u32, t0()));
            next += 1;
        }
    }
    let mut server = sockets.recv().await.unwrap();
    server.resume(&hub);
    let last = next - 1;
    let seen = device
        .collect_until(|e| matches!(e, CoreEvent::Applied { seq, .. } if *seq == last))
        .await;
    applied.extend(applied_seqs(&seen));
    assert_eq!(
        applied,
        (2..next).collect::<Vec<_>>(),
        "each event once, in order"
    );
    let queries = hub.with(|s| s.queries.clone());
    let sinces: Vec<Option<u64>> = queries.iter().map(|q| q.since).collect();
    // Each resume names the newest seq the cache had committed.
    assert_eq!(sinces, vec![Some(1), Some(4), Some(8), Some(13), Some(19)]);
    assert_eq!(device.handle.cache().orders().unwrap().len(), 22);
}

#[tokio::test(start_paused = true)]
async fn a_kiosk_follows_only_orders_its_connection_does_not_read_yet() {
    let dir = tempfile::tempdir().unwrap();
    let (hub, mut sockets) = FakeHub::new(true);
    // An order this kiosk placed before a restart, still open.
    hub.with(|s| s.snapshot = Some(snapshot(1, vec![order_at("ORD-OLD", 1, t0())])));
    let mut device = start(&hub, dir.path(), Role::Kiosk, |_| {});
    let mut server = sockets.recv().await.unwrap();
    assert_eq!(
        server.query.topics,
        vec!["menu", "settings", "cells", "board", "order:ORD-OLD"]
    );
    server.resume(&hub);
    device.until_state("live").await;
    // The outbox reports an order placed just as this connection opened
    // (already among its topics) and a new one: only the new one is
    // followed, so the hub has nothing to refuse as `already_subscribed`.
    for order_id in ["ORD-OLD", "ORD-NEW"] {
        device
            .handle
            .commands
            .send(Command::Follow {
                order_id: order_id.into(),
                since: 1,
            })
            .unwrap();
    }
    let (topics, since) = server.follow().await.expect("no topic held already");
    assert_eq!(topics, vec!["order:ORD-NEW"]);
    assert_eq!(since, Some(1));
    // Told again, it sends nothing: the next message is the heartbeat.
    device
        .handle
        .commands
        .send(Command::Follow {
            order_id: "ORD-NEW".into(),
            since: 1,
        })
        .unwrap();
    assert_eq!(server.recv().await, ClientMessage::Ping);
    while let Ok(event) = device.events.try_recv() {
        assert!(!matches!(event, CoreEvent::HubError(_)), "{event:?}");
    }
}

#[tokio::test(start_paused = true)]
async fn the_fake_hub_refuses_a_replay_of_a_held_topic_as_a_v2_hub_does() {
    // The check the follow tests rely on can fail.
    let dir = tempfile::tempdir().unwrap();
    let (hub, mut sockets) = FakeHub::new(true);
    let _device = start(&hub, dir.path(), Role::Barista, |_| {});
    let mut server = sockets.recv().await.unwrap();
    server.resume(&hub);
    let (client_side, from_client) = fmpsc::unbounded::<String>();
    server.from_client = from_client;
    let subscribe = ClientMessage::Subscribe {
        topics: vec!["orders".into(), "order:ORD-9".into()],
        since: Some(1),
        epoch: Some("e1".into()),
    };
    client_side
        .unbounded_send(serde_json::to_string(&subscribe).unwrap())
        .unwrap();
    assert_eq!(server.follow().await, Err(vec!["orders".to_owned()]));
    assert!(!server.held.contains(&"order:ORD-9".to_owned()));
}

/// Several nodes of one café behind one link, as an `HttpHub` of several
/// addresses is: one [`FakeHub`] each, all holding the same log; the link
/// uses one at a time and moves on when told.
struct Cluster {
    nodes: Vec<Arc<FakeHub>>,
    current: std::sync::atomic::AtomicUsize,
}

impl Cluster {
    fn new(nodes: Vec<Arc<FakeHub>>) -> Arc<Cluster> {
        Arc::new(Cluster {
            nodes,
            current: 0.into(),
        })
    }

    fn at(&self) -> &Arc<FakeHub> {
        &self.nodes[self.current.load(std::sync::atomic::Ordering::SeqCst)]
    }

    /// Commits `event` on every node: they share one log.
    fn commit(&self, seq: u64, event: Event) {
        for node in &self.nodes {
            node.commit(seq, event.clone());
        }
    }
}

fn node(number: u32, of: u32) -> Option<crate::state::HubNode> {
    Some(crate::state::HubNode {
        url: format!("http://node-{number}"),
        number,
        of,
    })
}

impl HubLink for Cluster {
    async fn open(&self, query: &ConnectQuery) -> Result<Socket, LinkError> {
        self.at().open(query).await
    }

    async fn snapshot(&self) -> Result<Snapshot, LinkError> {
        self.at().snapshot().await
    }

    async fn submit(&self, op: &OutboxOp) -> Result<Submitted, LinkError> {
        self.at().submit(op).await
    }

    fn node(&self) -> Option<crate::state::HubNode> {
        let at = self.current.load(std::sync::atomic::Ordering::SeqCst);
        node(at as u32 + 1, self.nodes.len() as u32)
    }

    fn next_node(&self) -> bool {
        let of = self.nodes.len();
        let _ = self.current.fetch_update(
            std::sync::atomic::Ordering::SeqCst,
            std::sync::atomic::Ordering::SeqCst,
            |at| Some((at + 1) % of),
        );
        true
    }
}

fn start_on(cluster: &Arc<Cluster>, dir: &std::path::Path, role: Role) -> Device {
    let cache = Cache::open(dir).unwrap();
    let mut config = ConnectionConfig::for_role(role, Arc::new(TokioClock::starting_at(t0())));
    config.jitter_seed = Some(7);
    let (handle, events) = spawn(cluster.clone(), cache, config, Arc::new(SilentOutput));
    Device { handle, events }
}

#[tokio::test(start_paused = true)]
async fn a_lost_node_is_left_for_the_next_one_that_answers_resuming_from_the_cursor() {
    let dir = tempfile::tempdir().unwrap();
    let (one, mut one_sockets) = FakeHub::new(true);
    let (two, _two_sockets) = FakeHub::new(false);
    let (three, mut three_sockets) = FakeHub::new(true);
    let cluster = Cluster::new(vec![one.clone(), two.clone(), three.clone()]);
    let mut device = start_on(&cluster, dir.path(), Role::Barista);
    assert_eq!(device.handle.status().node, node(1, 3));

    let mut server = one_sockets.recv().await.unwrap();
    server.resume(&one);
    device.until_state("live").await;
    assert_eq!(device.handle.status().node, node(1, 3));
    cluster.commit(2, created("ORD-2", 2, t0()));
    server.durable(2, created("ORD-2", 2, t0()));
    let mut applied = applied_seqs(
        &device
            .collect_until(|e| matches!(e, CoreEvent::Applied { seq: 2, .. }))
            .await,
    );

    // Node 1 dies; the café carries on on the others.
    one.with(|s| s.accepting = false);
    drop(server);
    cluster.commit(3, created("ORD-3", 3, t0()));
    cluster.commit(4, status_changed("ORD-2", OrderStatus::Making));
    let mut server = three_sockets.recv().await.unwrap();
    // Node 2 was tried after the usual wait and refused; node 3 at once.
    let two_tried = two.with(|s| s.attempts.clone());
    let three_tried = three.with(|s| s.attempts.clone());
    assert_eq!(two_tried.len(), 1);
    assert_eq!(three_tried, two_tried, "the next node is tried at once");
    assert_eq!(
        (server.query.since, server.query.epoch.as_deref()),
        (Some(2), Some("e1")),
        "resumed from the cursor with the same epoch"
    );
    server.resume(&three);
    let seen = device.collect_until_state("live").await;
    applied.extend(applied_seqs(&seen));
    assert_eq!(applied, vec![2, 3, 4], "each event once, none lost");
    let states: Vec<(String, Option<u32>)> = seen
        .iter()
        .filter_map(|e| match e {
            CoreEvent::State(s) => {
                Some((s.state.name().to_owned(), s.node.as_ref().map(|n| n.number)))
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        states,
        vec![
            ("reconnecting".to_owned(), Some(2)),
            ("connecting".to_owned(), Some(2)),
            ("connecting".to_owned(), Some(3)),
            ("live".to_owned(), Some(3)),
        ]
    );
    assert_eq!(device.handle.status().node, node(3, 3));
    assert!(device.handle.cache().orders().unwrap().len() == 2);

    // The outbox goes to the node in use, once.
    let key = device
        .handle
        .change_status("ORD-2", OrderStatus::Making, OrderStatus::Ready)
        .unwrap();
    device
        .collect_until(|e| matches!(e, CoreEvent::OutboxSent { key: k, .. } if *k == key))
        .await;
    assert_eq!(three.with(|s| s.submitted.len()), 1);
    assert_eq!(
        one.with(|s| s.submitted.len()) + two.with(|s| s.submitted.len()),
        0
    );
}

#[tokio::test(start_paused = true)]
async fn with_every_node_away_each_try_goes_round_them_all_then_waits() {
    let dir = tempfile::tempdir().unwrap();
    let (one, _one_sockets) = FakeHub::new(false);
    let (two, mut two_sockets) = FakeHub::new(false);
    let cluster = Cluster::new(vec![one.clone(), two.clone()]);
    let mut device = start_on(&cluster, dir.path(), Role::Barista);
    let mut waits = Vec::new();
    for attempt in 1..=3u32 {
        loop {
            match device.next_state().await {
                ConnectionState::Reconnecting {
                    attempt: a,
                    next_try_in,
                    ..
                } => {
                    assert_eq!(a, attempt);
                    waits.push(next_try_in);
                    break;
                }
                ConnectionState::Connecting { .. } => {}
                other => panic!("expected connecting or reconnecting, got {other:?}"),
            }
        }
    }
    // A device without a cache asks each node for the snapshot first.
    let one_tried = one.with(|s| s.attempts.clone());
    let two_tried = two.with(|s| s.attempts.clone());
    assert_eq!(one_tried.len(), 3);
    assert_eq!(two_tried.len(), 3);
    for i in 0..3 {
        assert_eq!(
            one_tried[i], two_tried[i],
            "round {i}: node 2 right after node 1"
        );
    }
    for i in 0..2 {
        let gap = one_tried[i + 1] - one_tried[i];
        assert!(
            gap.abs_diff(waits[i]) <= Duration::from_millis(1),
            "the policy's wait between rounds: {gap:?} vs {:?}",
            waits[i]
        );
    }
    // Node 2 comes back: the next round reaches it.
    two.with(|s| s.accepting = true);
    device.handle.retry();
    let mut server = two_sockets.recv().await.unwrap();
    server.resume(&two);
    device.until_state("live").await;
    assert_eq!(device.handle.status().node, node(2, 2));
}
