//! What a script in a window can reach: each window may invoke its own
//! screen's commands and no others (Tauri capabilities per window label,
//! `src-tauri/capabilities/`, `src-tauri/src/access.rs`). A script runs
//! `window.__TAURI_INTERNALS__.invoke(...)` in the real app window, as a
//! script stored in the café's data and run by a screen could. Run under a
//! display and a private D-Bus, as `./dev.sh test` does.

use anyhow::{bail, ensure, Context, Result};
use countertop_e2e::*;
use fantoccini::Client;
use serde_json::{json, Value};

/// Invokes app command `command` with `args` from the current window;
/// `Ok(answer)`, or `Err(rejection)`: a string from Tauri's access control,
/// an `IpcError` object from the command itself.
async fn invoke(
    client: &Client,
    command: &str,
    args: Value,
) -> Result<std::result::Result<Value, Value>> {
    let answer = client
        .execute_async(
            r#"const [command, args, done] = arguments;
               window.__TAURI_INTERNALS__.invoke(command, args).then(
                 (value) => done({ ok: value === undefined ? null : value }),
                 (error) => done({ error }));"#,
            vec![json!(command), args],
        )
        .await
        .with_context(|| format!("invoking {command} from the page"))?;
    Ok(match answer.get("error") {
        Some(error) => Err(error.clone()),
        None => Ok(answer["ok"].clone()),
    })
}

/// `command` answers from the current window.
async fn allowed(client: &Client, command: &str, args: Value) -> Result<Value> {
    match invoke(client, command, args).await? {
        Ok(value) => Ok(value),
        Err(error) => bail!("{command} was refused: {error}"),
    }
}

/// `command` is refused by Tauri's access control, before it runs (a
/// command that ran and refused answers with an `IpcError` object instead).
async fn not_allowed(client: &Client, command: &str, args: Value) -> Result<()> {
    match invoke(client, command, args).await? {
        Ok(value) => bail!("{command} was allowed and answered {value}"),
        // "charge_cell not allowed on window \"kiosk\" ..." (debug build),
        // "Command charge_cell not allowed by ACL" (release build).
        Err(Value::String(error)) => {
            ensure!(
                error.contains("not allowed") && error.contains(command),
                "{command} was refused, but not by the access control: {error}"
            );
            println!("{}", error.lines().next().unwrap_or_default());
        }
        Err(error) => bail!("{command} ran, and refused: {error}"),
    }
    Ok(())
}

/// The current window's screen, as `session` tells it.
async fn screen_of(client: &Client) -> Result<String> {
    let session = allowed(client, "session", json!({})).await?;
    Ok(session["screen"].as_str().unwrap_or_default().to_owned())
}

/// The id of the device called `name`, from a manager's device list.
fn device_id(devices: &Value, name: &str) -> Result<String> {
    devices
        .as_array()
        .context("a device list")?
        .iter()
        .find(|d| d["name"] == name)
        .and_then(|d| d["id"].as_str())
        .map(str::to_owned)
        .with_context(|| format!("no device {name:?} in {devices}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn kiosk_and_display_windows_cannot_invoke_manager_commands() -> Result<()> {
    let data = tempfile::tempdir()?;
    let data_arg = data.path().to_str().context("utf-8 temp path")?.to_owned();
    let driver = Driver::start()?;
    let client = open_app(
        &driver,
        &[
            "--demo",
            "--screens",
            "kiosk,display,manager",
            "--windowed",
            "--data",
            &data_arg,
        ],
    )
    .await?;
    let result = windows_keep_to_their_screens(&client).await;
    let _ = client.close().await;
    result
}

async fn windows_keep_to_their_screens(client: &Client) -> Result<()> {
    // The manager may list and revoke devices: the ids to aim at.
    switch_to(client, "manager").await?;
    let devices = allowed(client, "devices", json!({})).await?;
    let kiosk_id = device_id(&devices, "Demo kiosk")?;
    let display_id = device_id(&devices, "Demo signature display")?;

    // The kiosk reads its own screen, and reaches no manager command.
    switch_to(client, "kiosk").await?;
    assert_eq!(screen_of(client).await?, "kiosk");
    until("the kiosk's screen to show the menu", || async {
        let screen = allowed(client, "screen", json!({})).await?;
        Ok(screen["menu"].as_array().is_some_and(|m| !m.is_empty()))
    })
    .await?;
    not_allowed(
        client,
        "charge_cell",
        json!({ "cellId": "design-team", "amount": 100000 }),
    )
    .await?;
    not_allowed(client, "revoke_device", json!({ "deviceId": display_id })).await?;
    not_allowed(
        client,
        "put_setting",
        json!({ "key": "is_kiosk_active", "value": "false" }),
    )
    .await?;
    not_allowed(
        client,
        "create_pairing_code",
        json!({ "role": "manager", "name": "Stolen" }),
    )
    .await?;
    not_allowed(client, "devices", json!({})).await?;
    not_allowed(
        client,
        "cancel_order",
        json!({ "orderId": "x", "reason": "x" }),
    )
    .await?;

    // The signature display reads its own screen, and may not revoke.
    switch_to(client, "display").await?;
    assert_eq!(screen_of(client).await?, "display");
    allowed(client, "screen", json!({})).await?;
    not_allowed(client, "revoke_device", json!({ "deviceId": kiosk_id })).await?;
    not_allowed(
        client,
        "charge_cell",
        json!({ "cellId": "design-team", "amount": 100000 }),
    )
    .await?;
    not_allowed(
        client,
        "place_order",
        json!({
            "lines": [{ "menuId": "americano", "quantity": 1,
                        "options": [{ "groupId": "temperature", "choiceId": "hot" }] }],
            "pay": "CARD", "cellId": null, "cellPin": null, "fulfilment": "DINE_IN"
        }),
    )
    .await?;

    // Nothing was revoked: the manager still lists both.
    switch_to(client, "manager").await?;
    let devices = allowed(client, "devices", json!({})).await?;
    assert_eq!(device_id(&devices, "Demo kiosk")?, kiosk_id);
    assert_eq!(device_id(&devices, "Demo signature display")?, display_id);
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_first_run_window_gets_the_commands_of_the_screen_it_becomes() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let data = dir.path().to_str().context("utf-8 temp path")?.to_owned();
    let driver = Driver::start()?;
    let client = open_app(&driver, &["--windowed", "--data", &data]).await?;
    let result = first_run_grants(&client).await;
    let _ = client.close().await;
    result
}

async fn first_run_grants(client: &Client) -> Result<()> {
    // Before it has a device, the window may only set itself up.
    switch_to(client, "setup").await?;
    assert_eq!(screen_of(client).await?, "setup");
    not_allowed(client, "screen", json!({})).await?;
    not_allowed(client, "devices", json!({})).await?;

    // Set up as a kiosk hosting the hub here (as the Start button does).
    let session = allowed(
        client,
        "setup",
        json!({ "choice": { "mode": "host", "role": "kiosk" } }),
    )
    .await?;
    assert_eq!(session["screen"], "kiosk");

    // Now the kiosk's commands, and still no manager's.
    assert_eq!(screen_of(client).await?, "kiosk");
    allowed(client, "screen", json!({})).await?;
    not_allowed(
        client,
        "charge_cell",
        json!({ "cellId": "design-team", "amount": 100000 }),
    )
    .await?;
    not_allowed(client, "revoke_device", json!({ "deviceId": "x" })).await?;

    // Pairing again, which empties the device's folder, is for a device the
    // hub removed: a script cannot unpair a kiosk at work.
    let again = invoke(
        client,
        "setup",
        json!({ "choice": { "mode": "join", "hubUrl": "http://127.0.0.1:9", "code": "123456" } }),
    )
    .await?;
    match again {
        Ok(value) => bail!("pairing a working kiosk again was allowed: {value}"),
        Err(error) => ensure!(
            error["code"] == "forbidden",
            "pairing a working kiosk again failed otherwise: {error}"
        ),
    }
    assert_eq!(screen_of(client).await?, "kiosk");
    Ok(())
}
