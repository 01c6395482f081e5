//! Health, metrics and connection statistics.

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::Json;
use countertop_protocol::Action;
use countertop_protocol::{ConnectionStats, Health, TransportCounts, WsStats};

use crate::auth::Caller;
use crate::error::{ApiResult, AppError};
use crate::metrics::MetricsView;
use crate::registry::Transport;
use crate::Hub;

pub async fn healthz(State(hub): State<Hub>) -> Json<Health> {
    Json(Health {
        status: "ok".into(),
        seq: hub.log.seq(),
        epoch: hub.log.epoch().to_owned(),
    })
}

pub async fn metrics(State(hub): State<Hub>) -> ApiResult<impl IntoResponse> {
    let topics: Vec<(String, u64)> = hub.registry.topic_counts().into_iter().collect();
    let view = MetricsView {
        metrics: &hub.metrics,
        open_ws: hub.registry.count(Transport::WebSocket),
        open_sse: hub.registry.count(Transport::Sse),
        open_socketio: hub.registry.count(Transport::SocketIo),
        devices_connected: hub.registry.connected_devices().len() as u64,
        topics: &topics,
        seq: hub.log.seq(),
        events_retained: hub.log.retained().await?,
    };
    Ok((
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        view.render(),
    ))
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
