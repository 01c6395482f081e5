//! Cells (prepaid team accounts) over REST: creating and charging them.

mod support;

use serde_json::json;
use support::{assert_error, ok, Cafe};

#[tokio::test]
async fn a_manager_creates_and_charges_cells() {
    let cafe = Cafe::open().await;
    let cell = ok(
        cafe.manager
            .api
            .post(
                "/api/cells",
                json!({"name": "Night Shift", "balance": 1000}),
            )
            .await,
        201,
    );
    let id = cell["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("cell-"), "{cell}");
    assert_eq!(cell["name"], "Night Shift");
    assert_eq!(cell["balance"], 1000);
    let cells = ok(cafe.barista.api.get("/api/cells").await, 200);
    assert_eq!(cells.as_array().unwrap().len(), 4);
    assert!(cells.as_array().unwrap().contains(&cell));

    let charged = ok(
        cafe.manager
            .api
            .post(&format!("/api/cells/{id}/charge"), json!({"amount": 500}))
            .await,
        200,
    );
    assert_eq!(
        charged,
        json!({"id": id, "name": "Night Shift", "balance": 1500, "hasPin": false})
    );
    assert_eq!(cafe.balance(&id).await, 1500);

    for amount in [0, -5] {
        assert_error(
            &cafe
                .manager
                .api
                .post(
                    &format!("/api/cells/{id}/charge"),
                    json!({ "amount": amount }),
                )
                .await,
            422,
            "validation",
        );
    }
    assert_error(
        &cafe
            .manager
            .api
            .post("/api/cells/cell-nowhere/charge", json!({"amount": 5}))
            .await,
        404,
        "not_found",
    );
    assert_error(
        &cafe
            .manager
            .api
            .post("/api/cells", json!({"name": "", "balance": 0}))
            .await,
        422,
        "validation",
    );
    assert_error(
        &cafe
            .manager
            .api
            .post("/api/cells", json!({"name": "Debt", "balance": -1}))
            .await,
        422,
        "validation",
    );
    assert_eq!(cafe.balance(&id).await, 1500);
}

async fn history(cafe: &Cafe, id: &str, query: &str) -> Vec<serde_json::Value> {
    ok(
        cafe.manager
            .api
            .get(&format!("/api/cells/{id}/history{query}"))
            .await,
        200,
    )
    .as_array()
    .expect("a list")
    .clone()
}

/// Each entry's type, amount and balance after, newest first.
fn moves(entries: &[serde_json::Value]) -> Vec<(String, i64, i64)> {
    entries
        .iter()
        .map(|e| {
            (
                e["type"].as_str().unwrap().to_owned(),
                e["amount"].as_i64().unwrap(),
                e["balanceAfter"].as_i64().unwrap(),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_cells_history_lists_every_change_newest_first() {
    let cafe = Cafe::open().await;
    let manager = &cafe.manager;
    let cell = ok(
        manager
            .api
            .post(
                "/api/cells",
                json!({"name": "Late Shift", "balance": 10000}),
            )
            .await,
        201,
    );
    let id = cell["id"].as_str().unwrap().to_owned();
    ok(
        manager
            .api
            .post(&format!("/api/cells/{id}/charge"), json!({"amount": 2500}))
            .await,
        200,
    );
    // An order paid with its points (a manager needs no PIN), then cancelled.
    let order = ok(
        manager
            .api
            .post(
                "/api/orders",
                json!({"idempotencyKey": "ledger-1", "payType": "CELL", "cellId": id,
                       "items": [support::line("latte", 1)]}),
            )
            .await,
        201,
    );
    let order_id = order["orderId"].as_str().unwrap().to_owned();
    let total = order["totalAmount"].as_i64().unwrap();
    ok(
        cafe.barista
            .api
            .post(
                &format!("/api/orders/{order_id}/cancel"),
                json!({"reason": "wrong team"}),
            )
            .await,
        200,
    );
    ok(
        manager
            .api
            .post(
                &format!("/api/cells/{id}/corrections"),
                json!({"amount": -500, "reason": "charged twice"}),
            )
            .await,
        200,
    );

    let entries = history(&cafe, &id, "").await;
    assert_eq!(
        moves(&entries),
        [
            ("CORRECTION".to_owned(), -500, 12000),
            ("REFUND".to_owned(), total, 12500),
            ("ORDER".to_owned(), -total, 12500 - total),
            ("CHARGE".to_owned(), 2500, 12500),
            ("CHARGE".to_owned(), 10000, 10000),
        ]
    );
    assert_eq!(entries[0]["reason"], "charged twice");
    assert_eq!(entries[0]["deviceId"], manager.id.as_str());
    assert_eq!(entries[1]["orderId"], order_id.as_str());
    assert_eq!(entries[1]["reason"], "wrong team");
    assert_eq!(entries[2]["orderId"], order_id.as_str());
    assert_eq!(entries[2]["dailyNum"], order["dailyNum"]);
    assert_eq!(entries[2]["deviceId"], manager.id.as_str());
    assert_eq!(entries[3]["cellId"], id.as_str());
    assert!(entries[4]["at"].as_str().is_some());
    assert_eq!(cafe.balance(&id).await, 12000);

    // A limit keeps the newest; it is bounded.
    assert_eq!(
        moves(&history(&cafe, &id, "?limit=2").await),
        moves(&entries[..2])
    );
    for bad in ["0", "1001", "-1", "many"] {
        let answer = manager
            .api
            .get(&format!("/api/cells/{id}/history?limit={bad}"))
            .await;
        assert_error(&answer, 422, "validation");
    }
    assert_error(
        &manager.api.get("/api/cells/cell-nowhere/history").await,
        404,
        "not_found",
    );
    // A cell never changed has an empty history; the kiosk's PIN unlock
    // is not a change.
    assert_eq!(
        history(&cafe, "cell-design", "").await,
        Vec::<serde_json::Value>::new()
    );
}

#[tokio::test]
async fn a_correction_is_announced_with_its_reason_and_never_goes_below_zero() {
    let cafe = Cafe::open().await;
    let before = cafe.balance("cell-design").await;
    let mut ws = cafe.hub.connect(Some(&cafe.barista)).await;
    ws.subscribe(&["cells"]).await;

    let corrected = ok(
        cafe.manager
            .api
            .post(
                "/api/cells/cell-design/corrections",
                json!({"amount": 750, "reason": "  counted cash again  "}),
            )
            .await,
        200,
    );
    assert_eq!(corrected["balance"], before + 750);
    assert_eq!(corrected["id"], "cell-design");
    let event = ws.next_event("cell:balance_changed").await;
    let data = &event["data"];
    assert_eq!(data["type"], "CORRECTION", "{event}");
    assert_eq!(data["reason"], "counted cash again", "{event}");
    assert_eq!(data["changeAmount"], 750);
    assert_eq!(data["balanceBefore"], before);
    assert_eq!(data["balanceAfter"], before + 750);
    assert!(event["seq"].as_u64().is_some(), "a durable event: {event}");

    // Below 0 is a conflict, and nothing changes.
    assert_error(
        &cafe
            .manager
            .api
            .post(
                "/api/cells/cell-design/corrections",
                json!({"amount": -(before + 751), "reason": "too much"}),
            )
            .await,
        409,
        "insufficient_balance",
    );
    assert_eq!(cafe.balance("cell-design").await, before + 750);
    // To exactly 0 is allowed.
    let zero = ok(
        cafe.manager
            .api
            .post(
                "/api/cells/cell-design/corrections",
                json!({"amount": -(before + 750), "reason": "team closed"}),
            )
            .await,
        200,
    );
    assert_eq!(zero["balance"], 0);

    let long = "x".repeat(201);
    for bad in [
        json!({"amount": 0, "reason": "nothing"}),
        json!({"amount": 5, "reason": ""}),
        json!({"amount": 5, "reason": "   "}),
        json!({"amount": 5, "reason": long}),
        json!({"amount": 5, "reason": "bell\u{7}"}),
        json!({"amount": 1_000_000_000_001_i64, "reason": "huge"}),
        json!({"amount": i64::MIN, "reason": "overflow"}),
        json!({"amount": 5}),
        json!({"amount": "5", "reason": "text"}),
    ] {
        assert_error(
            &cafe
                .manager
                .api
                .post("/api/cells/cell-design/corrections", bad.clone())
                .await,
            422,
            "validation",
        );
    }
    assert_error(
        &cafe
            .manager
            .api
            .post(
                "/api/cells/cell-nowhere/corrections",
                json!({"amount": 5, "reason": "who"}),
            )
            .await,
        404,
        "not_found",
    );
    assert_eq!(cafe.balance("cell-design").await, 0);
    assert_eq!(
        moves(&history(&cafe, "cell-design", "").await),
        [
            ("CORRECTION".to_owned(), -(before + 750), 0),
            ("CORRECTION".to_owned(), 750, before + 750),
        ]
    );
}

#[tokio::test]
async fn only_a_manager_reads_histories_and_corrects() {
    let cafe = Cafe::open().await;
    for api in [&cafe.barista.api, &cafe.kiosk.api, &cafe.display.api] {
        assert_error(
            &api.get("/api/cells/cell-design/history").await,
            403,
            "forbidden",
        );
        assert_error(
            &api.post(
                "/api/cells/cell-design/corrections",
                json!({"amount": 5, "reason": "mine"}),
            )
            .await,
            403,
            "forbidden",
        );
    }
    let anonymous = cafe.anonymous();
    assert_error(
        &anonymous.get("/api/cells/cell-design/history").await,
        401,
        "unauthorized",
    );
    assert_error(
        &anonymous
            .post(
                "/api/cells/cell-design/corrections",
                json!({"amount": 5, "reason": "mine"}),
            )
            .await,
        401,
        "unauthorized",
    );
}

/// A hub's database from before the history was kept: every migration
/// before 0008, as that hub ran them.
async fn a_database_before_the_history(dir: &std::path::Path) -> sqlx::SqlitePool {
    let old = tempfile::tempdir().unwrap();
    let migrations = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    for entry in std::fs::read_dir(&migrations).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if name.as_str() < "0008" {
            std::fs::copy(migrations.join(&name), old.path().join(&name)).unwrap();
        }
    }
    let options = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(dir.join("hub.db"))
        .create_if_missing(true);
    let pool = sqlx::SqlitePool::connect_with(options).await.unwrap();
    sqlx::migrate::Migrator::new(old.path())
        .await
        .unwrap()
        .run(&pool)
        .await
        .unwrap();
    pool
}

#[tokio::test]
async fn the_history_is_filled_in_from_charges_and_orders_kept_before_it() {
    if support::sqlite_only("an older hub's hub.db, migrated by SQLite's migrations") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let pool = a_database_before_the_history(dir.path()).await;
    let day = "2026-01-05";
    let at = |minute: u32| format!("{day}T10:{minute:02}:00.000Z");
    // 5,000 charged; a 4,000 order; a 1,000 order cancelled: 6,000 left.
    sqlx::query(
        "INSERT INTO cells (id, name, balance, position) VALUES ('cell-old', 'Old Team', 6000, 0)",
    )
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query("INSERT INTO cell_charges (cell_id, amount, local_date, at) VALUES ('cell-old', 5000, $1, $2)")
        .bind(day)
        .bind(at(1))
        .execute(&pool)
        .await
        .unwrap();
    for (id, num, total, status, created, updated) in [
        ("ORD-old-1", 1, 4000, "COMPLETED", at(2), at(3)),
        ("ORD-old-2", 2, 1000, "CANCELLED", at(4), at(5)),
    ] {
        sqlx::query(
            "INSERT INTO orders (id, daily_num, local_date, pay_type, cell_id, cell_name, items,
                total_amount, status, created_at, updated_at, cancel_reason, device_id,
                idempotency_key, created_ms)
             VALUES ($1, $2, $3, 'CELL', 'cell-old', 'Old Team', '[]', $4, $5, $6, $7, $8, 'old-kiosk', $9, 0)",
        )
        .bind(id)
        .bind(num)
        .bind(day)
        .bind(total)
        .bind(status)
        .bind(&created)
        .bind(&updated)
        .bind((status == "CANCELLED").then_some("wrong team"))
        .bind(id)
        .execute(&pool)
        .await
        .unwrap();
    }
    pool.close().await;
    countertop_hub::Keys::load_or_create(dir.path()).unwrap();

    let hub = support::TestHub::start_in(dir, |_| {}).await;
    let manager = hub.pair(countertop_protocol::Role::Manager).await;
    let entries = ok(manager.api.get("/api/cells/cell-old/history").await, 200);
    let entries = entries.as_array().unwrap();
    assert_eq!(
        moves(entries),
        [
            ("REFUND".to_owned(), 1000, 6000),
            ("ORDER".to_owned(), -1000, 5000),
            ("ORDER".to_owned(), -4000, 6000),
            ("CHARGE".to_owned(), 5000, 10000),
        ]
    );
    assert_eq!(entries[0]["orderId"], "ORD-old-2");
    assert_eq!(entries[0]["reason"], "wrong team");
    assert_eq!(entries[0]["dailyNum"], 2);
    assert_eq!(entries[1]["deviceId"], "old-kiosk");
    assert_eq!(entries[3]["at"], format!("{day}T10:01:00Z"));
    assert_eq!(entries[3]["deviceId"], serde_json::Value::Null);
}
