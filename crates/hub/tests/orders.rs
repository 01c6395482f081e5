//! Orders over REST: pricing, idempotency, stock, cell payments, the
//! kiosk switch, statuses and cancelling, lists, lookups and daily numbers.

mod support;

use chrono::Duration;
use countertop_protocol::Role;
use serde_json::{json, Value};
use support::{assert_error, ids, json_text, line, ok, Cafe};

#[tokio::test]
async fn a_kiosk_order_is_priced_from_the_menu_and_starts_pending() {
    let cafe = Cafe::open().await;
    let (status, order) = cafe
        .kiosk
        .api
        .post(
            "/api/orders",
            json!({
                "idempotencyKey": "k-1",
                "items": [
                    {"menuId": "americano", "quantity": 2, "options": [
                        {"groupId": "extra-shot", "choiceId": "shot"},
                        {"groupId": "temperature", "choiceId": "ice"}
                    ]},
                    {"menuId": "croissant", "quantity": 1}
                ],
                "payType": "CASH"
            }),
        )
        .await;
    assert_eq!(status, 201, "{order}");
    let id = order["orderId"].as_str().unwrap();
    let parts: Vec<&str> = id.splitn(3, '-').collect();
    assert_eq!(parts[0], "ORD", "{id}");
    assert!(parts[1].parse::<i64>().is_ok(), "{id}");
    assert!(
        parts[2].len() == 6
            && parts[2]
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()),
        "{id}"
    );
    assert_eq!(order["dailyNum"], 1);
    assert_eq!(order["payType"], "CASH");
    assert_eq!(order["status"], "PENDING");
    assert_eq!(order["totalAmount"], 2 * 4500 + 3500);
    assert_eq!(
        order["items"][0],
        json!({"menuId": "americano", "menuName": "Americano", "quantity": 2,
        "unitPrice": 4500, "totalPrice": 9000, "options": [
            {"group": "Temperature", "choice": "ICE", "priceDelta": 0},
            {"group": "Extra shot", "choice": "Extra shot", "priceDelta": 500}
        ]})
    );
    assert_eq!(order["items"][1]["totalPrice"], 3500);
    assert!(order.get("cellInfo").is_none(), "{order}");
    assert!(
        chrono::DateTime::parse_from_rfc3339(order["createdAt"].as_str().unwrap()).is_ok(),
        "{order}"
    );
    let fetched = ok(cafe.kiosk.api.get(&format!("/api/orders/{id}")).await, 200);
    assert_eq!(fetched, order);
}

#[tokio::test]
async fn the_same_idempotency_key_twice_gives_the_same_order_and_one_event() {
    let cafe = Cafe::open().await;
    let body = json!({
        "idempotencyKey": "retry-me",
        "items": [line("latte", 1)],
        "payType": "CARD"
    });
    let first = ok(cafe.kiosk.api.post("/api/orders", body.clone()).await, 201);
    let again = ok(cafe.kiosk.api.post("/api/orders", body.clone()).await, 200);
    assert_eq!(first, again);
    let id = first["orderId"].as_str().unwrap();

    assert_eq!(
        cafe.count(
            "SELECT COUNT(*) FROM orders WHERE idempotency_key = $1",
            &["retry-me"]
        )
        .await,
        1
    );
    assert_eq!(
        cafe.count(
            &format!(
                "SELECT COUNT(*) FROM events WHERE name = 'order:created' AND {} = $1",
                json_text("data", "orderId")
            ),
            &[id],
        )
        .await,
        1
    );
    assert_eq!(
        cafe.count(
            "SELECT COUNT(*) FROM events WHERE name = $1",
            &["order:created"]
        )
        .await,
        1
    );
    let listed = ok(cafe.kiosk.api.get("/api/orders").await, 200);
    assert_eq!(ids(&listed), vec![id.to_owned()]);

    // Another kiosk's key of the same spelling is another order.
    let other = cafe.hub.pair(Role::Kiosk).await;
    let theirs = ok(other.api.post("/api/orders", body).await, 201);
    assert_ne!(theirs["orderId"], first["orderId"]);
    assert_eq!(theirs["dailyNum"], 2);
}

#[tokio::test]
async fn an_order_with_a_sold_out_item_is_refused_as_sold_out() {
    let cafe = Cafe::open().await;
    ok(
        cafe.barista
            .api
            .patch("/api/menu/latte", json!({"isSoldOut": true}))
            .await,
        200,
    );
    assert_error(
        &cafe
            .kiosk
            .api
            .order(&[("americano", 1), ("latte", 1)], "CARD")
            .await,
        409,
        "sold_out",
    );
    assert_eq!(cafe.count("SELECT COUNT(*) FROM orders", &[]).await, 0);
    ok(
        cafe.barista
            .api
            .patch("/api/menu/latte", json!({"isSoldOut": false}))
            .await,
        200,
    );
    cafe.order(&cafe.kiosk.api, &[("latte", 1)]).await;
}

#[tokio::test]
async fn ordering_the_last_of_a_stocked_item_marks_it_sold_out() {
    let cafe = Cafe::open().await;
    assert_eq!(cafe.menu_item("cheesecake").await["stock"], 8);
    assert_error(
        &cafe.kiosk.api.order(&[("cheesecake", 9)], "CARD").await,
        409,
        "sold_out",
    );
    // Two lines of one item count together.
    assert_error(
        &cafe
            .kiosk
            .api
            .order(&[("cheesecake", 5), ("cheesecake", 4)], "CARD")
            .await,
        409,
        "sold_out",
    );
    cafe.order(&cafe.kiosk.api, &[("cheesecake", 3)]).await;
    let item = cafe.menu_item("cheesecake").await;
    assert_eq!(item["stock"], 5);
    assert_eq!(item["isSoldOut"], false);

    cafe.order(&cafe.kiosk.api, &[("cheesecake", 2), ("cheesecake", 3)])
        .await;
    let item = cafe.menu_item("cheesecake").await;
    assert_eq!(item["stock"], 0);
    assert_eq!(item["isSoldOut"], true);
    assert_error(
        &cafe.kiosk.api.order(&[("cheesecake", 1)], "CARD").await,
        409,
        "sold_out",
    );
    assert_eq!(cafe.menu_item("croissant").await["stock"], 20);
    assert_eq!(
        cafe.count(
            &format!(
                "SELECT COUNT(*) FROM events WHERE name = 'menu:sold_out_changed' AND {} = $1",
                json_text("data", "menuId")
            ),
            &["cheesecake"],
        )
        .await,
        1
    );
}

#[tokio::test]
async fn a_cell_order_deducts_the_balance_and_cancelling_refunds_it() {
    let cafe = Cafe::open().await;
    assert_eq!(cafe.balance("cell-design").await, 50_000);
    let order = ok(
        cafe.kiosk
            .api
            .post(
                "/api/orders",
                json!({
                    "idempotencyKey": "cell-1",
                    "items": [line("latte", 2)],
                    "payType": "CELL",
                    "cellId": "cell-design",
                    "cellPin": "1234"
                }),
            )
            .await,
        201,
    );
    assert_eq!(order["payType"], "CELL");
    assert_eq!(
        order["cellInfo"],
        json!({"id": "cell-design", "name": "Design Team"})
    );
    assert_eq!(order["totalAmount"], 9000);
    assert_eq!(cafe.balance("cell-design").await, 41_000);
    // The kiosk reads the same balance.
    let cells = ok(cafe.kiosk.api.get("/api/cells").await, 200);
    assert!(cells.as_array().unwrap().contains(
        &json!({"id": "cell-design", "name": "Design Team", "balance": 41_000, "hasPin": true})
    ));

    let id = order["orderId"].as_str().unwrap();
    let cancelled = ok(
        cafe.barista
            .api
            .post(
                &format!("/api/orders/{id}/cancel"),
                json!({"reason": "customer left"}),
            )
            .await,
        200,
    );
    assert_eq!(cancelled["status"], "CANCELLED");
    assert_eq!(cancelled["cancelReason"], "customer left");
    assert_eq!(cafe.balance("cell-design").await, 50_000);
    let refunds = cafe
        .count(
            &format!(
                "SELECT COUNT(*) FROM events WHERE name = 'cell:balance_changed' AND {} = $1",
                json_text("data", "type")
            ),
            &["REFUND"],
        )
        .await;
    assert_eq!(refunds, 1);
}

#[tokio::test]
async fn a_cell_order_beyond_the_balance_is_refused_and_changes_nothing() {
    let cafe = Cafe::open().await;
    let answer = cafe
        .kiosk
        .api
        .post(
            "/api/orders",
            json!({
                "idempotencyKey": "too-dear",
                "items": [{"menuId": "cheesecake", "quantity": 2}],
                "payType": "CELL",
                "cellId": "cell-front-desk",
                "cellPin": "3456"
            }),
        )
        .await;
    assert_error(&answer, 409, "insufficient_balance");
    assert_eq!(cafe.balance("cell-front-desk").await, 8_000);
    assert_eq!(cafe.menu_item("cheesecake").await["stock"], 8);
    assert_eq!(cafe.seq().await, cafe.opened_at_seq);
    // Exactly the balance is enough.
    let exact = cafe
        .kiosk
        .api
        .post(
            "/api/orders",
            json!({
                "idempotencyKey": "exact",
                "items": [line("americano", 2)],
                "payType": "CELL",
                "cellId": "cell-front-desk",
                "cellPin": "3456"
            }),
        )
        .await;
    ok(exact, 201);
    assert_eq!(cafe.balance("cell-front-desk").await, 0);
}

#[tokio::test]
async fn a_switched_off_kiosk_may_not_order_but_a_manager_may() {
    let cafe = Cafe::open().await;
    ok(
        cafe.manager
            .api
            .put("/api/settings/is_kiosk_active", json!({"value": "false"}))
            .await,
        200,
    );
    assert_error(
        &cafe.kiosk.api.order(&[("americano", 1)], "CARD").await,
        423,
        "kiosk_inactive",
    );
    cafe.order(&cafe.manager.api, &[("americano", 1)]).await;
    ok(
        cafe.manager
            .api
            .put("/api/settings/is_kiosk_active", json!({"value": "true"}))
            .await,
        200,
    );
    cafe.order(&cafe.kiosk.api, &[("americano", 1)]).await;
}

#[tokio::test]
async fn a_kiosk_retry_after_being_switched_off_still_gets_its_order() {
    let cafe = Cafe::open().await;
    let body = json!({
        "idempotencyKey": "before-close",
        "items": [line("americano", 1)],
        "payType": "CARD"
    });
    let first = ok(cafe.kiosk.api.post("/api/orders", body.clone()).await, 201);
    ok(
        cafe.manager
            .api
            .put("/api/settings/is_kiosk_active", json!({"value": "false"}))
            .await,
        200,
    );
    let again = ok(cafe.kiosk.api.post("/api/orders", body).await, 200);
    assert_eq!(first, again);
}

#[tokio::test]
async fn a_malformed_order_is_refused_as_validation() {
    let cafe = Cafe::open().await;
    let item = |menu: &str, quantity: u32| json!([line(menu, quantity)]);
    let bodies = [
        json!({"idempotencyKey": "v1", "items": [], "payType": "CARD"}),
        json!({"idempotencyKey": "v2", "items": item("americano", 0), "payType": "CARD"}),
        json!({"idempotencyKey": "v3", "items": item("americano", 100), "payType": "CARD"}),
        json!({"idempotencyKey": "v4", "items": item("unicorn-latte", 1), "payType": "CARD"}),
        json!({"idempotencyKey": "v5", "items": item("americano", 1), "payType": "CELL"}),
        json!({"idempotencyKey": "v6", "items": item("americano", 1), "payType": "CARD", "cellId": "cell-design"}),
        json!({"idempotencyKey": "v7", "items": item("americano", 1), "payType": "CELL", "cellId": "cell-nowhere"}),
        json!({"idempotencyKey": "  ", "items": item("americano", 1), "payType": "CARD"}),
        json!({"idempotencyKey": "v9", "items": item("americano", 1), "payType": "BITCOIN"}),
        json!({"idempotencyKey": "v10", "items": item("americano", 1), "payType": "CARD", "tip": 100}),
        json!({"items": item("americano", 1), "payType": "CARD"}),
    ];
    for body in bodies {
        let answer = cafe.kiosk.api.post("/api/orders", body.clone()).await;
        assert_eq!(answer.0, 422, "{body} → {}", answer.1);
        assert_error(&answer, 422, "validation");
    }
    assert_eq!(cafe.count("SELECT COUNT(*) FROM orders", &[]).await, 0);
}

#[tokio::test]
async fn an_order_moves_pending_making_ready_completed() {
    let cafe = Cafe::open().await;
    let order = cafe.order(&cafe.kiosk.api, &[("americano", 1)]).await;
    let id = order["orderId"].as_str().unwrap();
    let mut previous = order["updatedAt"].as_str().unwrap().to_owned();
    for (status, api) in [
        ("MAKING", &cafe.barista.api),
        ("READY", &cafe.manager.api),
        ("COMPLETED", &cafe.barista.api),
    ] {
        let moved = ok(
            api.patch(
                &format!("/api/orders/{id}/status"),
                json!({ "status": status }),
            )
            .await,
            200,
        );
        assert_eq!(moved["status"], status);
        assert_eq!(moved["orderId"], id);
        let updated = moved["updatedAt"].as_str().unwrap().to_owned();
        assert!(updated >= previous, "{updated} after {previous}");
        previous = updated;
        let fetched = ok(cafe.kiosk.api.get(&format!("/api/orders/{id}")).await, 200);
        assert_eq!(fetched["status"], status);
    }
    assert_eq!(
        cafe.count(
            &format!(
                "SELECT COUNT(*) FROM events WHERE name = 'order:status_changed' AND {} = $1",
                json_text("data", "orderId")
            ),
            &[id],
        )
        .await,
        3
    );
}

#[tokio::test]
async fn every_illegal_status_move_is_refused_as_invalid_transition() {
    let cafe = Cafe::open().await;
    let all = ["PENDING", "MAKING", "READY", "COMPLETED", "CANCELLED"];
    let forward = |from: &str| match from {
        "PENDING" => Some("MAKING"),
        "MAKING" => Some("READY"),
        "READY" => Some("COMPLETED"),
        _ => None,
    };
    // One step on, or a recall (COMPLETED → READY: within 30 minutes, as
    // here, where the order was just completed).
    let legal = |from: &str, to: &str| {
        forward(from) == Some(to)
            || matches!((from, to), ("READY", "MAKING") | ("COMPLETED", "READY"))
    };
    for from in all {
        let id = cafe.order_id().await;
        match from {
            "CANCELLED" => {
                let answer = cafe
                    .barista
                    .api
                    .post(&format!("/api/orders/{id}/cancel"), json!({"reason": "x"}))
                    .await;
                ok(answer, 200);
            }
            _ => {
                let mut at = "PENDING";
                while at != from {
                    let next = forward(at).unwrap();
                    cafe.move_to(&id, next).await;
                    at = next;
                }
            }
        }
        for to in all {
            if legal(from, to) {
                continue;
            }
            let answer = cafe
                .barista
                .api
                .patch(&format!("/api/orders/{id}/status"), json!({ "status": to }))
                .await;
            assert_eq!(answer.0, 409, "{from} → {to}: {}", answer.1);
            assert_error(&answer, 409, "invalid_transition");
        }
        let fetched = ok(
            cafe.barista.api.get(&format!("/api/orders/{id}")).await,
            200,
        );
        assert_eq!(fetched["status"], from);
    }
}

/// Moves order `id` to `status` as the barista, answering the status and
/// body.
async fn patch_status(cafe: &Cafe, id: &str, status: &str) -> (reqwest::StatusCode, Value) {
    cafe.barista
        .api
        .patch(
            &format!("/api/orders/{id}/status"),
            json!({ "status": status }),
        )
        .await
}

#[tokio::test]
async fn a_barista_recalls_a_ready_order_to_making_and_a_completed_one_to_ready() {
    let cafe = Cafe::open().await;
    let mut ws = cafe.hub.connect(Some(&cafe.barista)).await;
    ws.next_event("welcome").await;
    ws.subscribe(&["orders"]).await;
    let id = cafe.order_id().await;
    let moves = [
        ("MAKING", "PENDING"),
        ("READY", "MAKING"),
        ("MAKING", "READY"),
        ("READY", "MAKING"),
        ("COMPLETED", "READY"),
        ("READY", "COMPLETED"),
        ("COMPLETED", "READY"),
    ];
    for (to, from) in moves {
        let moved = ok(patch_status(&cafe, &id, to).await, 200);
        assert_eq!(moved["status"], to, "{from} → {to}");
        let fetched = ok(
            cafe.barista.api.get(&format!("/api/orders/{id}")).await,
            200,
        );
        assert_eq!(fetched["status"], to);
        let event = ws.next_event("order:status_changed").await;
        assert_eq!(event["data"]["orderId"], id.as_str());
        assert_eq!(event["data"]["status"], to, "{event}");
        assert_eq!(event["data"]["previousStatus"], from, "{event}");
    }
    assert_eq!(
        cafe.count(
            &format!(
                "SELECT COUNT(*) FROM events WHERE name = 'order:status_changed' AND {} = $1",
                json_text("data", "orderId")
            ),
            &[&id],
        )
        .await,
        moves.len() as i64
    );
}

/// Sends `PATCH /status` with the status the sender saw the order in.
async fn patch_status_from(
    api: &support::Api,
    id: &str,
    status: &str,
    from: &str,
) -> (reqwest::StatusCode, Value) {
    api.patch(
        &format!("/api/orders/{id}/status"),
        json!({ "status": status, "from": from }),
    )
    .await
}

#[tokio::test]
async fn a_status_change_from_a_status_the_order_has_left_is_refused_and_changes_nothing() {
    let cafe = Cafe::open().await;
    let id = cafe.order_id().await;
    let events = &format!(
        "SELECT COUNT(*) FROM events WHERE name = 'order:status_changed' AND {} = $1",
        json_text("data", "orderId")
    );
    // With the status the order is in, the move happens.
    let moved = ok(
        patch_status_from(&cafe.barista.api, &id, "MAKING", "PENDING").await,
        200,
    );
    assert_eq!(moved["status"], "MAKING");
    let ready = ok(
        patch_status_from(&cafe.manager.api, &id, "READY", "MAKING").await,
        200,
    );
    assert_eq!(ready["status"], "READY");

    // A barista's PENDING → MAKING, queued offline and sent late, meets a
    // READY order: without `from` it would be a recall; with it, a refusal.
    let seq = cafe.seq().await;
    let logged = cafe.count(events, &[&id]).await;
    let late = patch_status_from(&cafe.barista.api, &id, "MAKING", "PENDING").await;
    assert_error(&late, 409, "invalid_transition");
    let message = late.1["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("READY") && message.contains("PENDING"),
        "the refusal names both statuses: {message}"
    );
    // A stale `from` is refused even where the move itself is legal
    // (READY → COMPLETED), and checked before anything else.
    let stale = patch_status_from(&cafe.barista.api, &id, "COMPLETED", "MAKING").await;
    assert_error(&stale, 409, "invalid_transition");
    let fetched = ok(
        cafe.barista.api.get(&format!("/api/orders/{id}")).await,
        200,
    );
    assert_eq!(fetched["status"], "READY");
    assert_eq!(fetched["updatedAt"], ready["updatedAt"]);
    assert_eq!(cafe.seq().await, seq, "a refused change announces nothing");
    assert_eq!(cafe.count(events, &[&id]).await, logged);

    // A matching `from` does not make an illegal move legal.
    let illegal = patch_status_from(&cafe.barista.api, &id, "PENDING", "READY").await;
    assert_error(&illegal, 409, "invalid_transition");
    // `from: null` is no `from`; an unknown status in it is a bad body.
    let bad = cafe
        .barista
        .api
        .patch(
            &format!("/api/orders/{id}/status"),
            json!({"status": "COMPLETED", "from": "LATE"}),
        )
        .await;
    assert_error(&bad, 422, "validation");
    assert_eq!(cafe.seq().await, seq);

    // Without `from`, as the contract has it: the same body is a recall.
    let recalled = ok(patch_status(&cafe, &id, "MAKING").await, 200);
    assert_eq!(recalled["status"], "MAKING");
    assert_eq!(cafe.seq().await, seq + 1);
    let null = cafe
        .barista
        .api
        .patch(
            &format!("/api/orders/{id}/status"),
            json!({"status": "READY", "from": null}),
        )
        .await;
    assert_eq!(ok(null, 200)["status"], "READY");
    assert_eq!(cafe.count(events, &[&id]).await, logged + 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_changes_each_apply_only_from_the_status_they_name() {
    // 8 × 24 requests at once: under the hub's 256 sockets per address.
    const ORDERS: usize = 8;
    const EACH: usize = 24;
    let cafe = Cafe::open().await;
    let mut ids = Vec::new();
    for _ in 0..ORDERS {
        ids.push(cafe.order_id().await);
    }
    // Forward, recall and forward again, many times at once on each order:
    // whichever land, each accepted change found the order in its `from`,
    // as the `previousStatus` of the event it logged says (a PENDING →
    // MAKING that lands as a recall READY → MAKING fails this).
    let wanted = [
        ("MAKING", "PENDING"),
        ("READY", "MAKING"),
        ("MAKING", "READY"),
    ];
    let attempts = (0..ORDERS * EACH).map(|i| {
        let id = ids[i % ORDERS].clone();
        let (to, from) = wanted[(i / ORDERS) % wanted.len()];
        let api = if i % 2 == 0 {
            cafe.barista.api.clone()
        } else {
            cafe.manager.api.clone()
        };
        async move {
            let answer = patch_status_from(&api, &id, to, from).await;
            (id, to, from, answer)
        }
    });
    let answers = futures::future::join_all(attempts).await;
    for (_, to, _, answer) in &answers {
        match answer.0.as_u16() {
            200 => assert_eq!(answer.1["status"], *to),
            _ => assert_error(answer, 409, "invalid_transition"),
        }
    }
    for id in &ids {
        for (to, from) in wanted {
            let accepted = answers
                .iter()
                .filter(|(i, t, f, a)| i == id && (*t, *f) == (to, from) && a.0 == 200)
                .count() as i64;
            let logged = cafe
                .count(
                    &format!("SELECT COUNT(*) FROM events WHERE name = 'order:status_changed' AND {} = $1 AND {} = $2 AND {} = $3", json_text("data", "orderId"), json_text("data", "status"), json_text("data", "previousStatus")),
                    &[id, to, from],
                )
                .await;
            assert_eq!(accepted, logged, "{id}: {from} → {to}");
            if from == "PENDING" {
                // An order leaves PENDING only this way, and only once.
                assert_eq!(accepted, 1, "{id}");
            }
        }
    }
}

#[tokio::test]
async fn a_completed_order_is_recalled_only_within_30_minutes_of_its_last_completion() {
    let cafe = Cafe::open().await;
    let clock = &cafe.hub.hub.clock;
    let id = cafe.order_id().await;
    for status in ["MAKING", "READY", "COMPLETED"] {
        cafe.move_to(&id, status).await;
    }
    clock.advance(Duration::minutes(20));
    cafe.move_to(&id, "READY").await;
    cafe.move_to(&id, "COMPLETED").await;
    // 40 minutes after the first completion, 20 after the last.
    clock.advance(Duration::minutes(20));
    cafe.move_to(&id, "READY").await;
    cafe.move_to(&id, "COMPLETED").await;
    clock.advance(Duration::minutes(31));
    let seq = cafe.seq().await;
    let answer = patch_status(&cafe, &id, "READY").await;
    assert_error(&answer, 409, "invalid_transition");
    let fetched = ok(
        cafe.barista.api.get(&format!("/api/orders/{id}")).await,
        200,
    );
    assert_eq!(fetched["status"], "COMPLETED");
    assert_eq!(cafe.seq().await, seq, "a refused recall announces nothing");
    // A ready order has no window: it goes back to the making.
    let other = cafe.order_id().await;
    cafe.move_to(&other, "MAKING").await;
    cafe.move_to(&other, "READY").await;
    clock.advance(Duration::hours(3));
    cafe.move_to(&other, "MAKING").await;
}

#[tokio::test]
async fn an_order_can_be_cancelled_from_pending_making_and_ready_only() {
    let cafe = Cafe::open().await;
    for (from, path) in [
        ("PENDING", &[][..]),
        ("MAKING", &["MAKING"][..]),
        ("READY", &["MAKING", "READY"][..]),
    ] {
        let id = cafe.order_id().await;
        for status in path {
            cafe.move_to(&id, status).await;
        }
        let cancelled = ok(
            cafe.manager
                .api
                .post(
                    &format!("/api/orders/{id}/cancel"),
                    json!({"reason": format!("cancelled while {from}")}),
                )
                .await,
            200,
        );
        assert_eq!(cancelled["status"], "CANCELLED", "from {from}");
        assert_eq!(cancelled["cancelReason"], format!("cancelled while {from}"));
        assert_error(
            &cafe
                .manager
                .api
                .post(
                    &format!("/api/orders/{id}/cancel"),
                    json!({"reason": "again"}),
                )
                .await,
            409,
            "invalid_transition",
        );
    }
    let done = cafe.order_id().await;
    for status in ["MAKING", "READY", "COMPLETED"] {
        cafe.move_to(&done, status).await;
    }
    assert_error(
        &cafe
            .barista
            .api
            .post(
                &format!("/api/orders/{done}/cancel"),
                json!({"reason": "late"}),
            )
            .await,
        409,
        "invalid_transition",
    );
    let open = cafe.order_id().await;
    assert_error(
        &cafe
            .barista
            .api
            .post(
                &format!("/api/orders/{open}/cancel"),
                json!({"reason": " "}),
            )
            .await,
        422,
        "validation",
    );
    assert_eq!(
        cafe.count(
            "SELECT COUNT(*) FROM events WHERE name = $1",
            &["order:cancelled"]
        )
        .await,
        3
    );
}

#[tokio::test]
async fn an_unknown_order_is_not_found() {
    let cafe = Cafe::open().await;
    let path = "/api/orders/ORD-1-nope00";
    assert_error(&cafe.barista.api.get(path).await, 404, "not_found");
    assert_error(
        &cafe
            .barista
            .api
            .patch(&format!("{path}/status"), json!({"status": "MAKING"}))
            .await,
        404,
        "not_found",
    );
    assert_error(
        &cafe
            .barista
            .api
            .post(&format!("{path}/cancel"), json!({"reason": "x"}))
            .await,
        404,
        "not_found",
    );
    assert_error(
        &cafe.anonymous().get("/api/no-such-call").await,
        404,
        "not_found",
    );
}

#[tokio::test]
async fn a_kiosk_sees_only_the_orders_it_created() {
    let cafe = Cafe::open().await;
    let other = cafe.hub.pair(Role::Kiosk).await;
    let mine = cafe.order(&cafe.kiosk.api, &[("americano", 1)]).await;
    let theirs = cafe.order(&other.api, &[("latte", 1)]).await;
    let by_manager = cafe.order(&cafe.manager.api, &[("espresso", 1)]).await;
    let mine_id = mine["orderId"].as_str().unwrap().to_owned();
    let theirs_id = theirs["orderId"].as_str().unwrap().to_owned();

    let listed = ok(cafe.kiosk.api.get("/api/orders").await, 200);
    assert_eq!(ids(&listed), vec![mine_id.clone()]);
    let listed = ok(other.api.get("/api/orders").await, 200);
    assert_eq!(ids(&listed), vec![theirs_id.clone()]);

    ok(
        cafe.kiosk.api.get(&format!("/api/orders/{mine_id}")).await,
        200,
    );
    assert_error(
        &cafe
            .kiosk
            .api
            .get(&format!("/api/orders/{theirs_id}"))
            .await,
        404,
        "not_found",
    );
    assert_error(
        &cafe
            .kiosk
            .api
            .get(&format!(
                "/api/orders/{}",
                by_manager["orderId"].as_str().unwrap()
            ))
            .await,
        404,
        "not_found",
    );
    let all = ok(cafe.barista.api.get("/api/orders").await, 200);
    assert_eq!(all.as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn the_order_list_is_newest_first_and_filters_by_status_date_and_limit() {
    let cafe = Cafe::open().await;
    let mut made = Vec::new();
    for _ in 0..3 {
        made.push(cafe.order_id().await);
    }
    cafe.move_to(&made[1], "MAKING").await;
    let newest_first: Vec<String> = made.iter().rev().cloned().collect();
    let api = &cafe.barista.api;

    let all = ok(api.get("/api/orders").await, 200);
    assert_eq!(ids(&all), newest_first);
    let nums: Vec<u64> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["dailyNum"].as_u64().unwrap())
        .collect();
    assert_eq!(nums, vec![3, 2, 1]);

    let making = ok(api.get("/api/orders?status=MAKING").await, 200);
    assert_eq!(ids(&making), vec![made[1].clone()]);
    let pending = ok(api.get("/api/orders?status=PENDING").await, 200);
    assert_eq!(ids(&pending), vec![made[2].clone(), made[0].clone()]);
    let none = ok(api.get("/api/orders?status=COMPLETED").await, 200);
    assert_eq!(none, json!([]));

    let today = cafe.hub.hub.clock.today();
    let dated = ok(api.get(&format!("/api/orders?date={today}")).await, 200);
    assert_eq!(ids(&dated), newest_first);
    let yesterday = today.pred_opt().unwrap();
    let earlier = ok(api.get(&format!("/api/orders?date={yesterday}")).await, 200);
    assert_eq!(earlier, json!([]));
    let combined = ok(
        api.get(&format!("/api/orders?status=&date={today}&limit=2"))
            .await,
        200,
    );
    assert_eq!(ids(&combined), newest_first[..2].to_vec());

    let one = ok(api.get("/api/orders?limit=1").await, 200);
    assert_eq!(ids(&one), vec![made[2].clone()]);
    ok(api.get("/api/orders?limit=5000").await, 200);
    for bad in [
        "/api/orders?limit=0",
        "/api/orders?limit=5001",
        "/api/orders?status=SIMMERING",
        "/api/orders?date=23-11-2026",
        "/api/orders?date=2026-02-30",
    ] {
        let answer = api.get(bad).await;
        assert_eq!(answer.0, 422, "{bad}: {}", answer.1);
        assert_error(&answer, 422, "validation");
    }
}

#[tokio::test]
async fn anyone_looks_an_order_up_by_its_daily_number() {
    let cafe = Cafe::open().await;
    let first = cafe.order_id().await;
    let second = cafe.order_id().await;
    let found = ok(
        cafe.anonymous().get("/api/orders/lookup?dailyNum=2").await,
        200,
    );
    assert_eq!(
        found,
        json!({"orderId": second, "dailyNum": 2, "status": "PENDING"})
    );
    cafe.move_to(&first, "MAKING").await;
    let found = ok(
        cafe.kiosk.api.get("/api/orders/lookup?dailyNum=1").await,
        200,
    );
    assert_eq!(
        found,
        json!({"orderId": first, "dailyNum": 1, "status": "MAKING"})
    );
    assert_error(
        &cafe.anonymous().get("/api/orders/lookup?dailyNum=3").await,
        404,
        "not_found",
    );
    assert_error(
        &cafe.anonymous().get("/api/orders/lookup").await,
        422,
        "validation",
    );
}

#[tokio::test]
async fn daily_numbers_restart_at_one_on_the_next_day() {
    let cafe = Cafe::open().await;
    let yesterday_first = cafe.order_id().await;
    let yesterday_second = cafe.order_id().await;
    let yesterday = cafe.hub.hub.clock.today();

    cafe.hub.hub.clock.advance(Duration::days(1));
    let order = cafe.order(&cafe.kiosk.api, &[("latte", 1)]).await;
    assert_eq!(order["dailyNum"], 1);
    let second = cafe.order(&cafe.kiosk.api, &[("latte", 1)]).await;
    assert_eq!(second["dailyNum"], 2);

    let found = ok(
        cafe.anonymous().get("/api/orders/lookup?dailyNum=1").await,
        200,
    );
    assert_eq!(found["orderId"], order["orderId"]);
    let today = ok(cafe.barista.api.get("/api/orders").await, 200);
    assert_eq!(
        ids(&today),
        vec![
            second["orderId"].as_str().unwrap().to_owned(),
            order["orderId"].as_str().unwrap().to_owned()
        ]
    );
    let before = ok(
        cafe.barista
            .api
            .get(&format!("/api/orders?date={yesterday}"))
            .await,
        200,
    );
    assert_eq!(ids(&before), vec![yesterday_second, yesterday_first]);
}
