//! `GET /ws`: one task owns each socket and runs one loop over client frames,
//! live events, the heartbeat, revocation and shutdown.

use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use countertop_protocol::ErrorCode;
use countertop_protocol::{
    decode_client_message, ClientMessage, ErrorBody, Event, Frame, Subscribed, Topic, Unsubscribed,
    Welcome, CLOSE_REVOKED, MAX_FRAME_BYTES,
};
use tokio::time::Instant;

use crate::auth::Caller;
use crate::error::AppError;
use crate::registry::{Registration, Transport};
use crate::subscription::{Outgoing, ReplayOutcome, Subscription};
use crate::{Hub, APP_ORIGINS};

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

/// Rate limit: 20 messages a second sustained, bursts of 40, and three
/// seconds of flooding close the connection.
const RATE_PER_SEC: f64 = 20.0;
const RATE_BURST: f64 = 40.0;
const FLOOD_CLOSE_AFTER: Duration = Duration::from_secs(3);
/// A pause this long in refusals ends a flood.
const FLOOD_QUIET: Duration = Duration::from_secs(1);

pub async fn upgrade(
    State(hub): State<Hub>,
    caller: Caller,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    if let Err(e) = check_origin(&hub, &headers) {
        return e.into_response();
    }
    // The default 128 KiB read buffer made ~138 KiB of RSS per connection
    // (see BENCHMARKS.md). Client frames are small; 1 KiB suffices.
    ws.read_buffer_size(READ_BUFFER_BYTES)
        .write_buffer_size(WRITE_BUFFER_BYTES)
        .max_write_buffer_size(MAX_WRITE_BUFFER_BYTES)
        .max_message_size(TRANSPORT_MAX_BYTES)
        .max_frame_size(TRANSPORT_MAX_BYTES)
        .on_upgrade(move |socket| run(socket, hub, caller))
}

/// A request without `Origin` is a native client and allowed; otherwise the
/// origin must be the app's, the hub's own, or on the allow-list.
fn check_origin(hub: &Hub, headers: &HeaderMap) -> Result<(), AppError> {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return Ok(());
    };
    let origin = origin
        .to_str()
        .map_err(|_| AppError::forbidden("unreadable Origin"))?
        .trim_end_matches('/');
    if APP_ORIGINS.contains(&origin)
        || hub
            .config
            .allowed_origins
            .iter()
            .any(|o| o.trim_end_matches('/').eq_ignore_ascii_case(origin))
    {
        return Ok(());
    }
    // The hub's own pages, by the addresses it listens on. An Origin that
    // merely matches the Host header proves nothing: a page on an attacker's
    // name that resolves to the hub (DNS rebinding) sends both alike.
    if hub
        .own_origins
        .get()
        .is_some_and(|own| own.iter().any(|o| o.eq_ignore_ascii_case(origin)))
    {
        return Ok(());
    }
    Err(AppError::forbidden(format!(
        "origin {origin} is not allowed; start the hub with --allow-origin {origin}"
    )))
}

struct RateLimit {
    tokens: f64,
    refilled: Instant,
    flood_since: Option<Instant>,
    last_refusal: Option<Instant>,
}

enum Verdict {
    Accept,
    Refuse,
    Close,
}

impl RateLimit {
    fn new(now: Instant) -> RateLimit {
        RateLimit {
            tokens: RATE_BURST,
            refilled: now,
            flood_since: None,
            last_refusal: None,
        }
    }

    fn check(&mut self, now: Instant) -> Verdict {
        let elapsed = now.duration_since(self.refilled).as_secs_f64();
        self.tokens = (self.tokens + elapsed * RATE_PER_SEC).min(RATE_BURST);
        self.refilled = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            if self
                .last_refusal
                .is_some_and(|t| now.duration_since(t) > FLOOD_QUIET)
            {
                self.flood_since = None;
            }
            return Verdict::Accept;
        }
        self.last_refusal = Some(now);
        let since = *self.flood_since.get_or_insert(now);
        if now.duration_since(since) >= FLOOD_CLOSE_AFTER {
            Verdict::Close
        } else {
            Verdict::Refuse
        }
    }
}

/// Why the loop ended: a close frame to send, or nothing (the peer is gone).
type Ending = Option<(u16, &'static str)>;

struct Connection {
    socket: WebSocket,
    hub: Hub,
    caller: Caller,
    sub: Subscription,
    registration: Registration,
}

async fn run(socket: WebSocket, hub: Hub, caller: Caller) {
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
    };
    tracing::debug!(connection = conn.registration.id, device = ?conn.caller.device_id(), "websocket open");
    let ending = conn.serve().await;
    if let Some((code, reason)) = ending {
        let frame = CloseFrame {
            code,
            reason: Utf8Bytes::from_static(reason),
        };
        // A peer that does not read would hold this send forever.
        let write_timeout = conn.hub.config.write_timeout;
        let _ = tokio::time::timeout(write_timeout, conn.socket.send(Message::Close(Some(frame))))
            .await;
    }
    tracing::debug!(
        connection = conn.registration.id,
        ?ending,
        "websocket closed"
    );
}

impl Connection {
    async fn serve(&mut self) -> Ending {
        let welcome = Welcome {
            connection_id: format!("conn-{}", self.registration.id),
            device_id: self.caller.device_id().map(str::to_owned),
            role: self.caller.role(),
            epoch: self.hub.log.epoch().to_owned(),
            seq: self.sub.cursor(),
        };
        if Box::pin(self.send(Event::Welcome(welcome))).await.is_err() {
            return None;
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
                () = revoked.as_mut() => return Some((CLOSE_REVOKED, "device revoked")),
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
                self.subscribe(parsed, since, epoch.as_deref(), false).await
            }
            ClientMessage::SubscribeAdmin => {
                self.subscribe(vec![Topic::Orders], None, None, true).await
            }
            ClientMessage::SubscribeOrder { order_id } => {
                if !countertop_protocol::topic::is_valid_order_id(&order_id) {
                    return self
                        .error(ErrorCode::Validation, "order_id is not a valid order id")
                        .await;
                }
                self.subscribe(vec![Topic::Order(order_id)], None, None, false)
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
        admin: bool,
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
                Err(e) if e.code == ErrorCode::Internal => {
                    return self.error(e.code, &e.message).await
                }
                Err(e) if e.code == ErrorCode::NotFound => self.error(e.code, &e.message).await?,
                Err(e) => self.error(ErrorCode::Forbidden, &e.message).await?,
            }
        }
        if admin && allowed.is_empty() {
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
        let answer = if admin {
            Subscribed {
                topics: None,
                role: Some("admin".into()),
            }
        } else {
            Subscribed {
                topics: Some(names),
                role: None,
            }
        };
        self.send(Event::Subscribed(answer)).await?;
        match outcome.replay {
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

    /// Sends events with one flush at the end: a batch that fits the write
    /// buffer leaves in one write instead of one write (and syscall) each.
    async fn deliver(&mut self, events: Vec<Outgoing>) -> Result<(), Ending> {
        use futures::SinkExt;
        if events.is_empty() {
            return Ok(());
        }
        let n = events.len() as u64;
        let socket = &mut self.socket;
        let written = async move {
            for out in events {
                let frame = out.rendition().frame.clone();
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
        let text = serde_json::to_string(&Frame::control(event)).map_err(|_| None)?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_burst_of_forty_passes_and_a_sustained_flood_closes_after_three_seconds() {
        let start = Instant::now();
        let mut limit = RateLimit::new(start);
        for _ in 0..40 {
            assert!(matches!(limit.check(Instant::now()), Verdict::Accept));
        }
        assert!(matches!(limit.check(Instant::now()), Verdict::Refuse));
        // 100 messages a second: some pass as tokens refill, the rest are
        // refused, and after three seconds the connection is closed.
        let mut closed_at = None;
        for i in 0..400 {
            tokio::time::advance(Duration::from_millis(10)).await;
            if matches!(limit.check(Instant::now()), Verdict::Close) {
                closed_at = Some(i);
                break;
            }
        }
        let closed_at = closed_at.expect("a sustained flood is closed");
        assert!(
            (295..=310).contains(&closed_at),
            "closed after {closed_at} ticks"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn twenty_a_second_is_never_refused() {
        let mut limit = RateLimit::new(Instant::now());
        for _ in 0..200 {
            tokio::time::advance(Duration::from_millis(50)).await;
            assert!(matches!(limit.check(Instant::now()), Verdict::Accept));
        }
    }
}
