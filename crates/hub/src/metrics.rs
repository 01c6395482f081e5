//! Counters for `/metrics` (Prometheus text) and `/api/ws/stats`.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Debug, Default)]
pub struct Metrics {
    pub events_published: AtomicU64,
    pub events_delivered: AtomicU64,
    pub replays: AtomicU64,
    pub replayed_events: AtomicU64,
    pub resyncs: AtomicU64,
    pub ws_connections_total: AtomicU64,
    pub sse_connections_total: AtomicU64,
    /// Socket.IO sockets that joined the namespace (authenticated).
    pub socketio_connections_total: AtomicU64,
    pub rate_limited_messages: AtomicU64,
    /// WebSockets closed because the peer stopped reading.
    pub slow_consumers_closed: AtomicU64,
    /// Connections refused because their address had too many open.
    pub connections_refused: AtomicU64,
    /// Wrong pairing codes (per address and hub-wide budgets).
    pub pairing_failures: AtomicU64,
}

impl Metrics {
    pub fn record_replay(&self, events: u64) {
        self.replays.fetch_add(1, Ordering::Relaxed);
        self.replayed_events.fetch_add(events, Ordering::Relaxed);
    }

    pub fn delivered(&self, n: u64) {
        self.events_delivered.fetch_add(n, Ordering::Relaxed);
    }
}

/// Everything `/metrics` shows, gathered at one moment.
pub struct MetricsView<'a> {
    pub metrics: &'a Metrics,
    pub open_ws: u64,
    pub open_sse: u64,
    pub open_socketio: u64,
    pub devices_connected: u64,
    pub topics: &'a [(String, u64)],
    pub seq: u64,
    pub events_retained: u64,
}

impl MetricsView<'_> {
    pub fn render(&self) -> String {
        let m = self.metrics;
        let load = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let mut out = String::with_capacity(2048);
        let mut gauge = |name: &str, help: &str, kind: &str, value: u64| {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
            );
        };
        gauge(
            "countertop_ws_connections",
            "Open WebSocket connections.",
            "gauge",
            self.open_ws,
        );
        gauge(
            "countertop_sse_connections",
            "Open Server-Sent Events streams.",
            "gauge",
            self.open_sse,
        );
        gauge(
            "countertop_socketio_connections",
            "Open Socket.IO connections.",
            "gauge",
            self.open_socketio,
        );
        gauge(
            "countertop_devices_connected",
            "Devices with an open connection.",
            "gauge",
            self.devices_connected,
        );
        gauge(
            "countertop_ws_connections_total",
            "WebSocket connections accepted.",
            "counter",
            load(&m.ws_connections_total),
        );
        gauge(
            "countertop_sse_connections_total",
            "SSE streams opened.",
            "counter",
            load(&m.sse_connections_total),
        );
        gauge(
            "countertop_socketio_connections_total",
            "Socket.IO connections accepted.",
            "counter",
            load(&m.socketio_connections_total),
        );
        gauge(
            "countertop_events_published_total",
            "Durable events committed and published.",
            "counter",
            load(&m.events_published),
        );
        gauge(
            "countertop_events_delivered_total",
            "Event frames sent to subscribers, live and replayed.",
            "counter",
            load(&m.events_delivered),
        );
        gauge(
            "countertop_replays_total",
            "Replays served for subscribe with since or Last-Event-ID.",
            "counter",
            load(&m.replays),
        );
        gauge(
            "countertop_replayed_events_total",
            "Events sent in replays.",
            "counter",
            load(&m.replayed_events),
        );
        gauge(
            "countertop_resyncs_total",
            "Resync answers (history expired or epoch changed).",
            "counter",
            load(&m.resyncs),
        );
        gauge(
            "countertop_rate_limited_messages_total",
            "Client messages refused by the rate limit.",
            "counter",
            load(&m.rate_limited_messages),
        );
        gauge(
            "countertop_slow_consumers_closed_total",
            "WebSockets closed because the peer stopped reading.",
            "counter",
            load(&m.slow_consumers_closed),
        );
        gauge(
            "countertop_connections_refused_total",
            "Connections refused: too many open from one address.",
            "counter",
            load(&m.connections_refused),
        );
        gauge(
            "countertop_pairing_failures_total",
            "Wrong pairing codes.",
            "counter",
            load(&m.pairing_failures),
        );
        gauge(
            "countertop_event_seq",
            "Newest durable sequence number.",
            "gauge",
            self.seq,
        );
        gauge(
            "countertop_events_retained",
            "Events kept in the log.",
            "gauge",
            self.events_retained,
        );
        let _ = writeln!(out, "# HELP countertop_topic_subscribers Subscribers per topic.\n# TYPE countertop_topic_subscribers gauge");
        for (topic, n) in self.topics {
            let _ = writeln!(
                out,
                "countertop_topic_subscribers{{topic=\"{}\"}} {n}",
                topic.replace(['"', '\\', '\n'], "_")
            );
        }
        out
    }
}
