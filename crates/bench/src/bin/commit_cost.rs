//! `countertop-commit-cost`: what it costs that a confirmed order is on disk
//! before the hub answers (`synchronous=FULL`, the default) against the
//! WAL's `NORMAL`, which only a killed process cannot hurt. The hub binary
//! is started once with each (`COUNTERTOP_SQLITE_SYNCHRONOUS`), orders are
//! POSTed one at a time and then 8 in flight, and a table is printed:
//! latency percentiles and orders a second.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Parser;
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

#[derive(Parser)]
#[command(
    name = "countertop-commit-cost",
    version,
    about = "The cost of synced commits: order latency and rate, FULL against NORMAL"
)]
struct Cli {
    /// The hub binary (default: countertop-hub beside this one).
    #[arg(long)]
    hub_bin: Option<PathBuf>,
    /// Orders in each run.
    #[arg(long, default_value_t = 300)]
    orders: usize,
}

struct Hub {
    child: Child,
    base: String,
    _data: tempfile::TempDir,
    token: String,
}

async fn start(bin: &PathBuf, synchronous: &str) -> anyhow::Result<Hub> {
    let data = tempfile::tempdir()?;
    let mut child = Command::new(bin)
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(data.path())
        .env("COUNTERTOP_SQLITE_SYNCHRONOUS", synchronous)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("spawning {}", bin.display()))?;
    let mut lines = BufReader::new(child.stdout.take().context("stdout")?).lines();
    let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
        .await
        .context("the hub did not start in 30 s")??
        .context("the hub exited")?;
    let addr = line
        .strip_prefix("listening on ")
        .with_context(|| format!("unexpected line {line:?}"))?
        .to_owned();
    let base = format!("http://{addr}");
    let out = Command::new(bin)
        .args(["pairing-code", "--role", "kiosk", "--data"])
        .arg(data.path())
        .output()
        .await?;
    let code: Value = serde_json::from_slice(&out.stdout)?;
    let paired: Value = reqwest::Client::new()
        .post(format!("{base}/api/devices/pair"))
        .json(&json!({ "code": code["code"] }))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let token = paired["token"].as_str().context("a token")?.to_owned();
    Ok(Hub {
        child,
        base,
        _data: data,
        token,
    })
}

/// POSTs `n` orders, `in_flight` at a time; answers each latency and the
/// whole run's duration.
async fn run(hub: &Hub, n: usize, in_flight: usize, tag: &str) -> anyhow::Result<(Vec<f64>, f64)> {
    let client = reqwest::Client::new();
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..in_flight {
        let (client, next) = (client.clone(), next.clone());
        let url = format!("{}/api/orders", hub.base);
        let token = hub.token.clone();
        let tag = tag.to_owned();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= n {
                    return anyhow::Ok(latencies);
                }
                let body = json!({
                    "idempotencyKey": format!("{tag}-{i}"),
                    "items": [{"menuId": "americano", "quantity": 1,
                               "options": [{"groupId": "temperature", "choiceId": "hot"}]}],
                    "payType": "CARD",
                });
                let sent = Instant::now();
                let status = client
                    .post(&url)
                    .bearer_auth(&token)
                    .json(&body)
                    .send()
                    .await?
                    .status();
                anyhow::ensure!(status == 201, "an order answered {status}");
                latencies.push(sent.elapsed().as_secs_f64() * 1000.0);
            }
        }));
    }
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await??);
    }
    all.sort_by(f64::total_cmp);
    Ok((all, started.elapsed().as_secs_f64()))
}

fn quantile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let bin = match cli.hub_bin {
        Some(bin) => bin,
        None => std::env::current_exe()?
            .parent()
            .context("the bench's folder")?
            .join("countertop-hub"),
    };
    println!(
        "{:<8} {:>9} {:>9} {:>9} {:>9} {:>10}",
        "sync", "in flight", "p50 ms", "p99 ms", "max ms", "orders/s"
    );
    for synchronous in ["normal", "full"] {
        let mut hub = start(&bin, synchronous).await?;
        // Warm up: the first orders pay for caches and the WAL's growth.
        run(&hub, 50, 1, &format!("warm-{synchronous}")).await?;
        for in_flight in [1, 8] {
            let (lat, secs) = run(
                &hub,
                cli.orders,
                in_flight,
                &format!("{synchronous}-{in_flight}"),
            )
            .await?;
            println!(
                "{:<8} {:>9} {:>9.2} {:>9.2} {:>9.2} {:>10.0}",
                synchronous,
                in_flight,
                quantile(&lat, 0.5),
                quantile(&lat, 0.99),
                lat.last().copied().unwrap_or(0.0),
                cli.orders as f64 / secs
            );
        }
        hub.child.kill().await?;
    }
    Ok(())
}
