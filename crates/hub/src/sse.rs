//! `GET /api/stream` and `GET /api/workorders/stream`: the durable events of
//! some topics as Server-Sent Events, resumable with `Last-Event-ID`.
//!
//! `/api/stream` names each event (`event: welcome`, `event: order:created`);
//! `/api/workorders/stream` speaks the workshop's own shape (seed 001):
//! unnamed events, which `EventSource.onmessage` receives, each `data:` keyed
//! by `type` (`connected`, `workorder-update`, `resync`). Both carry `id:` =
//! seq on durable events, `retry: 5000` and a comment line while quiet.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use countertop_protocol::{workshop, Resync, StreamWelcome, Topic};
use serde::Deserialize;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use crate::auth::Caller;
use crate::error::{ApiQuery, AppError};
use crate::registry::Transport;
use crate::subscription::{Outgoing, ReplayOutcome, Subscription};
use crate::Hub;

/// Browsers' EventSource reconnects after this long.
const RETRY: Duration = Duration::from_millis(5000);

/// How a stream writes its events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// `event:` = the event's name, `data:` = its data (`/api/stream`).
    Named,
    /// No `event:` line; `data:` keyed by `type` (`/api/workorders/stream`).
    Workshop,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StreamQuery {
    topics: Option<String>,
    last_event_id: Option<String>,
    epoch: Option<String>,
    /// Read by the authentication middleware; named here so it is accepted.
    #[allow(dead_code)]
    token: Option<String>,
}

pub async fn stream(
    State(hub): State<Hub>,
    caller: Caller,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<StreamQuery>,
) -> Result<Response, AppError> {
    let names = query
        .topics
        .as_deref()
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .collect::<Vec<_>>();
    if names.is_empty() {
        return Err(AppError::validation("name at least one topic: ?topics=a,b"));
    }
    if names.len() > countertop_protocol::MAX_TOPICS_PER_MESSAGE {
        return Err(AppError::validation("too many topics"));
    }
    let mut topics = Vec::with_capacity(names.len());
    for name in names {
        let topic = Topic::parse(name).map_err(|e| AppError::validation(e.to_string()))?;
        hub.authorize_topic(&caller, &topic).await?;
        topics.push(topic);
    }
    open(hub, caller, topics, &headers, query, Shape::Named).await
}

pub async fn workorders_stream(
    State(hub): State<Hub>,
    caller: Caller,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<StreamQuery>,
) -> Result<Response, AppError> {
    hub.authorize_topic(&caller, &Topic::Workorders).await?;
    open(
        hub,
        caller,
        vec![Topic::Workorders],
        &headers,
        query,
        Shape::Workshop,
    )
    .await
}

async fn open(
    hub: Hub,
    caller: Caller,
    topics: Vec<Topic>,
    headers: &HeaderMap,
    query: StreamQuery,
    shape: Shape,
) -> Result<Response, AppError> {
    let last_id = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or(query.last_event_id);
    let since = match last_id.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(id) => Some(
            id.parse::<u64>()
                .map_err(|_| AppError::validation("Last-Event-ID must be a sequence number"))?,
        ),
    };
    let (tx, rx) = mpsc::channel::<Result<SseEvent, Infallible>>(256);
    let keepalive = hub.config.sse_keepalive;
    tokio::spawn(pump(hub, caller, topics, since, query.epoch, shape, tx));
    let sse = Sse::new(ReceiverStream::new(rx))
        .keep_alive(KeepAlive::new().interval(keepalive).text("keep-alive"));
    Ok(sse.into_response())
}

fn event(out: &Outgoing, shape: Shape) -> SseEvent {
    let r = out.rendition();
    let event = SseEvent::default().id(out.event.seq.to_string());
    match shape {
        Shape::Named => event.event(r.name.as_str()).data(&*r.data),
        Shape::Workshop => {
            // Made once per event, by the first workshop stream to send it.
            let data = out
                .event
                .workshop
                .get_or_init(|| workshop::event_data(&r.name, &r.data).into());
            event.data(&**data)
        }
    }
}

/// The first event of a stream, with the browser's reconnect delay.
fn welcome(welcome: &StreamWelcome, shape: Shape) -> SseEvent {
    let event = SseEvent::default().retry(RETRY);
    match shape {
        Shape::Named => event
            .event("welcome")
            .json_data(welcome)
            .unwrap_or_default(),
        Shape::Workshop => event.data(workshop::connected(welcome)),
    }
}

fn resync(resync: Resync, shape: Shape) -> SseEvent {
    match shape {
        Shape::Named => SseEvent::default()
            .event("resync")
            .json_data(resync)
            .unwrap_or_default(),
        Shape::Workshop => SseEvent::default().data(workshop::resync(resync)),
    }
}

/// Feeds one SSE response until the client leaves, the device is revoked or
/// the hub shuts down.
async fn pump(
    hub: Hub,
    caller: Caller,
    topics: Vec<Topic>,
    since: Option<u64>,
    epoch: Option<String>,
    shape: Shape,
    tx: mpsc::Sender<Result<SseEvent, Infallible>>,
) {
    let registration = hub
        .registry
        .register(caller.device_id().map(str::to_owned), Transport::Sse);
    hub.metrics
        .sse_connections_total
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let mut sub = Subscription::new(hub.clone(), caller);
    let outcome = match sub.subscribe(topics, since, epoch.as_deref()).await {
        Ok(o) => o,
        Err(e) => {
            tracing::error!(error = %e, "replay for an SSE stream failed");
            return;
        }
    };
    registration.set_topics(sub.topic_names());
    // The welcome's seq is read after subscribing: the stream is live from
    // exactly there, so no event between the two can be skipped unseen.
    let first_event = welcome(
        &StreamWelcome {
            epoch: hub.log.epoch().to_owned(),
            seq: sub.cursor(),
        },
        shape,
    );
    if tx.send(Ok(first_event)).await.is_err() {
        return;
    }
    let mut first = outcome.before;
    match outcome.replay {
        Some(ReplayOutcome::Events(events, _)) => first.extend(events),
        Some(ReplayOutcome::Resync(reason)) => {
            hub.metrics
                .resyncs
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            if tx.send(Ok(resync(Resync { reason }, shape))).await.is_err() {
                return;
            }
        }
        None => {}
    }
    if send_all(&hub, &tx, first, shape).await.is_err() {
        return;
    }
    loop {
        tokio::select! {
            () = hub.shutdown.cancelled() => return,
            () = registration.revoked.cancelled() => return,
            () = tx.closed() => return,
            received = sub.recv() => {
                let closed = matches!(received, Err(tokio::sync::broadcast::error::RecvError::Closed));
                match sub.accept(received).await {
                    Ok(out) => if send_all(&hub, &tx, out, shape).await.is_err() { return },
                    Err(e) => {
                        tracing::error!(error = %e, "could not read the event log for an SSE stream");
                        return;
                    }
                }
                if closed {
                    return;
                }
            }
        }
    }
}

async fn send_all(
    hub: &Hub,
    tx: &mpsc::Sender<Result<SseEvent, Infallible>>,
    events: Vec<Outgoing>,
    shape: Shape,
) -> Result<(), ()> {
    let n = events.len() as u64;
    for out in &events {
        tx.send(Ok(event(out, shape))).await.map_err(|_| ())?;
    }
    hub.metrics.delivered(n);
    Ok(())
}
