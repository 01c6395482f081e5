//! The kiosk a customer orders from (issue 15), through the real app
//! window: a kiosk joined to a hub process of its own, which a test stops
//! and starts again on the same port, with a manager checking over REST
//! what the hub took. Run under a display and a private D-Bus, as
//! `./dev.sh test` does: `dbus-run-session -- xvfb-run -a -s "-screen 0
//! 1280x800x24" cargo test -p countertop-e2e --test kiosk`.
//!
//! Every wait polls for a condition with a deadline; screenshots of each
//! new screen, in English and in Korean, land in `docs/screenshots/`.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{ensure, Context, Result};
use chrono::{DateTime, Utc};
use countertop_e2e::*;
use fantoccini::{Client, Locator};
use serde_json::{json, Value};

/// The demo café's team that pays in these tests, and its PIN (README).
const TEAM: &str = "cell-engineering";
const TEAM_PIN: &str = "2345";

/// A kiosk joined to a hub of its own, and a manager of that hub.
struct Kiosk {
    /// Holds the hub's (`hub/`) and the app's (`app/`) data folders.
    _dir: tempfile::TempDir,
    hub_data: PathBuf,
    port: u16,
    hub: HubProcess,
    manager: HubClient,
    _driver: Driver,
    client: Client,
}

impl Kiosk {
    /// A demo hub, and the app paired to it as a kiosk, live on its welcome
    /// screen. `env` reaches the app (its locale, say).
    async fn open(env: &[(&str, OsString)]) -> Result<Kiosk> {
        let dir = tempfile::tempdir()?;
        let hub_data = dir.path().join("hub");
        let port = free_port();
        let hub = HubProcess::start(&hub_data, port)?;
        hub.healthy().await?;
        let manager = HubClient::pair_at(&hub.url, &hub_data, "manager").await?;
        let code = pairing_code(&hub_data, "kiosk")?;
        let driver = Driver::start_with_env(env)?;
        let client = open_joined(&driver, &hub.url, &code, &dir.path().join("app")).await?;
        let kiosk = Kiosk {
            _dir: dir,
            hub_data,
            port,
            hub,
            manager,
            _driver: driver,
            client,
        };
        switch_to(&kiosk.client, "kiosk").await?;
        wait_for(&kiosk.client, "[data-testid=link-status][data-state=live]").await?;
        wait_for(&kiosk.client, "[data-testid=start-order]").await?;
        Ok(kiosk)
    }

    /// Starts the hub again on the same port and data folder (a field of
    /// its own, so that a test may hold the window meanwhile).
    async fn restart(hub: &mut HubProcess, data: &Path, port: u16) -> Result<()> {
        *hub = HubProcess::start(data, port)?;
        hub.healthy().await
    }

    /// Waits for the kiosk to be live again after a hub restart, tapping
    /// Retry once it has given up its quick attempts.
    async fn live_again(&self) -> Result<()> {
        let client = &self.client;
        until("the kiosk to be live again", || async {
            if css_present(client, "[data-testid=link-status][data-state=offline]").await? {
                click(client, "[data-testid=link-status] button.retry").await?;
            }
            css_present(client, "[data-testid=link-status][data-state=live]").await
        })
        .await
    }

    /// The café setting `key` as the kiosk's own screen has it (the
    /// window's `screen` command), once it equals `value`.
    async fn has_setting(&self, key: &str, value: &str) -> Result<()> {
        let client = &self.client;
        until(&format!("the kiosk to have {key} = {value}"), || async {
            let screen = client
                .execute_async(
                    r#"const done = arguments[arguments.length - 1];
                       window.__TAURI_INTERNALS__.invoke("screen", {}).then(
                         (screen) => done(screen.settings),
                         (error) => done({ error: String(error) }));"#,
                    vec![],
                )
                .await?;
            Ok(screen[key] == json!(value))
        })
        .await
    }

    /// Today's order number `num` as the hub has it (a manager's list).
    async fn order(&self, num: u64) -> Result<Value> {
        let orders = self.manager.get("/orders").await?;
        orders
            .as_array()
            .context("a list of orders")?
            .iter()
            .find(|o| o["dailyNum"] == json!(num))
            .cloned()
            .with_context(|| format!("no order {num} at the hub: {orders}"))
    }

    /// The balance of cell `id` at the hub.
    async fn balance(&self, id: &str) -> Result<i64> {
        let cells = self.manager.get("/cells").await?;
        cells
            .as_array()
            .context("a list of cells")?
            .iter()
            .find(|c| c["id"] == id)
            .and_then(|c| c["balance"].as_i64())
            .with_context(|| format!("no cell {id} in {cells}"))
    }

    async fn close(self) {
        let _ = self.client.close().await;
    }
}

/// Whether the element `css` is there and enabled.
async fn enabled(client: &Client, css: &str) -> Result<bool> {
    Ok(wait_for(client, css).await?.is_enabled().await?)
}

/// Waits until nothing matches `css`.
async fn gone(client: &Client, css: &str) -> Result<()> {
    until(&format!("{css} to go"), || async {
        Ok(!css_present(client, css).await?)
    })
    .await
}

/// The words a flow reads on the screen, in the language it runs in.
struct Words {
    /// The suffix of its screenshots' names.
    suffix: &'static str,
    lang: &'static str,
    /// The Americano's options as the cart and the summary list them.
    options: &'static str,
    take_out: &'static str,
    /// 5,500 and 9,000 as the language writes them.
    add: &'static str,
    total: &'static str,
}

const ENGLISH: Words = Words {
    suffix: "",
    lang: "en",
    options: "ICE · Large · Extra shot ×2",
    take_out: "To go",
    add: "5,500",
    total: "9,000",
};

const KOREAN: Words = Words {
    suffix: "-ko",
    lang: "ko",
    options: "아이스 · 라지 · 샷 추가 ×2",
    take_out: "포장",
    add: "5,500",
    total: "9,000",
};

/// German runs longest: its screens show whether anything is cut off. The
/// demo menu has no German names, so the options read as the hub names them.
const GERMAN: Words = Words {
    suffix: "-de",
    lang: "de",
    options: "ICE · Large · Extra shot ×2",
    take_out: "Mitnehmen",
    add: "5.500",
    total: "9.000",
};

/// A customer orders an ICE Large Americano with two extra shots and a
/// croissant, to take out, and pays with team points behind a PIN: the cart,
/// the summary, a wrong PIN, the team's balance, the number with the items
/// and a wait; then what the hub took. In English, Korean and German.
#[tokio::test(flavor = "multi_thread")]
async fn a_customer_orders_an_iced_large_americano_with_two_shots_and_a_croissant_to_go_with_team_points(
) -> Result<()> {
    let kiosk = Kiosk::open(&[]).await?;
    let result = async {
        for words in [ENGLISH, KOREAN, GERMAN] {
            customer_orders(&kiosk, &words).await?;
        }
        anyhow::Ok(())
    }
    .await;
    kiosk.close().await;
    result
}

async fn customer_orders(kiosk: &Kiosk, words: &Words) -> Result<()> {
    let client = &kiosk.client;
    let shot = |name: &str| format!("{name}{}", words.suffix);
    wait_for(client, "[data-testid=link-status][data-state=live]").await?;
    click(client, &format!("[data-testid=lang-{}]", words.lang)).await?;
    wait_for(client, &format!("html[lang={}]", words.lang)).await?;
    let balance = kiosk.balance(TEAM).await?;
    click(client, "[data-testid=start-order]").await?;

    // The Americano asks for its options; Add waits for the required
    // Temperature, and shows the price as it grows.
    click(client, "[data-testid=item-americano]").await?;
    wait_for(client, "[data-testid=options-dialog]").await?;
    ensure!(
        !enabled(client, "[data-testid=options-add]").await?,
        "Add is offered before a temperature is chosen"
    );
    click(client, "[data-testid=choice-temperature-ice]").await?;
    click(client, "[data-testid=choice-size-large]").await?;
    click(client, "[data-testid=more-extra-shot-shot]").await?;
    click(client, "[data-testid=more-extra-shot-shot]").await?;
    wait_for(
        client,
        "[data-testid=choice-temperature-ice][aria-pressed=true]",
    )
    .await?;
    let add = text_of(client, "[data-testid=options-add]").await?;
    // 4,000 + 500 (Large) + 2 × 500 (shots).
    ensure!(add.contains(words.add), "the Add button says {add:?}");
    let shots = text_of(client, "[data-testid=choice-extra-shot-shot]").await?;
    ensure!(
        shots.contains('2'),
        "the extra shot counter shows {shots:?}"
    );
    screenshot(client, &shot("kiosk-options")).await?;
    click(client, "[data-testid=options-add]").await?;
    gone(client, "[data-testid=options-dialog]").await?;

    // A croissant has no options: a tap adds it.
    click(client, "[data-testid=category-Bakery]").await?;
    click(client, "[data-testid=item-croissant]").await?;
    wait_for(client, "[data-testid=line-croissant]").await?;
    let line = text_of(client, "[data-testid=line-americano]").await?;
    ensure!(
        line.contains(words.options),
        "the cart's Americano line reads {line:?}"
    );
    // 5,500 + 3,500.
    until("the cart total to be 9,000", || async {
        Ok(text_of(client, "[data-testid=cart-total]")
            .await?
            .contains(words.total))
    })
    .await?;
    screenshot(client, &shot("kiosk-cart-options")).await?;

    // Checkout: to go, the summary with the options, team points.
    click(client, "[data-testid=to-pay]").await?;
    click(client, "[data-testid=serve-TAKE_OUT]").await?;
    wait_for(client, "[data-testid=serve-TAKE_OUT][aria-pressed=true]").await?;
    let summary = text_of(client, "[data-testid=order-summary]").await?;
    ensure!(
        summary.contains(words.options),
        "the order summary reads {summary:?}"
    );
    let total = text_of(client, "[data-testid=checkout-total]").await?;
    ensure!(
        total.contains(words.total),
        "the checkout total is {total:?}"
    );
    click(client, "[data-testid=pay-CELL]").await?;
    // No team's balance shows before its PIN.
    wait_for(client, &format!("[data-testid=cell-{TEAM}]")).await?;
    ensure!(
        !css_present(client, "[data-testid^=cell-balance-]").await?,
        "a team's balance shows before its PIN"
    );
    ensure!(
        !enabled(client, "[data-testid=place-order]").await?,
        "Place order is offered before the team's PIN"
    );
    screenshot(client, &shot("kiosk-checkout")).await?;

    // A wrong PIN is refused in words; the right one shows the balance.
    click(client, &format!("[data-testid=cell-{TEAM}]")).await?;
    wait_for(client, "[data-testid=pin-pad]").await?;
    enter_pin(client, "9999").await?;
    wait_for(client, "[data-testid=pin-problem]").await?;
    screenshot(client, &shot("kiosk-pin")).await?;
    enter_pin(client, TEAM_PIN).await?;
    gone(client, "[data-testid=pin-pad]").await?;
    let shown = text_of(client, &format!("[data-testid=cell-balance-{TEAM}]")).await?;
    let digits: String = shown.chars().filter(char::is_ascii_digit).collect();
    ensure!(
        digits == balance.to_string(),
        "the team's balance shows as {shown:?}, the hub has {balance}"
    );

    // The number, the items with their options and how they are served,
    // and about how long. The items are the lines as the hub priced them,
    // named in the customer's language where the menu names them so.
    click(client, "[data-testid=place-order]").await?;
    let number = text_of(client, "[data-testid=daily-number]").await?;
    let number: u64 = number
        .trim()
        .parse()
        .with_context(|| format!("daily number {number:?}"))?;
    let placed = text_of(client, "[data-testid=placed-items]").await?;
    ensure!(
        placed.contains(words.take_out)
            && placed.contains(words.options)
            && client
                .find_all(Locator::Css("[data-testid=placed-items] li"))
                .await?
                .len()
                == 2,
        "the confirmation lists {placed:?}"
    );
    wait_for(client, "[data-testid=wait-estimate]").await?;
    screenshot(client, &shot("kiosk-confirmation-items")).await?;

    // What the hub took: to go, the options priced and by name, the
    // team's points down by the total.
    let order = kiosk.order(number).await?;
    ensure!(order["fulfilment"] == "TAKE_OUT", "{order}");
    ensure!(order["payType"] == "CELL", "{order}");
    ensure!(order["totalAmount"] == 9000, "{order}");
    let items = order["items"].as_array().context("the order's items")?;
    let americano = items
        .iter()
        .find(|l| l["menuId"] == "americano")
        .with_context(|| format!("no Americano in {order}"))?;
    ensure!(americano["unitPrice"] == 5500, "{americano}");
    ensure!(americano["quantity"] == 1, "{americano}");
    let option = |group: &str, choice: &str, delta: i64| json!({"group": group, "choice": choice, "priceDelta": delta});
    ensure!(
        americano["options"]
            == json!([
                option("Temperature", "ICE", 0),
                option("Size", "Large", 500),
                option("Extra shot", "Extra shot", 500),
                option("Extra shot", "Extra shot", 500),
            ]),
        "the Americano's options at the hub: {}",
        americano["options"]
    );
    let croissant = items
        .iter()
        .find(|l| l["menuId"] == "croissant")
        .with_context(|| format!("no croissant in {order}"))?;
    ensure!(croissant["unitPrice"] == 3500, "{croissant}");
    let after = kiosk.balance(TEAM).await?;
    ensure!(
        after == balance - 9000,
        "the team had {balance} and has {after} after an order of 9,000"
    );

    // Done: the next customer starts in the kiosk's own language.
    click(client, "[data-testid=done]").await?;
    wait_for(client, "[data-testid=start-order]").await?;
    wait_for(client, "html[lang=en]").await?;
    Ok(())
}

/// Types `pin` on the pad and enters it.
async fn enter_pin(client: &Client, pin: &str) -> Result<()> {
    for digit in pin.chars() {
        click(client, &format!("[data-testid=pin-{digit}]")).await?;
    }
    click(client, "[data-testid=pin-enter]").await
}

/// With the hub stopped and offline ordering off, the welcome screen says
/// ordering is paused and offers no order, and says so no more once the
/// hub is back.
#[tokio::test(flavor = "multi_thread")]
async fn with_the_hub_stopped_and_offline_ordering_off_the_kiosk_says_ordering_is_paused_before_a_cart_is_filled(
) -> Result<()> {
    let mut kiosk = Kiosk::open(&[]).await?;
    let result = async {
        let client = &kiosk.client;
        kiosk.has_setting("offline_ordering", "false").await?;
        ensure!(enabled(client, "[data-testid=start-order]").await?);
        ensure!(!css_present(client, "[data-testid=ordering-paused]").await?);

        kiosk.hub.stop();
        wait_for(client, "[data-testid=ordering-paused]").await?;
        until("Tap to order to be disabled", || async {
            Ok(!enabled(client, "[data-testid=start-order]").await?)
        })
        .await?;
        ensure!(
            !css_present(client, "[data-testid=link-status][data-state=live]").await?,
            "the kiosk says ordering is paused while live"
        );
        screenshot(client, "kiosk-paused").await?;
        // A tap anywhere on the welcome screen starts no order either.
        wait_for(client, ".welcome h1").await?.click().await?;
        ensure!(
            !css_present(client, "[data-testid^=item-]").await?,
            "a tap on the paused welcome screen opened the menu"
        );

        Kiosk::restart(&mut kiosk.hub, &kiosk.hub_data, kiosk.port).await?;
        kiosk.live_again().await?;
        gone(client, "[data-testid=ordering-paused]").await?;
        ensure!(enabled(client, "[data-testid=start-order]").await?);
        anyhow::Ok(())
    }
    .await;
    kiosk.close().await;
    result
}

/// With offline ordering on, an order placed while the hub is stopped gets
/// a reference and frees the kiosk at Done; its number shows on the welcome
/// screen once the hub has it, and the order keeps the time it was placed.
#[tokio::test(flavor = "multi_thread")]
async fn with_offline_ordering_on_a_queued_order_frees_the_kiosk_and_its_number_arrives_later(
) -> Result<()> {
    let mut kiosk = Kiosk::open(&[]).await?;
    let result = async {
        let client = &kiosk.client;
        kiosk.manager.set("offline_ordering", "true").await?;
        kiosk.has_setting("offline_ordering", "true").await?;

        kiosk.hub.stop();
        wait_for(client, "[data-testid=ordering-offline]").await?;
        ensure!(!css_present(client, "[data-testid=ordering-paused]").await?);
        click(client, "[data-testid=start-order]").await?;
        click(client, "[data-testid=category-Bakery]").await?;
        click(client, "[data-testid=item-croissant]").await?;
        until("the cart total to be 3,500", || async {
            Ok(text_of(client, "[data-testid=cart-total]")
                .await?
                .contains("3,500"))
        })
        .await?;
        click(client, "[data-testid=to-pay]").await?;
        click(client, "[data-testid=serve-DINE_IN]").await?;
        ensure!(
            !enabled(client, "[data-testid=pay-CELL]").await?,
            "team points are offered while the hub is out of reach"
        );
        click(client, "[data-testid=pay-CASH]").await?;
        wait_for(client, "[data-testid=cash-note]").await?;
        click(client, "[data-testid=place-order]").await?;

        let reference = text_of(client, "[data-testid=reference]").await?;
        let reference = reference.trim().to_owned();
        ensure!(
            !reference.is_empty()
                && reference.len() <= 12
                && reference
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-'),
            "the reference {reference:?}"
        );
        wait_for(client, "[data-testid=order-status][data-status=QUEUED]").await?;
        screenshot(client, "kiosk-queued").await?;

        // Done frees the kiosk for the next customer, hub or no hub.
        click(client, "[data-testid=done]").await?;
        let waiting = format!("[data-testid=\"queued-{reference}\"]");
        ensure!(
            wait_for(client, &waiting)
                .await?
                .attr("data-num")
                .await?
                .as_deref()
                == Some(""),
            "a queued order shows a number before the hub has it"
        );
        ensure!(enabled(client, "[data-testid=start-order]").await?);
        screenshot(client, "kiosk-queued-waiting").await?;

        let restarted = Utc::now();
        Kiosk::restart(&mut kiosk.hub, &kiosk.hub_data, kiosk.port).await?;
        kiosk.live_again().await?;
        let numbered = format!("{waiting}:not([data-num=\"\"])");
        until(&format!("{waiting} to get its number"), || {
            css_present(client, &numbered)
        })
        .await?;
        let num = wait_for(client, &waiting)
            .await?
            .attr("data-num")
            .await?
            .unwrap_or_default();
        let num: u64 = num.parse().with_context(|| format!("data-num {num:?}"))?;
        screenshot(client, "kiosk-queued-number").await?;

        let order = kiosk.order(num).await?;
        ensure!(order["reference"] == json!(reference), "{order}");
        ensure!(order["payType"] == "CASH", "{order}");
        let time = |field: &str| -> Result<DateTime<Utc>> {
            let text = order[field]
                .as_str()
                .with_context(|| format!("{field} in {order}"))?;
            Ok(DateTime::parse_from_rfc3339(text)
                .with_context(|| format!("{field} {text:?}"))?
                .with_timezone(&Utc))
        };
        let (placed, created) = (time("placedAt")?, time("createdAt")?);
        ensure!(
            placed < restarted,
            "placedAt {placed} is not before the hub's restart at {restarted}"
        );
        ensure!(
            placed < created,
            "placedAt {placed} is not before the hub took the order at {created}"
        );
        anyhow::Ok(())
    }
    .await;
    kiosk.close().await;
    result
}

/// An idle kiosk asks "Still there?", and a tap keeps the customer's
/// order; left alone, it starts afresh: empty cart, the kiosk's own
/// language (German, the computer's), the first category.
#[tokio::test(flavor = "multi_thread")]
async fn an_idle_kiosk_resets_cart_language_and_category() -> Result<()> {
    let kiosk = Kiosk::open(&[("LANG", OsString::from("de_DE.UTF-8"))]).await?;
    let result = async {
        let client = &kiosk.client;
        wait_for(client, "html[lang=de]").await?;
        // The shortest idle time the hub takes.
        kiosk.manager.set("kiosk_idle_seconds", "15").await?;
        kiosk.has_setting("kiosk_idle_seconds", "15").await?;
        let idle = Duration::from_secs(15);
        // "Still there?" counts down this long (ui/src/kiosk/StillThere.tsx).
        let countdown = Duration::from_secs(15);

        click(client, "[data-testid=lang-ko]").await?;
        wait_for(client, "html[lang=ko]").await?;
        click(client, "[data-testid=start-order]").await?;
        click(client, "[data-testid=category-Bakery]").await?;
        // Each touch starts the idle time again, the last one here.
        let touched = Instant::now();
        click(client, "[data-testid=item-croissant]").await?;
        wait_for(client, "[data-testid=line-croissant]").await?;

        // Not before the idle time; then the question, and a tap stays.
        until_within("Still there?", idle + DEADLINE, || {
            css_present(client, "[data-testid=still-there]")
        })
        .await?;
        ensure!(
            touched.elapsed() >= idle,
            "Still there? came after {:?}, before the idle time",
            touched.elapsed()
        );
        screenshot(client, "kiosk-still-there").await?;
        let touched = Instant::now();
        click(client, "[data-testid=still-here]").await?;
        gone(client, "[data-testid=still-there]").await?;
        wait_for(client, "[data-testid=line-croissant]").await?;
        wait_for(client, "[data-testid=category-Bakery][aria-pressed=true]").await?;

        // Left alone: the question again, then the welcome screen.
        until_within("Still there? again", idle + DEADLINE, || {
            css_present(client, "[data-testid=still-there]")
        })
        .await?;
        until_within("the welcome screen", countdown + DEADLINE, || {
            css_present(client, "[data-testid=start-order]")
        })
        .await?;
        ensure!(
            touched.elapsed() >= idle + countdown,
            "the kiosk started afresh after {:?}",
            touched.elapsed()
        );
        ensure!(!css_present(client, "[data-testid=still-there]").await?);
        wait_for(client, "html[lang=de]").await?;
        wait_for(client, "[data-testid=lang-de][aria-pressed=true]").await?;

        click(client, "[data-testid=start-order]").await?;
        let first = wait_for(client, "[data-testid=categories] button")
            .await?
            .attr("data-testid")
            .await?;
        ensure!(
            first.as_deref() == Some("category-Coffee"),
            "the first category is {first:?}"
        );
        wait_for(client, "[data-testid=category-Coffee][aria-pressed=true]").await?;
        wait_for(client, "[data-testid=item-americano]").await?;
        ensure!(
            !css_present(client, "[data-testid^=line-]").await?,
            "the cart kept a line"
        );
        let total = text_of(client, "[data-testid=cart-total]").await?;
        ensure!(
            total.chars().filter(char::is_ascii_digit).all(|d| d == '0'),
            "the cart's total is {total:?} after the reset"
        );
        anyhow::Ok(())
    }
    .await;
    kiosk.close().await;
    result
}
