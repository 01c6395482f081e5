//! Deterministic tests of the connection with paused tokio time, against an
//! in-memory hub behind [`HubLink`].

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use countertop_protocol::{
    ClientMessage, ErrorBody, Event, Frame, NewOrderItem, Order, OrderStatus, OrderStatusChanged,
    PayType, Replayed, Resync, ResyncReason, Role, Snapshot, Subscribed, Welcome,
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
use crate::link::{Incoming, Socket, Submitted};
use crate::state::SnapshotReason;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0)
        .single()
        .unwrap_or_default()
}

/// The hub's side of one socket.
struct ServerSide {
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

    /// Welcome, then answer the subscribe: returns its `since`.
    async fn handshake(&mut self) -> (Vec<String>, Option<u64>) {
        self.event(Event::Welcome(Welcome {
            connection_id: "c1".into(),
            device_id: Some("d1".into()),
            role: Some(Role::Barista),
            epoch: "e1".into(),
            seq: 0,
        }));
        loop {
            match self.recv().await {
                ClientMessage::Subscribe { topics, since, .. } => {
                    self.event(Event::Subscribed(Subscribed {
                        topics: Some(topics.clone()),
                        role: None,
                    }));
                    return (topics, since);
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

#[derive(Default)]
struct HubState {
    accepting: bool,
    opens: Vec<Instant>,
    snapshot: Option<Snapshot>,
    submitted: Vec<OutboxOp>,
    refuse_menu: Option<String>,
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
                snapshot: Some(snapshot(1, vec![])),
                ..HubState::default()
            }),
            sockets,
        };
        (Arc::new(hub), rx)
    }

    fn with<T>(&self, f: impl FnOnce(&mut HubState) -> T) -> T {
        f(&mut self.state.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

impl HubLink for FakeHub {
    async fn open(&self) -> Result<Socket, LinkError> {
        let accepting = self.with(|s| {
            s.opens.push(Instant::now());
            s.accepting
        });
        if !accepting {
            return Err(LinkError::Network("connection refused".into()));
        }
        let (to_client, incoming) = fmpsc::unbounded();
        let (outgoing, from_client) = fmpsc::unbounded::<String>();
        let _ = self.sockets.send(ServerSide {
            to_client,
            from_client,
        });
        Ok(Socket {
            outgoing: Box::pin(outgoing.sink_map_err(|e| LinkError::Network(e.to_string()))),
            incoming: Box::pin(incoming),
        })
    }

    async fn snapshot(&self) -> Result<Snapshot, LinkError> {
        self.with(|s| s.snapshot.clone())
            .ok_or_else(|| LinkError::Network("no snapshot".into()))
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
    // The waits between attempts were exactly the announced ones.
    let opens = hub.with(|s| s.opens.clone());
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
    let opens = hub.with(|s| s.opens.clone());
    assert_eq!(opens[6] - opens[5], Duration::from_secs(30));
    // The Retry button tries at once.
    tokio::time::advance(Duration::from_secs(3)).await;
    let asked = Instant::now();
    device.handle.retry();
    assert_eq!(
        device.next_state().await,
        ConnectionState::Connecting { attempt: 7 }
    );
    let opens = hub.with(|s| s.opens.clone());
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
    server.handshake().await;
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
    let (_, since) = server.handshake().await;
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
    server.handshake().await;
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
    server.handshake().await;
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
    let (_, since) = server.handshake().await;
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
    let (_, since) = server.handshake().await;
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
    server.handshake().await;
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
    hub.with(|s| s.snapshot = Some(fresh));
    let mut server = sockets.recv().await.unwrap();
    server.handshake().await;
    server.event(Event::Resync(Resync {
        reason: ResyncReason::EpochChanged,
    }));
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
        options: None,
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
    let (topics, _) = server.handshake().await;
    assert_eq!(topics, vec!["menu", "settings", "cells"]);
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
    match server.recv().await {
        ClientMessage::Subscribe { topics, since, .. } => {
            assert_eq!(topics, vec!["order:ORD-1", "order:ORD-3"]);
            assert_eq!(since, Some(1), "from before the first order was placed");
        }
        other => panic!("{other:?}"),
    }
}
