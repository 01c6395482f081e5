//! The resume storm: subscribers that resume as the client core does (with
//! `since` and `epoch`), the hub killed and restarted, and orders posted the
//! moment it is back while every subscriber reconnects.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use futures::StreamExt;
use tokio::task::JoinSet;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message;

use crate::load::{created_order_id, frame_seq, post_order, Publisher, Ws};
use crate::server::{Paths, Server};

/// Reconnect attempts per subscriber before it gives up.
const MAX_ATTEMPTS: usize = 600;
/// In-flight POSTs while the orders go in.
const POST_CONCURRENCY: usize = 8;

#[derive(Debug)]
pub struct StormResult {
    pub subscribers: usize,
    pub orders: usize,
    /// From the restarted hub printing `listening` to the last subscriber
    /// having seen every order.
    pub caught_up: Option<Duration>,
    pub complete: usize,
    pub duplicates: usize,
    pub resyncs: usize,
    pub posting: Duration,
    /// CPU seconds of the restarted hub, from its start to the end.
    pub hub_cpu_seconds: f64,
    /// CPU seconds of the load generator over the same time.
    pub bench_cpu_seconds: f64,
}

struct Resumer {
    seq: u64,
    epoch: String,
    seen: HashSet<Box<str>>,
    duplicates: usize,
    resyncs: usize,
}

/// Opens `/ws` reading `orders` from the first frame on, resumed from
/// `since` when given (protocol version 2's connect-time cursor).
async fn connect(
    addr: std::net::SocketAddr,
    token: &str,
    since: Option<(u64, &str)>,
) -> anyhow::Result<(Ws, serde_json::Value)> {
    let query = match since {
        None => "topics=orders".to_owned(),
        Some((seq, epoch)) => {
            let epoch: String = form_urlencoded::byte_serialize(epoch.as_bytes()).collect();
            format!("topics=orders&since={seq}&epoch={epoch}")
        }
    };
    let mut req = format!("ws://{addr}/ws?{query}").into_client_request()?;
    req.headers_mut().insert(
        "Authorization",
        HeaderValue::from_str(&format!("Bearer {token}"))?,
    );
    let (mut ws, _) =
        tokio_tungstenite::connect_async_with_config(req, Some(crate::load::client_config()), true)
            .await?;
    let welcome = tokio::time::timeout(Duration::from_secs(10), ws.next())
        .await?
        .context("closed before welcome")??;
    let welcome: serde_json::Value = serde_json::from_str(welcome.to_text()?)?;
    Ok((ws, welcome))
}

/// Read until the socket drops (`Ok(false)`), or until `target` orders were
/// seen (`Ok(true)`).
async fn read(ws: &mut Ws, r: &mut Resumer, target: usize, deadline: tokio::time::Instant) -> bool {
    loop {
        let Ok(Some(Ok(msg))) = tokio::time::timeout_at(deadline, ws.next()).await else {
            return false;
        };
        let Message::Text(t) = msg else { continue };
        if t.starts_with(r#"{"event":"resync""#) {
            r.resyncs += 1;
        }
        if let Some(id) = created_order_id(&t) {
            if let Some(seq) = frame_seq(&t) {
                r.seq = r.seq.max(seq);
            }
            if !r.seen.insert(id.into()) {
                r.duplicates += 1;
            }
            if r.seen.len() >= target {
                return true;
            }
        }
    }
}

pub async fn run(paths: &Paths, subscribers: usize, orders: usize) -> anyhow::Result<StormResult> {
    let mut hub = Server::start(crate::server::Kind::Hub, paths).await?;
    let addr = hub.addr;
    let token: Arc<str> = hub.subscriber_token.clone().context("token")?.into();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);

    // Everyone connected and subscribed before the kill.
    let mut first = Vec::with_capacity(subscribers);
    let mut pending = futures::stream::iter((0..subscribers).map(|_| {
        let token = token.clone();
        async move {
            let (ws, welcome) = connect(addr, &token, None).await?;
            let seq = welcome["data"]["seq"].as_u64().unwrap_or(0);
            let epoch = welcome["data"]["epoch"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            anyhow::Ok((ws, seq, epoch))
        }
    }))
    .buffer_unordered(64);
    while let Some(c) = pending.next().await {
        first.push(c?);
    }
    drop(pending);

    let done_at: Arc<std::sync::Mutex<Vec<Instant>>> = Arc::default();
    let mut tasks = JoinSet::new();
    for (i, (mut ws, seq, epoch)) in first.into_iter().enumerate() {
        let token = token.clone();
        let done_at = done_at.clone();
        tasks.spawn(async move {
            let mut r = Resumer {
                seq,
                epoch,
                seen: HashSet::new(),
                duplicates: 0,
                resyncs: 0,
            };
            let mut complete = read(&mut ws, &mut r, orders, deadline).await;
            let mut attempts = 0;
            while !complete && attempts < MAX_ATTEMPTS && tokio::time::Instant::now() < deadline {
                attempts += 1;
                // A little spread, as the client core's jittered backoff gives.
                tokio::time::sleep(Duration::from_millis(
                    10 + (i as u64 * 7 + attempts as u64 * 13) % 40,
                ))
                .await;
                let epoch = r.epoch.clone();
                let Ok((mut ws2, _)) = connect(addr, &token, Some((r.seq, &epoch))).await else {
                    continue;
                };
                complete = read(&mut ws2, &mut r, orders, deadline).await;
            }
            if complete {
                if let Ok(mut d) = done_at.lock() {
                    d.push(Instant::now());
                }
            }
            (complete, r.duplicates, r.resyncs)
        });
    }
    tokio::time::sleep(Duration::from_millis(300)).await;

    let bench_cpu_start = crate::load::own_cpu_seconds();
    let back = hub.kill_and_restart(paths).await?;
    let publisher = Publisher::of(&hub);
    let client = reqwest::Client::new();
    let mut posted = futures::stream::iter((0..orders).map(|i| {
        let client = client.clone();
        let publisher = publisher.clone();
        async move { post_order(&client, &publisher, &format!("storm-{i}")).await }
    }))
    .buffer_unordered(POST_CONCURRENCY);
    while let Some(r) = posted.next().await {
        r?;
    }
    drop(posted);
    let posting = back.elapsed();

    let (mut complete, mut duplicates, mut resyncs) = (0, 0, 0);
    while let Some(r) = tasks.join_next().await {
        let (c, d, s) = r?;
        complete += usize::from(c);
        duplicates += d;
        resyncs += s;
    }
    let caught_up = if complete == subscribers {
        done_at
            .lock()
            .ok()
            .and_then(|d| d.iter().max().map(|t| t.duration_since(back)))
    } else {
        None
    };
    let hub_cpu_seconds = crate::server::usage(hub.pid()?).cpu_seconds;
    let bench_cpu_seconds = crate::load::own_cpu_seconds() - bench_cpu_start;
    hub.stop().await;
    Ok(StormResult {
        hub_cpu_seconds,
        bench_cpu_seconds,
        subscribers,
        orders,
        caught_up,
        complete,
        duplicates,
        resyncs,
        posting,
    })
}
