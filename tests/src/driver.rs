//! The app under test: where the binaries are, tauri-driver on free ports,
//! and an app session opened through it.

use std::ffi::OsString;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use fantoccini::{Client, ClientBuilder};
use serde_json::json;

use crate::wait::until;
use crate::DEADLINE;

pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ sits in the workspace")
        .to_owned()
}

/// Where cargo puts binaries: `CARGO_TARGET_DIR`, or the workspace's `target/`.
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("target"))
}

pub fn app_binary() -> PathBuf {
    if let Some(bin) = std::env::var_os("COUNTERTOP_APP_BIN") {
        return bin.into();
    }
    let bin = target_dir().join("debug/countertop");
    assert!(
        bin.exists(),
        "{} is missing: build it first (cargo build -p countertop-app), as ./dev.sh test does",
        bin.display()
    );
    bin
}

pub fn hub_binary() -> PathBuf {
    let bin = target_dir().join("debug/countertop-hub");
    assert!(
        bin.exists(),
        "{} is missing: build it first (cargo build -p countertop-hub), as ./dev.sh test does",
        bin.display()
    );
    bin
}

fn tauri_driver() -> PathBuf {
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_default();
    let candidates = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .chain([home.join(".cargo/bin")])
        .map(|dir| dir.join("tauri-driver"));
    for candidate in candidates {
        if candidate.exists() {
            return candidate;
        }
    }
    panic!("tauri-driver is missing: cargo install tauri-driver --version ^2 --locked (./dev.sh test does)");
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// tauri-driver on free ports; killed when dropped.
pub struct Driver {
    child: Child,
    port: u16,
}

impl Driver {
    pub fn start() -> Result<Driver> {
        Driver::start_with_env(&[])
    }

    /// Starts tauri-driver with `home` as HOME for it, WebKitWebDriver and
    /// the app, so that what the app writes under `$HOME` (the autostart
    /// entry) lands there. The XDG folders stay where they are: each is
    /// set to what it is now (its default under the real HOME if unset).
    pub fn start_with_home(home: &Path) -> Result<Driver> {
        let real = std::env::var_os("HOME")
            .map(PathBuf::from)
            .context("HOME is not set")?;
        let mut env = vec![("HOME", home.as_os_str().to_owned())];
        for (var, default) in [
            ("XDG_CONFIG_HOME", ".config"),
            ("XDG_DATA_HOME", ".local/share"),
            ("XDG_CACHE_HOME", ".cache"),
            ("XDG_STATE_HOME", ".local/state"),
        ] {
            let now = std::env::var_os(var)
                .filter(|v| Path::new(v).is_absolute())
                .unwrap_or_else(|| real.join(default).into_os_string());
            env.push((var, now));
        }
        Driver::start_with_env(&env)
    }

    /// Starts tauri-driver with extra environment variables, which reach
    /// WebKitWebDriver and the app it starts.
    pub fn start_with_env(env: &[(&str, OsString)]) -> Result<Driver> {
        assert!(
            std::env::var_os("DISPLAY").is_some(),
            "no DISPLAY: run under xvfb-run (./dev.sh test does)"
        );
        let port = free_port();
        let native = free_port();
        let child = Command::new(tauri_driver())
            .args([
                "--port",
                &port.to_string(),
                "--native-port",
                &native.to_string(),
            ])
            // The app turns WebKit's accelerated compositing off by default,
            // but WebKitWebDriver's Take Screenshot never answers without it
            // under Xvfb; `0` keeps it on for the window tests.
            .env("WEBKIT_DISABLE_COMPOSITING_MODE", "0")
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .context("starting tauri-driver")?;
        let driver = Driver { child, port };
        let start = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if start.elapsed() > DEADLINE {
                bail!("tauri-driver did not listen on {port}");
            }
            // Polling a local port; nothing to be notified by.
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(driver)
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// How long the app may take to open its window for a session.
const OPEN_DEADLINE: Duration = Duration::from_secs(90);

/// Starts the app with `args` through tauri-driver and opens a WebDriver
/// session with its window.
///
/// A data folder is one running app: a launch while the last app on that
/// folder (`--data`) still holds it waits for it (at most 15 s) or hands
/// over to it and exits, and WebKitWebDriver would then wait for a window
/// forever. So this first waits until no app holds the folder, and gives
/// up on a window that does not come (the app of a session given up on
/// may still hold its folder: the next open on it fails too, later).
pub async fn open_app(driver: &Driver, args: &[&str]) -> Result<Client> {
    if let Some(data) = args
        .iter()
        .position(|arg| *arg == "--data")
        .and_then(|at| args.get(at + 1))
    {
        folder_let_go(Path::new(data)).await?;
    }
    let mut caps = serde_json::Map::new();
    caps.insert(
        "tauri:options".into(),
        json!({ "application": app_binary(), "args": args }),
    );
    let mut builder = ClientBuilder::native();
    builder.capabilities(caps);
    let url = format!("http://127.0.0.1:{}", driver.port);
    tokio::time::timeout(OPEN_DEADLINE, builder.connect(&url))
        .await
        .map_err(|_| {
            anyhow::anyhow!(
                "the app opened no window within {} s (args {args:?})",
                OPEN_DEADLINE.as_secs()
            )
        })?
        .context("opening a WebDriver session with the app")
}

/// Waits until no app holds data folder `data` (the app's exclusive lock on
/// `<data>/instance.lock`, which the kernel lets go of when it exits).
async fn folder_let_go(data: &Path) -> Result<()> {
    let lock = data.join("instance.lock");
    until("the last app on this data folder to exit", || async {
        let Ok(file) = std::fs::File::open(&lock) else {
            return Ok(true); // no app ever ran on it
        };
        match file.try_lock() {
            Ok(()) => Ok(true), // let go again as `file` drops
            Err(std::fs::TryLockError::WouldBlock) => Ok(false),
            Err(std::fs::TryLockError::Error(e)) => Err(e.into()),
        }
    })
    .await
}

/// Starts the app as a station that joins the hub at `hub` with pairing
/// code `code`, keeping its data in `data`.
pub async fn open_joined(driver: &Driver, hub: &str, code: &str, data: &Path) -> Result<Client> {
    let data = data.to_str().context("utf-8 temp path")?;
    open_app(driver, &["--hub", hub, "--pair", code, "--data", data]).await
}
