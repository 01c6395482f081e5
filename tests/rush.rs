//! The barista board at a rush (issue 16), through the real app window:
//! barista boards joined to a hub process of their own (two of them for a
//! bar and a kitchen, each its own app and device), orders placed by a
//! kiosk over REST, the board worked with the bump bar's keys alone
//! (WebDriver key actions: digits, arrows, Enter, R, PageUp and PageDown),
//! and what the hub has checked by a manager. Run under a display and a
//! private D-Bus, as `./dev.sh test` does: `dbus-run-session -- xvfb-run -a
//! -s "-screen 0 1280x800x24" cargo test -p countertop-e2e --test rush`.
//!
//! Every wait polls for a condition with a deadline; screenshots of the
//! grid at a rush, the expo view, a recall and each station land in
//! `docs/screenshots/`.

use std::collections::BTreeSet;

use anyhow::{ensure, Context, Result};
use chrono::Utc;
use countertop_e2e::*;
use fantoccini::key::Key;
use fantoccini::Client;
use serde_json::Value;

/// The board's ticket of order `num`.
fn card(num: u64) -> String {
    format!("[data-testid=board] [data-testid=order-{num}]")
}

/// Line `index` (into the order's items) of order `num` on the board.
fn line(num: u64, index: usize) -> String {
    format!("{} [data-testid=line-{num}-{index}]", card(num))
}

/// Opens a counter with `boards` barista boards, runs `flow` with them,
/// and closes every board whatever the flow answered.
async fn with_boards(
    boards: usize,
    flow: impl AsyncFnOnce(&Counter, &[Board]) -> Result<()>,
) -> Result<()> {
    let mut counter = Counter::open().await?;
    let mut opened = Vec::new();
    let mut result = Ok(());
    for _ in 0..boards {
        match counter.board().await {
            Ok(board) => opened.push(board),
            Err(e) => {
                result = Err(e);
                break;
            }
        }
    }
    if result.is_ok() {
        result = flow(&counter, &opened).await;
    }
    for board in opened {
        board.close().await;
    }
    result
}

/// The text of the element `css`, once it is there.
async fn text(client: &Client, css: &str) -> Result<String> {
    text_of(client, css).await
}

/// Whether the element `css` says `data-done="true"`.
async fn is_done(client: &Client, css: &str) -> Result<bool> {
    Ok(wait_for(client, css)
        .await?
        .attr("data-done")
        .await?
        .as_deref()
        == Some("true"))
}

/// Whether line `index` of `order` at the hub is marked done.
fn done_at_hub(order: &Value, index: usize) -> bool {
    order["items"][index]["done"] == true
}

#[tokio::test(flavor = "multi_thread")]
async fn bar_and_kitchen_each_see_their_own_items_and_bump_by_keys() -> Result<()> {
    with_boards(2, async |counter, boards| {
        stations_flow(counter, &boards[0].client, &boards[1].client).await
    })
    .await
}

async fn stations_flow(counter: &Counter, bar: &Client, kitchen: &Client) -> Result<()> {
    // Each display chooses its station with the chips.
    choose_station(bar, "bar").await?;
    choose_station(kitchen, "kitchen").await?;
    for (client, name) in [(bar, "bar"), (kitchen, "kitchen")] {
        let all = wait_for(client, "[data-testid=station-all]")
            .await?
            .attr("aria-pressed")
            .await?;
        ensure!(
            all.as_deref() != Some("true"),
            "the {name} display still shows all stations (station-all aria-pressed {all:?})"
        );
    }

    // A latte (HOT) and a croissant, in one order.
    let order = counter
        .order(
            "rush-stations-1",
            vec![demo_line("latte", 1), demo_line("croissant", 1)],
            None,
        )
        .await?;
    let num = daily_num(&order)?;
    ensure!(
        order["items"][0]["menuId"] == "latte" && order["items"][1]["menuId"] == "croissant",
        "the hub keeps the lines in order: {order}"
    );

    // The bar sees the latte only, with its temperature.
    wait_for(bar, &line(num, 0)).await?;
    ensure!(
        !css_present(bar, &line(num, 1)).await?,
        "the bar display shows the croissant of #{num}"
    );
    let drink = text(bar, &line(num, 0)).await?;
    ensure!(drink.contains("Latte"), "the bar's line reads {drink:?}");
    let ticket = text(bar, &card(num)).await?;
    ensure!(
        ticket.to_uppercase().contains("HOT"),
        "the bar's ticket does not show the temperature: {ticket:?}"
    );
    ensure!(
        !ticket.contains("Croissant"),
        "the bar's ticket names the croissant: {ticket:?}"
    );
    // The kitchen sees the croissant only.
    wait_for(kitchen, &line(num, 1)).await?;
    ensure!(
        !css_present(kitchen, &line(num, 0)).await?,
        "the kitchen display shows the latte of #{num}"
    );
    let food = text(kitchen, &line(num, 1)).await?;
    ensure!(
        food.contains("Croissant"),
        "the kitchen's line reads {food:?}"
    );
    let ticket = text(kitchen, &card(num)).await?;
    ensure!(
        !ticket.contains("Latte"),
        "the kitchen's ticket names the latte: {ticket:?}"
    );

    // The bar: 1 selects the ticket, Enter marks its line done. The order
    // is started, not ready: the croissant is still to make.
    let chosen = select_position(bar, 1).await?;
    ensure!(chosen.num == num, "1 selects {chosen:?} on the bar display");
    screenshot(bar, "board-bar").await?;
    press(bar, Key::Enter).await?;
    let marked = until("the bar's mark to reach the hub", || async {
        Ok(done_at_hub(&counter.at_hub(&order).await?, 0))
    })
    .await;
    let last = counter.at_hub(&order).await?;
    marked.with_context(|| format!("the hub has {last}"))?;
    ensure!(
        last["status"] != "READY" && !done_at_hub(&last, 1),
        "the order is ready with the croissant still to make: {last}"
    );
    ensure!(
        last["status"] == "MAKING",
        "the first mark did not start the order: {last}"
    );

    // The kitchen: 1, Enter. Every line is done: the order is READY.
    let chosen = select_position(kitchen, 1).await?;
    ensure!(
        chosen.num == num,
        "1 selects {chosen:?} on the kitchen display"
    );
    screenshot(kitchen, "board-kitchen").await?;
    press(kitchen, Key::Enter).await?;
    let ready = counter.until_status(&order, "READY").await?;
    ensure!(
        done_at_hub(&ready, 0) && done_at_hub(&ready, 1),
        "READY with a line not done: {ready}"
    );

    // The expo view (all stations) shows it READY with both lines done.
    choose_station(bar, "all").await?;
    wait_for(bar, &format!("{}[data-status=READY]", card(num))).await?;
    for index in [0, 1] {
        let css = line(num, index);
        until(&format!("line {index} of #{num} to show done"), || {
            is_done(bar, &css)
        })
        .await?;
    }
    Ok(())
}

/// Placed this many minutes before the test: its ticket's clock shows it.
const WAITED_MINUTES: i64 = 7;

/// The clocks (`m:ss`) a ticket shows, in minutes, read from its leaves.
async fn clocks_on(client: &Client, num: u64) -> Result<Vec<u64>> {
    let found = client
        .execute(
            r#"const t = document.querySelector(arguments[0]);
               if (!t) return [];
               return Array.from(t.querySelectorAll("*"))
                 .filter((e) => e.children.length === 0)
                 .map((e) => e.textContent.trim())
                 .filter((s) => /^\d{1,2}:\d\d$/.test(s));"#,
            vec![Value::from(card(num))],
        )
        .await?;
    Ok(found
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c.as_str()?.split(':').next()?.parse().ok())
        .collect())
}

/// Selects the ticket of order `num` by the digit of its position.
async fn select_order(client: &Client, num: u64) -> Result<Ticket> {
    until(&format!("#{num} to be on the board"), || async {
        Ok(ticket(client, num).await?.is_some())
    })
    .await?;
    let position = ticket(client, num).await?.context("a ticket")?.position;
    let chosen = select_position(client, position).await?;
    ensure!(
        chosen.num == num,
        "the digit of position {position} selects {chosen:?}, not #{num}"
    );
    Ok(chosen)
}

/// Enter on the selected order `order`, once it is selected; waits until
/// the hub has it in `status`.
async fn bump(counter: &Counter, client: &Client, order: &Value, status: &str) -> Result<Value> {
    select_order(client, daily_num(order)?).await?;
    press(client, Key::Enter).await?;
    counter.until_status(order, status).await
}

#[tokio::test(flavor = "multi_thread")]
async fn the_barista_recalls_a_picked_up_order_and_completes_it_again() -> Result<()> {
    with_boards(1, async |counter, boards| {
        recall_flow(counter, &boards[0].client).await
    })
    .await
}

async fn recall_flow(counter: &Counter, client: &Client) -> Result<()> {
    // No station chosen: the expo view, in the grid.
    let all = wait_for(client, "[data-testid=station-all]")
        .await?
        .attr("aria-pressed")
        .await?;
    ensure!(
        all.as_deref() == Some("true"),
        "a new board is not the expo view (station-all aria-pressed {all:?})"
    );
    let placed_at = Utc::now() - chrono::Duration::minutes(WAITED_MINUTES);
    let order = counter
        .order(
            "rush-recall-1",
            vec![demo_line("americano", 1)],
            Some(placed_at),
        )
        .await?;
    let other = counter
        .order(
            "rush-recall-2",
            vec![demo_line("latte", 2), demo_line("croissant", 1)],
            None,
        )
        .await?;
    let num = daily_num(&order)?;
    wait_for(client, &card(num)).await?;
    wait_for(client, &card(daily_num(&other)?)).await?;
    let state = board_state(client).await?;
    ensure!(state.view == "grid", "the board opens in {state:?}");
    screenshot(client, "board-expo").await?;
    let placed = counter.at_hub(&order).await?["placedAt"].clone();
    ensure!(placed.is_string(), "the order has no placedAt: {order}");

    // Enter moves the whole order on, step by step, to picked up.
    bump(counter, client, &order, "MAKING").await?;
    bump(counter, client, &order, "READY").await?;
    bump(counter, client, &order, "COMPLETED").await?;
    until(&format!("#{num} to leave the board"), || async {
        Ok(ticket(client, num).await?.is_none())
    })
    .await?;
    // The undo toast offers the recall, pictured with its countdown held.
    wait_for(client, "[data-testid=undo-toast] [data-testid=undo]").await?;
    hold_animations(client, true).await?;
    screenshot(client, "board-recall").await?;
    hold_animations(client, false).await?;
    ensure!(
        css_present(client, "[data-testid=undo-toast]").await?,
        "the undo toast went before its screenshot settled"
    );

    // R takes the pick-up back: READY again, with its first timer.
    press(client, 'r').await?;
    let recalled = counter.until_status(&order, "READY").await?;
    ensure!(
        recalled["placedAt"] == placed,
        "the recall changed placedAt from {placed} to {}",
        recalled["placedAt"]
    );
    wait_for(client, &format!("{}[data-status=READY]", card(num))).await?;
    let clocks = clocks_on(client, num).await?;
    ensure!(
        clocks.iter().any(|&m| m >= WAITED_MINUTES as u64 && m < 30),
        "the recalled ticket's clock does not run from its placement \
         {WAITED_MINUTES} minutes ago: it shows {clocks:?} (minutes)"
    );
    // Enter: picked up again.
    bump(counter, client, &order, "COMPLETED").await?;

    // The recall strip reopens it too.
    let entry = format!("[data-testid=recall-{num}]");
    wait_for(client, &entry).await?;
    click(client, &format!("[data-testid=recall-do-{num}]")).await?;
    counter.until_status(&order, "READY").await?;
    wait_for(client, &format!("{}[data-status=READY]", card(num))).await?;
    bump(counter, client, &order, "COMPLETED").await?;
    // The other order was never touched.
    let untouched = counter.at_hub(&other).await?;
    ensure!(
        untouched["status"] == "PENDING",
        "bumping #{num} moved the other order: {untouched}"
    );
    Ok(())
}

/// Orders at a rush.
const RUSH: u64 = 40;

#[tokio::test(flavor = "multi_thread")]
async fn forty_open_orders_are_all_reachable_by_keys_and_pages() -> Result<()> {
    with_boards(1, async |counter, boards| {
        rush_flow(counter, &boards[0].client).await
    })
    .await
}

async fn rush_flow(counter: &Counter, client: &Client) -> Result<()> {
    // The whole Xvfb screen, as a board at the counter fills its screen.
    client.set_window_rect(0, 0, 1280, 800).await?;
    let drinks = [
        "americano",
        "latte",
        "cappuccino",
        "flat-white",
        "green-tea",
    ];
    let mut numbers = BTreeSet::new();
    for i in 0..RUSH {
        let mut lines = vec![demo_line(
            drinks[i as usize % drinks.len()],
            1 + i as u32 % 2,
        )];
        if i % 3 == 0 {
            lines.push(demo_line("espresso", 1));
        }
        let order = counter.order(&format!("rush-{i}"), lines, None).await?;
        numbers.insert(daily_num(&order)?);
    }
    ensure!(numbers.len() as u64 == RUSH, "{RUSH} orders: {numbers:?}");

    // Page 1 of the grid: what it shows and "+N more" add up to all 40.
    let counted = until("page 1 and +N more to account for every order", || async {
        let (state, shown, more) = page_count(client).await?;
        Ok(state.page == 1 && state.pages > 1 && more.is_some_and(|n| n + shown == RUSH))
    })
    .await;
    let (state, shown, more) = page_count(client).await?;
    counted
        .with_context(|| format!("{state:?} shows {shown} tickets and +N more reads {more:?}"))?;
    ensure!(state.view == "grid", "the board is in {state:?}");
    ensure!(state.pages > 1, "{RUSH} orders on one page: {state:?}");
    let indicator = text_of(client, "[data-testid=page-indicator]").await?;
    ensure!(
        indicator.contains('1') && indicator.contains(&state.pages.to_string()),
        "the page indicator reads {indicator:?} on page 1 of {}",
        state.pages
    );
    screenshot(client, "board-rush").await?;

    // The arrows move the selection.
    select_position(client, 1).await?;
    press(client, Key::Right).await?;
    until_selected(client, "position 2 after →", |t| t.position == 2).await?;
    press(client, Key::Left).await?;
    until_selected(client, "position 1 after ←", |t| t.position == 1).await?;

    // Every page, every position, by keys alone.
    let mut seen = BTreeSet::new();
    let mut first_page = Vec::new();
    for page in 1..=state.pages {
        until(&format!("page {page}"), || async {
            Ok(board_state(client).await?.page == page)
        })
        .await?;
        let on_page = tickets(client).await?;
        ensure!(!on_page.is_empty(), "page {page} shows no ticket");
        let mut positions: Vec<u64> = on_page.iter().map(|t| t.position).collect();
        positions.sort();
        let expected: Vec<u64> = (1..=on_page.len() as u64).collect();
        ensure!(
            positions == expected,
            "page {page}'s positions are {positions:?}"
        );
        for position in 1..=on_page.len() as u64 {
            let chosen = if position <= 10 {
                select_position(client, position).await?
            } else {
                press(client, Key::Right).await?;
                until_selected(client, &format!("position {position} after →"), |t| {
                    t.position == position
                })
                .await?
            };
            seen.insert(chosen.num);
            if page == 1 {
                first_page.push(chosen.num);
            }
        }
        if page < state.pages {
            press(client, Key::PageDown).await?;
        }
    }
    let missed: Vec<u64> = numbers.difference(&seen).copied().collect();
    ensure!(
        missed.is_empty(),
        "never selected by keys: {missed:?} (seen {seen:?})"
    );

    // PageUp turns back to page 1, which shows the same tickets.
    for page in (1..state.pages).rev() {
        press(client, Key::PageUp).await?;
        until(&format!("PageUp to page {page}"), || async {
            Ok(board_state(client).await?.page == page)
        })
        .await?;
    }
    let mut back: Vec<u64> = tickets(client).await?.iter().map(|t| t.num).collect();
    back.sort();
    first_page.sort();
    ensure!(
        back == first_page,
        "page 1 showed {first_page:?}, and {back:?} after PageUp"
    );
    // Nothing was bumped by walking.
    let open = counter.manager.get("/orders?status=PENDING").await?;
    let open = open.as_array().map_or(0, Vec::len) as u64;
    ensure!(open == RUSH, "{open} of {RUSH} orders still PENDING");
    Ok(())
}

/// The board's page, how many tickets it shows, and the number "+N more"
/// reads (`None` without one).
async fn page_count(client: &Client) -> Result<(BoardState, u64, Option<u64>)> {
    let state = board_state(client).await?;
    let shown = tickets(client).await?.len() as u64;
    let more = if css_present(client, "[data-testid=more]").await? {
        first_number(&text_of(client, "[data-testid=more]").await?)
    } else {
        None
    };
    Ok((state, shown, more))
}
