//! `/socket.io/`: the Socket.IO v4 dialect (Engine.IO 4, polling and
//! WebSocket) for `socket.io-client` and its ports (seed 002), on
//! socketioxide.
//!
//! socketioxide speaks the protocol; the hub keeps what a connection reads.
//! Each socket gets one task that owns its [`Subscription`], exactly as a
//! `/ws` connection does, so it reads the same events in the same order,
//! each once, with the same role filtering. Its rooms are its topics: it
//! joins its role's default topics when it connects, and `join-room` /
//! `leave-room` add and remove others. socketioxide's own rooms are not
//! used, since they would deliver an event read through two rooms twice.
//!
//! socketioxide spawns a task per client message, and those tasks do not
//! keep the order the messages came in (a `join-room` and a `leave-room`
//! of the same room could swap). So [`Arrived`], the one message handler's
//! extractor, which socketioxide runs in arrival order before it spawns
//! anything, queues each message for the socket's task; the task counts it
//! against the rate limit and acts on it in that order.
//!
//! Connection-state recovery (Socket.IO 4.6's `pid` and offsets) is not
//! offered: socketioxide 0.18 does not implement it (its CONNECT answer
//! carries only `sid`), so `socket.io-client` never sends an offset to
//! resume from. A reconnecting socket reads live from its reconnection.

use std::convert::Infallible;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::extract::{Request, State as AxumState};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;
use countertop_protocol::{ErrorCode, Topic};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use socketioxide::adapter::Adapter;
use socketioxide::extract::{Event, Extension, SocketRef, State, TryData};
use socketioxide::handler::{ConnectHandler, FromMessageParts, Value};
use socketioxide::socket::Socket;
use socketioxide::{ParserConfig, SendError, SocketError, SocketIo};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::auth::Caller;
use crate::rate::{RateLimit, Verdict};
use crate::registry::{Registration, Transport};
use crate::subscription::{Outgoing, Subscription};
use crate::Hub;

/// The largest Engine.IO message a client may send, over either transport
/// (a polling POST carries several; the hub answers a larger one `413`).
const MAX_MESSAGE_BYTES: usize = 64 * 1024;

/// Packets waiting for one client: a socket that lets this many pile up
/// has stopped reading and is closed, as a `/ws` one is.
const MAX_QUEUED_PACKETS: usize = 256;

/// Client messages waiting for the socket's task. More than this at once is
/// a flood: the rest are dropped and counted as rate-limited.
const INBOX_CAPACITY: usize = 64;

/// Connect errors, the words seed 002's server used.
const AUTHENTICATION_REQUIRED: &str = "Authentication required";
const INVALID_TOKEN: &str = "Invalid token";
/// The `error` event's message for a room the device may not read.
const ACCESS_DENIED: &str = "Access denied";
/// A connect error or `error` event when the hub cannot read its event log.
const HUB_ERROR: &str = "Hub error";

/// The Socket.IO routes: `/socket.io/` (and `/socket.io`, for ports that
/// drop the slash), behind the Origin allow-list.
pub fn routes(hub: &Hub) -> Router<Hub> {
    let config = &hub.config;
    let (service, io) = SocketIo::builder()
        .with_state(hub.clone())
        .with_parser(
            // Events here are JSON; binary attachments have no use.
            ParserConfig::common()
                .max_incoming_binaries(0)
                .max_incoming_binary_buf_size(0),
        )
        .max_payload(MAX_MESSAGE_BYTES as u64)
        .ws_max_message_size(MAX_MESSAGE_BYTES)
        .ws_max_frame_size(MAX_MESSAGE_BYTES)
        .max_buffer_size(MAX_QUEUED_PACKETS)
        .ping_interval(config.ping_interval)
        .ping_timeout(config.ping_interval)
        // An Engine.IO session that never joins a namespace holds its
        // connection no longer than a silent HTTP one.
        .connect_timeout(config.header_read_timeout)
        .build_svc();
    io.ns("/", connected.with(authenticate));
    // On shutdown every transport is closed (not the namespace left), so
    // clients reconnect when the hub is back, and long polls end at once.
    let stop = hub.shutdown.clone();
    tokio::spawn(async move {
        stop.cancelled().await;
        io.close().await;
    });
    Router::new()
        .route_service("/socket.io", service.clone())
        .route_service("/socket.io/", service)
        .layer(axum::middleware::from_fn_with_state(
            hub.clone(),
            refuse_foreign_origins,
        ))
}

/// Every Engine.IO request, the handshake, each poll and the upgrade,
/// carries the page's `Origin`; one outside the allow-list is `403`.
async fn refuse_foreign_origins(
    AxumState(hub): AxumState<Hub>,
    req: Request,
    next: Next,
) -> Response {
    match crate::origin::check(&hub, req.headers()) {
        Ok(()) => next.run(req).await,
        Err(e) => e.into_response(),
    }
}

/// The handshake's `auth` object: `{token}`.
#[derive(Deserialize)]
struct Handshake {
    token: Option<serde_json::Value>,
}

/// Why a namespace connection was refused: the connect error's `message`.
#[derive(Debug)]
struct Refusal(&'static str);

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

/// The connect middleware: the token of `auth`, checked as every request's
/// is. A device it names is admitted here, before the hub answers the
/// CONNECT: its default topics read from this moment and its messages
/// queued, so that nothing the client sends or is sent after it hears
/// `connect` is lost while its task starts.
async fn authenticate(
    socket: SocketRef,
    State(hub): State<Hub>,
    TryData(auth): TryData<Handshake>,
) -> Result<(), Refusal> {
    let token = match auth.ok().and_then(|a| a.token) {
        None | Some(serde_json::Value::Null) => return Err(Refusal(AUTHENTICATION_REQUIRED)),
        Some(serde_json::Value::String(t)) if t.is_empty() => {
            return Err(Refusal(AUTHENTICATION_REQUIRED))
        }
        Some(serde_json::Value::String(t)) => t,
        Some(_) => return Err(Refusal(INVALID_TOKEN)),
    };
    let device = hub
        .authenticate(&token)
        .await
        .map_err(|_| Refusal(INVALID_TOKEN))?;
    hub.devices.touch(&device.id, hub.clock.now());
    let caller = Caller {
        device: Some(device),
    };
    let mut sub = Subscription::new(hub.clone(), caller.clone());
    let defaults = countertop_protocol::default_topics(caller.role());
    if let Err(e) = Box::pin(sub.subscribe(defaults, None, None)).await {
        tracing::error!(error = %e, "could not subscribe a socket.io connection");
        return Err(Refusal(HUB_ERROR));
    }
    let registration = hub
        .registry
        .register(caller.device_id().map(str::to_owned), Transport::SocketIo);
    registration.set_topics(sub.topic_names());
    let (inbox, messages) = mpsc::channel(INBOX_CAPACITY);
    socket.extensions.insert(Inbox(inbox));
    socket.extensions.insert(hub.clone());
    socket.on_fallback(async |_: Arrived| {});
    let gone = CancellationToken::new();
    socket.on_disconnect({
        let gone = gone.clone();
        async move || gone.cancel()
    });
    let admitted = Admitted {
        hub,
        caller,
        sub,
        registration,
        messages,
        gone,
    };
    socket
        .extensions
        .insert(Pending(Arc::new(std::sync::Mutex::new(Some(admitted)))));
    Ok(())
}

/// What the middleware made of a socket, for its task. It holds no
/// reference to the socket, in whose extensions it waits.
struct Admitted {
    hub: Hub,
    caller: Caller,
    sub: Subscription,
    registration: Registration,
    messages: mpsc::Receiver<Inbound>,
    gone: CancellationToken,
}

/// A socket's [`Admitted`] until its task takes it.
#[derive(Clone)]
struct Pending(Arc<std::sync::Mutex<Option<Admitted>>>);

/// A client message for the socket's task.
enum Inbound {
    Join(Option<String>),
    Leave(Option<String>),
    /// Any other event: it counts against the rate limit and is ignored.
    Other,
}

/// Where a socket's messages go: its task's queue.
#[derive(Clone)]
struct Inbox(mpsc::Sender<Inbound>);

/// The extractor of the socket's one message handler: it queues the
/// message for the socket's task, in the order messages arrive (see the
/// module's comment). The handler itself does nothing.
struct Arrived;

impl<A: Adapter> FromMessageParts<A> for Arrived {
    type Error = Infallible;

    fn from_message_parts(
        socket: &Arc<Socket<A>>,
        value: &mut Value,
        ack: &Option<i64>,
    ) -> Result<Arrived, Infallible> {
        let Some(Inbox(inbox)) = socket.extensions.get::<Inbox>() else {
            return Ok(Arrived);
        };
        let event = Event::from_message_parts(socket, value, ack).map(|Event(name)| name);
        let mut room = || {
            let TryData(room) = TryData::<String>::from_message_parts(socket, value, ack)
                .unwrap_or_else(|never| match never {});
            room.ok()
        };
        let message = match event.as_deref() {
            Ok("join-room") => Inbound::Join(room()),
            Ok("leave-room") => Inbound::Leave(room()),
            _ => Inbound::Other,
        };
        if inbox.try_send(message).is_err() {
            if let Some(hub) = socket.extensions.get::<Hub>() {
                hub.metrics
                    .rate_limited_messages
                    .fetch_add(1, Ordering::Relaxed);
            }
        }
        Ok(Arrived)
    }
}

/// A socket has joined the namespace: its task starts.
async fn connected(socket: SocketRef, Extension(Pending(pending)): Extension<Pending>) {
    socket.extensions.remove::<Pending>();
    let taken = pending.lock().unwrap_or_else(|p| p.into_inner()).take();
    let Some(Admitted {
        hub,
        caller,
        sub,
        registration,
        messages,
        gone,
    }) = taken
    else {
        return;
    };
    let mut conn = Connection {
        socket,
        hub,
        caller,
        sub,
        registration,
        messages,
        gone,
    };
    // A socket that left before its disconnect handler was set would never
    // call it.
    if !conn.socket.connected() {
        return;
    }
    conn.hub
        .metrics
        .socketio_connections_total
        .fetch_add(1, Ordering::Relaxed);
    tracing::debug!(
        connection = conn.registration.id,
        device = ?conn.caller.device_id(),
        transport = ?conn.socket.transport_type(),
        "socket.io open"
    );
    let ending = conn.serve().await;
    tracing::debug!(
        connection = conn.registration.id,
        ?ending,
        "socket.io closed"
    );
}

/// Why a socket's task ended.
#[derive(Debug)]
enum Ending {
    /// The client left, or the transport closed.
    Gone,
    Shutdown,
    Revoked,
    Flood,
    /// It stopped reading: its queue of packets is full.
    NotReading,
    HubError,
}

struct Connection {
    socket: SocketRef,
    hub: Hub,
    caller: Caller,
    sub: Subscription,
    registration: Registration,
    messages: mpsc::Receiver<Inbound>,
    gone: CancellationToken,
}

impl Connection {
    async fn serve(&mut self) -> Ending {
        let mut limit = RateLimit::new(Instant::now());
        let revoked = self.registration.revoked.clone();
        let shutdown = self.hub.shutdown.clone();
        let gone = self.gone.clone();
        loop {
            let result = tokio::select! {
                biased;
                () = shutdown.cancelled() => Err(Ending::Shutdown),
                () = revoked.cancelled() => Err(Ending::Revoked),
                () = gone.cancelled() => Err(Ending::Gone),
                Some(message) = self.messages.recv() => match limit.check(Instant::now()) {
                    Verdict::Accept => Box::pin(self.handle(message)).await,
                    Verdict::Refuse => {
                        self.hub.metrics.rate_limited_messages.fetch_add(1, Ordering::Relaxed);
                        self.error("Rate limit exceeded")
                    }
                    Verdict::Close => Err(Ending::Flood),
                },
                received = self.sub.recv() => {
                    let closed = matches!(received, Err(tokio::sync::broadcast::error::RecvError::Closed));
                    match Box::pin(self.sub.accept(received)).await {
                        Ok(out) => self.deliver(out),
                        Err(e) => {
                            tracing::error!(error = %e, "could not read the event log for a lagging connection");
                            Err(Ending::HubError)
                        }
                    }
                    .and(if closed { Err(Ending::Shutdown) } else { Ok(()) })
                }
            };
            if let Err(ending) = result {
                return self.end(ending);
            }
        }
    }

    /// Ends the socket as `ending` asks. A revoked device, a flood and a
    /// hub error leave the namespace: the client is told (`disconnect`,
    /// "io server disconnect") and does not retry on its own. On shutdown
    /// the transports are closed for all sockets at once (see `routes`).
    fn end(&self, ending: Ending) -> Ending {
        if matches!(
            ending,
            Ending::Revoked | Ending::Flood | Ending::HubError | Ending::NotReading
        ) {
            // A socket whose queue is full cannot take the disconnect packet
            // either; the Engine.IO heartbeat, which cannot queue its ping,
            // then closes it.
            let _ = self.socket.clone().disconnect();
        }
        ending
    }

    async fn handle(&mut self, message: Inbound) -> Result<(), Ending> {
        match message {
            Inbound::Join(room) => self.join(room).await,
            Inbound::Leave(room) => {
                if let Some(topic) = room.as_deref().and_then(|r| Topic::parse(r).ok()) {
                    self.sub.unsubscribe(&[topic]);
                    self.registration.set_topics(self.sub.topic_names());
                }
                Ok(())
            }
            Inbound::Other => Ok(()),
        }
    }

    /// `join-room`: a topic the device may read is added (live from now);
    /// any other name is denied.
    async fn join(&mut self, room: Option<String>) -> Result<(), Ending> {
        let Some(topic) = room.as_deref().and_then(|r| Topic::parse(r).ok()) else {
            return self.error(ACCESS_DENIED);
        };
        let cap = self.hub.config.max_topics_per_connection;
        if self.sub.topic_count() + self.sub.new_topics(std::slice::from_ref(&topic)) > cap {
            return self.error(&format!("A connection joins at most {cap} rooms"));
        }
        match self.hub.authorize_topic(&self.caller, &topic).await {
            Ok(()) => {}
            Err(e) if e.code == ErrorCode::Internal => return Err(Ending::HubError),
            Err(_) => return self.error(ACCESS_DENIED),
        }
        let outcome = match self.sub.subscribe(vec![topic], None, None).await {
            Ok(o) => o,
            Err(e) => {
                tracing::error!(error = %e, "could not subscribe a socket.io connection");
                return Err(Ending::HubError);
            }
        };
        self.registration.set_topics(self.sub.topic_names());
        self.deliver(outcome.before)
    }

    /// Emits each event as `socket.on(name, data)`. The data is the text
    /// made at commit, passed as a raw JSON value: checked, not decoded and
    /// encoded again.
    fn deliver(&self, events: Vec<Outgoing>) -> Result<(), Ending> {
        if events.is_empty() {
            return Ok(());
        }
        let n = events.len() as u64;
        for out in events {
            let rendition = out.rendition();
            let data: &RawValue = match serde_json::from_str(&rendition.data) {
                Ok(data) => data,
                Err(e) => {
                    tracing::error!(error = %e, seq = out.event.seq, "an event's data is not JSON");
                    continue;
                }
            };
            self.emit(&rendition.name, data)?;
        }
        self.hub.metrics.delivered(n);
        Ok(())
    }

    /// The `error` event, in the shape seed 002's server sent it.
    fn error(&self, message: &str) -> Result<(), Ending> {
        #[derive(Serialize)]
        struct ErrorMessage<'a> {
            message: &'a str,
        }
        self.emit("error", &ErrorMessage { message })
    }

    fn emit<T: ?Sized + Serialize>(&self, event: &str, data: &T) -> Result<(), Ending> {
        match self.socket.emit(event, data) {
            Ok(()) => Ok(()),
            Err(SendError::Socket(SocketError::InternalChannelFull)) => {
                tracing::info!(
                    connection = self.registration.id,
                    device = ?self.caller.device_id(),
                    "closing a socket.io connection that does not read"
                );
                self.hub
                    .metrics
                    .slow_consumers_closed
                    .fetch_add(1, Ordering::Relaxed);
                Err(Ending::NotReading)
            }
            Err(SendError::Socket(SocketError::Closed)) => Err(Ending::Gone),
            Err(e) => {
                tracing::error!(error = %e, "could not emit to a socket.io connection");
                Err(Ending::HubError)
            }
        }
    }
}
