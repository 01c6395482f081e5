//! The REST half of `shared/PROTOCOL.md`, call by call: status codes, error
//! codes, bodies, the role table, tokens, idempotency, money, stock, order
//! statuses, daily numbers, workorders and a restart. Every test drives a
//! real hub over a real socket with a real SQLite file.

mod support;

use chrono::Duration;
use countertop_protocol::{Claims, Role};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::StatusCode;
use serde_json::{json, Value};
use support::{Api, Device, TestHub, WAIT};

/// A plain drawing, as a signature display sends it.
const SIGNATURE: &str = r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><path d="M0 0 L10 10" stroke="black"/></svg>"#;

/// Asserts an answer in the protocol's error shape.
#[track_caller]
fn assert_error(answer: &(StatusCode, Value), status: u16, code: &str) {
    let (got, body) = answer;
    assert_eq!(*got, status, "{body}");
    assert_eq!(body["error"]["code"], code, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "an error carries a message: {body}"
    );
}

/// Asserts a successful answer and hands back its body.
#[track_caller]
fn ok(answer: (StatusCode, Value), status: u16) -> Value {
    let (got, body) = answer;
    assert_eq!(got, status, "{body}");
    body
}

/// A hub with one paired device of each role.
struct Cafe {
    hub: TestHub,
    kiosk: Device,
    barista: Device,
    display: Device,
    manager: Device,
}

impl Cafe {
    async fn open() -> Cafe {
        let hub = TestHub::start().await;
        let kiosk = hub.pair(Role::Kiosk).await;
        let barista = hub.pair(Role::Barista).await;
        let display = hub.pair(Role::Display).await;
        let manager = hub.pair(Role::Manager).await;
        Cafe {
            hub,
            kiosk,
            barista,
            display,
            manager,
        }
    }

    fn anonymous(&self) -> Api {
        self.hub.anonymous()
    }

    /// Places an order through `api` and returns it.
    async fn order(&self, api: &Api, lines: &[(&str, u32)]) -> Value {
        ok(api.order(lines, "CARD").await, 201)
    }

    async fn order_id(&self) -> String {
        let order = self.order(&self.manager.api, &[("americano", 1)]).await;
        order["orderId"].as_str().unwrap().to_owned()
    }

    async fn move_to(&self, order_id: &str, status: &str) {
        let answer = self
            .barista
            .api
            .patch(
                &format!("/api/orders/{order_id}/status"),
                json!({ "status": status }),
            )
            .await;
        assert_eq!(ok(answer, 200)["status"], status);
    }

    async fn workorder(&self) -> String {
        let body = json!({
            "title": "Espresso machine service",
            "customerName": "Kim",
            "lines": [
                {"description": "Descaling", "amount": 30000},
                {"description": "Gasket", "amount": 12000}
            ]
        });
        let wo = ok(self.manager.api.post("/api/workorders", body).await, 201);
        wo["id"].as_str().unwrap().to_owned()
    }

    async fn present(&self, wo: &str, display: &Device) {
        let answer = self
            .manager
            .api
            .post(
                &format!("/api/workorders/{wo}/present"),
                json!({ "deviceId": display.id }),
            )
            .await;
        assert_eq!(ok(answer, 200)["status"], "AWAITING_SIGNATURE");
    }

    async fn sign(&self, wo: &str, display: &Device) -> (StatusCode, Value) {
        display
            .api
            .post(
                "/api/display/signature",
                json!({"workOrderId": wo, "signerName": "Kim", "signatureSvg": SIGNATURE}),
            )
            .await
    }

    async fn approved_workorder(&self) -> String {
        let wo = self.workorder().await;
        self.present(&wo, &self.display).await;
        ok(self.sign(&wo, &self.display).await, 200);
        wo
    }

    /// A workorder with a running work session: (workorder id, session id).
    async fn running_workorder(&self) -> (String, String) {
        let wo = self.approved_workorder().await;
        let answer = self
            .manager
            .api
            .post(&format!("/api/workorders/{wo}/sessions"), json!({}))
            .await;
        let body = ok(answer, 201);
        let sid = body["sessions"][0]["id"].as_str().unwrap().to_owned();
        (wo, sid)
    }

    async fn balance(&self, cell: &str) -> i64 {
        let cells = ok(self.manager.api.get("/api/cells").await, 200);
        cells
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == cell)
            .unwrap_or_else(|| panic!("cell {cell} in {cells}"))["balance"]
            .as_i64()
            .unwrap()
    }

    async fn menu_item(&self, id: &str) -> Value {
        let menu = ok(self.anonymous().get("/api/menu").await, 200);
        menu.as_array()
            .unwrap()
            .iter()
            .find(|m| m["id"] == id)
            .unwrap_or_else(|| panic!("menu item {id} in {menu}"))
            .clone()
    }

    async fn seq(&self) -> u64 {
        ok(self.anonymous().get("/healthz").await, 200)["seq"]
            .as_u64()
            .unwrap()
    }

    /// Runs a `SELECT COUNT(*)` against the hub's database.
    async fn count(&self, sql: &str, binds: &[&str]) -> i64 {
        let mut query = sqlx::query_scalar(sql);
        for b in binds {
            query = query.bind(*b);
        }
        query.fetch_one(self.hub.hub.pool()).await.unwrap()
    }

    fn secret(&self) -> Vec<u8> {
        std::fs::read_to_string(self.hub.dir.path().join("secret.key"))
            .expect("the hub keeps its signing secret in its data folder")
            .trim()
            .as_bytes()
            .to_vec()
    }
}

fn claims_for(device: &Device, role: Role, exp: chrono::DateTime<chrono::Utc>) -> Claims {
    Claims {
        sub: device.id.clone(),
        role,
        name: "test device".into(),
        iat: (exp - Duration::days(365)).timestamp(),
        exp: exp.timestamp(),
        jti: support::rand_suffix(),
    }
}

fn sign_token(claims: &Claims, algorithm: Algorithm, secret: &[u8]) -> String {
    jsonwebtoken::encode(
        &Header::new(algorithm),
        claims,
        &EncodingKey::from_secret(secret),
    )
    .unwrap()
}

fn ids(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap_or_else(|| panic!("a list: {list}"))
        .iter()
        .map(|o| {
            o.get("orderId")
                .or_else(|| o.get("id"))
                .and_then(Value::as_str)
                .unwrap()
                .to_owned()
        })
        .collect()
}

// ---------------------------------------------------------------- tokens

/// The anonymous endpoints a bad token is tried on.
const OPEN_PATHS: [&str; 6] = [
    "/api/menu",
    "/api/settings",
    "/api/snapshot",
    "/api/orders/lookup?dailyNum=1",
    "/healthz",
    "/metrics",
];

async fn assert_refused_everywhere(cafe: &Cafe, token: &str) {
    let api = cafe.anonymous().with_token(token);
    for path in OPEN_PATHS {
        assert_error(&api.get(path).await, 401, "unauthorized");
    }
    assert_error(&api.get("/api/cells").await, 401, "unauthorized");
    assert_error(
        &api.post("/api/devices/refresh", json!({})).await,
        401,
        "unauthorized",
    );
}

#[tokio::test]
async fn anonymous_endpoints_answer_without_a_token() {
    let cafe = Cafe::open().await;
    cafe.order(&cafe.kiosk.api, &[("americano", 1)]).await;
    for path in OPEN_PATHS {
        let (status, body) = cafe.anonymous().get(path).await;
        assert_eq!(status, 200, "{path}: {body}");
    }
}

#[tokio::test]
async fn a_malformed_token_is_refused_even_on_anonymous_endpoints() {
    let cafe = Cafe::open().await;
    assert_refused_everywhere(&cafe, "not-a-jwt").await;
    assert_refused_everywhere(&cafe, "a.b.c").await;

    let (status, body) = cafe
        .anonymous()
        .raw(
            cafe.anonymous()
                .client()
                .get(cafe.hub.url("/api/menu"))
                .header("authorization", "Basic dXNlcjpwYXNz"),
        )
        .await;
    assert_error(&(status, body), 401, "unauthorized");
}

#[tokio::test]
async fn a_token_signed_with_another_secret_is_refused_even_on_anonymous_endpoints() {
    let cafe = Cafe::open().await;
    let future = chrono::Utc::now() + Duration::days(30);
    let claims = claims_for(&cafe.kiosk, Role::Kiosk, future);

    // The same claims signed with the hub's own secret work, so what the
    // forged token lacks is only the right signature.
    let genuine = sign_token(&claims, Algorithm::HS256, &cafe.secret());
    ok(
        cafe.anonymous()
            .with_token(&genuine)
            .get("/api/cells")
            .await,
        200,
    );

    let forged = sign_token(
        &claims,
        Algorithm::HS256,
        b"0000000000000000000000000000000000000000000000000000000000000000",
    );
    assert_refused_everywhere(&cafe, &forged).await;
}

#[tokio::test]
async fn an_expired_token_is_refused_even_on_anonymous_endpoints() {
    let cafe = Cafe::open().await;
    let secret = cafe.secret();
    let live = sign_token(
        &claims_for(
            &cafe.kiosk,
            Role::Kiosk,
            chrono::Utc::now() + Duration::minutes(5),
        ),
        Algorithm::HS256,
        &secret,
    );
    ok(
        cafe.anonymous().with_token(&live).get("/api/cells").await,
        200,
    );

    let expired = sign_token(
        &claims_for(
            &cafe.kiosk,
            Role::Kiosk,
            chrono::Utc::now() - Duration::minutes(5),
        ),
        Algorithm::HS256,
        &secret,
    );
    assert_refused_everywhere(&cafe, &expired).await;
}

#[tokio::test]
async fn a_token_signed_with_another_algorithm_is_refused() {
    let cafe = Cafe::open().await;
    let claims = claims_for(
        &cafe.kiosk,
        Role::Kiosk,
        chrono::Utc::now() + Duration::days(1),
    );
    let hs512 = sign_token(&claims, Algorithm::HS512, &cafe.secret());
    assert_refused_everywhere(&cafe, &hs512).await;
}

#[tokio::test]
async fn a_token_claiming_a_role_its_device_does_not_have_is_refused() {
    let cafe = Cafe::open().await;
    let claims = claims_for(
        &cafe.kiosk,
        Role::Manager,
        chrono::Utc::now() + Duration::days(1),
    );
    let promoted = sign_token(&claims, Algorithm::HS256, &cafe.secret());
    assert_refused_everywhere(&cafe, &promoted).await;
}

#[tokio::test]
async fn a_revoked_token_stops_working_at_once_even_on_anonymous_endpoints() {
    let cafe = Cafe::open().await;
    ok(cafe.kiosk.api.get("/api/menu").await, 200);
    ok(cafe.kiosk.api.get("/healthz").await, 200);

    let (status, _) = cafe
        .manager
        .api
        .delete(&format!("/api/devices/{}", cafe.kiosk.id))
        .await;
    assert_eq!(status, 204);

    assert_refused_everywhere(&cafe, &cafe.kiosk.token).await;
    let devices = ok(cafe.manager.api.get("/api/devices").await, 200);
    assert!(!ids(&devices).contains(&cafe.kiosk.id), "{devices}");
    assert_error(
        &cafe
            .manager
            .api
            .delete(&format!("/api/devices/{}", cafe.kiosk.id))
            .await,
        404,
        "not_found",
    );
    // The other devices are untouched.
    ok(cafe.barista.api.get("/api/orders").await, 200);
}

#[tokio::test]
async fn a_token_in_the_query_string_is_checked_like_the_header() {
    let cafe = Cafe::open().await;
    let anonymous = cafe.anonymous();
    let url = cafe
        .hub
        .url(&format!("/api/cells?token={}", cafe.kiosk.token));
    ok(anonymous.raw(anonymous.client().get(url)).await, 200);
    let url = cafe.hub.url("/api/menu?token=not-a-jwt");
    assert_error(
        &anonymous.raw(anonymous.client().get(url)).await,
        401,
        "unauthorized",
    );
}

#[tokio::test]
async fn refreshing_a_token_gives_a_fresh_year_long_token_for_the_same_device() {
    let cafe = Cafe::open().await;
    for device in [&cafe.kiosk, &cafe.barista, &cafe.display, &cafe.manager] {
        let fresh = ok(
            device.api.post("/api/devices/refresh", json!({})).await,
            200,
        );
        assert_eq!(fresh["deviceId"], device.id.as_str());
        assert_eq!(fresh["role"], device.role.as_str());
        let token = fresh["token"].as_str().unwrap();
        assert_ne!(token, device.token);
        let expires: chrono::DateTime<chrono::Utc> =
            fresh["expiresAt"].as_str().unwrap().parse().unwrap();
        let days = (expires - chrono::Utc::now()).num_days();
        assert!((364..=365).contains(&days), "{fresh}");
        ok(
            cafe.anonymous()
                .with_token(token)
                .get("/api/snapshot")
                .await,
            200,
        );
    }
    assert_error(
        &cafe
            .anonymous()
            .post("/api/devices/refresh", json!({}))
            .await,
        401,
        "unauthorized",
    );
}

// --------------------------------------------------------------- pairing

#[tokio::test]
async fn a_pairing_code_pairs_exactly_one_device() {
    let cafe = Cafe::open().await;
    let code = ok(
        cafe.manager
            .api
            .post(
                "/api/devices/pairing-codes",
                json!({"role": "barista", "name": "Bar 2"}),
            )
            .await,
        201,
    );
    let digits = code["code"].as_str().unwrap();
    assert!(
        digits.len() == 6 && digits.bytes().all(|b| b.is_ascii_digit()),
        "{code}"
    );
    let expires: chrono::DateTime<chrono::Utc> =
        code["expiresAt"].as_str().unwrap().parse().unwrap();
    let minutes = (expires - chrono::Utc::now()).num_minutes();
    assert!((9..=10).contains(&minutes), "{code}");

    let paired = ok(
        cafe.anonymous()
            .post("/api/devices/pair", json!({ "code": digits }))
            .await,
        201,
    );
    assert_eq!(paired["role"], "barista");
    assert_eq!(paired["name"], "Bar 2");
    let device_id = paired["deviceId"].as_str().unwrap();
    let bar2 = cafe
        .anonymous()
        .with_token(paired["token"].as_str().unwrap());
    ok(bar2.get("/api/orders").await, 200);

    let devices = ok(cafe.manager.api.get("/api/devices").await, 200);
    let listed = devices
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["id"] == device_id)
        .unwrap_or_else(|| panic!("{device_id} in {devices}"));
    assert_eq!(listed["role"], "barista");
    assert_eq!(listed["connected"], false);

    assert_error(
        &cafe
            .anonymous()
            .post("/api/devices/pair", json!({ "code": digits }))
            .await,
        401,
        "unauthorized",
    );
}

#[tokio::test]
async fn the_sixth_wrong_pairing_code_within_a_minute_is_rate_limited() {
    let cafe = Cafe::open().await;
    let good = ok(
        cafe.manager
            .api
            .post("/api/devices/pairing-codes", json!({"role": "kiosk"}))
            .await,
        201,
    );
    // Five wrong codes are told they are wrong: one is not six digits, one
    // was used already, three are near the right one but not it.
    let right: u32 = good["code"].as_str().unwrap().parse().unwrap();
    let near = |n: u32| format!("{:06}", (right + n) % 1_000_000);
    let used = cafe
        .hub
        .hub
        .create_pairing_code(Role::Kiosk, "spent")
        .await
        .unwrap()
        .code;
    ok(
        cafe.anonymous()
            .post("/api/devices/pair", json!({ "code": used }))
            .await,
        201,
    );
    for wrong in ["12345".to_owned(), used, near(1), near(2), near(3)] {
        assert_error(
            &cafe
                .anonymous()
                .post("/api/devices/pair", json!({ "code": wrong }))
                .await,
            401,
            "unauthorized",
        );
    }
    assert_error(
        &cafe
            .anonymous()
            .post("/api/devices/pair", json!({ "code": near(4) }))
            .await,
        429,
        "rate_limited",
    );
    // Within the minute even a right code waits.
    assert_error(
        &cafe
            .anonymous()
            .post("/api/devices/pair", json!({ "code": good["code"] }))
            .await,
        429,
        "rate_limited",
    );
}

#[tokio::test]
async fn a_pairing_code_expires_after_ten_minutes() {
    let cafe = Cafe::open().await;
    let code = ok(
        cafe.manager
            .api
            .post("/api/devices/pairing-codes", json!({"role": "kiosk"}))
            .await,
        201,
    );
    cafe.hub.hub.clock.advance(Duration::minutes(11));
    assert_error(
        &cafe
            .anonymous()
            .post("/api/devices/pair", json!({ "code": code["code"] }))
            .await,
        401,
        "unauthorized",
    );
}

#[tokio::test]
async fn only_a_manager_makes_pairing_codes_and_lists_or_revokes_devices() {
    let cafe = Cafe::open().await;
    for device in [&cafe.kiosk, &cafe.barista, &cafe.display] {
        assert_error(
            &device
                .api
                .post("/api/devices/pairing-codes", json!({"role": "manager"}))
                .await,
            403,
            "forbidden",
        );
        assert_error(&device.api.get("/api/devices").await, 403, "forbidden");
        assert_error(
            &device
                .api
                .delete(&format!("/api/devices/{}", cafe.display.id))
                .await,
            403,
            "forbidden",
        );
    }
    assert_error(
        &cafe
            .anonymous()
            .post("/api/devices/pairing-codes", json!({"role": "manager"}))
            .await,
        401,
        "unauthorized",
    );
    // Nobody was revoked by the refused calls.
    ok(cafe.display.api.get("/api/workorders").await, 200);
    assert_error(
        &cafe
            .manager
            .api
            .post("/api/devices/pairing-codes", json!({"role": "chef"}))
            .await,
        422,
        "validation",
    );
}

// ---------------------------------------------------------------- orders

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
                    {"menuId": "americano", "quantity": 2, "options": {"shot": "extra"}},
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
    assert_eq!(order["totalAmount"], 2 * 4000 + 3500);
    assert_eq!(
        order["items"][0],
        json!({"menuId": "americano", "menuName": "Americano", "quantity": 2,
               "unitPrice": 4000, "totalPrice": 8000, "options": {"shot": "extra"}})
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
        "items": [{"menuId": "latte", "quantity": 1}],
        "payType": "CARD"
    });
    let first = ok(cafe.kiosk.api.post("/api/orders", body.clone()).await, 201);
    let again = ok(cafe.kiosk.api.post("/api/orders", body.clone()).await, 200);
    assert_eq!(first, again);
    let id = first["orderId"].as_str().unwrap();

    assert_eq!(
        cafe.count(
            "SELECT COUNT(*) FROM orders WHERE idempotency_key = ?",
            &["retry-me"]
        )
        .await,
        1
    );
    assert_eq!(
        cafe.count(
            "SELECT COUNT(*) FROM events WHERE name = 'order:created' AND json_extract(data, '$.orderId') = ?",
            &[id],
        )
        .await,
        1
    );
    assert_eq!(
        cafe.count(
            "SELECT COUNT(*) FROM events WHERE name = ?",
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
            "SELECT COUNT(*) FROM events WHERE name = 'menu:sold_out_changed' AND json_extract(data, '$.menuId') = ?",
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
                    "items": [{"menuId": "latte", "quantity": 2}],
                    "payType": "CELL",
                    "cellId": "cell-design"
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
    assert!(cells
        .as_array()
        .unwrap()
        .contains(&json!({"id": "cell-design", "name": "Design Team", "balance": 41_000})));

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
            "SELECT COUNT(*) FROM events WHERE name = 'cell:balance_changed' AND json_extract(data, '$.type') = ?",
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
                "cellId": "cell-front-desk"
            }),
        )
        .await;
    assert_error(&answer, 409, "insufficient_balance");
    assert_eq!(cafe.balance("cell-front-desk").await, 8_000);
    assert_eq!(cafe.menu_item("cheesecake").await["stock"], 8);
    assert_eq!(cafe.seq().await, 0);
    // Exactly the balance is enough.
    let exact = cafe
        .kiosk
        .api
        .post(
            "/api/orders",
            json!({
                "idempotencyKey": "exact",
                "items": [{"menuId": "americano", "quantity": 2}],
                "payType": "CELL",
                "cellId": "cell-front-desk"
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
        "items": [{"menuId": "americano", "quantity": 1}],
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
    let item = |menu: &str, quantity: u32| json!([{"menuId": menu, "quantity": quantity}]);
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
            "SELECT COUNT(*) FROM events WHERE name = 'order:status_changed' AND json_extract(data, '$.orderId') = ?",
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
    let legal = |from: &str| match from {
        "PENDING" => Some("MAKING"),
        "MAKING" => Some("READY"),
        "READY" => Some("COMPLETED"),
        _ => None,
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
                    let next = legal(at).unwrap();
                    cafe.move_to(&id, next).await;
                    at = next;
                }
            }
        }
        for to in all {
            if legal(from) == Some(to) {
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
            "SELECT COUNT(*) FROM events WHERE name = ?",
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

// ------------------------------------------------------------------ menu

#[tokio::test]
async fn a_manager_adds_and_changes_menu_items() {
    let cafe = Cafe::open().await;
    let menu = ok(cafe.anonymous().get("/api/menu").await, 200);
    assert_eq!(menu.as_array().unwrap().len(), 12);
    assert_eq!(
        menu[0],
        json!({"id": "americano", "name": "Americano", "category": "Coffee", "price": 4000, "isSoldOut": false})
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
               "price": 5500, "isSoldOut": false, "stock": 4})
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

// ----------------------------------------------------------------- cells

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
        json!({"id": id, "name": "Night Shift", "balance": 1500})
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

// -------------------------------------------------------------- settings

#[tokio::test]
async fn settings_are_read_by_anyone_and_written_by_a_manager_with_checked_values() {
    let cafe = Cafe::open().await;
    let settings = ok(cafe.anonymous().get("/api/settings").await, 200);
    assert_eq!(settings["currency"], "KRW");
    assert_eq!(settings["is_kiosk_active"], "true");

    let put = ok(
        cafe.manager
            .api
            .put("/api/settings/is_kiosk_active", json!({"value": "false"}))
            .await,
        200,
    );
    assert_eq!(put, json!({"key": "is_kiosk_active", "value": "false"}));
    let settings = ok(cafe.kiosk.api.get("/api/settings").await, 200);
    assert_eq!(settings["is_kiosk_active"], "false");
    let changed = cafe
        .count(
            "SELECT COUNT(*) FROM events WHERE name = 'settings:changed' AND json_extract(data, '$.updatedBy.id') = ?",
            &[&cafe.manager.id],
        )
        .await;
    assert_eq!(changed, 1);

    for (key, value) in [
        ("is_kiosk_active", "yes"),
        ("is_kiosk_active", "TRUE"),
        ("is_kiosk_active", ""),
        ("currency", "krw"),
        ("timer_red_minutes", "0"),
        ("Bad-Key", "x"),
    ] {
        let answer = cafe
            .manager
            .api
            .put(&format!("/api/settings/{key}"), json!({ "value": value }))
            .await;
        assert_eq!(answer.0, 422, "{key}={value}: {}", answer.1);
        assert_error(&answer, 422, "validation");
    }
    let settings = ok(cafe.anonymous().get("/api/settings").await, 200);
    assert_eq!(settings["is_kiosk_active"], "false");
    assert_eq!(settings["currency"], "KRW");
    assert_error(
        &cafe
            .barista
            .api
            .put("/api/settings/is_kiosk_active", json!({"value": "true"}))
            .await,
        403,
        "forbidden",
    );
}

// ------------------------------------------------------------ workorders

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

// --------------------------------------------------------- notifications

#[tokio::test]
async fn a_manager_notification_is_announced_as_a_system_event() {
    let cafe = Cafe::open().await;
    let before = cafe.seq().await;
    let note = ok(
        cafe.manager
            .api
            .post(
                "/api/notifications",
                json!({"level": "warning", "title": "Milk", "message": "Two litres left"}),
            )
            .await,
        201,
    );
    assert!(
        note["id"].as_str().is_some_and(|id| !id.is_empty()),
        "{note}"
    );
    assert_eq!(note["level"], "warning");
    assert_eq!(note["title"], "Milk");
    assert_eq!(note["message"], "Two litres left");
    assert!(note["timestamp"].is_string(), "{note}");
    assert_eq!(cafe.seq().await, before + 1);
    assert_eq!(
        cafe.count(
            "SELECT COUNT(*) FROM events WHERE name = 'system:notification' AND json_extract(data, '$.id') = ?",
            &[note["id"].as_str().unwrap()],
        )
        .await,
        1
    );
    for bad in [
        json!({"level": "panic", "title": "t", "message": "m"}),
        json!({"level": "info", "title": "", "message": "m"}),
        json!({"level": "info", "title": "t"}),
    ] {
        assert_error(
            &cafe.manager.api.post("/api/notifications", bad).await,
            422,
            "validation",
        );
    }
    assert_error(
        &cafe
            .barista
            .api
            .post(
                "/api/notifications",
                json!({"level": "info", "title": "t", "message": "m"}),
            )
            .await,
        403,
        "forbidden",
    );
}

// -------------------------------------------------------------- snapshot

#[tokio::test]
async fn the_snapshot_holds_what_each_role_may_read() {
    let cafe = Cafe::open().await;
    let other_kiosk = cafe.hub.pair(Role::Kiosk).await;
    let other_display = cafe.hub.pair(Role::Display).await;
    let mine = cafe.order(&cafe.kiosk.api, &[("americano", 1)]).await;
    let theirs = cafe.order(&other_kiosk.api, &[("latte", 1)]).await;
    let shown = cafe.workorder().await;
    let elsewhere = cafe.workorder().await;
    cafe.present(&shown, &cafe.display).await;
    cafe.present(&elsewhere, &other_display).await;
    let unpresented = cafe.workorder().await;
    let seq = cafe.seq().await;
    let epoch = ok(cafe.anonymous().get("/healthz").await, 200)["epoch"].clone();
    let mine_id = mine["orderId"].as_str().unwrap().to_owned();
    let theirs_id = theirs["orderId"].as_str().unwrap().to_owned();

    let anon = ok(cafe.anonymous().get("/api/snapshot").await, 200);
    assert_eq!(anon["seq"], seq);
    assert_eq!(anon["epoch"], epoch);
    assert_eq!(anon["menu"].as_array().unwrap().len(), 12);
    assert_eq!(anon["settings"]["currency"], "KRW");
    assert_eq!(anon["orders"], json!([]));
    assert!(anon.get("cells").is_none(), "{anon}");
    assert!(anon.get("workorders").is_none(), "{anon}");

    let kiosk = ok(cafe.kiosk.api.get("/api/snapshot").await, 200);
    assert_eq!(ids(&kiosk["orders"]), vec![mine_id.clone()]);
    assert_eq!(kiosk["cells"].as_array().unwrap().len(), 3);
    assert!(kiosk.get("workorders").is_none(), "{kiosk}");

    let display = ok(cafe.display.api.get("/api/snapshot").await, 200);
    assert_eq!(ids(&display["workorders"]), vec![shown.clone()]);
    assert_eq!(display["orders"], json!([]));
    assert!(display.get("cells").is_none(), "{display}");

    let barista = ok(cafe.barista.api.get("/api/snapshot").await, 200);
    let mut seen = ids(&barista["orders"]);
    seen.sort();
    let mut both = vec![mine_id.clone(), theirs_id.clone()];
    both.sort();
    assert_eq!(seen, both);
    assert_eq!(barista["cells"].as_array().unwrap().len(), 3);
    assert!(barista.get("workorders").is_none(), "{barista}");

    let manager = ok(cafe.manager.api.get("/api/snapshot").await, 200);
    let mut seen = ids(&manager["orders"]);
    seen.sort();
    assert_eq!(seen, both);
    assert_eq!(manager["cells"].as_array().unwrap().len(), 3);
    let mut seen = ids(&manager["workorders"]);
    seen.sort();
    let mut every = vec![shown, elsewhere, unpresented];
    every.sort();
    assert_eq!(seen, every);
    assert_eq!(manager["seq"], seq);
}

// ------------------------------------------------- health, metrics, stats

#[tokio::test]
async fn healthz_reports_the_newest_seq_and_the_epoch() {
    let cafe = Cafe::open().await;
    let health = ok(cafe.anonymous().get("/healthz").await, 200);
    assert_eq!(health["status"], "ok");
    assert_eq!(health["seq"], 0);
    assert!(health["epoch"].as_str().is_some_and(|e| !e.is_empty()));
    ok(
        cafe.manager
            .api
            .put("/api/settings/cafe_name", json!({"value": "Corner"}))
            .await,
        200,
    );
    let after = ok(cafe.anonymous().get("/healthz").await, 200);
    assert_eq!(after["seq"], 1);
    assert_eq!(after["epoch"], health["epoch"]);
}

#[tokio::test]
async fn metrics_are_prometheus_text_for_anyone() {
    let cafe = Cafe::open().await;
    cafe.order(&cafe.kiosk.api, &[("americano", 1)]).await;
    let seq = cafe.seq().await;
    let response = tokio::time::timeout(
        WAIT,
        reqwest::Client::new().get(cafe.hub.url("/metrics")).send(),
    )
    .await
    .expect("metrics in time")
    .expect("metrics answer");
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(content_type.starts_with("text/plain"), "{content_type}");
    let text = response.text().await.unwrap();
    assert!(text.contains("# TYPE countertop_event_seq gauge"), "{text}");
    assert!(
        text.lines()
            .any(|l| l == format!("countertop_event_seq {seq}")),
        "{text}"
    );
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let (name, value) = line.rsplit_once(' ').unwrap();
        assert!(!name.is_empty() && value.parse::<f64>().is_ok(), "{line}");
    }
}

#[tokio::test]
async fn ws_stats_are_for_managers_and_count_open_connections() {
    let cafe = Cafe::open().await;
    let stats = ok(cafe.manager.api.get("/api/ws/stats").await, 200);
    assert_eq!(stats["totalConnections"], 0);
    assert_eq!(stats["totalDevices"], 0);
    assert_eq!(stats["topics"], json!({}));

    let mut ws = cafe.hub.connect(Some(&cafe.barista)).await;
    assert_eq!(ws.next().await["event"], "welcome");
    ws.subscribe(&["orders", "menu"]).await;
    cafe.order(&cafe.kiosk.api, &[("americano", 1)]).await;
    let seq = cafe.seq().await;
    let stats = ok(cafe.manager.api.get("/api/ws/stats").await, 200);
    assert_eq!(stats["totalConnections"], 1, "{stats}");
    assert_eq!(stats["totalDevices"], 1, "{stats}");
    assert_eq!(stats["topics"]["orders"], 1, "{stats}");
    assert_eq!(stats["topics"]["menu"], 1, "{stats}");
    assert_eq!(stats["seq"], seq);
    assert_eq!(stats["eventsRetained"], seq);

    for device in [&cafe.kiosk, &cafe.barista, &cafe.display] {
        assert_error(&device.api.get("/api/ws/stats").await, 403, "forbidden");
    }
    assert_error(
        &cafe.anonymous().get("/api/ws/stats").await,
        401,
        "unauthorized",
    );
}

// ------------------------------------------------------------- body size

#[tokio::test]
async fn a_body_over_256_kib_is_refused_as_payload_too_large() {
    let cafe = Cafe::open().await;
    let note = "x".repeat(300 * 1024);
    let answer = cafe
        .kiosk
        .api
        .post(
            "/api/orders",
            json!({
                "idempotencyKey": "big",
                "items": [{"menuId": "americano", "quantity": 1, "options": {"note": note}}],
                "payType": "CARD"
            }),
        )
        .await;
    assert_error(&answer, 413, "payload_too_large");
    let answer = cafe
        .manager
        .api
        .post(
            "/api/notifications",
            json!({"level": "info", "title": "t", "message": note}),
        )
        .await;
    assert_error(&answer, 413, "payload_too_large");
    assert_eq!(cafe.seq().await, 0);

    // A call whose body is optional answers in the same shape.
    let (wo, sid) = cafe.running_workorder().await;
    let answer = cafe
        .manager
        .api
        .patch(
            &format!("/api/workorders/{wo}/sessions/{sid}"),
            json!({ "done": note }),
        )
        .await;
    assert_error(&answer, 413, "payload_too_large");
}

// --------------------------------------------------------------- restart

#[tokio::test]
async fn seq_orders_and_tokens_survive_a_restart_of_the_hub() {
    let hub = TestHub::start().await;
    let manager = hub.pair(Role::Manager).await;
    let kiosk = hub.pair(Role::Kiosk).await;
    ok(kiosk.api.order(&[("americano", 1)], "CARD").await, 201);
    ok(
        manager
            .api
            .put("/api/settings/cafe_name", json!({"value": "Before"}))
            .await,
        200,
    );
    let before = ok(hub.anonymous().get("/healthz").await, 200);
    let seq = before["seq"].as_u64().unwrap();
    assert!(seq > 0);

    let dir = hub.stop().await;
    let hub = TestHub::start_in(dir, |_| {}).await;
    let manager = hub.anonymous().with_token(&manager.token);
    let kiosk = hub.anonymous().with_token(&kiosk.token);

    let after = ok(manager.get("/healthz").await, 200);
    assert_eq!(after["seq"], seq);
    assert_eq!(after["epoch"], before["epoch"]);
    assert_eq!(
        ok(manager.get("/api/settings").await, 200)["cafe_name"],
        "Before"
    );

    ok(
        manager
            .put("/api/settings/cafe_name", json!({"value": "After"}))
            .await,
        200,
    );
    let next = ok(hub.anonymous().get("/healthz").await, 200);
    assert_eq!(next["seq"], seq + 1);
    let name: String = sqlx::query_scalar("SELECT name FROM events WHERE seq = ?")
        .bind(i64::try_from(seq + 1).unwrap())
        .fetch_one(hub.hub.pool())
        .await
        .unwrap();
    assert_eq!(name, "settings:changed");

    let order = ok(kiosk.order(&[("latte", 1)], "CARD").await, 201);
    assert_eq!(order["dailyNum"], 2);
    assert_eq!(
        ok(kiosk.get("/api/orders").await, 200)
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

// ------------------------------------------------------------ role table

/// One REST call of the protocol's table, and who may make it.
struct Rule {
    method: &'static str,
    /// Path and body may name fresh things: `{order}`, `{kiosk_order}`,
    /// `{wo}`, `{presented_wo}`, `{approved_wo}`, `{running_wo}` with
    /// `{sid}`, `{code}`, `{victim}`, `{display}`.
    path: &'static str,
    body: Value,
    roles: &'static [Role],
    anonymous: bool,
    /// The status an allowed caller gets.
    status: u16,
    /// A Server-Sent Events stream: only the status and type are read.
    stream: bool,
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

    fn stream(mut self) -> Rule {
        self.stream = true;
        self
    }
}

fn rules() -> Vec<Rule> {
    let new_order = json!({
        "idempotencyKey": "role-table",
        "items": [{"menuId": "americano", "quantity": 1}],
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
        rule("POST", "/api/orders", &[Role::Kiosk, Role::Manager], 201).body(new_order),
        rule("GET", "/api/orders", READERS, 200),
        rule("GET", "/api/orders/{kiosk_order}", READERS, 200),
        rule("GET", "/api/orders/lookup?dailyNum=1", ALL, 200).anonymous(),
        rule("PATCH", "/api/orders/{order}/status", STAFF, 200).body(json!({"status": "MAKING"})),
        rule("POST", "/api/orders/{order}/cancel", STAFF, 200).body(json!({"reason": "roles"})),
        rule("GET", "/api/cells", READERS, 200),
        rule("POST", "/api/cells", MANAGER, 201).body(json!({"name": "Role Cell"})),
        rule("POST", "/api/cells/cell-engineering/charge", MANAGER, 200).body(json!({"amount": 1})),
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
