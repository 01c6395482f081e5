//! The fixture of the REST tests: a hub with one paired device of each
//! role (`Cafe`), and the checks on the protocol's answer shapes.

use countertop_protocol::Role;
use reqwest::StatusCode;
use serde_json::{json, Value};

use super::{Api, Device, TestHub};

/// A plain drawing, as a signature display sends it.
pub const SIGNATURE: &str = r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><path d="M0 0 L10 10" stroke="black"/></svg>"#;

/// Asserts an answer in the protocol's error shape.
#[track_caller]
pub fn assert_error(answer: &(StatusCode, Value), status: u16, code: &str) {
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
pub fn ok(answer: (StatusCode, Value), status: u16) -> Value {
    let (got, body) = answer;
    assert_eq!(got, status, "{body}");
    body
}

/// A hub with one paired device of each role.
pub struct Cafe {
    pub hub: TestHub,
    pub kiosk: Device,
    pub barista: Device,
    pub display: Device,
    pub manager: Device,
    /// The newest `seq` once the four are paired: each pairing is told to
    /// the managers' notices (one event each).
    pub opened_at_seq: u64,
}

impl Cafe {
    pub async fn open() -> Cafe {
        let hub = TestHub::start().await;
        let kiosk = hub.pair(Role::Kiosk).await;
        let barista = hub.pair(Role::Barista).await;
        let display = hub.pair(Role::Display).await;
        let manager = hub.pair(Role::Manager).await;
        let mut cafe = Cafe {
            hub,
            kiosk,
            barista,
            display,
            manager,
            opened_at_seq: 0,
        };
        cafe.opened_at_seq = cafe.seq().await;
        cafe
    }

    pub fn anonymous(&self) -> Api {
        self.hub.anonymous()
    }

    /// Places an order through `api` and returns it.
    pub async fn order(&self, api: &Api, lines: &[(&str, u32)]) -> Value {
        ok(api.order(lines, "CARD").await, 201)
    }

    pub async fn order_id(&self) -> String {
        let order = self.order(&self.manager.api, &[("americano", 1)]).await;
        order["orderId"].as_str().unwrap().to_owned()
    }

    pub async fn move_to(&self, order_id: &str, status: &str) {
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

    pub async fn workorder(&self) -> String {
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

    pub async fn present(&self, wo: &str, display: &Device) {
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

    pub async fn sign(&self, wo: &str, display: &Device) -> (StatusCode, Value) {
        display
            .api
            .post(
                "/api/display/signature",
                json!({"workOrderId": wo, "signerName": "Kim", "signatureSvg": SIGNATURE}),
            )
            .await
    }

    pub async fn approved_workorder(&self) -> String {
        let wo = self.workorder().await;
        self.present(&wo, &self.display).await;
        ok(self.sign(&wo, &self.display).await, 200);
        wo
    }

    /// A workorder with a running work session: (workorder id, session id).
    pub async fn running_workorder(&self) -> (String, String) {
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

    pub async fn balance(&self, cell: &str) -> i64 {
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

    pub async fn menu_item(&self, id: &str) -> Value {
        let menu = ok(self.anonymous().get("/api/menu").await, 200);
        menu.as_array()
            .unwrap()
            .iter()
            .find(|m| m["id"] == id)
            .unwrap_or_else(|| panic!("menu item {id} in {menu}"))
            .clone()
    }

    pub async fn seq(&self) -> u64 {
        ok(self.anonymous().get("/healthz").await, 200)["seq"]
            .as_u64()
            .unwrap()
    }

    /// Runs a `SELECT COUNT(*)` against the hub's database.
    pub async fn count(&self, sql: &str, binds: &[&str]) -> i64 {
        countertop_hub::on_pool!(self.hub.hub.pool(), |pool| {
            let mut query = sqlx::query_scalar(sql);
            for b in binds {
                query = query.bind(*b);
            }
            query.fetch_one(pool).await.unwrap()
        })
    }

    pub fn secret(&self) -> Vec<u8> {
        std::fs::read_to_string(self.hub.dir.path().join("secret.key"))
            .expect("the hub keeps its signing secret in its data folder")
            .trim()
            .as_bytes()
            .to_vec()
    }
}

pub fn ids(list: &Value) -> Vec<String> {
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
