//! Health, metrics and connection statistics.

use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use countertop_protocol::Action;
use countertop_protocol::{ConnectionStats, DatabaseHealth, Health, TransportCounts, WsStats};

use crate::auth::Caller;
use crate::error::{ApiResult, AppError};
use crate::metrics::MetricsView;
use crate::registry::Transport;
use crate::{Backend, Db, Hub};

/// How long a database check (`/healthz`, `/metrics`) waits for an answer.
pub const DATABASE_CHECK_TIMEOUT: Duration = Duration::from_secs(1);

/// A check younger than this answers `/healthz` again: a load balancer's
/// polls (or a flood of them) take at most one connection a second.
const DATABASE_CHECK_REUSE: Duration = Duration::from_secs(1);

/// `200 {"status":"ok",…}`, or `503 {"status":"unavailable",…}` while the
/// node cannot reach its database; `seq` and `epoch` are the node's own
/// either way.
pub async fn healthz(State(hub): State<Hub>) -> (StatusCode, Json<Health>) {
    let database = database_check(&hub).await;
    let (status, word) = if database.up {
        (StatusCode::OK, "ok")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "unavailable")
    };
    let health = Health {
        status: word.into(),
        seq: hub.log.seq(),
        epoch: hub.log.epoch().to_owned(),
        node: Some(hub.config.node_name.clone()),
        database: Some(database),
        version: Some(env!("CARGO_PKG_VERSION").to_owned()),
    };
    (status, Json(health))
}

/// The newest database check if it is recent enough, else a new one (one
/// at a time: concurrent requests wait for it and share it).
async fn database_check(hub: &Hub) -> DatabaseHealth {
    let mut last = hub.metrics.database_check.lock().await;
    if let Some((at, check)) = last.as_ref() {
        if at.elapsed() < DATABASE_CHECK_REUSE {
            return check.clone();
        }
    }
    let (check, detail) = check_database(hub.pool()).await;
    let was_up = last.as_ref().map(|(_, c)| c.up);
    match (was_up, check.up) {
        (Some(false), true) => {
            tracing::info!(node = %hub.config.node_name, "the database answers again")
        }
        (Some(true) | None, false) => tracing::warn!(
            node = %hub.config.node_name,
            why = check.error.as_deref().unwrap_or(""),
            error = detail.as_deref().unwrap_or(""),
            "the database is unreachable: /healthz answers 503, requests that need it 503 database_unavailable"
        ),
        _ => {}
    }
    *last = Some((Instant::now(), check.clone()));
    check
}

/// One `SELECT 1` on a pooled connection, given [`DATABASE_CHECK_TIMEOUT`];
/// with the error itself for the log when it failed.
async fn check_database(db: &Db) -> (DatabaseHealth, Option<String>) {
    let backend = match db.backend() {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgresql",
    };
    let started = Instant::now();
    let probe = async {
        let mut conn = db.acquire().await?;
        crate::on!(conn, |ex| sqlx::query("SELECT 1")
            .execute(ex)
            .await
            .map(|_| ()))
    };
    let outcome = tokio::time::timeout(DATABASE_CHECK_TIMEOUT, probe).await;
    let (error, detail) = match outcome {
        Ok(Ok(())) => (None, None),
        Ok(Err(e)) => {
            tracing::debug!(error = %e, "database check failed");
            let why = crate::error::unavailable(&e).unwrap_or("the database check failed");
            (Some(why), Some(e.to_string()))
        }
        // Every connection in use: the node is busy, not cut off (a load
        // balancer must not take a busy node out in a rush).
        Err(_) if db.all_in_use() => (None, None),
        Err(_) => (Some("the database did not answer within a second"), None),
    };
    let health = DatabaseHealth {
        backend: backend.to_owned(),
        up: error.is_none(),
        latency_ms: error
            .is_none()
            .then(|| u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX)),
        error: error.map(str::to_owned),
    };
    (health, detail)
}

/// Prometheus text; answers while the database is down too (without
/// `countertop_events_retained`, and `countertop_database_up 0`).
pub async fn metrics(State(hub): State<Hub>) -> impl IntoResponse {
    let topics: Vec<(String, u64)> = hub.registry.topic_counts().into_iter().collect();
    let events_retained =
        match tokio::time::timeout(DATABASE_CHECK_TIMEOUT, hub.log.retained()).await {
            Ok(Ok(n)) => Some(n),
            Ok(Err(e)) => {
                tracing::debug!(error = %e, "/metrics could not read the log");
                None
            }
            Err(_) => None,
        };
    let view = MetricsView {
        metrics: &hub.metrics,
        node: &hub.config.node_name,
        open_ws: hub.registry.count(Transport::WebSocket),
        open_sse: hub.registry.count(Transport::Sse),
        open_socketio: hub.registry.count(Transport::SocketIo),
        devices_connected: hub.registry.connected_devices().len() as u64,
        topics: &topics,
        seq: hub.log.seq(),
        events_retained,
    };
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        view.render(),
    )
}

/// `GET /api/ws/stats`: every transport's connections, in the `{success,
/// data}` envelope the ERP's clients read (seed 002).
pub async fn ws_stats(State(hub): State<Hub>, caller: Caller) -> ApiResult<Json<WsStats>> {
    caller.require(Action::ReadStats)?;
    let transports = TransportCounts {
        websocket: hub.registry.count(Transport::WebSocket),
        sse: hub.registry.count(Transport::Sse),
        socketio: hub.registry.count(Transport::SocketIo),
    };
    let devices = hub.registry.connected_devices().len() as u64;
    let topics = hub.registry.topic_counts();
    Ok(Json(WsStats {
        success: true,
        data: ConnectionStats {
            total_connections: transports.websocket + transports.sse + transports.socketio,
            total_users: devices,
            rooms: topics.keys().cloned().collect(),
            total_devices: devices,
            topics,
            transports,
            seq: hub.log.seq(),
            events_retained: hub.log.retained().await?,
        },
    }))
}

pub async fn not_found() -> AppError {
    AppError::not_found("no such endpoint")
}
