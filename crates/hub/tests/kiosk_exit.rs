//! The kiosk exit PIN over REST: a locked kiosk is left only with it. A
//! kiosk or a manager checks it, only a manager sets it, wrong ones share
//! the hub's budget (five in ten minutes), and it is never stored in
//! clear, in the settings every kiosk reads, an event or a log line.

mod support;

use chrono::Duration;
use reqwest::StatusCode;
use serde_json::{json, Value};
use support::{assert_error, captured_logs, ok, Api, Cafe, TestHub};

async fn exit(api: &Api, pin: &str) -> (StatusCode, Value) {
    api.post("/api/kiosk/exit", json!({ "pin": pin })).await
}

/// The demo café's exit PIN (README).
const DEMO_PIN: &str = "1234";

#[tokio::test]
async fn a_kiosk_is_left_with_the_right_pin_only() {
    let cafe = Cafe::open().await;
    let kiosk = &cafe.kiosk.api;
    assert_eq!(
        ok(kiosk.get("/api/kiosk/exit-pin").await, 200),
        json!({"isSet": true}),
        "the demo café has one"
    );
    let right = exit(kiosk, DEMO_PIN).await;
    assert_eq!(right.0, StatusCode::NO_CONTENT, "{right:?}");
    assert_eq!(
        exit(&cafe.manager.api, DEMO_PIN).await.0,
        StatusCode::NO_CONTENT
    );

    let wrong = exit(kiosk, "4321").await;
    assert_error(&wrong, 403, "wrong_pin");
    assert_eq!(wrong.1["error"]["message"], "wrong PIN");
    for malformed in ["123", "123456789", "12a4", ""] {
        assert_error(&exit(kiosk, malformed).await, 422, "validation");
    }
    assert_error(
        &kiosk
            .post("/api/kiosk/exit", json!({"pin": DEMO_PIN, "more": 1}))
            .await,
        422,
        "validation",
    );
    for other in [&cafe.barista.api, &cafe.display.api] {
        assert_error(&exit(other, DEMO_PIN).await, 403, "forbidden");
        assert_error(&other.get("/api/kiosk/exit-pin").await, 403, "forbidden");
    }
    assert_error(
        &exit(&cafe.anonymous(), DEMO_PIN).await,
        401,
        "unauthorized",
    );
    assert_error(
        &cafe.anonymous().get("/api/kiosk/exit-pin").await,
        401,
        "unauthorized",
    );
    assert_eq!(
        cafe.seq().await,
        cafe.opened_at_seq,
        "checking the exit PIN announces nothing"
    );
}

#[tokio::test]
async fn five_wrong_exit_pins_lock_the_exit_for_ten_minutes() {
    let cafe = Cafe::open().await;
    let kiosk = &cafe.kiosk.api;
    for n in 0..5 {
        // One budget for the hub: guesses from a kiosk and a manager add up.
        let api = if n % 2 == 0 { kiosk } else { &cafe.manager.api };
        assert_error(&exit(api, "0000").await, 403, "wrong_pin");
    }
    let res = kiosk
        .client()
        .post(cafe.hub.url("/api/kiosk/exit"))
        .bearer_auth(&cafe.kiosk.token)
        .json(&json!({"pin": DEMO_PIN}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 429, "even the right PIN waits");
    let retry_after: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=600).contains(&retry_after), "{retry_after}");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "rate_limited");
    // Cell PINs keep their own budget.
    ok(
        kiosk
            .post("/api/cells/cell-engineering/unlock", json!({"pin": "2345"}))
            .await,
        200,
    );

    cafe.hub.hub.clock.advance(Duration::minutes(9));
    assert_error(&exit(kiosk, DEMO_PIN).await, 429, "rate_limited");
    cafe.hub.hub.clock.advance(Duration::minutes(1));
    assert_eq!(exit(kiosk, DEMO_PIN).await.0, StatusCode::NO_CONTENT);

    // A right PIN gives its place back; a new PIN starts the count again.
    for _ in 0..4 {
        assert_error(&exit(kiosk, "0000").await, 403, "wrong_pin");
    }
    for _ in 0..3 {
        assert_eq!(exit(kiosk, DEMO_PIN).await.0, StatusCode::NO_CONTENT);
    }
    assert_error(&exit(kiosk, "0000").await, 403, "wrong_pin");
    assert_error(&exit(kiosk, DEMO_PIN).await, 429, "rate_limited");
    ok(
        cafe.manager
            .api
            .put("/api/kiosk/exit-pin", json!({"pin": "8642"}))
            .await,
        200,
    );
    assert_eq!(exit(kiosk, "8642").await.0, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn only_a_manager_sets_or_removes_the_exit_pin() {
    let cafe = Cafe::open().await;
    let manager = &cafe.manager.api;
    let kiosk = &cafe.kiosk.api;
    for other in [kiosk, &cafe.barista.api, &cafe.display.api] {
        assert_error(
            &other
                .put("/api/kiosk/exit-pin", json!({"pin": "5555"}))
                .await,
            403,
            "forbidden",
        );
        assert_error(&other.delete("/api/kiosk/exit-pin").await, 403, "forbidden");
    }
    assert_error(
        &cafe
            .anonymous()
            .put("/api/kiosk/exit-pin", json!({"pin": "5555"}))
            .await,
        401,
        "unauthorized",
    );
    assert_eq!(exit(kiosk, DEMO_PIN).await.0, StatusCode::NO_CONTENT);
    for malformed in ["123", "123456789", "12a4", ""] {
        assert_error(
            &manager
                .put("/api/kiosk/exit-pin", json!({ "pin": malformed }))
                .await,
            422,
            "validation",
        );
    }

    assert_eq!(
        ok(
            manager
                .put("/api/kiosk/exit-pin", json!({"pin": "97531"}))
                .await,
            200
        ),
        json!({"isSet": true})
    );
    assert_error(&exit(kiosk, DEMO_PIN).await, 403, "wrong_pin");
    assert_eq!(exit(kiosk, "97531").await.0, StatusCode::NO_CONTENT);

    assert_eq!(
        ok(manager.delete("/api/kiosk/exit-pin").await, 200),
        json!({"isSet": false})
    );
    assert_eq!(
        ok(kiosk.get("/api/kiosk/exit-pin").await, 200),
        json!({"isSet": false})
    );
    // No PIN: the way out is open (a fresh install must not trap its owner).
    assert_eq!(exit(kiosk, "0000").await.0, StatusCode::NO_CONTENT);
    assert_eq!(
        cafe.seq().await,
        cafe.opened_at_seq,
        "setting the exit PIN announces nothing"
    );
}

#[tokio::test]
async fn a_hub_without_the_demo_has_no_exit_pin() {
    let hub = TestHub::start_with(|config| config.demo = false).await;
    let kiosk = hub.pair(countertop_protocol::Role::Kiosk).await;
    assert_eq!(
        ok(kiosk.api.get("/api/kiosk/exit-pin").await, 200),
        json!({"isSet": false})
    );
    assert_eq!(exit(&kiosk.api, "1234").await.0, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn the_exit_pin_is_never_in_settings_events_or_the_log() {
    let logs = captured_logs();
    let cafe = Cafe::open().await;
    let manager = &cafe.manager.api;
    let kiosk = &cafe.kiosk.api;
    // PINs of eight digits that no timestamp or id of this test contains.
    let (pin, wrong) = ("73920518", "50493827");
    ok(
        manager
            .put("/api/kiosk/exit-pin", json!({ "pin": pin }))
            .await,
        200,
    );
    assert_error(&exit(kiosk, wrong).await, 403, "wrong_pin");
    assert_eq!(exit(kiosk, pin).await.0, StatusCode::NO_CONTENT);

    let hash: String = countertop_hub::on_pool!(cafe.hub.hub.pool(), |ex| sqlx::query_scalar(
        "SELECT value FROM meta WHERE key = 'kiosk_exit_pin_hash'"
    )
    .fetch_one(ex)
    .await)
    .unwrap();
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    let salted = hash.rsplit('$').next().unwrap().to_owned();

    let settings = ok(kiosk.get("/api/settings").await, 200).to_string();
    let snapshot = ok(kiosk.get("/api/snapshot").await, 200).to_string();
    let events: Vec<String> = countertop_hub::on_pool!(cafe.hub.hub.pool(), |ex| {
        sqlx::query_scalar("SELECT data FROM events")
            .fetch_all(ex)
            .await
    })
    .unwrap();
    let events = events.join("\n");
    let stored_settings: Vec<String> = countertop_hub::on_pool!(cafe.hub.hub.pool(), |ex| {
        sqlx::query_scalar("SELECT key || '=' || value FROM settings")
            .fetch_all(ex)
            .await
    })
    .unwrap();
    let stored_settings = stored_settings.join("\n");
    let logged = String::from_utf8_lossy(&logs.lock().unwrap()).into_owned();
    assert!(logged.contains("/api/kiosk/exit"), "requests are logged");
    assert!(logged.contains("a wrong kiosk exit PIN"));
    for secret in [pin, wrong, salted.as_str(), "$argon2id$"] {
        assert!(!settings.contains(secret), "{secret} in GET /api/settings");
        assert!(!snapshot.contains(secret), "{secret} in the snapshot");
        assert!(!stored_settings.contains(secret), "{secret} in settings");
        assert!(!events.contains(secret), "{secret} in the events");
        assert!(!logged.contains(secret), "{secret} in the log");
    }
}
