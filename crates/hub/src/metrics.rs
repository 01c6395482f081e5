//! Counters for `/metrics` (Prometheus text) and `/api/ws/stats`; the
//! node's name that labels them; the newest database check of `/healthz`.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use countertop_protocol::DatabaseHealth;

/// The longest node name (`serve --node-name`).
pub const MAX_NODE_NAME_CHARS: usize = 63;

/// A node name as given (`--node-name`, `COUNTERTOP_NODE_NAME`): 1 to 63 of
/// `A-Z a-z 0-9 . _ -`, so that it reads the same in a Prometheus label, a
/// log line and JSON.
pub fn check_node_name(name: &str) -> Result<String, String> {
    let name = name.trim();
    if name.is_empty() || name.len() > MAX_NODE_NAME_CHARS {
        return Err(format!(
            "a node name has 1 to {MAX_NODE_NAME_CHARS} characters"
        ));
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
    {
        return Err(format!(
            "a node name has letters, digits, '.', '_' and '-' only, not {bad:?}"
        ));
    }
    Ok(name.to_owned())
}

/// The node's name unless told otherwise: this computer's host name when
/// it is a valid node name, else `hub`.
pub fn default_node_name() -> String {
    whoami::fallible::hostname()
        .ok()
        .and_then(|host| check_node_name(&host).ok())
        .unwrap_or_else(|| "hub".to_owned())
}

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
    /// `/healthz`'s newest database check and when it was made. Held while
    /// a check runs, so that concurrent requests wait for that one instead
    /// of each taking a connection.
    pub database_check: tokio::sync::Mutex<Option<(Instant, DatabaseHealth)>>,
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
    /// The node's name: the `node` label of every series.
    pub node: &'a str,
    pub open_ws: u64,
    pub open_sse: u64,
    pub open_socketio: u64,
    pub devices_connected: u64,
    pub topics: &'a [(String, u64)],
    pub seq: u64,
    /// `None` when the database did not answer in time (the series is left
    /// out and `countertop_database_up` is 0).
    pub events_retained: Option<u64>,
}

/// A Prometheus label value: `\`, `"` and newlines escaped.
fn label_value(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

impl MetricsView<'_> {
    pub fn render(&self) -> String {
        let m = self.metrics;
        let load = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let node = format!("node=\"{}\"", label_value(self.node));
        let mut out = String::with_capacity(4096);
        let mut gauge = |name: &str, help: &str, kind: &str, value: u64| {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name}{{{node}}} {value}"
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
        if let Some(retained) = self.events_retained {
            gauge(
                "countertop_events_retained",
                "Events kept in the log.",
                "gauge",
                retained,
            );
        }
        gauge(
            "countertop_database_up",
            "1 when this scrape's read of the database answered within a second.",
            "gauge",
            u64::from(self.events_retained.is_some()),
        );
        let _ = writeln!(out, "# HELP countertop_topic_subscribers Subscribers per topic.\n# TYPE countertop_topic_subscribers gauge");
        for (topic, n) in self.topics {
            let _ = writeln!(
                out,
                "countertop_topic_subscribers{{{node},topic=\"{}\"}} {n}",
                topic.replace(['"', '\\', '\n'], "_")
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_names_are_checked() {
        assert_eq!(check_node_name(" hub-a.local ").unwrap(), "hub-a.local");
        assert_eq!(check_node_name("node_2").unwrap(), "node_2");
        for bad in ["", "   ", "a b", "x\"y", "é", "a\nb", "a}b"] {
            assert!(check_node_name(bad).is_err(), "{bad:?}");
        }
        let longest = "n".repeat(MAX_NODE_NAME_CHARS);
        assert_eq!(check_node_name(&longest).unwrap(), longest);
        assert!(check_node_name(&format!("{longest}n")).is_err());
        assert!(check_node_name(&default_node_name()).is_ok());
    }

    #[test]
    fn every_series_carries_the_node_label() {
        let metrics = Metrics::default();
        metrics.delivered(3);
        let topics = [("orders".to_owned(), 2), ("a\"b".to_owned(), 1)];
        let view = |node, retained| MetricsView {
            metrics: &metrics,
            node,
            open_ws: 1,
            open_sse: 0,
            open_socketio: 0,
            devices_connected: 1,
            topics: &topics,
            seq: 17,
            events_retained: retained,
        };
        let text = view("hub-a", Some(17)).render();
        let series: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
        assert!(series.len() > 20, "{text}");
        for line in &series {
            let (name, value) = line.rsplit_once(' ').unwrap();
            assert!(value.parse::<f64>().is_ok(), "{line}");
            assert!(
                name.contains("{node=\"hub-a\"}") || name.contains("{node=\"hub-a\","),
                "{line}"
            );
        }
        assert!(series.contains(&"countertop_event_seq{node=\"hub-a\"} 17"));
        assert!(series.contains(&"countertop_events_delivered_total{node=\"hub-a\"} 3"));
        assert!(series.contains(&"countertop_database_up{node=\"hub-a\"} 1"));
        assert!(series.contains(&"countertop_topic_subscribers{node=\"hub-a\",topic=\"orders\"} 2"));
        assert!(series.contains(&"countertop_topic_subscribers{node=\"hub-a\",topic=\"a_b\"} 1"));

        // The database did not answer: no count of retained events, and
        // the database is down; the rest is still there.
        let down = view("hub-a", None).render();
        assert!(
            down.contains("countertop_database_up{node=\"hub-a\"} 0\n"),
            "{down}"
        );
        assert!(!down.contains("countertop_events_retained{"), "{down}");
        assert!(
            down.contains("countertop_event_seq{node=\"hub-a\"} 17\n"),
            "{down}"
        );

        // A name the command line would refuse is still a well-formed label.
        let odd = view("a\"b\\c\nd", Some(0)).render();
        assert!(
            odd.contains("countertop_event_seq{node=\"a\\\"b\\\\c\\nd\"} 17\n"),
            "{odd}"
        );
    }
}
