//! `countertop-bench`: the hub against a Node.js Socket.IO peer and a Python
//! FastAPI peer under the same load, and a resume storm against the hub.
//! See BENCHMARKS.md for what is measured and how to run it.

mod load;
mod report;
mod server;
mod storm;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Parser;

use server::{Kind, Paths, Server};

#[derive(Parser)]
#[command(
    name = "countertop-bench",
    about = "Benchmarks the hub against the stacks it replaces"
)]
struct Cli {
    /// Small sizes for CI and iteration (N = 100 and 1,000; under two minutes).
    #[arg(long)]
    quick: bool,
    /// Subscriber counts (default: 100,1000 quick; 100,1000,5000 full).
    #[arg(long, value_delimiter = ',')]
    subscribers: Vec<usize>,
    /// Orders per run.
    #[arg(long)]
    orders: Option<usize>,
    /// Orders posted per second.
    #[arg(long, default_value_t = 100.0)]
    rate: f64,
    /// Servers to run (hub, socketio, fastapi).
    #[arg(long, value_delimiter = ',', default_values_t = ["hub".to_owned(), "socketio".to_owned(), "fastapi".to_owned()])]
    servers: Vec<String>,
    /// Subscribers for the maximum-rate run, where orders are posted back to
    /// back (8 in flight) to find the deliveries per second each server
    /// sustains (0 skips it).
    #[arg(long, default_value_t = 1000)]
    max_rate_subscribers: usize,
    /// Orders in the maximum-rate run (default: 100 quick, 300 full).
    #[arg(long)]
    max_rate_orders: Option<usize>,
    /// Resume storm: subscribers and orders (0 skips it).
    #[arg(long, default_value_t = 1000)]
    storm_subscribers: usize,
    #[arg(long, default_value_t = 500)]
    storm_orders: usize,
    /// Write the latency plot here (SVG).
    #[arg(long)]
    svg: Option<PathBuf>,
    /// The hub binary (default: countertop-hub beside this binary).
    #[arg(long)]
    hub_bin: Option<PathBuf>,
}

fn kind_of(name: &str) -> anyhow::Result<Kind> {
    Ok(match name {
        "hub" => Kind::Hub,
        "socketio" => Kind::SocketIo,
        "fastapi" => Kind::FastApi,
        other => anyhow::bail!("unknown server {other:?} (hub, socketio, fastapi)"),
    })
}

/// Every subscriber is a socket in this process and in the server.
fn raise_open_files() -> u64 {
    let want = 65_536;
    if rlimit::setrlimit(rlimit::Resource::NOFILE, want, want).is_ok() {
        return want;
    }
    rlimit::increase_nofile_limit(want).unwrap_or(1024)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let started = Instant::now();
    let nofile = raise_open_files();
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let root = root.canonicalize().unwrap_or(root);
    let hub_bin = match cli.hub_bin {
        Some(p) => p,
        None => std::env::current_exe()?
            .parent()
            .context("exe dir")?
            .join("countertop-hub"),
    };
    let paths = Paths { root, hub_bin };
    let sizes = if !cli.subscribers.is_empty() {
        cli.subscribers.clone()
    } else if cli.quick {
        vec![100, 1000]
    } else {
        vec![100, 1000, 5000]
    };
    let orders = cli.orders.unwrap_or(if cli.quick { 100 } else { 300 });
    let load = load::Load {
        orders,
        rate: Some(cli.rate),
        drain: Duration::from_secs(if cli.quick { 10 } else { 30 }),
    };
    let max_rate = load::Load {
        orders: cli
            .max_rate_orders
            .unwrap_or(if cli.quick { 100 } else { 300 }),
        rate: None,
        drain: Duration::from_secs(if cli.quick { 15 } else { 60 }),
    };
    let kinds = cli
        .servers
        .iter()
        .map(|s| kind_of(s))
        .collect::<anyhow::Result<Vec<_>>>()?;
    eprintln!(
        "countertop-bench: N = {sizes:?}, {orders} orders at {}/s, open-file limit {nofile}",
        cli.rate
    );

    let mut results = Vec::new();
    let mut skipped = Vec::new();
    for &kind in &kinds {
        if let Some(why) = paths.missing(kind) {
            eprintln!("  skipping {}: {why}", kind.name());
            skipped.push(format!("{}: {why}", kind.name()));
            continue;
        }
        let mut runs: Vec<(usize, load::Load)> = sizes.iter().map(|&n| (n, load)).collect();
        if cli.max_rate_subscribers > 0 {
            runs.push((cli.max_rate_subscribers, max_rate));
        }
        for (n, load) in runs {
            let t = Instant::now();
            let server = Server::start(kind, &paths)
                .await
                .with_context(|| format!("starting {}", kind.name()))?;
            let tag = if load.rate.is_some() {
                format!("n{n}")
            } else {
                format!("max{n}")
            };
            let r = load::run(&server, n, load, &tag).await;
            server.stop().await;
            let r = r.with_context(|| format!("{} with {n} subscribers", kind.name()))?;
            eprintln!(
                "  {}{} N={n}: p99 {:.2} ms, {:.0} deliveries/s, {}/{} delivered ({:.1} s)",
                kind.name(),
                if r.saturated { " at max rate" } else { "" },
                r.p99_ms,
                r.deliveries_per_s,
                r.deliveries,
                r.expected,
                t.elapsed().as_secs_f64()
            );
            results.push(r);
        }
    }

    println!();
    println!("{}", report::table(&results));
    for s in &skipped {
        println!("not run: {s}");
    }

    if cli.storm_subscribers > 0 && paths.missing(Kind::Hub).is_none() {
        let s = storm::run(&paths, cli.storm_subscribers, cli.storm_orders).await?;
        println!(
            "resume storm: {} subscribers, hub killed and restarted, {} orders posted at once (posting took {:.2} s): {} | complete {}/{} | duplicates {} | resyncs {} | CPU s: hub {:.2}, bench {:.2}",
            s.subscribers,
            s.orders,
            s.posting.as_secs_f64(),
            s.caught_up
                .map_or("NOT caught up within 60 s".to_owned(), |d| format!(
                    "all caught up {:.2} s after the restart",
                    d.as_secs_f64()
                )),
            s.complete,
            s.subscribers,
            s.duplicates,
            s.resyncs,
            s.hub_cpu_seconds,
            s.bench_cpu_seconds,
        );
    }
    if let Some(path) = &cli.svg {
        std::fs::write(path, report::svg(&results))
            .with_context(|| format!("writing {}", path.display()))?;
        eprintln!("plot written to {}", path.display());
    }
    eprintln!(
        "countertop-bench finished in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
