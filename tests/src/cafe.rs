//! The browser tests' café: a `countertop-hub` process with the demo menu
//! in a temporary data folder, on a port that stays its own across a kill
//! and a start, letting in the pages' origin, with one device of each role
//! paired through the hub's command line.

use anyhow::{Context, Result};
use serde_json::{json, Value};
use tempfile::TempDir;

use crate::driver::free_port;
use crate::hub::{demo_line, HubClient, HubProcess};

pub struct Cafe {
    /// Holds the hub's data folder (`hub/`).
    pub dir: TempDir,
    pub port: u16,
    origins: Vec<String>,
    hub: Option<HubProcess>,
    pub manager: HubClient,
    pub barista: HubClient,
    pub kiosk: HubClient,
    pub display: HubClient,
}

impl Cafe {
    /// A running hub that lets pages of `origins` in, and its devices.
    pub async fn open(origins: &[&str]) -> Result<Cafe> {
        let dir = tempfile::tempdir()?;
        let data = dir.path().join("hub");
        let port = free_port();
        let origins: Vec<String> = origins.iter().map(|o| o.to_string()).collect();
        let hub = HubProcess::start_allowing(&data, port, &origins)?;
        hub.healthy().await?;
        let url = hub.url.clone();
        Ok(Cafe {
            manager: HubClient::pair_at(&url, &data, "manager").await?,
            barista: HubClient::pair_at(&url, &data, "barista").await?,
            kiosk: HubClient::pair_at(&url, &data, "kiosk").await?,
            display: HubClient::pair_at(&url, &data, "display").await?,
            dir,
            port,
            origins,
            hub: Some(hub),
        })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// `ws://127.0.0.1:PORT`.
    pub fn ws_url(&self) -> String {
        format!("ws://127.0.0.1:{}", self.port)
    }

    /// Kills the hub (SIGKILL: no close frames, as a crash or a pulled plug).
    pub fn kill(&mut self) {
        if let Some(mut hub) = self.hub.take() {
            hub.stop();
        }
    }

    /// Starts the hub again on the same port and data folder.
    pub async fn start(&mut self) -> Result<()> {
        let hub =
            HubProcess::start_allowing(&self.dir.path().join("hub"), self.port, &self.origins)?;
        hub.healthy().await?;
        self.hub = Some(hub);
        Ok(())
    }

    /// The kiosk orders `quantity` of menu item `menu_id` (a drink HOT) by
    /// card with idempotency key `key`; the order as the hub answered it.
    pub async fn order_of(&self, key: &str, menu_id: &str, quantity: u32) -> Result<Value> {
        self.kiosk
            .post(
                "/orders",
                &json!({
                    "idempotencyKey": key,
                    "items": [demo_line(menu_id, quantity)],
                    "payType": "CARD",
                }),
            )
            .await
    }

    /// The kiosk orders one Americano (key `key`); returns the order.
    pub async fn order(&self, key: &str) -> Result<Value> {
        self.order_of(key, "americano", 1).await
    }

    /// The barista moves order `order` (as the hub answered it) to `status`.
    pub async fn move_to(&self, order: &Value, status: &str) -> Result<Value> {
        let id = order["orderId"].as_str().context("an orderId")?;
        self.barista
            .patch(
                &format!("/orders/{id}/status"),
                &json!({ "status": status }),
            )
            .await
    }

    /// The barista cancels order `order`.
    pub async fn cancel(&self, order: &Value, reason: &str) -> Result<Value> {
        let id = order["orderId"].as_str().context("an orderId")?;
        self.barista
            .post(
                &format!("/orders/{id}/cancel"),
                &json!({ "reason": reason }),
            )
            .await
    }
}

/// An order's daily number.
pub fn daily_num(order: &Value) -> Result<u64> {
    order["dailyNum"].as_u64().context("a dailyNum")
}
