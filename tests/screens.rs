//! End-to-end tests of the manager and signature-display screens: the real
//! `countertop` binary in `--demo --screens manager,display` (a hub with the
//! demo café, and a manager window and a signature-display window side by
//! side, each its own device), driven through tauri-driver and
//! WebKitWebDriver. Run under a display and a private D-Bus, as
//! `./dev.sh test` does.
//!
//! Every wait polls for a condition with a deadline; screenshots land in
//! `docs/screenshots/`.

use std::path::Path;
use std::time::Duration;

use anyhow::{ensure, Context, Result};
use countertop_e2e::*;
use fantoccini::actions::{
    ActionSequence, Actions, InputSource, KeyAction, KeyActions, MouseActions, PointerAction,
    TouchActions, MOUSE_BUTTON_LEFT,
};
use fantoccini::elements::Element;
use fantoccini::key::Key;
use fantoccini::{Client, Locator};
use serde_json::{json, Value};

const LIVE: &str = "[data-testid=link-status][data-state=live]";
const DISPLAY_NAME: &str = "Demo signature display";

/// Starts the app with a manager and a signature display on a demo hub.
async fn open_manager_and_display(driver: &Driver, data: &Path) -> Result<Client> {
    let data = data.to_str().context("utf-8 temp path")?;
    open_app(
        driver,
        &[
            "--demo",
            "--screens",
            "manager,display",
            "--windowed",
            "--data",
            data,
        ],
    )
    .await
}

/// Starts the app with a manager and a signature display on a demo hub
/// with a fresh data folder, runs `flow` with it, and ends the session.
async fn with_manager_and_display(
    flow: impl AsyncFnOnce(&Client, &Path) -> Result<()>,
) -> Result<()> {
    let data = tempfile::tempdir()?;
    let driver = Driver::start()?;
    let client = open_manager_and_display(&driver, data.path()).await?;
    let result = flow(&client, data.path()).await;
    let _ = client.close().await;
    result
}

/// Gives the current window the whole screen: the demo opens its windows
/// side by side, too narrow for the manager's screenshots in the README.
/// (A covered window still renders and answers.)
async fn widen(client: &Client) -> Result<()> {
    client.set_window_rect(0, 0, 1280, 800).await?;
    Ok(())
}

/// Clicks the manager tab `name` (`tab-{name}`).
async fn tab(client: &Client, name: &str) -> Result<()> {
    click(client, &format!("[data-testid=tab-{name}]")).await
}

/// Picks the option of the `<select>` at `css` whose label contains `label`,
/// once it is offered (the manager reads the devices when the list opens).
async fn choose(client: &Client, css: &str, label: &str) -> Result<()> {
    click(client, css).await?;
    let option = format!("{css} option");
    until(&format!("{label:?} in {css}"), || async {
        for option in client.find_all(Locator::Css(&option)).await? {
            if option.text().await?.contains(label) {
                option.click().await?;
                return Ok(true);
            }
        }
        Ok(false)
    })
    .await
}

/// Draws a signature on `pad` with the pointer `source` (a mouse or a
/// finger): a looping scrawl and an underline, as pointer moves relative
/// to the pad's centre.
async fn draw_signature<S>(client: &Client, pad: &Element, source: S) -> Result<()>
where
    S: InputSource<Action = PointerAction> + Into<ActionSequence>,
{
    let (_, _, width, height) = pad.rectangle().await?;
    ensure!(
        width > 100.0 && height > 50.0,
        "signature pad is {width}×{height}"
    );
    let scrawl: Vec<(f64, f64)> = (0..=48)
        .map(|i| {
            let t = f64::from(i) / 48.0;
            let tau = std::f64::consts::TAU;
            let x = -0.38 + 0.72 * t + 0.05 * (7.0 * tau * t).sin();
            let y = 0.2 * (2.0 * tau * t).sin() * (1.0 - 0.5 * t) - 0.08 * (7.0 * tau * t).cos();
            (x, y)
        })
        .collect();
    let underline: Vec<(f64, f64)> = (0..=8)
        .map(|i| {
            let t = f64::from(i) / 8.0;
            (-0.3 + 0.62 * t, 0.32 - 0.04 * t)
        })
        .collect();
    let mut pointer = source;
    for stroke in [scrawl, underline] {
        let at = |(x, y): (f64, f64), ms: Option<u64>| PointerAction::MoveToElement {
            element: pad.clone(),
            duration: ms.map(Duration::from_millis),
            x: (x * width).round(),
            y: (y * height).round(),
        };
        pointer = pointer.then(at(stroke[0], None)).then(PointerAction::Down {
            button: MOUSE_BUTTON_LEFT,
        });
        for &point in &stroke[1..] {
            pointer = pointer.then(at(point, Some(15)));
        }
        pointer = pointer.then(PointerAction::Up {
            button: MOUSE_BUTTON_LEFT,
        });
    }
    perform(client, pointer, "drawing on the signature pad").await
}

/// Performs `actions`, then releases every key and button they hold.
async fn perform(client: &Client, actions: impl Into<Actions>, what: &'static str) -> Result<()> {
    client.perform_actions(actions).await.context(what)?;
    client.release_actions().await?;
    Ok(())
}

/// Presses `keys` together (the first ones held as modifiers) and lets them go.
async fn press_keys(client: &Client, keys: &[Key]) -> Result<()> {
    let mut actions = KeyActions::new("keyboard".into());
    for &key in keys {
        actions = actions.then(KeyAction::Down { value: key.into() });
    }
    for &key in keys.iter().rev() {
        actions = actions.then(KeyAction::Up { value: key.into() });
    }
    perform(client, actions, "pressing keys").await
}

/// Waits until the signature pad holds `n` finished strokes.
async fn strokes_become(client: &Client, n: usize) -> Result<()> {
    until(&format!("{n} strokes on the signature pad"), || async {
        let paths = client
            .find_all(Locator::Css("[data-testid=signature-pad] path"))
            .await?;
        Ok(paths.len() == n)
    })
    .await
}

fn workorder_titled<'a>(workorders: &'a Value, title: &str) -> Option<&'a Value> {
    workorders
        .as_array()?
        .iter()
        .find(|w| w["title"].as_str() == Some(title))
}

#[tokio::test(flavor = "multi_thread")]
async fn manager_presents_a_workorder_and_the_display_captures_a_signature() -> Result<()> {
    with_manager_and_display(signature_flow).await
}

async fn signature_flow(client: &Client, data: &Path) -> Result<()> {
    let title = "Espresso machine service";
    let signer = "Jiwoo Park";

    // The display waits for a workorder.
    let display = switch_to(client, "display").await?;
    wait_for(client, LIVE).await?;
    wait_for(client, "[data-testid=display-idle]").await?;
    screenshot(client, "display-idle").await?;

    // The manager's tabs, for the README, in a window as wide as the screen.
    let manager = switch_to(client, "manager").await?;
    wait_for(client, LIVE).await?;
    widen(client).await?;
    tab(client, "menu").await?;
    wait_for(client, "[data-testid=menu-row-americano]").await?;
    wait_for(client, "[data-testid=menu-add]").await?;
    screenshot(client, "manager-menu").await?;
    tab(client, "cells").await?;
    wait_for(client, "[data-testid^=cell-row-]").await?;
    screenshot(client, "manager-cells").await?;

    // A new workorder through the form, presented to the display.
    tab(client, "workorders").await?;
    click(client, "[data-testid=wo-new]").await?;
    type_into(client, "[data-testid=wo-form-title]", title).await?;
    type_into(client, "[data-testid=wo-form-customer]", "Café Aurora").await?;
    type_into(
        client,
        "[data-testid=wo-form-line-desc-0]",
        "Descaling and new group gaskets",
    )
    .await?;
    type_into(client, "[data-testid=wo-form-line-amount-0]", "85000").await?;
    click(client, "[data-testid=wo-form-save]").await?;
    let card = format!("[data-testid=wo-card][data-title=\"{title}\"]");
    wait_for(client, &format!("{card}[data-status=OPEN]")).await?;
    choose(
        client,
        &format!("{card} [data-testid=wo-present-select]"),
        DISPLAY_NAME,
    )
    .await?;
    click(client, &format!("{card} [data-testid=wo-present-go]")).await?;
    wait_for(client, &format!("{card}[data-status=AWAITING_SIGNATURE]")).await?;

    // The display shows it; Approve waits for a signature and a name.
    client.switch_to_window(display.clone()).await?;
    wait_for(client, "[data-testid=display-workorder]").await?;
    let shown = text_of(client, "[data-testid=wo-title]").await?;
    ensure!(shown.contains(title), "the display shows {shown:?}");
    let approve = wait_for(client, "[data-testid=approve]").await?;
    ensure!(
        !approve.is_enabled().await?,
        "Approve is enabled before anything is signed"
    );
    // Two strokes with a mouse; Undo takes the last back, Clear the rest.
    let pad = wait_for(client, "[data-testid=signature-pad]").await?;
    draw_signature(client, &pad, MouseActions::new("mouse".into())).await?;
    strokes_become(client, 2).await?;
    click(client, "[data-testid=signature-undo]").await?;
    strokes_become(client, 1).await?;
    click(client, "[data-testid=signature-clear]").await?;
    strokes_become(client, 0).await?;
    type_into(client, "[data-testid=signer-name]", signer).await?;
    ensure!(
        !wait_for(client, "[data-testid=approve]")
            .await?
            .is_enabled()
            .await?,
        "Approve is enabled with a name but no signature"
    );
    // Without a pointer: Shift+Tab from the name (Undo and Clear are
    // disabled) reaches the pad; Space puts the pen down, the arrows draw,
    // Space lifts it: one stroke. Clear takes it back for the finger.
    click(client, "[data-testid=signer-name]").await?;
    press_keys(client, &[Key::Shift, Key::Tab]).await?;
    let focused = client.active_element().await?.attr("data-testid").await?;
    ensure!(
        focused.as_deref() == Some("signature-pad"),
        "Shift+Tab from the name focuses {focused:?}, not the pad"
    );
    wait_for(client, "[data-testid=keyboard-pen]").await?;
    for key in [
        Key::Space,
        Key::Right,
        Key::Right,
        Key::Down,
        Key::Right,
        Key::Space,
    ] {
        press_keys(client, &[key]).await?;
    }
    strokes_become(client, 1).await?;
    screenshot(client, "display-keyboard-signature").await?;
    click(client, "[data-testid=signature-clear]").await?;
    strokes_become(client, 0).await?;
    // The customer signs with a finger.
    draw_signature(client, &pad, TouchActions::new("finger".into())).await?;
    strokes_become(client, 2).await?;
    until("Approve to be enabled after signing", || async {
        Ok(wait_for(client, "[data-testid=approve]")
            .await?
            .is_enabled()
            .await?)
    })
    .await?;
    screenshot(client, "display-workorder").await?;
    click(client, "[data-testid=approve]").await?;
    wait_for(client, "[data-testid=display-thanks]").await?;
    screenshot(client, "display-thanks").await?;
    wait_for(client, "[data-testid=display-idle]").await?;

    // The manager's board shows it approved, with the signature as an image
    // that loads.
    client.switch_to_window(manager).await?;
    let img = wait_for(
        client,
        &format!("{card}[data-status=APPROVED] img[data-testid=wo-signature]"),
    )
    .await?;
    let img = serde_json::to_value(img)?;
    until("the signature image to load", || async {
        let width = client
            .execute(
                "return arguments[0].complete ? arguments[0].naturalWidth : 0",
                vec![img.clone()],
            )
            .await?;
        Ok(width.as_f64().unwrap_or(0.0) > 0.0)
    })
    .await?;
    // The board is wider than the window: bring the card into view.
    let shown = wait_for(client, &card).await?;
    client
        .execute(
            "arguments[0].scrollIntoView({ block: 'nearest', inline: 'nearest' })",
            vec![serde_json::to_value(shown)?],
        )
        .await?;
    screenshot(client, "manager-workorders").await?;

    // And so does the hub.
    let hub = HubClient::manager(data).await?;
    let workorders = hub.get("/workorders").await?;
    let wo = workorder_titled(&workorders, title)
        .with_context(|| format!("the hub has no workorder {title:?}: {workorders}"))?;
    assert_eq!(wo["status"], "APPROVED", "{wo}");
    assert_eq!(wo["customerName"], "Café Aurora", "{wo}");
    assert_eq!(wo["totalAmount"], 85000, "{wo}");
    let signature = &wo["signature"];
    assert_eq!(signature["signerName"], signer, "{wo}");
    let svg = signature["signatureSvg"].as_str().unwrap_or_default();
    assert!(svg.contains("<path"), "the signature has no path: {svg:?}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_revoked_display_drops_to_its_pairing_screen_and_pairs_again() -> Result<()> {
    with_manager_and_display(revoke_flow).await
}

async fn revoke_flow(client: &Client, data: &Path) -> Result<()> {
    let display = switch_to(client, "display").await?;
    wait_for(client, LIVE).await?;
    wait_for(client, "[data-testid=display-idle]").await?;

    let manager = switch_to(client, "manager").await?;
    wait_for(client, LIVE).await?;
    widen(client).await?;
    tab(client, "devices").await?;
    let row = format!("[data-testid=device-row][data-name=\"{DISPLAY_NAME}\"]");
    wait_for(client, &format!("{row}[data-role=display]")).await?;
    screenshot(client, "manager-devices").await?;
    click(client, &format!("{row} [data-testid=revoke]")).await?;
    click(client, "[data-testid=confirm-revoke]").await?;
    until("the revoked display to leave the device list", || async {
        Ok(!css_present(client, &row).await?)
    })
    .await?;

    // The display drops to its pairing screen, asking for a new code.
    client.switch_to_window(display.clone()).await?;
    wait_for(
        client,
        "[data-testid=setup-removed] [data-testid=removed-notice]",
    )
    .await?;
    wait_for(
        client,
        "[data-testid=setup-removed] [data-testid=setup-code]",
    )
    .await?;
    screenshot(client, "display-revoked").await?;

    // The hub no longer lists it.
    let hub = HubClient::manager(data).await?;
    let devices = hub.get("/devices").await?;
    let still = devices
        .as_array()
        .context("a device list")?
        .iter()
        .any(|d| d["name"] == DISPLAY_NAME);
    ensure!(!still, "the hub still lists the display: {devices}");

    // A new code from the manager's Devices tab pairs it again.
    client.switch_to_window(manager).await?;
    wait_for(client, "select[data-testid=pair-role]")
        .await?
        .select_by_value("display")
        .await?;
    type_into(client, "[data-testid=pair-name]", "Front desk display").await?;
    click(client, "[data-testid=pair-create]").await?;
    let code = text_of(client, "[data-testid=pairing-code]").await?;
    let code: String = code.chars().filter(char::is_ascii_digit).collect();
    ensure!(code.len() == 6, "the pairing code reads {code:?}");
    screenshot(client, "manager-pairing-code").await?;
    client.switch_to_window(display).await?;
    type_into(client, "[data-testid=setup-code]", &code).await?;
    click(client, "[data-testid=setup-start]").await?;
    wait_for(client, "[data-testid=display-idle]").await?;
    wait_for(client, LIVE).await?;
    let devices = hub.get("/devices").await?;
    let again = devices
        .as_array()
        .context("a device list")?
        .iter()
        .any(|d| d["name"] == "Front desk display" && d["role"] == "display");
    ensure!(again, "the hub does not list the display again: {devices}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn an_error_notice_reaches_the_desktop_and_the_notices_tab() -> Result<()> {
    // Serving before the app starts, so its first notification finds us.
    let notifications = NotificationServer::shared();
    with_manager_and_display(async |client, data| notice_flow(client, data, notifications).await)
        .await
}

async fn notice_flow(
    client: &Client,
    data: &Path,
    notifications: &NotificationServer,
) -> Result<()> {
    switch_to(client, "manager").await?;
    wait_for(client, LIVE).await?;
    widen(client).await?;
    // Only this test sends notices, so their titles tell them apart.
    let info = "Beans delivered".to_owned();
    let error = "Grinder jammed".to_owned();
    let hub = HubClient::manager(data).await?;
    hub.post(
        "/notifications",
        &json!({ "level": "info", "title": info, "message": "Six bags of the Ethiopian roast." }),
    )
    .await?;
    hub.post(
        "/notifications",
        &json!({ "level": "error", "title": error, "message": "Grinder 2 stopped: clear the burrs." }),
    )
    .await?;

    // The error reaches the desktop; the info before it does not (the
    // manager's alerts go out in order, so it would have come first).
    let shown = notifications
        .wait_for(&format!("{error:?}"), |n| n.summary == error)
        .await?;
    assert_eq!(shown.app_name, "Countertop");
    assert_eq!(shown.body, "Grinder 2 stopped: clear the burrs.");
    let leaked: Vec<_> = notifications
        .received()
        .into_iter()
        .filter(|n| n.summary == info)
        .collect();
    assert!(leaked.is_empty(), "an info notice was shown: {leaked:?}");

    // Both are in the Notices tab, each with its level.
    tab(client, "notices").await?;
    for (level, title) in [("error", &error), ("info", &info)] {
        let css = format!("[data-testid=notice][data-level={level}]");
        until(
            &format!("the {level} notice {title:?} in the Notices tab"),
            || async {
                for notice in client.find_all(Locator::Css(&css)).await? {
                    if notice.text().await?.contains(title.as_str()) {
                        return Ok(true);
                    }
                }
                Ok(false)
            },
        )
        .await?;
    }
    screenshot(client, "manager-notices").await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn switching_the_language_changes_the_visible_texts() -> Result<()> {
    with_manager_and_display(async |client, _| language_flow(client).await).await
}

async fn language_flow(client: &Client) -> Result<()> {
    switch_to(client, "manager").await?;
    wait_for(client, LIVE).await?;
    widen(client).await?;
    tab(client, "settings").await?;
    let dashboard = "[data-testid=tab-dashboard]";
    for (code, label) in [
        ("en", "Dashboard"),
        ("de", "Übersicht"),
        ("ko", "대시보드"),
        ("en", "Dashboard"),
    ] {
        wait_for(client, "select[data-testid=language]")
            .await?
            .select_by_value(code)
            .await
            .with_context(|| format!("choosing the language {code:?}"))?;
        until(&format!("the Dashboard tab to read {label:?}"), || async {
            Ok(text_of(client, dashboard).await?.contains(label))
        })
        .await?;
        if code == "de" {
            // The settings screen itself follows the language too.
            let settings = text_of(client, "[data-testid=tab-settings]").await?;
            ensure!(
                settings.contains("Einstellungen"),
                "the Settings tab reads {settings:?} in German"
            );
        }
    }
    wait_for(client, "[data-testid=setting-kiosk-active]").await?;
    // The hosted hub backed itself up when it started: the settings say
    // how long ago, and nothing warns.
    until("the settings to show the last backup", || async {
        Ok(text_of(client, "[data-testid=backup-status]")
            .await?
            .contains("Last backup"))
    })
    .await?;
    let status = wait_for(client, "[data-testid=backup-status]").await?;
    ensure!(
        status.attr("data-warning").await?.as_deref() == Some("false"),
        "a fresh backup is no warning"
    );
    ensure!(
        !css_present(client, "[data-testid=backup-warning]").await?,
        "no backup warning over the tabs"
    );
    // About: this app's release and the hosted hub's (from its /healthz).
    let version = env!("CARGO_PKG_VERSION");
    until("About to show the hub's release", || async {
        Ok(css_present(client, "[data-testid=about-hub]").await?
            && wait_for(client, "[data-testid=about-hub]")
                .await?
                .attr("data-version")
                .await?
                .as_deref()
                == Some(version))
    })
    .await?;
    let app = wait_for(client, "[data-testid=about-app]").await?;
    ensure!(
        app.attr("data-version").await?.as_deref() == Some(version),
        "About names this app's release {version}"
    );
    let about = text_of(client, "[data-testid=about]").await?;
    ensure!(
        about.contains(&format!("Countertop {version}")),
        "About reads {about:?}"
    );
    screenshot(client, "manager-settings").await?;
    client
        .execute(
            "document.querySelector('[data-testid=about]').scrollIntoView()",
            vec![],
        )
        .await?;
    screenshot(client, "manager-about").await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn the_dashboard_follows_a_new_order_live_and_the_manager_is_notified() -> Result<()> {
    let notifications = NotificationServer::shared();
    with_manager_and_display(async |client, data| dashboard_flow(client, data, notifications).await)
        .await
}

async fn dashboard_flow(
    client: &Client,
    data: &Path,
    notifications: &NotificationServer,
) -> Result<()> {
    switch_to(client, "manager").await?;
    wait_for(client, LIVE).await?;
    widen(client).await?;
    tab(client, "dashboard").await?;
    let orders_today = "[data-testid=dash-orders-today]";
    for figure in [
        "dash-revenue-today",
        "dash-open-orders",
        "dash-avg-prep",
        "dash-chart",
    ] {
        wait_for(client, &format!("[data-testid={figure}]")).await?;
    }
    let before = text_of(client, orders_today).await?;
    ensure!(
        !before.contains('1'),
        "orders today before any order: {before:?}"
    );

    // A kiosk orders two Americanos (4,000 won each) over REST.
    let kiosk = HubClient::pair(data, "kiosk").await?;
    let order = kiosk
        .post(
            "/orders",
            &json!({
                "idempotencyKey": "e2e-dashboard-1",
                "items": [demo_line("americano", 2)],
                "payType": "CARD",
            }),
        )
        .await?;
    let number = order["dailyNum"].as_u64().context("a daily number")?;

    // The figures follow without a reload.
    until("orders today to count the new order", || async {
        Ok(text_of(client, orders_today).await?.contains('1'))
    })
    .await?;
    until("revenue today to include it", || async {
        Ok(text_of(client, "[data-testid=dash-revenue-today]")
            .await?
            .contains("8,000"))
    })
    .await?;
    until("open orders to count it", || async {
        Ok(text_of(client, "[data-testid=dash-open-orders]")
            .await?
            .contains('1'))
    })
    .await?;
    // One order is one order, not "1 open orders".
    until("the side bar to count one open order", || async {
        Ok(text_of(client, "[data-testid=open-orders-count]").await? == "1 open order")
    })
    .await?;
    screenshot(client, "manager-dashboard").await?;

    // Managers see new orders on the desktop too.
    let summary = format!("Order #{number}");
    let shown = notifications
        .wait_for(&format!("{summary:?}"), |n| n.summary == summary)
        .await?;
    assert_eq!(shown.body, "2× Americano");
    Ok(())
}
