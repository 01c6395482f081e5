//! The tray icon of a barista station, read as a desktop panel reads it:
//! a fake StatusNotifierWatcher on the private session bus takes the icon's
//! registration (libayatana-appindicator), the icon's label carries the
//! number of open orders, and its menu (`com.canonical.dbusmenu`) shows the
//! window, mutes the alerts and quits. A test binary of its own: the
//! watcher's bus name has one owner, and only this app may register with it.

use anyhow::{ensure, Context, Result};
use countertop_e2e::*;
use serde_json::json;

#[tokio::test(flavor = "multi_thread")]
async fn the_tray_icon_counts_open_orders_and_its_menu_mutes_the_alerts() -> Result<()> {
    // The panel is there before the app, as on a desktop.
    let tray = TrayWatcher::start()?;
    let dir = tempfile::tempdir()?;
    let hub_data = dir.path().join("hub");
    let hub = HubProcess::start(&hub_data, free_port())?;
    hub.healthy().await?;
    let code = pairing_code(&hub_data, "barista")?;
    let kiosk = HubClient::pair_at(&hub.url, &hub_data, "kiosk").await?;

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
        let item = tray.item().await?;

        // No open orders: no number beside the icon. One order: "1".
        until("the tray label to be empty", || async {
            Ok(tray.property(&item, "XAyatanaLabel").await?.is_empty())
        })
        .await?;
        kiosk
            .post(
                "/orders",
                &json!({
                    "idempotencyKey": "e2e-tray-1",
                    "items": [{ "menuId": "americano", "quantity": 1 }],
                    "payType": "CARD",
                }),
            )
            .await?;
        until("the tray label to count one open order", || async {
            Ok(tray.property(&item, "XAyatanaLabel").await? == "1")
        })
        .await?;

        // The menu a panel shows; Mute alerts mutes the barista board.
        let menu = tray.menu(&item).await?;
        let labels: Vec<String> = menu.iter().map(|e| e.label.replace('_', "")).collect();
        ensure!(
            labels == ["Show Countertop", "Mute alerts", "Quit Countertop"],
            "the tray menu reads {labels:?}"
        );
        ensure!(
            css_present(&client, "[data-testid=mute][aria-pressed=false]").await?,
            "the board is muted before the tray said so"
        );
        tray.click(&item, "Mute alerts").await?;
        wait_for(&client, "[data-testid=mute][aria-pressed=true]").await?;
        // And back from the board: the tray's tick follows.
        click(&client, "[data-testid=mute]").await?;
        wait_for(&client, "[data-testid=mute][aria-pressed=false]").await?;
        until("the tray's Mute alerts to be unticked", || async {
            let menu = tray.menu(&item).await?;
            let mute = menu.iter().find(|e| e.label.replace('_', "") == "Mute alerts");
            Ok(mute.and_then(|e| e.checked) == Some(false))
        })
        .await?;
        anyhow::Ok(())
    }
    .await;
    let _ = client.close().await;
    result
}
