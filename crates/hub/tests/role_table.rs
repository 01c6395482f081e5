//! The role table of `shared/PROTOCOL.md`: every REST call answers each
//! role (and an anonymous caller) as the table says.

mod support;

use countertop_protocol::Role;
use reqwest::StatusCode;
use serde_json::{json, Value};
use support::{Api, Cafe, SIGNATURE, WAIT};

/// One REST call of the protocol's table, and who may make it.
struct Rule {
    method: &'static str,
    /// Path and body may name fresh things: `{order}`, `{kiosk_order}`,
    /// `{wo}`, `{presented_wo}`, `{approved_wo}`, `{running_wo}` with
    /// `{sid}`, `{code}`, `{victim}`, `{display}`, `{menu_item}`.
    path: &'static str,
    body: Value,
    roles: &'static [Role],
    anonymous: bool,
    /// The status an allowed caller gets.
    status: u16,
    /// A Server-Sent Events stream: only the status and type are read.
    stream: bool,
    /// The body is a small PNG (a menu photo), not JSON.
    image: bool,
}

const ALL: &[Role] = &Role::ALL;
const MANAGER: &[Role] = &[Role::Manager];
const STAFF: &[Role] = &[Role::Barista, Role::Manager];
const READERS: &[Role] = &[Role::Kiosk, Role::Barista, Role::Manager];

fn rule(method: &'static str, path: &'static str, roles: &'static [Role], status: u16) -> Rule {
    Rule {
        method,
        path,
        body: Value::Null,
        roles,
        anonymous: false,
        status,
        stream: false,
        image: false,
    }
}

impl Rule {
    fn body(mut self, body: Value) -> Rule {
        self.body = body;
        self
    }

    fn anonymous(mut self) -> Rule {
        self.anonymous = true;
        self
    }

    fn image(mut self) -> Rule {
        self.image = true;
        self
    }

    fn stream(mut self) -> Rule {
        self.stream = true;
        self
    }
}

fn rules() -> Vec<Rule> {
    let new_order = json!({
        "idempotencyKey": "role-table",
        "items": [support::line("americano", 1)],
        "payType": "CARD"
    });
    let new_workorder = json!({
        "title": "Role table", "customerName": "Park",
        "lines": [{"description": "Check", "amount": 1000}]
    });
    vec![
        rule("GET", "/api/snapshot", ALL, 200).anonymous(),
        rule("GET", "/api/menu", ALL, 200).anonymous(),
        rule("POST", "/api/menu", MANAGER, 201)
            .body(json!({"name": "Role Tart", "category": "Bakery", "price": 100})),
        rule("PATCH", "/api/menu/americano", STAFF, 200).body(json!({"isSoldOut": false})),
        rule("DELETE", "/api/menu/{menu_item}", MANAGER, 204),
        rule("PUT", "/api/menu/americano/photo", MANAGER, 200).image(),
        rule("GET", "/api/menu/americano/photo", ALL, 200).anonymous(),
        rule("GET", "/api/menu/americano/photo/thumb", ALL, 200).anonymous(),
        rule("DELETE", "/api/menu/americano/photo", MANAGER, 200),
        rule("POST", "/api/orders", &[Role::Kiosk, Role::Manager], 201).body(new_order),
        rule("GET", "/api/orders", READERS, 200),
        rule("GET", "/api/orders/{kiosk_order}", READERS, 200),
        rule("GET", "/api/orders/lookup?dailyNum=1", ALL, 200).anonymous(),
        rule("PATCH", "/api/orders/{order}/status", STAFF, 200).body(json!({"status": "MAKING"})),
        rule("POST", "/api/orders/{order}/cancel", STAFF, 200).body(json!({"reason": "roles"})),
        rule("GET", "/api/cells", READERS, 200),
        rule("POST", "/api/cells", MANAGER, 201).body(json!({"name": "Role Cell"})),
        rule("POST", "/api/cells/cell-engineering/charge", MANAGER, 200).body(json!({"amount": 1})),
        rule(
            "POST",
            "/api/cells/cell-engineering/corrections",
            MANAGER,
            200,
        )
        .body(json!({"amount": 1, "reason": "roles"})),
        rule("GET", "/api/cells/cell-engineering/history", MANAGER, 200),
        rule(
            "POST",
            "/api/cells/cell-design/unlock",
            &[Role::Kiosk, Role::Manager],
            200,
        )
        .body(json!({"pin": "1234"})),
        rule("PUT", "/api/cells/cell-front-desk/pin", MANAGER, 200).body(json!({"pin": "3456"})),
        rule("DELETE", "/api/cells/cell-engineering/pin", MANAGER, 200),
        rule("GET", "/api/settings", ALL, 200).anonymous(),
        rule("PUT", "/api/settings/cafe_name", MANAGER, 200).body(json!({"value": "Roles"})),
        rule(
            "GET",
            "/api/workorders",
            &[Role::Display, Role::Manager],
            200,
        ),
        rule("POST", "/api/workorders", MANAGER, 201).body(new_workorder),
        rule("PATCH", "/api/workorders/{wo}/column", MANAGER, 200).body(json!({"column": "Later"})),
        rule("POST", "/api/workorders/{wo}/present", MANAGER, 200)
            .body(json!({"deviceId": "{display}"})),
        rule(
            "POST",
            "/api/workorders/{approved_wo}/sessions",
            MANAGER,
            201,
        )
        .body(json!({})),
        rule(
            "PATCH",
            "/api/workorders/{running_wo}/sessions/{sid}",
            MANAGER,
            200,
        )
        .body(json!({})),
        rule("POST", "/api/display/signature", &[Role::Display], 200).body(json!({
            "workOrderId": "{presented_wo}", "signerName": "Park", "signatureSvg": SIGNATURE
        })),
        rule("POST", "/api/notifications", MANAGER, 201)
            .body(json!({"level": "info", "title": "Roles", "message": "checked"})),
        rule("GET", "/api/stream?topics=orders", STAFF, 200).stream(),
        rule("GET", "/api/stream?topics=board,menu", ALL, 200)
            .anonymous()
            .stream(),
        rule(
            "GET",
            "/api/workorders/stream",
            &[Role::Display, Role::Manager],
            200,
        )
        .stream(),
        rule("GET", "/api/ws/stats", MANAGER, 200),
        rule("GET", "/api/reports/daily", MANAGER, 200),
        rule("GET", "/api/reports/daily/detail", MANAGER, 200),
        rule("GET", "/api/reports/daily.csv", MANAGER, 200),
        rule("GET", "/healthz", ALL, 200).anonymous(),
        rule("GET", "/metrics", ALL, 200).anonymous(),
        rule("POST", "/api/devices/pairing-codes", MANAGER, 201).body(json!({"role": "kiosk"})),
        rule("POST", "/api/devices/pair", ALL, 201)
            .anonymous()
            .body(json!({"code": "{code}"})),
        rule("GET", "/api/devices", MANAGER, 200),
        rule("DELETE", "/api/devices/{victim}", MANAGER, 204),
        rule("POST", "/api/devices/refresh", ALL, 200).body(json!({})),
    ]
}

/// Replaces the placeholders of `template` with things made for this call.
async fn fill(cafe: &Cafe, kiosk_order: &str, template: &str) -> String {
    let mut out = template.replace("{kiosk_order}", kiosk_order);
    out = out.replace("{display}", &cafe.display.id);
    if out.contains("{order}") {
        out = out.replace("{order}", &cafe.order_id().await);
    }
    if out.contains("{presented_wo}") {
        let wo = cafe.workorder().await;
        cafe.present(&wo, &cafe.display).await;
        out = out.replace("{presented_wo}", &wo);
    }
    if out.contains("{approved_wo}") {
        out = out.replace("{approved_wo}", &cafe.approved_workorder().await);
    }
    if out.contains("{running_wo}") {
        let (wo, sid) = cafe.running_workorder().await;
        out = out.replace("{running_wo}", &wo).replace("{sid}", &sid);
    }
    if out.contains("{wo}") {
        out = out.replace("{wo}", &cafe.workorder().await);
    }
    if out.contains("{code}") {
        let code = cafe
            .hub
            .hub
            .create_pairing_code(Role::Kiosk, "role table")
            .await
            .unwrap();
        out = out.replace("{code}", &code.code);
    }
    if out.contains("{menu_item}") {
        let body = json!({"name": "Role Scone", "category": "Bakery", "price": 100});
        let item = support::ok(cafe.manager.api.post("/api/menu", body).await, 201);
        out = out.replace("{menu_item}", item["id"].as_str().unwrap());
    }
    if out.contains("{victim}") {
        out = out.replace("{victim}", &cafe.hub.pair(Role::Kiosk).await.id);
    }
    out
}

async fn call(
    cafe: &Cafe,
    api: &Api,
    token: Option<&str>,
    rule: &Rule,
    path: &str,
    body: Value,
) -> (StatusCode, Value) {
    if rule.image {
        let mut png = std::io::Cursor::new(Vec::new());
        image::RgbImage::from_pixel(4, 4, image::Rgb([120, 80, 40]))
            .write_to(&mut png, image::ImageFormat::Png)
            .unwrap();
        let req = api
            .client()
            .put(cafe.hub.url(path))
            .header("content-type", "image/png")
            .body(png.into_inner());
        return api.raw(req).await;
    }
    if rule.stream {
        let mut req = api.client().get(cafe.hub.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let res = tokio::time::timeout(WAIT, req.send())
            .await
            .expect("stream answers in time")
            .expect("stream answer");
        let status = res.status();
        if !status.is_success() {
            return (status, res.json().await.unwrap_or(Value::Null));
        }
        let kind = res.headers()["content-type"].to_str().unwrap().to_owned();
        assert!(kind.starts_with("text/event-stream"), "{path}: {kind}");
        // Dropping the response closes the stream.
        return (status, Value::Null);
    }
    match rule.method {
        "GET" => api.get(path).await,
        "POST" => api.post(path, body).await,
        "PATCH" => api.patch(path, body).await,
        "PUT" => api.put(path, body).await,
        "DELETE" => api.delete(path).await,
        other => panic!("no such method {other}"),
    }
}

#[tokio::test]
async fn every_rest_call_answers_each_role_as_the_role_table_says() {
    let cafe = Cafe::open().await;
    let kiosk_order = cafe.order(&cafe.kiosk.api, &[("americano", 1)]).await;
    let kiosk_order = kiosk_order["orderId"].as_str().unwrap().to_owned();
    let callers: Vec<(Option<Role>, Api, Option<&str>)> = vec![
        (
            Some(Role::Kiosk),
            cafe.kiosk.api.clone(),
            Some(cafe.kiosk.token.as_str()),
        ),
        (
            Some(Role::Barista),
            cafe.barista.api.clone(),
            Some(cafe.barista.token.as_str()),
        ),
        (
            Some(Role::Display),
            cafe.display.api.clone(),
            Some(cafe.display.token.as_str()),
        ),
        (
            Some(Role::Manager),
            cafe.manager.api.clone(),
            Some(cafe.manager.token.as_str()),
        ),
        (None, cafe.anonymous(), None),
    ];
    let mut failures = Vec::new();
    for rule in rules() {
        for (role, api, token) in &callers {
            let template = format!("{}\n{}", rule.path, rule.body);
            let filled = fill(&cafe, &kiosk_order, &template).await;
            let (path, body) = filled.split_once('\n').unwrap();
            let body: Value = serde_json::from_str(body).unwrap();
            let (status, answer) = call(&cafe, api, *token, &rule, path, body).await;
            let who = role.map_or("anonymous", Role::as_str);
            let allowed = match role {
                Some(r) => rule.roles.contains(r),
                None => rule.anonymous,
            };
            let (want, code) = match (allowed, role) {
                (true, _) => (rule.status, None),
                (false, Some(_)) => (403, Some("forbidden")),
                (false, None) => (401, Some("unauthorized")),
            };
            let code_ok = code.is_none_or(|c| answer["error"]["code"] == c);
            if status != want || !code_ok {
                failures.push(format!(
                    "{} {} as {who}: want {want} {code:?}, got {status} {answer}",
                    rule.method, rule.path
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
