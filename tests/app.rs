//! End-to-end tests of the real app window: the `countertop` binary in
//! `--demo`, driven through tauri-driver and WebKitWebDriver. Run under a
//! display and a private D-Bus, as `./dev.sh test` does:
//! `dbus-run-session -- xvfb-run -a -s "-screen 0 1280x800x24" cargo test -p countertop-e2e`.
//!
//! Every wait polls for a condition with a deadline; screenshots of each
//! screen land in `docs/screenshots/`.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

/// How long any one condition may take to come true.
const DEADLINE: Duration = Duration::from_secs(20);

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ sits in the workspace")
        .to_owned()
}

/// Where cargo puts binaries: `CARGO_TARGET_DIR`, or the workspace's `target/`.
fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("target"))
}

fn app_binary() -> PathBuf {
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

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// tauri-driver on free ports; killed when dropped.
struct Driver {
    child: Child,
    port: u16,
}

impl Driver {
    fn start() -> Result<Driver> {
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

async fn open_app(driver: &Driver, args: &[&str]) -> Result<Client> {
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

/// Polls `check` until it answers true, or fails after [`DEADLINE`].
async fn until<F, Fut>(what: &str, mut check: F) -> Result<()>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<bool>>,
{
    let start = Instant::now();
    loop {
        if check().await.unwrap_or(false) {
            return Ok(());
        }
        if start.elapsed() > DEADLINE {
            bail!("timed out waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn css_present(client: &Client, css: &str) -> Result<bool> {
    Ok(!client.find_all(Locator::Css(css)).await?.is_empty())
}

async fn wait_for(client: &Client, css: &str) -> Result<fantoccini::elements::Element> {
    client
        .wait()
        .at_most(DEADLINE)
        .for_element(Locator::Css(css))
        .await
        .with_context(|| format!("waiting for {css}"))
}

async fn click(client: &Client, css: &str) -> Result<()> {
    wait_for(client, css)
        .await?
        .click()
        .await
        .with_context(|| format!("clicking {css}"))?;
    Ok(())
}

/// Switches to the window whose title names `screen` (see `App.tsx`).
async fn switch_to(client: &Client, screen: &str) -> Result<()> {
    let want = format!("Countertop — {screen}");
    let start = Instant::now();
    loop {
        for handle in client.windows().await? {
            client.switch_to_window(handle).await?;
            if client.title().await? == want {
                return Ok(());
            }
        }
        if start.elapsed() > DEADLINE {
            bail!("no window titled {want:?}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn screenshot(client: &Client, name: &str) -> Result<()> {
    let png = client.screenshot().await?;
    assert!(png.starts_with(b"\x89PNG"), "a screenshot is a PNG");
    let dir = workspace().join("docs/screenshots");
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join(format!("{name}.png")), png)?;
    Ok(())
}

/// The hub the demo started (its port is free-picked on each start).
fn hub_url(data: &Path) -> Result<String> {
    let text = std::fs::read_to_string(data.join("hub.json")).context("reading hub.json")?;
    let note: serde_json::Value = serde_json::from_str(&text)?;
    Ok(note["url"]
        .as_str()
        .context("hub.json has a url")?
        .to_owned())
}

#[tokio::test(flavor = "multi_thread")]
async fn demo_order_flows_from_kiosk_to_barista_and_back() -> Result<()> {
    let data = tempfile::tempdir()?;
    let data_arg = data.path().to_str().context("utf-8 temp path")?.to_owned();
    let driver = Driver::start()?;
    let client = open_app(&driver, &["--demo", "--data", &data_arg]).await?;
    let result = order_flow(&client, data.path()).await;
    let _ = client.close().await;
    result
}

async fn order_flow(client: &Client, data: &Path) -> Result<()> {
    // The kiosk: welcome, live, then the menu.
    switch_to(client, "kiosk").await?;
    wait_for(client, "[data-testid=link-status][data-state=live]").await?;
    screenshot(client, "kiosk-welcome").await?;
    click(client, "[data-testid=start-order]").await?;
    click(client, "[data-testid=item-americano]").await?;
    click(client, "[data-testid=item-americano]").await?;
    click(client, "[data-testid=item-latte]").await?;
    let total = wait_for(client, "[data-testid=cart-total]")
        .await?
        .text()
        .await?;
    // Two Americanos at 4,000 and a latte at 4,500, in won.
    assert!(total.contains("12,500"), "cart total {total:?}");
    screenshot(client, "kiosk-menu-cart").await?;

    // Paying with points the Design Team cell lacks is refused clearly.
    click(client, "[data-testid=to-pay]").await?;
    click(client, "[data-testid=pay-CELL]").await?;
    screenshot(client, "kiosk-pay-cell").await?;
    click(client, "[data-testid=pay-CARD]").await?;
    click(client, "[data-testid=place-order]").await?;
    let number = wait_for(client, "[data-testid=daily-number]")
        .await?
        .text()
        .await?;
    let number: u32 = number
        .trim()
        .parse()
        .with_context(|| format!("daily number {number:?}"))?;
    wait_for(client, "[data-testid=order-status][data-status=PENDING]").await?;
    screenshot(client, "kiosk-confirmation").await?;

    // The barista sees it, and moves it on to READY.
    switch_to(client, "barista").await?;
    let card = format!("[data-testid=order-{number}]");
    wait_for(client, &format!("[data-testid=column-PENDING] {card}")).await?;
    screenshot(client, "barista-new-order").await?;
    click(client, &format!("[data-testid=advance-{number}]")).await?;
    wait_for(client, &format!("[data-testid=column-MAKING] {card}")).await?;
    click(client, &format!("[data-testid=advance-{number}]")).await?;
    wait_for(client, &format!("[data-testid=column-READY] {card}")).await?;
    screenshot(client, "barista-ready").await?;

    // The kiosk's confirmation follows it live.
    switch_to(client, "kiosk").await?;
    wait_for(client, "[data-testid=order-status][data-status=READY]").await?;
    screenshot(client, "kiosk-ready").await?;

    // Sold out on the barista board greys the item on the kiosk, live.
    click(client, "[data-testid=done]").await?;
    click(client, "[data-testid=start-order]").await?;
    wait_for(client, "[data-testid=item-americano][data-sold-out=false]").await?;
    switch_to(client, "barista").await?;
    click(client, "[data-testid=menu-toggle]").await?;
    screenshot(client, "barista-sold-out-panel").await?;
    click(client, "[data-testid=soldout-americano]").await?;
    switch_to(client, "kiosk").await?;
    let start = Instant::now();
    until("the kiosk to grey out the Americano", || {
        css_present(client, "[data-testid=item-americano][data-sold-out=true]")
    })
    .await?;
    println!("sold out reached the kiosk within {:?}", start.elapsed());
    screenshot(client, "kiosk-sold-out").await?;

    // The now-serving board opens from the barista board and shows READY numbers.
    switch_to(client, "barista").await?;
    click(client, "[data-testid=menu-toggle]").await?;
    click(client, "[data-testid=open-board]").await?;
    switch_to(client, "board").await?;
    wait_for(
        client,
        &format!("[data-testid=serving] [data-testid=ready-{number}]"),
    )
    .await?;
    screenshot(client, "board-now-serving").await?;

    // A manager switching the kiosks off puts this kiosk into maintenance
    // within a second, and back.
    let manager = Manager::pair(data).await?;
    switch_to(client, "kiosk").await?;
    manager.set("is_kiosk_active", "false").await?;
    let start = Instant::now();
    wait_for(client, "[data-testid=maintenance]").await?;
    let took = start.elapsed();
    assert!(took < Duration::from_secs(1), "maintenance took {took:?}");
    screenshot(client, "kiosk-maintenance").await?;
    manager.set("is_kiosk_active", "true").await?;
    // Back where the customer was: the menu.
    wait_for(client, "[data-testid=item-latte]").await?;
    Ok(())
}

/// A manager device paired with the demo's hub through the hub's own
/// command line (a pairing code made in its database).
struct Manager {
    url: String,
    token: String,
}

impl Manager {
    async fn pair(data: &Path) -> Result<Manager> {
        let url = hub_url(data)?;
        let hub_bin = target_dir().join("debug/countertop-hub");
        let out = Command::new(&hub_bin)
            .args(["pairing-code", "--role", "manager", "--data"])
            .arg(data.join("hub"))
            .output()
            .with_context(|| format!("running {}", hub_bin.display()))?;
        let text = String::from_utf8_lossy(&out.stdout);
        let code: serde_json::Value = serde_json::from_str(text.trim())
            .with_context(|| format!("pairing-code printed {text:?}"))?;
        let code = code["code"].as_str().context("a code")?.to_owned();
        let paired: serde_json::Value = reqwest::Client::new()
            .post(format!("{url}/api/devices/pair"))
            .json(&json!({ "code": code }))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        let token = paired["token"].as_str().context("a token")?.to_owned();
        Ok(Manager { url, token })
    }

    async fn set(&self, key: &str, value: &str) -> Result<()> {
        reqwest::Client::new()
            .put(format!("{}/api/settings/{key}", self.url))
            .bearer_auth(&self.token)
            .json(&json!({ "value": value }))
            .send()
            .await?
            .error_for_status()?;
        Ok(())
    }
}

/// A hub of its own, as `countertop-hub serve`; killed when dropped.
struct HubProcess {
    child: Child,
    url: String,
}

impl HubProcess {
    fn start(data: &Path, port: u16) -> Result<HubProcess> {
        let child = Command::new(target_dir().join("debug/countertop-hub"))
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

    async fn healthy(&self) -> Result<()> {
        let url = format!("{}/healthz", self.url);
        until("the hub to answer", || async {
            Ok(reqwest::get(&url).await?.status().is_success())
        })
        .await
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for HubProcess {
    fn drop(&mut self) {
        self.stop();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn joined_barista_shows_reconnecting_then_live_across_a_hub_restart() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let hub_data = dir.path().join("hub");
    let port = free_port();
    let mut hub = HubProcess::start(&hub_data, port)?;
    hub.healthy().await?;
    let out = Command::new(target_dir().join("debug/countertop-hub"))
        .args(["pairing-code", "--role", "barista", "--data"])
        .arg(&hub_data)
        .output()?;
    let code: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    let code = code["code"].as_str().context("a pairing code")?.to_owned();

    let app_data = dir.path().join("app");
    let app_arg = app_data.to_str().context("utf-8 temp path")?.to_owned();
    let driver = Driver::start()?;
    let client = open_app(
        &driver,
        &["--hub", &hub.url, "--pair", &code, "--data", &app_arg],
    )
    .await?;
    let result = async {
        switch_to(&client, "barista").await?;
        wait_for(&client, "[data-testid=link-status][data-state=live]").await?;

        hub.stop();
        wait_for(
            &client,
            "[data-testid=link-status][data-state=reconnecting]",
        )
        .await?;
        screenshot(&client, "barista-reconnecting").await?;

        let restarted = HubProcess::start(&hub_data, port)?;
        restarted.healthy().await?;
        until("the barista board to be live again", || async {
            if css_present(&client, "[data-testid=link-status][data-state=offline]").await? {
                // Past the quick attempts: the Retry button tries at once.
                click(&client, "[data-testid=link-status] button.retry").await?;
            }
            css_present(&client, "[data-testid=link-status][data-state=live]").await
        })
        .await?;
        drop(restarted);
        anyhow::Ok(())
    }
    .await;
    let _ = client.close().await;
    result
}

#[tokio::test(flavor = "multi_thread")]
async fn first_run_asks_host_or_join_and_remembers_the_choice() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let data = dir.path().to_str().context("utf-8 temp path")?.to_owned();
    let driver = Driver::start()?;

    let client = open_app(&driver, &["--data", &data]).await?;
    let first = async {
        switch_to(&client, "setup").await?;
        screenshot(&client, "first-run-setup").await?;
        // Host the hub here as the barista board (the defaults).
        click(&client, "[data-testid=setup-start]").await?;
        wait_for(&client, "[data-testid=column-PENDING]").await?;
        wait_for(&client, "[data-testid=link-status][data-state=live]").await?;
        anyhow::Ok(())
    }
    .await;
    let _ = client.close().await;
    first?;

    // The next start goes straight to the remembered screen.
    let client = open_app(&driver, &["--data", &data]).await?;
    let second = async {
        switch_to(&client, "barista").await?;
        wait_for(&client, "[data-testid=link-status][data-state=live]").await?;
        anyhow::Ok(())
    }
    .await;
    let _ = client.close().await;
    second
}
