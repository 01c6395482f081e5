//! `GET /api/reports/daily`: a day's orders, revenue by pay type,
//! cancellations, points, recalls and preparation times, summed against
//! orders placed over two days on the hub's own clock; kept when the event
//! log is pruned and 400 days later; for managers only.

mod support;

use chrono::Duration;
use serde_json::{json, Value};
use support::{assert_error, line, ok, Cafe};

/// Places an order of one `item` paid by `pay` through the kiosk; a `CELL`
/// order is paid by the Design Team with its PIN.
async fn place(cafe: &Cafe, item: &str, pay: &str) -> (String, i64) {
    let mut body = json!({
        "idempotencyKey": format!("report-{}", support::rand_suffix()),
        "items": [line(item, 1)],
        "payType": pay,
    });
    if pay == "CELL" {
        body["cellId"] = json!("cell-design");
        body["cellPin"] = json!("1234");
    }
    let order = ok(cafe.kiosk.api.post("/api/orders", body).await, 201);
    (
        order["orderId"].as_str().unwrap().to_owned(),
        order["totalAmount"].as_i64().unwrap(),
    )
}

async fn report(cafe: &Cafe, query: &str) -> Value {
    ok(
        cafe.manager
            .api
            .get(&format!("/api/reports/daily{query}"))
            .await,
        200,
    )
}

/// The report without its preparation times, which are checked apart.
fn sums(report: &Value) -> Value {
    let mut sums = report.clone();
    sums.as_object_mut().unwrap().remove("prepSeconds");
    sums
}

/// Asserts preparation times close to `median` and `p90` seconds: the
/// hub's clock is moved in whole minutes, and each request adds a few
/// milliseconds of real time.
#[track_caller]
fn assert_prep(report: &Value, median: f64, p90: f64) {
    let prep = &report["prepSeconds"];
    let keys: Vec<&String> = prep.as_object().expect("prepSeconds").keys().collect();
    assert_eq!(keys, ["median", "p90"], "{report}");
    for (name, want) in [("median", median), ("p90", p90)] {
        let got = prep[name].as_f64().unwrap();
        assert!(
            got >= want && got < want + 1.0,
            "{name}: want {want} s, got {got}: {report}"
        );
    }
}

#[tokio::test]
async fn a_report_sums_each_day_apart_and_outlives_the_event_log() {
    let cafe = Cafe::open().await;
    let clock = &cafe.hub.hub.clock;
    let barista = &cafe.barista.api;
    let first_day = clock.today();

    // Day one: a card, a cash and a cell order made in 60, 120 and 180
    // seconds; a cell order cancelled (its points refunded); a recall of a
    // completed order; 5,000 points charged.
    let (card, card_total) = place(&cafe, "americano", "CARD").await;
    let (cash, cash_total) = place(&cafe, "latte", "CASH").await;
    let (cell, cell_total) = place(&cafe, "cappuccino", "CELL").await;
    let (cancelled, _) = place(&cafe, "espresso", "CELL").await;
    for id in [&card, &cash, &cell] {
        barista.set_status(id, "MAKING").await;
    }
    for id in [&card, &cash, &cell] {
        clock.advance(Duration::seconds(60));
        barista.set_status(id, "READY").await;
    }
    barista.cancel(&cancelled).await;
    barista.set_status(&cash, "COMPLETED").await;
    barista.set_status(&cash, "READY").await;
    ok(
        cafe.manager
            .api
            .post(
                "/api/cells/cell-engineering/charge",
                json!({"amount": 5000}),
            )
            .await,
        200,
    );
    let day_one = json!({
        "date": first_day.to_string(),
        "orders": 3,
        "revenueByPayType": {"CARD": card_total, "CASH": cash_total, "CELL": cell_total},
        "cancellations": 1,
        "pointsUsed": cell_total,
        "pointsCharged": 5000,
        "recalls": 1,
    });
    let first = report(&cafe, "").await;
    assert_eq!(sums(&first), day_one);
    // 60, 120, 180: the median is 120, the 90th percentile 80% of the way
    // from 120 to 180.
    assert_prep(&first, 120.0, 168.0);

    // Day two: one card order, recalled from READY to MAKING and made again
    // (60 seconds in all); a cash order cancelled; a charge, and a new cell
    // opened with 2,000 points.
    clock.advance(Duration::days(1));
    let second_day = clock.today();
    let (latte, latte_total) = place(&cafe, "latte", "CARD").await;
    let (dropped, _) = place(&cafe, "americano", "CASH").await;
    barista.cancel(&dropped).await;
    barista.set_status(&latte, "MAKING").await;
    clock.advance(Duration::seconds(30));
    barista.set_status(&latte, "READY").await;
    barista.set_status(&latte, "MAKING").await;
    clock.advance(Duration::seconds(30));
    barista.set_status(&latte, "READY").await;
    barista.set_status(&latte, "COMPLETED").await;
    ok(
        cafe.manager
            .api
            .post("/api/cells/cell-design/charge", json!({"amount": 1000}))
            .await,
        200,
    );
    ok(
        cafe.manager
            .api
            .post(
                "/api/cells",
                json!({"name": "Report Team", "balance": 2000}),
            )
            .await,
        201,
    );
    let day_two = json!({
        "date": second_day.to_string(),
        "orders": 1,
        "revenueByPayType": {"CARD": latte_total, "CASH": 0, "CELL": 0},
        "cancellations": 1,
        "pointsUsed": 0,
        "pointsCharged": 3000,
        "recalls": 1,
    });
    let today = report(&cafe, "").await;
    assert_eq!(sums(&today), day_two);
    assert_prep(&today, 60.0, 60.0);
    assert_eq!(report(&cafe, &format!("?date={second_day}")).await, today);
    let again = report(&cafe, &format!("?date={first_day}")).await;
    assert_eq!(sums(&again), day_one, "day two leaves day one alone");
    assert_prep(&again, 120.0, 168.0);

    // The event log forgets everything; 400 days on, both days still add up.
    let hub = &cafe.hub.hub;
    hub.log
        .prune(hub.clock.now(), 0, Duration::zero())
        .await
        .unwrap();
    assert_eq!(cafe.count("SELECT COUNT(*) FROM events", &[]).await, 0);
    clock.advance(Duration::days(400));
    assert_eq!(
        report(&cafe, &format!("?date={first_day}")).await,
        again,
        "a day's report outlives the event log"
    );
    assert_eq!(report(&cafe, &format!("?date={second_day}")).await, today);
}

#[tokio::test]
async fn prep_seconds_is_null_until_an_order_is_ready() {
    let cafe = Cafe::open().await;
    let empty = report(&cafe, "?date=2020-02-29").await;
    assert_eq!(
        empty,
        json!({
            "date": "2020-02-29",
            "orders": 0,
            "revenueByPayType": {"CARD": 0, "CASH": 0, "CELL": 0},
            "cancellations": 0,
            "pointsUsed": 0,
            "pointsCharged": 0,
            "recalls": 0,
            "prepSeconds": null,
        })
    );
    let (id, _) = place(&cafe, "latte", "CARD").await;
    cafe.barista.api.set_status(&id, "MAKING").await;
    let making = report(&cafe, "").await;
    assert_eq!(making["orders"], 1);
    assert_eq!(making["prepSeconds"], Value::Null, "{making}");
    cafe.hub.hub.clock.advance(Duration::seconds(90));
    cafe.barista.api.set_status(&id, "READY").await;
    assert_prep(&report(&cafe, "").await, 90.0, 90.0);
}

#[tokio::test]
async fn only_a_manager_reads_reports() {
    let cafe = Cafe::open().await;
    for api in [&cafe.barista.api, &cafe.kiosk.api, &cafe.display.api] {
        assert_error(&api.get("/api/reports/daily").await, 403, "forbidden");
    }
    assert_error(
        &cafe.anonymous().get("/api/reports/daily").await,
        401,
        "unauthorized",
    );
}

#[tokio::test]
async fn a_date_that_is_not_yyyy_mm_dd_is_refused_as_validation() {
    let cafe = Cafe::open().await;
    let long = "9".repeat(5000);
    for bad in [
        "2026-13-01",
        "2026-02-30",
        "2026-1-5",
        "yesterday",
        "2026-12-03T10:00:00Z",
        long.as_str(),
    ] {
        let answer = cafe
            .manager
            .api
            .get(&format!("/api/reports/daily?date={bad}"))
            .await;
        assert_error(&answer, 422, "validation");
    }
}
