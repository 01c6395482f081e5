//! A hub seen from outside the app: pairing codes from its command line, a
//! device talking REST to it, and a hub process of its own.

use std::path::Path;
use std::process::{Child, Command, Stdio};

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};

use crate::driver::hub_binary;
use crate::wait::until;

/// The hub a hosting instance started (its port is free-picked on each start).
pub fn hub_url(data: &Path) -> Result<String> {
    let text = std::fs::read_to_string(data.join("hub.json")).context("reading hub.json")?;
    let note: Value = serde_json::from_str(&text)?;
    Ok(note["url"]
        .as_str()
        .context("hub.json has a url")?
        .to_owned())
}

/// A one-off pairing code from the hub's own command line (made directly
/// in the database in `hub_data`).
pub fn pairing_code(hub_data: &Path, role: &str) -> Result<String> {
    let hub_bin = hub_binary();
    let out = Command::new(&hub_bin)
        .args(["pairing-code", "--role", role, "--data"])
        .arg(hub_data)
        .output()
        .with_context(|| format!("running {}", hub_bin.display()))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let code: Value = serde_json::from_str(text.trim()).with_context(|| {
        format!(
            "pairing-code printed {text:?} ({})",
            String::from_utf8_lossy(&out.stderr)
        )
    })?;
    Ok(code["code"].as_str().context("a code")?.to_owned())
}

/// The demo café's drinks: each has a required Temperature group.
const DEMO_DRINKS: [&str; 9] = [
    "americano",
    "latte",
    "cappuccino",
    "vanilla-latte",
    "flat-white",
    "espresso",
    "green-tea",
    "earl-grey",
    "chamomile",
];

/// An order line of `quantity` of the demo café's `menu_id` as the hub
/// takes it: a drink HOT (its required Temperature; HOT adds nothing to
/// the price), anything else without options.
pub fn demo_line(menu_id: &str, quantity: u32) -> Value {
    if DEMO_DRINKS.contains(&menu_id) {
        json!({"menuId": menu_id, "quantity": quantity,
               "options": [{"groupId": "temperature", "choiceId": "hot"}]})
    } else {
        json!({"menuId": menu_id, "quantity": quantity})
    }
}

/// A device paired with a hosting instance's hub through the hub's own
/// command line, talking REST (a manager, or a kiosk to place orders).
pub struct HubClient {
    pub url: String,
    /// The device's bearer token (a browser test hands it to a page).
    pub token: String,
    /// The device's id, as pairing answered it.
    pub device_id: String,
    http: reqwest::Client,
}

impl HubClient {
    /// Pairs a manager with the hub an instance with data folder `data` hosts.
    pub async fn manager(data: &Path) -> Result<HubClient> {
        HubClient::pair(data, "manager").await
    }

    /// Pairs a device of `role` with the hub an instance with data folder
    /// `data` hosts.
    pub async fn pair(data: &Path, role: &str) -> Result<HubClient> {
        HubClient::pair_at(&hub_url(data)?, &data.join("hub"), role).await
    }

    /// Pairs a device of `role` with the hub at `url` whose data folder is
    /// `hub_data`.
    pub async fn pair_at(url: &str, hub_data: &Path, role: &str) -> Result<HubClient> {
        let url = url.to_owned();
        let code = pairing_code(hub_data, role)?;
        let http = reqwest::Client::new();
        let paired: Value = http
            .post(format!("{url}/api/devices/pair"))
            .json(&json!({ "code": code }))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        let token = paired["token"].as_str().context("a token")?.to_owned();
        let device_id = paired["deviceId"]
            .as_str()
            .context("a device id")?
            .to_owned();
        Ok(HubClient {
            url,
            token,
            device_id,
            http,
        })
    }

    pub async fn set(&self, key: &str, value: &str) -> Result<()> {
        self.http
            .put(format!("{}/api/settings/{key}", self.url))
            .bearer_auth(&self.token)
            .json(&json!({ "value": value }))
            .send()
            .await?
            .error_for_status()?;
        Ok(())
    }

    /// `GET /api{path}`.
    pub async fn get(&self, path: &str) -> Result<Value> {
        self.send(reqwest::Method::GET, path, None).await
    }

    /// `POST /api{path}` with a JSON body.
    pub async fn post(&self, path: &str, body: &Value) -> Result<Value> {
        self.send(reqwest::Method::POST, path, Some(body)).await
    }

    /// Orders one Americano (HOT), paid by card, with idempotency key
    /// `key`; returns its daily number.
    pub async fn order_americano(&self, key: &str) -> Result<u64> {
        let order = self
            .post(
                "/orders",
                &json!({
                    "idempotencyKey": key,
                    "items": [demo_line("americano", 1)],
                    "payType": "CARD",
                }),
            )
            .await?;
        order["dailyNum"].as_u64().context("a daily number")
    }

    /// `PUT /api{path}` with a JSON body.
    pub async fn put(&self, path: &str, body: &Value) -> Result<Value> {
        self.send(reqwest::Method::PUT, path, Some(body)).await
    }

    /// `PATCH /api{path}` with a JSON body.
    pub async fn patch(&self, path: &str, body: &Value) -> Result<Value> {
        self.send(reqwest::Method::PATCH, path, Some(body)).await
    }

    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value> {
        let mut request = self
            .http
            .request(method.clone(), format!("{}/api{path}", self.url))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(body);
        }
        Self::json(request.send().await?, method.as_str(), path).await
    }

    async fn json(answer: reqwest::Response, method: &str, path: &str) -> Result<Value> {
        let status = answer.status();
        let text = answer.text().await?;
        if !status.is_success() {
            bail!("{method} /api{path} answered {status}: {text}");
        }
        if text.is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_str(&text).with_context(|| format!("{method} /api{path} answered {text}"))
    }
}

/// A hub of its own, as `countertop-hub serve`; killed when dropped.
pub struct HubProcess {
    child: Child,
    pub url: String,
}

impl HubProcess {
    pub fn start(data: &Path, port: u16) -> Result<HubProcess> {
        HubProcess::start_allowing(data, port, &[])
    }

    /// A hub that also lets pages of `origins` in (`--allow-origin`).
    pub fn start_allowing(data: &Path, port: u16, origins: &[String]) -> Result<HubProcess> {
        let child = Command::new(hub_binary())
            .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--data"])
            .arg(data)
            .args(origins.iter().flat_map(|o| ["--allow-origin", o.as_str()]))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("starting countertop-hub (cargo build --workspace --bins)")?;
        Ok(HubProcess {
            child,
            url: format!("http://127.0.0.1:{port}"),
        })
    }

    pub async fn healthy(&self) -> Result<()> {
        let url = format!("{}/healthz", self.url);
        until("the hub to answer", || async {
            Ok(reqwest::get(&url).await?.status().is_success())
        })
        .await
    }

    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for HubProcess {
    fn drop(&mut self) {
        self.stop();
    }
}

/// `countertop-hub serve` with plain HTTP on loopback and TLS on `tls_addr`
/// (on every address, `0.0.0.0:…`, it also announces itself over mDNS);
/// killed when dropped.
pub struct TlsHubProcess {
    child: Child,
}

impl TlsHubProcess {
    /// Starts it and waits for its plain port to answer.
    pub async fn start(
        data: &Path,
        port: u16,
        tls_addr: &str,
        extra: &[&str],
    ) -> Result<TlsHubProcess> {
        let child = Command::new(hub_binary())
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .args(["--tls-listen", tls_addr])
            .args(extra)
            .arg("--data")
            .arg(data)
            .env_remove("COUNTERTOP_NO_ANNOUNCE")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .context("starting countertop-hub (cargo build --workspace --bins)")?;
        let hub = TlsHubProcess { child };
        let url = format!("http://127.0.0.1:{port}/healthz");
        until("the hub to answer", || async {
            Ok(reqwest::get(&url)
                .await
                .is_ok_and(|r| r.status().is_success()))
        })
        .await?;
        Ok(hub)
    }

    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for TlsHubProcess {
    fn drop(&mut self) {
        self.stop();
    }
}

/// `countertop-hub fingerprint --data DIR`: what devices pin.
pub fn hub_fingerprint(data: &Path) -> Result<String> {
    let out = Command::new(hub_binary())
        .args(["fingerprint", "--data"])
        .arg(data)
        .output()?;
    let text = String::from_utf8(out.stdout)?.trim().to_owned();
    anyhow::ensure!(
        text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()),
        "fingerprint printed {text:?}"
    );
    Ok(text)
}
