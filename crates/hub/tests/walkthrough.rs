//! The README's walk-through as a test: pair, subscribe, order, see it arrive.

mod support;

use countertop_protocol::Role;
use serde_json::json;
use support::TestHub;

#[tokio::test]
async fn an_order_posted_by_a_kiosk_reaches_a_subscribed_barista() {
    let hub = TestHub::start().await;
    let kiosk = hub.pair(Role::Kiosk).await;
    let barista = hub.pair(Role::Barista).await;
    let mut ws = hub.connect(Some(&barista)).await;
    let welcome = ws.next().await;
    assert_eq!(welcome["event"], "welcome");
    assert_eq!(welcome["data"]["role"], "barista");
    assert_eq!(welcome["data"]["deviceId"], barista.id.as_str());
    ws.subscribe(&["orders"]).await;

    let (status, order) = kiosk
        .api
        .order(&[("americano", 2), ("latte", 1)], "CARD")
        .await;
    assert_eq!(status, 201, "{order}");
    let frame = ws.next_event("order:created").await;
    assert_eq!(frame["data"]["orderId"], order["orderId"]);
    assert_eq!(frame["data"]["totalAmount"], json!(2 * 4000 + 4500));
    assert_eq!(frame["data"]["status"], "PENDING");
    assert!(frame["seq"].as_u64().unwrap() > welcome["data"]["seq"].as_u64().unwrap());
}
