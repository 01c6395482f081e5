//! The servers under test, each spawned as its own process so that its CPU
//! time and resident memory can be read from `/proc` (summed over the whole
//! process tree, which matters for peers that fork).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// Which of the three servers.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Kind {
    Hub,
    SocketIo,
    FastApi,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Hub => "countertop-hub",
            Kind::SocketIo => "Socket.IO (Node)",
            Kind::FastApi => "FastAPI (uvicorn)",
        }
    }
}

/// Where the repository and the hub binary are.
pub struct Paths {
    pub root: PathBuf,
    pub hub_bin: PathBuf,
}

impl Paths {
    fn node_peer(&self) -> PathBuf {
        self.root.join("bench/peers/socketio")
    }
    fn python_peer(&self) -> PathBuf {
        self.root.join("bench/peers/fastapi")
    }

    /// Why a peer cannot run here, if it cannot.
    pub fn missing(&self, kind: Kind) -> Option<String> {
        let need = match kind {
            Kind::Hub => self.hub_bin.clone(),
            Kind::SocketIo => self.node_peer().join("node_modules/better-sqlite3"),
            Kind::FastApi => self.python_peer().join(".venv/bin/python"),
        };
        let how = match kind {
            Kind::Hub => "build it: cargo build --release -p countertop-hub, or pass --hub-bin",
            Kind::SocketIo | Kind::FastApi => "run bench/setup.sh",
        };
        (!need.exists()).then(|| format!("{} missing ({how})", need.display()))
    }
}

/// A running server and the tokens its clients need.
pub struct Server {
    pub kind: Kind,
    pub addr: SocketAddr,
    child: Child,
    pub data: tempfile::TempDir,
    /// The hub's PostgreSQL database (a URL), when it stores there rather
    /// than in its data folder's SQLite file.
    database: Option<String>,
    /// Bearer token for subscribers (hub: a barista).
    pub subscriber_token: Option<String>,
    /// Bearer token for publishers (hub: a kiosk).
    pub publisher_token: Option<String>,
}

impl Server {
    pub async fn start(kind: Kind, paths: &Paths) -> anyhow::Result<Server> {
        let data = tempfile::Builder::new()
            .prefix("countertop-bench-")
            .tempdir()?;
        let mut server = match kind {
            Kind::Hub => {
                let (child, addr) = spawn_hub(paths, data.path(), "127.0.0.1:0", None).await?;
                Server {
                    kind,
                    addr,
                    child,
                    data,
                    database: None,
                    subscriber_token: None,
                    publisher_token: None,
                }
            }
            Kind::SocketIo | Kind::FastApi => {
                let port = free_port()?;
                let db = data.path().join("orders.db");
                let mut cmd = if kind == Kind::SocketIo {
                    let mut c = Command::new("node");
                    c.arg(paths.node_peer().join("server.js"));
                    c
                } else {
                    let mut c = Command::new(paths.python_peer().join(".venv/bin/python"));
                    c.arg(paths.python_peer().join("server.py"));
                    c
                };
                cmd.arg(port.to_string()).arg(&db);
                let child = spawn_logged(cmd, data.path())?;
                let addr: SocketAddr = ([127, 0, 0, 1], port).into();
                Server {
                    kind,
                    addr,
                    child,
                    data,
                    database: None,
                    subscriber_token: None,
                    publisher_token: None,
                }
            }
        };
        server.wait_healthy().await?;
        if kind == Kind::Hub {
            server.subscriber_token = Some(pair(paths, &server, "barista").await?);
            server.publisher_token = Some(pair(paths, &server, "kiosk").await?);
        }
        Ok(server)
    }

    /// `n` hub processes on the one PostgreSQL `database`, each with its
    /// own data folder, as docs/deploy.md sets nodes up: the first starts
    /// alone (it migrates and seeds the demo café), the others with copies
    /// of its signing secret and TLS identity. The devices are paired on
    /// the first; their tokens hold on every node.
    pub async fn start_nodes(
        paths: &Paths,
        database: &str,
        n: usize,
    ) -> anyhow::Result<Vec<Server>> {
        anyhow::ensure!(n >= 1, "at least one node");
        let mut nodes: Vec<Server> = Vec::with_capacity(n);
        for i in 0..n {
            let data = tempfile::Builder::new()
                .prefix("countertop-bench-node-")
                .tempdir()?;
            if let Some(first) = nodes.first() {
                for name in ["secret.key", "tls.key", "tls.crt"] {
                    std::fs::copy(first.data.path().join(name), data.path().join(name))
                        .with_context(|| format!("copying node 1's {name}"))?;
                }
            }
            let (child, addr) =
                spawn_hub(paths, data.path(), "127.0.0.1:0", Some(database)).await?;
            let mut node = Server {
                kind: Kind::Hub,
                addr,
                child,
                data,
                database: Some(database.to_owned()),
                subscriber_token: None,
                publisher_token: None,
            };
            node.wait_healthy()
                .await
                .with_context(|| format!("node {}", i + 1))?;
            nodes.push(node);
        }
        let subscriber = pair(paths, &nodes[0], "barista").await?;
        let publisher = pair(paths, &nodes[0], "kiosk").await?;
        for node in &mut nodes {
            node.subscriber_token = Some(subscriber.clone());
            node.publisher_token = Some(publisher.clone());
        }
        Ok(nodes)
    }

    pub fn pid(&self) -> anyhow::Result<u32> {
        self.child.id().context("server has exited")
    }

    async fn wait_healthy(&mut self) -> anyhow::Result<()> {
        let client = reqwest::Client::new();
        let url = format!("http://{}/healthz", self.addr);
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(30) {
            if let Some(status) = self.child.try_wait()? {
                bail!(
                    "{} exited with {status}; see {}",
                    self.kind.name(),
                    self.data.path().display()
                );
            }
            if let Ok(r) = client.get(&url).send().await {
                if r.status().is_success() {
                    return Ok(());
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        bail!("{} not healthy within 30 s", self.kind.name())
    }

    /// Kill the hub at once (SIGKILL, as a power cut would) and start it
    /// again on the same address and data. Returns when it listens again.
    pub async fn kill_and_restart(&mut self, paths: &Paths) -> anyhow::Result<Instant> {
        self.child.kill().await?;
        let (child, _) = spawn_hub(
            paths,
            self.data.path(),
            &self.addr.to_string(),
            self.database.as_deref(),
        )
        .await?;
        self.child = child;
        Ok(Instant::now())
    }

    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}

fn spawn_logged(mut cmd: Command, dir: &Path) -> anyhow::Result<Child> {
    let log = std::fs::File::create(dir.join("server.log"))?;
    cmd.stdout(Stdio::piped())
        .stderr(log)
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .env("RUST_LOG", "warn");
    let mut child = cmd.spawn().context("spawning a server")?;
    // Drain stdout so a chatty server never blocks on a full pipe.
    if let Some(out) = child.stdout.take() {
        tokio::spawn(async move {
            let mut lines = BufReader::new(out).lines();
            while let Ok(Some(_)) = lines.next_line().await {}
        });
    }
    Ok(child)
}

async fn spawn_hub(
    paths: &Paths,
    data: &Path,
    listen: &str,
    database: Option<&str>,
) -> anyhow::Result<(Child, SocketAddr)> {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(data.join("server.log"))?;
    let mut cmd = Command::new(&paths.hub_bin);
    // In the environment, not the arguments: a URL's password stays out of `ps`.
    match database {
        Some(url) => cmd.env("COUNTERTOP_DATABASE", url),
        None => cmd.env_remove("COUNTERTOP_DATABASE"),
    };
    let mut child = cmd
        .args(["serve", "--listen", listen, "--data"])
        .arg(data)
        .env("RUST_LOG", "warn")
        // Every simulated device connects from this machine's one address.
        .env("COUNTERTOP_MAX_CONNECTIONS_PER_ADDRESS", "1000000")
        .stdout(Stdio::piped())
        .stderr(log)
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("spawning {}", paths.hub_bin.display()))?;
    let out = child.stdout.take().context("hub stdout")?;
    let mut lines = BufReader::new(out).lines();
    let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
        .await
        .context("hub did not print its address within 30 s")??
        .context("hub exited before listening")?;
    let addr = line
        .strip_prefix("listening on ")
        .with_context(|| format!("unexpected hub line {line:?}"))?
        .parse()?;
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Ok((child, addr))
}

/// Pair a device through the hub's command line and REST API; returns its token.
async fn pair(paths: &Paths, server: &Server, role: &str) -> anyhow::Result<String> {
    let mut cmd = Command::new(&paths.hub_bin);
    match &server.database {
        Some(url) => cmd.env("COUNTERTOP_DATABASE", url),
        None => cmd.env_remove("COUNTERTOP_DATABASE"),
    };
    let out = cmd
        .args(["pairing-code", "--role", role, "--data"])
        .arg(server.data.path())
        .output()
        .await?;
    anyhow::ensure!(
        out.status.success(),
        "pairing-code failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let code: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    let resp: serde_json::Value = reqwest::Client::new()
        .post(format!("http://{}/api/devices/pair", server.addr))
        .json(&serde_json::json!({ "code": code["code"] }))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    resp["token"]
        .as_str()
        .map(str::to_owned)
        .context("pair answered without a token")
}

/// A PostgreSQL server where the bench may create databases (`--postgres`,
/// `COUNTERTOP_BENCH_POSTGRES`): each run of hub nodes gets a fresh
/// database, dropped after it.
pub struct Postgres {
    url: reqwest::Url,
    admin: sqlx::PgPool,
    /// Its version and the settings that decide what a commit costs, for
    /// the table: "PostgreSQL 15.18, fsync off, synchronous_commit off".
    pub label: String,
    /// On this machine: its processes' CPU time can be read from `/proc`.
    local: bool,
}

/// A database made for one run.
pub struct FreshDatabase {
    pub name: String,
    pub url: String,
}

impl Postgres {
    pub async fn connect(url: &str) -> anyhow::Result<Postgres> {
        let parsed = reqwest::Url::parse(url)
            .ok()
            .filter(|u| matches!(u.scheme(), "postgres" | "postgresql"))
            .context(
                "--postgres: expected a URL such as postgres://user@127.0.0.1:5432/postgres",
            )?;
        let host = parsed.host_str().unwrap_or("").to_owned();
        let admin = sqlx::postgres::PgPoolOptions::new()
            .max_connections(1)
            .connect(url)
            .await
            .with_context(|| {
                format!(
                    "connecting to PostgreSQL on {host}:{}",
                    parsed.port().unwrap_or(5432)
                )
            })?;
        let mut settings = Vec::new();
        for name in ["server_version", "fsync", "synchronous_commit"] {
            let value: String = sqlx::query_scalar(&format!("SHOW {name}"))
                .fetch_one(&admin)
                .await
                .with_context(|| format!("SHOW {name}"))?;
            settings.push(value);
        }
        let version = settings[0].split_whitespace().next().unwrap_or("?");
        Ok(Postgres {
            label: format!(
                "PostgreSQL {version}, fsync {}, synchronous_commit {}",
                settings[1], settings[2]
            ),
            local: matches!(host.as_str(), "127.0.0.1" | "localhost" | "[::1]" | "::1"),
            url: parsed,
            admin,
        })
    }

    /// Creates an empty database with a name of its own.
    pub async fn fresh_database(&self) -> anyhow::Result<FreshDatabase> {
        static MADE: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let millis = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() % 1_000_000_000);
        let name = format!(
            "countertop_bench_{}_{millis}_{}",
            std::process::id(),
            MADE.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        );
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&self.admin)
            .await
            .with_context(|| format!("CREATE DATABASE {name}"))?;
        let mut url = self.url.clone();
        url.set_path(&name);
        Ok(FreshDatabase {
            name,
            url: url.to_string(),
        })
    }

    /// Drops a database made by [`Postgres::fresh_database`] (stop its hub
    /// nodes first; any connection left is ended).
    pub async fn drop_database(&self, db: &FreshDatabase) -> anyhow::Result<()> {
        sqlx::query(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", db.name))
            .execute(&self.admin)
            .await
            .with_context(|| format!("DROP DATABASE {}", db.name))?;
        Ok(())
    }

    /// CPU seconds so far of each server process that serves `database`,
    /// and of the server's own background processes (WAL writer,
    /// checkpointer, …, which work for every database of the server);
    /// `None` when the server is not on this machine.
    pub async fn processes_cpu(&self, database: &str) -> Option<HashMap<u32, f64>> {
        if !self.local {
            return None;
        }
        let pids: Vec<i32> = sqlx::query_scalar(
            "SELECT pid FROM pg_stat_activity WHERE datname = $1 OR datname IS NULL",
        )
        .bind(database)
        .fetch_all(&self.admin)
        .await
        .ok()?;
        Some(
            pids.into_iter()
                .filter_map(|p| {
                    let p = u32::try_from(p).ok()?;
                    Some((p, process_cpu_seconds(p)?))
                })
                .collect(),
        )
    }
}

/// CPU seconds the processes in `after` spent since `before` (a process
/// that started in between counts whole).
pub fn cpu_between(before: &HashMap<u32, f64>, after: &HashMap<u32, f64>) -> f64 {
    after
        .iter()
        .map(|(pid, cpu)| cpu - before.get(pid).copied().unwrap_or(0.0))
        .sum()
}

fn free_port() -> anyhow::Result<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(l.local_addr()?.port())
}

/// CPU seconds and resident memory of a process and all its descendants.
#[derive(Clone, Copy, Debug, Default)]
pub struct Usage {
    pub cpu_seconds: f64,
    pub rss_kib: u64,
}

pub fn usage(pid: u32) -> Usage {
    let mut parent: HashMap<u32, u32> = HashMap::new();
    let mut stats: HashMap<u32, (u64, u64)> = HashMap::new();
    if let Ok(entries) = std::fs::read_dir("/proc") {
        for e in entries.flatten() {
            let Some(p) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
                continue;
            };
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{p}/stat")) else {
                continue;
            };
            // Fields after the command name (which may hold spaces and parens).
            let Some(rest) = stat.rfind(')').map(|i| &stat[i + 1..]) else {
                continue;
            };
            let f: Vec<&str> = rest.split_whitespace().collect();
            if f.len() > 12 {
                let ppid = f[1].parse().unwrap_or(0);
                let utime = f[11].parse().unwrap_or(0);
                let stime = f[12].parse().unwrap_or(0);
                parent.insert(p, ppid);
                stats.insert(p, (utime, stime));
            }
        }
    }
    let mut tree = vec![pid];
    let mut i = 0;
    while i < tree.len() && tree.len() < 10_000 {
        let p = tree[i];
        tree.extend(parent.iter().filter(|(_, pp)| **pp == p).map(|(c, _)| *c));
        i += 1;
    }
    let mut u = Usage::default();
    for p in tree {
        if let Some((ut, st)) = stats.get(&p) {
            // USER_HZ is 100 on every Linux this runs on.
            u.cpu_seconds += (ut + st) as f64 / 100.0;
        }
        if let Ok(status) = std::fs::read_to_string(format!("/proc/{p}/status")) {
            if let Some(kb) = status
                .lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.split_whitespace().next())
                .and_then(|v| v.parse::<u64>().ok())
            {
                u.rss_kib += kb;
            }
        }
    }
    u
}

/// CPU seconds (user and system, all threads) of one process, children not included.
pub fn process_cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = f.get(11)?.parse().ok()?;
    let stime: u64 = f.get(12)?.parse().ok()?;
    // USER_HZ is 100 on every Linux this runs on.
    Some((utime + stime) as f64 / 100.0)
}
