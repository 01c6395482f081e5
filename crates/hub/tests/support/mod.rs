//! Test support: a real hub on 127.0.0.1:0 with a real SQLite file in a
//! temporary folder (or its own PostgreSQL database: `backend`), a REST
//! client and a WebSocket client. Every wait is a
//! wait for a condition, bounded by a timeout; nothing sleeps. `cafe` adds
//! the REST tests' fixture: a hub with one paired device of each role.

#![allow(dead_code)]

mod backend;
mod cafe;
mod logs;

// Not every test target uses every helper of the fixture.
#[allow(unused_imports)]
pub use backend::{
    config, database, fresh_database, hub_env, json_text, on_postgres, open_store, sqlite_only,
};
#[allow(unused_imports)]
pub use cafe::{assert_error, ids, ok, Cafe, SIGNATURE};
#[allow(unused_imports)]
pub use logs::captured_logs;

use std::net::SocketAddr;
use std::time::Duration;

use countertop_hub::{Hub, HubConfig};
use countertop_protocol::Role;
use futures::{SinkExt, StreamExt};
use reqwest::StatusCode;
use serde_json::{json, Value};
use tempfile::TempDir;
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// How long any single wait in a test may take before it fails.
pub const WAIT: Duration = Duration::from_secs(10);

pub struct TestHub {
    pub addr: SocketAddr,
    pub hub: Hub,
    pub dir: TempDir,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl TestHub {
    pub async fn start() -> TestHub {
        Self::start_with(|_| {}).await
    }

    pub async fn start_with(configure: impl FnOnce(&mut HubConfig)) -> TestHub {
        let dir = tempfile::tempdir().expect("temp dir");
        Self::start_in(dir, configure).await
    }

    /// Starts a hub on an existing data folder (a restart).
    pub async fn start_in(dir: TempDir, configure: impl FnOnce(&mut HubConfig)) -> TestHub {
        let mut config = HubConfig::new(dir.path());
        // Backups have tests of their own; the others need not write them.
        config.backup.enabled = false;
        configure(&mut config);
        // The suite's database, unless the test names one (nodes of a cluster).
        if config.database.is_none() {
            config.database = database(dir.path());
        }
        let hub = Hub::open(config).await.expect("hub opens");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(countertop_hub::serve(listener, hub.clone(), async move {
            let _ = stopped.await;
        }));
        TestHub {
            addr,
            hub,
            dir,
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// Shuts the hub down gracefully and hands back its data folder.
    pub async fn stop(mut self) -> TempDir {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            tokio::time::timeout(WAIT, task)
                .await
                .expect("hub stops in time")
                .expect("hub task")
                .expect("hub serve");
        }
        let dir = tempfile::tempdir().unwrap();
        std::mem::replace(&mut self.dir, dir)
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub fn ws_url(&self) -> String {
        format!("ws://{}/ws", self.addr)
    }

    /// `/ws` with a query (`topics=…&since=…`, `format=type`).
    pub fn ws_url_with(&self, query: &str) -> String {
        format!("ws://{}/ws?{query}", self.addr)
    }

    pub fn anonymous(&self) -> Api {
        Api::new(self.url(""), None)
    }

    /// Pairs a new device of `role` through a real pairing code and
    /// `POST /api/devices/pair`.
    pub async fn pair(&self, role: Role) -> Device {
        let code = self
            .hub
            .create_pairing_code(role, &format!("test {}", role.as_str()))
            .await
            .unwrap();
        let (status, body) = self
            .anonymous()
            .post("/api/devices/pair", json!({ "code": code.code }))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let token = body["token"].as_str().unwrap().to_owned();
        Device {
            id: body["deviceId"].as_str().unwrap().to_owned(),
            role,
            api: Api::new(self.url(""), Some(token.clone())),
            token,
        }
    }

    /// A connection that reads nothing until it subscribes (`?topics=`), as
    /// every connection did before version 2.
    pub async fn connect(&self, device: Option<&Device>) -> Ws {
        self.connect_with(device, "topics=").await
    }

    /// A connection opened with `query` (`""`: the role's default topics).
    pub async fn connect_with(&self, device: Option<&Device>, query: &str) -> Ws {
        Ws::connect(
            &self.ws_url_with(query),
            device.map(|d| d.token.as_str()),
            None,
        )
        .await
        .expect("websocket connects")
    }
}

impl Drop for TestHub {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

pub struct Device {
    pub id: String,
    pub role: Role,
    pub token: String,
    pub api: Api,
}

/// A REST client that answers `(status, JSON body)`.
#[derive(Clone)]
pub struct Api {
    client: reqwest::Client,
    base: String,
    token: Option<String>,
}

impl Api {
    pub fn new(base: String, token: Option<String>) -> Api {
        Api {
            client: reqwest::Client::new(),
            base,
            token,
        }
    }

    pub fn token(&self) -> Option<&str> {
        self.token.as_deref()
    }

    pub fn with_token(&self, token: &str) -> Api {
        Api::new(self.base.clone(), Some(token.to_owned()))
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> (StatusCode, Value) {
        let req = match &self.token {
            Some(t) => req.bearer_auth(t),
            None => req,
        };
        let res = req.send().await.expect("request");
        let status = res.status();
        let text = res.text().await.unwrap_or_default();
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, body)
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.send(self.client.get(format!("{}{path}", self.base)))
            .await
    }

    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.send(self.client.post(format!("{}{path}", self.base)).json(&body))
            .await
    }

    pub async fn patch(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.send(
            self.client
                .patch(format!("{}{path}", self.base))
                .json(&body),
        )
        .await
    }

    pub async fn put(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.send(self.client.put(format!("{}{path}", self.base)).json(&body))
            .await
    }

    pub async fn delete(&self, path: &str) -> (StatusCode, Value) {
        self.send(self.client.delete(format!("{}{path}", self.base)))
            .await
    }

    pub async fn raw(&self, req: reqwest::RequestBuilder) -> (StatusCode, Value) {
        self.send(req).await
    }

    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// Moves an order to `status`, which must succeed.
    pub async fn set_status(&self, id: &str, status: &str) {
        let (code, body) = self
            .patch(
                &format!("/api/orders/{id}/status"),
                json!({ "status": status }),
            )
            .await;
        assert_eq!(code, 200, "{body}");
    }

    /// Cancels an order with the reason "changed mind", which must succeed.
    pub async fn cancel(&self, id: &str) {
        let (code, body) = self
            .post(
                &format!("/api/orders/{id}/cancel"),
                json!({"reason": "changed mind"}),
            )
            .await;
        assert_eq!(code, 200, "{body}");
    }

    /// Places an order of `lines` (menu id, quantity) with a fresh key, each
    /// a [`line`]: the demo café's drinks HOT.
    pub async fn order(&self, lines: &[(&str, u32)], pay: &str) -> (StatusCode, Value) {
        let items: Vec<Value> = lines.iter().map(|(id, q)| line(id, *q)).collect();
        let key = format!("key-{}", rand_suffix());
        self.post(
            "/api/orders",
            json!({"idempotencyKey": key, "items": items, "payType": pay}),
        )
        .await
    }
}

/// The demo café's drinks: each has a required Temperature group.
pub const DRINKS: [&str; 9] = [
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

/// An order line of `quantity` of `menu_id` as the demo café takes it: a
/// drink HOT (its required Temperature; HOT adds nothing to the price),
/// anything else without options.
pub fn line(menu_id: &str, quantity: u32) -> Value {
    if DRINKS.contains(&menu_id) {
        json!({"menuId": menu_id, "quantity": quantity,
               "options": [{"groupId": "temperature", "choiceId": "hot"}]})
    } else {
        json!({"menuId": menu_id, "quantity": quantity})
    }
}

/// Runs a `countertop-hub` command (as `command` sets it up) to its end and
/// answers what it printed; fails the test, with what the command said on
/// stderr, when it fails.
pub fn succeeds(command: &mut std::process::Command) -> String {
    let out = command.output().expect("running countertop-hub");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("what countertop-hub printed is UTF-8")
}

pub fn rand_suffix() -> String {
    countertop_hub::random_id(12)
}

/// A WebSocket client that reads JSON frames.
pub struct Ws {
    pub stream: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

impl Ws {
    pub async fn connect(
        url: &str,
        token: Option<&str>,
        origin: Option<&str>,
    ) -> Result<Ws, tokio_tungstenite::tungstenite::Error> {
        let mut req = url.into_client_request()?;
        if let Some(t) = token {
            req.headers_mut()
                .insert("authorization", format!("Bearer {t}").parse().unwrap());
        }
        if let Some(o) = origin {
            req.headers_mut().insert("origin", o.parse().unwrap());
        }
        let (stream, _) = tokio_tungstenite::connect_async(req).await?;
        Ok(Ws { stream })
    }

    pub async fn send(&mut self, value: Value) {
        self.stream
            .send(Message::Text(value.to_string().into()))
            .await
            .expect("send");
    }

    pub async fn send_raw(&mut self, message: Message) {
        self.stream.send(message).await.expect("send");
    }

    /// The next text frame as JSON; panics on close or timeout.
    pub async fn next(&mut self) -> Value {
        loop {
            let msg = tokio::time::timeout(WAIT, self.stream.next())
                .await
                .expect("a frame in time")
                .expect("stream open")
                .expect("frame");
            match msg {
                Message::Text(t) => return serde_json::from_str(&t).expect("JSON frame"),
                Message::Ping(_) | Message::Pong(_) => continue,
                other => panic!("expected a text frame, got {other:?}"),
            }
        }
    }

    /// Skips frames until one with `event == name`.
    pub async fn next_event(&mut self, name: &str) -> Value {
        loop {
            let frame = self.next().await;
            if frame["event"] == name {
                return frame;
            }
        }
    }

    /// Reads the welcome, subscribes and waits for `subscribed`.
    pub async fn subscribe(&mut self, topics: &[&str]) -> Value {
        self.send(json!({"type": "subscribe", "topics": topics}))
            .await;
        self.next_event("subscribed").await
    }

    /// Waits for the close frame and returns its code.
    pub async fn closed(&mut self) -> u16 {
        loop {
            let msg = tokio::time::timeout(WAIT, self.stream.next())
                .await
                .expect("close in time");
            match msg {
                Some(Ok(Message::Close(Some(frame)))) => return u16::from(frame.code),
                Some(Ok(Message::Close(None))) => return u16::from(CloseCode::Status),
                Some(Ok(_)) => continue,
                Some(Err(e)) => panic!("connection failed before a close frame: {e}"),
                None => panic!("stream ended without a close frame"),
            }
        }
    }

    /// Sends a ping and collects every frame that arrives before the pong:
    /// proof that nothing else was on its way.
    pub async fn drain(&mut self) -> Vec<Value> {
        self.send(json!({"type": "ping"})).await;
        let mut frames = Vec::new();
        loop {
            let f = self.next().await;
            if f["event"] == "pong" {
                return frames;
            }
            frames.push(f);
        }
    }
}
