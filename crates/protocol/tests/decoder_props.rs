//! Property tests: the client-message decoder never panics, and everything it
//! accepts re-encodes to a message it accepts again.

use countertop_protocol::{decode_client_message, ClientMessage};
use proptest::prelude::*;
use serde_json::Value;

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        ".{0,20}".prop_map(Value::String),
        prop_oneof![
            Just("ping"),
            Just("subscribe"),
            Just("unsubscribe"),
            Just("subscribe_admin"),
            Just("subscribe_order"),
            Just("orders"),
            Just("board"),
        ]
        .prop_map(|s| Value::String(s.to_owned())),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    Just("type".to_owned()),
                    Just("topics".to_owned()),
                    Just("since".to_owned()),
                    Just("epoch".to_owned()),
                    Just("order_id".to_owned()),
                    "[a-z]{1,6}",
                ],
                inner,
                0..6
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn check(text: &str) {
    match decode_client_message(text) {
        Ok(msg) => {
            let again = serde_json::to_string(&msg).expect("a decoded message encodes");
            let back: ClientMessage = decode_client_message(&again).expect("re-decodes");
            assert_eq!(back, msg);
        }
        Err(err) => {
            assert_eq!(err.code(), "validation");
            assert!(!err.to_string().is_empty());
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4000))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        check(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn arbitrary_json_never_panics(value in arb_json()) {
        check(&value.to_string());
    }

    #[test]
    fn well_formed_subscribes_decode(
        topics in prop::collection::vec("[a-z:0-9-]{1,20}", 0..10),
        since in proptest::option::of(any::<u64>()),
        epoch in proptest::option::of("[a-z0-9]{1,16}"),
    ) {
        let mut v = serde_json::json!({"type": "subscribe", "topics": topics});
        if let Some(s) = since { v["since"] = s.into(); }
        if let Some(e) = &epoch { v["epoch"] = e.clone().into(); }
        let msg = decode_client_message(&v.to_string()).unwrap();
        prop_assert_eq!(msg, ClientMessage::Subscribe { topics, since, epoch });
    }
}
