//! End-to-end tests of the real app window: the `countertop` binary in
//! `--demo`, driven through tauri-driver and WebKitWebDriver. Run under a
//! display and a private D-Bus, as `./dev.sh test` does:
//! `dbus-run-session -- xvfb-run -a -s "-screen 0 1280x800x24" cargo test -p countertop-e2e`.
//!
//! Every wait polls for a condition with a deadline; screenshots of each
//! screen land in `docs/screenshots/`.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{ensure, Context, Result};
use countertop_e2e::*;
use fantoccini::{Client, Locator};
use serde_json::json;

#[tokio::test(flavor = "multi_thread")]
async fn demo_order_flows_from_kiosk_to_barista_and_back() -> Result<()> {
    // The barista's chime goes to a file, its notification to the fake
    // server on this session bus.
    let notifications = NotificationServer::shared();
    let sink = FileSink::new()?;
    let data = tempfile::tempdir()?;
    let data_arg = data.path().to_str().context("utf-8 temp path")?.to_owned();
    let driver = Driver::start_with_env(&[sink.env()])?;
    let client = open_app(&driver, &["--demo", "--data", &data_arg]).await?;
    let result = order_flow(&client, data.path(), &sink, notifications).await;
    let _ = client.close().await;
    result
}

async fn order_flow(
    client: &Client,
    data: &Path,
    sink: &FileSink,
    notifications: &NotificationServer,
) -> Result<()> {
    // tauri-driver → WebKitWebDriver → app pass the environment on.
    let (_, config) = sink.env();
    until(
        "the app to run with the test's ALSA_CONFIG_PATH",
        || async { Ok(env_of_processes(&app_binary(), "ALSA_CONFIG_PATH").contains(&config)) },
    )
    .await?;
    assert_eq!(sink.sounded_bytes(), 0, "nothing sounds before an order");

    // The kiosk: welcome, live, then the menu.
    switch_to(client, "kiosk").await?;
    wait_for(client, "[data-testid=link-status][data-state=live]").await?;
    screenshot(client, "kiosk-welcome").await?;
    click(client, "[data-testid=start-order]").await?;
    add_hot(client, "americano").await?;
    add_hot(client, "americano").await?;
    add_hot(client, "latte").await?;
    let total = wait_for(client, "[data-testid=cart-total]")
        .await?
        .text()
        .await?;
    // Two Americanos at 4,000 and a latte at 4,500, in won.
    assert!(total.contains("12,500"), "cart total {total:?}");
    screenshot(client, "kiosk-menu-cart").await?;

    // Team points list the teams, their balances kept behind each PIN.
    click(client, "[data-testid=to-pay]").await?;
    click(client, "[data-testid=serve-DINE_IN]").await?;
    click(client, "[data-testid=pay-CELL]").await?;
    wait_for(client, "[data-testid=cell-cell-design]").await?;
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
    wait_for(client, &format!("{card}[data-status=PENDING]")).await?;
    screenshot(client, "barista-new-order").await?;
    // With the chime (a 880 Hz and a 1318.5 Hz tone, 0.36 s: tens of
    // thousands of samples) and a native notification.
    until("the chime to reach the ALSA file sink", || async {
        Ok(sink.sounded_bytes() > 20_000)
    })
    .await?;
    println!(
        "the chime reached the ALSA file sink: {} non-zero bytes of {}",
        sink.sounded_bytes(),
        std::fs::metadata(sink.output())?.len()
    );
    let summary = format!("Order #{number}");
    let shown = notifications
        .wait_for(&format!("{summary:?}"), |n| n.summary == summary)
        .await?;
    assert_eq!(shown.app_name, "Countertop");
    assert_eq!(shown.body, "2× Americano, 1× Café Latte");
    click(client, &format!("[data-testid=advance-{number}]")).await?;
    wait_for(client, &format!("{card}[data-status=MAKING]")).await?;
    click(client, &format!("[data-testid=advance-{number}]")).await?;
    wait_for(client, &format!("{card}[data-status=READY]")).await?;
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
    let manager = HubClient::manager(data).await?;
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

    // Sold out through the hub's API greys the item within a second, and back.
    for sold_out in [true, false] {
        manager
            .patch("/menu/latte", &json!({ "isSoldOut": sold_out }))
            .await?;
        let css = format!("[data-testid=item-latte][data-sold-out={sold_out}]");
        until_within(
            &format!("the kiosk's latte to show sold out {sold_out} within a second"),
            Duration::from_secs(1),
            || css_present(client, &css),
        )
        .await?;
    }
    Ok(())
}

/// Taps the drink `id`, which asks for its options, and adds one HOT.
async fn add_hot(client: &Client, id: &str) -> Result<()> {
    click(client, &format!("[data-testid=item-{id}]")).await?;
    click(
        client,
        "[data-testid=options-dialog] [data-testid=choice-temperature-hot]",
    )
    .await?;
    // The dialog scrolls when its groups are taller than the window, as a
    // customer would scroll it to Add.
    client
        .execute(
            r#"document.querySelector("[data-testid=options-add]")
                 .scrollIntoView({ block: "center" });"#,
            vec![],
        )
        .await?;
    click(client, "[data-testid=options-add]").await?;
    until("the options dialog to close", || async {
        Ok(!css_present(client, "[data-testid=options-dialog]").await?)
    })
    .await
}

/// The order cards on the barista board, by their `data-testid`, sorted.
async fn board_cards(client: &Client) -> Result<Vec<String>> {
    let mut cards = Vec::new();
    for card in client
        .find_all(Locator::Css(
            "[data-testid=board] article[data-testid^=order-]",
        ))
        .await?
    {
        cards.extend(card.attr("data-testid").await?);
    }
    cards.sort();
    Ok(cards)
}

/// Places an order of one Americano through the hub's REST API.
#[tokio::test(flavor = "multi_thread")]
async fn joined_barista_goes_reconnecting_then_live_across_a_hub_restart_with_every_order_once(
) -> Result<()> {
    let dir = tempfile::tempdir()?;
    let hub_data = dir.path().join("hub");
    let port = free_port();
    let mut hub = HubProcess::start(&hub_data, port)?;
    hub.healthy().await?;
    let code = pairing_code(&hub_data, "barista")?;
    let kiosk = HubClient::pair_at(&hub.url, &hub_data, "kiosk").await?;

    let driver = Driver::start()?;
    let client = open_joined(&driver, &hub.url, &code, &dir.path().join("app")).await?;
    let result = async {
        switch_to(&client, "barista").await?;
        wait_for(&client, "[data-testid=link-status][data-state=live]").await?;
        // The board, drawn, is in the log with the time it took (what
        // bench/app-footprint.sh reads).
        let logs = dir.path().join("app").join("logs");
        until("the app to log its first painted screen", || async {
            Ok(std::fs::read_dir(&logs)?.flatten().any(|f| {
                std::fs::read_to_string(f.path()).is_ok_and(|log| {
                    log.lines().any(|l| {
                        l.contains("first screen painted")
                            && l.contains(r#"window="main""#)
                            && l.contains("since_launch_ms=")
                    })
                })
            }))
        })
        .await?;
        let first = kiosk.order_americano("e2e-restart-1").await?;
        wait_for(
            &client,
            &format!("[data-testid=order-{first}][data-status=PENDING]"),
        )
        .await?;

        hub.stop();
        wait_for(
            &client,
            "[data-testid=link-status][data-state=reconnecting]",
        )
        .await?;
        screenshot(&client, "barista-reconnecting").await?;

        let restarted = HubProcess::start(&hub_data, port)?;
        restarted.healthy().await?;
        // An order made while the board is still reconnecting arrives on resume.
        let second = kiosk.order_americano("e2e-restart-2").await?;
        until("the barista board to be live again", || async {
            if css_present(&client, "[data-testid=link-status][data-state=offline]").await? {
                // Past the quick attempts: the Retry button tries at once.
                click(&client, "[data-testid=link-status] button.retry").await?;
            }
            css_present(&client, "[data-testid=link-status][data-state=live]").await
        })
        .await?;
        wait_for(
            &client,
            &format!("[data-testid=order-{second}][data-status=PENDING]"),
        )
        .await?;
        // Nothing lost, nothing doubled.
        let cards = board_cards(&client).await?;
        assert_eq!(
            cards,
            vec![format!("order-{first}"), format!("order-{second}")],
            "the board after the restart"
        );
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
    let data_dir = dir.path().join("data");
    let data = data_dir.to_str().context("utf-8 temp path")?.to_owned();
    // The app writes the autostart entry under $HOME, whatever
    // XDG_CONFIG_HOME says: a HOME of the test's own.
    let home = dir.path().join("home");
    std::fs::create_dir_all(&home)?;
    let driver = Driver::start_with_home(&home)?;

    let client = open_app(&driver, &["--data", &data]).await?;
    let first = async {
        switch_to(&client, "setup").await?;
        screenshot(&client, "first-run-setup").await?;
        // Host the hub here as the barista board (the defaults), started
        // whenever someone logs in to this computer.
        click(&client, "[data-testid=setup-start-at-login]").await?;
        click(&client, "[data-testid=setup-start]").await?;
        wait_for(&client, "[data-testid=board][data-view]").await?;
        wait_for(&client, "[data-testid=link-status][data-state=live]").await?;
        // The login entry (under $HOME/.config/autostart, as the autostart
        // plugin writes it) starts this device: its data folder, no window.
        let entry = login_entry_for(&home, &data)?
            .context("no autostart entry in the test's HOME names the data folder")?;
        if let Some(real) = std::env::var_os("HOME") {
            ensure!(
                login_entry_for(Path::new(&real), &data)?.is_none(),
                "the app wrote into the real HOME's autostart"
            );
        }
        let text = std::fs::read_to_string(&entry)?;
        let exec = text
            .lines()
            .find_map(|l| l.strip_prefix("Exec="))
            .context("the entry has no Exec line")?;
        ensure!(
            exec.contains(&app_binary().display().to_string()) && !exec.contains("--windowed"),
            "Exec={exec}"
        );
        // The hosting barista pairs a new device without a manager screen;
        // this hub serves this computer only, and the code says so.
        click(&client, "[data-testid=pair-device]").await?;
        type_into(&client, "[data-testid=pair-name]", "Till 2").await?;
        click(&client, "[data-testid=pair-create]").await?;
        let code = text_of(&client, "[data-testid=pairing-code]").await?;
        assert!(
            code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()),
            "{code:?}"
        );
        wait_for(&client, "[data-testid=pairing-local-only]").await?;
        screenshot(&client, "barista-pair-device").await?;
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

/// The autostart entry (`home/.config/autostart/*.desktop`) whose text
/// names `data`, if there is one.
fn login_entry_for(home: &Path, data: &str) -> Result<Option<std::path::PathBuf>> {
    let dir = home.join(".config/autostart");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Ok(None);
    };
    for entry in entries.flatten() {
        let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
        if entry.path().extension().is_some_and(|e| e == "desktop") && text.contains(data) {
            return Ok(Some(entry.path()));
        }
    }
    Ok(None)
}
