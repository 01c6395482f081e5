//! Finding the hub without typing its address, through the real app
//! window: a hub serving TLS on the LAN announces itself over mDNS, and a
//! second app instance at its first run lists it on the join screen by
//! name and short fingerprint; tapping it fills the hub's address.
//!
//! Run under a display and a private D-Bus, as `./dev.sh test` does. mDNS
//! travels over loopback here too (Linux loops multicast back on `lo`).

use anyhow::{Context, Result};
use countertop_e2e::*;
use fantoccini::Locator;

#[tokio::test(flavor = "multi_thread")]
async fn a_first_run_instance_lists_the_hub_it_finds_and_fills_its_address() -> Result<()> {
    let hub_data = tempfile::tempdir()?;
    let app_data = tempfile::tempdir()?;
    let (port, tls_port) = (free_port(), free_port());
    let fp = hub_fingerprint(hub_data.path())?;
    let short = format!("{} {}", &fp[..4], &fp[4..8]);

    // The café's name, which the hub announces from its next start.
    let mut hub = TlsHubProcess::start(
        hub_data.path(),
        port,
        &format!("0.0.0.0:{tls_port}"),
        &["--no-demo"],
    )
    .await?;
    let manager = HubClient::pair_at(
        &format!("http://127.0.0.1:{port}"),
        hub_data.path(),
        "manager",
    )
    .await?;
    manager.set("cafe_name", "Café Zuid").await?;
    hub.stop();
    let _hub = TlsHubProcess::start(
        hub_data.path(),
        port,
        &format!("0.0.0.0:{tls_port}"),
        &["--no-demo"],
    )
    .await?;

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
