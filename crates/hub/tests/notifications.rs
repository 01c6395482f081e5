//! Manager notifications over REST, announced as system events.

mod support;

use serde_json::json;
use support::{assert_error, json_text, ok, Cafe};

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
            &format!(
                "SELECT COUNT(*) FROM events WHERE name = 'system:notification' AND {} = $1",
                json_text("data", "id")
            ),
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

fn topics_of(welcome: &serde_json::Value) -> Vec<String> {
    let mut topics: Vec<String> = welcome["data"]["topics"]
        .as_array()
        .expect("the welcome lists topics")
        .iter()
        .map(|t| t.as_str().unwrap().to_owned())
        .collect();
    topics.sort();
    topics
}

async fn notice(cafe: &Cafe, title: &str) -> serde_json::Value {
    ok(
        cafe.manager
            .api
            .post(
                "/api/notifications",
                json!({"level": "warning", "title": title, "message": "Oat milk is out"}),
            )
            .await,
        201,
    )
}

/// The notices that `frames` hold, by id.
fn notice_ids(frames: &[serde_json::Value]) -> Vec<String> {
    frames
        .iter()
        .filter(|f| f["event"] == "system:notification")
        .map(|f| f["data"]["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_barista_reads_notices_but_not_system_and_a_manager_gets_each_notice_once() {
    let cafe = Cafe::open().await;
    let before = cafe.seq().await;

    // A barista reads `notices`, and `system` stays a manager's.
    let mut barista = cafe
        .hub
        .connect_with(Some(&cafe.barista), "topics=orders,notices,system")
        .await;
    let welcome = barista.next_event("welcome").await;
    assert_eq!(topics_of(&welcome), ["notices", "orders"]);
    let refused = barista.next().await;
    assert_eq!(refused["event"], "error", "{refused}");
    assert_eq!(refused["data"]["code"], "forbidden", "{refused}");
    assert!(
        refused["data"]["message"]
            .as_str()
            .unwrap()
            .contains("system"),
        "{refused}"
    );
    barista
        .send(json!({"type": "subscribe", "topics": ["system"]}))
        .await;
    let refused = barista.next().await;
    assert_eq!(refused["data"]["code"], "forbidden", "{refused}");

    // A manager reading both `system` (a default topic) and `notices`.
    let mut manager = cafe.hub.connect_with(Some(&cafe.manager), "").await;
    let welcome = manager.next_event("welcome").await;
    assert!(topics_of(&welcome).contains(&"system".to_owned()));
    assert!(!topics_of(&welcome).contains(&"notices".to_owned()));
    let subscribed = manager.subscribe(&["notices"]).await;
    assert_eq!(subscribed["data"]["topics"], json!(["notices"]));
    // A manager on `system` alone, as before notices had a topic.
    let mut system_only = cafe
        .hub
        .connect_with(Some(&cafe.manager), "topics=system")
        .await;
    system_only.next_event("welcome").await;

    let sent = notice(&cafe, "Milk").await;
    let id = sent["id"].as_str().unwrap().to_owned();

    let frame = barista.next_event("system:notification").await;
    assert_eq!(frame["data"]["id"], id.as_str());
    assert_eq!(frame["data"]["title"], "Milk");
    assert_eq!(frame["data"]["level"], "warning");
    let seq = frame["seq"].as_u64().unwrap();
    assert_eq!(seq, before + 1);

    let frame = manager.next_event("system:notification").await;
    assert_eq!(frame["data"]["id"], id.as_str());
    assert_eq!(frame["seq"].as_u64(), Some(seq));
    assert_eq!(
        notice_ids(&manager.drain().await),
        Vec::<String>::new(),
        "once"
    );
    let frame = system_only.next_event("system:notification").await;
    assert_eq!(frame["data"]["id"], id.as_str());

    // The event is stored once, on `notices`.
    assert_eq!(
        cafe.count(
            &format!("SELECT COUNT(*) FROM events WHERE name = 'system:notification' AND topic = 'notices' AND {} = $1", json_text("data", "id")),
            &[&id],
        )
        .await,
        1
    );

    // Resuming: a barista that was away gets it from the log, once.
    let mut back = cafe
        .hub
        .connect_with(
            Some(&cafe.barista),
            &format!("topics=orders,notices&since={before}"),
        )
        .await;
    back.next_event("welcome").await;
    let mut replayed = Vec::new();
    loop {
        let frame = back.next().await;
        if frame["event"] == "replayed" {
            assert_eq!(frame["data"]["count"], 1, "{frame}");
            break;
        }
        replayed.push(frame);
    }
    assert_eq!(notice_ids(&replayed), std::slice::from_ref(&id));
    assert_eq!(notice_ids(&back.drain().await), Vec::<String>::new());

    // A manager resuming both topics gets it once in the replay.
    let mut manager_back = cafe
        .hub
        .connect_with(
            Some(&cafe.manager),
            &format!("topics=system,notices&since={before}"),
        )
        .await;
    manager_back.next_event("welcome").await;
    let mut replayed = Vec::new();
    loop {
        let frame = manager_back.next().await;
        if frame["event"] == "replayed" {
            break;
        }
        replayed.push(frame);
    }
    assert_eq!(notice_ids(&replayed), std::slice::from_ref(&id));

    // A manager that read it live through `system` and then subscribes
    // `notices` from before it is not sent it again.
    system_only
        .send(json!({"type": "subscribe", "topics": ["notices"], "since": before}))
        .await;
    let mut frames = Vec::new();
    loop {
        let frame = system_only.next().await;
        if frame["event"] == "replayed" {
            assert_eq!(frame["data"]["count"], 0, "{frame}");
            break;
        }
        frames.push(frame);
    }
    assert_eq!(notice_ids(&frames), Vec::<String>::new());

    // The next notice reaches each connection once more, live.
    let second = notice(&cafe, "Ice").await;
    let second_id = second["id"].as_str().unwrap();
    for ws in [&mut barista, &mut back, &mut manager, &mut system_only] {
        let frame = ws.next_event("system:notification").await;
        assert_eq!(frame["data"]["id"], second_id);
        assert_eq!(notice_ids(&ws.drain().await), Vec::<String>::new());
    }
}
