//! Joining a hub over TLS through the real app window: a kiosk pastes the
//! pairing link (what the manager's QR code holds), pins the hub's key,
//! and later refuses another hub at the same address with "This is not
//! your hub" — and goes back to work when its own hub is back.
//!
//! Run under a display and a private D-Bus, as `./dev.sh test` does.

use std::path::Path;
use std::process::{Child, Command, Stdio};

use anyhow::{Context, Result};
use countertop_e2e::*;
use fantoccini::Client;

/// `countertop-hub serve` with plain HTTP on loopback and TLS beside it on
/// fixed ports, so a second hub can take the same address.
struct TlsHub {
    child: Child,
}

impl TlsHub {
    async fn start(data: &Path, port: u16, tls_port: u16) -> Result<TlsHub> {
        let child = Command::new(hub_binary())
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .args(["--tls-listen", &format!("127.0.0.1:{tls_port}"), "--data"])
            .arg(data)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("starting countertop-hub (cargo build --workspace --bins)")?;
        let hub = TlsHub { child };
        let url = format!("http://127.0.0.1:{port}/healthz");
        until("the hub to answer", || async {
            Ok(reqwest::get(&url)
                .await
                .is_ok_and(|r| r.status().is_success()))
        })
        .await?;
        Ok(hub)
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for TlsHub {
    fn drop(&mut self) {
        self.stop();
    }
}

/// `countertop-hub fingerprint --data DIR`.
fn fingerprint(data: &Path) -> Result<String> {
    let out = Command::new(hub_binary())
        .args(["fingerprint", "--data"])
        .arg(data)
        .output()?;
    let text = String::from_utf8(out.stdout)?.trim().to_owned();
    anyhow::ensure!(
        text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()),
        "fingerprint printed {text:?}"
    );
    Ok(text)
}

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
    let mut hub = TlsHub::start(ours.path(), port, tls_port).await?;
    let ours_fp = fingerprint(ours.path())?;
    let other_fp = fingerprint(other.path())?;
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
        let _impostor = TlsHub::start(other.path(), port, tls_port).await?;
        wait_for(&client, "[data-testid=not-your-hub]").await?;
        let text = text_of(&client, "[data-testid=not-your-hub]").await?;
        assert!(text.contains("not your hub"), "{text}");
        screenshot(&client, "not-your-hub").await?;
        drop(_impostor);

        // Its own hub is back: Try again, and the kiosk works.
        let _back = TlsHub::start(ours.path(), port, tls_port).await?;
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
    Ok(())
}
