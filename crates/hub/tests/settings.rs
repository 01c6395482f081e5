//! Settings over REST: read by anyone, written by a manager, values checked.

mod support;

use serde_json::json;
use support::{assert_error, json_text, ok, Cafe};

#[tokio::test]
async fn settings_are_read_by_anyone_and_written_by_a_manager_with_checked_values() {
    let cafe = Cafe::open().await;
    let settings = ok(cafe.anonymous().get("/api/settings").await, 200);
    assert_eq!(settings["currency"], "KRW");
    assert_eq!(settings["is_kiosk_active"], "true");
    assert_eq!(settings["chime_volume"], "80");

    let put = ok(
        cafe.manager
            .api
            .put("/api/settings/is_kiosk_active", json!({"value": "false"}))
            .await,
        200,
    );
    assert_eq!(put, json!({"key": "is_kiosk_active", "value": "false"}));
    let settings = ok(cafe.kiosk.api.get("/api/settings").await, 200);
    assert_eq!(settings["is_kiosk_active"], "false");
    let changed = cafe
        .count(
            &format!(
                "SELECT COUNT(*) FROM events WHERE name = 'settings:changed' AND {} = $1",
                json_text("data", "updatedBy.id")
            ),
            &[&cafe.manager.id],
        )
        .await;
    assert_eq!(changed, 1);
    for volume in ["0", "100", "55"] {
        ok(
            cafe.manager
                .api
                .put("/api/settings/chime_volume", json!({ "value": volume }))
                .await,
            200,
        );
    }

    for (key, value) in [
        ("is_kiosk_active", "yes"),
        ("is_kiosk_active", "TRUE"),
        ("is_kiosk_active", ""),
        ("currency", "krw"),
        ("timer_red_minutes", "0"),
        ("chime_volume", "101"),
        ("chime_volume", "-1"),
        ("chime_volume", "loud"),
        ("chime_volume", "080"),
        ("Bad-Key", "x"),
    ] {
        let answer = cafe
            .manager
            .api
            .put(&format!("/api/settings/{key}"), json!({ "value": value }))
            .await;
        assert_eq!(answer.0, 422, "{key}={value}: {}", answer.1);
        assert_error(&answer, 422, "validation");
    }
    let settings = ok(cafe.anonymous().get("/api/settings").await, 200);
    assert_eq!(settings["is_kiosk_active"], "false");
    assert_eq!(settings["currency"], "KRW");
    assert_error(
        &cafe
            .barista
            .api
            .put("/api/settings/is_kiosk_active", json!({"value": "true"}))
            .await,
        403,
        "forbidden",
    );
}
