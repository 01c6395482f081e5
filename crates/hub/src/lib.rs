//! The Countertop hub: the server every kiosk, barista display, signature
//! display and manager talks to, over REST, WebSocket (`/ws`) and
//! Server-Sent Events (`/api/stream`), as `shared/PROTOCOL.md` describes.
//!
//! The hub is a function of a listener and a shutdown signal:
//! [`Hub::open`] reads the data folder, [`router`] builds the routes and
//! [`serve`] runs them until the signal. `main.rs` only parses the command
//! line, sets up tracing and binds.
//!
//! Code map (the modules are private but `signature` and `auth`, which
//! tests name by path; this file is the facade, and re-exports what the
//! binary, the app and the tests use):
//! - `log`: the durable event log (SQLite), the writer that commits a change
//!   with its events, and the live channel they are published on.
//! - `subscription`: what one connection reads (topics, cursor, replay).
//! - `ws`, `sse`, `socketio`: the streaming transports over a subscription
//!   (`socketio` is the Socket.IO dialect, on socketioxide); `rate`: their
//!   message rate limit.
//! - `api`: the REST handlers, one module per resource: they extract, check
//!   the caller's role, call a domain module and map its error.
//! - `orders`, `menu`, `cells`, `workorders`, `settings`: the domains, each
//!   working on a `log::Writer` and the `store`, each with its own error;
//!   `snapshot`: everything a role may read, in one transaction.
//! - `store`: every SQL statement, one module per table group.
//! - `auth`: devices, pairing codes, tokens; `registry`: open connections.
//! - `offline`: what the command line does to a data folder.
//! - `pages`: the hub's own web pages, `/status` and `/board`.
//! - `tls`: the hub's key and certificate, `--tls-listen`'s configuration
//!   and the plain listener's `426 tls_required` gate.

use std::future::Future;
use std::ops::Deref;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use axum::routing::{delete, get, patch, post, put};
use axum::Router;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tower_http::trace::TraceLayer;

mod announce;
mod api;
/// Public only for `HUB_WIDE_PAIRING_FAILURES`, which a test's assertion
/// names by this path; the rest of it is crate-private or re-exported below.
pub mod auth;
mod backup;
mod cells;
mod clock;
mod cors;
mod db;
mod error;
mod input;
mod kiosk_exit;
mod log;
mod menu;
mod metrics;
mod notices;
mod offline;
mod orders;
mod origin;
mod pages;
mod photos;
mod pins;
mod private;
mod rate;
mod registry;
mod reports;
mod server;
mod settings;
/// Public: the tests compare the hub's signature SVG with `render(parse(…))`.
pub mod signature;
mod snapshot;
mod socketio;
mod sse;
mod store;
mod subscription;
mod tail;
mod tls;
mod workorders;
mod ws;

// The facade: what the binary, the app and the tests use.
pub use announce::{Announcement, Announcer, SERVICE_TYPE as MDNS_SERVICE_TYPE};
pub use auth::{random_id, Keys};
pub use backup::{backup_to, check_file as check_backup, restore_from, BackupConfig, Restored};
pub use db::{check_folder, describe_postgres, open as open_database};
pub use log::{EventLog, REPLAY_PAGE};
pub use metrics::check_node_name;
pub use offline::{new_secret, pairing_code, renew_epoch, wipe_events};
pub use registry::Transport;
pub use store::{Backend, Conn, Db, Exec, Pooled, Tx};
pub use tls::{
    fingerprint as tls_fingerprint, spki_fingerprint, LocalPeers, CERT_FILE as TLS_CERT_FILE,
    KEY_FILE as TLS_KEY_FILE,
};

use auth::{Caller, Devices, PairingLimiter};
use clock::Clock;
use metrics::Metrics;
use registry::Registry;

/// Everything the hub needs to know before it opens its data folder.
/// (No `Debug`: `database` may hold a password, which must reach no log.)
#[derive(Clone)]
pub struct HubConfig {
    /// Where the database and the signing secret live.
    pub data_dir: PathBuf,
    /// Origins allowed to open `/ws` besides the app's own and the hub's own.
    pub allowed_origins: Vec<String>,
    /// Seed the demo café into a new database.
    pub demo: bool,
    /// The log keeps at least this many events...
    pub retention_events: u64,
    /// ...and at least this much history.
    pub retention_age: chrono::Duration,
    pub prune_interval: Duration,
    /// WebSocket ping interval, and how long a silent connection may live.
    pub ping_interval: Duration,
    pub idle_timeout: Duration,
    /// SSE comment line interval.
    pub sse_keepalive: Duration,
    /// Largest accepted REST body.
    pub max_body_bytes: usize,
    /// A connection must send a whole request head within this time, the
    /// first one and each next one on a kept-alive connection.
    pub header_read_timeout: Duration,
    /// A request body must keep arriving: a pause this long answers `408`.
    pub body_timeout: Duration,
    /// A WebSocket whose peer has not taken a write for this long is closed.
    pub write_timeout: Duration,
    /// Open connections (streams included) one address may hold.
    pub max_connections_per_address: usize,
    /// Topics one connection may read at once.
    pub max_topics_per_connection: usize,
    /// Hourly and daily backups of the database.
    pub backup: BackupConfig,
    /// The peers that may send tokens and pairing codes over plain HTTP;
    /// any other gets `426 tls_required` there. Default: every loopback
    /// address. Tests name only `127.0.0.1` and `::1`, so that a client
    /// bound to `127.0.0.2` stands for a device on the LAN.
    pub local_peers: LocalPeers,
    /// Take tokens and pairing codes over plain HTTP from any address
    /// (`--insecure-lan-tokens`): only for old clients on a network the café
    /// trusts, since anyone on it can read them. Off by default.
    pub insecure_lan_tokens: bool,
    /// Announce the hub over mDNS (DNS-SD) while it listens beyond
    /// loopback (`--no-announce` turns it off).
    pub announce: bool,
    /// This node's name (`--node-name`): the `node` label of `/metrics` and
    /// `node` in `/healthz`. Default: the host name, else `hub`.
    pub node_name: String,
    /// Store in this PostgreSQL database (`postgres://…`) instead of the
    /// data folder's SQLite file: several nodes on one database serve one
    /// café. The folder keeps the signing secret and TLS identity.
    pub database: Option<String>,
    /// The café's hub nodes as devices reach them (`--public-url`,
    /// repeatable; checked by the command line: http(s) addresses, at most
    /// 16). Pairing and refresh answers list them, so a device can move to
    /// another node when its own is unreachable. Empty: one node, none named.
    pub public_urls: Vec<String>,
}

impl HubConfig {
    pub fn new(data_dir: impl Into<PathBuf>) -> HubConfig {
        HubConfig {
            data_dir: data_dir.into(),
            allowed_origins: Vec::new(),
            demo: true,
            retention_events: 10_000,
            retention_age: chrono::Duration::hours(24),
            prune_interval: Duration::from_secs(60),
            ping_interval: Duration::from_secs(20),
            idle_timeout: Duration::from_secs(60),
            sse_keepalive: Duration::from_secs(15),
            max_body_bytes: 256 * 1024,
            header_read_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(10),
            write_timeout: Duration::from_secs(10),
            max_connections_per_address: 256,
            max_topics_per_connection: 256,
            backup: BackupConfig::default(),
            local_peers: LocalPeers::Loopback,
            insecure_lan_tokens: false,
            announce: true,
            node_name: metrics::default_node_name(),
            database: None,
            public_urls: Vec::new(),
        }
    }
}

/// The app's own origins, always allowed.
pub const APP_ORIGINS: [&str; 2] = ["tauri://localhost", "http://tauri.localhost"];

pub struct HubState {
    pub config: HubConfig,
    pub log: EventLog,
    pub keys: Keys,
    pub devices: Devices,
    pub registry: Arc<Registry>,
    pub metrics: Arc<Metrics>,
    pub clock: Clock,
    pub pairing: PairingLimiter,
    /// Wrong cell PINs, per cell.
    pub pins: pins::PinLimiter,
    /// Wrong kiosk exit PINs (one budget for the hub; `kiosk_exit`).
    pub kiosk_exit: pins::PinLimiter,
    /// Cancelled when the hub shuts down; every connection watches it.
    pub shutdown: CancellationToken,
    /// Open connections per address (the accept loop's cap).
    pub connections: Arc<server::ConnectionCounts>,
    /// The origins of pages the hub serves itself, known once it listens.
    pub own_origins: std::sync::OnceLock<Vec<String>>,
    /// What the hub knows of its backups.
    pub backups: backup::Backups,
    /// Held while the hub runs (exclusive on SQLite: a second hub, an
    /// upgrade, `restore` and the commands that write the database refuse
    /// to run beside it).
    pub run_lock: backup::RunLock,
    /// The hub's TLS key and certificate (`tls.key`, `tls.crt`).
    pub tls: tls::Identity,
    /// Typed-code pairings under way (SPAKE2 sessions, at most a minute).
    pub pake: auth::PakeSessions,
}

/// A cheap, cloneable handle to the running hub's state.
#[derive(Clone)]
pub struct Hub(Arc<HubState>);

impl Deref for Hub {
    type Target = HubState;
    fn deref(&self) -> &HubState {
        &self.0
    }
}

impl Hub {
    /// Opens (or creates) the data folder: database, migrations, signing
    /// secret and, on a first start, the demo café.
    pub async fn open(config: HubConfig) -> anyhow::Result<Hub> {
        use anyhow::Context;
        // On SQLite the folder is this hub's alone from here on, before
        // the database is opened (and perhaps upgraded).
        let run_lock = match &config.database {
            None => {
                db::check_folder(&config.data_dir)?;
                backup::RunLock::exclusive(&config.data_dir, "start this hub again")?
            }
            Some(_) => {
                db::check_node_folder(&config.data_dir)?;
                backup::RunLock::shared(&config.data_dir)?
            }
        };
        let postgres = match &config.database {
            Some(url) => {
                let pool = db::open_postgres(url).await?;
                // Before a secret is made: the database may hold a hub.
                db::check_node_secret(&pool, &config.data_dir).await?;
                Some(pool)
            }
            None => None,
        };
        // The secret first: a folder whose database exists always has one.
        let keys = Keys::load_or_create(&config.data_dir)?;
        let tls = tls::Identity::load_or_create(&config.data_dir)?;
        let pool = match postgres {
            None => db::open(&config.data_dir).await?,
            Some(pool) => {
                // A rotation made on another node while this one was down.
                auth::follow_rotation(&pool, &keys, &config.data_dir).await?;
                db::check_same_identity(&pool, &auth::secret_id(&keys), &tls.fingerprint).await?;
                pool
            }
        };
        let clock = Clock::system();
        db::alone(&pool, async {
            store::workorders::rewrite_stored_signatures(&pool)
                .await
                .context("reading stored signatures through the allow-list")?;
            if config.demo {
                db::seed_demo(&pool, clock.now())
                    .await
                    .context("seeding the demo café")?;
            } else {
                db::seed_settings(&pool)
                    .await
                    .context("writing default settings")?;
            }
            Ok(())
        })
        .await?;
        let metrics = Arc::new(Metrics::default());
        let log = EventLog::open(pool.clone(), metrics.clone())
            .await
            .context("opening the event log")?;
        let devices = Devices::load(&pool).await.context("loading devices")?;
        let backups = backup::Backups::load(&config.data_dir, config.backup.copy_to.as_deref());
        let hub = Hub(Arc::new(HubState {
            config,
            log,
            keys,
            devices,
            registry: Arc::new(Registry::default()),
            metrics,
            clock,
            pairing: PairingLimiter::default(),
            pins: pins::PinLimiter::default(),
            kiosk_exit: pins::PinLimiter::default(),
            shutdown: CancellationToken::new(),
            connections: Arc::default(),
            own_origins: std::sync::OnceLock::new(),
            backups,
            run_lock,
            tls,
            pake: auth::PakeSessions::default(),
        }));
        orders::dashboard::prime(&hub)
            .await
            .context("reading today's dashboard")?;
        Ok(hub)
    }

    pub fn pool(&self) -> &store::Db {
        self.log.pool()
    }
}

/// All routes of the protocol.
pub fn router(hub: Hub) -> Router {
    use api::*;
    let api = Router::new()
        .route("/snapshot", get(snapshot::get_snapshot))
        .route("/menu", get(menu::list).post(menu::create))
        .route("/menu/{id}", patch(menu::update).delete(menu::delete))
        // The upload reads its own body, up to 8 MiB (`api::photos`).
        .route(
            "/menu/{id}/photo",
            get(photos::full).put(photos::upload).delete(photos::remove),
        )
        .route("/menu/{id}/photo/thumb", get(photos::thumb))
        .route("/orders", get(orders::list).post(orders::create))
        .route("/orders/lookup", get(orders::lookup))
        .route("/orders/{id}", get(orders::get_one))
        .route("/orders/{id}/status", patch(orders::change_status))
        .route("/orders/{id}/cancel", post(orders::cancel))
        .route("/orders/{id}/marks", post(orders::mark_items))
        .route("/cells", get(cells::list).post(cells::create))
        .route("/cells/{id}/charge", post(cells::charge))
        .route("/cells/{id}/corrections", post(cells::correct))
        .route("/cells/{id}/history", get(cells::history))
        .route(
            "/cells/{id}/pin",
            put(cells::set_pin).delete(cells::remove_pin),
        )
        .route("/cells/{id}/unlock", post(cells::unlock))
        .route("/kiosk/exit", post(kiosk::exit))
        .route(
            "/kiosk/exit-pin",
            get(kiosk::pin_state)
                .put(kiosk::set_pin)
                .delete(kiosk::remove_pin),
        )
        .route("/settings", get(settings::list))
        .route("/settings/{key}", put(settings::put))
        .route(
            "/workorders",
            get(workorders::list).post(workorders::create),
        )
        .route("/workorders/stream", get(sse::workorders_stream))
        .route("/workorders/{id}/column", patch(workorders::move_column))
        .route("/workorders/{id}/present", post(workorders::present))
        .route("/workorders/{id}/sessions", post(workorders::start_session))
        .route(
            "/workorders/{id}/sessions/{sid}",
            patch(workorders::stop_session),
        )
        .route("/display/signature", post(workorders::sign))
        .route("/notifications", post(notifications::create))
        .route("/reports/daily", get(api::reports::daily))
        .route("/backups", get(api::backups::state))
        .route("/reports/daily/detail", get(api::reports::detail))
        .route("/reports/daily.csv", get(api::reports::csv))
        .route("/stream", get(sse::stream))
        .route("/ws/stats", get(status::ws_stats))
        .route("/devices", get(devices::list))
        .route("/devices/{id}", delete(devices::revoke))
        .route("/devices/pairing-codes", post(devices::pairing_code))
        .route("/devices/pair", post(devices::pair))
        // TLS is checked before the body is read (`api::pake::require_tls`).
        .route(
            "/devices/pake/start",
            post(api::pake::start).route_layer(axum::middleware::from_fn_with_state(
                hub.clone(),
                api::pake::require_tls,
            )),
        )
        .route(
            "/devices/pake/finish",
            post(api::pake::finish).route_layer(axum::middleware::from_fn_with_state(
                hub.clone(),
                api::pake::require_tls,
            )),
        )
        .route("/devices/refresh", post(devices::refresh))
        .route("/devices/rotate-secret", post(devices::rotate_secret));
    Router::new()
        .route("/ws", get(ws::upgrade))
        .route("/status", get(pages::status))
        .route("/board", get(pages::board))
        .route("/pages/app.js", get(pages::app_js))
        .route("/pages/style.css", get(pages::style_css))
        .route("/pages/icon.svg", get(pages::icon_svg))
        .route("/ws/orders/{id}", get(ws::upgrade_order))
        .route("/healthz", get(status::healthz))
        .route("/metrics", get(status::metrics))
        .merge(socketio::routes(&hub))
        .nest("/api", api)
        .fallback(status::not_found)
        .layer(axum::middleware::from_fn_with_state(
            hub.clone(),
            authenticate,
        ))
        // Outside authentication: a preflight is answered before it could be
        // refused, and its refusals (401, 403) carry the CORS headers too.
        .layer(cors::cors(&hub).only_under(&["/api", "/socket.io"]))
        // Outside everything that reads a request: a token or a pairing
        // code over plain HTTP from beyond the machine goes no further.
        .layer(axum::middleware::from_fn_with_state(
            hub.clone(),
            tls::require_tls,
        ))
        .layer(DefaultBodyLimit::max(hub.config.max_body_bytes))
        .layer(tower_http::timeout::RequestBodyTimeoutLayer::new(
            hub.config.body_timeout,
        ))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request| {
            tracing::info_span!(
                "request",
                method = %req.method(),
                path = %req.uri().path(),
                query = %redact_query(req.uri().query().unwrap_or("")),
            )
        }))
        .with_state(hub)
}

/// The one call that checks its token itself.
const REFRESH_PATH: &str = "/api/devices/refresh";

/// Checks the bearer token of every request, anonymous endpoints included:
/// a bad token is `401` everywhere (the refresh checks its own, as strictly).
async fn authenticate(State(hub): State<Hub>, mut req: Request, next: Next) -> Response {
    use axum::response::IntoResponse;
    // A refresh checks its own token: it alone takes one signed with the
    // previous secret (`Hub::refresh_token`).
    if req.uri().path() == REFRESH_PATH {
        return next.run(req).await;
    }
    let (mut parts, body) = req.into_parts();
    let caller = match auth::bearer_token(&parts) {
        Ok(None) => Caller::default(),
        Ok(Some(token)) => match hub.authenticate(&token).await {
            Ok(device) => {
                hub.devices.touch(&device.id, hub.clock.now());
                Caller {
                    device: Some(device),
                }
            }
            Err(e) => return e.into_response(),
        },
        Err(e) => return e.into_response(),
    };
    parts.extensions.insert(caller);
    req = Request::from_parts(parts, body);
    next.run(req).await
}

/// The query string with any token replaced, for logs. Keys are compared
/// after percent-decoding, as the extractors read them (`to%6Ben` is `token`).
pub fn redact_query(query: &str) -> String {
    query
        .split('&')
        .map(|pair| {
            let key = pair.split_once('=').map_or(pair, |(k, _)| k);
            let decoded = form_urlencoded::parse(key.as_bytes())
                .next()
                .map(|(k, _)| k.into_owned())
                .unwrap_or_default();
            if decoded.eq_ignore_ascii_case("token") {
                format!("{key}=[redacted]")
            } else {
                pair.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// Serves the hub on `listener` until `shutdown` completes: then it stops
/// accepting, closes sockets with 1001, and lets open transactions finish.
pub async fn serve(
    listener: TcpListener,
    hub: Hub,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with_tls(listener, None, hub, shutdown).await
}

/// [`serve`], with HTTPS and WSS on `tls` too (`--tls-listen`): the same
/// routes, caps, timeouts and graceful stop, over the hub's certificate.
pub async fn serve_with_tls(
    listener: TcpListener,
    tls: Option<TcpListener>,
    hub: Hub,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let addr = listener.local_addr()?;
    let tls = match tls {
        Some(tls_listener) => {
            let config = hub.tls.server_config().map_err(std::io::Error::other)?;
            Some((tls_listener, tokio_rustls::TlsAcceptor::from(config)))
        }
        None => None,
    };
    let nofile = server::raise_open_files_limit();
    tracing::debug!(nofile, "open-file limit");
    let mut origins = server::own_origins(addr);
    if let Some((tls_listener, _)) = &tls {
        origins.extend(server::own_origins(tls_listener.local_addr()?));
    }
    let _ = hub.own_origins.set(origins);
    let pruner = tokio::spawn(prune_periodically(hub.clone()));
    // On PostgreSQL the database is backed up with its own tools.
    let backups = (hub.config.backup.enabled && hub.config.database.is_none())
        .then(|| tokio::spawn(backup::run_periodically(hub.clone())));
    if let Some(pg) = hub.pool().pg() {
        tail::start(&hub, pg.clone());
    }
    let tls_addr = match &tls {
        Some((tls_listener, _)) => Some(tls_listener.local_addr()?),
        None => None,
    };
    let announcer = announce::start_for(&hub, addr, tls_addr).await;
    server::accept_loop(listener, tls, hub.clone(), shutdown).await;
    if let Some(announcer) = announcer {
        announcer.stop().await;
    }
    pruner.abort();
    if let Some(backups) = backups {
        backups.abort();
    }
    hub.pool().close().await;
    hub.run_lock.release();
    Ok(())
}

async fn prune_periodically(hub: Hub) {
    let mut interval = tokio::time::interval(hub.config.prune_interval);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        interval.tick().await;
        match hub
            .log
            .prune(
                hub.clock.now(),
                hub.config.retention_events,
                hub.config.retention_age,
            )
            .await
        {
            Ok(0) => {}
            Ok(n) => tracing::info!(deleted = n, "pruned the event log"),
            Err(e) => tracing::warn!(error = %e, "could not prune the event log"),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn tokens_are_redacted_from_logged_queries() {
        assert_eq!(
            super::redact_query("topics=orders&token=eyJabc.def&x=1"),
            "topics=orders&token=[redacted]&x=1"
        );
        assert_eq!(
            super::redact_query("to%6Ben=eyJabc.def&TOKEN=x&t%6fken"),
            "to%6Ben=[redacted]&TOKEN=[redacted]&t%6fken=[redacted]"
        );
    }
}
