//! The link to the hub: the WebSocket and the REST calls the core makes.
//!
//! The connection actor talks to the hub only through [`HubLink`], so tests
//! can put an in-memory hub behind it and drive it with paused time.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use countertop_protocol::{
    CancelOrder, ErrorBody, ErrorResponse, MarkItems, Order, OrderStatus, PairRequest, Paired,
    Snapshot, StatusChange, Workorder,
};
use futures::{Sink, SinkExt, Stream, StreamExt};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::{self, client::IntoClientRequest, http::HeaderValue, Message};

use crate::error::LinkError;
use crate::outbox::OutboxOp;
use crate::pin::{PinnedTls, Trust};
use crate::state::HubNode;
use crate::token::DeviceToken;

/// What arrives on the socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Incoming {
    /// A text frame: one hub event.
    Text(String),
    /// A WebSocket ping, pong or other control frame. It proves the link is
    /// alive but carries nothing.
    Control,
    /// The hub closed the socket.
    Closed { code: Option<u16> },
}

pub type Outgoing = Pin<Box<dyn Sink<String, Error = LinkError> + Send>>;
pub type IncomingStream = Pin<Box<dyn Stream<Item = Result<Incoming, LinkError>> + Send>>;

/// An open socket: text frames out, [`Incoming`] in.
pub struct Socket {
    pub outgoing: Outgoing,
    pub incoming: IncomingStream,
}

/// What a connection reads from its first frame on, named when it opens
/// (protocol v2, "Subscribed at connect"): `GET /ws?topics=…&since=…&epoch=…`.
/// The hub replays the topics from `since` before anything live and ends the
/// replay with `replayed` (or `resync`), so a resuming client sends no
/// `subscribe` and cannot race its own live events.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConnectQuery {
    /// The topics to read; empty means none (`?topics=`).
    pub topics: Vec<String>,
    /// The cache's committed cursor: replay every event after it.
    pub since: Option<u64>,
    /// The event log `since` belongs to, so a wiped log answers `resync`.
    pub epoch: Option<String>,
}

impl ConnectQuery {
    /// Appends `topics`, `since` and `epoch` to `url`, percent-encoded.
    pub fn apply(&self, url: &mut reqwest::Url) {
        let mut pairs = url.query_pairs_mut();
        pairs.append_pair("topics", &self.topics.join(","));
        if let Some(since) = self.since {
            pairs.append_pair("since", &since.to_string());
            if let Some(epoch) = &self.epoch {
                pairs.append_pair("epoch", epoch);
            }
        }
    }
}

/// How the hub answered an outbox entry.
#[derive(Debug, Clone, PartialEq)]
pub enum Submitted {
    /// Done (now or on an earlier try); the hub's answer.
    Done(Value),
    /// Refused for good (sold out, insufficient balance, ...).
    Refused(ErrorBody),
}

/// What the connection needs from the hub.
pub trait HubLink: Send + Sync + 'static {
    /// Opens the WebSocket (authenticated as this device), reading `query`'s
    /// topics from the first frame on.
    fn open(&self, query: &ConnectQuery) -> impl Future<Output = Result<Socket, LinkError>> + Send;
    /// `GET /api/snapshot`.
    fn snapshot(&self) -> impl Future<Output = Result<Snapshot, LinkError>> + Send;
    /// Sends one outbox entry. `Err` means "try again later".
    fn submit(&self, op: &OutboxOp) -> impl Future<Output = Result<Submitted, LinkError>> + Send;
    /// After the hub refused this device's token (`401`): swaps it for a
    /// fresh one (`POST /api/devices/refresh`), as
    /// works after the hub rotated its signing secret but not for a revoked
    /// device. A link that cannot renew answers `Unauthorized`.
    fn renew_token(&self) -> impl Future<Output = Result<(), LinkError>> + Send {
        std::future::ready(Err(LinkError::Unauthorized))
    }
    /// Which of the café's hub nodes the link uses now, when it knows
    /// several (none when it knows one).
    fn node(&self) -> Option<HubNode> {
        None
    }
    /// Moves to the next node after the one in use could not be reached (or
    /// the link to it broke); false when the link knows no other. The nodes
    /// share one log, so a cursor and its epoch hold on every one.
    fn next_node(&self) -> bool {
        false
    }
}

/// This device's token, shared by every clone of one [`HttpHub`]: a
/// renewal swaps it for all of them at once (the outbox's next call, the
/// socket's next connection).
#[derive(Default)]
struct Credentials {
    token: RwLock<Option<DeviceToken>>,
    expires_at: RwLock<Option<countertop_protocol::Timestamp>>,
    /// One renewal at a time: a second caller refused with the same token
    /// finds it renewed already.
    renewing: tokio::sync::Mutex<()>,
    /// Where renewed tokens go to be kept (the vault and the cache).
    renewed: std::sync::Mutex<Option<mpsc::UnboundedSender<Paired>>>,
}

fn read<T: Clone>(lock: &RwLock<T>) -> T {
    lock.read().unwrap_or_else(|p| p.into_inner()).clone()
}

fn write<T>(lock: &RwLock<T>, value: T) {
    *lock.write().unwrap_or_else(|p| p.into_inner()) = value;
}

const REFRESH_PATH: &str = "/api/devices/refresh";

/// The most hub nodes one link moves between (as many as a hub names in
/// its pairing answer).
pub const MAX_NODES: usize = 16;
/// The longest node address a link takes.
pub const MAX_NODE_URL_CHARS: usize = 200;

/// One address of the hub: the café's only one, or one of its nodes.
#[derive(Debug, Clone)]
struct Node {
    /// `http(s)://host:port`, without a final `/`.
    base: String,
    /// On this computer (a loopback address): plain HTTP may carry a token
    /// or a pairing code there, and nowhere else.
    local: bool,
    /// Reached over `https://`, with the pinned key.
    secure: bool,
}

/// The real hub over HTTP and WebSocket, at one address or at several
/// nodes of one café (one database, one log): every call goes to the node
/// in use, and [`HubLink::next_node`] moves all clones on at once.
#[derive(Clone)]
pub struct HttpHub {
    nodes: Arc<[Node]>,
    /// The index in `nodes` of the node in use, shared by every clone.
    current: Arc<AtomicUsize>,
    http: reqwest::Client,
    credentials: Arc<Credentials>,
    /// For an `https://` hub: the pinned key and what handshakes saw.
    tls: Option<PinnedTls>,
}

/// Whether `url` names this computer: a loopback address or `localhost`.
fn is_local(url: &reqwest::Url) -> bool {
    let host = url.host_str().unwrap_or("");
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    match bare.parse::<std::net::IpAddr>() {
        Ok(ip) => ip.is_loopback(),
        Err(_) => bare.eq_ignore_ascii_case("localhost"),
    }
}

/// Checks one hub address as a link would use it: for a device holding a
/// token (`with_token`) or pinning a key (`trust`), what may carry them.
fn node(base: &str, with_token: bool, trust: Option<&Trust>) -> Result<Node, LinkError> {
    let base = base.trim().trim_end_matches('/');
    if base.len() > MAX_NODE_URL_CHARS {
        return Err(LinkError::Protocol(format!(
            "a hub address has at most {MAX_NODE_URL_CHARS} characters"
        )));
    }
    let url = reqwest::Url::parse(base)
        .map_err(|e| LinkError::Protocol(format!("hub address {base:?}: {e}")))?;
    let local = is_local(&url);
    let secure = match url.scheme() {
        "https" => true,
        "http" => false,
        other => {
            return Err(LinkError::Protocol(format!(
                "hub address {base:?}: {other}:// is neither http:// nor https://"
            )))
        }
    };
    if !secure && matches!(trust, Some(Trust::Pinned(_))) {
        // A pinned device reaches its hub over TLS only: an address
        // someone announced or typed in plain would get its token.
        return Err(LinkError::Protocol(format!(
            "{base}: this device pinned its hub's key and reaches it over https:// only"
        )));
    }
    if !secure && !local && with_token {
        return Err(LinkError::Protocol(format!(
            "{base}: a device token goes over plain http:// only to this computer; use the hub's https:// address"
        )));
    }
    if secure && trust.is_none() {
        return Err(LinkError::Protocol(format!(
            "{base}: a hub over https needs the fingerprint this device paired with"
        )));
    }
    Ok(Node {
        base: base.to_owned(),
        local,
        secure,
    })
}

impl std::fmt::Debug for HttpHub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpHub")
            .field("base", &self.base())
            .field("nodes", &self.nodes.len())
            .finish()
    }
}

fn network(e: reqwest::Error) -> LinkError {
    if e.is_timeout() {
        LinkError::Timeout
    } else {
        LinkError::Network(e.without_url().to_string())
    }
}

impl HttpHub {
    /// `base` is the hub's address over plain HTTP, like
    /// `http://127.0.0.1:3001`; an `https://` hub needs [`HttpHub::pinned`].
    pub fn new(
        base: &str,
        token: Option<DeviceToken>,
        request_timeout: Duration,
    ) -> Result<HttpHub, LinkError> {
        HttpHub::pinned(base, token, request_timeout, None)
    }

    /// A hub at `base`; over `https://` its certificate's key must match
    /// `trust` (which an `http://` address does not use).
    pub fn pinned(
        base: &str,
        token: Option<DeviceToken>,
        request_timeout: Duration,
        trust: Option<Trust>,
    ) -> Result<HttpHub, LinkError> {
        HttpHub::nodes(&[base], token, request_timeout, trust)
    }

    /// The hub at several nodes of one café, tried in this order: the first
    /// is used first, and [`HubLink::next_node`] moves on. Each address
    /// must pass what [`HttpHub::pinned`] asks of one; one that does not is
    /// left out (logged), and without any left the first one's error is
    /// returned. At most [`MAX_NODES`] are kept, each once.
    pub fn nodes<S: AsRef<str>>(
        bases: &[S],
        token: Option<DeviceToken>,
        request_timeout: Duration,
        trust: Option<Trust>,
    ) -> Result<HttpHub, LinkError> {
        let mut nodes: Vec<Node> = Vec::new();
        let mut first_error = None;
        for base in bases {
            match node(base.as_ref(), token.is_some(), trust.as_ref()) {
                Ok(node) if nodes.iter().any(|n| n.base == node.base) => {}
                Ok(_) if nodes.len() == MAX_NODES => {
                    tracing::warn!("more than {MAX_NODES} hub addresses; the rest are left out");
                    break;
                }
                Ok(node) => nodes.push(node),
                Err(e) => {
                    if bases.len() > 1 {
                        tracing::warn!(error = %e, "a hub node's address is left out");
                    }
                    first_error.get_or_insert(e);
                }
            }
        }
        if nodes.is_empty() {
            return Err(
                first_error.unwrap_or_else(|| LinkError::Protocol("no hub address given".into()))
            );
        }
        let tls = match (nodes.iter().any(|n| n.secure), trust) {
            (true, Some(trust)) => Some(PinnedTls::new(trust)),
            _ => None,
        };
        let mut builder = reqwest::Client::builder()
            .timeout(request_timeout)
            .connect_timeout(request_timeout.min(Duration::from_secs(5)))
            // The hub closes a connection that has sent no request for 10 s;
            // letting go of idle ones first keeps a request from being sent
            // on a connection the hub is just closing.
            .pool_idle_timeout(Duration::from_secs(5))
            // Only the hub's own addresses: a redirect elsewhere (or from
            // https to http) would take the token with it.
            .redirect(reqwest::redirect::Policy::none());
        if let Some(tls) = &tls {
            builder = builder.use_preconfigured_tls((*tls.config()).clone());
        }
        let http = builder.build().map_err(network)?;
        let credentials = Credentials {
            token: RwLock::new(token),
            ..Credentials::default()
        };
        Ok(HttpHub {
            nodes: nodes.into(),
            current: Arc::new(AtomicUsize::new(0)),
            http,
            credentials: Arc::new(credentials),
            tls,
        })
    }

    /// The node in use.
    fn current(&self) -> &Node {
        // Always below the length: only `next_node` stores it, modulo that.
        let at = self.current.load(Ordering::Relaxed);
        &self.nodes[at.min(self.nodes.len() - 1)]
    }

    /// Every node's address, in the order they are tried.
    pub fn node_urls(&self) -> Vec<String> {
        self.nodes.iter().map(|n| n.base.clone()).collect()
    }

    /// The device token every clone of this link uses now.
    pub fn token(&self) -> Option<DeviceToken> {
        read(&self.credentials.token)
    }

    /// When the token in use runs out, if known.
    pub fn token_expires_at(&self) -> Option<countertop_protocol::Timestamp> {
        read(&self.credentials.expires_at)
    }

    /// Records when the token in use runs out (as the cache knows it).
    pub fn set_token_expiry(&self, at: Option<countertop_protocol::Timestamp>) {
        write(&self.credentials.expires_at, at);
    }

    /// Every token a renewal gives from now on, to be kept: the device's
    /// vault and cache (`device::connect`). One receiver per link.
    pub fn renewals(&self) -> mpsc::UnboundedReceiver<Paired> {
        let (tx, rx) = mpsc::unbounded_channel();
        *self
            .credentials
            .renewed
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = Some(tx);
        rx
    }

    /// Swaps the device token for a fresh one (`POST /api/devices/refresh`)
    /// for every clone of this link at once, and hands it to
    /// [`HttpHub::renewals`] to be kept. The hub stops taking the old one.
    pub async fn renew(&self) -> Result<Paired, LinkError> {
        let _one = self.credentials.renewing.lock().await;
        self.renew_locked().await
    }

    async fn renew_locked(&self) -> Result<Paired, LinkError> {
        let paired = self.refresh().await?;
        write(
            &self.credentials.token,
            Some(DeviceToken::new(paired.token.clone())),
        );
        write(&self.credentials.expires_at, Some(paired.expires_at));
        let keeper = self
            .credentials
            .renewed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        if let Some(keeper) = keeper {
            let _ = keeper.send(paired.clone());
        }
        tracing::info!("device token renewed");
        Ok(paired)
    }

    /// After `used` was refused (`401`): renews it, unless another caller
    /// already has.
    async fn renew_after(&self, used: &DeviceToken) -> Result<(), LinkError> {
        let _one = self.credentials.renewing.lock().await;
        if self.token().as_ref() != Some(used) {
            return Ok(());
        }
        self.renew_locked().await.map(|_| ())
    }

    /// Runs `send` with the token in use; if the hub refuses that token
    /// (`401`), renews it once and runs `send` again with the new one. A
    /// `401` means the hub processed nothing, so sending again is safe.
    async fn with_token<T, F, Fut>(&self, path: &str, send: F) -> Result<T, LinkError>
    where
        F: Fn(Option<DeviceToken>) -> Fut,
        Fut: Future<Output = Result<T, LinkError>>,
    {
        let used = self.token();
        match (send(used.clone()).await, used) {
            (Err(LinkError::Unauthorized), Some(used)) if path != REFRESH_PATH => {
                self.renew_after(&used).await?;
                send(self.token()).await
            }
            (result, _) => result,
        }
    }

    /// The pinned TLS of an `https://` hub (the key its last handshake
    /// showed, for a pairing that binds it).
    pub fn tls(&self) -> Option<&PinnedTls> {
        self.tls.as_ref()
    }

    /// A failed request's error, told as "not your hub" if a handshake
    /// was refused for another key.
    fn checked<T>(&self, result: Result<T, LinkError>) -> Result<T, LinkError> {
        match (result, &self.tls) {
            (Err(LinkError::Network(_) | LinkError::Timeout), Some(tls))
                if tls.take_refused().is_some() =>
            {
                let shown = tls.last_seen();
                match (tls.trust(), shown) {
                    (Trust::Pinned(expected), Some(shown)) => {
                        Err(LinkError::NotYourHub { expected, shown })
                    }
                    _ => Err(LinkError::Network(
                        "the hub's certificate was refused".into(),
                    )),
                }
            }
            (result, _) => result,
        }
    }

    /// The address of the node in use.
    pub fn base(&self) -> &str {
        &self.current().base
    }

    /// The WebSocket address with `query` in it.
    pub fn ws_url(&self, query: &ConnectQuery) -> Result<reqwest::Url, LinkError> {
        let base = self.base();
        let rest = base
            .strip_prefix("https://")
            .map(|r| format!("wss://{r}"))
            .or_else(|| base.strip_prefix("http://").map(|r| format!("ws://{r}")))
            .unwrap_or_else(|| base.to_owned());
        let mut url = reqwest::Url::parse(&format!("{rest}/ws"))
            .map_err(|e| LinkError::Protocol(format!("hub address: {e}")))?;
        query.apply(&mut url);
        Ok(url)
    }

    pub(crate) async fn call<B: serde::Serialize>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
    ) -> Result<Value, LinkError> {
        self.with_token(path, |token| {
            self.call_as(token, method.clone(), path, body)
        })
        .await
    }

    /// [`HttpHub::call`] with `token`, once.
    async fn call_as<B: serde::Serialize>(
        &self,
        token: Option<DeviceToken>,
        method: Method,
        path: &str,
        body: Option<&B>,
    ) -> Result<Value, LinkError> {
        let mut request = self
            .http
            .request(method, format!("{}{}", self.base(), path));
        if let Some(token) = &token {
            request = request.bearer_auth(token.expose());
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        self.checked(answer(request, path).await)
    }

    /// Sends `body` as it is, of type `content_type` (a photo), with this
    /// device's token; answered as [`HttpHub::call`] is.
    pub(crate) async fn call_bytes(
        &self,
        method: Method,
        path: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> Result<Value, LinkError> {
        // Copied for each try (a photo, at most a few MiB, sent once or twice).
        self.with_token(path, |token| {
            let mut request = self
                .http
                .request(method.clone(), format!("{}{}", self.base(), path))
                .header(reqwest::header::CONTENT_TYPE, content_type)
                .body(body.clone());
            if let Some(token) = &token {
                request = request.bearer_auth(token.expose());
            }
            async move { self.checked(answer(request, path).await) }
        })
        .await
    }

    /// `GET` a text the hub writes (a report's CSV) with this device's
    /// token: at most `max` bytes of UTF-8; errors as [`HttpHub::call`].
    pub(crate) async fn get_text(&self, path: &str, max: usize) -> Result<String, LinkError> {
        self.with_token(path, |token| async move {
            self.checked(self.get_text_unchecked(token, path, max).await)
        })
        .await
    }

    async fn get_text_unchecked(
        &self,
        token: Option<DeviceToken>,
        path: &str,
        max: usize,
    ) -> Result<String, LinkError> {
        let mut request = self.http.get(format!("{}{}", self.base(), path));
        if let Some(token) = &token {
            request = request.bearer_auth(token.expose());
        }
        let mut response = request.send().await.map_err(network)?;
        let status = response.status();
        if !status.is_success() {
            let bytes = response.bytes().await.map_err(network)?;
            if status == StatusCode::UNAUTHORIZED {
                return Err(LinkError::Unauthorized);
            }
            let body = serde_json::from_slice::<ErrorResponse>(&bytes)
                .map(|r| r.error)
                .unwrap_or_else(|_| ErrorBody {
                    code: format!("http_{}", status.as_u16()),
                    message: String::from_utf8_lossy(&bytes).chars().take(200).collect(),
                });
            return Err(LinkError::Hub {
                status: status.as_u16(),
                body,
            });
        }
        let too_large = || LinkError::Protocol(format!("{path}: larger than {max} bytes"));
        let mut bytes = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(network)? {
            if bytes.len() + chunk.len() > max {
                return Err(too_large());
            }
            bytes.extend_from_slice(&chunk);
        }
        String::from_utf8(bytes).map_err(|_| LinkError::Protocol(format!("{path}: not UTF-8")))
    }

    /// `GET` a photo the hub made (anyone may read one): a JPEG of at most
    /// `max` bytes, else a protocol error. The size is checked as the bytes
    /// arrive, so a larger answer is never held whole.
    pub async fn photo(&self, path: &str, max: usize) -> Result<Vec<u8>, LinkError> {
        let sent = self
            .http
            .get(format!("{}{}", self.base(), path))
            .send()
            .await
            .map_err(network);
        let mut response = self.checked(sent)?;
        let status = response.status();
        if !status.is_success() {
            return Err(LinkError::Hub {
                status: status.as_u16(),
                body: ErrorBody {
                    code: format!("http_{}", status.as_u16()),
                    message: format!("{path} is not there"),
                },
            });
        }
        let jpeg = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("image/jpeg"));
        if !jpeg {
            return Err(LinkError::Protocol(format!("{path}: not a JPEG")));
        }
        let too_large = || LinkError::Protocol(format!("{path}: larger than {max} bytes"));
        if response.content_length().is_some_and(|n| n > max as u64) {
            return Err(too_large());
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(network)? {
            if bytes.len() + chunk.len() > max {
                return Err(too_large());
            }
            bytes.extend_from_slice(&chunk);
        }
        // Every JPEG starts with its start-of-image marker.
        if !bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            return Err(LinkError::Protocol(format!("{path}: not a JPEG")));
        }
        Ok(bytes)
    }

    async fn get<T: serde::de::DeserializeOwned>(&self, path: &str) -> Result<T, LinkError> {
        let value = self.call::<()>(Method::GET, path, None).await?;
        serde_json::from_value(value).map_err(|e| LinkError::Protocol(format!("{path}: {e}")))
    }

    /// Pairs a new device with a one-time code (no token needed).
    pub async fn pair(&self, code: &str) -> Result<Paired, LinkError> {
        let node = self.current();
        if !node.secure && !node.local {
            // Anyone on the Wi-Fi could read the code and pair first.
            return Err(LinkError::Protocol(format!(
                "{}: a pairing code goes over plain http:// only to this computer; use the hub's https:// address or its pairing link",
                node.base
            )));
        }
        let value = self
            .call(
                Method::POST,
                "/api/devices/pair",
                Some(&PairRequest {
                    code: code.to_owned(),
                }),
            )
            .await?;
        serde_json::from_value(value).map_err(|e| LinkError::Protocol(format!("pair: {e}")))
    }

    /// `POST /api/devices/refresh`: a fresh token for this device (kept
    /// nowhere: [`HttpHub::renew`] also swaps it in).
    pub async fn refresh(&self) -> Result<Paired, LinkError> {
        let value = self
            .call_as::<()>(self.token(), Method::POST, REFRESH_PATH, None)
            .await?;
        serde_json::from_value(value).map_err(|e| LinkError::Protocol(format!("refresh: {e}")))
    }

    /// `GET /api/menu` (anyone may read it).
    pub async fn menu(&self) -> Result<Vec<countertop_protocol::MenuItem>, LinkError> {
        self.get("/api/menu").await
    }

    /// Decides whether a refusal of a status move means "it already happened".
    async fn already(
        &self,
        order_id: &str,
        wanted: OrderStatus,
        refusal: LinkError,
    ) -> Result<Submitted, LinkError> {
        let order: Order = self.get(&format!("/api/orders/{order_id}")).await?;
        if order.status == wanted {
            return Ok(Submitted::Done(
                serde_json::to_value(&order).unwrap_or(Value::Null),
            ));
        }
        refused(refusal)
    }
}

/// Sends `request` and reads the hub's answer: its JSON (`null` when
/// empty), or its error as [`LinkError::Hub`].
/// The largest answer read from a hub: a snapshot of a busy day is a few
/// megabytes; anything at the hub's address (before pairing proves it, a
/// machine that only announced itself) gets no more memory than this.
const MAX_ANSWER_BYTES: usize = 32 * 1024 * 1024;

async fn answer(request: reqwest::RequestBuilder, path: &str) -> Result<Value, LinkError> {
    let mut response = request.send().await.map_err(network)?;
    let status = response.status();
    if status == StatusCode::UNAUTHORIZED {
        return Err(LinkError::Unauthorized);
    }
    let too_large =
        || LinkError::Protocol(format!("{path}: an answer over {MAX_ANSWER_BYTES} bytes"));
    if response
        .content_length()
        .is_some_and(|len| len > MAX_ANSWER_BYTES as u64)
    {
        return Err(too_large());
    }
    let mut bytes = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(network)? {
        if bytes.len() + chunk.len() > MAX_ANSWER_BYTES {
            return Err(too_large());
        }
        bytes.extend_from_slice(&chunk);
    }
    if status.is_success() {
        if bytes.is_empty() {
            return Ok(Value::Null);
        }
        return serde_json::from_slice(&bytes)
            .map_err(|e| LinkError::Protocol(format!("{path}: {e}")));
    }
    let body = serde_json::from_slice::<ErrorResponse>(&bytes)
        .map(|r| r.error)
        .unwrap_or_else(|_| ErrorBody {
            code: format!("http_{}", status.as_u16()),
            message: String::from_utf8_lossy(&bytes).chars().take(200).collect(),
        });
    Err(LinkError::Hub {
        status: status.as_u16(),
        body,
    })
}

/// Turns a hub answer into a final refusal, or leaves it as "try again".
fn refused(e: LinkError) -> Result<Submitted, LinkError> {
    match e {
        LinkError::Hub { status, body } if !(status >= 500 || status == 429 || status == 408) => {
            Ok(Submitted::Refused(body))
        }
        other => Err(other),
    }
}

fn is_final_refusal(e: &LinkError) -> bool {
    !e.is_transient() && matches!(e, LinkError::Hub { .. })
}

fn ws_error(e: tungstenite::Error) -> LinkError {
    match e {
        tungstenite::Error::Http(response) => {
            let status = response.status().as_u16();
            if status == 401 {
                LinkError::Unauthorized
            } else {
                let code = if status == 403 {
                    "forbidden".to_owned()
                } else {
                    format!("http_{status}")
                };
                LinkError::Hub {
                    status,
                    body: ErrorBody {
                        code,
                        message: "the hub refused the WebSocket upgrade".into(),
                    },
                }
            }
        }
        other => LinkError::Network(other.to_string()),
    }
}

impl HubLink for HttpHub {
    async fn open(&self, query: &ConnectQuery) -> Result<Socket, LinkError> {
        let mut request = self
            .ws_url(query)?
            .as_str()
            .into_client_request()
            .map_err(|e| LinkError::Protocol(format!("hub address: {e}")))?;
        if let Some(token) = &self.token() {
            let value =
                HeaderValue::from_str(&format!("Bearer {}", token.expose())).map_err(|_| {
                    LinkError::Protocol("the device token is not a valid header value".into())
                })?;
            request.headers_mut().insert("authorization", value);
        }
        let connector = match &self.tls {
            Some(tls) => tokio_tungstenite::Connector::Rustls(tls.config()),
            None => tokio_tungstenite::Connector::Plain,
        };
        let (ws, _) = self.checked(
            tokio_tungstenite::connect_async_tls_with_config(request, None, false, Some(connector))
                .await
                .map_err(ws_error),
        )?;
        let (sink, stream) = ws.split();
        let outgoing = sink
            .sink_map_err(|e| LinkError::Network(e.to_string()))
            .with(|text: String| futures::future::ready(Ok::<_, LinkError>(Message::text(text))));
        let incoming = stream.map(|item| match item {
            Ok(Message::Text(text)) => Ok(Incoming::Text(text.as_str().to_owned())),
            Ok(Message::Close(frame)) => Ok(Incoming::Closed {
                code: frame.map(|f| u16::from(f.code)),
            }),
            Ok(_) => Ok(Incoming::Control),
            Err(e) => Err(LinkError::Network(e.to_string())),
        });
        Ok(Socket {
            outgoing: Box::pin(outgoing),
            incoming: Box::pin(incoming),
        })
    }

    async fn snapshot(&self) -> Result<Snapshot, LinkError> {
        self.get("/api/snapshot").await
    }

    async fn renew_token(&self) -> Result<(), LinkError> {
        if self.token().is_none() {
            return Err(LinkError::Unauthorized);
        }
        self.renew().await.map(|_| ())
    }

    fn node(&self) -> Option<HubNode> {
        let of = self.nodes.len();
        (of > 1).then(|| HubNode {
            url: self.base().to_owned(),
            number: u32::try_from(self.current.load(Ordering::Relaxed) % of + 1)
                .unwrap_or(u32::MAX),
            of: u32::try_from(of).unwrap_or(u32::MAX),
        })
    }

    fn next_node(&self) -> bool {
        let of = self.nodes.len();
        if of < 2 {
            return false;
        }
        let _ = self
            .current
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |at| {
                Some((at + 1) % of)
            });
        true
    }

    async fn submit(&self, op: &OutboxOp) -> Result<Submitted, LinkError> {
        let answer = match op {
            OutboxOp::PlaceOrder { order } => {
                self.call(Method::POST, "/api/orders", Some(order)).await
            }
            OutboxOp::ChangeStatus {
                order_id,
                status,
                from,
            } => {
                let sent = self
                    .call(
                        Method::PATCH,
                        &format!("/api/orders/{order_id}/status"),
                        Some(&StatusChange {
                            status: *status,
                            from: *from,
                        }),
                    )
                    .await;
                match sent {
                    Err(e @ LinkError::Hub { status: 409, .. }) => {
                        return self.already(order_id, *status, e).await
                    }
                    other => other,
                }
            }
            OutboxOp::Cancel { order_id, reason } => {
                let sent = self
                    .call(
                        Method::POST,
                        &format!("/api/orders/{order_id}/cancel"),
                        Some(&CancelOrder {
                            reason: reason.clone(),
                        }),
                    )
                    .await;
                match sent {
                    Err(e @ LinkError::Hub { status: 409, .. }) => {
                        return self.already(order_id, OrderStatus::Cancelled, e).await
                    }
                    other => other,
                }
            }
            OutboxOp::MarkItems {
                order_id,
                lines,
                done,
            } => {
                self.call(
                    Method::POST,
                    &format!("/api/orders/{order_id}/marks"),
                    Some(&MarkItems {
                        lines: lines.clone(),
                        done: *done,
                    }),
                )
                .await
            }
            OutboxOp::Sign { submission } => {
                let sent = self
                    .call(Method::POST, "/api/display/signature", Some(submission))
                    .await;
                match sent {
                    Err(e) if is_final_refusal(&e) => {
                        // A resend after a lost answer: the signature is there already.
                        let workorders: Vec<Workorder> = self.get("/api/workorders").await?;
                        let signed = workorders
                            .iter()
                            .find(|w| w.id == submission.work_order_id)
                            .filter(|w| w.signature.is_some());
                        match signed {
                            Some(w) => {
                                return Ok(Submitted::Done(
                                    serde_json::to_value(w).unwrap_or(Value::Null),
                                ))
                            }
                            None => return refused(e),
                        }
                    }
                    other => other,
                }
            }
        };
        match answer {
            Ok(value) => Ok(Submitted::Done(value)),
            Err(e) => refused(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(url: &reqwest::Url) -> Vec<(String, String)> {
        url.query_pairs()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect()
    }

    #[test]
    fn a_token_or_a_code_goes_over_plain_http_only_to_this_computer() {
        let token = || Some(DeviceToken::new("t".into()));
        let wait = Duration::from_secs(5);
        assert!(HttpHub::new("http://127.0.0.1:3001", token(), wait).is_ok());
        assert!(HttpHub::new("http://[::1]:3001", token(), wait).is_ok());
        assert!(HttpHub::new("http://localhost:3001", token(), wait).is_ok());
        let error = HttpHub::new("http://192.168.1.20:3001", token(), wait).unwrap_err();
        assert!(
            error.to_string().contains("only to this computer"),
            "{error}"
        );
        // Anonymous reads of a LAN hub stay possible; a pinned device never
        // goes to a plain address, whoever announced or typed it.
        assert!(HttpHub::new("http://192.168.1.20:3001", None, wait).is_ok());
        let pinned = Some(Trust::Pinned("ab".repeat(32).parse().unwrap()));
        let error = HttpHub::pinned("http://127.0.0.1:3001", None, wait, pinned).unwrap_err();
        assert!(error.to_string().contains("https:// only"), "{error}");
    }

    #[tokio::test]
    async fn a_pairing_code_is_not_sent_to_a_plain_lan_address() {
        let hub = HttpHub::new("http://192.0.2.1:3001", None, Duration::from_secs(5)).unwrap();
        let error = hub.pair("123456").await.unwrap_err();
        assert!(
            error.to_string().contains("only to this computer"),
            "{error}"
        );
    }

    #[test]
    fn an_https_hub_needs_the_key_the_device_pinned() {
        let error =
            HttpHub::new("https://hub.local:3443", None, Duration::from_secs(5)).unwrap_err();
        assert!(error.to_string().contains("fingerprint"), "{error}");
        assert!(HttpHub::new("http://127.0.0.1:3001", None, Duration::from_secs(5)).is_ok());
    }

    #[test]
    fn the_socket_address_carries_the_topics_and_the_cursor_percent_encoded() {
        let pinned = Trust::Pinned("ab".repeat(32).parse().unwrap());
        let hub = HttpHub::pinned(
            "https://hub.local:3001/",
            None,
            Duration::from_secs(5),
            Some(pinned),
        )
        .unwrap();
        let query = ConnectQuery {
            topics: vec!["menu".into(), "order:ORD-1-a b".into()],
            since: Some(41),
            epoch: Some("e&1=x".into()),
        };
        let url = hub.ws_url(&query).unwrap();
        assert_eq!(
            url.as_str(),
            "wss://hub.local:3001/ws?topics=menu%2Corder%3AORD-1-a+b&since=41&epoch=e%261%3Dx"
        );
        assert_eq!(
            pairs(&url),
            vec![
                ("topics".into(), "menu,order:ORD-1-a b".into()),
                ("since".into(), "41".into()),
                ("epoch".into(), "e&1=x".into()),
            ]
        );
    }

    #[test]
    fn a_link_of_several_nodes_uses_one_and_moves_all_its_clones_on_together() {
        let token = || Some(DeviceToken::new("t".into()));
        let wait = Duration::from_secs(5);
        let hub = HttpHub::nodes(
            &[
                "http://127.0.0.1:3001/",
                // A token goes over plain HTTP to this computer only.
                "http://192.168.1.20:3001",
                "http://127.0.0.1:3001",
                "http://localhost:3002",
            ],
            token(),
            wait,
            None,
        )
        .unwrap();
        assert_eq!(
            hub.node_urls(),
            ["http://127.0.0.1:3001", "http://localhost:3002"]
        );
        let clone = hub.clone();
        let node = |url: &str, number| HubNode {
            url: url.into(),
            number,
            of: 2,
        };
        assert_eq!(hub.node(), Some(node("http://127.0.0.1:3001", 1)));
        assert!(hub.next_node());
        assert_eq!(clone.node(), Some(node("http://localhost:3002", 2)));
        assert_eq!(clone.base(), "http://localhost:3002");
        assert_eq!(
            clone.ws_url(&ConnectQuery::default()).unwrap().as_str(),
            "ws://localhost:3002/ws?topics="
        );
        assert!(clone.next_node());
        assert_eq!(hub.node(), Some(node("http://127.0.0.1:3001", 1)));

        // One address: no node to tell and none to move to.
        let one = HttpHub::nodes(&["http://127.0.0.1:3001"], token(), wait, None).unwrap();
        assert_eq!((one.node(), one.next_node()), (None, false));
        assert_eq!(one.base(), "http://127.0.0.1:3001");
        // No address that passes: the first one's error.
        let error = HttpHub::nodes(
            &["http://192.168.1.20:3001", "https://10.0.0.2:3443"],
            token(),
            wait,
            None,
        )
        .unwrap_err();
        assert!(
            error.to_string().contains("only to this computer"),
            "{error}"
        );
        let many: Vec<String> = (0..40)
            .map(|i| format!("http://127.0.0.1:{}", 4000 + i))
            .collect();
        let hub = HttpHub::nodes(&many, token(), wait, None).unwrap();
        assert_eq!(hub.node_urls(), many[..MAX_NODES]);
    }

    #[test]
    fn without_a_cursor_the_address_names_only_the_topics() {
        let hub = HttpHub::new("http://127.0.0.1:3001", None, Duration::from_secs(5)).unwrap();
        let query = ConnectQuery {
            topics: vec![],
            since: None,
            epoch: Some("ignored without since".into()),
        };
        assert_eq!(
            hub.ws_url(&query).unwrap().as_str(),
            "ws://127.0.0.1:3001/ws?topics="
        );
    }
}
