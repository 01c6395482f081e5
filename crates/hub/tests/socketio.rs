//! Socket.IO v4 at `/socket.io/` (seed 002's dialect) against a real hub over
//! real sockets. The tests speak Engine.IO 4 and Socket.IO 5 packets by
//! hand, over the WebSocket transport (tokio-tungstenite) and long-polling
//! (reqwest), as `socket.io-client` does: `0` open, `2`/`3` ping and pong,
//! `40` connect (with the `auth` object), `41` disconnect, `42` event, `44`
//! connect error.

mod support;

use std::collections::VecDeque;
use std::future::Future;
use std::time::Duration;

use countertop_hub::Transport;
use countertop_protocol::{Claims, Role};
use futures::{SinkExt, StreamExt};
use reqwest::StatusCode;
use serde_json::{json, Value};
use support::{ok, Cafe, TestHub, WAIT};
use tokio::net::TcpStream;
use tokio::time::{timeout, Instant};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

// ---------------------------------------------------------------------------
// An Engine.IO 4 / Socket.IO 5 client, by hand
// ---------------------------------------------------------------------------

/// The hub's Engine.IO limit on one message.
const MAX_PAYLOAD: u64 = 64 * 1024;

const ACCESS_DENIED: &str = r#"42["error",{"message":"Access denied"}]"#;
const RATE_LIMITED: &str = r#"42["error",{"message":"Rate limit exceeded"}]"#;

/// The CONNECT packet of the default namespace with `auth`.
fn connect_packet(auth: Option<Value>) -> String {
    match auth {
        None => "40".to_owned(),
        Some(auth) => format!("40{auth}"),
    }
}

fn with_token(token: &str) -> String {
    connect_packet(Some(json!({ "token": token })))
}

/// `42["name",data]` as `(name, data)`; `None` for any other packet.
fn as_event(packet: &str) -> Option<(String, Value)> {
    let body = packet.strip_prefix("42")?;
    let args: Vec<Value> = serde_json::from_str(body).expect("an event is a JSON array");
    let name = args.first()?.as_str()?.to_owned();
    Some((name, args.get(1).cloned().unwrap_or(Value::Null)))
}

fn emit_packet(name: &str, arg: Value) -> String {
    format!("42{}", json!([name, arg]))
}

/// Checks the open packet (`0{…}`) and returns the session id.
fn open_sid(packet: &str) -> String {
    let open: Value = serde_json::from_str(packet.strip_prefix('0').expect("an open packet"))
        .expect("the open packet is JSON");
    assert_eq!(open["maxPayload"], MAX_PAYLOAD, "{open}");
    assert!(open["pingInterval"].as_u64().is_some(), "{open}");
    open["sid"].as_str().expect("a sid").to_owned()
}

/// Checks the answer to a CONNECT: `40{"sid":…}`.
#[track_caller]
fn assert_connected(answer: &str) {
    let body = answer
        .strip_prefix("40")
        .unwrap_or_else(|| panic!("expected a CONNECT answer, got {answer}"));
    let sid: Value = serde_json::from_str(body).expect("JSON");
    assert!(
        sid["sid"].as_str().is_some_and(|s| !s.is_empty()),
        "{answer}"
    );
}

/// Socket.IO over the WebSocket transport.
struct SioWs {
    stream: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

impl SioWs {
    fn url(hub: &TestHub) -> String {
        format!("ws://{}/socket.io/?EIO=4&transport=websocket", hub.addr)
    }

    /// Opens an Engine.IO session (no namespace yet).
    async fn open(hub: &TestHub, origin: Option<&str>) -> Result<SioWs, tungstenite::Error> {
        Self::open_url(&Self::url(hub), origin).await
    }

    async fn open_url(url: &str, origin: Option<&str>) -> Result<SioWs, tungstenite::Error> {
        let mut req = url.into_client_request()?;
        if let Some(o) = origin {
            req.headers_mut().insert("origin", o.parse().unwrap());
        }
        let (stream, _) = tokio_tungstenite::connect_async(req).await?;
        Ok(SioWs { stream })
    }

    /// Opens a session and sends `connect` with `auth`; returns the answer.
    async fn handshake(hub: &TestHub, connect: &str) -> (SioWs, String) {
        let mut ws = Self::open(hub, None).await.expect("the upgrade succeeds");
        open_sid(&ws.packet().await);
        ws.send(connect).await;
        let answer = ws.packet().await;
        (ws, answer)
    }

    /// A socket in the default namespace with `token`.
    async fn connect(hub: &TestHub, token: &str) -> SioWs {
        let (ws, answer) = Self::handshake(hub, &with_token(token)).await;
        assert_connected(&answer);
        ws
    }

    async fn send(&mut self, packet: &str) {
        self.stream
            .send(Message::Text(packet.to_owned().into()))
            .await
            .expect("send");
    }

    async fn emit(&mut self, name: &str, arg: Value) {
        self.send(&emit_packet(name, arg)).await;
    }

    /// The next packet; the hub's pings are answered on the way.
    async fn packet(&mut self) -> String {
        loop {
            let message = timeout(WAIT, self.stream.next())
                .await
                .expect("a packet in time")
                .expect("the transport is open")
                .expect("a frame");
            match message {
                Message::Text(t) if t.as_str() == "2" => self.send("3").await,
                Message::Text(t) => return t.to_string(),
                Message::Ping(_) | Message::Pong(_) => {}
                other => panic!("expected a text frame, got {other:?}"),
            }
        }
    }

    /// Events up to and including the first named `name`.
    async fn events_until(&mut self, name: &str) -> Vec<(String, Value)> {
        let mut seen = Vec::new();
        loop {
            let packet = self.packet().await;
            let event = as_event(&packet).unwrap_or_else(|| panic!("an event, got {packet}"));
            let done = event.0 == name;
            seen.push(event);
            if done {
                return seen;
            }
        }
    }

    /// The data of the next event named `name`, skipping others.
    async fn next_event(&mut self, name: &str) -> Value {
        let (_, data) = self.events_until(name).await.pop().unwrap();
        data
    }

    /// Sends a `join-room` the hub refuses and waits for the refusal: the
    /// hub acts on a socket's messages in order, so every message sent
    /// before has been handled. Returns the events that came first.
    async fn settle(&mut self) -> Vec<(String, Value)> {
        self.emit("join-room", json!("no-such-room")).await;
        let mut seen = Vec::new();
        loop {
            let packet = self.packet().await;
            if packet == ACCESS_DENIED {
                return seen;
            }
            seen.push(as_event(&packet).unwrap_or_else(|| panic!("an event, got {packet}")));
        }
    }

    /// Reads until the transport ends (a close frame, or the end of the
    /// stream); returns the packets that came before.
    async fn ended(&mut self) -> Vec<String> {
        let mut packets = Vec::new();
        loop {
            match timeout(WAIT, self.stream.next())
                .await
                .expect("the transport ends in time")
            {
                Some(Ok(Message::Text(t))) => packets.push(t.to_string()),
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return packets,
                Some(Ok(_)) => {}
            }
        }
    }
}

/// Socket.IO over HTTP long-polling.
struct SioPoll {
    client: reqwest::Client,
    url: String,
    origin: Option<String>,
    queue: VecDeque<String>,
}

impl SioPoll {
    /// Opens an Engine.IO session; the status of a refusal otherwise.
    async fn open(hub: &TestHub, origin: Option<&str>) -> Result<(SioPoll, String), StatusCode> {
        let base = format!("http://{}/socket.io/?EIO=4&transport=polling", hub.addr);
        let client = reqwest::Client::new();
        let mut req = client.get(&base);
        if let Some(o) = origin {
            req = req.header("origin", o);
        }
        let res = req.send().await.expect("request");
        if res.status() != StatusCode::OK {
            return Err(res.status());
        }
        let cors = res
            .headers()
            .get("access-control-allow-origin")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        let sid = open_sid(&res.text().await.unwrap());
        let poll = SioPoll {
            client,
            url: format!("{base}&sid={sid}"),
            origin: origin.map(str::to_owned),
            queue: VecDeque::new(),
        };
        Ok((poll, cors))
    }

    /// A socket in the default namespace with `token`.
    async fn connect(hub: &TestHub, token: &str) -> SioPoll {
        let (mut poll, _) = Self::open(hub, None).await.expect("the handshake succeeds");
        assert_eq!(poll.post(&[&with_token(token)]).await, StatusCode::OK);
        assert_connected(&poll.packet().await);
        poll
    }

    fn request(&self, method: reqwest::Method) -> reqwest::RequestBuilder {
        let req = self.client.request(method, &self.url);
        match &self.origin {
            Some(o) => req.header("origin", o),
            None => req,
        }
    }

    /// Sends packets in one POST, as the client batches them.
    async fn post(&self, packets: &[&str]) -> StatusCode {
        self.post_body(packets.join("\u{1e}")).await
    }

    async fn post_body(&self, body: String) -> StatusCode {
        self.request(reqwest::Method::POST)
            .header("content-type", "text/plain;charset=UTF-8")
            .body(body)
            .send()
            .await
            .expect("request")
            .status()
    }

    /// One long poll: the packets the hub had, or the next one.
    async fn poll(&self) -> Vec<String> {
        let res = timeout(WAIT, self.request(reqwest::Method::GET).send())
            .await
            .expect("a poll answered in time")
            .expect("request");
        assert_eq!(res.status(), StatusCode::OK);
        let body = res.text().await.unwrap();
        body.split('\u{1e}').map(str::to_owned).collect()
    }

    /// The next packet; the hub's pings are answered on the way.
    async fn packet(&mut self) -> String {
        loop {
            if let Some(packet) = self.queue.pop_front() {
                if packet == "2" {
                    self.post(&["3"]).await;
                    continue;
                }
                return packet;
            }
            let packets = self.poll().await;
            self.queue.extend(packets);
        }
    }

    /// The data of the next event named `name`, skipping others.
    async fn next_event(&mut self, name: &str) -> Value {
        loop {
            let packet = self.packet().await;
            let (event, data) =
                as_event(&packet).unwrap_or_else(|| panic!("an event, got {packet}"));
            if event == name {
                return data;
            }
        }
    }
}

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

fn socketio_connections(hub: &TestHub) -> u64 {
    hub.hub.registry.count(Transport::SocketIo)
}

async fn mark_sold_out(cafe: &Cafe, sold_out: bool) {
    let answer = cafe
        .barista
        .api
        .patch("/api/menu/croissant", json!({ "isSoldOut": sold_out }))
        .await;
    assert_eq!(ok(answer, 200)["isSoldOut"], sold_out);
}

// ---------------------------------------------------------------------------
// The handshake: tokens
// ---------------------------------------------------------------------------

#[tokio::test]
async fn a_barista_connects_over_websocket_with_its_token_and_reads_orders_as_events() {
    let cafe = Cafe::open().await;
    let mut ws = SioWs::connect(&cafe.hub, &cafe.barista.token).await;
    let order = cafe.order(&cafe.kiosk.api, &[("americano", 2)]).await;
    let data = ws.next_event("order:created").await;
    assert_eq!(data["orderId"], order["orderId"], "{data}");
    assert_eq!(data["dailyNum"], order["dailyNum"]);
    assert_eq!(data["totalAmount"], order["totalAmount"]);
    assert_eq!(data["status"], "PENDING");
    assert_eq!(data["items"][0]["menuId"], "americano");
    assert_eq!(data["items"][0]["quantity"], 2);
    assert!(data.get("seq").is_none(), "the event's data only: {data}");
}

#[tokio::test]
async fn a_handshake_without_a_token_or_with_a_bad_one_gets_a_connect_error() {
    let cafe = Cafe::open().await;
    let hub = &cafe.hub;
    let required = r#"44{"message":"Authentication required"}"#;
    let invalid = r#"44{"message":"Invalid token"}"#;
    for connect in [
        connect_packet(None),
        connect_packet(Some(json!({}))),
        connect_packet(Some(json!({ "token": null }))),
        with_token(""),
    ] {
        let (_, answer) = SioWs::handshake(hub, &connect).await;
        assert_eq!(answer, required, "{connect}");
    }

    let claims = |exp: chrono::DateTime<chrono::Utc>| Claims {
        sub: cafe.barista.id.clone(),
        role: Role::Barista,
        name: "test barista".into(),
        iat: (exp - chrono::Duration::days(1)).timestamp(),
        exp: exp.timestamp(),
        jti: support::rand_suffix(),
    };
    let expired = hub
        .hub
        .keys
        .mint(&claims(chrono::Utc::now() - chrono::Duration::hours(1)))
        .unwrap();
    let forged = countertop_hub::Keys::from_secret(b"0123456789abcdef0123456789abcdef-other")
        .mint(&claims(chrono::Utc::now() + chrono::Duration::days(1)))
        .unwrap();
    let (code, _) = cafe
        .manager
        .api
        .delete(&format!("/api/devices/{}", cafe.display.id))
        .await;
    assert_eq!(code, 204);
    for (what, connect) in [
        ("garbage", with_token("not-a-token")),
        ("expired", with_token(&expired)),
        ("forged", with_token(&forged)),
        ("revoked", with_token(&cafe.display.token)),
        ("not a string", connect_packet(Some(json!({ "token": 42 })))),
    ] {
        let (_, answer) = SioWs::handshake(hub, &connect).await;
        assert_eq!(answer, invalid, "{what}");
    }

    // Over long-polling alike.
    let (mut poll, _) = SioPoll::open(hub, None).await.unwrap();
    assert_eq!(poll.post(&["40"]).await, StatusCode::OK);
    assert_eq!(poll.packet().await, required);
    let (mut poll, _) = SioPoll::open(hub, None).await.unwrap();
    assert_eq!(poll.post(&[&with_token("nope")]).await, StatusCode::OK);
    assert_eq!(poll.packet().await, invalid);

    assert_eq!(socketio_connections(hub), 0, "nobody was admitted");
}

// ---------------------------------------------------------------------------
// Delivery over both transports
// ---------------------------------------------------------------------------

#[tokio::test]
async fn a_manager_long_polling_reads_dashboard_updates_and_notifications() {
    let cafe = Cafe::open().await;
    let mut poll = SioPoll::connect(&cafe.hub, &cafe.manager.token).await;

    cafe.order(&cafe.kiosk.api, &[("americano", 1)]).await;
    let update = poll.next_event("dashboard:update").await;
    assert!(update["widgetId"].is_string(), "{update}");
    assert!(update["value"].is_number(), "{update}");
    assert!(update["timestamp"].is_string(), "{update}");

    let answer = cafe
        .manager
        .api
        .post(
            "/api/notifications",
            json!({"level": "warning", "title": "Milk", "message": "Running low"}),
        )
        .await;
    ok(answer, 201);
    let notice = poll.next_event("system:notification").await;
    assert_eq!(notice["level"], "warning", "{notice}");
    assert_eq!(notice["title"], "Milk");
    assert_eq!(notice["message"], "Running low");
}

#[tokio::test]
async fn a_manager_over_websocket_reads_dashboard_updates_and_notifications() {
    let cafe = Cafe::open().await;
    let mut ws = SioWs::connect(&cafe.hub, &cafe.manager.token).await;
    cafe.order(&cafe.kiosk.api, &[("americano", 1)]).await;
    let update = ws.next_event("dashboard:update").await;
    assert!(update["widgetId"].is_string(), "{update}");
    let answer = cafe
        .manager
        .api
        .post(
            "/api/notifications",
            json!({"level": "info", "title": "Hello", "message": "Open at 8"}),
        )
        .await;
    ok(answer, 201);
    assert_eq!(ws.next_event("system:notification").await["title"], "Hello");
}

#[tokio::test]
async fn the_upgrade_from_long_polling_to_websocket_works_through_the_hubs_server() {
    let cafe = Cafe::open().await;
    let hub = &cafe.hub;
    // What socket.io-client does by default: a polling handshake and
    // CONNECT, then a WebSocket with the same sid, probed, then upgraded.
    let (mut poll, _) = SioPoll::open(hub, None).await.unwrap();
    assert_eq!(
        poll.post(&[&with_token(&cafe.barista.token)]).await,
        StatusCode::OK
    );
    assert_connected(&poll.packet().await);
    let sid = poll.url.rsplit_once("sid=").unwrap().1.to_owned();
    let url = format!("{}&sid={sid}", SioWs::url(hub));
    let mut ws = SioWs::open_url(&url, None)
        .await
        .expect("the upgrade succeeds");
    ws.send("2probe").await;
    assert_eq!(ws.packet().await, "3probe");
    ws.send("5").await;

    let order = cafe.order(&cafe.kiosk.api, &[("latte", 1)]).await;
    let data = ws.next_event("order:created").await;
    assert_eq!(data["orderId"], order["orderId"]);
    assert_eq!(socketio_connections(hub), 1, "one socket, upgraded");
}

// ---------------------------------------------------------------------------
// Rooms
// ---------------------------------------------------------------------------

#[tokio::test]
async fn join_room_of_a_topic_the_device_may_not_read_answers_access_denied() {
    let cafe = Cafe::open().await;
    let mut kiosk = SioWs::connect(&cafe.hub, &cafe.kiosk.token).await;
    let mut barista = SioWs::connect(&cafe.hub, &cafe.barista.token).await;
    let theirs = cafe.order(&cafe.manager.api, &[("americano", 1)]).await;
    let mine = cafe.order(&cafe.kiosk.api, &[("americano", 1)]).await;
    let id = |order: &Value| order["orderId"].as_str().unwrap().to_owned();
    // The board (a kiosk's default room) hears of both new orders first.
    for order in [&theirs, &mine] {
        let data = kiosk.next_event("order:status_changed").await;
        assert_eq!(data["orderId"], order["orderId"]);
        assert_eq!(data["status"], "PENDING");
    }

    for room in [
        json!("orders"),
        json!("dashboard"),
        json!(format!("order:{}", id(&theirs))),
    ] {
        kiosk.emit("join-room", room.clone()).await;
        assert_eq!(kiosk.packet().await, ACCESS_DENIED, "kiosk joining {room}");
    }
    for room in [
        json!("system"),
        json!("dashboard"),
        json!("no-such-topic"),
        json!("order:ORD-1-nosuch"),
        json!(42),
        Value::Null,
    ] {
        barista.emit("join-room", room.clone()).await;
        // A barista reads orders: the two orders' events may come first.
        loop {
            let packet = barista.packet().await;
            if packet == ACCESS_DENIED {
                break;
            }
            assert!(packet.starts_with(r#"42["order:created""#), "{packet}");
        }
    }

    // A room it may read: its own order, live from the join.
    kiosk
        .emit("join-room", json!(format!("order:{}", id(&mine))))
        .await;
    assert!(kiosk.settle().await.is_empty());
    cafe.move_to(&id(&mine), "MAKING").await;
    let changed = kiosk.next_event("order:status_changed").await;
    assert_eq!(changed["orderId"], mine["orderId"]);
    assert_eq!(changed["previousStatus"], "PENDING", "in full: {changed}");
}

#[tokio::test]
async fn leave_room_stops_delivery_and_an_event_read_through_two_rooms_arrives_once() {
    let cafe = Cafe::open().await;
    let hub = &cafe.hub;
    // A barista reads `orders` and `board` by default: a status change
    // reaches it through both, in full.
    let mut ws = SioWs::connect(hub, &cafe.barista.token).await;
    let first = cafe.order(&cafe.kiosk.api, &[("americano", 1)]).await;
    let first_id = first["orderId"].as_str().unwrap();
    cafe.move_to(first_id, "MAKING").await;
    mark_sold_out(&cafe, true).await;
    let seen = ws.events_until("menu:sold_out_changed").await;
    let names: Vec<&str> = seen.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "order:created",
            "order:status_changed",
            "menu:sold_out_changed"
        ]
    );
    assert_eq!(
        seen[1].1["previousStatus"], "PENDING",
        "in full: {:?}",
        seen[1]
    );
    assert_eq!(hub.hub.registry.topic_counts().get("orders"), Some(&1));

    ws.emit("leave-room", json!("orders")).await;
    assert!(ws.settle().await.is_empty());
    assert_eq!(hub.hub.registry.topic_counts().get("orders"), None);

    let second = cafe.order(&cafe.kiosk.api, &[("americano", 1)]).await;
    cafe.move_to(second["orderId"].as_str().unwrap(), "MAKING")
        .await;
    mark_sold_out(&cafe, false).await;
    let seen = ws.events_until("menu:sold_out_changed").await;
    let names: Vec<&str> = seen.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "order:status_changed",
            "order:status_changed",
            "menu:sold_out_changed"
        ],
        "no order:created after leaving orders: the board's view of the new order and its move"
    );
    for (view, status) in [(&seen[0].1, "PENDING"), (&seen[1].1, "MAKING")] {
        assert_eq!(view["orderId"], second["orderId"]);
        assert_eq!(view["status"], status);
        assert!(view.get("previousStatus").is_none(), "{view}");
    }

    // Leaving the board too: the next move is not heard at all.
    ws.emit("leave-room", json!("board")).await;
    assert!(ws.settle().await.is_empty());
    cafe.move_to(second["orderId"].as_str().unwrap(), "READY")
        .await;
    mark_sold_out(&cafe, true).await;
    let seen = ws.events_until("menu:sold_out_changed").await;
    assert_eq!(seen.len(), 1, "{seen:?}");
}

// ---------------------------------------------------------------------------
// Revocation, origins, limits, shutdown
// ---------------------------------------------------------------------------

#[tokio::test]
async fn revoking_a_device_disconnects_each_of_its_sockets() {
    let cafe = Cafe::open().await;
    let hub = &cafe.hub;
    let mut ws = SioWs::connect(hub, &cafe.barista.token).await;
    let mut poll = SioPoll::connect(hub, &cafe.barista.token).await;
    let mut bystander = SioWs::connect(hub, &cafe.kiosk.token).await;
    assert_eq!(socketio_connections(hub), 3);

    let (code, body) = cafe
        .manager
        .api
        .delete(&format!("/api/devices/{}", cafe.barista.id))
        .await;
    assert_eq!(code, 204, "{body}");
    // `41`: the server disconnected the socket ("io server disconnect"), so
    // socket.io-client does not reconnect with the dead token on its own.
    assert_eq!(ws.packet().await, "41");
    assert_eq!(poll.packet().await, "41");
    eventually("the revoked sockets are unregistered", || async {
        socketio_connections(hub) == 1
    })
    .await;
    assert!(bystander.settle().await.is_empty(), "another device stays");
}

#[tokio::test]
async fn a_foreign_origin_is_refused_with_403_and_allowed_ones_get_cors_headers() {
    let hub =
        TestHub::start_with(|c| c.allowed_origins = vec!["https://pos.example.com".into()]).await;
    for foreign in ["https://evil.example", "http://localhost:5173"] {
        match SioWs::open(&hub, Some(foreign)).await {
            Err(tungstenite::Error::Http(response)) => {
                assert_eq!(response.status().as_u16(), 403, "{foreign}")
            }
            Err(other) => panic!("expected an HTTP refusal, got {other}"),
            Ok(_) => panic!("{foreign} upgraded"),
        }
        let refused = SioPoll::open(&hub, Some(foreign)).await.err();
        assert_eq!(refused, Some(StatusCode::FORBIDDEN), "{foreign} polling");
    }
    let own = format!("http://{}", hub.addr);
    for allowed in ["https://pos.example.com", own.as_str(), "tauri://localhost"] {
        let mut ws = SioWs::open(&hub, Some(allowed))
            .await
            .unwrap_or_else(|e| panic!("{allowed} is allowed: {e}"));
        open_sid(&ws.packet().await);
        let (poll, cors) = SioPoll::open(&hub, Some(allowed))
            .await
            .unwrap_or_else(|s| panic!("{allowed} polls: {s}"));
        assert_eq!(cors, allowed, "CORS for a browser page of {allowed}");
        // The session's next requests carry the origin too.
        assert_eq!(poll.post(&["40"]).await, StatusCode::OK);
    }
    // A native client sends no Origin.
    let mut native = SioWs::open(&hub, None).await.unwrap();
    open_sid(&native.packet().await);
}

#[tokio::test]
async fn a_flood_of_messages_is_refused_then_disconnected() {
    let cafe = Cafe::open().await;
    let mut ws = SioWs::connect(&cafe.hub, &cafe.kiosk.token).await;
    // 500 messages a second; the hub allows 20 (bursts of 40) and ends a
    // flood after three seconds.
    let mut tick = tokio::time::interval(Duration::from_millis(2));
    let deadline = tokio::time::sleep(WAIT);
    tokio::pin!(deadline);
    let started = Instant::now();
    let mut refusals = 0;
    loop {
        tokio::select! {
            _ = tick.tick() => ws.send(r#"42["noise",{"n":1}]"#).await,
            message = ws.stream.next() => match message {
                Some(Ok(Message::Text(t))) if t.as_str() == "41" => break,
                Some(Ok(Message::Text(t))) if t.as_str() == RATE_LIMITED => refusals += 1,
                Some(Ok(Message::Text(t))) if t.as_str() == "2" => ws.send("3").await,
                other => panic!("unexpected while flooding: {other:?}"),
            },
            () = &mut deadline => panic!("the flood was not disconnected"),
        }
    }
    let took = started.elapsed();
    assert!(refusals > 0, "the flood was refused before it was ended");
    assert!(took >= Duration::from_secs(3), "ended after {took:?}");
    let metrics = cafe.anonymous().get("/metrics").await.1;
    let text = metrics.as_str().unwrap();
    let series = format!(
        "countertop_rate_limited_messages_total{{node=\"{}\"}} ",
        cafe.hub.hub.config.node_name
    );
    let counted: u64 = text
        .lines()
        .find_map(|l| l.strip_prefix(&series)?.parse().ok())
        .unwrap_or_else(|| panic!("no {series}in {text}"));
    assert!(counted > 0, "{text}");
}

#[tokio::test]
async fn an_oversized_message_ends_the_session() {
    let cafe = Cafe::open().await;
    let big = format!(r#"42["join-room","{}"]"#, "a".repeat(70 * 1024));

    let mut ws = SioWs::connect(&cafe.hub, &cafe.barista.token).await;
    ws.send(&big).await;
    let before = ws.ended().await;
    assert!(before.iter().all(|p| p != ACCESS_DENIED), "{before:?}");

    let poll = SioPoll::connect(&cafe.hub, &cafe.barista.token).await;
    assert_eq!(poll.post_body(big).await, StatusCode::PAYLOAD_TOO_LARGE);
    eventually("both sessions are gone", || async {
        socketio_connections(&cafe.hub) == 0
    })
    .await;
}

#[tokio::test]
async fn sockets_are_counted_with_their_rooms_and_in_metrics() {
    let cafe = Cafe::open().await;
    let hub = &cafe.hub;
    let mut barista = SioWs::connect(hub, &cafe.barista.token).await;
    let manager = SioPoll::connect(hub, &cafe.manager.token).await;
    assert_eq!(socketio_connections(hub), 2);
    let topics = hub.hub.registry.topic_counts();
    assert_eq!(topics.get("orders"), Some(&2), "{topics:?}");
    assert_eq!(topics.get("dashboard"), Some(&1), "{topics:?}");
    assert!(hub
        .hub
        .registry
        .connected_devices()
        .contains(&cafe.barista.id));

    let id = cafe.order_id().await;
    barista
        .emit("join-room", json!(format!("order:{id}")))
        .await;
    barista.settle().await;
    assert_eq!(
        hub.hub.registry.topic_counts().get(&format!("order:{id}")),
        Some(&1)
    );

    let (_, metrics) = cafe.anonymous().get("/metrics").await;
    let node = &cafe.hub.hub.config.node_name;
    assert!(
        metrics.as_str().unwrap().contains(&format!(
            "countertop_socketio_connections_total{{node=\"{node}\"}} 2\n"
        )),
        "{metrics}"
    );
    assert!(
        metrics.as_str().unwrap().contains(&format!(
            "countertop_socketio_connections{{node=\"{node}\"}} 2\n"
        )),
        "open sockets are a gauge: {metrics}"
    );

    barista.stream.close(None).await.unwrap();
    assert_eq!(manager.post(&["1"]).await, StatusCode::OK, "close packet");
    eventually("closed sockets are no longer counted", || async {
        socketio_connections(hub) == 0
    })
    .await;
    assert!(hub.hub.registry.topic_counts().is_empty());
}

#[tokio::test]
async fn a_graceful_shutdown_closes_the_transports_without_disconnecting_the_sockets() {
    let cafe = Cafe::open().await;
    let mut ws = SioWs::connect(&cafe.hub, &cafe.barista.token).await;
    let poll = SioPoll::connect(&cafe.hub, &cafe.manager.token).await;
    // A long poll waiting for packets holds its HTTP exchange open; the
    // shutdown must end it rather than wait for the next ping (20 s).
    let pending = tokio::spawn(async move {
        let res = poll.request(reqwest::Method::GET).send().await?;
        res.text().await
    });
    let Cafe { hub, .. } = cafe;
    hub.stop().await;
    // Not `41`: a closed transport makes socket.io-client reconnect, a
    // namespace disconnect would not.
    let before = ws.ended().await;
    assert!(before.iter().all(|p| p != "41"), "{before:?}");
    // The poll may also have come too late, when its connection was
    // closing: then it fails, which a client retries as well.
    let polled = timeout(WAIT, pending)
        .await
        .expect("the long poll ends")
        .expect("poll task");
    if let Ok(body) = polled {
        assert!(body.split('\u{1e}').all(|p| p != "41"), "{body:?}");
    }
}
