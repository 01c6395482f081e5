//! End-to-end test of the manager's report: the real `countertop` binary in
//! `--demo --screens manager`, driven through tauri-driver and
//! WebKitWebDriver. An order placed at the hub and made READY shows in
//! today's report with its revenue and a preparation time; Save CSV writes
//! the day into the Downloads folder, and its rows hold the order's item.
//! Run under a display and a private D-Bus, as `./dev.sh test` does.

use std::ffi::OsString;

use anyhow::{ensure, Context, Result};
use countertop_e2e::*;
use fantoccini::Client;
use serde_json::json;

const LIVE: &str = "[data-testid=link-status][data-state=live]";

#[tokio::test(flavor = "multi_thread")]
async fn the_managers_report_for_today_shows_the_order_its_revenue_and_its_preparation_time(
) -> Result<()> {
    let data = tempfile::tempdir()?;
    let data_arg = data.path().to_str().context("utf-8 temp path")?.to_owned();
    // The user's Downloads folder, as the desktop names it (user-dirs.dirs
    // in the config folder), is a folder of this test's.
    let config = tempfile::tempdir()?;
    let downloads = tempfile::tempdir()?;
    std::fs::write(
        config.path().join("user-dirs.dirs"),
        format!("XDG_DOWNLOAD_DIR=\"{}\"\n", downloads.path().display()),
    )?;
    let driver =
        Driver::start_with_env(&[("XDG_CONFIG_HOME", OsString::from(config.path().as_os_str()))])?;
    let client = open_app(
        &driver,
        &[
            "--demo",
            "--screens",
            "manager",
            "--windowed",
            "--data",
            &data_arg,
        ],
    )
    .await?;
    let result = report_flow(&client, data.path(), downloads.path()).await;
    let _ = client.close().await;
    result
}

async fn report_flow(
    client: &Client,
    data: &std::path::Path,
    downloads: &std::path::Path,
) -> Result<()> {
    let hub = HubClient::manager(data).await?;
    switch_to(client, "manager").await?;
    wait_for(client, LIVE).await?;
    client.set_window_rect(0, 0, 1280, 800).await?;

    // Two croissants, placed and made READY at the hub.
    let order = hub
        .post(
            "/orders",
            &json!({"idempotencyKey": "report-e2e", "payType": "CASH",
                    "items": [demo_line("croissant", 2)]}),
        )
        .await?;
    let id = order["orderId"].as_str().context("an order id")?.to_owned();
    let total = order["totalAmount"].as_i64().context("a total")?;
    for status in ["MAKING", "READY"] {
        hub.patch(
            &format!("/orders/{id}/status"),
            &json!({ "status": status }),
        )
        .await?;
    }

    click(client, "[data-testid=tab-report]").await?;
    wait_for(client, "[data-testid=report-body]").await?;
    until("today's report with the order", || async {
        Ok(text_of(client, "[data-testid=report-orders]").await? == "1")
    })
    .await?;
    let digits = |text: String| {
        text.chars()
            .filter(char::is_ascii_digit)
            .collect::<String>()
    };
    let revenue = text_of(client, "[data-testid=report-revenue-total]").await?;
    ensure!(
        digits(revenue.clone()) == total.to_string(),
        "the revenue reads {revenue:?}, the order's total is {total}"
    );
    let cash = text_of(client, "[data-testid=report-revenue-cash]").await?;
    ensure!(
        digits(cash.clone()) == total.to_string(),
        "cash reads {cash:?}"
    );
    let prep = text_of(client, "[data-testid=report-prep-median]").await?;
    ensure!(
        prep.contains(':') && prep.chars().any(|c| c.is_ascii_digit()),
        "a preparation time, as a clock reads it: {prep:?}"
    );
    let row = text_of(client, "[data-testid=report-item-croissant]").await?;
    ensure!(
        row.contains("Butter Croissant") && row.contains("kitchen") && row.contains('2'),
        "the item's row reads {row:?}"
    );
    ensure!(
        css_present(client, "[data-testid=report-station-kitchen]").await?,
        "the kitchen station is listed"
    );
    let date = wait_for(client, "[data-testid=report-body]")
        .await?
        .attr("data-date")
        .await?
        .context("the report's date")?;
    screenshot(client, "manager-report").await?;

    // Save CSV writes the day into Downloads and says where.
    click(client, "[data-testid=report-save-csv]").await?;
    let shown = text_of(client, "[data-testid=report-saved-path]").await?;
    let path = std::path::PathBuf::from(&shown);
    ensure!(
        path.starts_with(downloads),
        "saved into Downloads ({}), not {shown}",
        downloads.display()
    );
    ensure!(
        path.file_name().and_then(|n| n.to_str()) == Some(&format!("countertop-report-{date}.csv")),
        "named after the day: {shown}"
    );
    let csv = std::fs::read_to_string(&path).with_context(|| format!("reading {shown}"))?;
    let item_row = csv
        .lines()
        .find(|l| l.starts_with("Butter Croissant,croissant,"))
        .with_context(|| format!("the croissant's row in {csv}"))?;
    ensure!(
        item_row.starts_with(&format!("Butter Croissant,croissant,kitchen,2,{total},")),
        "the croissant's row reads {item_row:?}"
    );
    ensure!(
        csv.lines()
            .any(|l| l == format!("revenue CASH,{total}").as_str()),
        "the summary's cash revenue in {csv}"
    );

    // A second save keeps the first file and names the new one " (2)".
    click(client, "[data-testid=report-save-csv]").await?;
    until("a second file", || async {
        Ok(text_of(client, "[data-testid=report-saved-path]")
            .await?
            .ends_with(&format!("countertop-report-{date} (2).csv")))
    })
    .await?;
    ensure!(path.exists(), "the first file is kept");

    // A day in the future is refused in words, without asking the hub.
    let tomorrow = (chrono::Local::now().date_naive() + chrono::Days::new(1)).to_string();
    client
        .execute(
            "const input = document.querySelector('[data-testid=report-date]');\n\
             const set = Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value').set;\n\
             set.call(input, arguments[0]);\n\
             input.dispatchEvent(new Event('input', { bubbles: true }));",
            vec![json!(tomorrow)],
        )
        .await?;
    wait_for(client, "[data-testid=report-problem]").await?;
    ensure!(
        !css_present(client, "[data-testid=report-body]").await?,
        "no report for a future day"
    );
    Ok(())
}
