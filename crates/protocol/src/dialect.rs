//! `?format=type`: the same frames keyed by `type`, as the pizzeria (seed
//! 000) and the ticketing console (seed 003) read them. The event name's `:`
//! becomes `_` (`order_created`); `seq` and `data` stay. A few control frames
//! keep those clients' own shapes: the welcome is `connection_established`
//! with `clientId`, and `subscribed` and `error` carry their fields at the
//! top level.

use serde_json::{json, Map, Value};

use crate::Event;

/// `order:status_changed` → `order_status_changed`.
pub fn type_name(event: &str) -> String {
    event.replace(':', "_")
}

/// A durable event's frame in this dialect. `data` is the event's JSON text.
pub fn durable_frame(seq: u64, event: &str, data: &str) -> String {
    format!(
        r#"{{"type":"{}","seq":{seq},"data":{data}}}"#,
        type_name(event)
    )
}

/// A control frame (no seq) in this dialect.
pub fn control_frame(event: &Event) -> String {
    let value = match event {
        Event::Welcome(welcome) => json!({
            "type": "connection_established",
            "clientId": welcome.connection_id,
            "data": welcome,
        }),
        Event::Pong => json!({ "type": "pong" }),
        Event::Subscribed(_) | Event::Error(_) => {
            let mut fields = Map::new();
            fields.insert("type".into(), Value::from(event.name()));
            if let Value::Object(data) = event.data_json() {
                fields.extend(data);
            }
            Value::Object(fields)
        }
        other => json!({ "type": type_name(other.name()), "data": other.data_json() }),
    };
    value.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ErrorBody, OrderRef, Replayed, Role, Subscribed, Welcome};

    fn parse(text: &str) -> Value {
        serde_json::from_str(text).unwrap()
    }

    #[test]
    fn frames_are_keyed_by_type() {
        assert_eq!(
            parse(&durable_frame(7, "order:created", r#"{"dailyNum":5}"#)),
            json!({"type": "order_created", "seq": 7, "data": {"dailyNum": 5}})
        );
        let welcome = Welcome {
            connection_id: "conn-3".into(),
            device_id: None,
            role: Some(Role::Barista),
            epoch: "e".into(),
            seq: 9,
            topics: vec!["orders".into()],
        };
        let frame = parse(&control_frame(&Event::Welcome(welcome)));
        assert_eq!(frame["type"], "connection_established");
        assert_eq!(frame["clientId"], "conn-3");
        assert_eq!(frame["data"]["seq"], 9);
        assert_eq!(frame["data"]["topics"], json!(["orders"]));
        assert_eq!(parse(&control_frame(&Event::Pong)), json!({"type": "pong"}));
        let admin = Subscribed {
            role: Some("admin".into()),
            ..Subscribed::default()
        };
        assert_eq!(
            parse(&control_frame(&Event::Subscribed(admin))),
            json!({"type": "subscribed", "role": "admin"})
        );
        let order = Subscribed {
            order_id: Some(OrderRef::Number(12)),
            ..Subscribed::default()
        };
        assert_eq!(
            parse(&control_frame(&Event::Subscribed(order))),
            json!({"type": "subscribed", "order_id": 12})
        );
        let error = ErrorBody {
            code: "forbidden".into(),
            message: "no".into(),
        };
        assert_eq!(
            parse(&control_frame(&Event::Error(error))),
            json!({"type": "error", "code": "forbidden", "message": "no"})
        );
        let replayed = Replayed {
            from: 1,
            to: 4,
            count: 2,
        };
        assert_eq!(
            parse(&control_frame(&Event::Replayed(replayed))),
            json!({"type": "replayed", "data": {"from": 1, "to": 4, "count": 2}})
        );
    }
}
