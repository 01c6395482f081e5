//! Item marks (`POST /api/orders/{id}/marks`, `order:items_marked`): each
//! station marks its own lines, the order follows by itself, recalls undo
//! the marks, and a resend changes nothing.

mod support;

use serde_json::{json, Value};
use support::{assert_error, ok, Cafe};

/// An order of a drink (station `bar`) and a croissant (station `kitchen`).
async fn drink_and_croissant(cafe: &Cafe) -> Value {
    cafe.order(&cafe.kiosk.api, &[("americano", 1), ("croissant", 2)])
        .await
}

async fn mark(cafe: &Cafe, id: &str, lines: &[u32], done: bool) -> (reqwest::StatusCode, Value) {
    cafe.barista
        .api
        .post(
            &format!("/api/orders/{id}/marks"),
            json!({ "lines": lines, "done": done }),
        )
        .await
}

async fn fetch(cafe: &Cafe, id: &str) -> Value {
    ok(
        cafe.barista.api.get(&format!("/api/orders/{id}")).await,
        200,
    )
}

/// The names and data of the durable events after `seq`, from the log.
async fn events_after(cafe: &Cafe, seq: u64) -> Vec<(String, Value)> {
    let rows: Vec<(String, String)> =
        countertop_hub::on_pool!(cafe.hub.hub.pool(), |ex| sqlx::query_as(
            "SELECT name, data FROM events WHERE seq > $1 ORDER BY seq"
        )
        .bind(seq as i64)
        .fetch_all(ex)
        .await)
        .unwrap();
    rows.into_iter()
        .map(|(name, data)| (name, serde_json::from_str(&data).unwrap()))
        .collect()
}

#[tokio::test]
async fn order_lines_keep_the_contracts_shape_and_the_menu_names_the_station() {
    let cafe = Cafe::open().await;
    let order = drink_and_croissant(&cafe).await;
    for line in order["items"].as_array().unwrap() {
        assert!(line.get("station").is_none(), "{line}");
        assert!(line.get("done").is_none(), "{line}");
    }
    assert_eq!(cafe.menu_item("americano").await["station"], "bar");
    assert_eq!(cafe.menu_item("croissant").await["station"], "kitchen");
}

#[tokio::test]
async fn each_station_marks_its_lines_and_the_last_mark_makes_the_order_ready() {
    let cafe = Cafe::open().await;
    let order = drink_and_croissant(&cafe).await;
    let id = order["orderId"].as_str().unwrap();
    let seq = cafe.seq().await;

    // The bar makes the drink: the order starts, but is not ready.
    let after_bar = ok(mark(&cafe, id, &[0], true).await, 200);
    assert_eq!(after_bar["status"], "MAKING");
    assert_eq!(after_bar["items"][0]["done"], true);
    assert!(after_bar["items"][0]["doneAt"].is_string());
    assert!(after_bar["items"][1].get("done").is_none());
    let events = events_after(&cafe, seq).await;
    let names: Vec<&str> = events.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        &names[..2],
        ["order:items_marked", "order:status_changed"],
        "{events:?}"
    );
    assert_eq!(events[0].1["lines"], json!([0]));
    assert_eq!(events[0].1["done"], true);
    assert_eq!(events[0].1["dailyNum"], order["dailyNum"]);
    assert_eq!(events[1].1["previousStatus"], "PENDING");
    assert_eq!(events[1].1["status"], "MAKING");

    // The kitchen makes the croissants: the order is ready by itself.
    let seq = cafe.seq().await;
    let after_kitchen = ok(mark(&cafe, id, &[1], true).await, 200);
    assert_eq!(after_kitchen["status"], "READY");
    let events = events_after(&cafe, seq).await;
    let moved: Vec<&Value> = events
        .iter()
        .filter(|(n, _)| n == "order:status_changed")
        .map(|(_, d)| d)
        .collect();
    assert_eq!(moved.len(), 1, "{events:?}");
    assert_eq!(moved[0]["previousStatus"], "MAKING");
    assert_eq!(moved[0]["status"], "READY");
    assert_eq!(fetch(&cafe, id).await["status"], "READY");

    // The daily report counts its preparation time: READY was reached.
    let report = ok(cafe.manager.api.get("/api/reports/daily").await, 200);
    assert!(report["prepSeconds"]["median"].is_number(), "{report}");
}

#[tokio::test]
async fn marking_every_line_at_once_moves_a_pending_order_to_ready_in_order() {
    let cafe = Cafe::open().await;
    let order = drink_and_croissant(&cafe).await;
    let id = order["orderId"].as_str().unwrap();
    let seq = cafe.seq().await;
    let answer = ok(mark(&cafe, id, &[1, 0, 1], true).await, 200);
    assert_eq!(answer["status"], "READY");
    let events = events_after(&cafe, seq).await;
    let steps: Vec<(String, Value)> = events
        .iter()
        .map(|(n, d)| {
            (
                n.clone(),
                d.get("status").cloned().unwrap_or(d["lines"].clone()),
            )
        })
        .filter(|(n, _)| n != "dashboard:update")
        .collect();
    assert_eq!(
        steps,
        [
            ("order:items_marked".to_owned(), json!([0, 1])),
            ("order:status_changed".to_owned(), json!("MAKING")),
            ("order:status_changed".to_owned(), json!("READY")),
        ]
    );
}

#[tokio::test]
async fn a_mark_sent_again_changes_nothing_and_announces_nothing() {
    let cafe = Cafe::open().await;
    let order = drink_and_croissant(&cafe).await;
    let id = order["orderId"].as_str().unwrap();
    ok(mark(&cafe, id, &[0], true).await, 200);
    let seq = cafe.seq().await;
    let again = ok(mark(&cafe, id, &[0], true).await, 200);
    assert_eq!(again["status"], "MAKING");
    assert_eq!(cafe.seq().await, seq, "a resend announces nothing");
    // All done, picked up: a late resend of a done mark is still fine.
    ok(mark(&cafe, id, &[1], true).await, 200);
    cafe.move_to(id, "COMPLETED").await;
    let seq = cafe.seq().await;
    let late = ok(mark(&cafe, id, &[0, 1], true).await, 200);
    assert_eq!(late["status"], "COMPLETED");
    assert_eq!(cafe.seq().await, seq);
}

#[tokio::test]
async fn undoing_a_line_of_a_ready_order_recalls_it_and_counts_a_recall() {
    let cafe = Cafe::open().await;
    let order = drink_and_croissant(&cafe).await;
    let id = order["orderId"].as_str().unwrap();
    ok(mark(&cafe, id, &[0, 1], true).await, 200);
    let placed_at = fetch(&cafe, id).await["placedAt"].clone();
    let undone = ok(mark(&cafe, id, &[1], false).await, 200);
    assert_eq!(undone["status"], "MAKING");
    assert_eq!(
        undone["items"][0]["done"], true,
        "the bar's line stays done"
    );
    assert!(undone["items"][1].get("done").is_none());
    assert_eq!(undone["placedAt"], placed_at, "the timer keeps its start");
    let report = ok(cafe.manager.api.get("/api/reports/daily").await, 200);
    assert_eq!(report["recalls"], 1, "{report}");
    // Done again: READY again.
    assert_eq!(
        ok(mark(&cafe, id, &[1], true).await, 200)["status"],
        "READY"
    );
}

#[tokio::test]
async fn whole_order_moves_announce_only_the_status_and_a_recall_clears_the_marks() {
    let cafe = Cafe::open().await;
    let order = drink_and_croissant(&cafe).await;
    let id = order["orderId"].as_str().unwrap();
    cafe.move_to(id, "MAKING").await;
    ok(mark(&cafe, id, &[0], true).await, 200);

    // The expo bumps the whole order: the contract's one event, no marks.
    let seq = cafe.seq().await;
    cafe.move_to(id, "READY").await;
    let names: Vec<String> = events_after(&cafe, seq)
        .await
        .into_iter()
        .map(|(n, _)| n)
        .filter(|n| n != "dashboard:update")
        .collect();
    assert_eq!(names, ["order:status_changed"]);
    // A station's late mark on a made order changes nothing.
    let seq = cafe.seq().await;
    assert_eq!(
        ok(mark(&cafe, id, &[1], true).await, 200)["status"],
        "READY"
    );
    assert_eq!(cafe.seq().await, seq);

    // READY → MAKING: to be made again; the status change alone says so.
    let seq = cafe.seq().await;
    cafe.move_to(id, "MAKING").await;
    let names: Vec<String> = events_after(&cafe, seq)
        .await
        .into_iter()
        .map(|(n, _)| n)
        .filter(|n| n != "dashboard:update")
        .collect();
    assert_eq!(names, ["order:status_changed"]);
    let making = fetch(&cafe, id).await;
    assert!(making["items"][0].get("done").is_none(), "{making}");
    assert!(making["items"][1].get("done").is_none(), "{making}");

    // Made by marks, picked up, recalled to READY: the marks stay.
    ok(mark(&cafe, id, &[0, 1], true).await, 200);
    cafe.move_to(id, "COMPLETED").await;
    cafe.move_to(id, "READY").await;
    let recalled = fetch(&cafe, id).await;
    assert_eq!(recalled["items"][0]["done"], true);
    assert_eq!(recalled["items"][1]["done"], true);
}

#[tokio::test]
async fn bad_marks_are_refused_and_change_nothing() {
    let cafe = Cafe::open().await;
    let order = drink_and_croissant(&cafe).await;
    let id = order["orderId"].as_str().unwrap();
    let seq = cafe.seq().await;
    assert_error(&mark(&cafe, id, &[], true).await, 422, "validation");
    assert_error(&mark(&cafe, id, &[2], true).await, 422, "validation");
    let flood: Vec<u32> = (0..101).collect();
    assert_error(&mark(&cafe, id, &flood, true).await, 422, "validation");
    let unknown_field = cafe
        .barista
        .api
        .post(
            &format!("/api/orders/{id}/marks"),
            json!({ "lines": [0], "done": true, "station": "bar" }),
        )
        .await;
    assert_eq!(unknown_field.0, 422, "{unknown_field:?}");
    assert_error(
        &mark(&cafe, "ORD-1-nothere", &[0], true).await,
        404,
        "not_found",
    );
    // A kiosk may not mark.
    let kiosk = cafe
        .kiosk
        .api
        .post(
            &format!("/api/orders/{id}/marks"),
            json!({ "lines": [0], "done": true }),
        )
        .await;
    assert_error(&kiosk, 403, "forbidden");
    assert_eq!(cafe.seq().await, seq);
    assert_eq!(fetch(&cafe, id).await["status"], "PENDING");

    // Cancelled: nothing more to make. Picked up: recall it first.
    cafe.barista.api.cancel(id).await;
    assert_error(
        &mark(&cafe, id, &[0], true).await,
        409,
        "invalid_transition",
    );
    let other = drink_and_croissant(&cafe).await;
    let other = other["orderId"].as_str().unwrap();
    ok(mark(&cafe, other, &[0, 1], true).await, 200);
    cafe.move_to(other, "COMPLETED").await;
    assert_error(
        &mark(&cafe, other, &[0], false).await,
        409,
        "invalid_transition",
    );
}

#[tokio::test]
async fn a_barista_connection_hears_the_marks_and_the_board_only_the_status() {
    let cafe = Cafe::open().await;
    let mut barista = cafe.hub.connect_with(Some(&cafe.barista), "").await;
    barista.next_event("welcome").await;
    let mut board = cafe.hub.connect_with(None, "topics=board").await;
    board.next_event("welcome").await;
    let order = drink_and_croissant(&cafe).await;
    let id = order["orderId"].as_str().unwrap();
    ok(mark(&cafe, id, &[0, 1], true).await, 200);
    let marked = barista.next_event("order:items_marked").await;
    assert_eq!(marked["data"]["orderId"], id);
    assert_eq!(marked["data"]["lines"], json!([0, 1]));
    // The board hears PENDING (new), MAKING, READY: no marks.
    for status in ["PENDING", "MAKING", "READY"] {
        let frame = board.next().await;
        assert_eq!(frame["event"], "order:status_changed", "{frame}");
        assert_eq!(frame["data"]["status"], status, "{frame}");
    }
}
