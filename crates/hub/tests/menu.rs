//! The menu over REST: what a manager and a barista may change.

mod support;

use serde_json::json;
use support::{assert_error, ok, Cafe};

#[tokio::test]
async fn a_manager_adds_and_changes_menu_items() {
    let cafe = Cafe::open().await;
    let menu = ok(cafe.anonymous().get("/api/menu").await, 200);
    assert_eq!(menu.as_array().unwrap().len(), 12);
    assert_eq!(menu[0]["id"], "americano");
    assert_eq!(menu[0]["price"], 4000);
    assert_eq!(menu[0]["station"], "bar");
    assert_eq!(menu[0]["names"], json!({"ko": "아메리카노"}));
    assert_eq!(
        menu[9],
        json!({"id": "croissant", "name": "Butter Croissant", "category": "Bakery", "price": 3500,
               "isSoldOut": false, "stock": 20, "optionGroups": [], "station": "kitchen",
               "names": {"ko": "버터 크루아상"}, "position": 9})
    );

    let added = ok(
        cafe.manager
            .api
            .post(
                "/api/menu",
                json!({"name": "Honey Toast", "category": "Bakery", "price": 5500, "stock": 4}),
            )
            .await,
        201,
    );
    assert_eq!(
        added,
        json!({"id": "honey-toast", "name": "Honey Toast", "category": "Bakery",
               "price": 5500, "isSoldOut": false, "stock": 4, "optionGroups": [],
               "station": "bar", "position": 12})
    );
    assert_eq!(cafe.menu_item("honey-toast").await, added);

    let changed = ok(
        cafe.manager
            .api
            .patch(
                "/api/menu/honey-toast",
                json!({"name": "Honey Butter Toast", "price": 6000}),
            )
            .await,
        200,
    );
    assert_eq!(changed["name"], "Honey Butter Toast");
    assert_eq!(changed["price"], 6000);
    assert_eq!(changed["stock"], 4);
    let emptied = ok(
        cafe.manager
            .api
            .patch("/api/menu/honey-toast", json!({"stock": 0}))
            .await,
        200,
    );
    assert_eq!(emptied["isSoldOut"], true);
    let restocked = ok(
        cafe.manager
            .api
            .patch("/api/menu/honey-toast", json!({"stock": 10}))
            .await,
        200,
    );
    assert_eq!(restocked["isSoldOut"], false);
    assert_eq!(cafe.menu_item("honey-toast").await, restocked);

    assert_error(
        &cafe
            .manager
            .api
            .patch("/api/menu/unicorn", json!({"price": 1}))
            .await,
        404,
        "not_found",
    );
    for bad in [
        json!({"name": "Free Lunch", "category": "Bakery", "price": -1}),
        json!({"name": " ", "category": "Bakery", "price": 100}),
        json!({"name": "Tart", "category": "Bakery", "price": 100, "stock": -3}),
        json!({"name": "Tart", "category": "Bakery"}),
    ] {
        assert_error(
            &cafe.manager.api.post("/api/menu", bad).await,
            422,
            "validation",
        );
    }
    assert_error(
        &cafe
            .manager
            .api
            .patch("/api/menu/americano", json!({"price": -5}))
            .await,
        422,
        "validation",
    );
}

#[tokio::test]
async fn a_barista_may_only_toggle_sold_out_on_the_menu() {
    let cafe = Cafe::open().await;
    let marked = ok(
        cafe.barista
            .api
            .patch("/api/menu/croissant", json!({"isSoldOut": true}))
            .await,
        200,
    );
    assert_eq!(marked["isSoldOut"], true);
    assert_eq!(cafe.menu_item("croissant").await["isSoldOut"], true);

    for other in [
        json!({"price": 1}),
        json!({"name": "Cheap Croissant"}),
        json!({"category": "Free"}),
        json!({"stock": 100}),
        json!({"stock": null}),
        json!({"isSoldOut": false, "price": 1}),
        json!({"optionGroups": []}),
        json!({"station": "kitchen"}),
        json!({"names": {"ko": "크루아상"}}),
        json!({"position": 0}),
    ] {
        assert_error(
            &cafe.barista.api.patch("/api/menu/croissant", other).await,
            403,
            "forbidden",
        );
    }
    let item = cafe.menu_item("croissant").await;
    assert_eq!(item["price"], 3500);
    assert_eq!(item["stock"], 20);
    assert_eq!(item["isSoldOut"], true);
    assert_error(
        &cafe
            .barista
            .api
            .post(
                "/api/menu",
                json!({"name": "Tart", "category": "Bakery", "price": 100}),
            )
            .await,
        403,
        "forbidden",
    );
    assert_error(
        &cafe
            .kiosk
            .api
            .patch("/api/menu/croissant", json!({"isSoldOut": false}))
            .await,
        403,
        "forbidden",
    );
}
