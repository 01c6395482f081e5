//! One load run: N subscribers on one server (or spread evenly over several
//! hub nodes on one database), orders posted at a set rate, and the latency
//! from each POST being sent to each subscriber receiving its
//! `order:created`.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use futures::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio::task::JoinSet;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::server::{cpu_between, usage, Kind, Postgres, Server, Usage};

pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// tungstenite 0.26 zero-fills its whole read buffer (128 KiB by default)
/// before every read, so a subscriber that reads one small frame at a time
/// spends most of its CPU in `memset`. Small frames need a small buffer.
pub fn client_config() -> tokio_tungstenite::tungstenite::protocol::WebSocketConfig {
    tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default().read_buffer_size(4096)
}

/// Connections opened at once while subscribers join.
const CONNECT_CONCURRENCY: usize = 64;

/// The figures of one run.
#[derive(Clone, Debug)]
pub struct RunResult {
    pub kind: Kind,
    /// Hub nodes the subscribers and the orders were spread over.
    pub nodes: usize,
    pub subscribers: usize,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub deliveries: usize,
    pub expected: usize,
    pub deliveries_per_s: f64,
    /// Orders taken a second: from the first POST sent to the last answered.
    pub orders_per_s: f64,
    /// The server's CPU seconds during the load (every node's, summed).
    pub cpu_seconds: f64,
    /// CPU seconds of the PostgreSQL processes serving the run's database
    /// and of the server's background processes, when it runs here.
    pub database_cpu_seconds: Option<f64>,
    /// CPU seconds the load generator itself spent while the orders went
    /// through: it shares the machine with the server it measures.
    pub bench_cpu_seconds: f64,
    /// Resident memory with every subscriber connected (every node's, summed).
    pub rss_mib: f64,
    pub kib_per_idle_conn: f64,
    /// Orders posted back to back instead of at the set rate.
    pub saturated: bool,
}

/// Open one subscriber and subscribe it to `orders`; returns once the server
/// confirmed the subscription.
pub async fn subscribe(server: &Server) -> anyhow::Result<Ws> {
    let url = match server.kind {
        // `?topics=`: nothing until the `subscribe` below, as on the others.
        Kind::Hub => format!("ws://{}/ws?topics=", server.addr),
        Kind::FastApi => format!("ws://{}/ws", server.addr),
        Kind::SocketIo => format!("ws://{}/socket.io/?EIO=4&transport=websocket", server.addr),
    };
    let mut req = url.into_client_request()?;
    if let Some(t) = &server.subscriber_token {
        req.headers_mut().insert(
            "Authorization",
            HeaderValue::from_str(&format!("Bearer {t}"))?,
        );
    }
    let (mut ws, _) =
        tokio_tungstenite::connect_async_with_config(req, Some(client_config()), true).await?;
    let subscribe = match server.kind {
        Kind::SocketIo => {
            // Engine.IO open packet, then the Socket.IO connect to namespace "/".
            expect_prefix(&mut ws, "0").await?;
            ws.send(Message::text("40")).await?;
            expect_prefix(&mut ws, "40").await?;
            r#"42["subscribe",{"topics":["orders"]}]"#
        }
        Kind::Hub => {
            expect_prefix(&mut ws, r#"{"event":"welcome""#).await?;
            r#"{"type":"subscribe","topics":["orders"]}"#
        }
        Kind::FastApi => r#"{"type":"subscribe","topics":["orders"]}"#,
    };
    ws.send(Message::text(subscribe)).await?;
    let confirmed = match server.kind {
        Kind::SocketIo => r#"42["subscribed""#,
        Kind::Hub | Kind::FastApi => r#"{"event":"subscribed""#,
    };
    expect_prefix(&mut ws, confirmed).await?;
    Ok(ws)
}

async fn expect_prefix(ws: &mut Ws, prefix: &str) -> anyhow::Result<()> {
    for _ in 0..8 {
        let msg = tokio::time::timeout(Duration::from_secs(20), ws.next())
            .await
            .with_context(|| format!("waiting for {prefix}"))?
            .context("closed")??;
        if let Message::Text(t) = msg {
            if t.starts_with(prefix) {
                return Ok(());
            }
        }
    }
    bail!("no {prefix} frame")
}

/// The `orderId` of an `order:created` frame, found without a full parse so
/// that the load generator spends as little CPU per delivery as it can.
pub fn created_order_id(frame: &str) -> Option<&str> {
    if !frame.contains("order:created") {
        return None;
    }
    let start = frame.find(r#""orderId":""#)? + r#""orderId":""#.len();
    let len = frame[start..].find('"')?;
    Some(&frame[start..start + len])
}

/// The `seq` of a hub event frame (`{"event":…,"seq":N,"data":…}`), read
/// without a full parse.
pub fn frame_seq(frame: &str) -> Option<u64> {
    let start = frame.find(r#","seq":"#)? + r#","seq":"#.len();
    let digits = frame[start..]
        .bytes()
        .take_while(u8::is_ascii_digit)
        .count();
    frame[start..start + digits].parse().ok()
}

/// Read frames until `orders` `order:created` events have arrived or the
/// deadline passes; answers Engine.IO pings.
async fn receive(
    mut ws: Ws,
    kind: Kind,
    orders: usize,
    deadline: tokio::time::Instant,
) -> Vec<(Box<str>, Instant)> {
    let mut got = Vec::with_capacity(orders);
    while got.len() < orders {
        let Ok(Some(Ok(msg))) = tokio::time::timeout_at(deadline, ws.next()).await else {
            break;
        };
        let now = Instant::now();
        let Message::Text(t) = msg else { continue };
        if kind == Kind::SocketIo && t.as_str() == "2" {
            let _ = ws.send(Message::text("3")).await;
            continue;
        }
        if let Some(id) = created_order_id(&t) {
            got.push((id.into(), now));
        }
    }
    let _ = ws.close(None).await;
    got
}

/// Where orders are posted, cheap to clone into each POST's task.
#[derive(Clone)]
pub struct Publisher {
    pub addr: std::net::SocketAddr,
    pub token: Option<String>,
}

impl Publisher {
    pub fn of(server: &Server) -> Publisher {
        Publisher {
            addr: server.addr,
            token: server.publisher_token.clone(),
        }
    }
}

/// POST one order; returns its `orderId`.
pub async fn post_order(
    client: &reqwest::Client,
    to: &Publisher,
    key: &str,
) -> anyhow::Result<String> {
    let mut req = client
        .post(format!("http://{}/api/orders", to.addr))
        .json(&serde_json::json!({
            "idempotencyKey": key,
            // The demo café's coffees need a temperature.
            "items": [{
                "menuId": "americano",
                "quantity": 1,
                "options": [{ "groupId": "temperature", "choiceId": "hot" }],
            }],
            "payType": "CARD",
        }));
    if let Some(t) = &to.token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await?;
    let status = resp.status();
    let body: serde_json::Value = resp.json().await?;
    anyhow::ensure!(
        status.as_u16() == 201,
        "POST /api/orders answered {status}: {body}"
    );
    body["orderId"]
        .as_str()
        .map(str::to_owned)
        .context("order without orderId")
}

/// POSTs in flight when orders are posted as fast as the server takes them.
const SATURATING_POSTS: usize = 8;

/// Load parameters.
#[derive(Clone, Copy, Debug)]
pub struct Load {
    pub orders: usize,
    /// Orders a second; `None` posts them back to back, `SATURATING_POSTS`
    /// at a time, to find what the server sustains.
    pub rate: Option<f64>,
    /// How long after the last POST to wait for stragglers.
    pub drain: Duration,
}

/// The PostgreSQL database the hub nodes of a run share, when they do: its
/// processes' CPU time is measured with the nodes'.
#[derive(Clone, Copy)]
pub struct SharedDatabase<'a> {
    pub server: &'a Postgres,
    pub name: &'a str,
}

/// CPU time and memory of every node, summed.
fn nodes_usage(pids: &[u32]) -> Usage {
    pids.iter()
        .map(|&p| usage(p))
        .fold(Usage::default(), |a, u| Usage {
            cpu_seconds: a.cpu_seconds + u.cpu_seconds,
            rss_kib: a.rss_kib + u.rss_kib,
        })
}

/// One run against `nodes`: one server, or hub nodes sharing `database`.
/// Subscriber `i` connects to node `i % nodes.len()`, and order `i` is
/// posted to that node too, so every node takes writes and every order
/// reaches most subscribers through another node.
pub async fn run(
    nodes: &[Server],
    database: Option<SharedDatabase<'_>>,
    subscribers: usize,
    load: Load,
    tag: &str,
) -> anyhow::Result<RunResult> {
    let server = nodes.first().context("no server to run against")?;
    let pids = nodes
        .iter()
        .map(Server::pid)
        .collect::<anyhow::Result<Vec<_>>>()?;
    let client = reqwest::Client::new();
    // Warm up: one order on each node before anyone listens, so lazily
    // built state (connection pools, prepared statements) is not counted
    // as per-connection memory.
    let publishers: Vec<Publisher> = nodes.iter().map(Publisher::of).collect();
    for (k, publisher) in publishers.iter().enumerate() {
        post_order(&client, publisher, &format!("{tag}-warmup-{k}")).await?;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let before = nodes_usage(&pids);

    let mut conns = Vec::with_capacity(subscribers);
    let mut pending =
        futures::stream::iter((0..subscribers).map(|i| subscribe(&nodes[i % nodes.len()])))
            .buffer_unordered(CONNECT_CONCURRENCY);
    while let Some(ws) = pending.next().await {
        conns.push(ws?);
    }
    drop(pending);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let idle = nodes_usage(&pids);
    let kib_per_idle_conn = idle.rss_kib.saturating_sub(before.rss_kib) as f64 / subscribers as f64;

    // Without a rate, allow posting 100 orders a second at the least.
    let post_span = Duration::from_secs_f64(load.orders as f64 / load.rate.unwrap_or(100.0));
    let deadline = tokio::time::Instant::now() + post_span + load.drain;
    let mut readers = JoinSet::new();
    for ws in conns {
        readers.spawn(receive(ws, server.kind, load.orders, deadline));
    }

    let mut finished = Vec::with_capacity(load.orders);
    let cpu_start = nodes_usage(&pids).cpu_seconds;
    let database_cpu_start = match database {
        Some(db) => db.server.processes_cpu(db.name).await,
        None => None,
    };
    let bench_cpu_start = own_cpu_seconds();
    let first_send = Instant::now();
    let mut posts = JoinSet::new();
    let post = |i: usize| {
        let client = client.clone();
        let key = format!("{tag}-{i}");
        let publisher = publishers[i % publishers.len()].clone();
        async move {
            let sent = Instant::now();
            let posted = post_order(&client, &publisher, &key).await;
            (posted, sent, Instant::now())
        }
    };
    match load.rate {
        Some(rate) => {
            let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / rate));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
            for i in 0..load.orders {
                tick.tick().await;
                posts.spawn(post(i));
            }
        }
        None => {
            for i in 0..load.orders {
                if posts.len() >= SATURATING_POSTS {
                    // Keep the results: joined below with the others.
                    if let Some(done) = posts.join_next().await {
                        finished.push(done?);
                    }
                }
                posts.spawn(post(i));
            }
        }
    }
    while let Some(done) = posts.join_next().await {
        finished.push(done?);
    }
    let mut sent_at: HashMap<String, Instant> = HashMap::with_capacity(load.orders);
    let mut post_errors = 0usize;
    let mut last_answer = first_send;
    for r in finished {
        match r {
            (Ok(id), sent, answered) => {
                sent_at.insert(id, sent);
                last_answer = last_answer.max(answered);
            }
            (Err(e), _, _) => {
                if post_errors == 0 {
                    eprintln!("  {}: POST failed: {e:#}", server.kind.name());
                }
                post_errors += 1;
            }
        }
    }
    let mut latencies = Vec::with_capacity(subscribers * load.orders);
    let mut last = first_send;
    while let Some(r) = readers.join_next().await {
        for (id, at) in r? {
            if let Some(sent) = sent_at.get(&*id) {
                latencies.push(at.saturating_duration_since(*sent));
                last = last.max(at);
            }
        }
    }
    let cpu_seconds = nodes_usage(&pids).cpu_seconds - cpu_start;
    let bench_cpu_seconds = own_cpu_seconds() - bench_cpu_start;
    let database_cpu_seconds = match (database, database_cpu_start) {
        (Some(db), Some(start)) => db
            .server
            .processes_cpu(db.name)
            .await
            .map(|end| cpu_between(&start, &end)),
        _ => None,
    };
    latencies.sort_unstable();
    let pct = |p: f64| -> f64 {
        if latencies.is_empty() {
            return f64::NAN;
        }
        let i = ((latencies.len() as f64 * p).ceil() as usize).clamp(1, latencies.len()) - 1;
        latencies[i].as_secs_f64() * 1000.0
    };
    let span = last.duration_since(first_send).as_secs_f64().max(1e-3);
    Ok(RunResult {
        kind: server.kind,
        nodes: nodes.len(),
        subscribers,
        p50_ms: pct(0.50),
        p99_ms: pct(0.99),
        max_ms: pct(1.0),
        deliveries: latencies.len(),
        expected: subscribers * load.orders,
        deliveries_per_s: latencies.len() as f64 / span,
        orders_per_s: sent_at.len() as f64
            / last_answer
                .duration_since(first_send)
                .as_secs_f64()
                .max(1e-3),
        cpu_seconds,
        database_cpu_seconds,
        bench_cpu_seconds,
        rss_mib: idle.rss_kib as f64 / 1024.0,
        kib_per_idle_conn,
        saturated: load.rate.is_none(),
    })
}

/// CPU seconds this process (all its threads, not its children) has used.
pub fn own_cpu_seconds() -> f64 {
    crate::server::process_cpu_seconds(std::process::id()).unwrap_or(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_order_id_and_seq_without_parsing_the_frame() {
        let frame =
            r#"{"event":"order:created","seq":4711,"data":{"orderId":"ORD-1-a","dailyNum":3}}"#;
        assert_eq!(created_order_id(frame), Some("ORD-1-a"));
        assert_eq!(frame_seq(frame), Some(4711));
        let other = r#"{"event":"dashboard:update","seq":12,"data":{"widgetId":"open_orders"}}"#;
        assert_eq!(created_order_id(other), None);
        assert_eq!(frame_seq(other), Some(12));
        assert_eq!(frame_seq(r#"{"event":"subscribed","data":{}}"#), None);
    }
}
