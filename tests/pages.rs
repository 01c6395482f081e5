//! The hub's own pages, `/status` and `/board`, in headless Chromium as a
//! customer's phone and the screen above the counter open them, against a
//! real hub process that is killed and started again on the same port and
//! data folder. They are read through the DOM contract the pages keep:
//! `#status[data-status]`, `#followed`, `#live[data-state]`, `select#lang`,
//! `#preparing li[data-num]` and `#ready li[data-num]`.

use anyhow::{ensure, Result};
use countertop_e2e::*;
use serde_json::{json, Value};

const PHONE: (u32, u32) = (390, 844);
const TV: (u32, u32) = (1920, 1080);

/// Waits until `#status` says `status`.
async fn shows(page: &Page<'_>, status: &str) -> Result<()> {
    page.wait_js(
        &format!("the status {status}"),
        &format!("document.querySelector('#status')?.getAttribute('data-status') === '{status}'"),
    )
    .await?;
    Ok(())
}

/// Waits until `#live` says `state` (`live` or `reconnecting`).
async fn live(page: &Page<'_>, state: &str) -> Result<()> {
    page.wait_js(
        &format!("the indicator {state}"),
        &format!("document.querySelector('#live')?.getAttribute('data-state') === '{state}'"),
    )
    .await?;
    Ok(())
}

/// The daily numbers `#preparing` and `#ready` list, as the page has them.
const BOARD: &str = "const nums = (list) => [...document.querySelectorAll(`${list} li`)]
                       .map((li) => Number(li.getAttribute('data-num')));
                     return { preparing: nums('#preparing'), ready: nums('#ready') };";

/// Waits until the board lists exactly `preparing` and `ready` (any order).
async fn board_shows(page: &Page<'_>, preparing: &[u64], ready: &[u64]) -> Result<()> {
    let sorted = |mut v: Vec<u64>| {
        v.sort_unstable();
        v
    };
    let want = json!({"preparing": sorted(preparing.to_vec()), "ready": sorted(ready.to_vec())});
    let js = format!("(() => {{ {BOARD} }})()");
    let start = std::time::Instant::now();
    loop {
        let seen = page.eval(&format!("return {js};")).await?;
        let got = |key: &str| -> Vec<u64> {
            sorted(
                seen[key]
                    .as_array()
                    .map(|a| a.iter().filter_map(Value::as_u64).collect())
                    .unwrap_or_default(),
            )
        };
        let now = json!({"preparing": got("preparing"), "ready": got("ready")});
        if now == want {
            return Ok(());
        }
        ensure!(
            start.elapsed() < DEADLINE,
            "the board shows {now}, not {want}; page errors: {:?}",
            page.errors().await.unwrap_or_default()
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// Two more animation frames, so a screenshot shows what the DOM has.
async fn settle(page: &Page<'_>) -> Result<()> {
    page.eval(
        "await document.fonts.ready;
         await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));",
    )
    .await?;
    Ok(())
}

#[tokio::test]
async fn status_page_follows_a_typed_number_to_ready_without_a_reload() -> Result<()> {
    let browser = Browser::start().await?;
    let cafe = Cafe::open(&[]).await?;
    let a = cafe.order("a").await?;
    let n = daily_num(&a)?;
    let page = browser
        .open("phone", &format!("{}/status", cafe.url()), PHONE.0, PHONE.1)
        .await?;
    shows(&page, "none").await?;
    // A reload would lose this.
    page.eval("window.__sameDocument = true;").await?;

    page.type_into("#number", &n.to_string()).await?;
    page.click("#follow").await?;
    shows(&page, "PENDING").await?;
    live(&page, "live").await?;
    let followed = page
        .eval("return document.querySelector('#followed')?.textContent ?? '';")
        .await?;
    ensure!(
        followed
            .as_str()
            .is_some_and(|t| t.contains(&n.to_string())),
        "#followed shows {followed}"
    );
    for status in ["MAKING", "READY"] {
        cafe.move_to(&a, status).await?;
        shows(&page, status).await?;
    }
    ensure!(
        page.eval("return window.__sameDocument === true;").await? == json!(true),
        "the page reloaded"
    );

    // A number that is no order of today.
    page.eval("document.querySelector('#number').value = '';")
        .await?;
    page.type_into("#number", &(n + 50).to_string()).await?;
    page.click("#follow").await?;
    shows(&page, "not_found").await?;

    // A QR code's link follows at once.
    let qr = browser
        .open(
            "qr",
            &format!("{}/status?n={n}", cafe.url()),
            PHONE.0,
            PHONE.1,
        )
        .await?;
    shows(&qr, "READY").await?;
    Ok(())
}

#[tokio::test]
async fn status_page_keeps_the_right_status_across_hub_restarts() -> Result<()> {
    let browser = Browser::start().await?;
    let mut cafe = Cafe::open(&[]).await?;
    let a = cafe.order("a").await?;
    let n = daily_num(&a)?;
    let page = browser
        .open(
            "phone",
            &format!("{}/status?n={n}", cafe.url()),
            PHONE.0,
            PHONE.1,
        )
        .await?;
    shows(&page, "PENDING").await?;
    live(&page, "live").await?;

    // Killed and started again: the page reconnects and hears what follows.
    cafe.kill();
    live(&page, "reconnecting").await?;
    cafe.start().await?;
    live(&page, "live").await?;
    cafe.move_to(&a, "MAKING").await?;
    shows(&page, "MAKING").await?;

    // A move the page cannot hear: its network is away while the hub is
    // killed, started again and the order moves on.
    page.offline(true).await?;
    cafe.kill();
    live(&page, "reconnecting").await?;
    cafe.start().await?;
    cafe.move_to(&a, "READY").await?;
    page.offline(false).await?;
    live(&page, "live").await?;
    shows(&page, "READY").await?;

    // Moved, then killed at once: after the restart the page shows the
    // move, whether it heard it before the kill or not.
    cafe.move_to(&a, "COMPLETED").await?;
    cafe.kill();
    cafe.start().await?;
    live(&page, "live").await?;
    shows(&page, "COMPLETED").await?;
    Ok(())
}

#[tokio::test]
async fn board_moves_numbers_from_preparing_to_ready() -> Result<()> {
    let browser = Browser::start().await?;
    let cafe = Cafe::open(&[]).await?;
    let mut orders = Vec::new();
    for key in ["a", "b", "c", "d"] {
        orders.push(cafe.order(key).await?);
    }
    let [a, b, c, d] = &orders[..] else {
        unreachable!()
    };
    let num = |o: &Value| daily_num(o).unwrap_or_default();
    cafe.move_to(a, "MAKING").await?;
    let page = browser
        .open("tv", &format!("{}/board", cafe.url()), TV.0, TV.1)
        .await?;
    board_shows(&page, &[num(a), num(b), num(c), num(d)], &[]).await?;
    live(&page, "live").await?;

    cafe.move_to(b, "MAKING").await?;
    cafe.move_to(b, "READY").await?;
    board_shows(&page, &[num(a), num(c), num(d)], &[num(b)]).await?;
    cafe.move_to(c, "MAKING").await?;
    cafe.move_to(c, "READY").await?;
    board_shows(&page, &[num(a), num(d)], &[num(b), num(c)]).await?;
    cafe.move_to(c, "COMPLETED").await?;
    cafe.cancel(d, "customer left").await?;
    board_shows(&page, &[num(a)], &[num(b)]).await?;
    // A new order joins when it is made: the `board` topic tells of status
    // changes only (the page reads its list again every 30 s for new
    // PENDING ones).
    let e = cafe.order("e").await?;
    cafe.move_to(&e, "MAKING").await?;
    board_shows(&page, &[num(a), num(&e)], &[num(b)]).await?;
    Ok(())
}

#[tokio::test]
async fn status_page_speaks_the_browsers_language_and_keeps_a_choice() -> Result<()> {
    let browser = Browser::start().await?;
    let cafe = Cafe::open(&[]).await?;
    let url = format!("{}/status", cafe.url());
    let lang = "document.documentElement.lang";
    let korean = json!({"Accept-Language": "ko-KR,ko;q=0.9,en;q=0.5"});
    let page = browser
        .open_with("ko", &url, PHONE.0, PHONE.1, korean.clone())
        .await?;
    page.wait_js(
        "Korean",
        &format!("{lang} === 'ko' && document.querySelector('#lang')?.value === 'ko'"),
    )
    .await?;
    let options = page
        .eval("return [...document.querySelectorAll('#lang option')].map((o) => o.value).sort();")
        .await?;
    ensure!(
        options == json!(["de", "en", "ko", "nl"]),
        "languages {options}"
    );
    page.eval(
        "const select = document.querySelector('#lang');
         select.value = 'de';
         select.dispatchEvent(new Event('change', { bubbles: true }));",
    )
    .await?;
    page.wait_js("German", &format!("{lang} === 'de'")).await?;
    // The choice outlives the tab, over the browser's language.
    let again = browser
        .open_with("again", &url, PHONE.0, PHONE.1, korean)
        .await?;
    again
        .wait_js(
            "German again",
            &format!("{lang} === 'de' && document.querySelector('#lang')?.value === 'de'"),
        )
        .await?;
    // Another browser (no choice kept) that asks for Dutch.
    let other = Browser::start().await?;
    let dutch = other
        .open_with(
            "nl",
            &url,
            PHONE.0,
            PHONE.1,
            json!({"Accept-Language": "nl-NL,nl;q=0.9"}),
        )
        .await?;
    dutch.wait_js("Dutch", &format!("{lang} === 'nl'")).await?;
    Ok(())
}

/// `docs/screenshots/board.png` and `status.png`, with orders in each state.
#[tokio::test]
async fn screenshots_of_the_status_page_and_the_board() -> Result<()> {
    let browser = Browser::start().await?;
    let cafe = Cafe::open(&[]).await?;
    let mut orders = Vec::new();
    for (i, status) in [
        "COMPLETED",
        "READY",
        "READY",
        "MAKING",
        "MAKING",
        "PENDING",
        "PENDING",
    ]
    .iter()
    .enumerate()
    {
        let order = cafe.order_of(&format!("shot-{i}"), "latte", 1).await?;
        let path: &[&str] = match *status {
            "COMPLETED" => &["MAKING", "READY", "COMPLETED"],
            "READY" => &["MAKING", "READY"],
            "MAKING" => &["MAKING"],
            _ => &[],
        };
        for step in path {
            cafe.move_to(&order, step).await?;
        }
        orders.push(daily_num(&order)?);
    }
    let board = browser
        .open("tv", &format!("{}/board", cafe.url()), TV.0, TV.1)
        .await?;
    board_shows(&board, &orders[3..], &orders[1..3]).await?;
    live(&board, "live").await?;
    settle(&board).await?;
    board.screenshot("board").await?;

    let making = orders[3];
    let phone = browser
        .open(
            "phone",
            &format!("{}/status?n={making}", cafe.url()),
            PHONE.0,
            PHONE.1,
        )
        .await?;
    shows(&phone, "MAKING").await?;
    live(&phone, "live").await?;
    settle(&phone).await?;
    phone.screenshot("status").await?;
    Ok(())
}
