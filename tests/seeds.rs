//! The seeds' own client code (`../shared/seeds/`, copied verbatim into
//! `tests/browser/seeds/`) run in headless Chromium against a real hub
//! process, from a page of an origin the hub is told to allow, each with
//! only its URL and token changed; the app functions it calls are recorders
//! the tests read back. `tests/browser/README.md` says exactly what each
//! test changes and adds. One test per seed scenario, so a failure names
//! the seed.

use anyhow::{ensure, Context, Result};
use countertop_e2e::*;
use serde_json::{json, Value};

/// The WebSocket frames a page received, parsed, oldest first.
fn frames(calls: &[Value]) -> Vec<&Value> {
    firsts(calls, "ws:message")
}

/// The orders as the newest `setOrders` call left them.
fn orders(calls: &[Value]) -> Vec<Value> {
    firsts(calls, "setOrders")
        .last()
        .and_then(|state| state.as_array().cloned())
        .unwrap_or_default()
}

/// The status of order `id` as the newest `setOrders` call left it.
fn status_of(calls: &[Value], id: &str) -> Option<String> {
    orders(calls)
        .iter()
        .find(|o| o["orderId"] == id)
        .and_then(|o| o["status"].as_str().map(str::to_owned))
}

fn order_id(order: &Value) -> Result<String> {
    Ok(order["orderId"].as_str().context("an orderId")?.to_owned())
}

/// The events the snippet's `default:` branch warned of as unknown.
fn warned_unknown(calls: &[Value]) -> Vec<String> {
    args_of(calls, "console.warn")
        .iter()
        .filter_map(|args| args.get(1).and_then(Value::as_str).map(str::to_owned))
        .collect()
}

/// A JavaScript string literal of `text`.
fn js(text: &str) -> String {
    Value::from(text).to_string()
}

// ---------------------------------------------------------------------------
// The copies

/// Each copy in `tests/browser/seeds/` names its seed file and section in
/// a header ending at the scissors line (`--8<--`); what follows is the
/// seed's text, verbatim. Where `../shared/seeds/` sits beside the
/// repository (a developer's machine, CI), each copy must still be in its
/// seed, and each seed must have a copy.
#[test]
fn the_seed_copies_are_the_seeds_own_text() -> Result<()> {
    let root = workspace();
    let copies = root.join("tests/browser/seeds");
    let seeds = root.join("../shared/seeds");
    let mut named = Vec::new();
    let mut entries: Vec<_> = std::fs::read_dir(&copies)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    ensure!(entries.len() >= 13, "the copies are missing: {entries:?}");
    for entry in entries {
        let path = entry.path();
        let text = std::fs::read_to_string(&path)?;
        let name = path.display();
        let scissors = text
            .find("--8<--")
            .with_context(|| format!("{name} has no scissors line"))?;
        let (header, rest) = text.split_at(scissors);
        let body = rest.split_once('\n').map(|(_, b)| b).unwrap_or_default();
        ensure!(body.trim().len() > 20, "{name} copies nothing");
        let seed = header
            .split("../shared/seeds/")
            .nth(1)
            .and_then(|s| s.split_once(".txt"))
            .map(|(file, _)| format!("{file}.txt"))
            .with_context(|| format!("{name}'s header names no seed file"))?;
        named.push(seed.clone());
        if seeds.is_dir() {
            let original = std::fs::read_to_string(seeds.join(&seed))
                .with_context(|| format!("{name} names {seed}"))?;
            ensure!(
                original.contains(body),
                "{name} is no longer the text of {seed}: copy the section again"
            );
        }
    }
    if seeds.is_dir() {
        for seed in std::fs::read_dir(&seeds)? {
            let file = seed?.file_name().to_string_lossy().into_owned();
            if file.ends_with(".txt") {
                ensure!(
                    named.contains(&file),
                    "no copy of {file} in {}",
                    copies.display()
                );
            }
        }
    } else {
        println!(
            "{} is not there: the copies were not compared",
            seeds.display()
        );
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Seed 004: the café kiosk's OrderContext

/// Serves the OrderContext ("완전한 WebSocket 구현 예시") at
/// `/src/OrderContext.js`, its URL the hub's with `token`.
async fn order_context(browser: &Browser, cafe: &Cafe, token: &str) -> Result<()> {
    let url = format!("'{}/ws?token={token}'", cafe.ws_url());
    browser
        .module(
            "/src/OrderContext.js",
            json!([{"seed": "004-order-context.ts", "replace": [["'ws://localhost:3001/ws'", url]]}]),
        )
        .await
}

/// Renders the OrderProvider once (effects run at once) and waits for the
/// hub's welcome.
async fn provide_orders(page: &Page<'_>, time_scale: u32) -> Result<()> {
    page.eval(&format!(
        "window.__timeScale = {time_scale};
         const {{ OrderProvider }} = await import('/src/OrderContext.js');
         OrderProvider({{ children: null }});"
    ))
    .await?;
    page.wait_calls("the hub's welcome", |c| {
        frames(c).iter().any(|f| f["event"] == "welcome")
    })
    .await?;
    Ok(())
}

#[tokio::test]
async fn seed_004_order_context_keeps_orders_and_sounds_once_per_order() -> Result<()> {
    let browser = Browser::start().await?;
    let cafe = Cafe::open(&[&browser.origin]).await?;
    order_context(&browser, &cafe, &cafe.barista.token).await?;
    let page = browser.open("barista", "/harness.html", 1280, 800).await?;
    provide_orders(&page, 1).await?;
    let calls = page.calls().await?;
    ensure!(
        logged(&calls, "log", "✅ WebSocket 연결됨"),
        "no open logged"
    );

    let a = cafe.order("a").await?;
    let a_id = order_id(&a)?;
    for status in ["PENDING", "MAKING", "READY"] {
        if status != "PENDING" {
            cafe.move_to(&a, status).await?;
        }
        page.wait_calls(&format!("order a {status} in setOrders"), |c| {
            status_of(c, &a_id).as_deref() == Some(status)
        })
        .await?;
    }
    // The kiosk's retry of the same order: the same order, no event.
    let again = cafe.order("a").await?;
    ensure!(again["orderId"] == a["orderId"], "a retry made {again}");
    let b = cafe.order("b").await?;
    let b_id = order_id(&b)?;
    cafe.barista
        .patch("/menu/croissant", &json!({"isSoldOut": true}))
        .await?;
    cafe.cancel(&b, "고객 요청").await?;
    let calls = page
        .wait_calls("order b CANCELLED in setOrders", |c| {
            status_of(c, &b_id).as_deref() == Some("CANCELLED")
        })
        .await?;

    ensure!(
        count(&calls, "playNotificationSound") == 2,
        "the sound played {} times for two orders",
        count(&calls, "playNotificationSound")
    );
    let state = orders(&calls);
    ensure!(state.len() == 2, "setOrders holds {state:?}");
    ensure!(
        state[0]["orderId"] == b_id.as_str(),
        "the newest order is not first: {state:?}"
    );
    let shown = &state[1];
    ensure!(shown["status"] == "READY", "{shown}");
    ensure!(shown["dailyNum"] == a["dailyNum"], "{shown}");
    ensure!(
        shown["payType"] == "CARD" && shown["totalAmount"] == 4000,
        "{shown}"
    );
    ensure!(shown["items"][0]["menuName"] == "Americano", "{shown}");
    ensure!(shown["createdAt"].is_string(), "{shown}");

    // Each event once, though a barista reads both `orders` and `board`.
    let of = |event: &str, id: &str| {
        frames(&calls)
            .iter()
            .filter(|f| f["event"] == event && f["data"]["orderId"] == id)
            .count()
    };
    ensure!(of("order:created", &a_id) == 1, "order:created of a");
    ensure!(
        of("order:status_changed", &a_id) == 2,
        "order:status_changed of a"
    );
    ensure!(of("order:cancelled", &b_id) == 1, "order:cancelled of b");
    ensure!(
        of("order:status_changed", &b_id) == 0,
        "b's cancel came twice"
    );
    ensure!(
        frames(&calls)
            .iter()
            .any(|f| f["event"] == "menu:sold_out_changed" && f["data"]["menuId"] == "croissant"),
        "no menu:sold_out_changed"
    );
    // Every event the snippet has a case for went to it.
    let unknown = warned_unknown(&calls);
    for handled in [
        "order:created",
        "order:status_changed",
        "menu:sold_out_changed",
        "order:cancelled",
    ] {
        ensure!(
            !unknown.iter().any(|u| u == handled),
            "{handled} warned as unknown"
        );
    }
    ensure!(
        count(&calls, "console.error") == 0,
        "errors: {:?}",
        args_of(&calls, "console.error")
    );
    Ok(())
}

/// Serves the connection example ("클라이언트 연결 예시") with the hub's URL
/// and `token`, its `handleWebSocketMessage` the seed's five case examples
/// ("구현 예시") in one switch, at `/src/cases.js`.
async fn cases(browser: &Browser, cafe: &Cafe, token: &str) -> Result<()> {
    let url = format!("'{}/ws?token={token}'", cafe.ws_url());
    browser
        .module(
            "/src/cases.js",
            json!([
                {"seed": "004-client-connection.ts", "replace": [["'ws://localhost:3001/ws'", url]]},
                {"text": "function handleWebSocketMessage(message) {\n  switch (message.event) {"},
                {"seed": "004-case-order-created.ts"},
                {"seed": "004-case-status-changed.ts"},
                {"seed": "004-case-sold-out-changed.ts"},
                {"seed": "004-case-cancelled.ts"},
                {"seed": "004-case-settings-changed.ts"},
                {"text": "  }\n}"},
            ]),
        )
        .await
}

#[tokio::test]
async fn seed_004_cases_on_a_kiosk_grey_sold_out_items_and_show_maintenance() -> Result<()> {
    let browser = Browser::start().await?;
    let cafe = Cafe::open(&[&browser.origin]).await?;
    cases(&browser, &cafe, &cafe.kiosk.token).await?;
    let menu = cafe.kiosk.get("/menu").await?;
    let page = browser.open("kiosk", "/harness.html", 1280, 800).await?;
    page.eval(&format!(
        "window.__menus = {menu}; await import('/src/cases.js');"
    ))
    .await?;
    page.wait_calls("the hub's welcome", |c| {
        frames(c).iter().any(|f| f["event"] == "welcome")
    })
    .await?;

    let croissant = |c: &[Value]| {
        firsts(c, "setMenus")
            .last()
            .and_then(|menus| menus.as_array())
            .and_then(|menus| menus.iter().find(|m| m["id"] == "croissant"))
            .map(|m| m["isSoldOut"].clone())
    };
    cafe.barista
        .patch("/menu/croissant", &json!({"isSoldOut": true}))
        .await?;
    page.wait_calls("the croissant sold out, with a toast", |c| {
        croissant(c) == Some(json!(true))
            && firsts(c, "showToast")
                .iter()
                .any(|t| t.as_str() == Some("Butter Croissant가 품절되었습니다"))
    })
    .await?;
    cafe.barista
        .patch("/menu/croissant", &json!({"isSoldOut": false}))
        .await?;
    let calls = page
        .wait_calls("the croissant back", |c| croissant(c) == Some(json!(false)))
        .await?;
    ensure!(
        count(&calls, "showToast") == 1,
        "a toast for an item back on sale"
    );

    cafe.manager.set("is_kiosk_active", "false").await?;
    page.wait_calls("the maintenance screen", |c| {
        count(c, "showMaintenanceScreen") == 1
    })
    .await?;
    cafe.manager.set("is_kiosk_active", "true").await?;
    let calls = page
        .wait_calls("is_kiosk_active true", |c| {
            frames(c).iter().any(|f| {
                f["event"] == "settings:changed"
                    && f["data"]["key"] == "is_kiosk_active"
                    && f["data"]["value"] == "true"
            })
        })
        .await?;
    ensure!(
        count(&calls, "showMaintenanceScreen") == 1,
        "maintenance shown again"
    );
    let change = frames(&calls)
        .into_iter()
        .find(|f| f["event"] == "settings:changed")
        .context("a settings:changed frame")?;
    ensure!(change["data"]["updatedBy"]["name"].is_string(), "{change}");
    ensure!(change["data"]["updatedAt"].is_string(), "{change}");
    Ok(())
}

#[tokio::test]
async fn seed_004_cases_on_a_barista_toast_new_and_cancelled_orders() -> Result<()> {
    let browser = Browser::start().await?;
    let cafe = Cafe::open(&[&browser.origin]).await?;
    cases(&browser, &cafe, &cafe.barista.token).await?;
    let page = browser.open("barista", "/harness.html", 1280, 800).await?;
    page.eval("await import('/src/cases.js');").await?;
    page.wait_calls("the hub's welcome", |c| {
        frames(c).iter().any(|f| f["event"] == "welcome")
    })
    .await?;

    let a = cafe.order("a").await?;
    let (a_id, a_num) = (order_id(&a)?, daily_num(&a)?);
    page.wait_calls("the new order's toast and sound", |c| {
        status_of(c, &a_id).as_deref() == Some("PENDING")
            && firsts(c, "showToast")
                .iter()
                .any(|t| t.as_str() == Some(format!("새 주문: #{a_num}").as_str()))
            && count(c, "playNotificationSound") == 1
    })
    .await?;
    for status in ["MAKING", "READY", "COMPLETED"] {
        cafe.move_to(&a, status).await?;
    }
    let calls = page
        .wait_calls("order a COMPLETED", |c| {
            status_of(c, &a_id).as_deref() == Some("COMPLETED")
        })
        .await?;
    let done = orders(&calls);
    ensure!(
        done[0]["completedAt"].is_string(),
        "no completedAt: {}",
        done[0]
    );

    let b = cafe.order("b").await?;
    let (b_id, b_num) = (order_id(&b)?, daily_num(&b)?);
    cafe.cancel(&b, "고객 요청").await?;
    let calls = page
        .wait_calls("order b cancelled, with a toast", |c| {
            status_of(c, &b_id).as_deref() == Some("CANCELLED")
                && firsts(c, "showToast")
                    .iter()
                    .any(|t| t.as_str() == Some(format!("주문 #{b_num}이 취소되었습니다").as_str()))
        })
        .await?;
    let cancelled = orders(&calls)
        .into_iter()
        .find(|o| o["orderId"] == b_id.as_str())
        .context("order b")?;
    ensure!(cancelled["cancelledAt"].is_string(), "{cancelled}");
    ensure!(
        count(&calls, "playNotificationSound") == 2,
        "one sound per order"
    );
    Ok(())
}

#[tokio::test]
async fn seed_004_order_context_reconnects_after_a_hub_restart() -> Result<()> {
    let browser = Browser::start().await?;
    let mut cafe = Cafe::open(&[&browser.origin]).await?;
    order_context(&browser, &cafe, &cafe.barista.token).await?;
    let page = browser.open("barista", "/harness.html", 1280, 800).await?;
    // The snippet's 5 s waits run ten times sooner.
    provide_orders(&page, 10).await?;

    cafe.kill();
    let calls = page
        .wait_calls("a reconnect that fails while the hub is down", |c| {
            logged(c, "log", "🔌 WebSocket 연결 종료")
                && logged(c, "log", "🔄 WebSocket 재연결 시도...")
                && count(c, "ws:close") >= 2
        })
        .await?;
    ensure!(
        firsts(&calls, "setTimeout").iter().all(|ms| **ms == 5000),
        "the snippet waits 5 s: {:?}",
        firsts(&calls, "setTimeout")
    );
    cafe.start().await?;
    page.wait_calls("a second welcome", |c| {
        frames(c).iter().filter(|f| f["event"] == "welcome").count() == 2
    })
    .await?;
    let a = cafe.order("after").await?;
    let a_id = order_id(&a)?;
    let calls = page
        .wait_calls("the order placed after the restart", |c| {
            status_of(c, &a_id).as_deref() == Some("PENDING")
        })
        .await?;
    ensure!(
        count(&calls, "ws:open") == 2,
        "opens: {}",
        count(&calls, "ws:open")
    );
    Ok(())
}

#[tokio::test]
async fn seed_004_reconnect_strategy_gives_up_after_five_attempts() -> Result<()> {
    let browser = Browser::start().await?;
    let mut cafe = Cafe::open(&[&browser.origin]).await?;
    let url = format!("{}/ws?token={}", cafe.ws_url(), cafe.barista.token);
    // The strategy ("재연결 전략") sets the handlers of a connection `ws`
    // and calls `connectWebSocket()`: the glue gives it both.
    let before = format!(
        "const url = {};
// The connection the strategy's handlers belong to: every WebSocket that
// connectWebSocket() opens hands its open and close events to them.
const ws = {{}};
function connectWebSocket() {{
  const socket = new WebSocket(url);
  socket.onopen = (event) => ws.onopen(event);
  socket.onclose = (event) => ws.onclose(event);
}}",
        js(&url)
    );
    browser
        .module(
            "/src/reconnect.js",
            json!([
                {"text": before},
                {"seed": "004-reconnect-strategy.ts"},
                {"text": "connectWebSocket();"},
            ]),
        )
        .await?;
    let page = browser.open("kiosk", "/harness.html", 1280, 800).await?;
    page.eval("await import('/src/reconnect.js');").await?;
    page.wait_calls("the connection", |c| count(c, "ws:open") == 1)
        .await?;

    // Down, then up again: an attempt that opens puts the count back to 0.
    // (Its 5 s waits are real here, so the hub is back before the last.)
    cafe.kill();
    page.wait_calls("a reconnect scheduled", |c| {
        count(c, "ws:close") >= 1 && firsts(c, "setTimeout").contains(&&json!(5000))
    })
    .await?;
    cafe.start().await?;
    let calls = page
        .wait_calls("the connection open again", |c| count(c, "ws:open") == 2)
        .await?;
    let attempts_before = count(&calls, "ws:new");

    // Down for good: five attempts (ten times sooner), then the error.
    page.eval("window.__timeScale = 10;").await?;
    cafe.kill();
    let calls = page
        .wait_calls("the error after the last attempt", |c| {
            count(c, "showError") == 1
        })
        .await?;
    let attempts = count(&calls, "ws:new") - attempts_before;
    ensure!(
        attempts == 5,
        "{attempts} attempts after the count was reset, not 5"
    );
    ensure!(
        firsts(&calls, "showError")[0] == "서버 연결이 끊어졌습니다. 페이지를 새로고침해주세요.",
        "{:?}",
        firsts(&calls, "showError")
    );
    let pending = page.eval("return window.__pendingLongTimers();").await?;
    ensure!(
        pending == 0,
        "{pending} reconnects still scheduled after giving up"
    );
    Ok(())
}

// ---------------------------------------------------------------------------
// Seed 001: the workshop's EventSource

/// Serves the workshop's client ("Client-Side") at `/src/workorders.js`, its
/// stream the hub's, cross-origin, with the manager's token in the query.
async fn workshop(browser: &Browser, cafe: &Cafe) -> Result<()> {
    let url = format!(
        "'{}/api/workorders/stream?token={}'",
        cafe.url(),
        cafe.manager.token
    );
    browser
        .module(
            "/src/workorders.js",
            json!([{"seed": "001-event-source.ts", "replace": [["'/api/workorders/stream'", url]]}]),
        )
        .await
}

/// The stream's messages (`es:message` data), oldest first.
fn messages(calls: &[Value]) -> Vec<&Value> {
    firsts(calls, "es:message")
        .into_iter()
        .map(|m| &m["data"])
        .collect()
}

const SIGNATURE: &str = r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><path d="M0 0 L10 10" stroke="black"/></svg>"#;

#[tokio::test]
async fn seed_001_event_source_reloads_work_orders_on_each_change() -> Result<()> {
    let browser = Browser::start().await?;
    let cafe = Cafe::open(&[&browser.origin]).await?;
    workshop(&browser, &cafe).await?;
    let page = browser.open("workshop", "/harness.html", 1280, 800).await?;
    page.eval("await import('/src/workorders.js');").await?;
    let calls = page
        .wait_calls("connected", |c| !messages(c).is_empty())
        .await?;
    let connected = messages(&calls)[0];
    ensure!(
        connected["type"] == "connected",
        "the first message is {connected}"
    );
    ensure!(connected["seq"].is_u64(), "{connected}");
    ensure!(!connected["epoch"].is_null(), "{connected}");

    let created = cafe
        .manager
        .post(
            "/workorders",
            &json!({"title": "Brake pads", "customerName": "De Vries",
                    "lines": [{"description": "Pads", "amount": 12000}]}),
        )
        .await?;
    let wo = created["id"].as_str().context("a workorder id")?.to_owned();
    let step = |change: &'static str| {
        let wo = wo.clone();
        move |c: &[Value]| {
            let updates = messages(c)
                .into_iter()
                .filter(|m| m["type"] == "workorder-update")
                .collect::<Vec<_>>();
            updates
                .iter()
                .any(|m| m["changeType"] == change && m["workOrderId"] == wo.as_str())
                && count(c, "loadWorkOrders") == updates.len()
        }
    };
    page.wait_calls("loadWorkOrders on created", step("created"))
        .await?;
    cafe.manager
        .post(
            &format!("/workorders/{wo}/present"),
            &json!({"deviceId": cafe.display.device_id}),
        )
        .await?;
    page.wait_calls("loadWorkOrders on presented", step("presented"))
        .await?;
    cafe.display
        .post(
            "/display/signature",
            &json!({"workOrderId": wo, "signerName": "Jansen", "signatureSvg": SIGNATURE}),
        )
        .await?;
    let calls = page
        .wait_calls("loadWorkOrders on the signature", step("signature"))
        .await?;
    let signed = messages(&calls)
        .into_iter()
        .find(|m| m["changeType"] == "signature")
        .context("the signature's update")?;
    ensure!(signed["workOrder"]["status"] == "APPROVED", "{signed}");
    ensure!(signed["workOrder"]["column"] == "Approved", "{signed}");
    cafe.manager
        .patch(
            &format!("/workorders/{wo}/column"),
            &json!({"column": "Onder handen"}),
        )
        .await?;
    page.wait_calls("loadWorkOrders on the column move", step("column"))
        .await?;
    let started = cafe
        .manager
        .post(&format!("/workorders/{wo}/sessions"), &json!({}))
        .await?;
    let session = started["sessions"][0]["id"]
        .as_str()
        .context("a session id")?
        .to_owned();
    page.wait_calls("loadWorkOrders on the session's start", step("session"))
        .await?;
    cafe.manager
        .patch(&format!("/workorders/{wo}/sessions/{session}"), &json!({}))
        .await?;
    let calls = page
        .wait_calls("loadWorkOrders on the session's stop", |c| {
            messages(c)
                .iter()
                .filter(|m| m["changeType"] == "session")
                .count()
                == 2
                && count(c, "loadWorkOrders") == messages(c).len() - 1
        })
        .await?;

    let moved = messages(&calls)
        .into_iter()
        .find(|m| m["changeType"] == "column")
        .context("the column's update")?;
    ensure!(moved["workOrder"]["column"] == "Onder handen", "{moved}");
    // Each update carries its seq as the event id, increasing.
    let ids: Vec<u64> = firsts(&calls, "es:message")
        .iter()
        .skip(1)
        .map(|m| m["lastEventId"].as_str().and_then(|i| i.parse().ok()))
        .collect::<Option<_>>()
        .context("an update without a numeric id")?;
    ensure!(ids.windows(2).all(|w| w[0] < w[1]), "ids {ids:?}");
    ensure!(count(&calls, "es:error") == 0, "the stream failed");
    ensure!(count(&calls, "connectSSE") == 0, "the stream reconnected");
    Ok(())
}

#[tokio::test]
async fn seed_001_event_source_from_an_origin_not_allowed_is_refused() -> Result<()> {
    let browser = Browser::start().await?;
    let cafe = Cafe::open(&[&browser.origin]).await?;
    workshop(&browser, &cafe).await?;
    // The same snippet, from the allowed origin and from another.
    let allowed = browser.open("allowed", "/harness.html", 1280, 800).await?;
    allowed.eval("await import('/src/workorders.js');").await?;
    allowed
        .wait_calls("connected", |c| {
            messages(c)
                .first()
                .is_some_and(|m| m["type"] == "connected")
        })
        .await?;
    let harness = format!("{}/harness.html", browser.foreign);
    let foreign = browser.open("foreign", &harness, 1280, 800).await?;
    foreign
        .eval("window.__timeScale = 10; await import('/src/workorders.js');")
        .await?;
    let calls = foreign
        .wait_calls("the snippet's reconnect after the error", |c| {
            count(c, "connectSSE") >= 1
        })
        .await?;
    ensure!(count(&calls, "es:error") >= 1, "no error event");
    ensure!(
        messages(&calls).is_empty(),
        "messages from a foreign origin: {:?}",
        messages(&calls)
    );
    ensure!(
        firsts(&calls, "setTimeout").contains(&&json!(5000)),
        "no 5 s wait"
    );
    Ok(())
}

// ---------------------------------------------------------------------------
// Seed 003: the ticketing server's browser-console test

#[tokio::test]
async fn seed_003_console_test_is_welcomed_and_answered_pong() -> Result<()> {
    let browser = Browser::start().await?;
    let cafe = Cafe::open(&[&browser.origin]).await?;
    let url = format!("`{}/ws?format=type&token=${{token}}`", cafe.ws_url());
    browser
        .module(
            "/console-test.js",
            json!([{"seed": "003-console-test.js", "replace": [
                ["'YOUR_TOKEN_HERE'", js(&cafe.kiosk.token)],
                ["`ws://localhost:3000/ws/events/1?token=${token}`", url],
            ]}]),
        )
        .await?;
    let page = browser.open("console", "/harness.html", 1280, 800).await?;
    page.eval("await import('/console-test.js');").await?;
    let received = |c: &[Value]| -> Vec<Value> {
        args_of(c, "console.log")
            .into_iter()
            .filter(|args| args.first().and_then(Value::as_str) == Some("ğŸ“¨ Received:"))
            .filter_map(|args| args.get(1).cloned())
            .collect()
    };
    let calls = page
        .wait_calls("connected, and pong", |c| {
            logged(c, "log", "âœ… Connected!") && received(c).contains(&json!({"type": "pong"}))
        })
        .await?;
    let frames = received(&calls);
    let welcome = &frames[0];
    ensure!(
        welcome["type"] == "connection_established",
        "the first frame is {welcome}"
    );
    ensure!(welcome["clientId"].is_string(), "{welcome}");
    ensure!(
        welcome["clientId"] == welcome["data"]["connectionId"],
        "{welcome}"
    );
    ensure!(welcome["data"]["role"] == "kiosk", "{welcome}");
    ensure!(
        welcome["data"]["seq"].is_u64() && welcome["data"]["topics"].is_array(),
        "{welcome}"
    );
    ensure!(
        frames
            .iter()
            .all(|f| f.get("event").is_none() && f["type"].is_string()),
        "frames keyed by event: {frames:?}"
    );
    Ok(())
}

// ---------------------------------------------------------------------------
// Seed 000: the pizzeria's messages

/// The messages the seed lists ("Van Client naar Server", "Van Server naar
/// Client"), each as written between backticks.
fn pizzeria_messages() -> Result<(Vec<String>, Vec<String>)> {
    let path = workspace().join("tests/browser/seeds/000-message-types.md");
    let text = std::fs::read_to_string(&path)?;
    let (client, server) = text
        .split_once("### Van Server naar Client:")
        .context("the seed's two lists")?;
    let listed = |part: &str| -> Vec<String> {
        part.lines()
            .filter_map(|l| l.strip_prefix("- `"))
            .filter_map(|l| l.split_once('`').map(|(m, _)| m.to_owned()))
            .collect()
    };
    Ok((listed(client), listed(server)))
}

/// Opens a WebSocket to `url` in `page` and sends `messages` once it is open.
async fn send_on_open(page: &Page<'_>, url: &str, messages: &[String]) -> Result<()> {
    page.eval(&format!(
        "const socket = new WebSocket({});
         window.socket = socket;
         await new Promise((resolve, reject) => {{
           socket.onopen = resolve;
           socket.onerror = () => reject(new Error('the WebSocket did not open'));
         }});
         for (const message of {}) socket.send(message);",
        js(url),
        json!(messages)
    ))
    .await?;
    Ok(())
}

fn typed<'a>(calls: &'a [Value], kind: &str) -> Vec<&'a Value> {
    frames(calls)
        .into_iter()
        .filter(|f| f["type"] == kind)
        .collect()
}

#[tokio::test]
async fn seed_000_pizzeria_admin_and_status_page_get_frames_keyed_by_type() -> Result<()> {
    let (client, server) = pizzeria_messages()?;
    let [ping, subscribe_admin, subscribe_order] = client.as_slice() else {
        anyhow::bail!("the seed lists {client:?}");
    };
    ensure!(server[0] == r#"{"type": "pong"}"#, "{server:?}");
    let browser = Browser::start().await?;
    let cafe = Cafe::open(&[&browser.origin]).await?;

    // The admin dashboard (a manager) subscribes as the seed does.
    let admin = browser.open("admin", "/harness.html", 1280, 800).await?;
    let admin_url = format!(
        "{}/ws?format=type&token={}",
        cafe.ws_url(),
        cafe.manager.token
    );
    send_on_open(&admin, &admin_url, &[ping.clone(), subscribe_admin.clone()]).await?;
    let calls = admin
        .wait_calls("pong and the admin subscription", |c| {
            frames(c).contains(&&json!({"type": "pong"}))
                && frames(c).contains(&&json!({"type": "subscribed", "role": "admin"}))
        })
        .await?;
    ensure!(
        frames(&calls)[0]["type"] == "connection_established",
        "{:?}",
        frames(&calls)[0]
    );

    let a = cafe.order("a").await?;
    let (a_id, n) = (order_id(&a)?, daily_num(&a)?);
    admin
        .wait_calls("order_created", |c| {
            typed(c, "order_created")
                .iter()
                .any(|f| f["data"]["orderId"] == a_id.as_str() && f["seq"].is_u64())
        })
        .await?;

    // The customer's status page, anonymous, follows its receipt number.
    let status = browser.open("status", "/harness.html", 390, 844).await?;
    let follow = subscribe_order.replace("123", &n.to_string());
    ensure!(follow != *subscribe_order, "{subscribe_order}");
    let unknown = subscribe_order.replace("123", &(n + 100).to_string());
    send_on_open(
        &status,
        &format!("{}/ws?format=type", cafe.ws_url()),
        &[follow, unknown],
    )
    .await?;
    let calls = status
        .wait_calls("the order subscription, and not_found for no order", |c| {
            frames(c).contains(&&json!({"type": "subscribed", "order_id": n}))
                && typed(c, "error").iter().any(|f| f["code"] == "not_found")
        })
        .await?;
    ensure!(
        frames(&calls)[0]["type"] == "connection_established",
        "{:?}",
        frames(&calls)[0]
    );

    cafe.move_to(&a, "MAKING").await?;
    let moved = |c: &[Value]| {
        typed(c, "order_status_changed").iter().any(|f| {
            f["data"]["orderId"] == a_id.as_str()
                && f["data"]["dailyNum"] == n
                && f["data"]["status"] == "MAKING"
                && f["seq"].is_u64()
        })
    };
    let calls = status
        .wait_calls("order_status_changed on the status page", moved)
        .await?;
    ensure!(
        typed(&calls, "order_created").is_empty(),
        "a status page got order_created"
    );
    let admin_calls = admin
        .wait_calls("order_status_changed on the dashboard", moved)
        .await?;
    let full = typed(&admin_calls, "order_status_changed")[0];
    ensure!(full["data"]["previousStatus"] == "PENDING", "{full}");
    for (page, calls) in [("status", &calls), ("admin", &admin_calls)] {
        ensure!(
            frames(calls)
                .iter()
                .all(|f| f.get("event").is_none() && f["type"].is_string()),
            "{page}: frames keyed by event: {:?}",
            frames(calls)
        );
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Seed 002: the ERP's socket.io-client

/// Serves the ERP's client (`src/services/websocket.ts`, its API URL the
/// hub's as Vite inlines `VITE_API_URL`) and its hooks
/// (`src/hooks/useWebSocket.ts`, which imports `../services/websocket`).
async fn erp(browser: &Browser, cafe: &Cafe) -> Result<()> {
    browser
        .module(
            "/src/services/websocket",
            json!([{"seed": "002-services-websocket.ts", "replace": [
                ["import.meta.env.VITE_API_URL", js(&cafe.url())],
            ]}]),
        )
        .await?;
    browser
        .module(
            "/src/hooks/useWebSocket",
            json!([{"seed": "002-hooks-use-websocket.ts"}]),
        )
        .await
}

#[tokio::test]
async fn seed_002_socket_io_client_hears_notifications_and_dashboard_updates() -> Result<()> {
    let browser = Browser::start().await?;
    let cafe = Cafe::open(&[&browser.origin]).await?;
    erp(&browser, &cafe).await?;
    let page = browser.open("erp", "/harness.html", 1280, 800).await?;
    page.eval(&format!(
        "const {{ wsClient }} = await import('/src/services/websocket');
         const {{ useWebSocket }} = await import('/src/hooks/useWebSocket');
         wsClient.connect({});
         useWebSocket('dashboard:update', (data) => record('dashboard:update', data));
         useWebSocket('system:notification', (data) => record('system:notification', data));",
        js(&cafe.manager.token)
    ))
    .await?;
    page.wait_calls("connected", |c| logged(c, "log", "WebSocket connected"))
        .await?;

    cafe.manager
        .post(
            "/notifications",
            &json!({"level": "warning", "title": "Kasse", "message": "Papier fast leer"}),
        )
        .await?;
    let calls = page
        .wait_calls("system:notification", |c| {
            count(c, "system:notification") == 1
        })
        .await?;
    let notice = firsts(&calls, "system:notification")[0];
    ensure!(
        notice["level"] == "warning" && notice["title"] == "Kasse",
        "{notice}"
    );
    ensure!(notice["message"] == "Papier fast leer", "{notice}");
    ensure!(
        notice["id"].is_string() && notice["timestamp"].is_string(),
        "{notice}"
    );

    cafe.order("a").await?;
    let calls = page
        .wait_calls("dashboard:update orders_today", |c| {
            firsts(c, "dashboard:update")
                .iter()
                .any(|d| d["widgetId"] == "orders_today" && d["value"].as_f64() >= Some(1.0))
        })
        .await?;
    ensure!(
        firsts(&calls, "dashboard:update")
            .iter()
            .all(|d| d["widgetId"].is_string()
                && d["value"].is_number()
                && d["timestamp"].is_string()),
        "{:?}",
        firsts(&calls, "dashboard:update")
    );
    ensure!(
        count(&calls, "console.error") == 0,
        "{:?}",
        args_of(&calls, "console.error")
    );
    Ok(())
}

#[tokio::test]
async fn seed_002_socket_io_client_joins_and_leaves_rooms() -> Result<()> {
    let browser = Browser::start().await?;
    let cafe = Cafe::open(&[&browser.origin]).await?;
    erp(&browser, &cafe).await?;
    let a = cafe.order("a").await?;
    let (a_id, n) = (order_id(&a)?, daily_num(&a)?);
    // A display reads workorders and settings; it joins the board of one
    // order number, and asks for a room it may not read.
    let page = browser.open("erp", "/harness.html", 1280, 800).await?;
    page.eval(&format!(
        "const {{ wsClient }} = await import('/src/services/websocket');
         const {{ useWebSocketRoom }} = await import('/src/hooks/useWebSocket');
         window.wsClient = wsClient;
         wsClient.connect({});
         for (const event of ['order:status_changed', 'settings:changed', 'error']) {{
           wsClient.on(event, (data) => record(event, data));
         }}
         useWebSocketRoom('board:{n}');
         wsClient.joinRoom('orders');",
        js(&cafe.display.token)
    ))
    .await?;
    let calls = page
        .wait_calls("Access denied for orders", |c| count(c, "error") == 1)
        .await?;
    ensure!(
        logged(&calls, "log", "WebSocket connected"),
        "not connected"
    );
    ensure!(
        firsts(&calls, "error")[0] == &json!({"message": "Access denied"}),
        "{:?}",
        firsts(&calls, "error")
    );

    cafe.move_to(&a, "MAKING").await?;
    let calls = page
        .wait_calls("order:status_changed in room board:N", |c| {
            firsts(c, "order:status_changed").iter().any(|d| {
                d["orderId"] == a_id.as_str() && d["status"] == "MAKING" && d["dailyNum"] == n
            })
        })
        .await?;
    ensure!(count(&calls, "order:status_changed") == 1, "twice");

    // Left: the next move is not heard. (The second refusal shows the hub
    // has read the leave-room sent before it.)
    page.eval(&format!(
        "wsClient.leaveRoom('board:{n}'); wsClient.joinRoom('orders');"
    ))
    .await?;
    page.wait_calls("the second Access denied", |c| count(c, "error") == 2)
        .await?;
    cafe.move_to(&a, "READY").await?;
    cafe.manager.set("cafe_name", "Steinmetz Café").await?;
    let calls = page
        .wait_calls("settings:changed, read by default", |c| {
            count(c, "settings:changed") == 1
        })
        .await?;
    ensure!(
        count(&calls, "order:status_changed") == 1,
        "heard after leaving: {:?}",
        firsts(&calls, "order:status_changed")
    );
    Ok(())
}

#[tokio::test]
async fn seed_002_socket_io_client_without_a_token_is_refused() -> Result<()> {
    let browser = Browser::start().await?;
    let cafe = Cafe::open(&[&browser.origin]).await?;
    erp(&browser, &cafe).await?;
    let page = browser.open("erp", "/harness.html", 1280, 800).await?;
    let refusal = |c: &[Value], message: &str| {
        args_of(c, "console.error").iter().any(|args| {
            args.first().and_then(Value::as_str) == Some("WebSocket connection error:")
                && args.get(1).is_some_and(|e| e["message"] == message)
        })
    };
    page.eval(
        "const { wsClient } = await import('/src/services/websocket');
         window.wsClient = wsClient;
         wsClient.connect(undefined);",
    )
    .await?;
    page.wait_calls("Authentication required", |c| {
        refusal(c, "Authentication required")
    })
    .await?;
    page.eval("wsClient.disconnect(); wsClient.connect('not-a-token');")
        .await?;
    let calls = page
        .wait_calls("Invalid token", |c| refusal(c, "Invalid token"))
        .await?;
    ensure!(
        !logged(&calls, "log", "WebSocket connected"),
        "connected without a token"
    );
    Ok(())
}
