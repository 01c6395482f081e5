//! End-to-end tests of the manager's menu editor and the barista's ticket:
//! the real `countertop` binary in `--demo --screens manager,barista`,
//! driven through tauri-driver and WebKitWebDriver, checked against the
//! hub over REST. Run under a display and a private D-Bus, as `./dev.sh
//! test` does.
//!
//! A photo goes from a file chosen in the webview through the app to the
//! hub, and comes back through the app's `photo://` scheme; ICE is marked
//! sold out on every drink in one tap; an option group is added; a hub
//! refusal shows beside its field; items move and go; and a ticket shows
//! ICE, HOT, two extra shots and To go. Screenshots in English and Korean.

use std::path::Path;

use anyhow::{ensure, Context, Result};
use countertop_e2e::*;
use fantoccini::Client;
use serde_json::{json, Value};

const LIVE: &str = "[data-testid=link-status][data-state=live]";

#[tokio::test(flavor = "multi_thread")]
async fn a_manager_edits_the_menu_and_a_barista_reads_the_options() -> Result<()> {
    let data = tempfile::tempdir()?;
    let data_arg = data.path().to_str().context("utf-8 temp path")?.to_owned();
    let driver = Driver::start()?;
    let client = open_app(
        &driver,
        &[
            "--demo",
            "--screens",
            "manager,barista",
            "--windowed",
            "--data",
            &data_arg,
        ],
    )
    .await?;
    let result = menu_flow(&client, data.path()).await;
    let _ = client.close().await;
    result
}

async fn menu_flow(client: &Client, data: &Path) -> Result<()> {
    let hub = HubClient::manager(data).await?;
    switch_to(client, "manager").await?;
    wait_for(client, LIVE).await?;
    client.set_window_rect(0, 0, 1280, 800).await?;
    click(client, "[data-testid=tab-menu]").await?;
    click(
        client,
        "[data-testid=menu-row-americano] [data-testid=menu-edit]",
    )
    .await?;
    let details = "[data-testid=menu-details-americano]";
    wait_for(client, details).await?;

    // A picture larger than 8 MiB is refused before it leaves the window.
    let files = tempfile::tempdir()?;
    let big = files.path().join("big.png");
    std::fs::write(&big, vec![0u8; 9 * 1024 * 1024])?;
    choose_file(client, details, &big).await?;
    let error = text_of(client, &format!("{details} [data-testid=menu-photo-error]")).await?;
    ensure!(error.contains('8'), "the size error reads {error:?}");
    ensure!(
        item(&hub, "americano").await?["photo"].is_null(),
        "nothing was uploaded"
    );

    // A PNG goes to the hub, which makes its JPEGs; the window shows the
    // thumbnail through the app's photo:// scheme.
    let png = files.path().join("americano.png");
    std::fs::write(&png, two_tone_png(320, 240))?;
    choose_file(client, details, &png).await?;
    until("the americano's photo at the hub", || async {
        Ok(!item(&hub, "americano").await?["photo"].is_null())
    })
    .await?;
    let thumb = format!("{details} img[data-testid=menu-thumb]");
    until("the thumbnail loaded through photo://", || async {
        let loaded = client
            .execute(
                "const img = document.querySelector(arguments[0]);\n\
                 return !!img && img.complete && img.naturalWidth > 0 && img.src.startsWith('photo://');",
                vec![json!(thumb)],
            )
            .await?;
        Ok(loaded == json!(true))
    })
    .await?;
    ensure!(
        !css_present(client, &format!("{details} [data-testid=menu-photo-error]")).await?,
        "no error after the upload"
    );

    // ICE sold out on every drink in one tap, and back.
    let ice = "[data-testid=choice-soldout-temperature-ice]";
    click(client, ice).await?;
    until("ICE sold out on every drink at the hub", || async {
        ice_sold_out(&hub, &["americano", "latte", "green-tea"], true).await
    })
    .await?;
    until("the ICE button pressed", || async {
        Ok(wait_for(client, ice).await?.attr("aria-pressed").await? == Some("true".into()))
    })
    .await?;
    let ice_choice =
        format!("{details} [data-testid=choice-temperature-ice] [data-testid=choice-soldout]");
    until("americano's ICE switch on", || async {
        Ok(wait_for(client, &ice_choice).await?.is_selected().await?)
    })
    .await?;
    show(client, "[data-testid=menu-row-americano]").await?;
    screenshot(client, "manager-menu-editor").await?;
    click(client, ice).await?;
    until("ICE back on every drink", || async {
        ice_sold_out(&hub, &["americano", "latte", "green-tea"], false).await
    })
    .await?;

    // A new option group: Syrup, Vanilla at +500.
    let groups = client
        .find_all(fantoccini::Locator::Css(&format!(
            "{details} [data-testid^=menu-group-]"
        )))
        .await?
        .len();
    click(client, &format!("{details} [data-testid=group-add]")).await?;
    let group = format!("{details} [data-testid=menu-group-{groups}]");
    wait_for(client, &group).await?;
    show(client, &group).await?;
    type_into(
        client,
        &format!("{group} [data-testid=group-name]"),
        "Syrup",
    )
    .await?;
    type_into(
        client,
        &format!("{group} [data-testid=choice-name]"),
        "Vanilla",
    )
    .await?;
    type_into(
        client,
        &format!("{group} [data-testid=choice-price]"),
        "500",
    )
    .await?;
    click(
        client,
        &format!("{details} [data-testid=menu-options-save]"),
    )
    .await?;
    until("the Syrup group at the hub", || async {
        let americano = item(&hub, "americano").await?;
        let syrup = americano["optionGroups"]
            .as_array()
            .and_then(|g| g.iter().find(|g| g["name"] == "Syrup"))
            .cloned();
        Ok(syrup.is_some_and(|g| {
            g["id"] == "syrup"
                && g["choices"][0]["id"] == "vanilla"
                && g["choices"][0]["priceDelta"] == 500
        }))
    })
    .await?;

    // The hub's refusal shows beside the field it is about.
    type_into(
        client,
        &format!("{details} [data-testid=menu-station]"),
        "주방",
    )
    .await?;
    click(
        client,
        &format!("{details} [data-testid=menu-details-save]"),
    )
    .await?;
    let refusal = text_of(
        client,
        &format!("{details} [data-testid=menu-details-error]"),
    )
    .await?;
    ensure!(
        refusal.contains("station"),
        "the hub's refusal reads {refusal:?}"
    );
    ensure!(item(&hub, "americano").await?["station"] == "bar");
    type_into(
        client,
        &format!("{details} [data-testid=menu-station]"),
        "bar",
    )
    .await?;
    type_into(
        client,
        &format!("{details} [data-testid=menu-name-ko]"),
        "아메리카노 커피",
    )
    .await?;
    click(
        client,
        &format!("{details} [data-testid=menu-details-save]"),
    )
    .await?;
    until("the Korean name at the hub", || async {
        Ok(item(&hub, "americano").await?["names"]["ko"] == "아메리카노 커피")
    })
    .await?;

    // Down one place in its category, then deleted with a confirm.
    let before = menu_ids(&hub).await?;
    let latte_at = before.iter().position(|id| id == "latte");
    click(
        client,
        "[data-testid=menu-row-americano] [data-testid=menu-down]",
    )
    .await?;
    until("americano after latte", || async {
        let ids = menu_ids(&hub).await?;
        Ok(ids.iter().position(|id| id == "americano") == latte_at
            && ids.iter().position(|id| id == "latte") < latte_at)
    })
    .await?;
    click(
        client,
        "[data-testid=menu-row-chamomile] [data-testid=menu-delete]",
    )
    .await?;
    click(
        client,
        "[data-testid=menu-delete-dialog] [data-testid=menu-delete-confirm]",
    )
    .await?;
    until("chamomile gone from the hub", || async {
        Ok(!menu_ids(&hub).await?.iter().any(|id| id == "chamomile"))
    })
    .await?;
    until("chamomile gone from the editor", || async {
        Ok(!css_present(client, "[data-testid=menu-row-chamomile]").await?)
    })
    .await?;

    // A ticket: an ICE Americano with two extra shots to go, a HOT latte.
    let order = hub
        .post(
            "/orders",
            &json!({
                "idempotencyKey": "menu-e2e-ticket",
                "payType": "CARD",
                "fulfilment": "TAKE_OUT",
                "items": [
                    {"menuId": "americano", "quantity": 1, "options": [
                        {"groupId": "temperature", "choiceId": "ice"},
                        {"groupId": "extra-shot", "choiceId": "shot"},
                        {"groupId": "extra-shot", "choiceId": "shot"},
                    ]},
                    demo_line("latte", 1),
                ],
            }),
        )
        .await?;
    let card = format!(
        "[data-testid=order-{}]",
        order["dailyNum"].as_u64().context("a daily number")?
    );
    switch_to(client, "barista").await?;
    wait_for(client, LIVE).await?;
    client.set_window_rect(0, 0, 1280, 800).await?;
    wait_for(client, &format!("{card} [data-testid=chip-ice]")).await?;
    wait_for(client, &format!("{card} [data-testid=chip-hot]")).await?;
    let shots = text_of(client, &format!("{card} [data-testid=chip-shot]")).await?;
    ensure!(shots.contains("+2"), "the shots chip reads {shots:?}");
    let togo = text_of(client, &format!("{card} [data-testid=ticket-togo]")).await?;
    ensure!(!togo.is_empty(), "a To go badge");
    // ICE and HOT are told apart by colour, not only by their words.
    let colours = client
        .execute(
            "const bg = (s) => getComputedStyle(document.querySelector(s)).backgroundColor;\n\
             return [bg(arguments[0]), bg(arguments[1])];",
            vec![
                json!(format!("{card} [data-testid=chip-ice]")),
                json!(format!("{card} [data-testid=chip-hot]")),
            ],
        )
        .await?;
    ensure!(
        colours[0] != colours[1],
        "ICE and HOT chips share a colour: {colours}"
    );
    screenshot(client, "barista-ticket-options").await?;

    // The same in Korean.
    switch_to(client, "manager").await?;
    click(client, "[data-testid=tab-settings]").await?;
    wait_for(client, "select[data-testid=language]")
        .await?
        .select_by_value("ko")
        .await?;
    click(client, "[data-testid=tab-menu]").await?;
    click(
        client,
        "[data-testid=menu-row-americano] [data-testid=menu-edit]",
    )
    .await?;
    until("the editor in Korean", || async {
        Ok(text_of(client, details).await?.contains("옵션"))
    })
    .await?;
    show(client, "[data-testid=menu-row-americano]").await?;
    screenshot(client, "manager-menu-editor-ko").await?;
    // A barista screen has no settings of its own: its language is set
    // the way the manager's settings set theirs.
    switch_to(client, "barista").await?;
    client
        .execute_async(
            "const done = arguments[arguments.length - 1];\n\
             window.__TAURI_INTERNALS__.invoke('set_language', { language: 'ko' })\n\
               .then(() => done(true), (e) => done(String(e)));",
            vec![],
        )
        .await?;
    until("the ticket in Korean", || async {
        Ok(text_of(client, &format!("{card} [data-testid=ticket-togo]")).await? == "포장")
    })
    .await?;
    screenshot(client, "barista-ticket-options-ko").await?;
    Ok(())
}

/// Scrolls `css` to the top of the window, for a screenshot.
async fn show(client: &Client, css: &str) -> Result<()> {
    client
        .execute(
            "document.querySelector(arguments[0]).scrollIntoView({block: 'start'});",
            vec![json!(css)],
        )
        .await?;
    Ok(())
}

/// Chooses `file` in the photo picker of the item details `details`.
async fn choose_file(client: &Client, details: &str, file: &Path) -> Result<()> {
    let input = wait_for(client, &format!("{details} [data-testid=menu-photo-file]")).await?;
    input
        .send_keys(file.to_str().context("utf-8 path")?)
        .await
        .context("choosing a file")?;
    Ok(())
}

async fn item(hub: &HubClient, id: &str) -> Result<Value> {
    let menu = hub.get("/menu").await?;
    menu.as_array()
        .and_then(|m| m.iter().find(|i| i["id"] == id))
        .cloned()
        .with_context(|| format!("{id} on the menu"))
}

async fn menu_ids(hub: &HubClient) -> Result<Vec<String>> {
    Ok(hub
        .get("/menu")
        .await?
        .as_array()
        .context("a menu")?
        .iter()
        .filter_map(|i| i["id"].as_str().map(str::to_owned))
        .collect())
}

/// Whether ICE is marked `sold_out` on each of `ids`.
async fn ice_sold_out(hub: &HubClient, ids: &[&str], sold_out: bool) -> Result<bool> {
    for id in ids {
        let it = item(hub, id).await?;
        let ice = it["optionGroups"]
            .as_array()
            .and_then(|g| g.iter().find(|g| g["id"] == "temperature"))
            .and_then(|g| g["choices"].as_array())
            .and_then(|c| c.iter().find(|c| c["id"] == "ice"))
            .with_context(|| format!("{id} offers ICE"))?;
        if ice["isSoldOut"] != sold_out {
            return Ok(false);
        }
    }
    Ok(true)
}

/// A `width`×`height` PNG, left half brown, right half cream: 8-bit RGB,
/// its image data in stored (uncompressed) deflate blocks.
fn two_tone_png(width: u32, height: u32) -> Vec<u8> {
    // Each row: filter type 0 (none), then its pixels.
    let mut row = vec![0u8];
    for x in 0..width {
        row.extend_from_slice(if x < width / 2 {
            &[107, 62, 38]
        } else {
            &[245, 235, 220]
        });
    }
    let raw = row.repeat(height as usize);
    let mut zlib = vec![0x78, 0x01];
    let blocks: Vec<&[u8]> = raw.chunks(65_535).collect();
    for (i, block) in blocks.iter().enumerate() {
        zlib.push(u8::from(i + 1 == blocks.len()));
        let len = u16::try_from(block.len()).unwrap_or(u16::MAX);
        zlib.extend_from_slice(&len.to_le_bytes());
        zlib.extend_from_slice(&(!len).to_le_bytes());
        zlib.extend_from_slice(block);
    }
    let (mut a, mut b) = (1u32, 0u32);
    for &byte in &raw {
        a = (a + u32::from(byte)) % 65_521;
        b = (b + a) % 65_521;
    }
    zlib.extend_from_slice(&((b << 16) | a).to_be_bytes());

    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut header = Vec::new();
    header.extend_from_slice(&width.to_be_bytes());
    header.extend_from_slice(&height.to_be_bytes());
    header.extend_from_slice(&[8, 2, 0, 0, 0]);
    for (kind, body) in [(b"IHDR", header), (b"IDAT", zlib), (b"IEND", Vec::new())] {
        png.extend_from_slice(&u32::try_from(body.len()).unwrap_or(0).to_be_bytes());
        let mut chunk = kind.to_vec();
        chunk.extend_from_slice(&body);
        png.extend_from_slice(&chunk);
        png.extend_from_slice(&crc32(&chunk).to_be_bytes());
    }
    png
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &byte in bytes {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}
