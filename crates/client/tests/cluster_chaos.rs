//! Chaos across hub nodes (issue 18): three `countertop-hub` nodes on one
//! PostgreSQL, `countertop-cli watch --json` watchers spread over the nodes
//! behind fault proxies (some given one node, some every node: they fail
//! over), a thousand kiosk orders posted to random nodes while each node is
//! SIGKILLed and restarted once and PostgreSQL is stopped and started once.
//! Every watcher ends with every order exactly once, the log's `seq` is
//! gap-free and every cell's balance is its start less its orders.
//!
//! The test runs its own throw-away PostgreSQL cluster (so it can restart
//! it): Debian's `postgresql` server binaries under
//! `/usr/lib/postgresql/<version>/bin`, run as the `postgres` user when the
//! test runs as root. It needs `target/<profile>/countertop-hub`:
//! `cargo build -p countertop-hub`.

mod support;

use std::collections::{BTreeMap, HashSet};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use countertop_protocol::{MenuItem, NewOrderItem, Order, OrderStatus};
use rand::seq::SliceRandom;
use rand::{rngs::StdRng, Rng, SeedableRng};
use serde_json::{json, Value};
use support::api::Api;
use support::chaos::{
    cached_orders, make_trouble, open_menu, order_items, pair_cli_with, seed, FaultCount, Watcher,
};
use support::hub::Hub;
use support::proxy::FaultProxy;
use tokio::sync::Notify;
use tokio::time::Instant;

const NODES: usize = 3;
/// One watcher on each node alone, and one starting on each node that
/// knows every node.
const WATCHERS: usize = 6;
const ORDERS: usize = 1000;
/// Orders in flight at once, so a kill catches some mid-request.
const POSTERS: usize = 6;
/// One fault on each watcher's proxy at least every this many orders.
const FAULTS_EVERY: usize = 40;
/// Orders posted while a killed node is down, before it starts again.
const DOWN_FOR: usize = 40;
/// The demo café's cell PINs (README).
const PINS: [(&str, &str); 3] = [
    ("cell-design", "1234"),
    ("cell-engineering", "2345"),
    ("cell-front-desk", "3456"),
];

/// A throw-away PostgreSQL cluster in a temporary folder, on a free port
/// of 127.0.0.1, trusting local connections; stopped (immediate) on drop.
struct Postgres {
    tools: PgTools,
    dir: tempfile::TempDir,
    port: u16,
}

/// The folders of this test's clusters are named so, and hold the test
/// process's id in [`OWNER_FILE`]: a later run stops and removes those of a
/// run that was killed before its drop stopped them.
const PG_PREFIX: &str = "countertop-chaos-pg-";
const OWNER_FILE: &str = "owner.pid";

/// PostgreSQL's server tools, run as `postgres` when the test runs as root
/// (the server refuses root).
#[derive(Clone)]
struct PgTools {
    bin: PathBuf,
    as_postgres: bool,
}

impl PgTools {
    fn find() -> PgTools {
        PgTools {
            bin: postgres_bin(),
            as_postgres: is_root(),
        }
    }

    /// Runs `tool` in `dir` (the tools must not start in a folder postgres
    /// cannot enter).
    fn output(&self, dir: &Path, tool: &str, args: &[&str]) -> std::process::Output {
        let path = self.bin.join(tool);
        let mut command = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&path);
            c
        } else {
            Command::new(&path)
        };
        command
            .current_dir(dir)
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", path.display()))
    }

    /// `pg_ctl stop -m immediate` on the cluster in `dir`, whatever its state.
    fn stop(&self, dir: &Path) {
        let data = dir.join("data").display().to_string();
        let _ = self.output(
            dir,
            "pg_ctl",
            &["-D", &data, "-m", "immediate", "-w", "stop"],
        );
    }

    /// Stops and removes the clusters of earlier runs whose process is gone.
    fn stop_abandoned(&self) {
        let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
            return;
        };
        for entry in entries.flatten() {
            let dir = entry.path();
            let ours = entry.file_name().to_string_lossy().starts_with(PG_PREFIX);
            let owner = std::fs::read_to_string(dir.join(OWNER_FILE)).unwrap_or_default();
            let Ok(owner) = owner.trim().parse::<u32>() else {
                continue;
            };
            if ours && !Path::new("/proc").join(owner.to_string()).exists() {
                eprintln!(
                    "stopping the cluster a killed run left in {}",
                    dir.display()
                );
                self.stop(&dir);
                let _ = std::fs::remove_dir_all(&dir);
            }
        }
    }
}

impl Postgres {
    fn start() -> Postgres {
        let tools = PgTools::find();
        tools.stop_abandoned();
        let dir = tempfile::Builder::new()
            .prefix(PG_PREFIX)
            .tempdir()
            .unwrap();
        std::fs::write(dir.path().join(OWNER_FILE), std::process::id().to_string()).unwrap();
        if tools.as_postgres {
            let owned = Command::new("chown")
                .arg("postgres:postgres")
                .arg(dir.path())
                .status()
                .expect("run chown");
            assert!(
                owned.success(),
                "chown postgres {} (is there a postgres user?)",
                dir.path().display()
            );
        }
        let pg = Postgres {
            tools,
            dir,
            port: free_port(),
        };
        let data = pg.data();
        pg.run(
            "initdb",
            &[
                "-D",
                &data,
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ],
        );
        pg.pg_ctl_start();
        pg.psql("postgres", "CREATE DATABASE cafe");
        pg
    }

    fn data(&self) -> String {
        self.dir.path().join("data").display().to_string()
    }

    fn log(&self) -> PathBuf {
        self.dir.path().join("server.log")
    }

    /// The cafe database's URL.
    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/cafe", self.port)
    }

    /// Runs one of the server's tools, which must succeed; its stdout.
    fn run(&self, tool: &str, args: &[&str]) -> String {
        let output = self.tools.output(self.dir.path(), tool, args);
        assert!(
            output.status.success(),
            "{tool} {args:?} failed ({}):\n{}{}\n--- server log:\n{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr),
            std::fs::read_to_string(self.log()).unwrap_or_default()
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// `pg_ctl start`, waiting until the server takes connections.
    fn pg_ctl_start(&self) {
        let log = self.log().display().to_string();
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off \
             -c full_page_writes=off -c max_connections=200",
            self.port,
            self.dir.path().display()
        );
        let data = self.data();
        let args = ["-D", &data, "-l", &log, "-w", "-t", "60", "-o", &options];
        self.run("pg_ctl", &[&args[..], &["start"]].concat());
    }

    /// `pg_ctl stop -m fast`: every session ended, a clean shutdown, waited for.
    fn stop(&self) {
        let data = self.data();
        self.run(
            "pg_ctl",
            &["-D", &data, "-m", "fast", "-w", "-t", "60", "stop"],
        );
    }

    /// When the server process started (it changes with a restart).
    fn started_at(&self) -> String {
        self.psql("postgres", "SELECT pg_postmaster_start_time()")
    }

    /// One statement through psql on `database`; its rows, `|`-separated.
    fn psql(&self, database: &str, sql: &str) -> String {
        let port = self.port.to_string();
        self.run(
            "psql",
            &[
                "-X",
                "-A",
                "-t",
                "-q",
                "-v",
                "ON_ERROR_STOP=1",
                "-h",
                "127.0.0.1",
                "-p",
                &port,
                "-U",
                "postgres",
                "-d",
                database,
                "-c",
                sql,
            ],
        )
        .trim()
        .to_owned()
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        self.tools.stop(self.dir.path());
    }
}

/// The newest `/usr/lib/postgresql/<version>/bin` that has `pg_ctl`.
fn postgres_bin() -> PathBuf {
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            bin.join("pg_ctl").exists().then_some((version, bin))
        })
        .collect();
    found.sort();
    found.pop().map(|(_, bin)| bin).unwrap_or_else(|| {
        panic!(
            "no PostgreSQL server under /usr/lib/postgresql/<version>/bin: this test runs its own \
             throw-away cluster (initdb, pg_ctl) so that it can restart it; install Debian's \
             `postgresql` package (./dev.sh setup)"
        )
    })
}

fn is_root() -> bool {
    let output = Command::new("id").arg("-u").output().expect("run id -u");
    String::from_utf8_lossy(&output.stdout).trim() == "0"
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The files every node on one database must share.
fn copy_identity(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for name in ["secret.key", "tls.key", "tls.crt"] {
        std::fs::copy(from.join(name), to.join(name))
            .unwrap_or_else(|e| panic!("copy {name} to {}: {e}", to.display()));
    }
}

/// One order as planned before the run: its body and what it must cost.
struct Planned {
    body: Value,
    total: i64,
    cell: Option<String>,
}

/// What the hub answered for one order.
struct Placed {
    order_id: String,
    daily_num: u64,
    total: i64,
    cell: Option<String>,
}

/// The price of `items` by the menu's own rule.
fn price(menu: &[MenuItem], items: &[NewOrderItem]) -> i64 {
    items
        .iter()
        .map(|line| {
            let item = menu.iter().find(|m| m.id == line.menu_id).unwrap();
            let options = item.price_options(&line.options).unwrap();
            (item.price + options.delta) * i64::from(line.quantity)
        })
        .sum()
}

/// A thousand orders: most by card, some (one line, one item) by a cell's
/// points with its PIN, only while the cell has the points.
fn plan(seed: u64, menu: &[MenuItem], start: &BTreeMap<String, i64>) -> Vec<Planned> {
    let mut rng = StdRng::seed_from_u64(seed ^ 0x0c1a_5e7e);
    let mut left = start.clone();
    (0..ORDERS)
        .map(|i| {
            let key = format!("cluster-chaos-{seed}-{i}");
            // About one order in twenty tries a cell (each runs argon2 on the hub).
            if rng.gen_ratio(1, 20) {
                let item = &menu[rng.gen_range(0..menu.len())];
                let line = order_items(std::slice::from_ref(item), &mut rng)[0].clone();
                let mut line: NewOrderItem = serde_json::from_value(line).unwrap();
                line.quantity = 1;
                let total = price(menu, std::slice::from_ref(&line));
                let (cell, pin) = PINS[rng.gen_range(0..PINS.len())];
                if left[cell] >= total {
                    *left.get_mut(cell).unwrap() -= total;
                    return Planned {
                        body: json!({
                            "idempotencyKey": key,
                            "items": [line],
                            "payType": "CELL",
                            "cellId": cell,
                            "cellPin": pin,
                        }),
                        total,
                        cell: Some(cell.to_owned()),
                    };
                }
            }
            let items = order_items(menu, &mut rng);
            let parsed: Vec<NewOrderItem> = serde_json::from_value(items.clone()).unwrap();
            Planned {
                body: json!({"idempotencyKey": key, "items": items, "payType": "CARD"}),
                total: price(menu, &parsed),
                cell: None,
            }
        })
        .collect()
}

/// Posts orders for one kiosk to random live nodes, each until a node
/// answers 201 or 200 (the same idempotency key every time).
struct Poster {
    http: reqwest::Client,
    token: String,
    ports: Vec<u16>,
    /// Which nodes the schedule has not killed (a request may still reach
    /// a node as it dies).
    up: Arc<Vec<AtomicBool>>,
    /// Requests that got no (whole) answer, retried.
    unanswered: AtomicU32,
    /// Answers 5xx (a node without its database), retried.
    unavailable: AtomicU32,
    /// Answers 200: a retry of an order some node had already taken.
    replays: AtomicU32,
}

impl Poster {
    async fn post(&self, order: &Planned, rng: &mut StdRng) -> Placed {
        let key = order.body["idempotencyKey"].as_str().unwrap().to_owned();
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut last = String::new();
        loop {
            assert!(
                Instant::now() < deadline,
                "order {key}: no node took it within a minute; last: {last}"
            );
            let live: Vec<usize> = (0..self.ports.len())
                .filter(|n| self.up[*n].load(Ordering::SeqCst))
                .collect();
            let node = *live.choose(rng).expect("a live node");
            let url = format!("http://127.0.0.1:{}/api/orders", self.ports[node]);
            let answer = self
                .http
                .post(url)
                .bearer_auth(&self.token)
                .json(&order.body)
                .send()
                .await;
            let answer = match answer {
                Ok(response) => {
                    let status = response.status().as_u16();
                    // A node killed mid-answer leaves the body cut short.
                    response.json::<Value>().await.map(|body| (status, body))
                }
                Err(e) => Err(e),
            };
            match answer {
                Ok((status @ (200 | 201), body)) => {
                    if status == 200 {
                        self.replays.fetch_add(1, Ordering::Relaxed);
                    }
                    let cell = body["cellInfo"]["id"].as_str().map(str::to_owned);
                    return Placed {
                        order_id: body["orderId"].as_str().expect("an order").to_owned(),
                        daily_num: body["dailyNum"].as_u64().expect("a daily number"),
                        total: body["totalAmount"].as_i64().expect("a total"),
                        cell,
                    };
                }
                Ok((status, body)) => {
                    // The node's database is going or coming back.
                    assert!(
                        status >= 500,
                        "order {key} on node {}: {status} {body}",
                        node + 1
                    );
                    last = format!("node {}: {status} {body}", node + 1);
                    self.unavailable.fetch_add(1, Ordering::Relaxed);
                }
                Err(e) => {
                    last = format!("node {}: {e}", node + 1);
                    self.unanswered.fetch_add(1, Ordering::Relaxed);
                }
            }
            tokio::time::sleep(Duration::from_millis(rng.gen_range(20..100))).await;
        }
    }
}

/// What the schedule does once so many orders are placed.
#[derive(Debug, Clone, Copy)]
enum Step {
    Kill(usize),
    Restart(usize),
    RestartPostgres,
}

/// Each node killed once (in a random order, at a random point of its
/// stretch of the run) and started again [`DOWN_FOR`] orders later;
/// PostgreSQL stopped (fast) and started again once while every node runs.
fn schedule(seed: u64) -> Vec<(usize, Step)> {
    let mut rng = StdRng::seed_from_u64(seed ^ 0x5c4e_d01e);
    let mut order: Vec<usize> = (0..NODES).collect();
    order.shuffle(&mut rng);
    let mut steps = Vec::new();
    for (slot, node) in order.into_iter().enumerate() {
        // Stretches of 250 orders: 100–350, 350–600 (PostgreSQL first), 600–850.
        let from = 100 + slot * 250;
        let at = if slot == 1 {
            steps.push((rng.gen_range(from..from + 60), Step::RestartPostgres));
            rng.gen_range(from + 120..from + 200)
        } else {
            rng.gen_range(from..from + 200)
        };
        steps.push((at, Step::Kill(node)));
        steps.push((at + DOWN_FOR, Step::Restart(node)));
    }
    steps.sort_by_key(|(at, _)| *at);
    steps
}

/// The nodes' and watchers' folders (their logs among them), kept when
/// the test fails.
struct Evidence(Option<tempfile::TempDir>);

impl Evidence {
    fn path(&self) -> &Path {
        self.0.as_ref().expect("the folder").path()
    }
}

impl Drop for Evidence {
    fn drop(&mut self) {
        if std::thread::panicking() {
            if let Some(dir) = self.0.take() {
                let kept = dir.keep();
                eprintln!(
                    "the nodes' logs (node-N/hub.log; HUB_LOG=info for more) and the watchers' \
                     (watcher-N/cli.log) are kept in {}",
                    kept.display()
                );
            }
        }
    }
}

/// Tail of `path`, for a failure message.
fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let last: Vec<&str> = text.lines().rev().take(lines).collect();
    last.into_iter().rev().collect::<Vec<_>>().join("\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watchers_on_three_nodes_see_every_order_once_through_node_kills_and_a_postgres_restart() {
    let started = Instant::now();
    let seed = seed();
    let pg = tokio::task::block_in_place(Postgres::start);
    let database = pg.url();
    let root = Evidence(Some(tempfile::tempdir().unwrap()));
    let folders: Vec<PathBuf> = (1..=NODES)
        .map(|n| root.path().join(format!("node-{n}")))
        .collect();
    // Node 1 alone first: it migrates and seeds the demo café; the others
    // share its secret and TLS identity.
    let mut nodes = vec![Hub::start_node(&folders[0], 0, &database)];
    for folder in &folders[1..] {
        copy_identity(&folders[0], folder);
        nodes.push(Hub::start_node(folder, 0, &database));
    }
    let ports: Vec<u16> = nodes.iter().map(|n| n.port).collect();

    // Devices paired on different nodes (the watchers below by codes from
    // node 1, each on its own node).
    let kiosk = Api::pair(&nodes[0], "kiosk", "cluster-kiosk").await;
    let manager = Api::pair(&nodes[1], "manager", "cluster-checker").await;
    let menu = open_menu(&manager).await;
    let (status, cells) = kiosk.send(reqwest::Method::GET, "/api/cells", None).await;
    assert_eq!(status, 200, "{cells}");
    let start: BTreeMap<String, i64> = cells
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["id"].as_str().unwrap().to_owned(),
                c["balance"].as_i64().unwrap(),
            )
        })
        .collect();
    for (cell, _) in PINS {
        assert!(
            start.contains_key(cell),
            "the demo café has {cell}: {cells}"
        );
    }

    let mut watchers = Vec::new();
    let mut proxies = Vec::new();
    for w in 0..WATCHERS {
        let home = w % NODES;
        let dir = root.path().join(format!("watcher-{}", w + 1));
        let code = nodes[0].pairing_code("barista", &format!("bar-{}", w + 1));
        pair_cli_with(&code, &nodes[home].url(), &dir);
        // The first NODES watchers know their node only and wait for it to
        // come back; the others know every node (each through a proxy of
        // its own), theirs first, and move on when one is out of reach.
        let reach: Vec<usize> = if w < NODES {
            vec![home]
        } else {
            (0..NODES).map(|k| (home + k) % NODES).collect()
        };
        let mut urls = Vec::new();
        for node in reach {
            let proxy = Arc::new(FaultProxy::start(nodes[node].addr()).await);
            urls.push(proxy.url());
            proxies.push(proxy);
        }
        watchers.push(Watcher::start_on(&dir, &urls));
    }
    for w in &watchers {
        let deadline = Instant::now() + Duration::from_secs(30);
        while w.seen(|s| s.state != "live") {
            assert!(
                Instant::now() < deadline,
                "watcher never went live; see {}",
                w.dir.join("cli.log").display()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    // One stop per injector: each takes it when it next looks (a permit).
    let stops: Vec<Arc<Notify>> = proxies.iter().map(|_| Arc::new(Notify::new())).collect();
    let counts: Arc<Vec<Arc<FaultCount>>> =
        Arc::new(proxies.iter().map(|_| Arc::default()).collect());
    let trouble: Vec<_> = proxies
        .iter()
        .zip(stops.iter().zip(counts.iter()))
        .enumerate()
        .map(|(w, (proxy, (stop, count)))| {
            tokio::spawn(make_trouble(
                proxy.clone(),
                stop.clone(),
                seed ^ (w as u64 + 1),
                count.clone(),
            ))
        })
        .collect();

    let planned = Arc::new(plan(seed, &menu, &start));
    let poster = Arc::new(Poster {
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .unwrap(),
        token: kiosk.token.clone(),
        ports: ports.clone(),
        up: Arc::new((0..NODES).map(|_| AtomicBool::new(true)).collect()),
        unanswered: AtomicU32::new(0),
        unavailable: AtomicU32::new(0),
        replays: AtomicU32::new(0),
    });
    let next = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicUsize::new(0));
    let progress = Arc::new(Notify::new());
    let placed: Arc<Mutex<Vec<Option<Placed>>>> =
        Arc::new(Mutex::new((0..ORDERS).map(|_| None).collect()));
    let steps = schedule(seed);
    let step_points: Arc<Vec<usize>> = Arc::new(steps.iter().map(|(at, _)| *at).collect());
    let posters: Vec<_> = (0..POSTERS)
        .map(|p| {
            let (planned, poster, next, done, progress, placed, counts, step_points) = (
                planned.clone(),
                poster.clone(),
                next.clone(),
                done.clone(),
                progress.clone(),
                placed.clone(),
                counts.clone(),
                step_points.clone(),
            );
            tokio::spawn(async move {
                let mut rng = StdRng::seed_from_u64(seed ^ 0x9057 ^ p as u64);
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    if i >= ORDERS {
                        break;
                    }
                    // However fast the nodes, the orders span about
                    // ORDERS / FAULTS_EVERY faults on every watcher's proxy;
                    // near a kill, a restart or PostgreSQL's restart they
                    // flow at full speed, so requests are in flight then.
                    let near_step = step_points.iter().any(|at| at.abs_diff(i) <= FAULTS_EVERY);
                    if i % FAULTS_EVERY == 0 && !near_step {
                        for count in counts.iter() {
                            count.at_least((i / FAULTS_EVERY) as u32).await;
                        }
                    }
                    let answer = poster.post(&planned[i], &mut rng).await;
                    placed.lock().unwrap_or_else(PoisonError::into_inner)[i] = Some(answer);
                    done.fetch_add(1, Ordering::SeqCst);
                    progress.notify_waiters();
                }
            })
        })
        .collect();

    // The schedule, driven by how many orders have been placed.
    let (mut kills, mut pg_restarts, mut pg_down_for) = (0, 0, Duration::ZERO);
    for (at, step) in &steps {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let more = progress.notified();
            if done.load(Ordering::SeqCst) >= *at {
                break;
            }
            assert!(
                tokio::time::timeout_at(deadline, more).await.is_ok(),
                "orders stalled at {} of {ORDERS} before {step:?}",
                done.load(Ordering::SeqCst)
            );
        }
        eprintln!(
            "cluster chaos: {step:?} at {} orders",
            done.load(Ordering::SeqCst)
        );
        match *step {
            Step::Kill(n) => {
                tokio::task::block_in_place(|| nodes[n].kill());
                poster.up[n].store(false, Ordering::SeqCst);
                kills += 1;
            }
            Step::Restart(n) => {
                tokio::task::block_in_place(|| nodes[n].restart());
                assert_eq!(nodes[n].port, ports[n], "node {} on its port", n + 1);
                poster.up[n].store(true, Ordering::SeqCst);
            }
            Step::RestartPostgres => {
                let before = tokio::task::block_in_place(|| pg.started_at());
                let failed = || {
                    poster.unanswered.load(Ordering::SeqCst)
                        + poster.unavailable.load(Ordering::SeqCst)
                };
                let (at, failures) = (Instant::now(), failed());
                tokio::task::block_in_place(|| pg.stop());
                // Down until the nodes have failed a post for each poster.
                let deadline = Instant::now() + Duration::from_secs(30);
                while failed() < failures + POSTERS as u32 {
                    assert!(
                        Instant::now() < deadline,
                        "PostgreSQL down for 30 s and only {} posts failed",
                        failed() - failures
                    );
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                tokio::task::block_in_place(|| pg.pg_ctl_start());
                pg_down_for = at.elapsed();
                let after = tokio::task::block_in_place(|| pg.started_at());
                assert_ne!(before, after, "PostgreSQL started anew");
                pg_restarts += 1;
            }
        }
    }
    for p in posters {
        p.await.unwrap();
    }
    for stop in &stops {
        stop.notify_one();
    }
    let mut faults = 0;
    for t in trouble {
        faults += t.await.unwrap();
    }
    let posted_in = started.elapsed();
    assert_eq!((kills, pg_restarts), (NODES, 1), "the whole schedule ran");
    for (n, node) in nodes.iter_mut().enumerate() {
        assert!(
            node.is_running(),
            "node {} exited; its log ends:\n{}",
            n + 1,
            tail(&node.data.join("hub.log"), 40)
        );
    }

    // Each order once at the hub, each at its price, with its own daily number.
    let placed: Vec<Placed> = std::mem::take(&mut *placed.lock().unwrap())
        .into_iter()
        .map(|p| p.expect("every order placed"))
        .collect();
    let ids: HashSet<&str> = placed.iter().map(|p| p.order_id.as_str()).collect();
    assert_eq!(ids.len(), ORDERS, "a thousand different orders");
    let daily: HashSet<u64> = placed.iter().map(|p| p.daily_num).collect();
    assert_eq!(daily.len(), ORDERS, "each daily number given once");
    for (p, want) in placed.iter().zip(planned.iter()) {
        assert_eq!(p.total, want.total, "{}'s total", p.order_id);
        assert_eq!(p.cell, want.cell, "{}'s cell", p.order_id);
    }
    let (status, body) = manager
        .send(reqwest::Method::GET, "/api/orders?limit=5000", None)
        .await;
    assert_eq!(status, 200, "{body}");
    let at_hub: Vec<Order> = serde_json::from_value(body).unwrap();
    assert_eq!(at_hub.len(), ORDERS, "the hub holds each order once");
    let want: BTreeMap<String, OrderStatus> = at_hub
        .iter()
        .map(|o| (o.order_id.clone(), o.status))
        .collect();
    for id in &ids {
        assert!(want.contains_key(*id), "{id} missing at the hub");
    }

    // Balances: the start less the orders paid from each cell, as the
    // answers said and as the hub's orders say.
    let (status, cells) = manager.send(reqwest::Method::GET, "/api/cells", None).await;
    assert_eq!(status, 200, "{cells}");
    let mut by_cell = 0;
    for cell in cells.as_array().unwrap() {
        let id = cell["id"].as_str().unwrap();
        let answered: i64 = placed
            .iter()
            .filter(|p| p.cell.as_deref() == Some(id))
            .map(|p| p.total)
            .sum();
        let listed: i64 = at_hub
            .iter()
            .filter(|o| o.cell_info.as_ref().is_some_and(|c| c.id == id))
            .map(|o| o.total_amount)
            .sum();
        assert_eq!(answered, listed, "{id}: the orders answered and listed");
        assert_eq!(
            cell["balance"].as_i64().unwrap(),
            start[id] - answered,
            "{id}'s balance: {} less its orders' {answered}",
            start[id]
        );
        by_cell += placed
            .iter()
            .filter(|p| p.cell.as_deref() == Some(id))
            .count();
    }
    assert!(by_cell > 0, "some orders were paid from a cell");

    // The log: one row per seq from 1, no gap, an order:created per order.
    let row = pg.psql(
        "cafe",
        "SELECT COUNT(*), COALESCE(MIN(seq), 0), COALESCE(MAX(seq), 0), COUNT(DISTINCT seq), \
         (SELECT value FROM meta WHERE key = 'last_seq') FROM events",
    );
    let numbers: Vec<u64> = row.split('|').map(|n| n.parse().unwrap()).collect();
    let [rows, first, head, distinct, last_seq] = numbers[..] else {
        panic!("psql answered {row:?}");
    };
    if rows != head || first != 1 || distinct != rows {
        let missing = pg.psql(
            "cafe",
            "SELECT string_agg(s::text, ',') FROM generate_series(1, (SELECT MAX(seq) FROM events)) s \
             WHERE NOT EXISTS (SELECT 1 FROM events WHERE seq = s)",
        );
        panic!("the log's seq has gaps: {rows} rows, seq {first}..={head}; missing {missing}");
    }
    assert_eq!(last_seq, head, "meta.last_seq is the log's head");
    let created = pg.psql(
        "cafe",
        "SELECT COUNT(*), COUNT(DISTINCT order_id) FROM events WHERE name = 'order:created'",
    );
    assert_eq!(created, format!("{ORDERS}|{ORDERS}"), "order:created rows");

    // Every node published up to the head.
    for (n, node) in nodes.iter().enumerate() {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let health: Value = reqwest::get(format!("{}/healthz", node.url()))
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            if health["seq"].as_u64() == Some(head) {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "node {} stays at {health} (head {head})",
                n + 1
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    // Every watcher saw every order once.
    for w in &watchers {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let missing: Vec<&String> = w.seen(|s| {
                want.keys()
                    .filter(|id| !s.created.contains_key(*id))
                    .collect()
            });
            if missing.is_empty() {
                break;
            }
            // A resync loads the orders from a snapshot: their order:created
            // never comes.
            let resyncs = w.seen(|s| s.resyncs);
            if resyncs > 0 || Instant::now() > deadline {
                let some: Vec<String> = missing
                    .iter()
                    .take(20)
                    .map(|id| format!("'{id}'"))
                    .collect();
                let seqs = pg.psql(
                    "cafe",
                    &format!(
                        "SELECT string_agg(seq::text, ',' ORDER BY seq) FROM events \
                         WHERE name = 'order:created' AND order_id IN ({})",
                        some.join(",")
                    ),
                );
                panic!(
                    "{} saw {} of {ORDERS} orders (last seq {}, {resyncs} resyncs); missing the \
                     order:created of seq {seqs}{}; what it printed is in watch.jsonl there; its \
                     log ends:\n{}",
                    w.dir.display(),
                    ORDERS - missing.len(),
                    w.seen(|s| s.last_seq),
                    if missing.len() > 20 { " and more" } else { "" },
                    tail(&w.dir.join("cli.log"), 30)
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    let dirs: Vec<PathBuf> = watchers.iter().map(|w| w.dir.clone()).collect();
    let mut summary = Vec::new();
    for (dir, w) in dirs.iter().zip(watchers) {
        let seen = w.stop().await;
        let seen = seen.lock().unwrap_or_else(PoisonError::into_inner);
        let twice: Vec<(&String, &u32)> = seen.created.iter().filter(|(_, n)| **n != 1).collect();
        assert!(
            twice.is_empty(),
            "{}: order:created more than once: {twice:?}",
            dir.display()
        );
        assert_eq!(
            seen.created.len(),
            ORDERS,
            "{}: no other orders",
            dir.display()
        );
        assert!(
            seen.seq_not_rising.is_empty(),
            "{}: seq went back: {:?}",
            dir.display(),
            seen.seq_not_rising
        );
        assert_eq!(
            seen.resyncs,
            0,
            "{}: the log was kept; no resync",
            dir.display()
        );
        assert_eq!(cached_orders(dir), want, "{}'s cache", dir.display());
        let reconnects = seen.states.iter().filter(|s| *s == "reconnecting").count();
        // The CLI tells each node it moves to (a device that knows several).
        let log = std::fs::read_to_string(dir.join("cli.log")).unwrap_or_default();
        let moves = log
            .matches("countertop-cli: on hub node")
            .count()
            .saturating_sub(1);
        summary.push(format!(
            "{}:{} events/{} created/{} resyncs/{reconnects} reconnects/{moves} node moves",
            dir.file_name().unwrap().to_string_lossy(),
            seen.events,
            seen.created.len(),
            seen.resyncs
        ));
    }
    let unanswered = poster.unanswered.load(Ordering::Relaxed);
    let unavailable = poster.unavailable.load(Ordering::Relaxed);
    let replays = poster.replays.load(Ordering::Relaxed);
    eprintln!(
        "cluster chaos: {ORDERS} orders ({by_cell} by cell) on {NODES} nodes with {kills} node kills \
         and restarts, {pg_restarts} PostgreSQL restart (down {pg_down_for:?}), {faults} proxy \
         faults; posts retried after {unanswered} without an answer and {unavailable} 5xx, \
         {replays} answered 200 (a node had taken it); seq 1..={head}; posted in {posted_in:?}; \
         {WATCHERS} watchers (1-{NODES} on one node, the others failing over): {}; converged after {:?}",
        summary.join(", "),
        started.elapsed()
    );
}
