//! Request limits over REST: bodies over 256 KiB are refused in the error shape.

mod support;

use serde_json::json;
use support::{assert_error, Cafe};

#[tokio::test]
async fn a_body_over_256_kib_is_refused_as_payload_too_large() {
    let cafe = Cafe::open().await;
    let note = "x".repeat(300 * 1024);
    let answer = cafe
        .kiosk
        .api
        .post(
            "/api/orders",
            json!({
                "idempotencyKey": "big",
                "items": [{"menuId": "americano", "quantity": 1, "options": {"note": note}}],
                "payType": "CARD"
            }),
        )
        .await;
    assert_error(&answer, 413, "payload_too_large");
    let answer = cafe
        .manager
        .api
        .post(
            "/api/notifications",
            json!({"level": "info", "title": "t", "message": note}),
        )
        .await;
    assert_error(&answer, 413, "payload_too_large");
    assert_eq!(cafe.seq().await, cafe.opened_at_seq);

    // A call whose body is optional answers in the same shape.
    let (wo, sid) = cafe.running_workorder().await;
    let answer = cafe
        .manager
        .api
        .patch(
            &format!("/api/workorders/{wo}/sessions/{sid}"),
            json!({ "done": note }),
        )
        .await;
    assert_error(&answer, 413, "payload_too_large");
}
