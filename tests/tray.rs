//! The tray icon of a barista station, read as a desktop panel reads it:
//! a fake StatusNotifierWatcher on the private session bus takes the icon's
//! registration (libayatana-appindicator), the icon's label carries the
//! number of open orders, and its menu (`com.canonical.dbusmenu`) shows the
//! window, mutes the alerts and quits, in the station's language. A test
//! binary of its own: the watcher's bus name has one owner, and only this
//! app may register with it.

use anyhow::{ensure, Context, Result};
use countertop_e2e::*;

#[tokio::test(flavor = "multi_thread")]
async fn the_tray_icon_counts_open_orders_and_its_menu_mutes_and_quits() -> Result<()> {
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
    // A German computer: the tray speaks German until the board's device
    // is told otherwise.
    let driver = Driver::start_with_env(&[("LANGUAGE", "de".into())])?;
    let client = open_joined(&driver, &hub.url, &code, &app_data).await?;
    let result = async {
        switch_to(&client, "barista").await?;
        wait_for(&client, "[data-testid=link-status][data-state=live]").await?;
        let item = tray.item().await?;

        // No open orders: no number beside the icon. One order: "1".
        until("the tray label to be empty", || async {
            Ok(tray.property(&item, "XAyatanaLabel").await?.is_empty())
        })
        .await?;
        kiosk.order_americano("e2e-tray-1").await?;
        until("the tray label to count one open order", || async {
            Ok(tray.property(&item, "XAyatanaLabel").await? == "1")
        })
        .await?;

        // The menu a panel shows; muting there mutes the barista board.
        let labels = tray_labels(&tray, &item).await?;
        ensure!(
            labels
                == [
                    "Countertop anzeigen",
                    "Alarme stummschalten",
                    "Countertop beenden"
                ],
            "the tray menu reads {labels:?}"
        );
        ensure!(
            css_present(&client, "[data-testid=mute][aria-pressed=false]").await?,
            "the board is muted before the tray said so"
        );
        tray.click(&item, "Alarme stummschalten").await?;
        wait_for(&client, "[data-testid=mute][aria-pressed=true]").await?;
        // And back from the board: the tray's tick follows.
        click(&client, "[data-testid=mute]").await?;
        wait_for(&client, "[data-testid=mute][aria-pressed=false]").await?;
        until("the tray's mute item to be unticked", || async {
            let menu = tray.menu(&item).await?;
            let mute = menu.iter().find(|e| e.checked.is_some());
            Ok(mute.and_then(|e| e.checked) == Some(false))
        })
        .await?;

        // The board's device switches to English (the set_language command,
        // as a language switch calls it): the tray follows.
        let answer = client
            .execute_async(
                "const done = arguments[arguments.length - 1];\n\
                 window.__TAURI_INTERNALS__.invoke('set_language', { language: 'en' })\n\
                   .then(() => done(null), (e) => done(String(e)));",
                vec![],
            )
            .await
            .context("setting the language")?;
        ensure!(answer.is_null(), "set_language answered {answer}");
        until("the tray menu to be in English", || async {
            Ok(tray_labels(&tray, &item).await?
                == ["Show Countertop", "Mute alerts", "Quit Countertop"])
        })
        .await?;

        // Quit ends the app.
        ensure!(app_running(&app_arg), "the app runs before Quit");
        tray.click(&item, "Quit Countertop").await?;
        until("the app to quit", || async { Ok(!app_running(&app_arg)) }).await?;
        anyhow::Ok(())
    }
    .await;
    let _ = client.close().await;
    result
}

/// The menu's labels as a panel shows them (GTK marks mnemonics with
/// underscores).
async fn tray_labels(tray: &TrayWatcher, item: &TrayItem) -> Result<Vec<String>> {
    let menu = tray.menu(item).await?;
    Ok(menu.iter().map(|e| e.label.replace('_', "")).collect())
}

/// Whether an app process with data folder `data` runs.
fn app_running(data: &str) -> bool {
    let binary = app_binary().canonicalize().unwrap_or_else(|_| app_binary());
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return false;
    };
    procs.flatten().any(|entry| {
        let exe = std::fs::read_link(entry.path().join("exe"));
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        exe.is_ok_and(|exe| exe == binary)
            && cmdline.split(|&b| b == 0).any(|arg| arg == data.as_bytes())
    })
}
