//! `GET /ws` and `GET /ws/orders/{id}`: one task owns each socket and runs
//! one loop over client frames, live events, the heartbeat, revocation and
//! shutdown. A connection reads its topics from its first frame on
//! (`?topics=`, or its role's defaults), replayed from `?since=` when asked,
//! in either dialect (`?format=type`).

use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use countertop_protocol::{
    decode_client_message, dialect, ClientMessage, ErrorBody, ErrorCode, Event, Frame, OrderRef,
    Subscribed, Topic, Unsubscribed, Welcome, MAX_FRAME_BYTES, MAX_TOPICS_PER_MESSAGE,
};
use serde::Deserialize;
use tokio::time::Instant;

use crate::auth::Caller;
use crate::error::{ApiQuery, AppError};
use crate::log::Format;
use crate::rate::{RateLimit, Verdict};
use crate::registry::{Registration, Transport};
use crate::subscription::{Outgoing, ReplayOutcome, Subscription};
use crate::Hub;

/// Close codes (RFC 6455 and the protocol's own).
const CLOSE_NORMAL: u16 = 1000;
const CLOSE_GOING_AWAY: u16 = 1001;
const CLOSE_UNSUPPORTED: u16 = 1003;
const CLOSE_POLICY: u16 = 1008;
const CLOSE_TOO_BIG: u16 = 1009;

/// The transport refuses frames far above the protocol limit outright; frames
/// between the two are read and answered with 1009.
const TRANSPORT_MAX_BYTES: usize = 1024 * 1024;

/// The socket's read buffer. Client frames are commands of a few hundred
/// bytes; a larger one grows the buffer to its size (up to the limit) and is
/// read in chunks of this size. Every idle connection holds one.
const READ_BUFFER_BYTES: usize = 1024;

/// Frames queued by one delivery are written out whenever this much is
/// waiting, so a burst never grows a connection's write buffer (which keeps
/// its capacity for the connection's life) far beyond it.
const WRITE_BUFFER_BYTES: usize = 8 * 1024;

/// What one connection may have waiting to be written, pongs included: a peer
/// that sends but never reads cannot make the hub hold more than this for it.
/// Large enough for the biggest event (a workorder with its signature).
pub const MAX_WRITE_BUFFER_BYTES: usize = 512 * 1024;

/// After the hub sends a close frame, it waits this long for the peer's, so
/// that a browser sees a clean close (`1001` on shutdown) rather than a drop.
const CLOSE_WAIT: Duration = Duration::from_secs(1);

/// The query of `/ws`: what the connection reads from its first frame on.
#[derive(Debug, Default, Deserialize)]
pub struct ConnectQuery {
    /// Comma-separated topic names; absent: the role's defaults; empty: none.
    topics: Option<String>,
    since: Option<u64>,
    epoch: Option<String>,
    /// `type` for frames keyed by `type`; `event` (the default) otherwise.
    format: Option<String>,
    /// Read by the authentication middleware; named here so it is accepted.
    #[allow(dead_code)]
    token: Option<String>,
}

/// What a connection starts with, checked before the upgrade.
struct Opening {
    /// `None`: the role's default topics.
    topics: Option<Vec<String>>,
    since: Option<u64>,
    epoch: Option<String>,
    format: Format,
}

impl Opening {
    fn read(query: ConnectQuery) -> Result<Opening, AppError> {
        let format = match query.format.as_deref() {
            None | Some("event") => Format::Event,
            Some("type") => Format::Type,
            Some(_) => return Err(AppError::validation("format is \"event\" or \"type\"")),
        };
        let topics = query.topics.map(|list| {
            list.split(',')
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(str::to_owned)
                .collect::<Vec<_>>()
        });
        if topics
            .as_ref()
            .is_some_and(|t| t.len() > MAX_TOPICS_PER_MESSAGE)
        {
            return Err(AppError::validation(format!(
                "name at most {MAX_TOPICS_PER_MESSAGE} topics"
            )));
        }
        if query.epoch.as_ref().is_some_and(|e| e.len() > 128) {
            return Err(AppError::validation("epoch is too long"));
        }
        Ok(Opening {
            topics,
            since: query.since,
            epoch: query.epoch,
            format,
        })
    }
}

pub async fn upgrade(
    State(hub): State<Hub>,
    caller: Caller,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<ConnectQuery>,
    ws: WebSocketUpgrade,
) -> Response {
    match Opening::read(query) {
        Ok(opening) => accept(hub, caller, &headers, opening, ws),
        Err(e) => e.into_response(),
    }
}

/// How a topic the connection may not read is answered over the socket: a
/// missing order is `not_found`, a hub failure `internal`, and every other
/// refusal (no token included) `forbidden`, naming the topic.
fn refusal(e: AppError) -> (ErrorCode, String) {
    match e.code {
        ErrorCode::NotFound | ErrorCode::Internal => (e.code, e.message),
        _ => (ErrorCode::Forbidden, e.message),
    }
}

/// `GET /ws/orders/{orderId}`: `/ws?topics=order:{orderId}`, for a page that
/// follows one order.
pub async fn upgrade_order(
    state: State<Hub>,
    Path(order_id): Path<String>,
    caller: Caller,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<ConnectQuery>,
    ws: WebSocketUpgrade,
) -> Response {
    let query = ConnectQuery {
        topics: Some(format!("order:{order_id}")),
        ..query
    };
    upgrade(state, caller, headers, ApiQuery(query), ws).await
}

fn accept(
    hub: Hub,
    caller: Caller,
    headers: &HeaderMap,
    opening: Opening,
    ws: WebSocketUpgrade,
) -> Response {
    if let Err(e) = crate::origin::check(&hub, headers) {
        return e.into_response();
    }
    // The default 128 KiB read buffer made ~138 KiB of RSS per connection
    // (see BENCHMARKS.md). Client frames are small; 1 KiB suffices.
    ws.read_buffer_size(READ_BUFFER_BYTES)
        .write_buffer_size(WRITE_BUFFER_BYTES)
        .max_write_buffer_size(MAX_WRITE_BUFFER_BYTES)
        .max_message_size(TRANSPORT_MAX_BYTES)
        .max_frame_size(TRANSPORT_MAX_BYTES)
        .on_upgrade(move |socket| run(socket, hub, caller, opening))
}

/// Why the loop ended: a close frame to send, or nothing (the peer is gone).
type Ending = Option<(u16, &'static str)>;

struct Connection {
    socket: WebSocket,
    hub: Hub,
    caller: Caller,
    sub: Subscription,
    registration: Registration,
    format: Format,
}

/// How a `subscribe`-like message is answered.
enum Answer {
    /// `subscribe`: the topics named.
    Topics,
    /// `subscribe_admin`: `{"role":"admin"}`.
    Admin,
    /// `subscribe_order`: `{"order_id": …}` as the client sent it.
    Order(OrderRef),
}

async fn run(socket: WebSocket, hub: Hub, caller: Caller, opening: Opening) {
    let registration = hub
        .registry
        .register(caller.device_id().map(str::to_owned), Transport::WebSocket);
    hub.metrics
        .ws_connections_total
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let sub = Subscription::new(hub.clone(), caller.clone());
    let mut conn = Connection {
        socket,
        hub,
        caller,
        sub,
        registration,
        format: opening.format,
    };
    tracing::debug!(connection = conn.registration.id, device = ?conn.caller.device_id(), "websocket open");
    let ending = conn.serve(opening).await;
    if let Some((code, reason)) = ending {
        let frame = CloseFrame {
            code,
            reason: Utf8Bytes::from_static(reason),
        };
        // A peer that does not read would hold this send forever.
        let write_timeout = conn.hub.config.write_timeout;
        let sent =
            tokio::time::timeout(write_timeout, conn.socket.send(Message::Close(Some(frame))))
                .await;
        if matches!(sent, Ok(Ok(()))) {
            // The closing handshake: the peer answers with its own close
            // frame, which the transport flushes our reply to. Frames still
            // on their way before it are dropped unread.
            let _ = tokio::time::timeout(CLOSE_WAIT, async {
                while let Some(Ok(message)) = conn.socket.recv().await {
                    if matches!(message, Message::Close(_)) {
                        let _ = futures::SinkExt::flush(&mut conn.socket).await;
                        break;
                    }
                }
            })
            .await;
        }
    }
    tracing::debug!(
        connection = conn.registration.id,
        ?ending,
        "websocket closed"
    );
}

impl Connection {
    async fn serve(&mut self, opening: Opening) -> Ending {
        if let Err(ending) = Box::pin(self.open(opening)).await {
            return ending;
        }
        let period = self.hub.config.ping_interval;
        let mut heartbeat = tokio::time::interval_at(Instant::now() + period, period);
        let mut last_heard = Instant::now();
        let mut limit = RateLimit::new(Instant::now());
        // Made once, not on every turn of the loop: each new one locks the
        // token and registers a waker again.
        let mut revoked = std::pin::pin!(self.registration.revoked.clone().cancelled_owned());
        let mut shutdown = std::pin::pin!(self.hub.shutdown.clone().cancelled_owned());
        loop {
            tokio::select! {
                biased;
                () = shutdown.as_mut() => return Some((CLOSE_GOING_AWAY, "hub shutting down")),
                () = revoked.as_mut() => return Some(self.registration.closing()),
                incoming = self.socket.recv() => {
                    let message = match incoming {
                        None => return None,
                        Some(Err(e)) => {
                            let text = e.to_string();
                            if text.contains("too long") || text.contains("Space limit") {
                                return Some((CLOSE_TOO_BIG, "frame too large"));
                            }
                            return None;
                        }
                        Some(Ok(m)) => m,
                    };
                    last_heard = Instant::now();
                    match message {
                        Message::Text(text) => {
                            if text.len() > MAX_FRAME_BYTES {
                                return Some((CLOSE_TOO_BIG, "frame too large"));
                            }
                            match limit.check(Instant::now()) {
                                Verdict::Accept => {}
                                Verdict::Refuse => {
                                    self.hub.metrics.rate_limited_messages.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                                    if self.error(ErrorCode::RateLimited, "more than 20 messages a second").await.is_err() {
                                        return None;
                                    }
                                    continue;
                                }
                                Verdict::Close => return Some((CLOSE_POLICY, "rate limit exceeded")),
                            }
                            // Boxed, as is `accept` below: their futures (SQLite
                            // reads) are large and would otherwise be part of every
                            // idle connection's task, which waits in this loop.
                            if let Err(ending) = Box::pin(self.handle(&text)).await {
                                return ending;
                            }
                        }
                        Message::Binary(_) => return Some((CLOSE_UNSUPPORTED, "binary frames are not accepted")),
                        Message::Close(_) => {
                            // The transport has queued the reply that completes the
                            // closing handshake; send it before the socket is dropped.
                            let _ = futures::SinkExt::flush(&mut self.socket).await;
                            return None;
                        }
                        // Control frames count against the limit too: the
                        // transport answers every ping with a pong, so a ping
                        // flood is a write flood. They get no error frame.
                        Message::Ping(_) | Message::Pong(_) => match limit.check(Instant::now()) {
                            Verdict::Accept => {}
                            Verdict::Refuse => {
                                self.hub.metrics.rate_limited_messages.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            }
                            Verdict::Close => return Some((CLOSE_POLICY, "rate limit exceeded")),
                        },
                    }
                }
                received = self.sub.recv() => {
                    let closed = matches!(received, Err(tokio::sync::broadcast::error::RecvError::Closed));
                    match Box::pin(self.sub.accept(received)).await {
                        Ok(out) => if self.deliver(out).await.is_err() { return None },
                        Err(e) => {
                            tracing::error!(error = %e, "could not read the event log for a lagging connection");
                            return Some((1011, "hub error"));
                        }
                    }
                    if closed {
                        return Some((CLOSE_GOING_AWAY, "hub shutting down"));
                    }
                }
                _ = heartbeat.tick() => {
                    if last_heard.elapsed() >= self.hub.config.idle_timeout {
                        return Some((CLOSE_NORMAL, "idle timeout"));
                    }
                    if self.write(Message::Ping(Default::default())).await.is_err() {
                        return None;
                    }
                }
            }
        }
    }

    /// Subscribes the connection to its opening topics, then sends the
    /// welcome, an error for each topic left out, and the replay `since`
    /// asked for. `Err` ends the connection.
    async fn open(&mut self, opening: Opening) -> Result<(), Ending> {
        let names = match opening.topics {
            Some(names) => names,
            None => countertop_protocol::default_topics(self.caller.role())
                .iter()
                .map(Topic::to_string)
                .collect(),
        };
        let mut refused = Vec::new();
        let mut allowed = Vec::with_capacity(names.len());
        for name in &names {
            let topic = match Topic::parse(name) {
                Ok(topic) => topic,
                Err(e) => {
                    refused.push((ErrorCode::Validation, e.to_string()));
                    continue;
                }
            };
            match self.hub.authorize_topic(&self.caller, &topic).await {
                Ok(()) => allowed.push(topic),
                Err(e) => refused.push(refusal(e)),
            }
        }
        let outcome = match self
            .sub
            .subscribe(allowed, opening.since, opening.epoch.as_deref())
            .await
        {
            Ok(outcome) => outcome,
            Err(e) => {
                tracing::error!(error = %e, "could not read the event log for a new connection");
                return Err(Some((1011, "hub error")));
            }
        };
        self.registration.set_topics(self.sub.topic_names());
        // Live from here: the welcome's seq is the cursor after subscribing,
        // so no event between the two is skipped unseen.
        let welcome = Welcome {
            connection_id: format!("conn-{}", self.registration.id),
            device_id: self.caller.device_id().map(str::to_owned),
            role: self.caller.role(),
            epoch: self.hub.log.epoch().to_owned(),
            seq: self.sub.cursor(),
            topics: self.sub.topic_names(),
        };
        self.send(Event::Welcome(welcome)).await?;
        for (code, message) in refused {
            self.error(code, &message).await?;
        }
        self.deliver(outcome.before).await?;
        self.finish_replay(outcome.replay).await
    }

    /// Sends a replay's events and its `replayed`, or a `resync`.
    async fn finish_replay(&mut self, replay: Option<ReplayOutcome>) -> Result<(), Ending> {
        match replay {
            None => Ok(()),
            Some(ReplayOutcome::Events(events, replayed)) => {
                self.deliver(events).await?;
                self.send(Event::Replayed(replayed)).await
            }
            Some(ReplayOutcome::Resync(reason)) => {
                self.hub
                    .metrics
                    .resyncs
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                self.send(Event::Resync(countertop_protocol::Resync { reason }))
                    .await
            }
        }
    }

    /// Handles one client message. `Err` ends the connection.
    async fn handle(&mut self, text: &str) -> Result<(), Ending> {
        let message = match decode_client_message(text) {
            Ok(m) => m,
            Err(e) => return self.error(e.code(), &e.to_string()).await,
        };
        match message {
            ClientMessage::Ping => self.send(Event::Pong).await,
            ClientMessage::Subscribe {
                topics,
                since,
                epoch,
            } => {
                let names = topics;
                let mut parsed = Vec::with_capacity(names.len());
                for name in &names {
                    match Topic::parse(name) {
                        Ok(t) => parsed.push(t),
                        Err(e) => return self.error(ErrorCode::Validation, &e.to_string()).await,
                    }
                }
                if since.is_some() {
                    // Their live events have been sent already: a replay
                    // would send them twice. A client that resumes passes
                    // `?since=` when it connects.
                    let held: Vec<String> = parsed
                        .iter()
                        .filter(|t| self.sub.reads_topic(t))
                        .map(Topic::to_string)
                        .collect();
                    if !held.is_empty() {
                        return self
                            .error(
                                ErrorCode::AlreadySubscribed,
                                &format!(
                                    "this connection reads {} already; nothing was added (to resume, connect with ?since=)",
                                    held.join(", ")
                                ),
                            )
                            .await;
                    }
                }
                self.subscribe(parsed, since, epoch.as_deref(), Answer::Topics)
                    .await
            }
            ClientMessage::SubscribeAdmin => {
                self.subscribe(vec![Topic::Orders], None, None, Answer::Admin)
                    .await
            }
            ClientMessage::SubscribeOrder { order_id } => {
                let topic = match &order_id {
                    OrderRef::Id(id) if countertop_protocol::topic::is_valid_order_id(id) => {
                        Topic::Order(id.clone())
                    }
                    OrderRef::Id(_) => {
                        return self
                            .error(ErrorCode::Validation, "order_id is not a valid order id")
                            .await
                    }
                    OrderRef::Number(n)
                        if (1..=countertop_protocol::topic::MAX_DAILY_NUMBER).contains(n) =>
                    {
                        Topic::BoardNumber(*n)
                    }
                    OrderRef::Number(n) => {
                        return self
                            .error(ErrorCode::NotFound, &format!("no order number {n} today"))
                            .await
                    }
                };
                self.subscribe(vec![topic], None, None, Answer::Order(order_id))
                    .await
            }
            ClientMessage::Unsubscribe { topics } => {
                let parsed: Vec<Topic> =
                    topics.iter().filter_map(|t| Topic::parse(t).ok()).collect();
                self.sub.unsubscribe(&parsed);
                self.registration.set_topics(self.sub.topic_names());
                self.send(Event::Unsubscribed(Unsubscribed { topics }))
                    .await
            }
        }
    }

    async fn subscribe(
        &mut self,
        topics: Vec<Topic>,
        since: Option<u64>,
        epoch: Option<&str>,
        answer: Answer,
    ) -> Result<(), Ending> {
        let cap = self.hub.config.max_topics_per_connection;
        let held = self.sub.topic_count();
        if held + self.sub.new_topics(&topics) > cap {
            return self
                .error(
                    ErrorCode::Validation,
                    &format!("a connection reads at most {cap} topics; this one reads {held}"),
                )
                .await;
        }
        let mut allowed = Vec::with_capacity(topics.len());
        for topic in topics {
            match self.hub.authorize_topic(&self.caller, &topic).await {
                Ok(()) => allowed.push(topic),
                Err(e) => {
                    let (code, message) = refusal(e);
                    self.error(code, &message).await?;
                    if code == ErrorCode::Internal {
                        return Ok(());
                    }
                }
            }
        }
        if !matches!(answer, Answer::Topics) && allowed.is_empty() {
            return Ok(());
        }
        let names: Vec<String> = allowed.iter().map(Topic::to_string).collect();
        let outcome = match self.sub.subscribe(allowed, since, epoch).await {
            Ok(o) => o,
            Err(e) => {
                tracing::error!(error = %e, "replay failed");
                return self
                    .error(ErrorCode::Internal, "the hub could not read its event log")
                    .await;
            }
        };
        self.registration.set_topics(self.sub.topic_names());
        self.deliver(outcome.before).await?;
        let answer = match answer {
            Answer::Topics => Subscribed {
                topics: Some(names),
                ..Subscribed::default()
            },
            Answer::Admin => Subscribed {
                role: Some("admin".into()),
                ..Subscribed::default()
            },
            Answer::Order(order_id) => Subscribed {
                order_id: Some(order_id),
                ..Subscribed::default()
            },
        };
        self.send(Event::Subscribed(answer)).await?;
        self.finish_replay(outcome.replay).await
    }

    /// Sends events with one flush at the end: a batch that fits the write
    /// buffer leaves in one write instead of one write (and syscall) each.
    async fn deliver(&mut self, events: Vec<Outgoing>) -> Result<(), Ending> {
        use futures::SinkExt;
        if events.is_empty() {
            return Ok(());
        }
        let n = events.len() as u64;
        let format = self.format;
        let socket = &mut self.socket;
        let written = async move {
            for out in events {
                let frame = out.rendition().frame(format).clone();
                socket.feed(Message::Text(frame)).await?;
            }
            socket.flush().await
        };
        match tokio::time::timeout(self.hub.config.write_timeout, written).await {
            Ok(Ok(())) => {}
            Ok(Err(_)) => return Err(None),
            Err(_) => return Err(self.not_reading()),
        }
        self.hub.metrics.delivered(n);
        Ok(())
    }

    async fn send(&mut self, event: Event) -> Result<(), Ending> {
        let text = match self.format {
            Format::Event => serde_json::to_string(&Frame::control(event)).map_err(|_| None)?,
            Format::Type => dialect::control_frame(&event),
        };
        self.write(Message::Text(text.into())).await
    }

    /// Writes one message, giving up on a peer that has not read for
    /// `write_timeout`: the connection ends without a close frame, which
    /// could not be written either.
    async fn write(&mut self, message: Message) -> Result<(), Ending> {
        match tokio::time::timeout(self.hub.config.write_timeout, self.socket.send(message)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(None),
            Err(_) => Err(self.not_reading()),
        }
    }

    fn not_reading(&self) -> Ending {
        tracing::info!(
            connection = self.registration.id,
            device = ?self.caller.device_id(),
            "closing a websocket that does not read"
        );
        self.hub
            .metrics
            .slow_consumers_closed
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        None
    }

    async fn error(&mut self, code: ErrorCode, message: &str) -> Result<(), Ending> {
        self.send(Event::Error(ErrorBody {
            code: code.as_str().to_owned(),
            message: message.to_owned(),
        }))
        .await
    }
}
