//! `countertop-bench`: the hub against a Node.js Socket.IO peer and a Python
//! FastAPI peer under the same load, and a resume storm against the hub;
//! with `--nodes`, the hub on several nodes sharing one PostgreSQL database
//! beside the SQLite hub (issue 18). See BENCHMARKS.md for what is measured
//! and how to run it.

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
    version,
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
    /// sustains (0 skips it; several, e.g. 10,1000, make one run each: with
    /// few subscribers the run measures the orders a second it takes).
    #[arg(long, value_delimiter = ',', default_values_t = [1000])]
    max_rate_subscribers: Vec<usize>,
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
    /// Instead of the peers and the storm: the hub on this many nodes
    /// sharing one PostgreSQL database (e.g. 1,2,3), subscribers and orders
    /// spread evenly over the nodes, beside the SQLite hub under the same
    /// load (default N = 1000). Needs --postgres.
    #[arg(long, value_delimiter = ',')]
    nodes: Vec<usize>,
    /// A PostgreSQL server where the bench may create (and drop) a database
    /// for each run: postgres://user:password@host:5432/postgres. Repeat it
    /// to compare servers (say fsync off and on) in one table and plot.
    #[arg(long, env = "COUNTERTOP_BENCH_POSTGRES", hide_env_values = true)]
    postgres: Vec<String>,
}

/// The most hub nodes one `--nodes` run starts.
const MAX_NODES: usize = 16;

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
    let hub_bin = match cli.hub_bin.clone() {
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
    if !cli.nodes.is_empty() {
        return nodes_runs(&cli, &paths, load, max_rate, started).await;
    }
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
        runs.extend(
            cli.max_rate_subscribers
                .iter()
                .filter(|&&n| n > 0)
                .map(|&n| (n, max_rate)),
        );
        for (n, load) in runs {
            let t = Instant::now();
            let server = Server::start(kind, &paths)
                .await
                .with_context(|| format!("starting {}", kind.name()))?;
            let tag = run_tag(n, load);
            let r = load::run(std::slice::from_ref(&server), None, n, load, &tag).await;
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

/// `--nodes`: the SQLite hub, then for each PostgreSQL server the hub on
/// each number of nodes, under the same loads; the table and the plot.
async fn nodes_runs(
    cli: &Cli,
    paths: &Paths,
    load: load::Load,
    max_rate: load::Load,
    started: Instant,
) -> anyhow::Result<()> {
    if let Some(&bad) = cli.nodes.iter().find(|&&k| k == 0 || k > MAX_NODES) {
        anyhow::bail!("--nodes {bad}: between 1 and {MAX_NODES} nodes");
    }
    anyhow::ensure!(
        !cli.postgres.is_empty(),
        "--nodes needs a PostgreSQL server where the bench may create databases: \
         --postgres postgres://user@127.0.0.1:5432/postgres (or COUNTERTOP_BENCH_POSTGRES)"
    );
    if let Some(why) = paths.missing(Kind::Hub) {
        anyhow::bail!("countertop-hub: {why}");
    }
    let mut servers = Vec::with_capacity(cli.postgres.len());
    for url in &cli.postgres {
        servers.push(server::Postgres::connect(url).await?);
    }
    let sizes = if cli.subscribers.is_empty() {
        vec![1000]
    } else {
        cli.subscribers.clone()
    };
    let mut runs: Vec<(usize, load::Load)> = sizes.iter().map(|&n| (n, load)).collect();
    runs.extend(
        cli.max_rate_subscribers
            .iter()
            .filter(|&&n| n > 0)
            .map(|&n| (n, max_rate)),
    );
    eprintln!(
        "countertop-bench --nodes {:?}: N = {sizes:?}, {} orders at {}/s; max rate N = {:?}, {} orders; {}",
        cli.nodes,
        load.orders,
        cli.rate,
        cli.max_rate_subscribers,
        max_rate.orders,
        servers
            .iter()
            .map(|s| s.label.as_str())
            .collect::<Vec<_>>()
            .join("; ")
    );

    let load_before = load_average();
    let mut rows = Vec::new();
    let store = "SQLite".to_owned();
    for &(n, load) in &runs {
        let server = Server::start(Kind::Hub, paths)
            .await
            .context("starting the SQLite hub")?;
        let r = load::run(
            std::slice::from_ref(&server),
            None,
            n,
            load,
            &run_tag(n, load),
        )
        .await;
        server.stop().await;
        let r = r.with_context(|| format!("the SQLite hub with {n} subscribers"))?;
        progress(&store, &r);
        rows.push(report::NodesRow {
            store: store.clone(),
            run: r,
        });
    }
    for pg in &servers {
        for &k in &cli.nodes {
            for &(n, load) in &runs {
                let db = pg.fresh_database().await?;
                let result = async {
                    let nodes = Server::start_nodes(paths, &db.url, k)
                        .await
                        .with_context(|| format!("starting {k} hub nodes on {}", pg.label))?;
                    let shared = load::SharedDatabase {
                        server: pg,
                        name: &db.name,
                    };
                    let r = load::run(&nodes, Some(shared), n, load, &run_tag(n, load)).await;
                    for node in nodes {
                        node.stop().await;
                    }
                    r.with_context(|| format!("{k} nodes on {} with {n} subscribers", pg.label))
                }
                .await;
                let dropped = pg.drop_database(&db).await;
                let r = result?;
                dropped?;
                progress(&pg.label, &r);
                rows.push(report::NodesRow {
                    store: pg.label.clone(),
                    run: r,
                });
            }
        }
    }

    println!();
    println!("{}", report::nodes_table(&rows));
    println!(
        "load average (1 min) {load_before} before, {} after; {} cores",
        load_average(),
        std::thread::available_parallelism().map_or(0, usize::from)
    );
    if let Some(path) = &cli.svg {
        std::fs::write(path, report::nodes_svg(&rows))
            .with_context(|| format!("writing {}", path.display()))?;
        eprintln!("plot written to {}", path.display());
    }
    eprintln!(
        "countertop-bench finished in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The 1-minute load average: the machine is shared, and its figures move with it.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "?".to_owned())
}

/// The idempotency keys' prefix of one run.
fn run_tag(n: usize, load: load::Load) -> String {
    if load.rate.is_some() {
        format!("n{n}")
    } else {
        format!("max{n}")
    }
}

fn progress(store: &str, r: &load::RunResult) {
    eprintln!(
        "  {store}, {} node{}{} N={}: p99 {:.2} ms, {:.0} deliveries/s, {:.0} orders/s, {}/{} delivered",
        r.nodes,
        if r.nodes == 1 { "" } else { "s" },
        if r.saturated { " at max rate" } else { "" },
        r.subscribers,
        r.p99_ms,
        r.deliveries_per_s,
        r.orders_per_s,
        r.deliveries,
        r.expected,
    );
}
