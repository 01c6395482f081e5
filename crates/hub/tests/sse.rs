//! The hub's Server-Sent Events side (`GET /api/stream`,
//! `GET /api/workorders/stream`) against a real hub: the welcome, ids,
//! resuming with `Last-Event-ID`, resync, who may read what, and the ends of
//! a stream. The text stream is parsed as a browser's EventSource would.

mod support;

use std::future::Future;
use std::time::Duration;

use countertop_protocol::Role;
use futures::stream::BoxStream;
use futures::StreamExt;
use reqwest::StatusCode;
use serde_json::{json, Value};
use support::{Api, Device, TestHub, WAIT};
use tokio::time::{timeout, Instant};

// ---------------------------------------------------------------------------
// An SSE client
// ---------------------------------------------------------------------------

/// One block of the stream: an event, or only comments.
#[derive(Debug, Clone, PartialEq, Default)]
struct Block {
    id: Option<String>,
    event: Option<String>,
    data: Option<String>,
    retry: Option<u64>,
    comments: Vec<String>,
}

impl Block {
    fn parse(text: &str) -> Block {
        let mut block = Block::default();
        for line in text.split('\n') {
            if let Some(comment) = line.strip_prefix(':') {
                block.comments.push(comment.trim().to_owned());
                continue;
            }
            let (field, value) = line.split_once(':').unwrap_or((line, ""));
            let value = value.strip_prefix(' ').unwrap_or(value).to_owned();
            match field {
                "id" => block.id = Some(value),
                "event" => block.event = Some(value),
                "retry" => block.retry = Some(value.parse().expect("retry is a number")),
                "data" => {
                    block.data = Some(match block.data.take() {
                        Some(before) => format!("{before}\n{value}"),
                        None => value,
                    })
                }
                other => panic!("unknown SSE field {other:?} in {text:?}"),
            }
        }
        block
    }

    fn name(&self) -> &str {
        self.event.as_deref().unwrap_or("message")
    }

    fn seq(&self) -> u64 {
        self.id
            .as_deref()
            .expect("an id")
            .parse()
            .expect("a numeric id")
    }

    fn json(&self) -> Value {
        serde_json::from_str(self.data.as_deref().expect("data")).expect("JSON data")
    }
}

struct Sse {
    body: BoxStream<'static, reqwest::Result<Vec<u8>>>,
    buf: Vec<u8>,
}

impl Sse {
    /// Opens `path` with an optional token and `Last-Event-ID`; the status
    /// and body when the hub refuses.
    async fn open(
        hub: &TestHub,
        token: Option<&str>,
        path: &str,
        last_event_id: Option<&str>,
    ) -> Result<Sse, (StatusCode, Value)> {
        let mut req = reqwest::Client::new().get(hub.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(id) = last_event_id {
            req = req.header("last-event-id", id);
        }
        let res = timeout(WAIT, req.send())
            .await
            .expect("response in time")
            .expect("request");
        let status = res.status();
        if status != StatusCode::OK {
            let text = res.text().await.unwrap_or_default();
            return Err((
                status,
                serde_json::from_str(&text).unwrap_or(Value::String(text)),
            ));
        }
        let kind = res.headers()["content-type"].to_str().unwrap().to_owned();
        assert!(kind.starts_with("text/event-stream"), "{kind}");
        Ok(Sse {
            body: res.bytes_stream().map(|r| r.map(|b| b.to_vec())).boxed(),
            buf: Vec::new(),
        })
    }

    async fn open_ok(hub: &TestHub, device: Option<&Device>, path: &str) -> Sse {
        Sse::open(hub, device.map(|d| d.token.as_str()), path, None)
            .await
            .unwrap_or_else(|(s, b)| panic!("{path}: {s} {b}"))
    }

    /// The next block, or `None` when the stream has ended.
    async fn block(&mut self) -> Option<Block> {
        loop {
            if let Some(pos) = self.buf.windows(2).position(|w| w == b"\n\n") {
                let text = String::from_utf8(self.buf[..pos].to_vec()).expect("UTF-8");
                self.buf.drain(..pos + 2);
                return Some(Block::parse(&text));
            }
            match timeout(WAIT, self.body.next())
                .await
                .expect("SSE data in time")
            {
                Some(Ok(bytes)) => self.buf.extend_from_slice(&bytes),
                Some(Err(_)) | None => return None,
            }
        }
    }

    /// The next event, skipping comment lines; panics if the stream ends.
    async fn next(&mut self) -> Block {
        loop {
            let block = self.block().await.expect("the stream is open");
            if block.event.is_some() || block.data.is_some() {
                return block;
            }
        }
    }

    /// Reads the welcome and returns its data.
    async fn welcome(&mut self) -> Value {
        let welcome = self.next().await;
        assert_eq!(welcome.name(), "welcome", "{welcome:?}");
        welcome.json()
    }

    /// Reads the workshop stream's first event, `{"type":"connected",…}`
    /// with no name, and returns its data.
    async fn connected(&mut self) -> Value {
        let connected = self.next().await;
        assert_eq!(connected.event, None, "unnamed: {connected:?}");
        assert_eq!(connected.json()["type"], "connected", "{connected:?}");
        connected.json()
    }

    /// Events until (and with) the first that `last` accepts.
    async fn until(&mut self, last: impl Fn(&Block) -> bool) -> Vec<Block> {
        let mut out = Vec::new();
        loop {
            let block = self.next().await;
            let done = last(&block);
            out.push(block);
            if done {
                return out;
            }
        }
    }

    /// Waits for the hub to end the stream.
    async fn ended(&mut self) {
        while let Some(block) = self.block().await {
            assert!(
                block.event.is_none(),
                "no event expected before the end: {block:?}"
            );
        }
    }
}

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

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

async fn order(api: &Api) -> String {
    let (status, body) = api.order(&[("americano", 1)], "CARD").await;
    assert_eq!(status, 201, "{body}");
    body["orderId"].as_str().unwrap().to_owned()
}

async fn health(hub: &TestHub) -> Value {
    hub.anonymous().get("/healthz").await.1
}

/// A WebSocket replay of `topics` from `since`: the events as
/// `(seq, name, data)`.
async fn ws_replay(
    hub: &TestHub,
    device: &Device,
    topics: &[&str],
    since: u64,
    epoch: &str,
) -> Vec<(u64, String, Value)> {
    let mut ws = hub.connect(Some(device)).await;
    ws.next_event("welcome").await;
    ws.send(json!({"type": "subscribe", "topics": topics, "since": since, "epoch": epoch}))
        .await;
    assert_eq!(ws.next().await["event"], "subscribed");
    let mut out = Vec::new();
    loop {
        let f = ws.next().await;
        if f["event"] == "replayed" {
            return out;
        }
        out.push((
            f["seq"].as_u64().unwrap(),
            f["event"].as_str().unwrap().to_owned(),
            f["data"].clone(),
        ));
    }
}

fn triples(blocks: &[Block]) -> Vec<(u64, String, Value)> {
    blocks
        .iter()
        .map(|b| (b.seq(), b.name().to_owned(), b.json()))
        .collect()
}

async fn present(manager: &Api, display: &Device) -> String {
    let (code, wo) = manager
        .post(
            "/api/workorders",
            json!({"title": "Repair", "customerName": "Lee",
                   "lines": [{"description": "grinder", "amount": 30000}]}),
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
    id
}

// ---------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------

#[tokio::test]
async fn an_sse_stream_opens_with_a_welcome_carrying_epoch_and_seq_and_a_5000_ms_retry() {
    let hub = TestHub::start().await;
    let kiosk = hub.pair(Role::Kiosk).await;
    order(&kiosk.api).await;
    let health = health(&hub).await;
    let mut sse = Sse::open_ok(&hub, None, "/api/stream?topics=board,menu").await;
    let welcome = sse.next().await;
    assert_eq!(welcome.name(), "welcome");
    assert_eq!(welcome.retry, Some(5000));
    assert_eq!(welcome.id, None, "the welcome is not a durable event");
    assert_eq!(
        welcome.json(),
        json!({"epoch": health["epoch"], "seq": health["seq"]})
    );
}

#[tokio::test]
async fn sse_events_carry_the_seq_as_id_the_name_as_event_and_the_same_data_as_the_websocket() {
    let hub = TestHub::start().await;
    let kiosk = hub.pair(Role::Kiosk).await;
    let barista = hub.pair(Role::Barista).await;
    let mut sse = Sse::open_ok(&hub, Some(&barista), "/api/stream?topics=orders").await;
    let start = sse.welcome().await["seq"].as_u64().unwrap();
    let mut ws = hub.connect(Some(&barista)).await;
    ws.next_event("welcome").await;
    ws.subscribe(&["orders"]).await;

    let id = order(&kiosk.api).await;
    barista.api.set_status(&id, "MAKING").await;
    let over_sse = [sse.next().await, sse.next().await];
    let over_ws = [ws.next().await, ws.next().await];
    for (s, w) in over_sse.iter().zip(&over_ws) {
        assert_eq!(s.seq(), w["seq"].as_u64().unwrap());
        assert!(s.seq() > start);
        assert_eq!(s.name(), w["event"].as_str().unwrap());
        assert_eq!(s.json(), w["data"]);
    }
    assert_eq!(over_sse[0].name(), "order:created");
    assert_eq!(over_sse[1].json()["status"], "MAKING");
}

#[tokio::test]
async fn resuming_with_last_event_id_or_the_query_gives_the_same_events_as_a_websocket_with_that_cursor(
) {
    let hub = TestHub::start().await;
    let kiosk = hub.pair(Role::Kiosk).await;
    let barista = hub.pair(Role::Barista).await;
    let epoch = health(&hub).await["epoch"].as_str().unwrap().to_owned();
    order(&kiosk.api).await;
    let cursor = hub.hub.log.seq();
    let a = order(&kiosk.api).await;
    let b = order(&kiosk.api).await;
    barista.api.set_status(&a, "MAKING").await;
    barista.api.cancel(&b).await;
    let newest = hub.hub.log.seq();

    let expected = ws_replay(&hub, &barista, &["orders"], cursor, &epoch).await;
    assert_eq!(expected.len(), 4);
    let is_last = |b: &Block| b.seq() == expected.last().unwrap().0;

    let cursor_text = cursor.to_string();
    let mut by_header = Sse::open(
        &hub,
        Some(&barista.token),
        "/api/stream?topics=orders",
        Some(&cursor_text),
    )
    .await
    .unwrap();
    let welcome = by_header.welcome().await;
    assert_eq!(welcome["epoch"], epoch.as_str());
    assert_eq!(triples(&by_header.until(is_last).await), expected);

    let mut by_query = Sse::open_ok(
        &hub,
        Some(&barista),
        &format!("/api/stream?topics=orders&lastEventId={cursor}&epoch={epoch}"),
    )
    .await;
    by_query.welcome().await;
    assert_eq!(triples(&by_query.until(is_last).await), expected);

    // Both continue live, after the replay and without repeats.
    let c = order(&kiosk.api).await;
    for sse in [&mut by_header, &mut by_query] {
        let live = sse.next().await;
        assert_eq!(live.json()["orderId"], c.as_str());
        assert!(live.seq() > newest);
    }
}

#[tokio::test]
async fn an_sse_stream_opened_while_orders_are_posted_misses_none_after_its_welcome() {
    let hub = TestHub::start().await;
    let kiosk = hub.pair(Role::Kiosk).await;
    let barista = hub.pair(Role::Barista).await;
    let epoch = health(&hub).await["epoch"].as_str().unwrap().to_owned();
    let since = hub.hub.log.seq();
    let poster = tokio::spawn({
        let api = kiosk.api.clone();
        async move {
            let mut ids = Vec::new();
            for _ in 0..25 {
                ids.push(order(&api).await);
            }
            ids
        }
    });
    let mut streams = Vec::new();
    for _ in 0..5 {
        // Open each stream once another order is in, so they spread over
        // the posting.
        let seen = hub.hub.log.seq();
        eventually("another order is in", || async {
            hub.hub.log.seq() > seen || poster.is_finished()
        })
        .await;
        let mut sse = Sse::open_ok(&hub, Some(&barista), "/api/stream?topics=orders").await;
        let start = sse.welcome().await["seq"].as_u64().unwrap();
        streams.push((start, sse));
    }
    let posted = poster.await.unwrap();
    let last = posted.last().unwrap().clone();
    let all = ws_replay(&hub, &barista, &["orders"], since, &epoch).await;
    assert_eq!(all.len(), posted.len());
    for (start, mut sse) in streams {
        let expected: Vec<_> = all.iter().filter(|(s, ..)| *s > start).cloned().collect();
        if expected.is_empty() {
            continue;
        }
        let got = sse.until(|b| b.json()["orderId"] == last.as_str()).await;
        assert_eq!(
            triples(&got),
            expected,
            "everything after welcome seq {start}"
        );
    }
}

#[tokio::test]
async fn an_sse_resume_from_pruned_history_is_answered_with_resync_history_expired() {
    let hub = TestHub::start().await;
    let kiosk = hub.pair(Role::Kiosk).await;
    let barista = hub.pair(Role::Barista).await;
    for _ in 0..3 {
        order(&kiosk.api).await;
    }
    let newest = hub.hub.log.seq();
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
    assert!(deleted > 0);

    let old = (newest - 4).to_string();
    let mut sse = Sse::open(
        &hub,
        Some(&barista.token),
        "/api/stream?topics=orders",
        Some(&old),
    )
    .await
    .unwrap();
    sse.welcome().await;
    let resync = sse.next().await;
    assert_eq!(resync.name(), "resync");
    assert_eq!(resync.json(), json!({"reason": "history_expired"}));
    // The stream stays live for new events.
    let id = order(&kiosk.api).await;
    assert_eq!(sse.next().await.json()["orderId"], id.as_str());

    let kept = newest - 3;
    let mut sse = Sse::open_ok(
        &hub,
        Some(&barista),
        &format!("/api/stream?topics=orders&lastEventId={kept}"),
    )
    .await;
    sse.welcome().await;
    let next = sse.next().await;
    assert_eq!(next.name(), "order:created", "no resync from kept history");
    assert_eq!(next.json()["orderId"], id.as_str());
}

#[tokio::test]
async fn an_sse_resume_with_a_wrong_epoch_or_after_a_wipe_is_answered_with_resync_epoch_changed() {
    let hub = TestHub::start().await;
    let kiosk = hub.pair(Role::Kiosk).await;
    let barista = hub.pair(Role::Barista).await;
    for _ in 0..2 {
        order(&kiosk.api).await;
    }
    let old_epoch = health(&hub).await["epoch"].as_str().unwrap().to_owned();
    let cursor = hub.hub.log.seq();

    let mut sse = Sse::open_ok(
        &hub,
        Some(&barista),
        "/api/stream?topics=orders&lastEventId=1&epoch=0000000000000000",
    )
    .await;
    sse.welcome().await;
    let resync = sse.next().await;
    assert_eq!(resync.name(), "resync");
    assert_eq!(resync.json(), json!({"reason": "epoch_changed"}));

    let dir = hub.stop().await;
    {
        let pool = support::open_store(dir.path()).await;
        countertop_hub::EventLog::wipe(&pool).await.unwrap();
        pool.close().await;
    }
    let hub = TestHub::start_in(dir, |_| {}).await;
    let mut sse = Sse::open_ok(
        &hub,
        Some(&barista),
        &format!("/api/stream?topics=orders&lastEventId={cursor}&epoch={old_epoch}"),
    )
    .await;
    let welcome = sse.welcome().await;
    assert_ne!(welcome["epoch"], old_epoch.as_str());
    let resync = sse.next().await;
    assert_eq!(resync.name(), "resync");
    assert_eq!(resync.json(), json!({"reason": "epoch_changed"}));
}

#[tokio::test]
async fn sse_topics_follow_the_role_table_and_the_board_gets_only_number_and_status() {
    let hub = TestHub::start().await;
    let kiosk = hub.pair(Role::Kiosk).await;
    let other_kiosk = hub.pair(Role::Kiosk).await;
    let display = hub.pair(Role::Display).await;
    let barista = hub.pair(Role::Barista).await;
    let own = order(&kiosk.api).await;
    let theirs = order(&other_kiosk.api).await;

    let refused = [
        (None, "orders", 401),
        (None, "cells", 401),
        (Some(&kiosk), "orders", 403),
        (Some(&kiosk), "system", 403),
        (Some(&display), "cells", 403),
        (Some(&barista), "dashboard", 403),
        (Some(&barista), "workorders", 403),
    ];
    for (who, topic, status) in refused {
        let token = who.map(|d| d.token.as_str());
        let (code, body) = Sse::open(
            &hub,
            token,
            &format!("/api/stream?topics=board,{topic}"),
            None,
        )
        .await
        .err()
        .unwrap_or_else(|| panic!("{topic} is refused"));
        assert_eq!(code.as_u16(), status, "{topic}: {body}");
    }
    let (code, body) = Sse::open(
        &hub,
        Some(&kiosk.token),
        &format!("/api/stream?topics=order:{theirs}"),
        None,
    )
    .await
    .err()
    .expect("another kiosk's order is refused");
    assert_eq!(code, 403, "{body}");
    for path in ["/api/stream", "/api/stream?topics=nonsense"] {
        let (code, body) = Sse::open(&hub, None, path, None)
            .await
            .err()
            .expect("refused");
        assert_eq!(body["error"]["code"], "validation", "{path}: {code}");
    }
    let (code, body) = Sse::open(&hub, None, "/api/stream?topics=board", Some("yesterday"))
        .await
        .err()
        .expect("a Last-Event-ID that is not a seq is refused");
    assert_eq!(body["error"]["code"], "validation", "{code}");
    let (code, _) = Sse::open(&hub, Some("garbage"), "/api/stream?topics=board", None)
        .await
        .err()
        .expect("a bad token is refused");
    assert_eq!(code, 401);

    let mut mine = Sse::open_ok(
        &hub,
        Some(&kiosk),
        &format!("/api/stream?topics=order:{own},cells"),
    )
    .await;
    mine.welcome().await;
    let mut board = Sse::open_ok(&hub, None, "/api/stream?topics=board").await;
    board.welcome().await;
    barista.api.set_status(&theirs, "MAKING").await;
    barista.api.set_status(&own, "MAKING").await;
    barista.api.cancel(&own).await;
    let seen = mine.next().await;
    assert_eq!(seen.json()["orderId"], own.as_str(), "its own order only");
    assert_eq!(seen.json()["previousStatus"], "PENDING");
    assert_eq!(mine.next().await.name(), "order:cancelled");

    let shown = [board.next().await, board.next().await, board.next().await];
    let data: Vec<Value> = shown.iter().map(Block::json).collect();
    assert!(shown.iter().all(|b| b.name() == "order:status_changed"));
    assert_eq!(data[0]["orderId"], theirs.as_str());
    assert_eq!(data[1].as_object().unwrap().len(), 3, "{}", data[1]);
    assert_eq!(data[2]["status"], "CANCELLED");
    assert_eq!(data[2]["orderId"], own.as_str());
}

#[tokio::test]
async fn the_workorders_stream_serves_managers_and_each_display_only_what_is_presented_to_it() {
    let hub = TestHub::start().await;
    let manager = hub.pair(Role::Manager).await;
    let barista = hub.pair(Role::Barista).await;
    let first = hub.pair(Role::Display).await;
    let second = hub.pair(Role::Display).await;
    let (code, _) = Sse::open(&hub, Some(&barista.token), "/api/workorders/stream", None)
        .await
        .err()
        .expect("a barista is refused");
    assert_eq!(code, 403);
    let (code, _) = Sse::open(&hub, None, "/api/workorders/stream", None)
        .await
        .err()
        .expect("anonymous is refused");
    assert_eq!(code, 401);

    let mut managers = Sse::open_ok(&hub, Some(&manager), "/api/workorders/stream").await;
    managers.connected().await;
    let mut d1 = Sse::open_ok(&hub, Some(&first), "/api/workorders/stream").await;
    d1.connected().await;
    let mut d2 = Sse::open_ok(&hub, Some(&second), "/api/workorders/stream").await;
    d2.connected().await;

    let w1 = present(&manager.api, &first).await;
    let w2 = present(&manager.api, &second).await;
    let w3 = present(&manager.api, &first).await;
    let w4 = present(&manager.api, &second).await;

    let ids = |blocks: &[Block]| -> Vec<(String, String)> {
        blocks
            .iter()
            .map(|b| {
                assert_eq!(b.event, None, "{b:?}");
                let d = b.json();
                assert_eq!(d["type"], "workorder-update", "{b:?}");
                (
                    d["workOrderId"].as_str().unwrap().to_owned(),
                    d["changeType"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    };
    let pair = |id: &str, change: &str| (id.to_owned(), change.to_owned());
    let got = managers
        .until(|b| b.json()["workOrderId"] == w4.as_str() && b.json()["changeType"] == "presented")
        .await;
    assert_eq!(
        ids(&got),
        [
            pair(&w1, "created"),
            pair(&w1, "presented"),
            pair(&w2, "created"),
            pair(&w2, "presented"),
            pair(&w3, "created"),
            pair(&w3, "presented"),
            pair(&w4, "created"),
            pair(&w4, "presented"),
        ]
    );
    let got = d1.until(|b| b.json()["workOrderId"] == w3.as_str()).await;
    assert_eq!(ids(&got), [pair(&w1, "presented"), pair(&w3, "presented")]);
    let got = d2.until(|b| b.json()["workOrderId"] == w4.as_str()).await;
    assert_eq!(ids(&got), [pair(&w2, "presented"), pair(&w4, "presented")]);
}

#[tokio::test]
async fn revoking_a_device_ends_its_sse_stream_and_leaves_others_open() {
    let hub = TestHub::start().await;
    let manager = hub.pair(Role::Manager).await;
    let barista = hub.pair(Role::Barista).await;
    let kiosk = hub.pair(Role::Kiosk).await;
    let mut doomed = Sse::open_ok(&hub, Some(&barista), "/api/stream?topics=orders,menu").await;
    doomed.welcome().await;
    let mut bystander = Sse::open_ok(&hub, Some(&kiosk), "/api/stream?topics=menu").await;
    bystander.welcome().await;

    let (code, body) = manager
        .api
        .delete(&format!("/api/devices/{}", barista.id))
        .await;
    assert_eq!(code, 204, "{body}");
    doomed.ended().await;

    let (code, body) = manager
        .api
        .patch("/api/menu/latte", json!({"isSoldOut": true}))
        .await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(bystander.next().await.name(), "menu:sold_out_changed");
    let (code, _) = Sse::open(&hub, Some(&barista.token), "/api/stream?topics=menu", None)
        .await
        .err()
        .expect("the revoked token is refused");
    assert_eq!(code, 401);
}

#[tokio::test]
async fn a_graceful_shutdown_ends_every_sse_stream() {
    let hub = TestHub::start().await;
    let barista = hub.pair(Role::Barista).await;
    let mut a = Sse::open_ok(&hub, Some(&barista), "/api/stream?topics=orders").await;
    a.welcome().await;
    let mut b = Sse::open_ok(&hub, None, "/api/stream?topics=board").await;
    b.welcome().await;
    hub.stop().await;
    a.ended().await;
    b.ended().await;
}

#[tokio::test]
async fn a_quiet_sse_stream_gets_keep_alive_comments() {
    let hub = TestHub::start_with(|c| c.sse_keepalive = Duration::from_millis(100)).await;
    let mut sse = Sse::open_ok(&hub, None, "/api/stream?topics=board").await;
    sse.welcome().await;
    let block = sse.block().await.expect("open");
    assert_eq!(block.event, None);
    assert_eq!(block.data, None);
    assert!(!block.comments.is_empty(), "{block:?}");
}

#[tokio::test]
async fn ws_stats_count_sse_streams_with_their_devices_and_topics() {
    let hub = TestHub::start().await;
    let manager = hub.pair(Role::Manager).await;
    let barista = hub.pair(Role::Barista).await;
    let mut a = Sse::open_ok(&hub, Some(&barista), "/api/stream?topics=orders,board").await;
    a.welcome().await;
    let mut b = Sse::open_ok(&hub, None, "/api/stream?topics=board").await;
    b.welcome().await;
    let (code, stats) = manager.api.get("/api/ws/stats").await;
    assert_eq!(code, 200);
    assert_eq!(stats["success"], true, "{stats}");
    let stats = &stats["data"];
    assert_eq!(stats["totalConnections"], 2);
    assert_eq!(stats["totalDevices"], 1);
    assert_eq!(stats["totalUsers"], 1);
    assert_eq!(stats["topics"], json!({"orders": 1, "board": 2}));
    assert_eq!(
        stats["transports"],
        json!({"websocket": 0, "sse": 2, "socketio": 0})
    );

    drop(a);
    eventually("the dropped stream is no longer counted", || async {
        manager.api.get("/api/ws/stats").await.1["data"]["totalConnections"] == 1
    })
    .await;
}

async fn move_column(manager: &Api, id: &str, column: &str) {
    let (code, body) = manager
        .patch(
            &format!("/api/workorders/{id}/column"),
            json!({ "column": column }),
        )
        .await;
    assert_eq!(code, 200, "{body}");
}

/// The workshop stream's blocks as `(seq, data without type)`, each checked
/// to be an unnamed `workorder-update`.
fn workshop_updates(blocks: &[Block]) -> Vec<(u64, Value)> {
    blocks
        .iter()
        .map(|b| {
            assert_eq!(b.event, None, "EventSource.onmessage reads it: {b:?}");
            let mut data = b.json();
            let fields = data.as_object_mut().expect("an object");
            assert_eq!(
                fields.remove("type"),
                Some(json!("workorder-update")),
                "{b:?}"
            );
            (b.seq(), data)
        })
        .collect()
}

#[tokio::test]
async fn the_workorders_stream_speaks_the_workshops_shape_unnamed_events_keyed_by_type() {
    let hub = TestHub::start().await;
    let manager = hub.pair(Role::Manager).await;
    let display = hub.pair(Role::Display).await;
    let epoch = health(&hub).await["epoch"].as_str().unwrap().to_owned();
    let since = hub.hub.log.seq();
    let mut sse = Sse::open_ok(&hub, Some(&manager), "/api/workorders/stream").await;
    let first = sse.next().await;
    assert_eq!(first.event, None, "no event: line, so onmessage fires");
    assert_eq!(first.id, None, "connected is not a durable event");
    assert_eq!(first.retry, Some(5000));
    assert_eq!(
        first.json(),
        json!({"type": "connected", "epoch": epoch, "seq": since})
    );

    let id = present(&manager.api, &display).await;
    move_column(&manager.api, &id, "Parts ordered").await;
    let got = sse.until(|b| b.json()["changeType"] == "column").await;
    let expected = ws_replay(&hub, &manager, &["workorders"], since, &epoch).await;
    assert_eq!(expected.len(), 3, "{expected:?}");
    assert!(expected
        .iter()
        .all(|(_, name, _)| name == "workorder:updated"));
    let expected: Vec<(u64, Value)> = expected.into_iter().map(|(s, _, d)| (s, d)).collect();
    assert_eq!(workshop_updates(&got), expected);
    let last = got.last().unwrap().json();
    assert_eq!(last["workOrderId"], id.as_str());
    assert_eq!(last["workOrder"]["column"], "Parts ordered");
    assert_eq!(last["workOrder"]["id"], id.as_str());
}

#[tokio::test]
async fn the_workorders_stream_resumes_from_last_event_id_and_answers_resync_keyed_by_type() {
    let hub = TestHub::start().await;
    let manager = hub.pair(Role::Manager).await;
    let display = hub.pair(Role::Display).await;
    let epoch = health(&hub).await["epoch"].as_str().unwrap().to_owned();
    let w1 = present(&manager.api, &display).await;
    let cursor = hub.hub.log.seq();
    move_column(&manager.api, &w1, "Working").await;
    let w2 = present(&manager.api, &display).await;
    let expected: Vec<(u64, Value)> = ws_replay(&hub, &manager, &["workorders"], cursor, &epoch)
        .await
        .into_iter()
        .map(|(s, _, d)| (s, d))
        .collect();
    assert_eq!(expected.len(), 3);
    let newest = expected.last().unwrap().0;

    let cursor_text = cursor.to_string();
    let mut by_header = Sse::open(
        &hub,
        Some(&manager.token),
        "/api/workorders/stream",
        Some(&cursor_text),
    )
    .await
    .unwrap();
    by_header.connected().await;
    let got = by_header.until(|b| b.seq() == newest).await;
    assert_eq!(workshop_updates(&got), expected);
    let mut by_query = Sse::open_ok(
        &hub,
        Some(&manager),
        &format!("/api/workorders/stream?lastEventId={cursor}&epoch={epoch}"),
    )
    .await;
    by_query.connected().await;
    let got = by_query.until(|b| b.seq() == newest).await;
    assert_eq!(workshop_updates(&got), expected);
    // Live after the replay.
    move_column(&manager.api, &w2, "Done").await;
    for sse in [&mut by_header, &mut by_query] {
        let live = workshop_updates(&[sse.next().await]);
        assert!(live[0].0 > newest);
        assert_eq!(live[0].1["workOrderId"], w2.as_str());
        assert_eq!(live[0].1["changeType"], "column");
    }

    let mut wrong_epoch = Sse::open_ok(
        &hub,
        Some(&manager),
        "/api/workorders/stream?lastEventId=1&epoch=0000000000000000",
    )
    .await;
    wrong_epoch.connected().await;
    let resync = wrong_epoch.next().await;
    assert_eq!(resync.event, None, "{resync:?}");
    assert_eq!(resync.id, None, "{resync:?}");
    assert_eq!(
        resync.json(),
        json!({"type": "resync", "reason": "epoch_changed"})
    );

    let deleted = hub
        .hub
        .log
        .prune(
            chrono::Utc::now() + chrono::Duration::seconds(1),
            1,
            chrono::Duration::zero(),
        )
        .await
        .unwrap();
    assert!(deleted > 0);
    let mut expired = Sse::open(
        &hub,
        Some(&manager.token),
        "/api/workorders/stream",
        Some("1"),
    )
    .await
    .unwrap();
    expired.connected().await;
    let resync = expired.next().await;
    assert_eq!(resync.event, None, "{resync:?}");
    assert_eq!(
        resync.json(),
        json!({"type": "resync", "reason": "history_expired"})
    );
}

#[tokio::test]
async fn a_quiet_workorders_stream_gets_keep_alive_comments() {
    let hub = TestHub::start_with(|c| c.sse_keepalive = Duration::from_millis(100)).await;
    let manager = hub.pair(Role::Manager).await;
    let mut sse = Sse::open_ok(&hub, Some(&manager), "/api/workorders/stream").await;
    sse.connected().await;
    let block = sse.block().await.expect("open");
    assert_eq!(block.event, None);
    assert_eq!(block.data, None);
    assert!(!block.comments.is_empty(), "{block:?}");
}

#[tokio::test]
async fn both_sse_streams_take_the_token_in_the_query_as_eventsource_cannot_set_headers() {
    let hub = TestHub::start().await;
    let kiosk = hub.pair(Role::Kiosk).await;
    let barista = hub.pair(Role::Barista).await;
    let manager = hub.pair(Role::Manager).await;
    let display = hub.pair(Role::Display).await;

    let mut orders = Sse::open(
        &hub,
        None,
        &format!("/api/stream?topics=orders&token={}", barista.token),
        None,
    )
    .await
    .unwrap_or_else(|(s, b)| panic!("{s} {b}"));
    orders.welcome().await;
    let mut workshop = Sse::open(
        &hub,
        None,
        &format!("/api/workorders/stream?token={}", manager.token),
        None,
    )
    .await
    .unwrap_or_else(|(s, b)| panic!("{s} {b}"));
    workshop.connected().await;

    let id = order(&kiosk.api).await;
    let created = orders.next().await;
    assert_eq!(created.name(), "order:created");
    assert_eq!(created.json()["orderId"], id.as_str());
    let wo = present(&manager.api, &display).await;
    let update = workshop.next().await;
    assert_eq!(update.json()["type"], "workorder-update");
    assert_eq!(update.json()["workOrderId"], wo.as_str());

    // The query's token is the caller, with its role's limits and none other.
    for (path, status) in [
        (
            format!("/api/stream?topics=orders&token={}", kiosk.token),
            403,
        ),
        (
            format!("/api/workorders/stream?token={}", barista.token),
            403,
        ),
        ("/api/stream?topics=board&token=garbage".to_owned(), 401),
        ("/api/workorders/stream?token=garbage".to_owned(), 401),
        ("/api/workorders/stream".to_owned(), 401),
    ] {
        let (code, body) = Sse::open(&hub, None, &path, None)
            .await
            .err()
            .unwrap_or_else(|| panic!("{path} is refused"));
        assert_eq!(code.as_u16(), status, "{path}: {body}");
    }
}
