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
