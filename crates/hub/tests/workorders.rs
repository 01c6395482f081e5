//! Workorders over REST: creating, moving, presenting to a display,
//! signing, work sessions, and what a display may see and sign.

mod support;

use countertop_protocol::Role;
use serde_json::json;
use support::{assert_error, ids, ok, Cafe, SIGNATURE};

#[tokio::test]
async fn a_workorder_is_created_moved_presented_signed_and_worked_in_sessions() {
    let cafe = Cafe::open().await;
    let created = ok(
        cafe.manager
            .api
            .post(
                "/api/workorders",
                json!({
                    "title": "Grinder repair",
                    "customerName": "Lee",
                    "lines": [{"description": "Burrs", "amount": 20000},
                              {"description": "Labour", "amount": 15000}]
                }),
            )
            .await,
        201,
    );
    assert_eq!(created["status"], "OPEN");
    assert_eq!(created["column"], "Open");
    assert_eq!(created["totalAmount"], 35000);
    assert_eq!(created["customerName"], "Lee");
    assert!(created.get("presentedTo").is_none(), "{created}");
    let wo = created["id"].as_str().unwrap().to_owned();

    let moved = ok(
        cafe.manager
            .api
            .patch(
                &format!("/api/workorders/{wo}/column"),
                json!({"column": "Quoted"}),
            )
            .await,
        200,
    );
    assert_eq!(moved["column"], "Quoted");
    assert_error(
        &cafe
            .manager
            .api
            .post(&format!("/api/workorders/{wo}/sessions"), json!({}))
            .await,
        409,
        "invalid_transition",
    );

    let presented = ok(
        cafe.manager
            .api
            .post(
                &format!("/api/workorders/{wo}/present"),
                json!({"deviceId": cafe.display.id}),
            )
            .await,
        200,
    );
    assert_eq!(presented["status"], "AWAITING_SIGNATURE");
    assert_eq!(presented["presentedTo"], cafe.display.id.as_str());

    let signed = ok(cafe.sign(&wo, &cafe.display).await, 200);
    assert_eq!(signed["status"], "APPROVED");
    assert_eq!(signed["column"], "Approved");
    assert_eq!(signed["signature"]["signerName"], "Kim");
    // What is served is the hub's own SVG of the signature's points, never
    // the device's (issue 12).
    assert_eq!(
        signed["signature"]["signatureSvg"],
        countertop_hub::signature::render(&countertop_hub::signature::parse(SIGNATURE).unwrap())
    );
    assert_eq!(signed["signature"]["deviceId"], cafe.display.id.as_str());
    assert_error(
        &cafe.sign(&wo, &cafe.display).await,
        409,
        "invalid_transition",
    );

    let started = ok(
        cafe.manager
            .api
            .post(&format!("/api/workorders/{wo}/sessions"), json!({}))
            .await,
        201,
    );
    assert_eq!(started["status"], "IN_PROGRESS");
    let sid = started["sessions"][0]["id"].as_str().unwrap().to_owned();
    assert!(
        started["sessions"][0].get("stoppedAt").is_none(),
        "{started}"
    );
    assert_error(
        &cafe
            .manager
            .api
            .post(&format!("/api/workorders/{wo}/sessions"), json!({}))
            .await,
        409,
        "invalid_transition",
    );
    let stopped = ok(
        cafe.manager
            .api
            .patch(&format!("/api/workorders/{wo}/sessions/{sid}"), json!({}))
            .await,
        200,
    );
    assert!(stopped["sessions"][0]["stoppedAt"].is_string(), "{stopped}");
    assert_eq!(stopped["status"], "IN_PROGRESS");
    assert_error(
        &cafe
            .manager
            .api
            .patch(&format!("/api/workorders/{wo}/sessions/{sid}"), json!({}))
            .await,
        409,
        "invalid_transition",
    );
    assert_error(
        &cafe
            .manager
            .api
            .patch(
                &format!("/api/workorders/{wo}/sessions/ses-nope"),
                json!({}),
            )
            .await,
        404,
        "not_found",
    );

    let again = ok(
        cafe.manager
            .api
            .post(&format!("/api/workorders/{wo}/sessions"), json!({}))
            .await,
        201,
    );
    let sid2 = again["sessions"][1]["id"].as_str().unwrap().to_owned();
    let done = ok(
        cafe.manager
            .api
            .patch(
                &format!("/api/workorders/{wo}/sessions/{sid2}"),
                json!({"done": true}),
            )
            .await,
        200,
    );
    assert_eq!(done["status"], "DONE");
    assert_eq!(done["column"], "Done");

    let listed = ok(cafe.manager.api.get("/api/workorders").await, 200);
    assert_eq!(listed, json!([done]));
}

#[tokio::test]
async fn a_workorder_is_presented_only_to_a_display_device() {
    let cafe = Cafe::open().await;
    let wo = cafe.workorder().await;
    for device in [&cafe.kiosk, &cafe.barista, &cafe.manager] {
        assert_error(
            &cafe
                .manager
                .api
                .post(
                    &format!("/api/workorders/{wo}/present"),
                    json!({ "deviceId": device.id }),
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
            .post(
                &format!("/api/workorders/{wo}/present"),
                json!({"deviceId": "dev_nobody"}),
            )
            .await,
        404,
        "not_found",
    );
    assert_error(
        &cafe
            .manager
            .api
            .post(
                "/api/workorders/WO-NOPE/present",
                json!({ "deviceId": cafe.display.id }),
            )
            .await,
        404,
        "not_found",
    );
    let listed = ok(cafe.manager.api.get("/api/workorders").await, 200);
    assert_eq!(listed[0]["status"], "OPEN");
}

#[tokio::test]
async fn only_the_display_a_workorder_is_presented_to_may_sign_it() {
    let cafe = Cafe::open().await;
    let other = cafe.hub.pair(Role::Display).await;
    let wo = cafe.workorder().await;
    // Not presented anywhere yet.
    assert_error(&cafe.sign(&wo, &cafe.display).await, 403, "forbidden");
    cafe.present(&wo, &cafe.display).await;
    assert_error(&cafe.sign(&wo, &other).await, 403, "forbidden");
    let answer = cafe
        .manager
        .api
        .post(
            "/api/display/signature",
            json!({"workOrderId": wo, "signerName": "Kim", "signatureSvg": SIGNATURE}),
        )
        .await;
    assert_error(&answer, 403, "forbidden");
    let listed = ok(cafe.display.api.get("/api/workorders").await, 200);
    assert_eq!(listed[0]["status"], "AWAITING_SIGNATURE");
    ok(cafe.sign(&wo, &cafe.display).await, 200);
    assert_error(&cafe.sign("WO-NOPE", &cafe.display).await, 404, "not_found");
}

#[tokio::test]
async fn a_signature_that_is_not_a_plain_drawing_is_refused() {
    let cafe = Cafe::open().await;
    let wo = cafe.workorder().await;
    cafe.present(&wo, &cafe.display).await;
    let scripted = [
        "<svg><script>alert(1)</script></svg>".to_owned(),
        r#"<svg xmlns="http://www.w3.org/2000/svg"><SCRIPT>alert(1)</SCRIPT></svg>"#.to_owned(),
        r#"<svg onload="alert(1)"><path d="M0 0"/></svg>"#.to_owned(),
        "<svg\nonload=\"alert(1)\"><path d=\"M0 0\"/></svg>".to_owned(),
        "<svg\tonload=\"alert(1)\"><path d=\"M0 0\"/></svg>".to_owned(),
        r#"<svg/onload="alert(1)"><path d="M0 0"/></svg>"#.to_owned(),
        r#"<svg><path d="M0 0" stroke="red"onclick="alert(1)"/></svg>"#.to_owned(),
        r#"<svg><a href="javascript:alert(1)"><path d="M0 0"/></a></svg>"#.to_owned(),
        r#"<svg><foreignObject><iframe src="x"></iframe></foreignObject></svg>"#.to_owned(),
        "a signature".to_owned(),
        String::new(),
    ];
    for svg in scripted {
        let answer = cafe
            .display
            .api
            .post(
                "/api/display/signature",
                json!({"workOrderId": wo, "signerName": "Kim", "signatureSvg": svg}),
            )
            .await;
        assert_eq!(answer.0, 422, "{svg:?} → {}", answer.1);
        assert_error(&answer, 422, "validation");
    }
    let empty_name = cafe
        .display
        .api
        .post(
            "/api/display/signature",
            json!({"workOrderId": wo, "signerName": "", "signatureSvg": SIGNATURE}),
        )
        .await;
    assert_error(&empty_name, 422, "validation");
    let huge = format!(
        "<svg><path d=\"{}\"/></svg>",
        "M0 0 L1 1 ".repeat(210 * 1024 / 10)
    );
    let answer = cafe
        .display
        .api
        .post(
            "/api/display/signature",
            json!({"workOrderId": wo, "signerName": "Kim", "signatureSvg": huge}),
        )
        .await;
    assert_error(&answer, 413, "payload_too_large");
    let listed = ok(cafe.display.api.get("/api/workorders").await, 200);
    assert_eq!(listed[0]["status"], "AWAITING_SIGNATURE");
    assert!(listed[0].get("signature").is_none(), "{listed}");
}

#[tokio::test]
async fn a_display_lists_only_the_workorders_presented_to_it() {
    let cafe = Cafe::open().await;
    let other = cafe.hub.pair(Role::Display).await;
    let shown = cafe.workorder().await;
    let hidden = cafe.workorder().await;
    cafe.present(&shown, &cafe.display).await;

    let mine = ok(cafe.display.api.get("/api/workorders").await, 200);
    assert_eq!(ids(&mine), vec![shown.clone()]);
    let theirs = ok(other.api.get("/api/workorders").await, 200);
    assert_eq!(theirs, json!([]));
    let all = ok(cafe.manager.api.get("/api/workorders").await, 200);
    let mut all = ids(&all);
    all.sort();
    let mut both = vec![shown.clone(), hidden];
    both.sort();
    assert_eq!(all, both);

    // Presented elsewhere, it leaves the first display's list.
    cafe.present(&shown, &other).await;
    assert_eq!(
        ok(cafe.display.api.get("/api/workorders").await, 200),
        json!([])
    );
    assert_eq!(
        ids(&ok(other.api.get("/api/workorders").await, 200)),
        vec![shown]
    );
}

#[tokio::test]
async fn a_malformed_workorder_is_refused_as_validation() {
    let cafe = Cafe::open().await;
    for body in [
        json!({"title": "T", "customerName": "C", "lines": []}),
        json!({"title": "", "customerName": "C", "lines": [{"description": "d", "amount": 1}]}),
        json!({"title": "T", "customerName": "C", "lines": [{"description": "d", "amount": -1}]}),
        json!({"title": "T", "customerName": "C", "lines": [{"description": " ", "amount": 1}]}),
    ] {
        assert_error(
            &cafe.manager.api.post("/api/workorders", body).await,
            422,
            "validation",
        );
    }
    let wo = cafe.workorder().await;
    assert_error(
        &cafe
            .manager
            .api
            .patch(
                &format!("/api/workorders/{wo}/column"),
                json!({"column": ""}),
            )
            .await,
        422,
        "validation",
    );
    assert_error(
        &cafe
            .manager
            .api
            .patch("/api/workorders/WO-NOPE/column", json!({"column": "X"}))
            .await,
        404,
        "not_found",
    );
}
