//! Devices fail over between hub nodes (issue 18): two real `countertop-hub`
//! nodes on one real PostgreSQL database, each naming both with
//! `--public-url`. A manager device paired on node 1 learns both
//! addresses; so does a `countertop-cli watch --json --hub A --hub B`.
//! Node 1 is SIGKILLed while orders keep coming on node 2 and the device's
//! outbox holds a status change: both carry on on node 2 from their
//! cursors, with every event exactly once and no `seq` missing, and the
//! device's status names node 2.
//!
//! Needs `COUNTERTOP_TEST_POSTGRES`, a PostgreSQL server where the test may
//! create a database (`postgres://countertop@127.0.0.1:55432/postgres`),
//! and `target/<profile>/countertop-hub` (`cargo build -p countertop-hub`).

mod support;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use countertop_client::{Cache, ConnectOptions, CoreEvent, HubNode};
use countertop_protocol::{Event, OrderStatus, Role};
use serde_json::{json, Value};
use support::hub::hub_binary;
use tokio::io::AsyncBufReadExt;
use tokio::time::Instant;

const CLI: &str = env!("CARGO_BIN_EXE_countertop-cli");

/// A database of this test's own on the `COUNTERTOP_TEST_POSTGRES` server,
/// dropped at the end.
struct Database {
    server: String,
    name: String,
    url: String,
}

fn psql(server: &str, sql: &str) -> Result<(), String> {
    let output = Command::new("psql")
        .args([server, "-v", "ON_ERROR_STOP=1", "-q", "-c", sql])
        .output()
        .map_err(|e| format!("cannot run psql (is PostgreSQL's client installed?): {e}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).into_owned())
    }
}

impl Database {
    fn create() -> Database {
        let server = std::env::var("COUNTERTOP_TEST_POSTGRES")
            .ok()
            .filter(|s| !s.is_empty())
            .expect(
                "COUNTERTOP_TEST_POSTGRES is unset: this test needs a PostgreSQL server where it \
                 may create a database, e.g. COUNTERTOP_TEST_POSTGRES=postgres://countertop@127.0.0.1:55432/postgres \
                 (a throw-away cluster as in docs/deploy.md, Trying it on one machine)",
            );
        let name = format!("t_failover_{:016x}", rand::random::<u64>());
        if let Err(e) = psql(&server, &format!("CREATE DATABASE {name}")) {
            panic!("CREATE DATABASE {name} on COUNTERTOP_TEST_POSTGRES: {e}");
        }
        let mut url =
            reqwest::Url::parse(&server).expect("COUNTERTOP_TEST_POSTGRES is a postgres:// URL");
        url.set_path(&format!("/{name}"));
        Database {
            server,
            name,
            url: url.to_string(),
        }
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        let drop = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        if let Err(e) = psql(&self.server, &drop) {
            eprintln!("{drop}: {e}");
        }
    }
}

/// A free port of 127.0.0.1 right now: each node's address must be known
/// before any starts, since every node names them all.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// One `countertop-hub serve --database` node; SIGKILLed on drop.
struct Node {
    child: Option<Child>,
    port: u16,
    data: PathBuf,
    database: String,
}

impl Node {
    /// Starts a node on `port` with its own `data` folder, naming `nodes`
    /// as the café's addresses, and waits for its `listening on` line. Its
    /// log goes to `data/hub.log`.
    fn start(data: &Path, port: u16, database: &str, nodes: &[String]) -> Node {
        std::fs::create_dir_all(data).unwrap();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(data.join("hub.log"))
            .unwrap();
        let mut command = Command::new(hub_binary());
        command
            .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--data"])
            .arg(data)
            .args(["--database", database]);
        for url in nodes {
            command.args(["--public-url", url]);
        }
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .env(
                "RUST_LOG",
                std::env::var("HUB_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .spawn()
            .expect("spawn countertop-hub");
        let stdout = child.stdout.take().expect("the hub's stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            let _ = tx.send(lines.next());
            // Keep draining so the hub never blocks on a full pipe.
            for _ in lines {}
        });
        let mut node = Node {
            child: Some(child),
            port,
            data: data.to_owned(),
            database: database.to_owned(),
        };
        match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(Some(Ok(line))) if line.starts_with("listening on ") => node,
            other => {
                node.kill();
                let log = std::fs::read_to_string(data.join("hub.log")).unwrap_or_default();
                panic!(
                    "the node on port {port} did not start ({other:?}); its log:\n{}",
                    log.lines().rev().take(20).collect::<Vec<_>>().join("\n")
                );
            }
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// A one-time pairing code from the hub's command line (any node's:
    /// codes live in the database).
    fn pairing_code(&self, role: &str, name: &str) -> String {
        let output = Command::new(hub_binary())
            .args(["pairing-code", "--role", role, "--name", name, "--data"])
            .arg(&self.data)
            .args(["--database", &self.database])
            .output()
            .expect("run countertop-hub pairing-code");
        assert!(
            output.status.success(),
            "pairing-code: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let value: Value = serde_json::from_slice(&output.stdout).expect("pairing-code's JSON");
        value["code"].as_str().expect("a code").to_owned()
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Node 1 made the signing secret and the TLS identity; node 2 must hold
/// the same before it starts (docs/deploy.md).
fn copy_identity(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for file in ["secret.key", "tls.key", "tls.crt"] {
        std::fs::copy(from.join(file), to.join(file))
            .unwrap_or_else(|e| panic!("copying {file}: {e}"));
    }
}

/// A device's REST calls as a test makes them, to one node.
struct Rest {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Rest {
    /// Pairs a device of `role` on `node` with `code`; returns it and the
    /// pairing answer.
    async fn pair(node: &Node, code: &str) -> (Rest, Value) {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap();
        let answer = http
            .post(format!("{}/api/devices/pair", node.url()))
            .json(&json!({ "code": code }))
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 201);
        let paired: Value = answer.json().await.unwrap();
        let rest = Rest {
            http,
            base: node.url(),
            token: paired["token"].as_str().expect("a token").to_owned(),
        };
        (rest, paired)
    }

    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> (u16, Value) {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// Places an order; returns its id.
    async fn order(&self, menu_id: &str, key: &str) -> String {
        let body = json!({
            "idempotencyKey": key,
            "items": [{"menuId": menu_id, "quantity": 1, "options": [{"groupId": "temperature", "choiceId": "hot"}]}],
            "payType": "CASH",
        });
        let (status, order) = self
            .send(reqwest::Method::POST, "/api/orders", Some(&body))
            .await;
        assert_eq!(status, 201, "{order}");
        order["orderId"].as_str().expect("an order id").to_owned()
    }
}

/// What a device reported: every applied event's seq, each order's
/// `order:created` count, where its snapshot left the cursor.
#[derive(Default, Debug)]
struct Seen {
    /// The newest state's name.
    state: String,
    snapshot: Option<u64>,
    seqs: Vec<u64>,
    created: BTreeMap<String, u32>,
}

impl Seen {
    fn event(&mut self, seq: u64, name: &str, order_id: Option<&str>) {
        self.seqs.push(seq);
        if name == "order:created" {
            *self
                .created
                .entry(order_id.expect("an order id").to_owned())
                .or_default() += 1;
        }
    }

    /// Every event from just after the snapshot up to `last`, each once and
    /// in order, and each of `orders` created once.
    fn check(&self, who: &str, last: u64, orders: &[String]) {
        let from = self.snapshot.expect("a snapshot first") + 1;
        assert_eq!(
            self.seqs,
            (from..=last).collect::<Vec<_>>(),
            "{who}: every seq once, in order, none missing"
        );
        for id in orders {
            assert_eq!(self.created.get(id), Some(&1), "{who}: order:created {id}");
        }
        assert_eq!(self.created.len(), orders.len(), "{who}: no other order");
    }
}

/// Polls `done` every 50 ms until it holds, for at most `within`; else
/// fails, showing the end of each of `logs`.
async fn until(within: Duration, what: &str, logs: &[&Path], mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !done() {
        if Instant::now() > deadline {
            let tails: Vec<String> = logs
                .iter()
                .map(|log| {
                    let text = std::fs::read_to_string(log).unwrap_or_default();
                    let tail: Vec<&str> = text.lines().rev().take(30).collect();
                    let tail: Vec<&str> = tail.into_iter().rev().collect();
                    format!("--- {}\n{}", log.display(), tail.join("\n"))
                })
                .collect();
            panic!("not within {within:?}: {what}\n{}", tails.join("\n"));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The newest seq of the café's log, as a node's `/healthz` tells it.
async fn hub_seq(node: &Node) -> u64 {
    let health: Value = reqwest::get(format!("{}/healthz", node.url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    health["seq"].as_u64().expect("/healthz names the seq")
}

fn pair_cli(node: &Node, dir: &Path) {
    let code = node.pairing_code("manager", "cli watcher");
    let output = Command::new(CLI)
        .args(["pair", "--hub", &node.url(), "--code", &code, "--data"])
        .arg(dir)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "pair: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// `countertop-cli watch --json` on both nodes: what it printed, as it goes.
fn watch_cli(dir: &Path, nodes: &[String]) -> (tokio::process::Child, Arc<Mutex<Seen>>) {
    let stderr = std::fs::File::create(dir.join("cli.log")).unwrap();
    let mut command = tokio::process::Command::new(CLI);
    command.args(["watch", "--json", "--quiet"]);
    for url in nodes {
        command.args(["--hub", url]);
    }
    let mut child = command
        .args(["--backoff-ms", "100", "--suspend-ms", "500"])
        .args(["--ping-ms", "1000", "--answer-ms", "1500"])
        .args(["--request-timeout-ms", "2000", "--data"])
        .arg(dir)
        .env("RUST_LOG", "countertop_client=info")
        .stdout(Stdio::piped())
        .stderr(Stdio::from(stderr))
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let seen = Arc::new(Mutex::new(Seen::default()));
    let seen2 = seen.clone();
    tokio::spawn(async move {
        let mut lines = tokio::io::BufReader::new(stdout).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            let value: Value =
                serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
            let mut seen = seen2.lock().unwrap_or_else(PoisonError::into_inner);
            match value["kind"].as_str() {
                Some("snapshot") => seen.snapshot = value["seq"].as_u64(),
                Some("event") => seen.event(
                    value["seq"].as_u64().expect("a seq"),
                    value["event"].as_str().expect("a name"),
                    value["data"]["orderId"].as_str(),
                ),
                // The node is told on stderr; stdout stays as with one hub.
                Some("state") => {
                    assert!(value.get("node").is_none(), "{line}");
                    seen.state = value["state"].as_str().expect("a state").to_owned();
                }
                _ => {}
            }
        }
    });
    (child, seen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_moves_to_the_other_node_when_its_own_dies_and_misses_nothing() {
    let database = Database::create();
    let root = tempfile::tempdir().unwrap();
    let urls: Vec<String> = [free_port(), free_port()]
        .iter()
        .map(|port| format!("http://127.0.0.1:{port}"))
        .collect();
    let port_of = |url: &str| -> u16 { url.rsplit(':').next().unwrap().parse().unwrap() };
    let mut one = Node::start(
        &root.path().join("node1"),
        port_of(&urls[0]),
        &database.url,
        &urls,
    );
    copy_identity(&root.path().join("node1"), &root.path().join("node2"));
    let two = Node::start(
        &root.path().join("node2"),
        port_of(&urls[1]),
        &database.url,
        &urls,
    );

    // Pairing (on either node) and refreshing answer with both nodes.
    let (kiosk, paired) = Rest::pair(&two, &two.pairing_code("kiosk", "poster")).await;
    assert_eq!(paired["hubs"], json!(urls));
    let (status, refreshed) = kiosk
        .send(reqwest::Method::POST, "/api/devices/refresh", None)
        .await;
    assert_eq!(status, 200, "{refreshed}");
    assert_eq!(refreshed["hubs"], json!(urls));
    let kiosk = Rest {
        token: refreshed["token"].as_str().unwrap().to_owned(),
        ..kiosk
    };
    let (status, menu) = kiosk.send(reqwest::Method::GET, "/api/menu", None).await;
    assert_eq!(status, 200);
    let menu_id = menu[0]["id"].as_str().expect("the demo menu").to_owned();

    // A manager device paired on node 1 keeps both addresses.
    let dir = root.path().join("manager");
    let code = one.pairing_code("manager", "failover");
    let (device, _) = countertop_client::pair(&one.url(), &code, &dir, Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(device.role, Role::Manager);
    assert_eq!(device.hubs, urls);
    assert_eq!(
        Cache::open(&dir).unwrap().device().unwrap().unwrap().hubs,
        urls
    );
    let mut options = ConnectOptions::new(&dir);
    options.policy.base = Duration::from_millis(100);
    options.policy.suspended_interval = Duration::from_millis(500);
    options.heartbeat.ping_every = Duration::from_secs(1);
    options.heartbeat.answer_within = Duration::from_millis(1500);
    options.heartbeat.connect_within = Duration::from_secs(2);
    options.request_timeout = Duration::from_secs(2);
    options.outbox_retry = Duration::from_millis(100);
    let (handle, mut events) = countertop_client::connect(options).await.unwrap();
    let seen = Arc::new(Mutex::new(Seen::default()));
    let sent = Arc::new(Mutex::new(Vec::new()));
    let (seen2, sent2) = (seen.clone(), sent.clone());
    tokio::spawn(async move {
        while let Some(event) = events.recv().await {
            let mut seen = seen2.lock().unwrap_or_else(PoisonError::into_inner);
            match event {
                CoreEvent::Snapshot { seq, .. } => seen.snapshot = Some(seq),
                CoreEvent::Applied { seq, event, .. } => {
                    let order_id = match &*event {
                        Event::OrderCreated(created) => Some(created.order_id.clone()),
                        _ => None,
                    };
                    seen.event(seq, event.name(), order_id.as_deref());
                }
                CoreEvent::OutboxSent { key, .. } => sent2.lock().unwrap().push(key),
                CoreEvent::OutboxRefused { key, error } => panic!("{key} refused: {error:?}"),
                _ => {}
            }
        }
    });
    let node = |number: u32| HubNode {
        url: urls[number as usize - 1].clone(),
        number,
        of: 2,
    };
    let mut status = handle.watch_status();
    tokio::time::timeout(
        Duration::from_secs(30),
        status.wait_for(|s| s.state.is_live()),
    )
    .await
    .expect("live on node 1")
    .unwrap();
    assert_eq!(handle.status().node, Some(node(1)));

    let cli_dir = root.path().join("cli");
    let log_files = [
        root.path().join("node1/hub.log"),
        root.path().join("node2/hub.log"),
        cli_dir.join("cli.log"),
    ];
    let logs: Vec<&Path> = log_files.iter().map(PathBuf::as_path).collect();
    pair_cli(&one, &cli_dir);
    let (mut cli, cli_seen) = watch_cli(&cli_dir, &urls);
    until(
        Duration::from_secs(30),
        "the CLI watcher live",
        &logs,
        || cli_seen.lock().unwrap().state == "live",
    )
    .await;

    // Orders on node 2 reach the device on node 1.
    let mut orders = Vec::new();
    for n in 0..3 {
        orders.push(kiosk.order(&menu_id, &format!("before-{n}")).await);
    }
    let cache = handle.cache().clone();
    until(
        Duration::from_secs(30),
        "node 1 delivers node 2's orders",
        &logs,
        || cache.orders().unwrap().len() == 3,
    )
    .await;
    until(
        Duration::from_secs(30),
        "the CLI watcher has them too",
        &logs,
        || cli_seen.lock().unwrap().created.len() == 3,
    )
    .await;

    // Node 1 dies. A status change waits in the outbox; orders keep coming
    // on node 2.
    one.kill();
    let key = handle
        .change_status(&orders[0], OrderStatus::Pending, OrderStatus::Making)
        .unwrap();
    for n in 0..5 {
        orders.push(kiosk.order(&menu_id, &format!("after-{n}")).await);
    }
    until(
        Duration::from_secs(30),
        "live again, on node 2",
        &logs,
        || {
            let now = handle.status();
            now.state.is_live() && now.node == Some(node(2))
        },
    )
    .await;
    until(
        Duration::from_secs(30),
        "every order and the status change",
        &logs,
        || {
            let cached = cache.orders().unwrap();
            cached.len() == orders.len()
                && cached
                    .iter()
                    .any(|o| o.order_id == orders[0] && o.status == OrderStatus::Making)
        },
    )
    .await;
    assert_eq!(*sent.lock().unwrap(), vec![key], "the outbox sent it once");
    assert_eq!(cache.outbox_len().unwrap(), 0);
    // Whatever else happened since, the device ends at the log's head.
    let last = hub_seq(&two).await;
    until(
        Duration::from_secs(30),
        "the device at the log's head",
        &logs,
        || cache.cursor().unwrap().seq == last,
    )
    .await;
    seen.lock().unwrap().check("the device", last, &orders);
    assert_eq!(handle.status().node, Some(node(2)));

    until(
        Duration::from_secs(30),
        "the CLI watcher at the log's head",
        &logs,
        || cli_seen.lock().unwrap().seqs.last() == Some(&last),
    )
    .await;
    let pid = cli.id().expect("the watcher runs");
    let _ = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status();
    let exit = tokio::time::timeout(Duration::from_secs(20), cli.wait())
        .await
        .expect("the watcher stops on SIGTERM")
        .unwrap();
    assert!(exit.success(), "{exit}");
    cli_seen
        .lock()
        .unwrap()
        .check("the CLI watcher", last, &orders);
    let told = std::fs::read_to_string(cli_dir.join("cli.log")).unwrap();
    assert!(
        told.contains(&format!("on hub node 1 of 2: {}", urls[0]))
            && told.contains(&format!("on hub node 2 of 2: {}", urls[1])),
        "the watcher tells which node it is on:\n{told}"
    );
    handle.shutdown();
}
