//! The hub's WebSocket side (`GET /ws`) against a real hub over real sockets:
//! the welcome, who reads which topic, replay and resync, limits, closes and
//! statistics, as `shared/PROTOCOL.md` describes them.

mod support;

use std::future::Future;
use std::time::Duration;

use countertop_hub::Transport;
use countertop_protocol::{Claims, Role};
use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use support::{Api, Device, TestHub, Ws, WAIT};
use tokio::io::AsyncReadExt;
use tokio::time::{timeout, Instant};
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::MaybeTlsStream;

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/// One paired device of each role.
struct Cast {
    kiosk: Device,
    barista: Device,
    display: Device,
    manager: Device,
}

impl Cast {
    async fn pair(hub: &TestHub) -> Cast {
        Cast {
            kiosk: hub.pair(Role::Kiosk).await,
            barista: hub.pair(Role::Barista).await,
            display: hub.pair(Role::Display).await,
            manager: hub.pair(Role::Manager).await,
        }
    }

    fn device(&self, who: &str) -> Option<&Device> {
        match who {
            "kiosk" => Some(&self.kiosk),
            "barista" => Some(&self.barista),
            "display" => Some(&self.display),
            "manager" => Some(&self.manager),
            "anonymous" => None,
            other => panic!("no such role {other}"),
        }
    }
}

const EVERYONE: [&str; 5] = ["kiosk", "barista", "display", "manager", "anonymous"];

/// Waits until `cond` holds, polling; fails after [`WAIT`].
async fn eventually<F, Fut>(what: &str, mut cond: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + WAIT;
    while !cond().await {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn order(api: &Api) -> Value {
    let (status, body) = api.order(&[("americano", 1)], "CARD").await;
    assert_eq!(status, 201, "{body}");
    body
}

fn order_id(order: &Value) -> String {
    order["orderId"].as_str().expect("orderId").to_owned()
}

/// The newest seq the hub has published.
fn seq_of(hub: &TestHub) -> u64 {
    hub.hub.log.seq()
}

fn names(frames: &[Value]) -> Vec<&str> {
    frames
        .iter()
        .map(|f| f["event"].as_str().unwrap())
        .collect()
}

fn seqs(frames: &[Value]) -> Vec<u64> {
    frames.iter().map(|f| f["seq"].as_u64().unwrap()).collect()
}

/// An event everyone may read, announced after the events under test. Live
/// events leave the hub in seq order, so once a connection has read the
/// marker, anything the events under test were going to bring it has come.
struct Marker {
    event: &'static str,
    field: &'static str,
    value: Value,
}

async fn mark(cast: &Cast, topic: &str) -> Marker {
    let value = format!("marker {}", support::rand_suffix());
    match topic {
        "settings" => {
            let (code, body) = cast
                .manager
                .api
                .put("/api/settings/cafe_name", json!({ "value": value }))
                .await;
            assert_eq!(code, 200, "{body}");
            Marker {
                event: "settings:changed",
                field: "value",
                value: Value::from(value),
            }
        }
        "menu" => {
            let (code, body) = cast
                .manager
                .api
                .patch("/api/menu/espresso", json!({ "name": value }))
                .await;
            assert_eq!(code, 200, "{body}");
            Marker {
                event: "menu:updated",
                field: "name",
                value: Value::from(value),
            }
        }
        other => panic!("no marker for {other}"),
    }
}

/// Every frame before the marker, then proof that nothing else is pending.
async fn frames_until(ws: &mut Ws, marker: &Marker) -> Vec<Value> {
    let mut frames = Vec::new();
    loop {
        let frame = ws.next().await;
        if frame["event"] == marker.event && frame["data"][marker.field] == marker.value {
            break;
        }
        frames.push(frame);
    }
    let rest = ws.drain().await;
    assert!(rest.is_empty(), "nothing after the marker: {rest:?}");
    frames
}

/// A connection of `who`, its welcome read.
async fn connect(hub: &TestHub, cast: &Cast, who: &str) -> Ws {
    let mut ws = hub.connect(cast.device(who)).await;
    let welcome = ws.next().await;
    assert_eq!(welcome["event"], "welcome");
    ws
}

/// Sends a subscribe and returns the `error` codes that came before the
/// `subscribed` answer, and the answer.
async fn subscribe_answer(ws: &mut Ws, message: Value) -> (Vec<String>, Value) {
    ws.send(message).await;
    let mut errors = Vec::new();
    loop {
        let frame = ws.next().await;
        match frame["event"].as_str().unwrap() {
            "error" => errors.push(frame["data"]["code"].as_str().unwrap().to_owned()),
            "subscribed" => return (errors, frame),
            other => panic!("unexpected {other} while subscribing: {frame}"),
        }
    }
}

/// Connects every role (and anonymous), each subscribing to `topic` and
/// the public `marker_topic`, and checks that exactly `readers` may read
/// `topic` while the others are answered `forbidden`.
async fn everyone_subscribes(
    hub: &TestHub,
    cast: &Cast,
    topic: &str,
    marker_topic: &str,
    readers: &[&str],
) -> Vec<(&'static str, Ws)> {
    let mut out = Vec::new();
    for who in EVERYONE {
        let mut ws = connect(hub, cast, who).await;
        let (errors, answer) = subscribe_answer(
            &mut ws,
            json!({"type": "subscribe", "topics": [topic, marker_topic]}),
        )
        .await;
        if readers.contains(&who) {
            assert!(errors.is_empty(), "{who} may read {topic}: {errors:?}");
            assert_eq!(answer["data"]["topics"], json!([topic, marker_topic]));
        } else {
            assert_eq!(errors, ["forbidden"], "{who} may not read {topic}");
            assert_eq!(answer["data"]["topics"], json!([marker_topic]));
        }
        out.push((who, ws));
    }
    out
}

/// After the events under test and a marker: readers got exactly
/// `expected` (event names, in order), everyone else nothing.
async fn check_reception(
    connections: &mut [(&'static str, Ws)],
    readers: &[&str],
    marker: &Marker,
    expected: &[&str],
) -> Vec<(&'static str, Vec<Value>)> {
    let mut got = Vec::new();
    for (who, ws) in connections.iter_mut() {
        let frames = frames_until(ws, marker).await;
        if readers.contains(who) {
            assert_eq!(names(&frames), expected, "{who} reads: {frames:?}");
        } else {
            assert!(frames.is_empty(), "{who} must not read: {frames:?}");
        }
        got.push((*who, frames));
    }
    got
}

// ---------------------------------------------------------------------------
// Welcome
// ---------------------------------------------------------------------------

#[tokio::test]
async fn the_first_frame_is_a_welcome_naming_the_connection_device_role_epoch_and_seq() {
    let hub = TestHub::start().await;
    let kiosk = hub.pair(Role::Kiosk).await;
    order(&kiosk.api).await;
    let (_, health) = hub.anonymous().get("/healthz").await;
    assert!(health["seq"].as_u64().unwrap() > 0);

    let mut ws = hub.connect(Some(&kiosk)).await;
    let welcome = ws.next().await;
    assert_eq!(welcome["event"], "welcome");
    assert!(welcome.get("seq").is_none(), "a control event has no seq");
    let data = &welcome["data"];
    assert!(data["connectionId"].as_str().is_some_and(|c| !c.is_empty()));
    assert_eq!(data["deviceId"], kiosk.id.as_str());
    assert_eq!(data["role"], "kiosk");
    assert_eq!(data["epoch"], health["epoch"]);
    assert_eq!(data["seq"], health["seq"]);

    let mut anonymous = hub.connect(None).await;
    let welcome2 = anonymous.next().await;
    assert_eq!(welcome2["event"], "welcome");
    assert_eq!(welcome2["data"]["deviceId"], Value::Null);
    assert_eq!(welcome2["data"]["role"], Value::Null);
    assert_eq!(welcome2["data"]["epoch"], health["epoch"]);
    assert_ne!(
        welcome2["data"]["connectionId"], data["connectionId"],
        "each connection has its own id"
    );
}

// ---------------------------------------------------------------------------
// Who reads what: one test per topic of the protocol's table
// ---------------------------------------------------------------------------

#[tokio::test]
async fn orders_events_reach_baristas_and_managers_and_everyone_else_is_refused() {
    let hub = TestHub::start().await;
    let cast = Cast::pair(&hub).await;
    let readers = ["barista", "manager"];
    let mut conns = everyone_subscribes(&hub, &cast, "orders", "settings", &readers).await;

    let placed = order(&cast.kiosk.api).await;
    let id = order_id(&placed);
    cast.barista.api.set_status(&id, "MAKING").await;
    cast.barista.api.cancel(&id).await;
    let marker = mark(&cast, "settings").await;

    let got = check_reception(
        &mut conns,
        &readers,
        &marker,
        &["order:created", "order:status_changed", "order:cancelled"],
    )
    .await;
    for (_, frames) in got.iter().filter(|(w, _)| readers.contains(w)) {
        assert_eq!(frames[0]["data"]["orderId"], id.as_str());
        assert_eq!(frames[0]["data"]["status"], "PENDING");
        assert_eq!(frames[1]["data"]["status"], "MAKING");
        assert_eq!(frames[1]["data"]["previousStatus"], "PENDING");
        assert_eq!(frames[2]["data"]["reason"], "changed mind");
    }
}

#[tokio::test]
async fn one_orders_events_reach_its_kiosk_baristas_and_managers_only() {
    let hub = TestHub::start().await;
    let cast = Cast::pair(&hub).await;
    let placed = order(&cast.kiosk.api).await;
    let id = order_id(&placed);
    let topic = format!("order:{id}");
    let readers = ["kiosk", "barista", "manager"];
    let mut conns = everyone_subscribes(&hub, &cast, &topic, "settings", &readers).await;

    let other = order_id(&order(&cast.kiosk.api).await);
    cast.barista.api.set_status(&other, "MAKING").await;
    cast.barista.api.set_status(&id, "MAKING").await;
    cast.barista.api.cancel(&id).await;
    let marker = mark(&cast, "settings").await;

    let got = check_reception(
        &mut conns,
        &readers,
        &marker,
        &["order:status_changed", "order:cancelled"],
    )
    .await;
    for (_, frames) in got.iter().filter(|(w, _)| readers.contains(w)) {
        for frame in frames {
            assert_eq!(frame["data"]["orderId"], id.as_str(), "only this order");
        }
    }
}

#[tokio::test]
async fn board_shows_everyone_only_number_and_status_and_hears_new_orders_and_cancellations_as_status_changes(
) {
    let hub = TestHub::start().await;
    let cast = Cast::pair(&hub).await;
    let mut conns = everyone_subscribes(&hub, &cast, "board", "settings", &EVERYONE).await;

    let first = order(&cast.kiosk.api).await;
    let id = order_id(&first);
    cast.barista.api.set_status(&id, "MAKING").await;
    cast.barista.api.set_status(&id, "READY").await;
    let second = order(&cast.kiosk.api).await;
    let id2 = order_id(&second);
    cast.barista.api.cancel(&id2).await;
    let marker = mark(&cast, "settings").await;

    let expected = ["order:status_changed"; 5];
    let got = check_reception(&mut conns, &EVERYONE, &marker, &expected).await;
    for (who, frames) in got {
        let data: Vec<&Value> = frames.iter().map(|f| &f["data"]).collect();
        assert_eq!(
            data,
            [
                &json!({"orderId": id, "dailyNum": first["dailyNum"], "status": "PENDING"}),
                &json!({"orderId": id, "dailyNum": first["dailyNum"], "status": "MAKING"}),
                &json!({"orderId": id, "dailyNum": first["dailyNum"], "status": "READY"}),
                &json!({"orderId": id2, "dailyNum": second["dailyNum"], "status": "PENDING"}),
                &json!({"orderId": id2, "dailyNum": second["dailyNum"], "status": "CANCELLED"}),
            ],
            "{who} sees the board projection"
        );
        assert!(frames.iter().all(|f| f["seq"].as_u64().is_some()));
    }
}

#[tokio::test]
async fn menu_events_reach_every_role_and_anonymous() {
    let hub = TestHub::start().await;
    let cast = Cast::pair(&hub).await;
    let mut conns = everyone_subscribes(&hub, &cast, "menu", "settings", &EVERYONE).await;

    let (code, body) = cast
        .barista
        .api
        .patch("/api/menu/latte", json!({"isSoldOut": true}))
        .await;
    assert_eq!(code, 200, "{body}");
    let (code, body) = cast
        .manager
        .api
        .patch("/api/menu/green-tea", json!({"price": 4200}))
        .await;
    assert_eq!(code, 200, "{body}");
    let marker = mark(&cast, "settings").await;

    let got = check_reception(
        &mut conns,
        &EVERYONE,
        &marker,
        &["menu:sold_out_changed", "menu:updated"],
    )
    .await;
    for (_, frames) in got {
        assert_eq!(frames[0]["data"]["menuId"], "latte");
        assert_eq!(frames[0]["data"]["isSoldOut"], true);
        assert_eq!(frames[1]["data"]["id"], "green-tea");
        assert_eq!(frames[1]["data"]["price"], 4200);
    }
}

#[tokio::test]
async fn settings_events_reach_every_role_and_anonymous() {
    let hub = TestHub::start().await;
    let cast = Cast::pair(&hub).await;
    let mut conns = everyone_subscribes(&hub, &cast, "settings", "menu", &EVERYONE).await;

    let (code, body) = cast
        .manager
        .api
        .put("/api/settings/is_kiosk_active", json!({"value": "false"}))
        .await;
    assert_eq!(code, 200, "{body}");
    let marker = mark(&cast, "menu").await;

    let got = check_reception(&mut conns, &EVERYONE, &marker, &["settings:changed"]).await;
    for (_, frames) in got {
        assert_eq!(frames[0]["data"]["key"], "is_kiosk_active");
        assert_eq!(frames[0]["data"]["value"], "false");
        assert_eq!(
            frames[0]["data"]["updatedBy"]["id"],
            cast.manager.id.as_str()
        );
    }
}

#[tokio::test]
async fn cell_events_reach_kiosks_baristas_and_managers_only() {
    let hub = TestHub::start().await;
    let cast = Cast::pair(&hub).await;
    let readers = ["kiosk", "barista", "manager"];
    let mut conns = everyone_subscribes(&hub, &cast, "cells", "settings", &readers).await;

    let (code, body) = cast
        .manager
        .api
        .post("/api/cells/cell-design/charge", json!({"amount": 1000}))
        .await;
    assert_eq!(code, 200, "{body}");
    let marker = mark(&cast, "settings").await;

    let got = check_reception(&mut conns, &readers, &marker, &["cell:balance_changed"]).await;
    for (_, frames) in got.iter().filter(|(w, _)| readers.contains(w)) {
        assert_eq!(frames[0]["data"]["cellId"], "cell-design");
        assert_eq!(frames[0]["data"]["changeAmount"], 1000);
        assert_eq!(frames[0]["data"]["type"], "CHARGE");
    }
}

#[tokio::test]
async fn workorder_events_reach_managers_and_only_the_display_they_are_presented_to() {
    let hub = TestHub::start().await;
    let cast = Cast::pair(&hub).await;
    let readers = ["display", "manager"];
    let mut conns = everyone_subscribes(&hub, &cast, "workorders", "settings", &readers).await;
    let other_display = hub.pair(Role::Display).await;
    let mut other = hub.connect(Some(&other_display)).await;
    other.next_event("welcome").await;
    other.subscribe(&["workorders", "settings"]).await;

    let manager = &cast.manager.api;
    let (code, wo) = manager
        .post(
            "/api/workorders",
            json!({"title": "Catering", "customerName": "Kim",
                   "lines": [{"description": "40 coffees", "amount": 160000}]}),
        )
        .await;
    assert_eq!(code, 201, "{wo}");
    let wo_id = wo["id"].as_str().unwrap().to_owned();
    let (code, body) = manager
        .post(
            &format!("/api/workorders/{wo_id}/present"),
            json!({"deviceId": cast.display.id}),
        )
        .await;
    assert_eq!(code, 200, "{body}");
    let marker = mark(&cast, "settings").await;

    for (who, ws) in conns.iter_mut() {
        let frames = frames_until(ws, &marker).await;
        let changes: Vec<&Value> = frames.iter().map(|f| &f["data"]["changeType"]).collect();
        match *who {
            "manager" => assert_eq!(changes, ["created", "presented"]),
            // The display was not shown the workorder until it was presented.
            "display" => {
                assert_eq!(changes, ["presented"]);
                assert_eq!(frames[0]["data"]["workOrderId"], wo_id.as_str());
                assert_eq!(
                    frames[0]["data"]["workOrder"]["presentedTo"],
                    cast.display.id.as_str()
                );
            }
            _ => assert!(frames.is_empty(), "{who}: {frames:?}"),
        }
        assert!(names(&frames).iter().all(|n| *n == "workorder:updated"));
    }
    let frames = frames_until(&mut other, &marker).await;
    assert!(
        frames.is_empty(),
        "another display sees nothing: {frames:?}"
    );
}

#[tokio::test]
async fn system_events_reach_managers_only() {
    let hub = TestHub::start().await;
    let cast = Cast::pair(&hub).await;
    let readers = ["manager"];
    let mut conns = everyone_subscribes(&hub, &cast, "system", "settings", &readers).await;

    let (code, body) = cast
        .manager
        .api
        .post(
            "/api/notifications",
            json!({"level": "warning", "title": "Milk", "message": "running low"}),
        )
        .await;
    assert_eq!(code, 201, "{body}");
    let marker = mark(&cast, "settings").await;

    let got = check_reception(&mut conns, &readers, &marker, &["system:notification"]).await;
    let (_, frames) = got.iter().find(|(w, _)| *w == "manager").unwrap();
    assert_eq!(frames[0]["data"]["title"], "Milk");
    assert_eq!(frames[0]["data"]["level"], "warning");
}

#[tokio::test]
async fn dashboard_events_reach_managers_only() {
    let hub = TestHub::start().await;
    let cast = Cast::pair(&hub).await;
    let readers = ["manager"];
    let mut conns = everyone_subscribes(&hub, &cast, "dashboard", "settings", &readers).await;

    order(&cast.kiosk.api).await;
    let marker = mark(&cast, "settings").await;

    for (who, ws) in conns.iter_mut() {
        let frames = frames_until(ws, &marker).await;
        if *who == "manager" {
            assert!(!frames.is_empty());
            assert!(names(&frames).iter().all(|n| *n == "dashboard:update"));
            let widgets: Vec<&str> = frames
                .iter()
                .map(|f| f["data"]["widgetId"].as_str().unwrap())
                .collect();
            assert!(widgets.contains(&"orders_today"), "{widgets:?}");
        } else {
            assert!(frames.is_empty(), "{who}: {frames:?}");
        }
    }
}

// ---------------------------------------------------------------------------
// subscribe_admin, subscribe_order, once-only delivery
// ---------------------------------------------------------------------------

#[tokio::test]
async fn subscribe_admin_follows_all_orders_for_baristas_and_managers_and_is_refused_to_others() {
    let hub = TestHub::start().await;
    let cast = Cast::pair(&hub).await;
    let mut conns = Vec::new();
    for who in EVERYONE {
        let mut ws = connect(&hub, &cast, who).await;
        ws.send(json!({"type": "subscribe_admin"})).await;
        let answer = ws.next().await;
        if matches!(who, "barista" | "manager") {
            assert_eq!(answer["event"], "subscribed", "{who}");
            assert_eq!(answer["data"], json!({"role": "admin"}));
        } else {
            assert_eq!(answer["event"], "error", "{who}");
            assert_eq!(answer["data"]["code"], "forbidden");
            assert!(ws.drain().await.is_empty(), "{who} gets no subscribed");
        }
        ws.subscribe(&["settings"]).await;
        conns.push((who, ws));
    }
    let placed = order(&cast.kiosk.api).await;
    let marker = mark(&cast, "settings").await;
    let got = check_reception(
        &mut conns,
        &["barista", "manager"],
        &marker,
        &["order:created"],
    )
    .await;
    for (who, frames) in got {
        if let Some(f) = frames.first() {
            assert_eq!(f["data"]["orderId"], placed["orderId"], "{who}");
        }
    }
}

#[tokio::test]
async fn subscribe_order_lets_a_kiosk_follow_only_its_own_order() {
    let hub = TestHub::start().await;
    let cast = Cast::pair(&hub).await;
    let other_kiosk = hub.pair(Role::Kiosk).await;
    let mine = order_id(&order(&cast.kiosk.api).await);
    let theirs = order_id(&order(&other_kiosk.api).await);

    let mut ws = connect(&hub, &cast, "kiosk").await;
    // Refused: the error alone, no `subscribed` (the pizzeria's client would
    // take it for a yes).
    ws.send(json!({"type": "subscribe_order", "order_id": theirs}))
        .await;
    let refusal = ws.next().await;
    assert_eq!(
        refusal["data"]["code"], "forbidden",
        "another kiosk's order"
    );
    assert!(ws.drain().await.is_empty(), "no subscribed after a refusal");
    let (errors, answer) = subscribe_answer(
        &mut ws,
        json!({"type": "subscribe_order", "order_id": mine}),
    )
    .await;
    assert!(errors.is_empty());
    assert_eq!(
        answer["data"],
        json!({"order_id": mine}),
        "answered with order_id as sent"
    );

    for who in ["display", "anonymous"] {
        let mut stranger = connect(&hub, &cast, who).await;
        stranger
            .send(json!({"type": "subscribe_order", "order_id": mine}))
            .await;
        let refusal = stranger.next().await;
        assert_eq!(refusal["data"]["code"], "forbidden", "{who}");
        assert!(stranger.drain().await.is_empty(), "{who}");
    }
    let mut barista = connect(&hub, &cast, "barista").await;
    let (errors, _) = subscribe_answer(
        &mut barista,
        json!({"type": "subscribe_order", "order_id": theirs}),
    )
    .await;
    assert!(errors.is_empty(), "a barista may follow any order");

    cast.barista.api.set_status(&theirs, "MAKING").await;
    cast.barista.api.set_status(&mine, "MAKING").await;
    let frame = ws.next().await;
    assert_eq!(frame["event"], "order:status_changed");
    assert_eq!(
        frame["data"]["orderId"],
        mine.as_str(),
        "only its own order"
    );
    assert!(ws.drain().await.is_empty());
    let frame = barista.next().await;
    assert_eq!(frame["data"]["orderId"], theirs.as_str());
}

#[tokio::test]
async fn an_event_read_through_orders_its_order_topic_and_board_arrives_once_in_full() {
    let hub = TestHub::start().await;
    let cast = Cast::pair(&hub).await;
    let since = seq_of(&hub);
    let id = order_id(&order(&cast.kiosk.api).await);
    let mut ws = connect(&hub, &cast, "barista").await;
    ws.send(json!({"type": "subscribe", "since": since,
                   "topics": ["orders", format!("order:{id}"), "board"]}))
        .await;
    assert_eq!(ws.next().await["event"], "subscribed");
    let replayed = ws.next().await;
    assert_eq!(replayed["event"], "order:created", "replayed once");
    assert_eq!(ws.next().await["event"], "replayed");

    cast.barista.api.set_status(&id, "MAKING").await;
    cast.barista.api.cancel(&id).await;
    // A duplicate would leave in the same batch as its original, so it
    // would be among these frames or before the pong.
    let frames = [ws.next().await, ws.next().await];
    assert_eq!(
        names(&frames),
        ["order:status_changed", "order:cancelled"],
        "each event once, not again as the board projection"
    );
    assert_eq!(frames[0]["data"]["previousStatus"], "PENDING", "in full");
    assert!(ws.drain().await.is_empty());
}

// ---------------------------------------------------------------------------
// Resume, replay and resync
// ---------------------------------------------------------------------------

async fn epoch_of(hub: &TestHub) -> String {
    let (_, health) = hub.anonymous().get("/healthz").await;
    health["epoch"].as_str().unwrap().to_owned()
}

/// Sends a subscribe with `since` and reads the answer: the replayed events
/// and the closing `replayed` (or `resync`) frame.
async fn resume(
    ws: &mut Ws,
    topics: &[&str],
    since: u64,
    epoch: Option<&str>,
) -> (Vec<Value>, Value) {
    let mut message = json!({"type": "subscribe", "topics": topics, "since": since});
    if let Some(epoch) = epoch {
        message["epoch"] = Value::from(epoch);
    }
    ws.send(message).await;
    let answer = ws.next().await;
    assert_eq!(answer["event"], "subscribed", "{answer}");
    let mut events = Vec::new();
    loop {
        let frame = ws.next().await;
        match frame["event"].as_str().unwrap() {
            "replayed" | "resync" => return (events, frame),
            _ => events.push(frame),
        }
    }
}

#[tokio::test]
async fn a_resumed_subscription_gets_exactly_the_missed_events_in_order_then_replayed_then_live_ones(
) {
    let hub = TestHub::start().await;
    let cast = Cast::pair(&hub).await;
    let epoch = epoch_of(&hub).await;
    let mut ws = connect(&hub, &cast, "barista").await;
    ws.subscribe(&["orders"]).await;
    order(&cast.kiosk.api).await;
    let seen = ws.next_event("order:created").await;
    let cursor = seen["seq"].as_u64().unwrap();
    drop(ws);

    let a = order_id(&order(&cast.kiosk.api).await);
    let b = order_id(&order(&cast.kiosk.api).await);
    cast.barista.api.set_status(&a, "MAKING").await;
    cast.barista.api.cancel(&b).await;
    let newest = seq_of(&hub);

    let mut ws = connect(&hub, &cast, "barista").await;
    let (missed, replayed) = resume(&mut ws, &["orders"], cursor, Some(&epoch)).await;
    assert_eq!(
        names(&missed),
        [
            "order:created",
            "order:created",
            "order:status_changed",
            "order:cancelled"
        ]
    );
    let ids: Vec<&Value> = missed.iter().map(|f| &f["data"]["orderId"]).collect();
    assert_eq!(ids, [&json!(a), &json!(b), &json!(a), &json!(b)]);
    let s = seqs(&missed);
    assert!(s[0] > cursor && s.windows(2).all(|w| w[0] < w[1]), "{s:?}");
    assert_eq!(replayed["event"], "replayed");
    assert_eq!(
        replayed["data"],
        json!({"from": cursor, "to": newest, "count": 4})
    );

    let c = order_id(&order(&cast.kiosk.api).await);
    let live = ws.next().await;
    assert_eq!(live["event"], "order:created");
    assert_eq!(live["data"]["orderId"], c.as_str());
    assert!(live["seq"].as_u64().unwrap() > newest);
    assert!(ws.drain().await.is_empty(), "nothing twice");
}

#[tokio::test]
async fn live_events_published_while_a_replay_is_sent_are_neither_lost_nor_doubled() {
    let hub = TestHub::start().await;
    let cast = Cast::pair(&hub).await;
    let epoch = epoch_of(&hub).await;
    let since = seq_of(&hub);
    let mut history = Vec::new();
    for _ in 0..15 {
        history.push(order_id(&order(&cast.kiosk.api).await));
    }
    let before = seq_of(&hub);
    // Orders keep coming while the replay is read and sent, and three more
    // once it has arrived, so that the last ones can only come live. (A
    // fixed number of orders could all be posted before a slow subscribe.)
    let replay_arrived = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let poster = tokio::spawn({
        let api = cast.kiosk.api.clone();
        let replay_arrived = replay_arrived.clone();
        async move {
            let mut ids = Vec::new();
            let mut after = 0;
            while after < 3 {
                if replay_arrived.load(std::sync::atomic::Ordering::Acquire) {
                    after += 1;
                }
                ids.push(order_id(&order(&api).await));
                assert!(ids.len() < 5_000, "the replay never arrived");
            }
            ids
        }
    });
    // Subscribe once the poster is under way, so that orders are being
    // committed while the replay is read and sent.
    eventually("the poster has begun", || async { seq_of(&hub) > before }).await;
    let mut ws = connect(&hub, &cast, "barista").await;
    let (replay, replayed) = resume(&mut ws, &["orders"], since, Some(&epoch)).await;
    replay_arrived.store(true, std::sync::atomic::Ordering::Release);
    assert_eq!(replayed["event"], "replayed");
    let to = replayed["data"]["to"].as_u64().unwrap();
    assert_eq!(replayed["data"]["count"], replay.len());
    let posted = poster.await.unwrap();
    let last = posted.last().unwrap().clone();
    let mut live = Vec::new();
    loop {
        let frame = ws.next().await;
        let done = frame["data"]["orderId"] == last.as_str();
        live.push(frame);
        if done {
            break;
        }
    }
    assert!(ws.drain().await.is_empty(), "nothing after the last order");

    assert!(seqs(&replay).iter().all(|s| *s > since && *s <= to));
    assert!(
        seqs(&live).iter().all(|s| *s > to),
        "live only after the replay"
    );
    let all: Vec<Value> = replay.iter().chain(&live).cloned().collect();
    let s = seqs(&all);
    assert!(
        s.windows(2).all(|w| w[0] < w[1]),
        "in order, none twice: {s:?}"
    );
    let created: Vec<String> = all
        .iter()
        .map(|f| f["data"]["orderId"].as_str().unwrap().to_owned())
        .collect();
    let expected: Vec<String> = history.into_iter().chain(posted).collect();
    assert_eq!(created, expected, "every order exactly once, in order");

    // The same events, read afterwards as one plain replay.
    let mut reference = connect(&hub, &cast, "barista").await;
    let (all_again, _) = resume(&mut reference, &["orders"], since, Some(&epoch)).await;
    assert_eq!(all_again, all);
}

#[tokio::test]
async fn a_since_older_than_the_kept_history_is_answered_with_resync_history_expired() {
    let hub = TestHub::start().await;
    let cast = Cast::pair(&hub).await;
    let epoch = epoch_of(&hub).await;
    for _ in 0..3 {
        order(&cast.kiosk.api).await;
    }
    let newest = seq_of(&hub);
    let deleted = hub
        .hub
        .log
        .prune(
            chrono::Utc::now() + chrono::Duration::seconds(1),
            3,
            chrono::Duration::zero(),
        )
        .await
        .unwrap();
    assert_eq!(deleted, newest - 3, "all but the newest three are gone");

    let mut ws = connect(&hub, &cast, "barista").await;
    let (events, answer) = resume(&mut ws, &["orders"], newest - 4, Some(&epoch)).await;
    assert!(events.is_empty());
    assert_eq!(answer["event"], "resync");
    assert_eq!(answer["data"], json!({"reason": "history_expired"}));
    // After a resync the topic is live all the same.
    let id = order_id(&order(&cast.kiosk.api).await);
    assert_eq!(ws.next().await["data"]["orderId"], id.as_str());
    assert!(ws.drain().await.is_empty());

    // The oldest kept position still replays.
    let mut ws = connect(&hub, &cast, "barista").await;
    let (_, answer) = resume(&mut ws, &["orders"], newest - 3, Some(&epoch)).await;
    assert_eq!(answer["event"], "replayed");
    assert_eq!(answer["data"]["from"], newest - 3);
}

#[tokio::test]
async fn a_wrong_epoch_or_a_since_beyond_the_log_is_answered_with_resync_epoch_changed() {
    let hub = TestHub::start().await;
    let cast = Cast::pair(&hub).await;
    order(&cast.kiosk.api).await;
    let epoch = epoch_of(&hub).await;
    let newest = seq_of(&hub);

    let mut ws = connect(&hub, &cast, "barista").await;
    let (events, answer) = resume(&mut ws, &["orders"], 0, Some("0000000000000000")).await;
    assert!(events.is_empty());
    assert_eq!(answer["data"], json!({"reason": "epoch_changed"}));
    assert_eq!(answer["event"], "resync");

    let mut ws = connect(&hub, &cast, "barista").await;
    let (events, answer) = resume(&mut ws, &["orders"], newest + 100, Some(&epoch)).await;
    assert!(events.is_empty());
    assert_eq!(answer["event"], "resync");
    assert_eq!(answer["data"], json!({"reason": "epoch_changed"}));
}

#[tokio::test]
async fn after_the_log_is_wiped_a_client_holding_the_old_epoch_is_told_to_resync() {
    let hub = TestHub::start().await;
    let cast = Cast::pair(&hub).await;
    for _ in 0..3 {
        order(&cast.kiosk.api).await;
    }
    let old_epoch = epoch_of(&hub).await;
    let cursor = seq_of(&hub);
    let dir = hub.stop().await;
    {
        let pool = support::open_store(dir.path()).await;
        let new_epoch = countertop_hub::EventLog::wipe(&pool).await.unwrap();
        assert_ne!(new_epoch, old_epoch);
        pool.close().await;
    }
    let hub = TestHub::start_in(dir, |_| {}).await;

    let mut ws = hub.connect(Some(&cast.barista)).await;
    let welcome = ws.next().await;
    assert_ne!(welcome["data"]["epoch"], old_epoch.as_str());
    assert!(welcome["data"]["seq"].as_u64().unwrap() < cursor);
    let (events, answer) = resume(&mut ws, &["orders"], cursor, Some(&old_epoch)).await;
    assert!(events.is_empty());
    assert_eq!(answer["event"], "resync");
    assert_eq!(answer["data"], json!({"reason": "epoch_changed"}));

    // A client that does not send its epoch is caught by its seq being
    // ahead of the new log.
    let mut ws = hub.connect(Some(&cast.barista)).await;
    ws.next_event("welcome").await;
    let (_, answer) = resume(&mut ws, &["orders"], cursor, None).await;
    assert_eq!(answer["data"], json!({"reason": "epoch_changed"}));
}

#[tokio::test]
async fn across_a_hub_restart_seq_continues_and_a_resuming_client_loses_nothing() {
    let hub = TestHub::start().await;
    let cast = Cast::pair(&hub).await;
    let epoch = epoch_of(&hub).await;
    let mut ws = connect(&hub, &cast, "barista").await;
    ws.subscribe(&["orders"]).await;
    order(&cast.kiosk.api).await;
    let cursor = ws.next_event("order:created").await["seq"]
        .as_u64()
        .unwrap();
    // Posted while the client is still connected; it never handles it.
    let a = order_id(&order(&cast.kiosk.api).await);
    let last_before = seq_of(&hub);
    let dir = hub.stop().await;
    assert_eq!(ws.closed().await, 1001);

    let hub = TestHub::start_in(dir, |_| {}).await;
    let (_, health) = hub.anonymous().get("/healthz").await;
    assert_eq!(health["seq"], last_before, "seq survives the restart");
    assert_eq!(health["epoch"], epoch.as_str());
    let kiosk = Api::new(hub.url(""), Some(cast.kiosk.token.clone()));
    let b = order(&kiosk).await;
    let c = order_id(&order(&kiosk).await);

    let mut ws = hub.connect(Some(&cast.barista)).await;
    ws.next_event("welcome").await;
    let (missed, replayed) = resume(&mut ws, &["orders"], cursor, Some(&epoch)).await;
    let ids: Vec<&Value> = missed.iter().map(|f| &f["data"]["orderId"]).collect();
    assert_eq!(ids, [&json!(a), &b["orderId"], &json!(c)]);
    assert_eq!(
        missed[1]["seq"],
        last_before + 1,
        "the first event after the restart takes the next seq"
    );
    assert_eq!(replayed["data"]["count"], 3);
}

// ---------------------------------------------------------------------------
// Bad input and limits
// ---------------------------------------------------------------------------

#[tokio::test]
async fn malformed_json_and_unknown_types_get_an_error_and_the_connection_stays_open() {
    let hub = TestHub::start().await;
    let mut ws = hub.connect(None).await;
    ws.next_event("welcome").await;
    for bad in [
        "{not json",
        r#"{"type":"dance"}"#,
        r#"{"topics":["menu"]}"#,
        r#"{"type":"subscribe"}"#,
        "[1,2,3]",
        r#"{"type":"subscribe","topics":["no-such-topic"]}"#,
    ] {
        ws.send_raw(Message::Text(bad.into())).await;
        let answer = ws.next().await;
        assert_eq!(answer["event"], "error", "{bad}");
        assert_eq!(answer["data"]["code"], "validation", "{bad}");
        assert!(answer["data"]["message"].as_str().is_some());
    }
    assert!(ws.drain().await.is_empty(), "a ping still answers pong");
    ws.subscribe(&["menu"]).await;
}

#[tokio::test]
async fn a_text_frame_of_64_kib_is_read_and_one_byte_more_closes_with_1009() {
    let hub = TestHub::start().await;
    let mut ws = hub.connect(None).await;
    ws.next_event("welcome").await;
    let frame = |len: usize| {
        let head = r#"{"type":"ping","pad":""#;
        let pad = "x".repeat(len - head.len() - 2);
        let text = format!("{head}{pad}\"}}");
        assert_eq!(text.len(), len);
        Message::Text(text.into())
    };
    ws.send_raw(frame(64 * 1024)).await;
    let answer = ws.next().await;
    assert!(
        answer["event"] == "pong" || answer["event"] == "error",
        "answered, not closed: {answer}"
    );
    ws.send_raw(frame(64 * 1024 + 1)).await;
    assert_eq!(ws.closed().await, 1009);
}

#[tokio::test]
async fn a_binary_frame_closes_with_1003() {
    let hub = TestHub::start().await;
    let mut ws = hub.connect(None).await;
    ws.next_event("welcome").await;
    ws.send_raw(Message::Binary(vec![0x7b, 0x7d].into())).await;
    assert_eq!(ws.closed().await, 1003);
}

#[tokio::test]
async fn a_sustained_flood_gets_rate_limited_errors_and_after_three_seconds_a_1008_close() {
    let hub = TestHub::start().await;
    let ws = hub.connect(None).await;
    let (mut sink, mut stream) = ws.stream.split();
    let started = Instant::now();
    let sender = tokio::spawn(async move {
        let ping = Message::Text(json!({"type": "ping"}).to_string().into());
        for _ in 0..400 {
            if sink.send(ping.clone()).await.is_err() {
                return;
            }
        }
        // Then about 66 a second, well over the limit, until the hub closes.
        let mut pace = tokio::time::interval(Duration::from_millis(15));
        loop {
            pace.tick().await;
            if sink.send(ping.clone()).await.is_err() {
                return;
            }
        }
    });
    let (mut pongs, mut limited) = (0, 0);
    let code = loop {
        let message = timeout(WAIT, stream.next())
            .await
            .expect("a frame in time")
            .expect("stream open")
            .expect("frame");
        match message {
            Message::Text(text) => {
                let frame: Value = serde_json::from_str(&text).unwrap();
                match frame["event"].as_str().unwrap() {
                    "pong" => pongs += 1,
                    "error" => {
                        assert_eq!(frame["data"]["code"], "rate_limited");
                        limited += 1;
                    }
                    "welcome" => {}
                    other => panic!("unexpected {other}"),
                }
            }
            Message::Close(Some(close)) => break u16::from(close.code),
            Message::Close(None) => panic!("a close without a code"),
            _ => {}
        }
    };
    sender.abort();
    assert_eq!(code, 1008);
    assert!(pongs >= 40, "the burst of 40 passes: {pongs}");
    assert!(limited > 100, "the rest is refused: {limited}");
    let lasted = started.elapsed();
    assert!(
        lasted >= Duration::from_millis(2900) && lasted < WAIT,
        "closed after three seconds of flooding, not {lasted:?}"
    );
}

/// Reads raw WebSocket frames (unmasked, as a server sends them) until the
/// peer closes: (opcode, payload) pairs.
fn parse_frames(mut bytes: &[u8]) -> Vec<(u8, Vec<u8>)> {
    let mut frames = Vec::new();
    while bytes.len() >= 2 {
        let opcode = bytes[0] & 0x0f;
        let (len, head) = match bytes[1] & 0x7f {
            126 => (u16::from_be_bytes([bytes[2], bytes[3]]) as usize, 4),
            127 => panic!("no frame here is that large"),
            n => (n as usize, 2),
        };
        frames.push((opcode, bytes[head..head + len].to_vec()));
        bytes = &bytes[head + len..];
    }
    frames
}

#[tokio::test]
async fn a_connection_that_answers_nothing_is_closed_after_the_idle_timeout() {
    let hub = TestHub::start_with(|c| {
        c.idle_timeout = Duration::from_secs(1);
        c.ping_interval = Duration::from_millis(200);
    })
    .await;
    let mut silent = hub.connect(None).await;
    silent.next_event("welcome").await;
    // A client that keeps reading answers the hub's pings (tungstenite does
    // it while reading) and must outlive the silent one.
    let mut lively = hub.connect(None).await;
    lively.next_event("welcome").await;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let reader = tokio::spawn(async move {
        let mut stopped = stopped;
        loop {
            tokio::select! {
                _ = &mut stopped => return lively,
                message = lively.stream.next() => {
                    assert!(matches!(message, Some(Ok(Message::Ping(_)))), "{message:?}");
                }
            }
        }
    });
    let opened = Instant::now();
    // Not reading means not answering pings. Wait for the hub to let go.
    eventually("the silent connection is dropped", || async {
        hub.hub.registry.count(Transport::WebSocket) == 1
    })
    .await;
    let idle = opened.elapsed();
    assert!(idle >= Duration::from_millis(900), "closed after {idle:?}");

    let MaybeTlsStream::Plain(tcp) = silent.stream.get_mut() else {
        panic!("a plain TCP stream");
    };
    let mut bytes = Vec::new();
    timeout(WAIT, tcp.read_to_end(&mut bytes))
        .await
        .expect("the hub closes the socket")
        .expect("read");
    let frames = parse_frames(&bytes);
    let pings = frames.iter().filter(|(op, _)| *op == 0x9).count();
    assert!(pings >= 3, "the hub pinged: {frames:?}");
    let (op, payload) = frames.last().expect("a close frame");
    assert_eq!(*op, 0x8, "the last frame is a close");
    assert_eq!(u16::from_be_bytes([payload[0], payload[1]]), 1000);

    let _ = stop.send(());
    let mut lively = reader.await.unwrap();
    assert!(
        lively.drain().await.is_empty(),
        "the reading client is open"
    );
}

// ---------------------------------------------------------------------------
// The handshake: tokens and origins
// ---------------------------------------------------------------------------

fn refused_status(result: Result<Ws, tungstenite::Error>) -> u16 {
    match result {
        Err(tungstenite::Error::Http(response)) => response.status().as_u16(),
        Err(other) => panic!("expected an HTTP refusal, got {other}"),
        Ok(_) => panic!("expected a refusal, the upgrade succeeded"),
    }
}

#[tokio::test]
async fn a_bad_expired_forged_or_revoked_token_is_refused_with_401_before_the_upgrade() {
    let hub = TestHub::start().await;
    let cast = Cast::pair(&hub).await;
    let url = hub.ws_url();
    let claims = |exp: chrono::DateTime<chrono::Utc>| Claims {
        sub: cast.barista.id.clone(),
        role: Role::Barista,
        name: "test barista".into(),
        iat: (exp - chrono::Duration::days(1)).timestamp(),
        exp: exp.timestamp(),
        jti: support::rand_suffix(),
    };
    let now = chrono::Utc::now();
    let expired = hub
        .hub
        .keys
        .mint(&claims(now - chrono::Duration::hours(1)))
        .unwrap();
    let forged = countertop_hub::Keys::from_secret(b"0123456789abcdef0123456789abcdef-other")
        .mint(&claims(now + chrono::Duration::days(1)))
        .unwrap();
    let still_valid = hub
        .hub
        .keys
        .mint(&claims(now + chrono::Duration::days(1)))
        .unwrap();
    assert!(Ws::connect(&url, Some(&still_valid), None).await.is_ok());

    for (what, token) in [
        ("garbage", "not-a-token".to_owned()),
        ("expired", expired),
        ("forged", forged),
    ] {
        let status = refused_status(Ws::connect(&url, Some(&token), None).await);
        assert_eq!(status, 401, "{what}");
        let status = refused_status(Ws::connect(&format!("{url}?token={token}"), None, None).await);
        assert_eq!(status, 401, "{what} in the query");
    }

    let (code, _) = cast
        .manager
        .api
        .delete(&format!("/api/devices/{}", cast.display.id))
        .await;
    assert_eq!(code, 204);
    let status = refused_status(Ws::connect(&url, Some(&cast.display.token), None).await);
    assert_eq!(status, 401, "revoked");

    // A valid token in the query string is a browser's way in.
    let mut ws = Ws::connect(&format!("{url}?token={}", cast.kiosk.token), None, None)
        .await
        .unwrap();
    assert_eq!(ws.next().await["data"]["role"], "kiosk");
}

#[tokio::test]
async fn a_foreign_origin_is_refused_with_403_and_the_apps_the_configured_and_the_hubs_own_pass() {
    let hub =
        TestHub::start_with(|c| c.allowed_origins = vec!["https://pos.example.com".into()]).await;
    let url = hub.ws_url();
    for foreign in [
        "https://evil.example",
        "http://localhost:5173",
        "tauri://evil",
    ] {
        let status = refused_status(Ws::connect(&url, None, Some(foreign)).await);
        assert_eq!(status, 403, "{foreign}");
    }
    let own = format!("http://{}", hub.addr);
    for allowed in [
        "tauri://localhost",
        "http://tauri.localhost",
        "https://pos.example.com",
        own.as_str(),
    ] {
        let mut ws = Ws::connect(&url, None, Some(allowed))
            .await
            .unwrap_or_else(|e| panic!("{allowed} is allowed: {e}"));
        assert_eq!(ws.next().await["event"], "welcome", "{allowed}");
    }
    let mut native = Ws::connect(&url, None, None).await.unwrap();
    assert_eq!(native.next().await["event"], "welcome");
}

// ---------------------------------------------------------------------------
// Closes from the hub's side, statistics
// ---------------------------------------------------------------------------

#[tokio::test]
async fn revoking_a_device_closes_each_of_its_open_websockets_with_4001() {
    let hub = TestHub::start().await;
    let cast = Cast::pair(&hub).await;
    let mut first = connect(&hub, &cast, "barista").await;
    let mut second = connect(&hub, &cast, "barista").await;
    second.subscribe(&["orders"]).await;
    let mut bystander = connect(&hub, &cast, "kiosk").await;

    let (code, body) = cast
        .manager
        .api
        .delete(&format!("/api/devices/{}", cast.barista.id))
        .await;
    assert_eq!(code, 204, "{body}");
    assert_eq!(first.closed().await, 4001);
    assert_eq!(second.closed().await, 4001);
    assert!(bystander.drain().await.is_empty(), "another device stays");
}

#[tokio::test]
async fn a_graceful_shutdown_closes_every_websocket_with_1001() {
    let hub = TestHub::start().await;
    let barista = hub.pair(Role::Barista).await;
    let mut ws = hub.connect(Some(&barista)).await;
    ws.next_event("welcome").await;
    ws.subscribe(&["orders"]).await;
    let mut anonymous = hub.connect(None).await;
    anonymous.next_event("welcome").await;
    hub.stop().await;
    assert_eq!(ws.closed().await, 1001);
    assert_eq!(anonymous.closed().await, 1001);
}

#[tokio::test]
async fn ws_stats_count_connections_devices_and_subscribers_per_topic() {
    let hub = TestHub::start().await;
    let cast = Cast::pair(&hub).await;
    let stats = || async {
        let (code, body) = cast.manager.api.get("/api/ws/stats").await;
        assert_eq!(code, 200, "{body}");
        assert_eq!(body["success"], true, "{body}");
        body["data"].clone()
    };
    let empty = stats().await;
    assert_eq!(empty["totalConnections"], 0);
    assert_eq!(empty["totalDevices"], 0);
    assert_eq!(empty["topics"], json!({}));

    let mut barista = connect(&hub, &cast, "barista").await;
    barista.subscribe(&["orders", "board"]).await;
    let mut kiosk1 = connect(&hub, &cast, "kiosk").await;
    kiosk1.subscribe(&["menu", "board"]).await;
    let mut kiosk2 = connect(&hub, &cast, "kiosk").await;
    kiosk2.subscribe(&["menu"]).await;
    let mut anonymous = connect(&hub, &cast, "anonymous").await;
    anonymous.subscribe(&["board"]).await;

    let (_, health) = hub.anonymous().get("/healthz").await;
    let now = stats().await;
    assert_eq!(now["totalConnections"], 4);
    assert_eq!(now["totalDevices"], 2, "barista and kiosk");
    assert_eq!(now["topics"], json!({"orders": 1, "board": 3, "menu": 2}));
    assert_eq!(now["seq"], health["seq"]);
    assert!(now["eventsRetained"].as_u64().is_some());

    let (code, _) = cast.barista.api.get("/api/ws/stats").await;
    assert_eq!(code, 403, "managers only");

    kiosk2.stream.close(None).await.unwrap();
    eventually("the closed connection is no longer counted", || async {
        stats().await["totalConnections"] == 4 - 1
    })
    .await;
    assert_eq!(stats().await["topics"]["menu"], 1);
    barista
        .send(json!({"type": "unsubscribe", "topics": ["board"]}))
        .await;
    let answer = barista.next().await;
    assert_eq!(answer["event"], "unsubscribed");
    assert_eq!(answer["data"]["topics"], json!(["board"]));
    assert_eq!(
        stats().await["topics"],
        json!({"orders": 1, "board": 2, "menu": 1})
    );
}

#[tokio::test]
async fn subscribing_to_orders_with_since_after_following_the_board_replays_the_full_events() {
    let hub = TestHub::start().await;
    let cast = Cast::pair(&hub).await;
    let epoch = epoch_of(&hub).await;
    let mut ws = connect(&hub, &cast, "barista").await;
    ws.subscribe(&["board"]).await;
    let since = seq_of(&hub);
    let id = order_id(&order(&cast.kiosk.api).await);
    cast.barista.api.set_status(&id, "MAKING").await;
    cast.barista.api.cancel(&id).await;
    let board = [ws.next().await, ws.next().await, ws.next().await];
    let statuses: Vec<&Value> = board.iter().map(|f| &f["data"]["status"]).collect();
    assert_eq!(statuses, ["PENDING", "MAKING", "CANCELLED"]);

    // The board showed a lossy projection; `orders` asked with `since`
    // must still bring every event of the topic in full.
    let (replay, replayed) = resume(&mut ws, &["orders"], since, Some(&epoch)).await;
    assert_eq!(
        names(&replay),
        ["order:created", "order:status_changed", "order:cancelled"]
    );
    assert_eq!(replay[1]["data"]["previousStatus"], "PENDING");
    assert_eq!(replay[2]["data"]["reason"], "changed mind");
    assert_eq!(replayed["data"]["count"], 3);
    assert!(ws.drain().await.is_empty());
}

#[tokio::test]
async fn a_close_from_the_client_is_answered_with_a_close_frame_completing_the_handshake() {
    let hub = TestHub::start().await;
    let mut ws = hub.connect(None).await;
    ws.next_event("welcome").await;
    ws.stream
        .close(Some(tungstenite::protocol::CloseFrame {
            code: tungstenite::protocol::frame::coding::CloseCode::Normal,
            reason: "bye".into(),
        }))
        .await
        .unwrap();
    assert_eq!(ws.closed().await, 1000);
}

#[tokio::test]
async fn a_text_frame_over_the_transport_limit_also_closes_with_1009() {
    let hub = TestHub::start().await;
    let mut ws = hub.connect(None).await;
    ws.next_event("welcome").await;
    let text = format!(
        r#"{{"type":"ping","pad":"{}"}}"#,
        "x".repeat(2 * 1024 * 1024)
    );
    // The hub may close before the whole frame is written.
    let _ = ws.stream.send(Message::Text(text.into())).await;
    assert_eq!(ws.closed().await, 1009);
}

#[tokio::test]
async fn a_display_resuming_workorders_is_replayed_only_the_ones_presented_to_it() {
    let hub = TestHub::start().await;
    let cast = Cast::pair(&hub).await;
    let other = hub.pair(Role::Display).await;
    let epoch = epoch_of(&hub).await;
    let since = seq_of(&hub);
    let manager = &cast.manager.api;
    let mut ids = Vec::new();
    for display in [&cast.display, &other, &cast.display] {
        let (code, wo) = manager
            .post(
                "/api/workorders",
                json!({"title": "Beans", "customerName": "Park",
                       "lines": [{"description": "5 kg", "amount": 90000}]}),
            )
            .await;
        assert_eq!(code, 201, "{wo}");
        let id = wo["id"].as_str().unwrap().to_owned();
        let (code, body) = manager
            .post(
                &format!("/api/workorders/{id}/present"),
                json!({"deviceId": display.id}),
            )
            .await;
        assert_eq!(code, 200, "{body}");
        ids.push(id);
    }

    let mut ws = connect(&hub, &cast, "display").await;
    let (replay, replayed) = resume(&mut ws, &["workorders"], since, Some(&epoch)).await;
    let seen: Vec<(&Value, &Value)> = replay
        .iter()
        .map(|f| (&f["data"]["workOrderId"], &f["data"]["changeType"]))
        .collect();
    assert_eq!(
        seen,
        [
            (&json!(ids[0]), &json!("presented")),
            (&json!(ids[2]), &json!("presented")),
        ]
    );
    assert_eq!(replayed["data"]["count"], 2);

    let mut ws = connect(&hub, &cast, "manager").await;
    let (replay, _) = resume(&mut ws, &["workorders"], since, Some(&epoch)).await;
    assert_eq!(replay.len(), 6, "a manager is replayed every change");
}

#[tokio::test]
async fn a_board_replay_gives_anonymous_readers_the_projection_only() {
    let hub = TestHub::start().await;
    let cast = Cast::pair(&hub).await;
    let epoch = epoch_of(&hub).await;
    let since = seq_of(&hub);
    let first = order(&cast.kiosk.api).await;
    let id = order_id(&first);
    cast.barista.api.set_status(&id, "MAKING").await;
    cast.barista.api.cancel(&id).await;

    let mut ws = connect(&hub, &cast, "anonymous").await;
    let (replay, replayed) = resume(&mut ws, &["board"], since, Some(&epoch)).await;
    let data: Vec<&Value> = replay.iter().map(|f| &f["data"]).collect();
    assert_eq!(
        data,
        [
            &json!({"orderId": id, "dailyNum": first["dailyNum"], "status": "PENDING"}),
            &json!({"orderId": id, "dailyNum": first["dailyNum"], "status": "MAKING"}),
            &json!({"orderId": id, "dailyNum": first["dailyNum"], "status": "CANCELLED"}),
        ]
    );
    assert!(names(&replay).iter().all(|n| *n == "order:status_changed"));
    assert_eq!(replayed["data"]["count"], 3);
}

#[tokio::test]
async fn after_unsubscribing_a_connection_hears_nothing_more_of_that_topic() {
    let hub = TestHub::start().await;
    let cast = Cast::pair(&hub).await;
    let mut ws = connect(&hub, &cast, "barista").await;
    ws.subscribe(&["orders", "settings"]).await;
    order(&cast.kiosk.api).await;
    assert_eq!(ws.next().await["event"], "order:created");
    ws.send(json!({"type": "unsubscribe", "topics": ["orders"]}))
        .await;
    let answer = ws.next().await;
    assert_eq!(answer["event"], "unsubscribed");
    assert_eq!(answer["data"]["topics"], json!(["orders"]));

    order(&cast.kiosk.api).await;
    let marker = mark(&cast, "settings").await;
    let frames = frames_until(&mut ws, &marker).await;
    assert!(frames.is_empty(), "{frames:?}");
}
