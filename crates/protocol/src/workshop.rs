//! The workshop's stream (seed 001): `GET /api/workorders/stream` sends
//! unnamed Server-Sent Events, which `EventSource.onmessage` receives, each
//! `data:` an object keyed by `type`: `connected` first, then
//! `workorder-update` with the fields of `workorder:updated` beside `type`,
//! and `resync` where a resume cannot be served. These build that `data:`.

use serde_json::{json, Value};

use crate::{Resync, StreamWelcome};

/// The workshop's name for `workorder:updated`.
pub const UPDATE_TYPE: &str = "workorder-update";

/// `{"type":"connected","epoch":…,"seq":…}`, the stream's first event.
pub fn connected(welcome: &StreamWelcome) -> String {
    json!({"type": "connected", "epoch": welcome.epoch, "seq": welcome.seq}).to_string()
}

/// `{"type":"resync","reason":…}`.
pub fn resync(resync: Resync) -> String {
    json!({"type": "resync", "reason": resync.reason}).to_string()
}

/// A durable event's `data:`: `type` first, then the event's own fields
/// (`changeType`, `workOrderId`, `workOrder` for `workorder:updated`).
/// `data` is the event's JSON text, an object.
pub fn event_data(event: &str, data: &str) -> String {
    let kind = match event {
        "workorder:updated" => UPDATE_TYPE,
        other => other,
    };
    let kind = Value::from(kind);
    // The event's text is an object as serde wrote it: splice `type` in
    // front of its fields rather than parse and write it again.
    match data.trim().strip_prefix('{').map(str::trim_start) {
        Some("}") => format!(r#"{{"type":{kind}}}"#),
        Some(fields) => format!(r#"{{"type":{kind},{fields}"#),
        None => json!({"type": kind, "data": serde_json::from_str::<Value>(data).ok()}).to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ResyncReason;

    fn parse(text: &str) -> Value {
        serde_json::from_str(text).unwrap()
    }

    #[test]
    fn a_workorder_update_carries_its_fields_beside_type() {
        let data = r#"{"workOrderId":"wo-1","changeType":"column","workOrder":{"id":"wo-1","column":"Done"}}"#;
        let text = event_data("workorder:updated", data);
        assert!(text.starts_with(r#"{"type":"workorder-update","#), "{text}");
        assert_eq!(
            parse(&text),
            json!({"type": "workorder-update", "workOrderId": "wo-1", "changeType": "column",
                   "workOrder": {"id": "wo-1", "column": "Done"}})
        );
        assert_eq!(
            parse(&event_data("menu:updated", "{ }")),
            json!({"type": "menu:updated"})
        );
    }

    #[test]
    fn connected_and_resync_are_keyed_by_type() {
        let welcome = StreamWelcome {
            epoch: "e1".into(),
            seq: 12,
        };
        assert_eq!(
            parse(&connected(&welcome)),
            json!({"type": "connected", "epoch": "e1", "seq": 12})
        );
        let text = resync(Resync {
            reason: ResyncReason::HistoryExpired,
        });
        assert_eq!(
            parse(&text),
            json!({"type": "resync", "reason": "history_expired"})
        );
    }
}
