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

async fn detail(cafe: &Cafe, query: &str) -> Value {
    ok(
        cafe.manager
            .api
            .get(&format!("/api/reports/daily/detail{query}"))
            .await,
        200,
    )
}

/// The daily report's figures as the detail carries them: counts where it
/// lists.
fn summary_of(detail: &Value) -> Value {
    json!({
        "date": detail["date"],
        "orders": detail["orders"],
        "revenueByPayType": detail["revenueByPayType"],
        "cancellations": detail["cancellations"].as_array().unwrap().len(),
        "pointsUsed": detail["pointsUsed"],
        "pointsCharged": detail["pointsCharged"],
        "recalls": detail["recalls"].as_array().unwrap().len(),
        "prepSeconds": detail["prepSeconds"],
    })
}

#[track_caller]
fn assert_about(got: &Value, want: f64) {
    let got = got.as_f64().unwrap_or_else(|| panic!("a number: {got}"));
    assert!(got >= want && got < want + 1.0, "want {want} s, got {got}");
}

#[tokio::test]
async fn the_detail_lists_the_day_by_item_station_and_hour_and_outlives_the_log() {
    let cafe = Cafe::open().await;
    let clock = &cafe.hub.hub.clock;
    let barista = &cafe.barista.api;
    let manager = &cafe.manager.api;

    // Two lattes and a croissant (bar and kitchen) made in 60 s; an
    // americano made in 120 s; an americano cancelled with a reason a
    // spreadsheet must read as text; the americano order recalled once.
    let both = ok(
        manager
            .post(
                "/api/orders",
                json!({"idempotencyKey": "detail-1", "payType": "CARD",
                       "items": [line("latte", 2), line("croissant", 1)]}),
            )
            .await,
        201,
    );
    let both_id = both["orderId"].as_str().unwrap().to_owned();
    let (americano, americano_total) = place(&cafe, "americano", "CASH").await;
    let (dropped, dropped_total) = place(&cafe, "americano", "CARD").await;
    let reason = "=SUM(A1), \"spilt\"\nre-made";
    ok(
        barista
            .post(
                &format!("/api/orders/{dropped}/cancel"),
                json!({ "reason": reason }),
            )
            .await,
        200,
    );
    barista.set_status(&both_id, "MAKING").await;
    barista.set_status(&americano, "MAKING").await;
    clock.advance(Duration::seconds(60));
    barista.set_status(&both_id, "READY").await;
    clock.advance(Duration::seconds(60));
    barista.set_status(&americano, "READY").await;
    barista.set_status(&americano, "COMPLETED").await;
    barista.set_status(&americano, "READY").await;

    let full = detail(&cafe, "").await;
    assert_eq!(
        summary_of(&full),
        report(&cafe, "").await,
        "the detail carries the daily report's figures"
    );
    assert_eq!(full["orders"], 2);
    let cancellations = full["cancellations"].as_array().unwrap();
    assert_eq!(cancellations.len(), 1, "{full}");
    assert_eq!(cancellations[0]["orderId"], dropped.as_str());
    assert_eq!(cancellations[0]["reason"], reason);
    assert_eq!(cancellations[0]["amount"], dropped_total);
    assert!(cancellations[0]["dailyNum"].as_u64().is_some());
    let recalls = full["recalls"].as_array().unwrap();
    assert_eq!(recalls.len(), 1, "{full}");
    assert_eq!(recalls[0]["orderId"], americano.as_str());
    assert_eq!(
        (&recalls[0]["from"], &recalls[0]["to"]),
        (&json!("COMPLETED"), &json!("READY"))
    );

    // By item: the latte sold twice, each item timed once per order.
    let items = full["prepByItem"].as_array().unwrap();
    let item = |id: &str| {
        items
            .iter()
            .find(|i| i["menuId"] == id)
            .unwrap_or_else(|| panic!("{id} in {full}"))
            .clone()
    };
    let latte = item("latte");
    assert_eq!(latte["count"], 2);
    assert_eq!(latte["station"], "bar");
    assert_eq!(latte["name"], "Café Latte");
    assert_eq!(latte["timed"], 1);
    assert_about(&latte["median"], 60.0);
    let croissant = item("croissant");
    assert_eq!(croissant["station"], "kitchen");
    assert_eq!(croissant["count"], 1);
    assert_about(&croissant["p90"], 60.0);
    let americano_row = item("americano");
    // The cancelled americano is not sold; the made one is.
    assert_eq!(americano_row["count"], 1);
    assert_eq!(americano_row["revenue"], americano_total);
    assert_about(&americano_row["median"], 120.0);
    assert_eq!(items[0]["menuId"], "latte", "most sold first: {full}");

    // By station: the bar timed both orders (60 and 120 s), the kitchen one.
    let stations = full["prepByStation"].as_array().unwrap();
    let names: Vec<&str> = stations
        .iter()
        .map(|s| s["station"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["bar", "kitchen"]);
    assert_eq!(stations[0]["count"], 3);
    assert_eq!(stations[0]["timed"], 2);
    assert_about(&stations[0]["median"], 90.0);
    assert_about(&stations[0]["p90"], 114.0);
    assert_eq!(stations[1]["count"], 1);
    assert_eq!(stations[1]["timed"], 1);

    // By hour: every order was placed within a second or two, in one or two
    // local hours; their sums add up to the day's.
    let hours = full["prepByHour"].as_array().unwrap();
    assert!(!hours.is_empty() && hours.len() <= 2, "{full}");
    let sum = |key: &str| hours.iter().map(|h| h[key].as_i64().unwrap()).sum::<i64>();
    assert_eq!(sum("orders"), 2);
    assert_eq!(sum("count"), 2);
    let revenue = &full["revenueByPayType"];
    assert_eq!(
        sum("revenue"),
        revenue["CARD"].as_i64().unwrap() + revenue["CASH"].as_i64().unwrap()
    );
    assert!(hours.iter().all(|h| h["hour"].as_u64().unwrap() < 24));

    // The log pruned and 400 days on, the day reads the same.
    let hub = &cafe.hub.hub;
    let date = full["date"].as_str().unwrap().to_owned();
    hub.log
        .prune(hub.clock.now(), 0, Duration::zero())
        .await
        .unwrap();
    clock.advance(Duration::days(400));
    assert_eq!(detail(&cafe, &format!("?date={date}")).await, full);
    let other = detail(&cafe, "").await;
    assert_eq!(other["orders"], 0);
    assert_eq!(other["prepByItem"], json!([]));
    assert_eq!(other["prepSeconds"], Value::Null);
}

/// Splits RFC 4180 text into rows of fields (quotes, doubled quotes, line
/// breaks inside quotes), as a spreadsheet reads it.
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut field)),
            (false, '\r') => {}
            (false, '\n') => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => field.push(c),
        }
    }
    assert!(!quoted, "a quote left open");
    assert!(
        field.is_empty() && row.is_empty(),
        "the last row ends in CRLF"
    );
    rows
}

#[tokio::test]
async fn the_csv_is_an_attachment_a_spreadsheet_reads_safely() {
    let cafe = Cafe::open().await;
    let clock = &cafe.hub.hub.clock;
    let (made, made_total) = place(&cafe, "latte", "CARD").await;
    cafe.barista.api.set_status(&made, "MAKING").await;
    clock.advance(Duration::seconds(75));
    cafe.barista.api.set_status(&made, "READY").await;
    let (dropped, _) = place(&cafe, "espresso", "CASH").await;
    let reason = "=HYPERLINK(\"x\"), twice\nsorry";
    ok(
        cafe.barista
            .api
            .post(
                &format!("/api/orders/{dropped}/cancel"),
                json!({ "reason": reason }),
            )
            .await,
        200,
    );

    let date = clock.today().to_string();
    let url = cafe.hub.url(&format!("/api/reports/daily.csv?date={date}"));
    let res = reqwest::Client::new()
        .get(&url)
        .bearer_auth(cafe.manager.api.token().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let header = |name: &str| {
        res.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    assert_eq!(header("content-type"), "text/csv; charset=utf-8");
    assert_eq!(
        header("content-disposition"),
        format!("attachment; filename=\"countertop-report-{date}.csv\"")
    );
    let text = res.text().await.unwrap();
    let text = text
        .strip_prefix('\u{feff}')
        .expect("a BOM for spreadsheets");
    let rows = parse_csv(text);
    let find = |first: &str| {
        rows.iter()
            .find(|r| r.first().map(String::as_str) == Some(first))
            .unwrap_or_else(|| panic!("a row {first:?} in {rows:?}"))
            .clone()
    };
    assert_eq!(
        find("Countertop daily report"),
        ["Countertop daily report", &date]
    );
    assert_eq!(find("orders"), ["orders", "1"]);
    assert_eq!(find("revenue CARD")[1], made_total.to_string());
    assert_eq!(find("cancellations"), ["cancellations", "1"]);
    let median: f64 = find("prep median (s)")[1].parse().unwrap();
    assert!((75.0..76.0).contains(&median), "{median}");
    // Sections, each under its own header.
    let item = find("Café Latte");
    assert_eq!(item[1..5], ["latte", "bar", "1", &made_total.to_string()]);
    assert_eq!(find("bar")[1], "1");
    find("hour");
    let cancelled = rows
        .iter()
        .find(|r| r.get(1).map(String::as_str) == Some(dropped.as_str()))
        .expect("the cancelled order's row");
    // The reason whole (its comma, quotes and line break kept), made text
    // for a spreadsheet with a leading apostrophe.
    assert_eq!(cancelled[4], format!("'{reason}"));

    // Managers only; a bad date is refused in the error shape.
    for api in [&cafe.barista.api, &cafe.kiosk.api] {
        assert_error(&api.get("/api/reports/daily.csv").await, 403, "forbidden");
        assert_error(
            &api.get("/api/reports/daily/detail").await,
            403,
            "forbidden",
        );
    }
    assert_error(
        &cafe.anonymous().get("/api/reports/daily.csv").await,
        401,
        "unauthorized",
    );
    for path in ["/api/reports/daily.csv", "/api/reports/daily/detail"] {
        assert_error(
            &cafe
                .manager
                .api
                .get(&format!("{path}?date=2026-02-30"))
                .await,
            422,
            "validation",
        );
    }
}
