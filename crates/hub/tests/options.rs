//! Item options, fulfilment, placed time and references over the real hub:
//! options checked against the item's groups and priced by the hub (never
//! by the device), the menu editor's groups, order and deletion, and old
//! orders with free-text options still read after the migration.

mod support;

use chrono::{DateTime, Duration, SubsecRound, Utc};
use countertop_hub::Keys;
use serde_json::{json, Value};
use support::{assert_error, line, ok, Cafe, Device, TestHub, Ws};

fn chosen(pairs: &[(&str, &str)]) -> Value {
    pairs
        .iter()
        .map(|(g, c)| json!({"groupId": g, "choiceId": c}))
        .collect()
}

/// `POST /api/orders` of one line of `menu` with `options`, as the kiosk.
async fn order_with(cafe: &Cafe, menu: &str, quantity: u32, options: Value) -> (u16, Value) {
    let body = json!({
        "idempotencyKey": format!("opt-{}", support::rand_suffix()),
        "items": [{"menuId": menu, "quantity": quantity, "options": options}],
        "payType": "CARD"
    });
    let (status, answer) = cafe.kiosk.api.post("/api/orders", body).await;
    (status.as_u16(), answer)
}

#[track_caller]
fn refused(answer: &(u16, Value), status: u16, code: &str, message: &str) {
    let (got, body) = answer;
    assert_eq!(*got, status, "{body}");
    assert_eq!(body["error"]["code"], code, "{body}");
    let said = body["error"]["message"].as_str().unwrap_or_default();
    assert!(said.contains(message), "{said:?} should say {message:?}");
}

fn time(v: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(v.as_str().unwrap_or_else(|| panic!("a time: {v}")))
        .unwrap()
        .with_timezone(&Utc)
}

/// A connection of `device` reading `topics`, subscribed.
async fn reader(cafe: &Cafe, device: &Device, topics: &[&str]) -> Ws {
    let mut ws = cafe.hub.connect(Some(device)).await;
    ws.subscribe(topics).await;
    ws
}

/// Changes a setting, and reads `ws` (subscribed to `settings` as well) up
/// to its `settings:changed`: every event committed before it, in order.
async fn events_until_marker(cafe: &Cafe, ws: &mut Ws) -> Vec<Value> {
    let marker = format!("Marker {}", support::rand_suffix());
    ok(
        cafe.manager
            .api
            .put("/api/settings/cafe_name", json!({ "value": marker }))
            .await,
        200,
    );
    let mut frames = Vec::new();
    loop {
        let frame = ws.next().await;
        if frame["event"] == "settings:changed" && frame["data"]["value"] == marker.as_str() {
            return frames;
        }
        if frame.get("seq").is_some() {
            frames.push(frame);
        }
    }
}

#[tokio::test]
async fn a_required_group_missing_or_an_unknown_id_is_refused_as_validation() {
    let cafe = Cafe::open().await;
    refused(
        &order_with(&cafe, "americano", 1, json!([])).await,
        422,
        "validation",
        "choose Temperature for Americano",
    );
    refused(
        &order_with(&cafe, "americano", 1, chosen(&[("size", "large")])).await,
        422,
        "validation",
        "Temperature",
    );
    refused(
        &order_with(
            &cafe,
            "americano",
            1,
            chosen(&[("temperature", "ice"), ("syrup", "vanilla")]),
        )
        .await,
        422,
        "validation",
        "no option group \"syrup\"",
    );
    refused(
        &order_with(&cafe, "americano", 1, chosen(&[("temperature", "warm")])).await,
        422,
        "validation",
        "no choice \"warm\"",
    );
    // A croissant has no options at all.
    refused(
        &order_with(&cafe, "croissant", 1, chosen(&[("temperature", "hot")])).await,
        422,
        "validation",
        "no option group",
    );
    assert_eq!(cafe.count("SELECT COUNT(*) FROM orders", &[]).await, 0);
}

#[tokio::test]
async fn too_many_or_too_few_choices_of_a_group_are_refused() {
    let cafe = Cafe::open().await;
    refused(
        &order_with(
            &cafe,
            "americano",
            1,
            chosen(&[("temperature", "hot"), ("temperature", "ice")]),
        )
        .await,
        422,
        "validation",
        "at most 1 of Temperature",
    );
    let four_shots = chosen(&[
        ("temperature", "hot"),
        ("extra-shot", "shot"),
        ("extra-shot", "shot"),
        ("extra-shot", "shot"),
        ("extra-shot", "shot"),
    ]);
    refused(
        &order_with(&cafe, "americano", 1, four_shots).await,
        422,
        "validation",
        "at most 3 of Extra shot",
    );

    // A group that needs two choices.
    let tea = ok(
        cafe.manager
            .api
            .post(
                "/api/menu",
                json!({"name": "Bubble Tea", "category": "Tea", "price": 4000, "optionGroups": [
                    {"id": "pearls", "name": "Pearls", "required": true, "min": 2, "max": 3, "choices": [
                        {"id": "tapioca", "name": "Tapioca", "priceDelta": 300},
                        {"id": "jelly", "name": "Jelly", "priceDelta": 200}
                    ]}
                ]}),
            )
            .await,
        201,
    );
    assert_eq!(tea["id"], "bubble-tea");
    refused(
        &order_with(&cafe, "bubble-tea", 1, chosen(&[("pearls", "tapioca")])).await,
        422,
        "validation",
        "at least 2 of Pearls",
    );
    let (status, order) = order_with(
        &cafe,
        "bubble-tea",
        1,
        chosen(&[("pearls", "jelly"), ("pearls", "tapioca")]),
    )
    .await;
    assert_eq!(status, 201, "{order}");
    assert_eq!(order["items"][0]["unitPrice"], 4000 + 300 + 200);
    let choices: Vec<&str> = order["items"][0]["options"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["choice"].as_str().unwrap())
        .collect();
    assert_eq!(choices, ["Tapioca", "Jelly"], "in the group's choice order");
}

#[tokio::test]
async fn a_sold_out_choice_is_refused_as_sold_out_naming_it() {
    let cafe = Cafe::open().await;
    let mut groups = cafe.menu_item("americano").await["optionGroups"].clone();
    assert_eq!(groups[0]["id"], "temperature");
    assert_eq!(groups[0]["choices"][1]["id"], "ice");
    groups[0]["choices"][1]["isSoldOut"] = json!(true);
    let changed = ok(
        cafe.manager
            .api
            .patch("/api/menu/americano", json!({ "optionGroups": groups }))
            .await,
        200,
    );
    assert_eq!(changed["optionGroups"][0]["choices"][1]["isSoldOut"], true);

    refused(
        &order_with(&cafe, "americano", 1, chosen(&[("temperature", "ice")])).await,
        409,
        "sold_out",
        "ICE is sold out for Americano",
    );
    let (status, order) =
        order_with(&cafe, "americano", 1, chosen(&[("temperature", "hot")])).await;
    assert_eq!(status, 201, "{order}");
    // Another item's ICE is not sold out.
    let (status, order) = order_with(&cafe, "latte", 1, chosen(&[("temperature", "ice")])).await;
    assert_eq!(status, 201, "{order}");
}

#[tokio::test]
async fn free_text_options_are_refused_as_validation() {
    let cafe = Cafe::open().await;
    for options in [
        json!("shots: 2"),
        json!({"shot": "extra"}),
        json!(["ICE"]),
        json!([{"groupId": "temperature", "choiceId": "ice", "priceDelta": -4000}]),
        json!([{"group": "Temperature", "choice": "ICE"}]),
    ] {
        let answer = order_with(&cafe, "americano", 1, options.clone()).await;
        assert_eq!(answer.0, 422, "{options} → {}", answer.1);
        refused(&answer, 422, "validation", "options");
    }
    // More options on a line than any item could take.
    let many: Vec<Value> = (0..81)
        .map(|_| json!({"groupId": "extra-shot", "choiceId": "shot"}))
        .collect();
    refused(
        &order_with(&cafe, "americano", 1, Value::Array(many)).await,
        422,
        "validation",
        "at most 80 options",
    );
    assert_eq!(cafe.count("SELECT COUNT(*) FROM orders", &[]).await, 0);
}

#[tokio::test]
async fn option_deltas_are_priced_in_the_answer_the_list_and_the_event() {
    let cafe = Cafe::open().await;
    let mut ws = reader(&cafe, &cafe.barista, &["orders"]).await;
    let body = json!({
        "idempotencyKey": "ice-large",
        "items": [
            {"menuId": "americano", "quantity": 2, "options": chosen(&[
                ("extra-shot", "shot"), ("size", "large"), ("extra-shot", "shot"), ("temperature", "ice")
            ])},
            {"menuId": "americano", "quantity": 1, "options": chosen(&[("temperature", "hot")])},
            line("croissant", 1)
        ],
        "payType": "CARD",
        "fulfilment": "TAKE_OUT"
    });
    let order = ok(cafe.kiosk.api.post("/api/orders", body).await, 201);
    let priced = json!({"menuId": "americano", "menuName": "Americano", "quantity": 2,
    "unitPrice": 5500, "totalPrice": 11000, "options": [
        {"group": "Temperature", "choice": "ICE", "priceDelta": 0},
        {"group": "Size", "choice": "Large", "priceDelta": 500},
        {"group": "Extra shot", "choice": "Extra shot", "priceDelta": 500},
        {"group": "Extra shot", "choice": "Extra shot", "priceDelta": 500}
    ]});
    assert_eq!(order["items"][0], priced);
    assert_eq!(
        order["items"][1],
        json!({"menuId": "americano", "menuName": "Americano", "quantity": 1,
        "unitPrice": 4000, "totalPrice": 4000, "options": [
            {"group": "Temperature", "choice": "HOT", "priceDelta": 0}
        ]}),
        "two lines of one item with other options stay two lines"
    );
    assert_eq!(order["totalAmount"], 11000 + 4000 + 3500);
    assert_eq!(order["fulfilment"], "TAKE_OUT");

    let listed = ok(cafe.barista.api.get("/api/orders").await, 200);
    assert_eq!(listed[0]["items"][0], priced);
    assert_eq!(listed[0], order);

    let created = ws.next_event("order:created").await;
    assert_eq!(created["data"]["orderId"], order["orderId"]);
    assert_eq!(created["data"]["items"][0], priced);
    assert_eq!(created["data"]["totalAmount"], 18500);
    assert_eq!(created["data"]["fulfilment"], "TAKE_OUT");
    assert_eq!(created["data"]["placedAt"], order["placedAt"]);
}

#[tokio::test]
async fn fulfilment_is_dine_in_unless_take_out_is_said() {
    let cafe = Cafe::open().await;
    let plain = cafe.order(&cafe.kiosk.api, &[("latte", 1)]).await;
    assert_eq!(plain["fulfilment"], "DINE_IN");
    let key = |k: &str| format!("{k}-{}", support::rand_suffix());
    let take_out = ok(
        cafe.kiosk
            .api
            .post(
                "/api/orders",
                json!({"idempotencyKey": key("to"), "items": [line("latte", 1)], "payType": "CARD", "fulfilment": "TAKE_OUT"}),
            )
            .await,
        201,
    );
    assert_eq!(take_out["fulfilment"], "TAKE_OUT");
    let fetched = ok(
        cafe.barista
            .api
            .get(&format!(
                "/api/orders/{}",
                take_out["orderId"].as_str().unwrap()
            ))
            .await,
        200,
    );
    assert_eq!(fetched["fulfilment"], "TAKE_OUT");
    assert_error(
        &cafe
            .kiosk
            .api
            .post(
                "/api/orders",
                json!({"idempotencyKey": key("bad"), "items": [line("latte", 1)], "payType": "CARD", "fulfilment": "DELIVERY"}),
            )
            .await,
        422,
        "validation",
    );
}

#[tokio::test]
async fn placed_at_is_kept_within_twelve_hours_and_otherwise_the_hubs_time() {
    let cafe = Cafe::open().await;
    let place = |placed_at: Option<DateTime<Utc>>| {
        let mut body = json!({
            "idempotencyKey": format!("placed-{}", support::rand_suffix()),
            "items": [line("espresso", 1)],
            "payType": "CASH"
        });
        if let Some(at) = placed_at {
            body["placedAt"] = json!(at);
        }
        let api = cafe.kiosk.api.clone();
        async move { ok(api.post("/api/orders", body).await, 201) }
    };

    let earlier = (Utc::now() - Duration::minutes(40)).trunc_subsecs(3);
    let queued = place(Some(earlier)).await;
    assert_eq!(time(&queued["placedAt"]), earlier, "{queued}");
    assert!(time(&queued["createdAt"]) > earlier);

    for (what, at) in [
        ("absent", None),
        ("13 hours ago", Some(Utc::now() - Duration::hours(13))),
        ("a minute ahead", Some(Utc::now() + Duration::minutes(1))),
        ("a year ahead", Some(Utc::now() + Duration::days(365))),
    ] {
        let order = place(at).await;
        assert_eq!(order["placedAt"], order["createdAt"], "{what}: {order}");
    }
    // A device's clock a little ahead of the hub's counts as now.
    let order = place(Some(Utc::now() + Duration::seconds(2))).await;
    assert!(
        time(&order["placedAt"]) <= time(&order["createdAt"]),
        "{order}"
    );

    let listed = ok(cafe.barista.api.get("/api/orders").await, 200);
    let found = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["orderId"] == queued["orderId"])
        .unwrap();
    assert_eq!(time(&found["placedAt"]), earlier);
}

#[tokio::test]
async fn a_reference_is_kept_and_checked() {
    let cafe = Cafe::open().await;
    let mut ws = reader(&cafe, &cafe.barista, &["orders"]).await;
    let body = |reference: &str| {
        json!({
            "idempotencyKey": format!("ref-{}", support::rand_suffix()),
            "items": [line("croissant", 1)],
            "payType": "CASH",
            "reference": reference
        })
    };
    let order = ok(
        cafe.kiosk.api.post("/api/orders", body("K1-0042")).await,
        201,
    );
    assert_eq!(order["reference"], "K1-0042");
    let created = ws.next_event("order:created").await;
    assert_eq!(created["data"]["reference"], "K1-0042");
    let plain = cafe.order(&cafe.kiosk.api, &[("croissant", 1)]).await;
    assert!(plain.get("reference").is_none(), "{plain}");

    for bad in ["", "ABCDEFGHIJKLM", "K1 0042", "K1_0042", "주문-1", "K1\n2"] {
        assert_error(
            &cafe.kiosk.api.post("/api/orders", body(bad)).await,
            422,
            "validation",
        );
    }
    assert_eq!(cafe.count("SELECT COUNT(*) FROM orders", &[]).await, 2);
}

#[tokio::test]
async fn the_menu_editor_checks_and_normalises_option_groups() {
    let cafe = Cafe::open().await;
    let choice = |id: &str| json!({"id": id, "name": id.to_uppercase(), "priceDelta": 0});
    let group = |id: &str| json!({"id": id, "name": "Group", "required": false, "min": 0, "max": 1, "choices": [choice("a")]});
    let with = |groups: Value| json!({"name": "Tart", "category": "Bakery", "price": 100, "optionGroups": groups});
    let mut bad = vec![
        (
            "nine groups",
            with((0..9).map(|i| group(&format!("g{i}"))).collect()),
        ),
        ("a capital id", with(json!([group("Size")]))),
        ("an id of 33", with(json!([group(&"a".repeat(33))]))),
        ("a group twice", with(json!([group("size"), group("size")]))),
        (
            "no choices",
            with(
                json!([{"id": "size", "name": "Size", "required": false, "min": 0, "max": 1, "choices": []}]),
            ),
        ),
        (
            "13 choices",
            with(
                json!([{"id": "size", "name": "Size", "required": false, "min": 0, "max": 1,
            "choices": (0..13).map(|i| choice(&format!("c{i}"))).collect::<Value>()}]),
            ),
        ),
        (
            "a choice twice",
            with(
                json!([{"id": "size", "name": "Size", "required": false, "min": 0, "max": 1,
            "choices": [choice("a"), choice("a")]}]),
            ),
        ),
        (
            "max 0",
            with(
                json!([{"id": "size", "name": "Size", "required": false, "min": 0, "max": 0, "choices": [choice("a")]}]),
            ),
        ),
        (
            "max 11",
            with(
                json!([{"id": "size", "name": "Size", "required": false, "min": 0, "max": 11, "choices": [choice("a")]}]),
            ),
        ),
        (
            "min over max",
            with(
                json!([{"id": "size", "name": "Size", "required": true, "min": 2, "max": 1, "choices": [choice("a")]}]),
            ),
        ),
        (
            "a negative delta",
            with(
                json!([{"id": "size", "name": "Size", "required": false, "min": 0, "max": 1,
            "choices": [{"id": "small", "name": "Small", "priceDelta": -500}]}]),
            ),
        ),
        (
            "a huge delta",
            with(
                json!([{"id": "size", "name": "Size", "required": false, "min": 0, "max": 1,
            "choices": [{"id": "huge", "name": "Huge", "priceDelta": 1_000_001}]}]),
            ),
        ),
        (
            "an empty name",
            with(
                json!([{"id": "size", "name": " ", "required": false, "min": 0, "max": 1, "choices": [choice("a")]}]),
            ),
        ),
        (
            "a long name",
            with(
                json!([{"id": "size", "name": "x".repeat(41), "required": false, "min": 0, "max": 1, "choices": [choice("a")]}]),
            ),
        ),
        (
            "an unknown field",
            with(
                json!([{"id": "size", "name": "Size", "required": false, "min": 0, "max": 1, "choices": [choice("a")], "colour": "red"}]),
            ),
        ),
        (
            "a station with a space",
            json!({"name": "Tart", "category": "Bakery", "price": 100, "station": "cold bar"}),
        ),
        (
            "a station of 21",
            json!({"name": "Tart", "category": "Bakery", "price": 100, "station": "k".repeat(21)}),
        ),
        (
            "a language code of 1",
            json!({"name": "Tart", "category": "Bakery", "price": 100, "names": {"k": "타르트"}}),
        ),
        (
            "a language code with digits",
            json!({"name": "Tart", "category": "Bakery", "price": 100, "names": {"k1": "타르트"}}),
        ),
        (
            "a name of 81",
            json!({"name": "Tart", "category": "Bakery", "price": 100, "names": {"ko": "타".repeat(81)}}),
        ),
    ];
    let nine_languages: serde_json::Map<String, Value> =
        ["aa", "bb", "cc", "dd", "ee", "ff", "gg", "hh", "ii"]
            .iter()
            .map(|l| (l.to_string(), json!("Tart")))
            .collect();
    bad.push((
        "nine languages",
        json!({"name": "Tart", "category": "Bakery", "price": 100, "names": nine_languages}),
    ));
    for (what, body) in &bad {
        let answer = cafe.manager.api.post("/api/menu", body.clone()).await;
        assert_eq!(answer.0, 422, "{what}: {}", answer.1);
        assert_error(&answer, 422, "validation");
        // The same, as a change.
        let mut patch = body.clone();
        let patch = patch.as_object_mut().unwrap();
        patch.remove("name");
        patch.remove("category");
        patch.remove("price");
        let answer = cafe
            .manager
            .api
            .patch("/api/menu/croissant", Value::Object(patch.clone()))
            .await;
        assert_eq!(answer.0, 422, "{what} (PATCH): {}", answer.1);
    }
    assert_eq!(cafe.count("SELECT COUNT(*) FROM menu_items", &[]).await, 12);
    assert_eq!(
        cafe.seq().await,
        cafe.opened_at_seq,
        "nothing refused was announced"
    );

    // A required group with min 0 needs one; a group with a min is required.
    let tart = ok(
        cafe.manager
            .api
            .post(
                "/api/menu",
                json!({"name": "Tart", "category": "Bakery", "price": 100, "station": " Kitchen ",
                    "names": {"ko": "타르트", "zh-tw": "塔"},
                    "optionGroups": [
                        {"id": "cream", "name": "Cream", "names": {"ko": "크림"}, "required": true, "min": 0, "max": 1, "choices": [choice("yes")]},
                        {"id": "fruit", "name": "Fruit", "required": false, "min": 1, "max": 2, "choices": [choice("fig"), choice("pear")]}
                    ]}),
            )
            .await,
        201,
    );
    assert_eq!(tart["station"], "kitchen");
    assert_eq!(tart["names"], json!({"ko": "타르트", "zh-tw": "塔"}));
    assert_eq!(tart["optionGroups"][0]["min"], 1);
    assert_eq!(tart["optionGroups"][0]["names"], json!({"ko": "크림"}));
    assert_eq!(tart["optionGroups"][1]["required"], true);
    assert_eq!(cafe.menu_item("tart").await, tart);
}

#[tokio::test]
async fn changing_options_station_or_names_announces_the_item() {
    let cafe = Cafe::open().await;
    let mut ws = reader(&cafe, &cafe.manager, &["menu", "settings"]).await;
    let groups = json!([{"id": "warm", "name": "Warm", "required": false, "min": 0, "max": 1,
        "choices": [{"id": "yes", "name": "Warmed", "priceDelta": 300}]}]);
    for patch in [
        json!({"optionGroups": groups}),
        json!({"station": "oven"}),
        json!({"names": {"ko": "크루아상"}}),
    ] {
        ok(
            cafe.manager
                .api
                .patch("/api/menu/croissant", patch.clone())
                .await,
            200,
        );
    }
    // The same again changes nothing and announces nothing.
    ok(
        cafe.manager
            .api
            .patch("/api/menu/croissant", json!({"station": "oven"}))
            .await,
        200,
    );
    let frames = events_until_marker(&cafe, &mut ws).await;
    let names: Vec<&str> = frames
        .iter()
        .map(|f| f["event"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["menu:updated"; 3], "{frames:?}");
    let last = &frames[2]["data"];
    assert_eq!(
        last["optionGroups"],
        cafe.menu_item("croissant").await["optionGroups"]
    );
    assert_eq!(last["optionGroups"][0]["choices"][0]["priceDelta"], 300);
    assert_eq!(last["station"], "oven");
    assert_eq!(last["names"], json!({"ko": "크루아상"}));

    let (status, order) = order_with(&cafe, "croissant", 1, chosen(&[("warm", "yes")])).await;
    assert_eq!(status, 201, "{order}");
    assert_eq!(order["items"][0]["unitPrice"], 3800);
}

#[tokio::test]
async fn moving_an_item_renumbers_the_menu_and_announces_what_moved() {
    let cafe = Cafe::open().await;
    let ids = |menu: &Value| -> Vec<String> {
        menu.as_array()
            .unwrap()
            .iter()
            .map(|m| m["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let before = ids(&ok(cafe.anonymous().get("/api/menu").await, 200));
    let mut ws = reader(&cafe, &cafe.manager, &["menu", "settings"]).await;

    // The cheesecake (last, 11) to the front: everything moves.
    let moved = ok(
        cafe.manager
            .api
            .patch("/api/menu/cheesecake", json!({"position": 0}))
            .await,
        200,
    );
    assert_eq!(moved["position"], 0);
    let menu = ok(cafe.anonymous().get("/api/menu").await, 200);
    let mut expected = before.clone();
    let cheesecake = expected.pop().unwrap();
    expected.insert(0, cheesecake);
    assert_eq!(ids(&menu), expected);
    for (i, item) in menu.as_array().unwrap().iter().enumerate() {
        assert_eq!(item["position"], i, "{item}");
    }
    let frames = events_until_marker(&cafe, &mut ws).await;
    assert!(
        frames.iter().all(|f| f["event"] == "menu:updated"),
        "{frames:?}"
    );
    let mut announced: Vec<String> = frames
        .iter()
        .map(|f| f["data"]["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(announced[0], "cheesecake", "the item asked for first");
    announced.sort();
    let mut all = before.clone();
    all.sort();
    assert_eq!(announced, all, "every item moved once");

    // Latte (2) to 3, past the end, and before the start: only what moved.
    ok(
        cafe.manager
            .api
            .patch("/api/menu/latte", json!({"position": 3}))
            .await,
        200,
    );
    let frames = events_until_marker(&cafe, &mut ws).await;
    let announced: Vec<(&str, i64)> = frames
        .iter()
        .map(|f| {
            (
                f["data"]["id"].as_str().unwrap(),
                f["data"]["position"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(announced, [("latte", 3), ("cappuccino", 2)]);
    let last = ok(
        cafe.manager
            .api
            .patch("/api/menu/americano", json!({"position": 99}))
            .await,
        200,
    );
    assert_eq!(last["position"], 11, "clamped to the end");
    let first = ok(
        cafe.manager
            .api
            .patch("/api/menu/americano", json!({"position": -4}))
            .await,
        200,
    );
    assert_eq!(first["position"], 0, "clamped to the start");
    // Where it already is: nothing announced.
    events_until_marker(&cafe, &mut ws).await;
    ok(
        cafe.manager
            .api
            .patch("/api/menu/americano", json!({"position": 0}))
            .await,
        200,
    );
    assert!(events_until_marker(&cafe, &mut ws).await.is_empty());
}

#[tokio::test]
async fn deleting_an_item_is_announced_and_a_managers_alone() {
    let cafe = Cafe::open().await;
    let past = cafe.order(&cafe.kiosk.api, &[("chamomile", 2)]).await;
    let mut ws = reader(&cafe, &cafe.kiosk, &["menu", "settings"]).await;

    for device in [&cafe.barista, &cafe.kiosk, &cafe.display] {
        assert_error(
            &device.api.delete("/api/menu/chamomile").await,
            403,
            "forbidden",
        );
    }
    assert_error(
        &cafe.anonymous().delete("/api/menu/chamomile").await,
        401,
        "unauthorized",
    );
    let (status, body) = cafe.manager.api.delete("/api/menu/chamomile").await;
    assert_eq!(status, 204, "{body}");
    let frames = events_until_marker(&cafe, &mut ws).await;
    assert_eq!(frames.len(), 1, "{frames:?}");
    assert_eq!(frames[0]["event"], "menu:deleted");
    let data = &frames[0]["data"];
    assert_eq!(data["menuId"], "chamomile");
    assert_eq!(data["menuName"], "Chamomile");
    assert!(time(&data["deletedAt"]) <= Utc::now());

    let menu = ok(cafe.anonymous().get("/api/menu").await, 200);
    assert_eq!(menu.as_array().unwrap().len(), 11);
    assert!(menu
        .as_array()
        .unwrap()
        .iter()
        .all(|m| m["id"] != "chamomile"));
    assert_error(
        &cafe.manager.api.delete("/api/menu/chamomile").await,
        404,
        "not_found",
    );
    refused(
        &order_with(&cafe, "chamomile", 1, chosen(&[("temperature", "hot")])).await,
        422,
        "validation",
        "unknown menu item",
    );
    // The past order keeps its line.
    let id = past["orderId"].as_str().unwrap();
    let kept = ok(
        cafe.barista.api.get(&format!("/api/orders/{id}")).await,
        200,
    );
    assert_eq!(kept["items"], past["items"]);
    assert_eq!(kept["items"][0]["menuName"], "Chamomile");
}

/// The hub's migrations up to 0003, before options, as an older hub ran them.
async fn an_older_hubs_database(dir: &std::path::Path) -> sqlx::SqlitePool {
    let old = tempfile::tempdir().unwrap();
    let migrations = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    for name in ["0001_init.sql", "0002_hardening.sql", "0003_recall.sql"] {
        std::fs::copy(migrations.join(name), old.path().join(name)).unwrap();
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
async fn an_old_order_with_free_text_options_still_reads_after_the_migration() {
    if support::sqlite_only("an older hub's hub.db, migrated by SQLite's migrations") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let pool = an_older_hubs_database(dir.path()).await;
    let today = chrono::Local::now().date_naive().to_string();
    let now = Utc::now();
    let at = now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    sqlx::query(
        "INSERT INTO menu_items (id, name, category, price, is_sold_out, stock, position)
         VALUES ('green-tea', 'Green Tea', 'Tea', 4000, 0, NULL, 0)",
    )
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO cells (id, name, balance, position) VALUES ('cell-old', 'Old Team', 12345, 0)",
    )
    .execute(&pool)
    .await
    .unwrap();
    let items = json!([
        {"menuId": "green-tea", "menuName": "Green Tea", "quantity": 1, "unitPrice": 4000,
         "totalPrice": 4000, "options": "shots: 2"},
        {"menuId": "green-tea", "menuName": "Green Tea", "quantity": 1, "unitPrice": 4000,
         "totalPrice": 4000, "options": {"note": "no bag"}}
    ]);
    sqlx::query(
        "INSERT INTO orders (id, daily_num, local_date, pay_type, items, total_amount, status,
            created_at, updated_at, device_id, idempotency_key, created_ms)
         VALUES ('ORD-1-old', 1, $1, 'CASH', $2, 8000, 'PENDING', $3, $4, 'old-kiosk', 'old', $5)",
    )
    .bind(&today)
    .bind(items.to_string())
    .bind(&at)
    .bind(&at)
    .bind(now.timestamp_millis())
    .execute(&pool)
    .await
    .unwrap();
    pool.close().await;
    Keys::load_or_create(dir.path()).unwrap();

    let hub = TestHub::start_in(dir, |_| {}).await;
    let manager = hub.pair(countertop_protocol::Role::Manager).await;
    let listed = ok(
        manager.api.get(&format!("/api/orders?date={today}")).await,
        200,
    );
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
    let old = &listed[0];
    assert_eq!(old["orderId"], "ORD-1-old");
    assert_eq!(old["fulfilment"], "DINE_IN");
    assert!(old.get("placedAt").is_none(), "{old}");
    assert!(old.get("reference").is_none(), "{old}");
    assert_eq!(
        old["items"][0]["options"],
        json!([{"group": "", "choice": "shots: 2", "priceDelta": 0}])
    );
    assert_eq!(
        old["items"][1]["options"],
        json!([{"group": "", "choice": r#"{"note":"no bag"}"#, "priceDelta": 0}])
    );
    let snapshot = ok(manager.api.get("/api/snapshot").await, 200);
    assert_eq!(snapshot["orders"][0]["orderId"], "ORD-1-old");
    assert_eq!(snapshot["cells"][0]["balance"], 12345);

    // The old item reads with no options, at the bar, and orders as before.
    let menu = ok(manager.api.get("/api/menu").await, 200);
    assert_eq!(menu[0]["optionGroups"], json!([]));
    assert_eq!(menu[0]["station"], "bar");
    let body = json!({"idempotencyKey": "new", "items": [{"menuId": "green-tea", "quantity": 1}], "payType": "CARD"});
    let new = ok(manager.api.post("/api/orders", body).await, 201);
    assert_eq!(new["items"][0]["unitPrice"], 4000);
    assert_eq!(new["dailyNum"], 2);
}

#[tokio::test]
async fn kiosk_idle_seconds_is_an_integer_from_15_to_600() {
    let cafe = Cafe::open().await;
    let settings = ok(cafe.anonymous().get("/api/settings").await, 200);
    assert_eq!(settings["kiosk_idle_seconds"], "60");
    for good in ["15", "90", "600"] {
        let set = ok(
            cafe.manager
                .api
                .put("/api/settings/kiosk_idle_seconds", json!({ "value": good }))
                .await,
            200,
        );
        assert_eq!(set["value"], good);
    }
    for bad in ["14", "601", "0", "-30", "1.5", "", "sixty"] {
        assert_error(
            &cafe
                .manager
                .api
                .put("/api/settings/kiosk_idle_seconds", json!({ "value": bad }))
                .await,
            422,
            "validation",
        );
    }
    let settings = ok(cafe.anonymous().get("/api/settings").await, 200);
    assert_eq!(settings["kiosk_idle_seconds"], "600");
}
