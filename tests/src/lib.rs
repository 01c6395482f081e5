//! Support for the end-to-end tests of the real app window: the
//! `countertop` binary started by tauri-driver (which starts
//! WebKitWebDriver, which starts the app), waits that poll a condition with
//! a deadline, screenshots into `docs/screenshots/`, a manager paired with
//! the demo's hub over REST, a fake desktop notification server on the
//! session bus, and an ALSA sink that writes what the app plays to a file.
//!
//! The tests run under a display and a private D-Bus, as `./dev.sh test`
//! does: `dbus-run-session -- xvfb-run -a -s "-screen 0 1280x800x24" cargo
//! test -p countertop-e2e`. tauri-driver, WebKitWebDriver and the app
//! inherit this process's environment, so the app talks to the same
//! private bus as the fake notification server here.

use std::collections::HashMap;
use std::ffi::OsString;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};
use fantoccini::elements::Element;
use fantoccini::wd::WindowHandle;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};

/// How long any one condition may take to come true.
pub const DEADLINE: Duration = Duration::from_secs(20);

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

pub async fn open_app(driver: &Driver, args: &[&str]) -> Result<Client> {
    let mut caps = serde_json::Map::new();
    caps.insert(
        "tauri:options".into(),
        json!({ "application": app_binary(), "args": args }),
    );
    ClientBuilder::native()
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{}", driver.port))
        .await
        .context("opening a WebDriver session with the app")
}

/// Starts the app as a station that joins the hub at `hub` with pairing
/// code `code`, keeping its data in `data`.
pub async fn open_joined(driver: &Driver, hub: &str, code: &str, data: &Path) -> Result<Client> {
    let data = data.to_str().context("utf-8 temp path")?;
    open_app(driver, &["--hub", hub, "--pair", code, "--data", data]).await
}

/// Polls `check` until it answers true, or fails after [`DEADLINE`].
pub async fn until<F, Fut>(what: &str, check: F) -> Result<()>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<bool>>,
{
    until_within(what, DEADLINE, check).await
}

/// Polls `check` until it answers true, or fails after `deadline`.
pub async fn until_within<F, Fut>(what: &str, deadline: Duration, mut check: F) -> Result<()>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<bool>>,
{
    let start = Instant::now();
    let mut last_error = None;
    loop {
        match check().await {
            Ok(true) => return Ok(()),
            Ok(false) => {}
            Err(e) => last_error = Some(e),
        }
        if start.elapsed() > deadline {
            match last_error {
                Some(e) => bail!("timed out waiting for {what} (last error: {e:#})"),
                None => bail!("timed out waiting for {what}"),
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub async fn css_present(client: &Client, css: &str) -> Result<bool> {
    Ok(!client.find_all(Locator::Css(css)).await?.is_empty())
}

pub async fn wait_for(client: &Client, css: &str) -> Result<Element> {
    client
        .wait()
        .at_most(DEADLINE)
        .for_element(Locator::Css(css))
        .await
        .with_context(|| format!("waiting for {css}"))
}

pub async fn click(client: &Client, css: &str) -> Result<()> {
    wait_for(client, css)
        .await?
        .click()
        .await
        .with_context(|| format!("clicking {css}"))?;
    Ok(())
}

/// Replaces the text of the input `css` with `text`.
pub async fn type_into(client: &Client, css: &str, text: &str) -> Result<()> {
    let input = wait_for(client, css).await?;
    input
        .clear()
        .await
        .with_context(|| format!("clearing {css}"))?;
    input
        .send_keys(text)
        .await
        .with_context(|| format!("typing into {css}"))?;
    Ok(())
}

pub async fn text_of(client: &Client, css: &str) -> Result<String> {
    Ok(wait_for(client, css).await?.text().await?)
}

/// Switches to the window whose title names `screen` (see `App.tsx`) and
/// returns its handle.
pub async fn switch_to(client: &Client, screen: &str) -> Result<WindowHandle> {
    let want = format!("Countertop — {screen}");
    let start = Instant::now();
    loop {
        let mut seen = Vec::new();
        for handle in client.windows().await? {
            client.switch_to_window(handle.clone()).await?;
            let title = client.title().await?;
            if title == want {
                return Ok(handle);
            }
            if start.elapsed() > DEADLINE {
                // What the window shows instead, for the failure message.
                let text = client
                    .execute("return document.body.innerText.slice(0, 300)", vec![])
                    .await
                    .map(|v| v.as_str().unwrap_or_default().to_owned())
                    .unwrap_or_default();
                seen.push(format!("{title} ({text:?})"));
            }
        }
        if start.elapsed() > DEADLINE {
            bail!("no window titled {want:?}; the windows are {seen:?}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Saves the current window as `docs/screenshots/{name}.png`, once what
/// it shows has settled: WebKit paints a change a frame or more after the
/// DOM has it, so a screenshot taken at once can show the page before a
/// click. Waits for two animation frames, then for two screenshots in a
/// row to be the same.
pub async fn screenshot(client: &Client, name: &str) -> Result<()> {
    let start = Instant::now();
    let mut last = Vec::new();
    loop {
        next_frame(client).await?;
        let png = client.screenshot().await?;
        assert!(png.starts_with(b"\x89PNG"), "a screenshot is a PNG");
        if png == last {
            break;
        }
        if start.elapsed() > DEADLINE {
            bail!("the window kept changing; no steady screenshot for {name}");
        }
        last = png;
    }
    let dir = workspace().join("docs/screenshots");
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join(format!("{name}.png")), last)?;
    Ok(())
}

/// Waits until the page has rendered two more animation frames.
pub async fn next_frame(client: &Client) -> Result<()> {
    client
        .execute_async(
            "const done = arguments[arguments.length - 1];\n\
             requestAnimationFrame(() => requestAnimationFrame(() => done(true)));",
            vec![],
        )
        .await
        .context("waiting for the page to render a frame")?;
    Ok(())
}

/// The hub a hosting instance started (its port is free-picked on each start).
pub fn hub_url(data: &Path) -> Result<String> {
    let text = std::fs::read_to_string(data.join("hub.json")).context("reading hub.json")?;
    let note: Value = serde_json::from_str(&text)?;
    Ok(note["url"]
        .as_str()
        .context("hub.json has a url")?
        .to_owned())
}

/// A one-off pairing code from the hub's own command line (made directly
/// in the database in `hub_data`).
pub fn pairing_code(hub_data: &Path, role: &str) -> Result<String> {
    let hub_bin = hub_binary();
    let out = Command::new(&hub_bin)
        .args(["pairing-code", "--role", role, "--data"])
        .arg(hub_data)
        .output()
        .with_context(|| format!("running {}", hub_bin.display()))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let code: Value = serde_json::from_str(text.trim()).with_context(|| {
        format!(
            "pairing-code printed {text:?} ({})",
            String::from_utf8_lossy(&out.stderr)
        )
    })?;
    Ok(code["code"].as_str().context("a code")?.to_owned())
}

/// A device paired with a hosting instance's hub through the hub's own
/// command line, talking REST (a manager, or a kiosk to place orders).
pub struct HubClient {
    pub url: String,
    token: String,
    http: reqwest::Client,
}

impl HubClient {
    /// Pairs a manager with the hub an instance with data folder `data` hosts.
    pub async fn manager(data: &Path) -> Result<HubClient> {
        HubClient::pair(data, "manager").await
    }

    /// Pairs a device of `role` with the hub an instance with data folder
    /// `data` hosts.
    pub async fn pair(data: &Path, role: &str) -> Result<HubClient> {
        HubClient::pair_at(&hub_url(data)?, &data.join("hub"), role).await
    }

    /// Pairs a device of `role` with the hub at `url` whose data folder is
    /// `hub_data`.
    pub async fn pair_at(url: &str, hub_data: &Path, role: &str) -> Result<HubClient> {
        let url = url.to_owned();
        let code = pairing_code(hub_data, role)?;
        let http = reqwest::Client::new();
        let paired: Value = http
            .post(format!("{url}/api/devices/pair"))
            .json(&json!({ "code": code }))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        let token = paired["token"].as_str().context("a token")?.to_owned();
        Ok(HubClient { url, token, http })
    }

    pub async fn set(&self, key: &str, value: &str) -> Result<()> {
        self.http
            .put(format!("{}/api/settings/{key}", self.url))
            .bearer_auth(&self.token)
            .json(&json!({ "value": value }))
            .send()
            .await?
            .error_for_status()?;
        Ok(())
    }

    /// `GET /api{path}`.
    pub async fn get(&self, path: &str) -> Result<Value> {
        self.send(reqwest::Method::GET, path, None).await
    }

    /// `POST /api{path}` with a JSON body.
    pub async fn post(&self, path: &str, body: &Value) -> Result<Value> {
        self.send(reqwest::Method::POST, path, Some(body)).await
    }

    /// Orders one Americano, paid by card, with idempotency key `key`;
    /// returns its daily number.
    pub async fn order_americano(&self, key: &str) -> Result<u64> {
        let order = self
            .post(
                "/orders",
                &json!({
                    "idempotencyKey": key,
                    "items": [{ "menuId": "americano", "quantity": 1 }],
                    "payType": "CARD",
                }),
            )
            .await?;
        order["dailyNum"].as_u64().context("a daily number")
    }

    /// `PATCH /api{path}` with a JSON body.
    pub async fn patch(&self, path: &str, body: &Value) -> Result<Value> {
        self.send(reqwest::Method::PATCH, path, Some(body)).await
    }

    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value> {
        let mut request = self
            .http
            .request(method.clone(), format!("{}/api{path}", self.url))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(body);
        }
        Self::json(request.send().await?, method.as_str(), path).await
    }

    async fn json(answer: reqwest::Response, method: &str, path: &str) -> Result<Value> {
        let status = answer.status();
        let text = answer.text().await?;
        if !status.is_success() {
            bail!("{method} /api{path} answered {status}: {text}");
        }
        if text.is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_str(&text).with_context(|| format!("{method} /api{path} answered {text}"))
    }
}

/// A hub of its own, as `countertop-hub serve`; killed when dropped.
pub struct HubProcess {
    child: Child,
    pub url: String,
}

impl HubProcess {
    pub fn start(data: &Path, port: u16) -> Result<HubProcess> {
        let child = Command::new(hub_binary())
            .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--data"])
            .arg(data)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("starting countertop-hub (cargo build --workspace --bins)")?;
        Ok(HubProcess {
            child,
            url: format!("http://127.0.0.1:{port}"),
        })
    }

    pub async fn healthy(&self) -> Result<()> {
        let url = format!("{}/healthz", self.url);
        until("the hub to answer", || async {
            Ok(reqwest::get(&url).await?.status().is_success())
        })
        .await
    }

    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for HubProcess {
    fn drop(&mut self) {
        self.stop();
    }
}

/// One notification the fake server received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    pub app_name: String,
    pub summary: String,
    pub body: String,
}

/// A fake `org.freedesktop.Notifications` server on the session bus that
/// records every notification. One per test process (a bus name has one
/// owner), started on first use and shared by the tests running in
/// parallel: each waits for the notification it expects by its content.
pub struct NotificationServer {
    received: Arc<Mutex<Vec<Notification>>>,
    _connection: zbus::blocking::Connection,
}

struct Recorder {
    received: Arc<Mutex<Vec<Notification>>>,
}

#[zbus::interface(name = "org.freedesktop.Notifications")]
impl Recorder {
    #[allow(clippy::too_many_arguments)]
    fn notify(
        &self,
        app_name: String,
        _replaces_id: u32,
        _app_icon: String,
        summary: String,
        body: String,
        _actions: Vec<String>,
        _hints: HashMap<String, zbus::zvariant::OwnedValue>,
        _expire_timeout: i32,
    ) -> u32 {
        let mut received = self.received.lock().expect("not poisoned");
        received.push(Notification {
            app_name,
            summary,
            body,
        });
        u32::try_from(received.len()).unwrap_or(u32::MAX)
    }

    fn get_capabilities(&self) -> Vec<String> {
        vec!["body".into()]
    }

    fn get_server_information(&self) -> (String, String, String, String) {
        (
            "countertop-e2e".into(),
            "countertop".into(),
            "1".into(),
            "1.2".into(),
        )
    }

    fn close_notification(&self, _id: u32) {}
}

impl NotificationServer {
    /// The process's server, started on first use. Panics with what to do
    /// when there is no session bus to serve on.
    pub fn shared() -> &'static NotificationServer {
        static SERVER: OnceLock<Result<NotificationServer, String>> = OnceLock::new();
        let server = SERVER.get_or_init(|| {
            if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_none() {
                return Err(
                    "DBUS_SESSION_BUS_ADDRESS is unset: run the end-to-end tests under \
                     dbus-run-session (./dev.sh test does), so the app and the fake \
                     notification server share a private session bus"
                        .into(),
                );
            }
            // Its own thread: zbus's blocking API must not run on a tokio
            // worker, and the server outlives any one test's runtime.
            std::thread::spawn(NotificationServer::start)
                .join()
                .map_err(|_| "the notification server's thread panicked".to_owned())
                .and_then(|r| r.map_err(|e| format!("{e:#}")))
        });
        match server {
            Ok(server) => server,
            Err(e) => panic!("{e}"),
        }
    }

    fn start() -> Result<NotificationServer> {
        let received = Arc::new(Mutex::new(Vec::new()));
        let connection = zbus::blocking::connection::Builder::session()?
            .name("org.freedesktop.Notifications")?
            .serve_at(
                "/org/freedesktop/Notifications",
                Recorder {
                    received: received.clone(),
                },
            )?
            .build()
            .context(
                "serving org.freedesktop.Notifications on the session bus \
                 (is another notification server running on it?)",
            )?;
        Ok(NotificationServer {
            received,
            _connection: connection,
        })
    }

    /// Everything received so far.
    pub fn received(&self) -> Vec<Notification> {
        self.received.lock().expect("not poisoned").clone()
    }

    /// Waits for a notification that `matches`, and returns it.
    pub async fn wait_for(
        &self,
        what: &str,
        matches: impl Fn(&Notification) -> bool,
    ) -> Result<Notification> {
        let start = Instant::now();
        loop {
            if let Some(n) = self.received().into_iter().find(|n| matches(n)) {
                return Ok(n);
            }
            if start.elapsed() > DEADLINE {
                bail!(
                    "no notification {what} within {DEADLINE:?}; received: {:?}",
                    self.received()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// An ALSA configuration whose default device writes what is played, raw,
/// to a file (through the `null` device, which runs unthrottled). Give the
/// app `ALSA_CONFIG_PATH` from [`FileSink::env`]; the folder is removed when
/// dropped.
pub struct FileSink {
    dir: tempfile::TempDir,
}

impl FileSink {
    pub fn new() -> Result<FileSink> {
        let dir = tempfile::Builder::new()
            .prefix("countertop-alsa")
            .tempdir()?;
        let out = dir.path().join("out.raw");
        let config = format!(
            "</usr/share/alsa/alsa.conf>\n\
             pcm.!default {{\n  type file\n  slave.pcm \"null\"\n  file \"{}\"\n  format \"raw\"\n}}\n",
            out.display()
        );
        std::fs::write(dir.path().join("asound.conf"), config)?;
        Ok(FileSink { dir })
    }

    pub fn config(&self) -> PathBuf {
        self.dir.path().join("asound.conf")
    }

    pub fn output(&self) -> PathBuf {
        self.dir.path().join("out.raw")
    }

    /// The environment that points ALSA at this sink.
    pub fn env(&self) -> (&'static str, OsString) {
        ("ALSA_CONFIG_PATH", self.config().into_os_string())
    }

    /// How many bytes of the written audio are not zero. Silence is all
    /// zero bytes in the signed and float formats a sound server picks, so
    /// this counts what was actually sounded.
    pub fn sounded_bytes(&self) -> usize {
        std::fs::read(self.output())
            .map(|raw| raw.iter().filter(|&&b| b != 0).count())
            .unwrap_or(0)
    }
}

/// The values of the environment variable `name` in the running processes
/// of `binary` (read from `/proc`), to check what a process started through
/// tauri-driver and WebKitWebDriver actually received.
pub fn env_of_processes(binary: &Path, name: &str) -> Vec<OsString> {
    use std::os::unix::ffi::OsStringExt;
    let binary = binary.canonicalize().unwrap_or_else(|_| binary.to_owned());
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let prefix = format!("{name}=");
    let mut values = Vec::new();
    for entry in procs.flatten() {
        let Ok(exe) = std::fs::read_link(entry.path().join("exe")) else {
            continue;
        };
        if exe != binary {
            continue;
        }
        let Ok(environ) = std::fs::read(entry.path().join("environ")) else {
            continue;
        };
        for var in environ.split(|&b| b == 0) {
            if let Some(value) = var.strip_prefix(prefix.as_bytes()) {
                values.push(OsString::from_vec(value.to_vec()));
            }
        }
    }
    values
}

/// A desktop panel's tray host on the session bus: a fake
/// `org.kde.StatusNotifierWatcher` that takes the registrations of tray
/// icons (libayatana-appindicator makes one per icon), so a test can read
/// an icon's properties and work its menu as a panel would. Only one per
/// bus; the tests that use it live in a test binary of their own.
pub struct TrayWatcher {
    items: Arc<Mutex<Vec<TrayItem>>>,
    connection: zbus::blocking::Connection,
}

/// A registered tray icon: the bus name that serves it and its object path.
#[derive(Debug, Clone)]
pub struct TrayItem {
    pub service: String,
    pub path: String,
}

struct Watcher {
    items: Arc<Mutex<Vec<TrayItem>>>,
}

#[zbus::interface(name = "org.kde.StatusNotifierWatcher")]
impl Watcher {
    /// `service` is an object path (appindicator) or a bus name; the
    /// sender serves the item either way.
    fn register_status_notifier_item(
        &self,
        service: &str,
        #[zbus(header)] header: zbus::message::Header<'_>,
    ) {
        let sender = header.sender().map(|s| s.to_string()).unwrap_or_default();
        let (service, path) = if service.starts_with('/') {
            (sender, service.to_owned())
        } else {
            (service.to_owned(), "/StatusNotifierItem".to_owned())
        };
        self.items
            .lock()
            .expect("not poisoned")
            .push(TrayItem { service, path });
    }

    fn register_status_notifier_host(&self, _service: &str) {}

    #[zbus(property)]
    fn registered_status_notifier_items(&self) -> Vec<String> {
        let items = self.items.lock().expect("not poisoned");
        items
            .iter()
            .map(|i| format!("{}{}", i.service, i.path))
            .collect()
    }

    #[zbus(property)]
    fn is_status_notifier_host_registered(&self) -> bool {
        true
    }

    #[zbus(property)]
    fn protocol_version(&self) -> i32 {
        0
    }
}

/// One entry of a tray icon's menu.
#[derive(Debug, Clone)]
pub struct TrayMenuEntry {
    pub id: i32,
    pub label: String,
    /// For check items: whether it is ticked.
    pub checked: Option<bool>,
}

impl TrayWatcher {
    /// Serves the watcher; start it before the app, whose icon registers
    /// when it is made.
    pub fn start() -> Result<TrayWatcher> {
        ensure!(
            std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some(),
            "DBUS_SESSION_BUS_ADDRESS is unset: run under dbus-run-session (./dev.sh test does)"
        );
        // zbus's blocking API must not run on a tokio worker.
        std::thread::spawn(|| {
            let items = Arc::new(Mutex::new(Vec::new()));
            let connection = zbus::blocking::connection::Builder::session()?
                .name("org.kde.StatusNotifierWatcher")?
                .serve_at(
                    "/StatusNotifierWatcher",
                    Watcher {
                        items: items.clone(),
                    },
                )?
                .build()
                .context("serving org.kde.StatusNotifierWatcher on the session bus")?;
            Ok(TrayWatcher { items, connection })
        })
        .join()
        .map_err(|_| anyhow::anyhow!("the tray watcher's thread panicked"))?
    }

    /// Waits for the first tray icon to register.
    pub async fn item(&self) -> Result<TrayItem> {
        let start = Instant::now();
        loop {
            if let Some(item) = self.items.lock().expect("not poisoned").first() {
                return Ok(item.clone());
            }
            if start.elapsed() > DEADLINE {
                bail!("no tray icon registered with the watcher within {DEADLINE:?}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// A string property of the icon (`org.kde.StatusNotifierItem`), read
    /// afresh, as a panel does on the icon's change signals.
    pub async fn property(&self, item: &TrayItem, name: &str) -> Result<String> {
        let (connection, item, name) = (self.connection.clone(), item.clone(), name.to_owned());
        tokio::task::spawn_blocking(move || -> Result<String> {
            let proxy = uncached_proxy(
                &connection,
                &item.service,
                &item.path,
                "org.kde.StatusNotifierItem",
            )?;
            let value: zbus::zvariant::OwnedValue = proxy
                .get_property(&name)
                .with_context(|| format!("reading the tray icon's {name}"))?;
            Ok(match &*value {
                zbus::zvariant::Value::Str(s) => s.to_string(),
                zbus::zvariant::Value::ObjectPath(p) => p.to_string(),
                other => format!("{other}"),
            })
        })
        .await?
    }

    /// The icon's menu (`com.canonical.dbusmenu`), top level only.
    pub async fn menu(&self, item: &TrayItem) -> Result<Vec<TrayMenuEntry>> {
        let path = self.property(item, "Menu").await?;
        let (connection, service) = (self.connection.clone(), item.service.clone());
        tokio::task::spawn_blocking(move || -> Result<Vec<TrayMenuEntry>> {
            let proxy = uncached_proxy(&connection, &service, &path, "com.canonical.dbusmenu")?;
            type Layout = (
                i32,
                HashMap<String, zbus::zvariant::OwnedValue>,
                Vec<zbus::zvariant::OwnedValue>,
            );
            let (_revision, (_id, _props, children)): (u32, Layout) = proxy
                .call("GetLayout", &(0i32, 1i32, Vec::<String>::new()))
                .context("reading the tray menu")?;
            let mut entries = Vec::new();
            for child in children {
                let (id, props, _): Layout = child.try_into()?;
                let text = |key: &str| {
                    props
                        .get(key)
                        .and_then(|v| String::try_from(v.clone()).ok())
                        .unwrap_or_default()
                };
                let checked = (text("toggle-type") == "checkmark").then(|| {
                    props
                        .get("toggle-state")
                        .and_then(|v| i32::try_from(v.clone()).ok())
                        == Some(1)
                });
                entries.push(TrayMenuEntry {
                    id,
                    label: text("label"),
                    checked,
                });
            }
            Ok(entries)
        })
        .await?
    }

    /// Clicks the menu entry labelled `label`, as a panel does.
    pub async fn click(&self, item: &TrayItem, label: &str) -> Result<()> {
        let entries = self.menu(item).await?;
        let entry = entries
            .iter()
            .find(|e| e.label.replace('_', "") == label)
            .with_context(|| format!("no tray menu entry {label:?} in {entries:?}"))?
            .clone();
        let path = self.property(item, "Menu").await?;
        let (connection, service) = (self.connection.clone(), item.service.clone());
        tokio::task::spawn_blocking(move || -> Result<()> {
            let proxy = uncached_proxy(&connection, &service, &path, "com.canonical.dbusmenu")?;
            let data = zbus::zvariant::Value::from(0i32);
            proxy
                .call_method("Event", &(entry.id, "clicked", data, 0u32))
                .context("clicking the tray menu entry")?;
            Ok(())
        })
        .await?
    }
}

/// A proxy that reads every property afresh (no cache to go stale).
fn uncached_proxy(
    connection: &zbus::blocking::Connection,
    service: &str,
    path: &str,
    interface: &str,
) -> Result<zbus::blocking::Proxy<'static>> {
    Ok(zbus::blocking::proxy::Builder::new(connection)
        .destination(service.to_owned())?
        .path(path.to_owned())?
        .interface(interface.to_owned())?
        .cache_properties(zbus::proxy::CacheProperties::No)
        .build()?)
}
