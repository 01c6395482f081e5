//! Version 2 of `/ws` over real sockets: a connection reads its topics from
//! its first frame on (`?topics=`, or its role's defaults, listed in the
//! welcome), resumes with `?since=`, refuses a replay of topics it reads
//! already, follows one order at `/ws/orders/{id}` or by its daily number
//! (`board:{n}`), speaks the `type`-keyed dialect with `?format=type`, and
//! closes with a complete handshake.

mod support;

use countertop_protocol::Role;
use futures::StreamExt;
use serde_json::{json, Value};
use support::{Api, Device, TestHub, Ws, WAIT};

async fn order(api: &Api) -> Value {
    let (status, body) = api.order(&[("americano", 1)], "CARD").await;
    assert_eq!(status, 201, "{body}");
    body
}

fn id_of(order: &Value) -> String {
    order["orderId"].as_str().expect("orderId").to_owned()
}

fn topics_of(welcome: &Value) -> Vec<String> {
    welcome["data"]["topics"]
        .as_array()
        .expect("the welcome lists topics")
        .iter()
        .map(|t| t.as_str().unwrap().to_owned())
        .collect()
}

fn sorted(list: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = list.iter().map(|s| s.to_string()).collect();
    v.sort();
    v
}

async fn connect(hub: &TestHub, device: Option<&Device>, query: &str) -> (Ws, Value) {
    let mut ws = hub.connect_with(device, query).await;
    let welcome = ws.next().await;
    assert_eq!(welcome["event"], "welcome", "{welcome}");
    (ws, welcome)
}

#[tokio::test]
async fn without_topics_each_role_reads_its_default_topics_from_the_first_frame() {
    let hub = TestHub::start().await;
    let kiosk = hub.pair(Role::Kiosk).await;
    let barista = hub.pair(Role::Barista).await;
    let display = hub.pair(Role::Display).await;
    let manager = hub.pair(Role::Manager).await;
    let expected: [(Option<&Device>, &[&str]); 5] = [
        (None, &["board", "menu", "settings"]),
        (Some(&kiosk), &["menu", "settings", "cells", "board"]),
        (
            Some(&barista),
            &["orders", "board", "menu", "settings", "cells"],
        ),
        (Some(&display), &["workorders", "settings"]),
        (
            Some(&manager),
            &[
                "orders",
                "board",
                "menu",
                "settings",
                "cells",
                "workorders",
                "system",
                "dashboard",
            ],
        ),
    ];
    for (device, topics) in expected {
        let (_, welcome) = connect(&hub, device, "").await;
        assert_eq!(topics_of(&welcome), sorted(topics), "{welcome}");
    }

    // A barista that never subscribes hears of a new order: seed 004's
    // OrderContext only connects and listens.
    let (mut ws, _) = connect(&hub, Some(&barista), "").await;
    let placed = order(&kiosk.api).await;
    let frame = ws.next_event("order:created").await;
    assert_eq!(frame["data"]["orderId"], placed["orderId"]);
    let stats = manager.api.get("/api/ws/stats").await.1;
    let data = if stats.get("data").is_some() {
        &stats["data"]
    } else {
        &stats
    };
    assert!(
        data["topics"]["orders"].as_u64().unwrap() >= 1,
        "connect-time topics are counted: {stats}"
    );
}

#[tokio::test]
async fn named_topics_are_checked_one_by_one_and_the_refused_ones_follow_the_welcome_as_errors() {
    let hub = TestHub::start().await;
    let barista = hub.pair(Role::Barista).await;
    let kiosk = hub.pair(Role::Kiosk).await;
    let (mut ws, welcome) = connect(&hub, Some(&barista), "topics=orders,system,nonsense").await;
    assert_eq!(topics_of(&welcome), ["orders"]);
    let mut codes = Vec::new();
    for _ in 0..2 {
        let error = ws.next().await;
        assert_eq!(error["event"], "error", "{error}");
        codes.push(error["data"]["code"].as_str().unwrap().to_owned());
        if error["data"]["code"] == "forbidden" {
            assert!(
                error["data"]["message"]
                    .as_str()
                    .unwrap()
                    .contains("system"),
                "the error names the topic: {error}"
            );
        }
    }
    codes.sort();
    assert_eq!(codes, ["forbidden", "validation"]);
    let placed = order(&kiosk.api).await;
    let frame = ws.next().await;
    assert_eq!(frame["event"], "order:created");
    assert_eq!(frame["data"]["orderId"], placed["orderId"]);

    // `?topics=` (empty) means none: a client that subscribes itself later.
    let (mut quiet, welcome) = connect(&hub, Some(&barista), "topics=").await;
    assert_eq!(topics_of(&welcome), Vec::<String>::new());
    order(&kiosk.api).await;
    assert!(quiet.drain().await.is_empty(), "reads nothing");
}

#[tokio::test]
async fn since_at_connect_replays_the_missed_events_before_anything_live_with_no_subscribed_frame()
{
    let hub = TestHub::start().await;
    let barista = hub.pair(Role::Barista).await;
    let kiosk = hub.pair(Role::Kiosk).await;
    let since = hub.hub.log.seq();
    let missed = [order(&kiosk.api).await, order(&kiosk.api).await];
    let epoch = hub.hub.log.epoch().to_owned();
    let (mut ws, welcome) = connect(
        &hub,
        Some(&barista),
        &format!("topics=orders&since={since}&epoch={epoch}"),
    )
    .await;
    let now = hub.hub.log.seq();
    assert_eq!(welcome["data"]["seq"], now, "live from the welcome's seq");
    let mut created = Vec::new();
    let replayed = loop {
        let frame = ws.next().await;
        match frame["event"].as_str().unwrap() {
            "order:created" => created.push(frame["data"]["orderId"].clone()),
            "replayed" => break frame,
            "subscribed" => panic!("no subscribed frame at connect: {frame}"),
            _ => {}
        }
    };
    assert_eq!(
        created,
        missed
            .iter()
            .map(|o| o["orderId"].clone())
            .collect::<Vec<_>>()
    );
    assert_eq!(replayed["data"]["from"], since);
    assert_eq!(replayed["data"]["to"], now);
    let live = order(&kiosk.api).await;
    let frame = ws.next_event("order:created").await;
    assert_eq!(frame["data"]["orderId"], live["orderId"]);
    assert!(frame["seq"].as_u64().unwrap() > now);

    // Another log's cursor cannot be served.
    let (mut stale, _) = connect(
        &hub,
        Some(&barista),
        &format!("topics=orders&since={since}&epoch=another-log"),
    )
    .await;
    let resync = stale.next().await;
    assert_eq!(resync["event"], "resync", "{resync}");
    assert_eq!(resync["data"]["reason"], "epoch_changed");

    // A since that is not a number is refused before the upgrade.
    let refused = Ws::connect(
        &hub.ws_url_with("since=yesterday"),
        Some(&barista.token),
        None,
    )
    .await;
    assert!(refused.is_err(), "422 before the upgrade");
}

#[tokio::test]
async fn a_replay_of_a_topic_the_connection_reads_already_is_refused_whole() {
    let hub = TestHub::start().await;
    let barista = hub.pair(Role::Barista).await;
    let kiosk = hub.pair(Role::Kiosk).await;
    let (mut ws, _) = connect(&hub, Some(&barista), "topics=orders").await;
    let since = hub.hub.log.seq();
    order(&kiosk.api).await;
    ws.next_event("order:created").await;
    ws.send(json!({"type": "subscribe", "topics": ["orders", "board"], "since": since}))
        .await;
    let error = ws.next().await;
    assert_eq!(error["event"], "error", "{error}");
    assert_eq!(error["data"]["code"], "already_subscribed");
    assert!(error["data"]["message"]
        .as_str()
        .unwrap()
        .contains("orders"));
    assert!(
        ws.drain().await.is_empty(),
        "nothing replayed, nothing added"
    );
    order(&kiosk.api).await;
    assert_eq!(ws.next().await["event"], "order:created");
    assert!(
        ws.drain().await.is_empty(),
        "board was not added, the order came once"
    );
    // Without since, a topic read already is listed and left as it is.
    ws.send(json!({"type": "subscribe", "topics": ["orders"]}))
        .await;
    let answer = ws.next_event("subscribed").await;
    assert_eq!(answer["data"]["topics"], json!(["orders"]));
}

#[tokio::test]
async fn ws_orders_id_follows_one_order_with_the_same_rules() {
    let hub = TestHub::start().await;
    let kiosk = hub.pair(Role::Kiosk).await;
    let other = hub.pair(Role::Kiosk).await;
    let barista = hub.pair(Role::Barista).await;
    let mine = id_of(&order(&kiosk.api).await);
    let url = format!("ws://{}/ws/orders/{mine}", hub.addr);
    let mut ws = Ws::connect(&url, Some(&kiosk.token), None).await.unwrap();
    let welcome = ws.next().await;
    assert_eq!(topics_of(&welcome), [format!("order:{mine}")]);
    barista.api.set_status(&mine, "MAKING").await;
    let frame = ws.next().await;
    assert_eq!(frame["event"], "order:status_changed");
    assert_eq!(frame["data"]["previousStatus"], "PENDING", "in full");

    let mut stranger = Ws::connect(&url, Some(&other.token), None).await.unwrap();
    let welcome = stranger.next().await;
    assert_eq!(topics_of(&welcome), Vec::<String>::new());
    assert_eq!(stranger.next().await["data"]["code"], "forbidden");
}

#[tokio::test]
async fn anyone_follows_todays_order_by_its_daily_number() {
    let hub = TestHub::start().await;
    let kiosk = hub.pair(Role::Kiosk).await;
    let barista = hub.pair(Role::Barista).await;
    let first = order(&kiosk.api).await;
    let second = order(&kiosk.api).await;
    let n = second["dailyNum"].as_u64().unwrap();

    // The pizzeria's status page: subscribe_order with the receipt number.
    let (mut ws, _) = connect(&hub, None, "topics=").await;
    ws.send(json!({"type": "subscribe_order", "order_id": n}))
        .await;
    let answer = ws.next().await;
    assert_eq!(answer["event"], "subscribed");
    assert_eq!(answer["data"], json!({ "order_id": n }));
    ws.send(json!({"type": "subscribe_order", "order_id": 999}))
        .await;
    let missing = ws.next().await;
    assert_eq!(missing["data"]["code"], "not_found", "{missing}");

    // Or at connect, with the topic.
    let (mut page, welcome) = connect(&hub, None, &format!("topics=board:{n}")).await;
    assert_eq!(topics_of(&welcome), [format!("board:{n}")]);

    barista.api.set_status(&id_of(&first), "MAKING").await;
    barista.api.set_status(&id_of(&second), "MAKING").await;
    for reader in [&mut ws, &mut page] {
        let frame = reader.next().await;
        assert_eq!(frame["event"], "order:status_changed");
        assert_eq!(
            frame["data"],
            json!({"orderId": second["orderId"], "dailyNum": n, "status": "MAKING"}),
            "only its own order, and only the board's fields"
        );
    }
    barista.api.cancel(&id_of(&second)).await;
    let frame = page.next().await;
    assert_eq!(frame["data"]["status"], "CANCELLED");

    let (_, welcome) = connect(&hub, None, "topics=board:999").await;
    assert_eq!(topics_of(&welcome), Vec::<String>::new());
}

#[tokio::test]
async fn format_type_keys_every_frame_by_type() {
    let hub = TestHub::start().await;
    let kiosk = hub.pair(Role::Kiosk).await;
    let barista = hub.pair(Role::Barista).await;
    let mut ws = hub
        .connect_with(Some(&barista), "format=type&topics=")
        .await;
    let welcome = ws.next().await;
    assert_eq!(welcome["type"], "connection_established", "{welcome}");
    assert!(welcome["clientId"].as_str().unwrap().starts_with("conn-"));
    assert_eq!(welcome["data"]["role"], "barista");
    assert!(welcome.get("event").is_none());

    ws.send(json!({"type": "ping"})).await;
    assert_eq!(ws.next().await, json!({"type": "pong"}));
    ws.send(json!({"type": "subscribe_admin"})).await;
    assert_eq!(
        ws.next().await,
        json!({"type": "subscribed", "role": "admin"})
    );
    let placed = order(&kiosk.api).await;
    let frame = ws.next().await;
    assert_eq!(frame["type"], "order_created", "{frame}");
    assert_eq!(frame["data"]["orderId"], placed["orderId"]);
    assert!(frame["seq"].as_u64().is_some());

    let n = placed["dailyNum"].as_u64().unwrap();
    ws.send(json!({"type": "subscribe_order", "order_id": n}))
        .await;
    assert_eq!(
        ws.next().await,
        json!({"type": "subscribed", "order_id": n})
    );
    barista.api.set_status(&id_of(&placed), "MAKING").await;
    let frame = ws.next().await;
    assert_eq!(frame["type"], "order_status_changed");
    assert_eq!(frame["data"]["previousStatus"], "PENDING", "once, in full");
    ws.send(json!({"type": "subscribe", "topics": ["system"]}))
        .await;
    let error = ws.next().await;
    assert_eq!(error["type"], "error");
    assert_eq!(error["code"], "forbidden");
    assert!(error["message"].as_str().is_some());
    ws.send(json!({"type": "ping"})).await;
    let answer = ws.next().await;
    assert_eq!(answer["type"], "subscribed", "{answer}");
    assert_eq!(answer["topics"], json!([]));
    assert_eq!(ws.next().await, json!({"type": "pong"}));

    // The order page, in the same dialect.
    let url = format!("ws://{}/ws/orders/{}?format=type", hub.addr, id_of(&placed));
    let mut page = Ws::connect(&url, Some(&barista.token), None).await.unwrap();
    assert_eq!(page.next().await["type"], "connection_established");
}

#[tokio::test]
async fn a_shutdown_completes_the_closing_handshake() {
    let hub = TestHub::start().await;
    let barista = hub.pair(Role::Barista).await;
    let (mut ws, _) = connect(&hub, Some(&barista), "").await;
    let stopping = tokio::spawn(hub.stop());
    assert_eq!(ws.closed().await, 1001);
    // tungstenite answered the close frame; the hub read that answer before
    // it let the socket go, so the stream ends cleanly, not with a reset.
    let end = tokio::time::timeout(WAIT, ws.stream.next())
        .await
        .expect("the stream ends in time");
    assert!(end.is_none(), "a clean end, not {end:?}");
    stopping.await.unwrap();
}
