//! Cell PINs over REST: a manager sets them, a kiosk unlocks a cell and
//! pays with its points only with the right one, wrong ones are limited per
//! cell, and a PIN is never stored, announced or logged.

mod support;

use chrono::Duration;
use reqwest::StatusCode;
use serde_json::{json, Value};
use support::{assert_error, captured_logs, ok, Api, Cafe};

async fn unlock(api: &Api, cell: &str, pin: &str) -> (StatusCode, Value) {
    api.post(&format!("/api/cells/{cell}/unlock"), json!({ "pin": pin }))
        .await
}

/// A CELL order of one hot latte (4,500) from `api`, with `pin` if given.
async fn pay(api: &Api, key: &str, cell: &str, pin: Option<&str>) -> (StatusCode, Value) {
    let mut body = json!({
        "idempotencyKey": key,
        "items": [{
            "menuId": "latte",
            "quantity": 1,
            "options": [{"groupId": "temperature", "choiceId": "hot"}]
        }],
        "payType": "CELL",
        "cellId": cell,
    });
    if let Some(pin) = pin {
        body["cellPin"] = json!(pin);
    }
    api.post("/api/orders", body).await
}

#[track_caller]
fn message(answer: &(StatusCode, Value)) -> String {
    answer.1["error"]["message"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_kiosk_unlocks_a_cell_with_its_pin() {
    let cafe = Cafe::open().await;
    let cell = ok(unlock(&cafe.kiosk.api, "cell-design", "1234").await, 200);
    assert_eq!(
        cell,
        json!({"id": "cell-design", "name": "Design Team", "balance": 50_000, "hasPin": true})
    );
    ok(
        unlock(&cafe.manager.api, "cell-engineering", "2345").await,
        200,
    );

    let wrong = unlock(&cafe.kiosk.api, "cell-design", "4321").await;
    assert_error(&wrong, 403, "wrong_pin");
    assert_eq!(message(&wrong), "wrong PIN");
    assert!(!wrong.1.to_string().contains("50000"), "no balance");

    for malformed in ["123", "123456789", "12a4", ""] {
        assert_error(
            &unlock(&cafe.kiosk.api, "cell-design", malformed).await,
            422,
            "validation",
        );
    }
    assert_error(
        &unlock(&cafe.kiosk.api, "cell-nowhere", "1234").await,
        404,
        "not_found",
    );
    assert_error(
        &unlock(&cafe.barista.api, "cell-design", "1234").await,
        403,
        "forbidden",
    );
    assert_error(
        &unlock(&cafe.anonymous(), "cell-design", "1234").await,
        401,
        "unauthorized",
    );
    assert_eq!(
        cafe.seq().await,
        cafe.opened_at_seq,
        "unlocking announces nothing"
    );
}

#[tokio::test]
async fn a_manager_sets_replaces_and_removes_a_pin() {
    let cafe = Cafe::open().await;
    let api = &cafe.manager.api;
    let cell = ok(api.post("/api/cells", json!({"name": "Ops"})).await, 201);
    assert_eq!(cell["hasPin"], false);
    let id = cell["id"].as_str().unwrap().to_owned();
    let none = unlock(&cafe.kiosk.api, &id, "1234").await;
    assert_error(&none, 403, "wrong_pin");
    assert_eq!(message(&none), "this team has no PIN yet; ask the staff");

    let set = ok(
        api.put(&format!("/api/cells/{id}/pin"), json!({"pin": "5555"}))
            .await,
        200,
    );
    assert_eq!(set["hasPin"], true);
    ok(unlock(&cafe.kiosk.api, &id, "5555").await, 200);
    ok(
        api.put(&format!("/api/cells/{id}/pin"), json!({"pin": "66667777"}))
            .await,
        200,
    );
    assert_error(
        &unlock(&cafe.kiosk.api, &id, "5555").await,
        403,
        "wrong_pin",
    );
    ok(unlock(&cafe.kiosk.api, &id, "66667777").await, 200);

    // Every cell the hub sends says whether it has a PIN.
    let cells = ok(cafe.kiosk.api.get("/api/cells").await, 200);
    let has_pin = |cells: &Value, id: &str| {
        cells
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == id)
            .unwrap()["hasPin"]
            .clone()
    };
    assert_eq!(has_pin(&cells, &id), true);
    assert_eq!(has_pin(&cells, "cell-front-desk"), true);
    let snapshot = ok(cafe.kiosk.api.get("/api/snapshot").await, 200);
    assert_eq!(has_pin(&snapshot["cells"], &id), true);

    let removed = ok(api.delete(&format!("/api/cells/{id}/pin")).await, 200);
    assert_eq!(removed["hasPin"], false);
    assert_error(
        &unlock(&cafe.kiosk.api, &id, "66667777").await,
        403,
        "wrong_pin",
    );
    let cells = ok(api.get("/api/cells").await, 200);
    assert_eq!(has_pin(&cells, &id), false);

    // A new cell may come with its PIN; a malformed one is refused.
    let with_pin = ok(
        api.post(
            "/api/cells",
            json!({"name": "Lab", "balance": 100, "pin": "2468"}),
        )
        .await,
        201,
    );
    assert_eq!(with_pin["hasPin"], true);
    ok(
        unlock(&cafe.kiosk.api, with_pin["id"].as_str().unwrap(), "2468").await,
        200,
    );
    for pin in ["12", "abcd", "123456789"] {
        assert_error(
            &api.post("/api/cells", json!({"name": "Bad", "pin": pin}))
                .await,
            422,
            "validation",
        );
        assert_error(
            &api.put(&format!("/api/cells/{id}/pin"), json!({ "pin": pin }))
                .await,
            422,
            "validation",
        );
    }
    assert_error(
        &api.put("/api/cells/cell-nowhere/pin", json!({"pin": "1234"}))
            .await,
        404,
        "not_found",
    );
    for device in [&cafe.kiosk, &cafe.barista, &cafe.display] {
        assert_error(
            &device
                .api
                .put(&format!("/api/cells/{id}/pin"), json!({"pin": "1111"}))
                .await,
            403,
            "forbidden",
        );
        assert_error(
            &device.api.delete(&format!("/api/cells/{id}/pin")).await,
            403,
            "forbidden",
        );
    }
}

#[tokio::test]
async fn a_kiosk_pays_with_a_cell_only_with_its_pin() {
    let cafe = Cafe::open().await;
    let kiosk = &cafe.kiosk.api;

    let wrong = pay(kiosk, "wrong", "cell-design", Some("9999")).await;
    assert_error(&wrong, 403, "wrong_pin");
    assert_eq!(message(&wrong), "wrong PIN");
    let missing = pay(kiosk, "missing", "cell-design", None).await;
    assert_error(&missing, 403, "wrong_pin");
    assert_eq!(cafe.balance("cell-design").await, 50_000);
    assert_eq!(cafe.seq().await, cafe.opened_at_seq, "nothing announced");
    assert_eq!(cafe.count("SELECT COUNT(*) FROM orders", &[]).await, 0);
    assert_eq!(cafe.menu_item("latte").await["isSoldOut"], false);

    let order = ok(pay(kiosk, "right", "cell-design", Some("1234")).await, 201);
    assert_eq!(order["payType"], "CELL");
    assert_eq!(cafe.balance("cell-design").await, 45_500);
    // A retry of that order is answered with it, PIN or not.
    let again = ok(pay(kiosk, "right", "cell-design", None).await, 200);
    assert_eq!(again["orderId"], order["orderId"]);
    let again = ok(pay(kiosk, "right", "cell-design", Some("0000")).await, 200);
    assert_eq!(again["orderId"], order["orderId"]);
    assert_eq!(cafe.balance("cell-design").await, 45_500);

    // A cell without a PIN cannot be spent at a kiosk.
    let api = &cafe.manager.api;
    let open = ok(
        api.post("/api/cells", json!({"name": "Open", "balance": 10_000}))
            .await,
        201,
    );
    let open = open["id"].as_str().unwrap();
    let refused = pay(kiosk, "open", open, Some("1234")).await;
    assert_error(&refused, 403, "wrong_pin");
    assert_eq!(message(&refused), "this team has no PIN yet; ask the staff");

    // A manager pays without one.
    ok(pay(api, "by-manager", open, None).await, 201);
    ok(
        pay(api, "by-manager-2", "cell-engineering", None).await,
        201,
    );
    assert_eq!(cafe.balance(open).await, 5_500);
    assert_eq!(cafe.balance("cell-engineering").await, 115_500);
}

#[tokio::test]
async fn five_wrong_pins_lock_a_cell_until_ten_minutes_pass() {
    let cafe = Cafe::open().await;
    let kiosk = &cafe.kiosk.api;
    for n in 0..5 {
        let wrong = if n % 2 == 0 {
            unlock(kiosk, "cell-design", "0000").await
        } else {
            pay(kiosk, &format!("guess-{n}"), "cell-design", Some("0000")).await
        };
        assert_error(&wrong, 403, "wrong_pin");
    }
    // Now even the right PIN is refused, by unlock and by order alike.
    let res = kiosk
        .client()
        .post(cafe.hub.url("/api/cells/cell-design/unlock"))
        .bearer_auth(&cafe.kiosk.token)
        .json(&json!({"pin": "1234"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 429);
    let retry_after: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=600).contains(&retry_after), "{retry_after}");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "rate_limited");
    assert_error(
        &pay(kiosk, "locked", "cell-design", Some("1234")).await,
        429,
        "rate_limited",
    );
    assert_eq!(cafe.balance("cell-design").await, 50_000);
    // Other cells and a manager are not held up.
    ok(unlock(kiosk, "cell-engineering", "2345").await, 200);
    ok(
        pay(&cafe.manager.api, "manager", "cell-design", None).await,
        201,
    );

    cafe.hub.hub.clock.advance(Duration::minutes(9));
    assert_error(
        &unlock(kiosk, "cell-design", "1234").await,
        429,
        "rate_limited",
    );
    cafe.hub.hub.clock.advance(Duration::minutes(1));
    ok(unlock(kiosk, "cell-design", "1234").await, 200);
    ok(
        pay(kiosk, "free-again", "cell-design", Some("1234")).await,
        201,
    );

    // A new PIN starts the count again.
    for _ in 0..5 {
        assert_error(
            &unlock(kiosk, "cell-front-desk", "0000").await,
            403,
            "wrong_pin",
        );
    }
    assert_error(
        &unlock(kiosk, "cell-front-desk", "3456").await,
        429,
        "rate_limited",
    );
    ok(
        cafe.manager
            .api
            .put("/api/cells/cell-front-desk/pin", json!({"pin": "8642"}))
            .await,
        200,
    );
    ok(unlock(kiosk, "cell-front-desk", "8642").await, 200);
}

/// Reads every event the hub replays to a manager from the start.
async fn replayed(cafe: &Cafe) -> String {
    let mut ws = cafe
        .hub
        .connect_with(
            Some(&cafe.manager),
            "topics=orders,menu,cells,settings,system,dashboard,board&since=0",
        )
        .await;
    let frames = ws.drain().await;
    assert!(
        frames.iter().any(|f| f["event"] == "order:created"),
        "the replay holds the orders"
    );
    serde_json::to_string(&frames).unwrap()
}

/// Every byte of the hub's data folder (database, WAL, secret).
fn data_folder(cafe: &Cafe) -> Vec<u8> {
    let mut all = Vec::new();
    for entry in std::fs::read_dir(cafe.hub.dir.path()).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            all.extend(std::fs::read(&path).unwrap());
        }
    }
    all
}

#[tokio::test]
async fn a_pin_is_never_stored_announced_or_logged() {
    let logs = captured_logs();
    let cafe = Cafe::open().await;
    let api = &cafe.manager.api;
    let kiosk = &cafe.kiosk.api;
    // PINs of eight digits that no timestamp or id of this test contains.
    let (first, second, wrong) = ("73920518", "61827364", "50493827");

    let cell = ok(
        api.post(
            "/api/cells",
            json!({"name": "Night Shift", "balance": 20_000, "pin": first}),
        )
        .await,
        201,
    );
    let id = cell["id"].as_str().unwrap().to_owned();
    ok(unlock(kiosk, &id, first).await, 200);
    ok(
        api.put(&format!("/api/cells/{id}/pin"), json!({ "pin": second }))
            .await,
        200,
    );
    assert_error(&unlock(kiosk, &id, first).await, 403, "wrong_pin");
    assert_error(
        &pay(kiosk, "night-wrong", &id, Some(wrong)).await,
        403,
        "wrong_pin",
    );
    let order = ok(pay(kiosk, "night", &id, Some(second)).await, 201);
    ok(pay(kiosk, "night", &id, Some(second)).await, 200);
    ok(unlock(kiosk, &id, second).await, 200);
    assert!(!order.to_string().contains(second));

    let events: Vec<String> = countertop_hub::on_pool!(cafe.hub.hub.pool(), |ex| {
        sqlx::query_scalar("SELECT data FROM events")
            .fetch_all(ex)
            .await
    })
    .unwrap();
    let events = events.join("\n");
    // Every column of every order, the idempotency record included.
    let columns_sql = if support::on_postgres() {
        "SELECT CAST(column_name AS TEXT) FROM information_schema.columns
         WHERE table_schema = current_schema() AND table_name = 'orders'"
    } else {
        "SELECT name FROM pragma_table_info('orders')"
    };
    let columns: Vec<String> = countertop_hub::on_pool!(cafe.hub.hub.pool(), |ex| {
        sqlx::query_scalar(columns_sql).fetch_all(ex).await
    })
    .unwrap();
    assert!(columns.contains(&"idempotency_key".to_owned()));
    let array = if support::on_postgres() {
        "json_build_array"
    } else {
        "json_array"
    };
    let quoted: Vec<String> = columns.iter().map(|c| format!("\"{c}\"")).collect();
    let orders: Vec<String> = countertop_hub::on_pool!(cafe.hub.hub.pool(), |ex| {
        sqlx::query_scalar(&format!(
            "SELECT CAST({array}({}) AS TEXT) FROM orders",
            quoted.join(", ")
        ))
        .fetch_all(ex)
        .await
    })
    .unwrap();
    let orders = orders.join("\n");
    assert!(orders.contains("night"), "{orders}");
    let replay = replayed(&cafe).await;
    let folder = data_folder(&cafe);
    let logged = String::from_utf8_lossy(&logs.lock().unwrap()).into_owned();
    assert!(logged.contains("/unlock"), "requests are logged");
    assert!(logged.contains(&id), "the cell is named in the logs");

    for pin in [first, second, wrong] {
        assert!(!events.contains(pin), "{pin} in the events table");
        assert!(!orders.contains(pin), "{pin} in the orders table");
        assert!(!replay.contains(pin), "{pin} in the replay");
        assert!(!logged.contains(pin), "{pin} in the log");
        assert!(
            !folder.windows(pin.len()).any(|w| w == pin.as_bytes()),
            "{pin} in the data folder"
        );
    }
    // The hash is there, and nothing of it in what devices read.
    let hash: String = countertop_hub::on_pool!(cafe.hub.hub.pool(), |ex| sqlx::query_scalar(
        "SELECT pin_hash FROM cells WHERE id = $1"
    )
    .bind(&id)
    .fetch_one(ex)
    .await)
    .unwrap();
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    let salted = hash.rsplit('$').next().unwrap();
    assert!(!replay.contains(salted) && !logged.contains(salted));
    let cells = ok(api.get("/api/cells").await, 200).to_string();
    assert!(!cells.contains("$argon2id$") && !cells.contains("pinHash"));
}
