//! The chaos tests' machinery: `countertop-cli watch --json` processes and
//! what they printed, a fault injector for a [`FaultProxy`], random orders
//! from the demo menu, and the seed (`CHAOS_SEED`) that replays a run.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use countertop_client::Cache;
use countertop_protocol::{MenuItem, OrderStatus};
use rand::{rngs::StdRng, Rng, SeedableRng};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::sync::Notify;
use tokio::time::{timeout, Instant};

use super::api::Api;
use super::hub::Hub;
use super::proxy::FaultProxy;

pub const CLI: &str = env!("CARGO_BIN_EXE_countertop-cli");

pub fn seed() -> u64 {
    let seed = std::env::var("CHAOS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20261123);
    eprintln!("chaos seed {seed} (set CHAOS_SEED to replay)");
    seed
}

/// What one watcher process printed.
#[derive(Default, Debug)]
pub struct Seen {
    /// How many times each order's `order:created` was printed.
    pub created: HashMap<String, u32>,
    pub alerts: HashMap<String, u32>,
    pub resyncs: u32,
    pub states: Vec<String>,
    pub state: String,
    pub events: u64,
    /// The last event's `seq`.
    pub last_seq: u64,
    /// Events whose `seq` was not above the one before (none expected).
    pub seq_not_rising: Vec<(u64, u64)>,
}

/// A `countertop-cli watch --json` process.
pub struct Watcher {
    pub dir: PathBuf,
    child: tokio::process::Child,
    seen: Arc<Mutex<Seen>>,
    ended: Arc<Notify>,
}

/// Pairs `dir` as a barista of `hub` with `countertop-cli pair`.
pub fn pair_cli(hub: &Hub, dir: &Path, name: &str) {
    pair_cli_with(&hub.pairing_code("barista", name), &hub.url(), dir);
}

/// Pairs `dir` with `countertop-cli pair` at `hub_url` by barista `code`.
pub fn pair_cli_with(code: &str, hub_url: &str, dir: &Path) {
    let output = std::process::Command::new(CLI)
        .args(["pair", "--hub", hub_url, "--code", code, "--data"])
        .arg(dir)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "pair: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let line: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(line["role"], "barista");
    assert!(
        !String::from_utf8_lossy(&output.stdout).contains("eyJ"),
        "the token must not be printed"
    );
}

impl Watcher {
    pub fn start(dir: &Path, hub_url: &str) -> Watcher {
        Self::start_on(dir, &[hub_url.to_owned()])
    }

    /// A watcher given several hub nodes (`--hub` each, in this order): it
    /// moves to the next when one is unreachable, and says so in its log.
    pub fn start_on(dir: &Path, hub_urls: &[String]) -> Watcher {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("cli.log"))
            .unwrap();
        let hubs = hub_urls.iter().flat_map(|url| ["--hub", url.as_str()]);
        let mut child = tokio::process::Command::new(CLI)
            .args(["watch", "--json", "--quiet", "--alert-max-age", "3600"])
            .args(hubs)
            .args([
                "--backoff-ms",
                "100",
                "--suspend-ms",
                "500",
                "--ping-ms",
                "1000",
                "--answer-ms",
                "1500",
            ])
            .args(["--request-timeout-ms", "3000", "--data"])
            .arg(dir)
            .env("RUST_LOG", "countertop_client=info")
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let seen = Arc::new(Mutex::new(Seen::default()));
        let ended = Arc::new(Notify::new());
        let (seen2, ended2) = (seen.clone(), ended.clone());
        // What it printed is kept in its folder too, for a failure's story.
        let mut printed = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("watch.jsonl"))
            .unwrap();
        tokio::spawn(async move {
            let mut lines = BufReader::new(stdout).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                let _ = writeln!(printed, "{line}");
                let value: Value = serde_json::from_str(&line)
                    .unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
                let mut seen = seen2.lock().unwrap_or_else(PoisonError::into_inner);
                match value["kind"].as_str() {
                    Some("event") => {
                        seen.events += 1;
                        let seq = value["seq"].as_u64();
                        assert!(seq.is_some(), "{line}");
                        let seq = seq.unwrap_or_default();
                        if seq <= seen.last_seq {
                            let last = seen.last_seq;
                            seen.seq_not_rising.push((last, seq));
                        }
                        seen.last_seq = seq;
                        if value["event"] == "order:created" {
                            let id = value["data"]["orderId"].as_str().unwrap().to_owned();
                            *seen.created.entry(id).or_default() += 1;
                        }
                    }
                    Some("alert") => {
                        let key = value["key"].as_str().unwrap().to_owned();
                        *seen.alerts.entry(key).or_default() += 1;
                    }
                    Some("snapshot") if value["reason"] == "resync" => seen.resyncs += 1,
                    Some("state") => {
                        let state = value["state"].as_str().unwrap().to_owned();
                        seen.states.push(state.clone());
                        seen.state = state;
                    }
                    _ => {}
                }
            }
            ended2.notify_one();
        });
        Watcher {
            dir: dir.to_owned(),
            child,
            seen,
            ended,
        }
    }

    pub fn seen<T>(&self, f: impl FnOnce(&Seen) -> T) -> T {
        f(&self.seen.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// SIGTERM, and wait for it to print `stopped` and exit.
    pub async fn stop(mut self) -> Arc<Mutex<Seen>> {
        let pid = self.child.id().expect("running");
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status();
        let status = timeout(Duration::from_secs(20), self.child.wait())
            .await
            .expect("the watcher stops on SIGTERM")
            .unwrap();
        assert!(status.success(), "watcher exit: {status}");
        timeout(Duration::from_secs(5), self.ended.notified())
            .await
            .ok();
        assert_eq!(self.seen(|s| s.state.clone()), "stopped");
        self.seen
    }

    /// SIGKILL: a crash.
    pub async fn crash(mut self) -> Arc<Mutex<Seen>> {
        self.child.kill().await.unwrap();
        self.seen
    }
}

pub fn cached_orders(dir: &Path) -> BTreeMap<String, OrderStatus> {
    Cache::open(dir)
        .unwrap()
        .orders()
        .unwrap()
        .into_iter()
        .map(|o| (o.order_id, o.status))
        .collect()
}

/// Waits, polling, until `dir`'s cache holds exactly `want`.
pub async fn until_cache_matches(
    dir: &Path,
    want: &BTreeMap<String, OrderStatus>,
    within: Duration,
) {
    let deadline = Instant::now() + within;
    loop {
        let have = cached_orders(dir);
        if &have == want {
            return;
        }
        if Instant::now() > deadline {
            let missing = want.keys().filter(|k| !have.contains_key(*k)).count();
            let wrong = want
                .iter()
                .filter(|(k, v)| have.get(*k).is_some_and(|h| h != *v))
                .count();
            let extra = have.keys().filter(|k| !want.contains_key(*k)).count();
            let log = std::fs::read_to_string(dir.join("cli.log")).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(30).collect();
            panic!(
                "{}: cache differs from the hub after {within:?}: {missing} missing, {wrong} wrong status, {extra} extra; its log ends:\n{}",
                dir.display(),
                tail.into_iter().rev().collect::<Vec<_>>().join("\n")
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Counts injected faults, so the load can keep pace with them.
#[derive(Default)]
pub struct FaultCount {
    n: std::sync::atomic::AtomicU32,
    more: Notify,
}

impl FaultCount {
    /// Waits until at least `n` faults have been injected.
    pub async fn at_least(&self, n: u32) {
        let within = Duration::from_secs(30);
        timeout(within, async {
            loop {
                let more = self.more.notified();
                if self.n.load(std::sync::atomic::Ordering::SeqCst) >= n {
                    return;
                }
                more.await;
            }
        })
        .await
        .expect("the fault injector keeps going");
    }
}

/// Injects a random fault every few hundred milliseconds until `stop`.
pub async fn make_trouble(
    proxy: Arc<FaultProxy>,
    stop: Arc<Notify>,
    seed: u64,
    count: Arc<FaultCount>,
) -> u32 {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut faults = 0;
    loop {
        let pause = Duration::from_millis(rng.gen_range(150..600));
        tokio::select! {
            () = stop.notified() => break,
            () = tokio::time::sleep(pause) => {}
        }
        faults += 1;
        match rng.gen_range(0..5) {
            0 => proxy.cut(),
            1 => proxy.reset(),
            2 => {
                proxy.stall(true);
                tokio::time::sleep(Duration::from_millis(rng.gen_range(500..2500))).await;
                proxy.stall(false);
            }
            3 => {
                proxy.delay(Duration::from_millis(rng.gen_range(20..120)));
                tokio::time::sleep(Duration::from_millis(800)).await;
                proxy.delay(Duration::ZERO);
            }
            _ => {
                proxy.refuse(true);
                proxy.cut();
                tokio::time::sleep(Duration::from_millis(rng.gen_range(200..1500))).await;
                proxy.refuse(false);
            }
        }
        count.n.store(faults, std::sync::atomic::Ordering::SeqCst);
        count.more.notify_waiters();
    }
    proxy.heal();
    faults
}

pub fn order_items(menu: &[MenuItem], rng: &mut StdRng) -> Value {
    let lines: Vec<Value> = (0..rng.gen_range(1..=3))
        .map(|_| {
            let item = &menu[rng.gen_range(0..menu.len())];
            // Each required option group (the demo's temperature) gets its first choice.
            let options: Vec<Value> = item
                .option_groups
                .iter()
                .filter(|g| g.required || g.min > 0)
                .map(|g| json!({"groupId": g.id, "choiceId": g.choices[0].id}))
                .collect();
            json!({"menuId": item.id, "quantity": rng.gen_range(1..=3), "options": options})
        })
        .collect();
    Value::Array(lines)
}

/// Menu items an order can always use: not sold out, no stock count.
pub async fn open_menu(api: &Api) -> Vec<MenuItem> {
    let menu: Vec<MenuItem> = api
        .menu()
        .await
        .into_iter()
        .filter(|m| !m.is_sold_out && m.stock.is_none())
        .collect();
    assert!(
        !menu.is_empty(),
        "the demo menu has items without stock limits"
    );
    menu
}
