//! Joining a hub over TLS through the real app window: a kiosk pastes the
//! pairing link (what the manager's QR code holds), pins the hub's key,
//! and later refuses another hub at the same address with "This is not
//! your hub" — and goes back to work when its own hub is back. A display
//! joined to a café of two hub nodes moves to the other when its own dies
//! (needs COUNTERTOP_TEST_POSTGRES).
//!
//! Run under a display and a private D-Bus, as `./dev.sh test` does.

use anyhow::{Context, Result};
use countertop_e2e::*;
use fantoccini::Client;

fn pairing_link(hub: &str, fingerprint: &str, code: &str) -> Result<String> {
    Ok(countertop_client::PairingLink {
        hub: hub.to_owned(),
        fingerprint: fingerprint.parse().map_err(anyhow::Error::msg)?,
        code: code.to_owned(),
    }
    .to_uri())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_kiosk_joined_by_pairing_link_pins_its_hub_and_refuses_another_at_its_address(
) -> Result<()> {
    let ours = tempfile::tempdir()?;
    let other = tempfile::tempdir()?;
    let app_data = tempfile::tempdir()?;
    let (port, tls_port) = (free_port(), free_port());
    let mut hub =
        TlsHubProcess::start(ours.path(), port, &format!("127.0.0.1:{tls_port}"), &[]).await?;
    let ours_fp = hub_fingerprint(ours.path())?;
    let other_fp = hub_fingerprint(other.path())?;
    assert_ne!(ours_fp, other_fp, "two hubs, two keys");
    let code = pairing_code(ours.path(), "kiosk")?;
    let link = pairing_link(&format!("https://127.0.0.1:{tls_port}"), &ours_fp, &code)?;

    let driver = Driver::start()?;
    let data = app_data.path().to_str().context("utf-8 temp path")?;
    let client = open_app(&driver, &["--data", data, "--windowed"]).await?;
    let result = async {
        switch_to(&client, "setup").await?;
        // "Join a hub", then paste the link.
        click(&client, ".setup .choice button:nth-child(2)").await?;
        type_into(&client, "[data-testid=setup-link]", &link).await?;
        screenshot(&client, "join-by-link").await?;
        click(&client, "[data-testid=setup-start]").await?;
        wait_for(&client, "[data-testid=link-status][data-state=live]").await?;
        screenshot(&client, "join-kiosk-live").await?;

        // Another hub (another key) takes the same address.
        hub.stop();
        let _impostor =
            TlsHubProcess::start(other.path(), port, &format!("127.0.0.1:{tls_port}"), &[]).await?;
        wait_for(&client, "[data-testid=not-your-hub]").await?;
        let text = text_of(&client, "[data-testid=not-your-hub]").await?;
        assert!(text.contains("not your hub"), "{text}");
        screenshot(&client, "not-your-hub").await?;
        drop(_impostor);

        // Its own hub is back: Try again, and the kiosk works.
        let _back =
            TlsHubProcess::start(ours.path(), port, &format!("127.0.0.1:{tls_port}"), &[]).await?;
        click(&client, "[data-testid=nyh-retry]").await?;
        wait_for(&client, "[data-testid=link-status][data-state=live]").await?;
        anyhow::Ok(())
    }
    .await;
    let _ = client.close().await;
    result?;

    // The pin is kept with the device: its cache names our hub's key.
    let cache = countertop_client::Cache::open(&app_data.path().join("devices/joined"))?;
    let device = cache.device()?.context("the joined device")?;
    assert_eq!(
        device.hub_fingerprint.map(|f| f.to_string()).as_deref(),
        Some(ours_fp.as_str())
    );
    assert_eq!(device.hub, format!("https://127.0.0.1:{tls_port}"));

    // Its token gone (a kernel keyring forgets at restart), the next start
    // asks to join again instead of refusing to start.
    countertop_client::TokenVault::for_folder(&app_data.path().join("devices/joined")).clear()?;
    let client = open_app(&driver, &["--data", data, "--windowed"]).await?;
    let again = async {
        switch_to(&client, "setup").await?;
        wait_for(&client, "[data-testid=setup-start]").await?;
        anyhow::Ok(())
    }
    .await;
    let _ = client.close().await;
    again
}

/// An instance hosting the hub for the network (`--lan`) as its manager, on
/// a free port.
async fn open_lan_host(driver: &Driver, data: &std::path::Path) -> Result<Client> {
    let port = free_port().to_string();
    let data = data.to_str().context("utf-8 temp path")?;
    let args = [
        "--host", "--lan", "--role", "manager", "--port", &port, "--data", data,
    ];
    open_app(driver, &args).await
}

/// The host's manager makes a pairing code for a device called `name` on
/// the Devices tab.
async fn new_code(host: &Client, name: &str) -> Result<()> {
    switch_to(host, "manager").await?;
    wait_for(host, "[data-testid=link-status][data-state=live]").await?;
    click(host, "[data-testid=tab-devices]").await?;
    type_into(host, "[data-testid=pair-name]", name).await?;
    click(host, "[data-testid=pair-create]").await
}

/// As a café owner would: host on one instance for the network, make a code
/// on the manager's pairing screen, and join a second instance with the
/// pairing link it shows (what its QR code holds).
#[tokio::test(flavor = "multi_thread")]
async fn a_second_instance_joins_the_hosting_managers_pairing_link() -> Result<()> {
    let host_data = tempfile::tempdir()?;
    let joined_data = tempfile::tempdir()?;
    let host_driver = Driver::start()?;
    let host = open_lan_host(&host_driver, host_data.path()).await?;
    let joined_driver = Driver::start()?;
    let mut joined: Option<Client> = None;
    let result = async {
        new_code(&host, "Kiosk 2").await?;
        wait_for(&host, "[data-testid=pairing-link]").await?;
        let link = host
            .execute(
                "return document.querySelector('[data-testid=pairing-link]').value",
                vec![],
            )
            .await?;
        let link = link.as_str().context("the pairing link's text")?.to_owned();
        let parsed = countertop_client::PairingLink::parse(&link).map_err(anyhow::Error::msg)?;
        let shown = text_of(&host, "[data-testid=pairing-fingerprint]").await?;
        assert_eq!(
            shown,
            parsed.fingerprint.short(),
            "the screen shows the link's key"
        );
        assert!(parsed.hub.starts_with("https://"), "{}", parsed.hub);
        wait_for(&host, ".pairing-qr svg").await?;
        screenshot(&host, "pairing-qr").await?;

        let data = joined_data.path().to_str().context("utf-8 temp path")?;
        let client = open_app(&joined_driver, &["--data", data, "--windowed"]).await?;
        let second = joined.insert(client);
        switch_to(second, "setup").await?;
        click(second, ".setup .choice button:nth-child(2)").await?;
        type_into(second, "[data-testid=setup-link]", &link).await?;
        click(second, "[data-testid=setup-start]").await?;
        wait_for(second, "[data-testid=link-status][data-state=live]").await?;

        // The manager sees the new kiosk, connected.
        until("the manager to list Kiosk 2 as connected", || async {
            css_present(
                &host,
                "[data-testid=device-row][data-name='Kiosk 2'] .dot.on",
            )
            .await
        })
        .await?;
        // Settings tell how the hub serves the network: on, where, which key.
        click(&host, "[data-testid=tab-settings]").await?;
        let lan = wait_for(&host, "[data-testid=hub-lan]").await?;
        assert_eq!(lan.prop("checked").await?.as_deref(), Some("true"));
        let addresses = text_of(&host, "[data-testid=hub-network]").await?;
        assert!(addresses.contains(&parsed.hub), "{addresses}");
        assert!(
            addresses.contains(&parsed.fingerprint.to_string()),
            "{addresses}"
        );
        host.execute(
            "document.querySelector('[data-testid=hub-network]').scrollIntoView()",
            vec![],
        )
        .await?;
        screenshot(&host, "manager-hub-network").await?;
        anyhow::Ok(())
    }
    .await;
    if let Some(client) = joined {
        let _ = client.close().await;
    }
    let _ = host.close().await;
    result
}

/// As a café owner would without the QR code: the second instance types the
/// address and the six digits from the manager's screen. SPAKE2 over the
/// code binds the hub's key, which the new device then pins.
#[tokio::test(flavor = "multi_thread")]
async fn a_second_instance_joins_by_the_typed_address_and_code() -> Result<()> {
    let host_data = tempfile::tempdir()?;
    let joined_data = tempfile::tempdir()?;
    let host_driver = Driver::start()?;
    let host = open_lan_host(&host_driver, host_data.path()).await?;
    let joined_driver = Driver::start()?;
    let mut joined: Option<Client> = None;
    let result = async {
        new_code(&host, "Bar display").await?;
        let code = text_of(&host, "[data-testid=pairing-code]").await?;
        let address = text_of(&host, "[data-testid=pairing-address]").await?;
        let shown_key = text_of(&host, "[data-testid=pairing-fingerprint]").await?;

        let data = joined_data.path().to_str().context("utf-8 temp path")?;
        let client = open_app(&joined_driver, &["--data", data, "--windowed"]).await?;
        let second = joined.insert(client);
        switch_to(second, "setup").await?;
        click(second, ".setup .choice button:nth-child(2)").await?;
        // A wrong code first: the join screen says so, and pins nothing.
        let hub_field = "[data-testid=setup-hub]";
        second
            .find(fantoccini::Locator::Css(hub_field))
            .await?
            .clear()
            .await?;
        type_into(second, hub_field, &address).await?;
        let wrong = if code == "000000" { "111111" } else { "000000" };
        type_into(second, "[data-testid=setup-code]", wrong).await?;
        click(second, "[data-testid=setup-start]").await?;
        let error = text_of(second, ".setup .error").await?;
        assert!(error.contains("wrong, used or expired"), "{error}");
        let code_field = second
            .find(fantoccini::Locator::Css("[data-testid=setup-code]"))
            .await?;
        code_field.clear().await?;
        type_into(second, "[data-testid=setup-code]", &code).await?;
        click(second, "[data-testid=setup-start]").await?;
        wait_for(second, "[data-testid=link-status][data-state=live]").await?;
        anyhow::Ok(shown_key)
    }
    .await;
    if let Some(client) = joined {
        let _ = client.close().await;
    }
    let _ = host.close().await;
    let shown_key = result?;
    // The new device pinned the key the manager's screen showed.
    let cache = countertop_client::Cache::open(&joined_data.path().join("devices/joined"))?;
    let device = cache.device()?.context("the joined device")?;
    let pinned = device.hub_fingerprint.context("a pinned key")?;
    assert_eq!(pinned.short(), shown_key);
    Ok(())
}

/// The hub computer's address changes (here: its TLS port, the hub restarted
/// elsewhere with the same key): the joined kiosk finds it again on the LAN
/// by its pinned key and goes on working, without pairing again.
#[tokio::test(flavor = "multi_thread")]
async fn a_joined_kiosk_follows_its_hub_found_again_by_its_key() -> Result<()> {
    let ours = tempfile::tempdir()?;
    let app_data = tempfile::tempdir()?;
    let (port, tls_port, moved_port) = (free_port(), free_port(), free_port());
    let mut hub =
        TlsHubProcess::start(ours.path(), port, &format!("0.0.0.0:{tls_port}"), &[]).await?;
    let fp = hub_fingerprint(ours.path())?;
    let code = pairing_code(ours.path(), "kiosk")?;
    let link = pairing_link(&format!("https://127.0.0.1:{tls_port}"), &fp, &code)?;

    let driver = Driver::start()?;
    let data = app_data.path().to_str().context("utf-8 temp path")?;
    let client = open_app(&driver, &["--pair", &link, "--data", data, "--windowed"]).await?;
    let result = async {
        switch_to(&client, "kiosk").await?;
        wait_for(&client, "[data-testid=link-status][data-state=live]").await?;
        hub.stop();
        wait_for(
            &client,
            "[data-testid=link-status][data-state=reconnecting]",
        )
        .await?;
        let _moved =
            TlsHubProcess::start(ours.path(), port, &format!("0.0.0.0:{moved_port}"), &[]).await?;
        until_within(
            "the kiosk to find its hub at the new port and go live",
            std::time::Duration::from_secs(60),
            || async { css_present(&client, "[data-testid=link-status][data-state=live]").await },
        )
        .await?;
        anyhow::Ok(())
    }
    .await;
    let _ = client.close().await;
    result?;
    let cache = countertop_client::Cache::open(&app_data.path().join("devices/joined"))?;
    let device = cache.device()?.context("the joined device")?;
    assert!(
        device.hub.ends_with(&format!(":{moved_port}")),
        "the device keeps its hub's new address: {}",
        device.hub
    );
    Ok(())
}

/// A database of its own on the `COUNTERTOP_TEST_POSTGRES` server (a URL of
/// a server where tests may create databases), dropped at the end.
struct Database {
    server: String,
    name: String,
    url: String,
}

fn psql(server: &str, sql: &str) -> Result<()> {
    let out = std::process::Command::new("psql")
        .args([server, "-v", "ON_ERROR_STOP=1", "-q", "-c", sql])
        .output()
        .context("running psql (PostgreSQL's client)")?;
    anyhow::ensure!(
        out.status.success(),
        "psql {sql}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(())
}

impl Database {
    fn create() -> Result<Database> {
        let server = std::env::var("COUNTERTOP_TEST_POSTGRES")
            .ok()
            .filter(|s| !s.is_empty())
            .context(
                "COUNTERTOP_TEST_POSTGRES is unset: this test needs a PostgreSQL server where it \
                 may create a database, e.g. postgres://countertop@127.0.0.1:55432/postgres",
            )?;
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos();
        let name = format!("t_join_nodes_{}_{nanos}", std::process::id());
        psql(&server, &format!("CREATE DATABASE {name}"))?;
        let mut url = reqwest::Url::parse(&server).context("COUNTERTOP_TEST_POSTGRES")?;
        url.set_path(&format!("/{name}"));
        Ok(Database {
            server,
            name,
            url: url.to_string(),
        })
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        let drop = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        if let Err(e) = psql(&self.server, &drop) {
            eprintln!("{e:#}");
        }
    }
}

/// A café of two hub nodes on one PostgreSQL database, both over TLS with
/// one key: a barista display joined to node 1 learns both, shows which
/// node it is on, and when node 1 is SIGKILLed moves to node 2 and carries
/// on (an order placed there appears), its status bar naming node 2.
#[tokio::test(flavor = "multi_thread")]
async fn a_display_joined_to_a_cafe_of_two_nodes_moves_to_the_other_when_its_own_dies() -> Result<()>
{
    let database = Database::create()?;
    let (one_dir, two_dir, app_data) = (
        tempfile::tempdir()?,
        tempfile::tempdir()?,
        tempfile::tempdir()?,
    );
    let ports = [free_port(), free_port()];
    let tls_ports = [free_port(), free_port()];
    let urls: Vec<String> = tls_ports
        .iter()
        .map(|port| format!("https://127.0.0.1:{port}"))
        .collect();
    let node_args: Vec<&str> = ["--database", database.url.as_str()]
        .into_iter()
        .chain(urls.iter().flat_map(|url| ["--public-url", url.as_str()]))
        .collect();
    let mut one = TlsHubProcess::start(
        one_dir.path(),
        ports[0],
        &format!("127.0.0.1:{}", tls_ports[0]),
        &node_args,
    )
    .await?;
    // Node 1 made the secret and the TLS key: node 2 runs with the same.
    for file in ["secret.key", "tls.key", "tls.crt"] {
        std::fs::copy(one_dir.path().join(file), two_dir.path().join(file))?;
    }
    let _two = TlsHubProcess::start(
        two_dir.path(),
        ports[1],
        &format!("127.0.0.1:{}", tls_ports[1]),
        &node_args,
    )
    .await?;
    let fp = hub_fingerprint(one_dir.path())?;
    let code = |role: &str| -> Result<String> {
        let out = std::process::Command::new(hub_binary())
            .args(["pairing-code", "--role", role, "--data"])
            .arg(two_dir.path())
            .args(["--database", &database.url])
            .output()?;
        let value: serde_json::Value = serde_json::from_slice(&out.stdout)
            .with_context(|| format!("pairing-code: {}", String::from_utf8_lossy(&out.stderr)))?;
        Ok(value["code"].as_str().context("a code")?.to_owned())
    };
    let link = pairing_link(&urls[0], &fp, &code("barista")?)?;

    let driver = Driver::start()?;
    let data = app_data.path().to_str().context("utf-8 temp path")?;
    let client = open_app(&driver, &["--pair", &link, "--data", data, "--windowed"]).await?;
    let result = async {
        switch_to(&client, "barista").await?;
        wait_for(&client, "[data-testid=link-status][data-state=live]").await?;
        let on = text_of(&client, "[data-testid=link-node]").await?;
        assert_eq!(on, format!("on hub 1 of 2 · 127.0.0.1:{}", tls_ports[0]));
        screenshot(&client, "failover-node-1").await?;

        one.stop();
        let want = format!("on hub 2 of 2 · 127.0.0.1:{}", tls_ports[1]);
        until("the display live again, on node 2", || async {
            Ok(
                css_present(&client, "[data-testid=link-status][data-state=live]").await?
                    && text_of(&client, "[data-testid=link-node]").await? == want,
            )
        })
        .await?;
        // It carries on: an order placed on node 2 appears.
        let kiosk = reqwest::Client::new();
        let plain = format!("http://127.0.0.1:{}", ports[1]);
        let paired: serde_json::Value = kiosk
            .post(format!("{plain}/api/devices/pair"))
            .json(&serde_json::json!({ "code": code("kiosk")? }))
            .send()
            .await?
            .json()
            .await?;
        assert_eq!(paired["hubs"], serde_json::json!(urls));
        let token = paired["token"].as_str().context("a token")?;
        let order: serde_json::Value = kiosk
            .post(format!("{plain}/api/orders"))
            .bearer_auth(token)
            .json(&serde_json::json!({
                "idempotencyKey": "after-failover",
                "items": [demo_line("americano", 1)],
                "payType": "CARD",
            }))
            .send()
            .await?
            .json()
            .await?;
        let daily = order["dailyNum"].as_u64().context("an order")?;
        wait_for(&client, &format!("[data-testid=order-{daily}]")).await?;
        screenshot(&client, "failover-node-2").await?;
        anyhow::Ok(())
    }
    .await;
    let _ = client.close().await;
    result?;
    let cache = countertop_client::Cache::open(&app_data.path().join("devices/joined"))?;
    let device = cache.device()?.context("the joined device")?;
    assert_eq!(device.hubs, urls, "the device keeps both nodes");
    Ok(())
}
