//! `/healthz`, `/metrics` and the WebSocket statistics over REST.

mod support;

use serde_json::json;
use support::{assert_error, ok, Cafe, WAIT};

#[tokio::test]
async fn healthz_reports_the_newest_seq_and_the_epoch() {
    let cafe = Cafe::open().await;
    let health = ok(cafe.anonymous().get("/healthz").await, 200);
    assert_eq!(health["status"], "ok");
    assert_eq!(health["seq"], cafe.opened_at_seq);
    assert!(health["epoch"].as_str().is_some_and(|e| !e.is_empty()));
    assert_eq!(health["node"], cafe.hub.hub.config.node_name.as_str());
    assert_eq!(health["database"]["up"], true, "{health}");
    ok(
        cafe.manager
            .api
            .put("/api/settings/cafe_name", json!({"value": "Corner"}))
            .await,
        200,
    );
    let after = ok(cafe.anonymous().get("/healthz").await, 200);
    assert_eq!(after["seq"], cafe.opened_at_seq + 1);
    assert_eq!(after["epoch"], health["epoch"]);
}

#[tokio::test]
async fn metrics_are_prometheus_text_for_anyone() {
    let cafe = Cafe::open().await;
    cafe.order(&cafe.kiosk.api, &[("americano", 1)]).await;
    let seq = cafe.seq().await;
    let response = tokio::time::timeout(
        WAIT,
        reqwest::Client::new().get(cafe.hub.url("/metrics")).send(),
    )
    .await
    .expect("metrics in time")
    .expect("metrics answer");
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(content_type.starts_with("text/plain"), "{content_type}");
    let text = response.text().await.unwrap();
    assert!(text.contains("# TYPE countertop_event_seq gauge"), "{text}");
    assert!(
        text.lines().any(|l| l
            == format!(
                "countertop_event_seq{{node=\"{}\"}} {seq}",
                cafe.hub.hub.config.node_name
            )),
        "{text}"
    );
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let (name, value) = line.rsplit_once(' ').unwrap();
        assert!(!name.is_empty() && value.parse::<f64>().is_ok(), "{line}");
    }
}

#[tokio::test]
async fn ws_stats_are_for_managers_and_count_open_connections() {
    let cafe = Cafe::open().await;
    let stats = ok(cafe.manager.api.get("/api/ws/stats").await, 200);
    assert_eq!(stats["success"], true, "{stats}");
    let stats = &stats["data"];
    assert_eq!(stats["totalConnections"], 0);
    assert_eq!(stats["totalDevices"], 0);
    assert_eq!(stats["totalUsers"], 0);
    assert_eq!(stats["rooms"], json!([]));
    assert_eq!(stats["topics"], json!({}));
    assert_eq!(
        stats["transports"],
        json!({"websocket": 0, "sse": 0, "socketio": 0})
    );

    let mut ws = cafe.hub.connect(Some(&cafe.barista)).await;
    assert_eq!(ws.next().await["event"], "welcome");
    ws.subscribe(&["orders", "menu"]).await;
    cafe.order(&cafe.kiosk.api, &[("americano", 1)]).await;
    let seq = cafe.seq().await;
    let stats = ok(cafe.manager.api.get("/api/ws/stats").await, 200);
    assert_eq!(stats["success"], true, "{stats}");
    let stats = &stats["data"];
    assert_eq!(stats["totalConnections"], 1, "{stats}");
    assert_eq!(stats["totalDevices"], 1, "{stats}");
    assert_eq!(stats["totalUsers"], 1, "{stats}");
    assert_eq!(stats["topics"]["orders"], 1, "{stats}");
    assert_eq!(stats["topics"]["menu"], 1, "{stats}");
    let rooms: Vec<&str> = stats["rooms"]
        .as_array()
        .unwrap_or_else(|| panic!("rooms is a list: {stats}"))
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    let topics: Vec<&str> = stats["topics"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(rooms, topics, "rooms are the topics with subscribers");
    assert!(
        rooms.contains(&"orders") && rooms.contains(&"menu"),
        "{stats}"
    );
    assert_eq!(
        stats["transports"],
        json!({"websocket": 1, "sse": 0, "socketio": 0})
    );
    assert_eq!(stats["seq"], seq);
    assert_eq!(stats["eventsRetained"], seq);

    for device in [&cafe.kiosk, &cafe.barista, &cafe.display] {
        assert_error(&device.api.get("/api/ws/stats").await, 403, "forbidden");
    }
    assert_error(
        &cafe.anonymous().get("/api/ws/stats").await,
        401,
        "unauthorized",
    );
}
