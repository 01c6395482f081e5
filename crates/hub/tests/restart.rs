//! A restart of the hub: seq, orders, settings and tokens survive it.

mod support;

use countertop_protocol::Role;
use serde_json::json;
use support::{ok, TestHub};

#[tokio::test]
async fn seq_orders_and_tokens_survive_a_restart_of_the_hub() {
    let hub = TestHub::start().await;
    let manager = hub.pair(Role::Manager).await;
    let kiosk = hub.pair(Role::Kiosk).await;
    ok(kiosk.api.order(&[("americano", 1)], "CARD").await, 201);
    ok(
        manager
            .api
            .put("/api/settings/cafe_name", json!({"value": "Before"}))
            .await,
        200,
    );
    let before = ok(hub.anonymous().get("/healthz").await, 200);
    let seq = before["seq"].as_u64().unwrap();
    assert!(seq > 0);

    let dir = hub.stop().await;
    let hub = TestHub::start_in(dir, |_| {}).await;
    let manager = hub.anonymous().with_token(&manager.token);
    let kiosk = hub.anonymous().with_token(&kiosk.token);

    let after = ok(manager.get("/healthz").await, 200);
    assert_eq!(after["seq"], seq);
    assert_eq!(after["epoch"], before["epoch"]);
    assert_eq!(
        ok(manager.get("/api/settings").await, 200)["cafe_name"],
        "Before"
    );

    ok(
        manager
            .put("/api/settings/cafe_name", json!({"value": "After"}))
            .await,
        200,
    );
    let next = ok(hub.anonymous().get("/healthz").await, 200);
    assert_eq!(next["seq"], seq + 1);
    let name: String = countertop_hub::on_pool!(hub.hub.pool(), |ex| sqlx::query_scalar(
        "SELECT name FROM events WHERE seq = $1"
    )
    .bind(i64::try_from(seq + 1).unwrap())
    .fetch_one(ex)
    .await)
    .unwrap();
    assert_eq!(name, "settings:changed");

    let order = ok(kiosk.order(&[("latte", 1)], "CARD").await, 201);
    assert_eq!(order["dailyNum"], 2);
    assert_eq!(
        ok(kiosk.get("/api/orders").await, 200)
            .as_array()
            .unwrap()
            .len(),
        2
    );
}
