//! The hub's REST API as a test drives it.

use std::collections::BTreeMap;
use std::time::Duration;

use countertop_protocol::{MenuItem, Order, OrderStatus};
use serde_json::{json, Value};
use tokio::time::Instant;

use super::hub::Hub;

/// The hub's REST API as one device, straight to the hub (no proxy).
#[derive(Clone)]
pub struct Api {
    pub device_id: String,
    pub base: String,
    pub token: String,
    http: reqwest::Client,
}

impl Api {
    pub async fn pair(hub: &Hub, role: &str, name: &str) -> Api {
        let code = hub.pairing_code(role, name);
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap();
        let paired: Value = http
            .post(format!("{}/api/devices/pair", hub.url()))
            .json(&json!({ "code": code }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        Api {
            device_id: paired["deviceId"].as_str().expect("a device id").to_owned(),
            base: hub.url(),
            token: paired["token"]
                .as_str()
                .expect("pairing gives a token")
                .to_owned(),
            http,
        }
    }

    /// Sends until the hub answers (it may be restarting); returns status and body.
    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> (u16, Value) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let mut request = self
                .http
                .request(method.clone(), format!("{}{}", self.base, path))
                .bearer_auth(&self.token);
            if let Some(body) = body {
                request = request.json(body);
            }
            match request.send().await {
                Ok(response) => {
                    let status = response.status().as_u16();
                    let body = response.json().await.unwrap_or(Value::Null);
                    if status < 500 {
                        return (status, body);
                    }
                }
                Err(e) => assert!(
                    Instant::now() < deadline,
                    "hub unreachable for a minute: {e}"
                ),
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn orders(&self) -> BTreeMap<String, OrderStatus> {
        let (status, body) = self
            .send(reqwest::Method::GET, "/api/orders?limit=5000", None)
            .await;
        assert_eq!(status, 200, "{body}");
        let orders: Vec<Order> = serde_json::from_value(body).expect("a list of orders");
        orders.into_iter().map(|o| (o.order_id, o.status)).collect()
    }

    pub async fn menu(&self) -> Vec<MenuItem> {
        let (status, body) = self.send(reqwest::Method::GET, "/api/menu", None).await;
        assert_eq!(status, 200, "{body}");
        serde_json::from_value(body).expect("a menu")
    }
}
