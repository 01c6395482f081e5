//! Finding the hub without typing its address, through the real app
//! window: a hub serving TLS on the LAN announces itself over mDNS, and a
//! second app instance at its first run lists it on the join screen by
//! name and short fingerprint; tapping it fills the hub's address.
//!
//! Run under a display and a private D-Bus, as `./dev.sh test` does. mDNS
//! travels over loopback here too (Linux loops multicast back on `lo`).

use std::path::Path;
use std::process::{Child, Command, Stdio};

use anyhow::{Context, Result};
use countertop_e2e::*;
use fantoccini::Locator;

/// `countertop-hub serve`: plain HTTP on loopback, TLS on every address
/// (so it announces itself).
struct LanHub {
    child: Child,
}

impl LanHub {
    async fn start(data: &Path, port: u16, tls_port: u16) -> Result<LanHub> {
        let child = Command::new(hub_binary())
            .args([
                "serve",
                "--no-demo",
                "--listen",
                &format!("127.0.0.1:{port}"),
            ])
            .args(["--tls-listen", &format!("0.0.0.0:{tls_port}"), "--data"])
            .arg(data)
            .env_remove("COUNTERTOP_NO_ANNOUNCE")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .context("starting countertop-hub (cargo build --workspace --bins)")?;
        let hub = LanHub { child };
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

impl Drop for LanHub {
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

#[tokio::test(flavor = "multi_thread")]
async fn a_first_run_instance_lists_the_hub_it_finds_and_fills_its_address() -> Result<()> {
    let hub_data = tempfile::tempdir()?;
    let app_data = tempfile::tempdir()?;
    let (port, tls_port) = (free_port(), free_port());
    let fp = fingerprint(hub_data.path())?;
    let short = format!("{} {}", &fp[..4], &fp[4..8]);

    // The café's name, which the hub announces from its next start.
    let mut hub = LanHub::start(hub_data.path(), port, tls_port).await?;
    let manager = HubClient::pair_at(
        &format!("http://127.0.0.1:{port}"),
        hub_data.path(),
        "manager",
    )
    .await?;
    manager.set("cafe_name", "Café Zuid").await?;
    hub.stop();
    let _hub = LanHub::start(hub_data.path(), port, tls_port).await?;

    let driver = Driver::start()?;
    let data = app_data.path().to_str().context("utf-8 temp path")?;
    let client = open_app(&driver, &["--data", data, "--windowed"]).await?;
    let result = async {
        switch_to(&client, "setup").await?;
        click(&client, ".setup .choice button:nth-child(2)").await?;
        let ours = format!("[data-testid=found-hub][data-fingerprint='{fp}']");
        wait_for(&client, &ours).await?;
        let text = text_of(&client, &ours).await?;
        assert!(text.contains("Café Zuid"), "listed as {text:?}");
        assert!(
            text.contains(&short),
            "no short fingerprint {short:?} in {text:?}"
        );
        screenshot(&client, "setup-found-hubs").await?;

        // Tapping it fills the address; the code is still to be typed.
        click(&client, &ours).await?;
        let input = client.find(Locator::Css("[data-testid=setup-hub]")).await?;
        let wanted_end = format!(":{tls_port}");
        let filled = until("the hub's address in the field", || async {
            let value = input.prop("value").await?.unwrap_or_default();
            Ok(value.starts_with("https://") && value.ends_with(&wanted_end))
        })
        .await;
        let value = input.prop("value").await?.unwrap_or_default();
        filled.with_context(|| format!("the field holds {value:?}"))?;
        let pressed = client
            .find(Locator::Css(&ours))
            .await?
            .attr("aria-pressed")
            .await?;
        assert_eq!(pressed.as_deref(), Some("true"));
        anyhow::Ok(())
    }
    .await;
    let _ = client.close().await;
    result
}
