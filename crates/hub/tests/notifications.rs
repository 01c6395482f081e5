//! Manager notifications over REST, announced as system events.

mod support;

use serde_json::json;
use support::{assert_error, ok, Cafe};

#[tokio::test]
async fn a_manager_notification_is_announced_as_a_system_event() {
    let cafe = Cafe::open().await;
    let before = cafe.seq().await;
    let note = ok(
        cafe.manager
            .api
            .post(
                "/api/notifications",
                json!({"level": "warning", "title": "Milk", "message": "Two litres left"}),
            )
            .await,
        201,
    );
    assert!(
        note["id"].as_str().is_some_and(|id| !id.is_empty()),
        "{note}"
    );
    assert_eq!(note["level"], "warning");
    assert_eq!(note["title"], "Milk");
    assert_eq!(note["message"], "Two litres left");
    assert!(note["timestamp"].is_string(), "{note}");
    assert_eq!(cafe.seq().await, before + 1);
    assert_eq!(
        cafe.count(
            "SELECT COUNT(*) FROM events WHERE name = 'system:notification' AND json_extract(data, '$.id') = ?",
            &[note["id"].as_str().unwrap()],
        )
        .await,
        1
    );
    for bad in [
        json!({"level": "panic", "title": "t", "message": "m"}),
        json!({"level": "info", "title": "", "message": "m"}),
        json!({"level": "info", "title": "t"}),
    ] {
        assert_error(
            &cafe.manager.api.post("/api/notifications", bad).await,
            422,
            "validation",
        );
    }
    assert_error(
        &cafe
            .barista
            .api
            .post(
                "/api/notifications",
                json!({"level": "info", "title": "t", "message": "m"}),
            )
            .await,
        403,
        "forbidden",
    );
}
