//! The real hub, as a child process.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub fn hub_binary() -> PathBuf {
    // Another build of the hub (a release build, an older one) can be named.
    if let Some(path) = std::env::var_os("COUNTERTOP_HUB_BIN") {
        let hub = PathBuf::from(path);
        assert!(
            hub.exists(),
            "COUNTERTOP_HUB_BIN={} does not exist",
            hub.display()
        );
        return hub;
    }
    // <target>/debug/deps/<test binary> → <target>/debug/countertop-hub
    let exe = std::env::current_exe().expect("test binary path");
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("the test binary lives in <target>/<profile>/deps");
    let hub = dir.join(format!("countertop-hub{}", std::env::consts::EXE_SUFFIX));
    assert!(
        hub.exists(),
        "{} is not built: run `cargo build -p countertop-hub` before these tests",
        hub.display()
    );
    hub
}

pub struct Hub {
    child: Option<Child>,
    pub port: u16,
    pub data: PathBuf,
    /// The PostgreSQL database this node stores in (`--database`); `None`:
    /// the SQLite file in `data`.
    pub database: Option<String>,
}

impl Hub {
    /// Starts the hub on `port` (0: any free port) and waits for its
    /// `listening on` line.
    pub fn start(data: &Path, port: u16) -> Hub {
        Self::start_with(data, port, None)
    }

    /// Starts a hub node storing in the PostgreSQL `database`, with its own
    /// data folder `data` (which must hold the secret and TLS identity the
    /// other nodes on that database have, or none for the first node), on
    /// `port` (0: any free port). Its log goes to `data/hub.log`, so several
    /// nodes' logs stay apart.
    pub fn start_node(data: &Path, port: u16, database: &str) -> Hub {
        Self::start_with(data, port, Some(database))
    }

    fn start_with(data: &Path, port: u16, database: Option<&str>) -> Hub {
        let mut last_error = String::new();
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        // A restart on the same port can race the old socket's teardown.
        while std::time::Instant::now() < deadline {
            match Self::try_start(data, port, database) {
                Ok(hub) => return hub,
                Err(e) => {
                    last_error = e;
                    std::thread::sleep(Duration::from_millis(100));
                }
            }
        }
        panic!(
            "the hub on {} did not start within a minute: {last_error}",
            data.display()
        );
    }

    fn try_start(data: &Path, port: u16, database: Option<&str>) -> Result<Hub, String> {
        let mut command = Command::new(hub_binary());
        command
            .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--data"])
            .arg(data);
        let stderr = match database {
            None => Stdio::inherit(),
            Some(url) => {
                command.args(["--database", url]);
                std::fs::create_dir_all(data).map_err(|e| format!("the data folder: {e}"))?;
                let log = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(data.join("hub.log"))
                    .map_err(|e| format!("hub.log: {e}"))?;
                Stdio::from(log)
            }
        };
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(stderr)
            .env(
                "RUST_LOG",
                std::env::var("HUB_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .spawn()
            .map_err(|e| format!("spawn: {e}"))?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            let first = lines.next();
            let _ = tx.send(first);
            // Keep draining so the hub never blocks on a full pipe.
            for _ in lines {}
        });
        let line = match rx.recv_timeout(Duration::from_secs(20)) {
            Ok(Some(Ok(line))) => line,
            other => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("no listening line: {other:?}"));
            }
        };
        let port = line
            .trim()
            .strip_prefix("listening on ")
            .and_then(|addr| addr.rsplit(':').next())
            .and_then(|p| p.parse().ok())
            .ok_or_else(|| format!("unexpected first line {line:?}"))?;
        Ok(Hub {
            child: Some(child),
            port,
            data: data.to_owned(),
            database: database.map(str::to_owned),
        })
    }

    /// Starts the hub with plain HTTP and HTTPS/WSS both on loopback, each
    /// on a free port, and waits for both `listening` lines. Returns the hub
    /// (its `port` is the plain one) and the TLS port. [`Hub::restart`]
    /// would bring it back without TLS.
    pub fn start_tls(data: &Path) -> (Hub, u16) {
        let mut child = Command::new(hub_binary())
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(["--tls-listen", "127.0.0.1:0", "--data"])
            .arg(data)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .env(
                "RUST_LOG",
                std::env::var("HUB_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .spawn()
            .expect("spawn the hub");
        let stdout = child.stdout.take().expect("the hub's stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            // Keep draining so the hub never blocks on a full pipe.
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let _ = tx.send(line);
            }
        });
        let port_of = |addr: &str| -> u16 {
            addr.rsplit(':')
                .next()
                .and_then(|p| p.parse().ok())
                .unwrap_or_else(|| panic!("no port in {addr:?}"))
        };
        let (mut plain, mut tls) = (None, None);
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while plain.is_none() || tls.is_none() {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            let Ok(line) = rx.recv_timeout(left) else {
                let _ = child.kill();
                let _ = child.wait();
                panic!("the hub did not print both of its listening lines within 30 s");
            };
            let line = line.trim();
            if let Some(addr) = line.strip_prefix("listening (tls) on ") {
                tls = Some(port_of(addr));
            } else if let Some(addr) = line.strip_prefix("listening on ") {
                plain = Some(port_of(addr));
            }
        }
        let hub = Hub {
            child: Some(child),
            port: plain.expect("a plain port"),
            data: data.to_owned(),
            database: None,
        };
        (hub, tls.expect("a TLS port"))
    }

    /// The hub's key, as `countertop-hub fingerprint` prints it.
    pub fn fingerprint(&self) -> countertop_client::Fingerprint {
        let output = Command::new(hub_binary())
            .args(["fingerprint", "--data"])
            .arg(&self.data)
            .output()
            .expect("run countertop-hub fingerprint");
        assert!(
            output.status.success(),
            "fingerprint failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout)
            .trim()
            .parse()
            .expect("a fingerprint of 64 hex digits")
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn addr(&self) -> std::net::SocketAddr {
        ([127, 0, 0, 1], self.port).into()
    }

    /// Whether the process still runs (false once it has exited or was killed).
    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|child| matches!(child.try_wait(), Ok(None)))
    }

    /// SIGKILL, then wait for it to be gone.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Kills the hub (if it still runs) and starts it again on the same
    /// port, data and database.
    pub fn restart(&mut self) {
        self.kill();
        let again = Hub::start_with(&self.data, self.port, self.database.as_deref());
        *self = again;
    }

    /// A one-time pairing code from the hub's command line.
    pub fn pairing_code(&self, role: &str, name: &str) -> String {
        let mut command = Command::new(hub_binary());
        command
            .args(["pairing-code", "--role", role, "--name", name, "--data"])
            .arg(&self.data);
        if let Some(url) = &self.database {
            command.args(["--database", url]);
        }
        let output = command.output().expect("run countertop-hub pairing-code");
        assert!(
            output.status.success(),
            "pairing-code failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let value: serde_json::Value =
            serde_json::from_slice(&output.stdout).expect("pairing-code prints JSON");
        value["code"].as_str().expect("a code").to_owned()
    }
}

impl Drop for Hub {
    fn drop(&mut self) {
        self.kill();
    }
}
