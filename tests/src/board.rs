//! The barista board at a rush (issue 16): a hub process of its own with a
//! manager and a kiosk over REST, barista boards joined to it (each its own
//! app, tauri-driver and data folder, so that two stations can work side by
//! side), the board's tickets as its DOM contract has them, and the bump
//! bar's keys pressed through WebDriver key actions.

use std::path::PathBuf;
use std::sync::Mutex;

use anyhow::{bail, Context, Result};
use chrono::{DateTime, SecondsFormat, Utc};
use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::key::Key;
use fantoccini::Client;
use serde_json::{json, Value};

use crate::driver::{free_port, open_joined, Driver};
use crate::hub::{pairing_code, HubClient, HubProcess};
use crate::wait::{switch_to, until, wait_for};

/// A demo hub of its own, a manager that reads it, and a kiosk that orders.
pub struct Counter {
    /// Holds the hub's data folder (`hub/`) and each board's (`board-N/`).
    dir: tempfile::TempDir,
    hub_data: PathBuf,
    hub: HubProcess,
    pub manager: HubClient,
    pub kiosk: HubClient,
    boards: usize,
}

impl Counter {
    pub async fn open() -> Result<Counter> {
        let dir = tempfile::tempdir()?;
        let hub_data = dir.path().join("hub");
        let hub = HubProcess::start(&hub_data, free_port())?;
        hub.healthy().await?;
        let manager = HubClient::pair_at(&hub.url, &hub_data, "manager").await?;
        let kiosk = HubClient::pair_at(&hub.url, &hub_data, "kiosk").await?;
        Ok(Counter {
            dir,
            hub_data,
            hub,
            manager,
            kiosk,
            boards: 0,
        })
    }

    /// A barista board joined to the hub: an app of its own, live.
    pub async fn board(&mut self) -> Result<Board> {
        self.boards += 1;
        let data = self.dir.path().join(format!("board-{}", self.boards));
        let code = pairing_code(&self.hub_data, "barista")?;
        let driver = Driver::start()?;
        let client = open_joined(&driver, &self.hub.url, &code, &data).await?;
        let board = Board { client, driver };
        let opened = async {
            switch_to(&board.client, "barista").await?;
            wait_for(&board.client, "[data-testid=link-status][data-state=live]").await?;
            wait_for(&board.client, "[data-testid=board]").await?;
            anyhow::Ok(())
        }
        .await;
        match opened {
            Ok(()) => Ok(board),
            Err(e) => {
                board.close().await;
                Err(e)
            }
        }
    }

    /// The kiosk places an order of `lines` (see `demo_line`) by card,
    /// placed by the customer at `placed_at` (the hub's time when `None`);
    /// the order as the hub answered it.
    pub async fn order(
        &self,
        key: &str,
        lines: Vec<Value>,
        placed_at: Option<DateTime<Utc>>,
    ) -> Result<Value> {
        let mut body = json!({
            "idempotencyKey": key,
            "items": lines,
            "payType": "CARD",
        });
        if let Some(at) = placed_at {
            body["placedAt"] = json!(at.to_rfc3339_opts(SecondsFormat::Millis, true));
        }
        self.kiosk.post("/orders", &body).await
    }

    /// The order `order` as the hub has it now.
    pub async fn at_hub(&self, order: &Value) -> Result<Value> {
        let id = order["orderId"].as_str().context("an orderId")?;
        self.manager.get(&format!("/orders/{id}")).await
    }

    /// Waits until the hub has order `order` in `status`; returns it.
    pub async fn until_status(&self, order: &Value, status: &str) -> Result<Value> {
        let num = &order["dailyNum"];
        let last = Mutex::new(Value::Null);
        let waited = until(
            &format!("order #{num} to be {status} at the hub"),
            || async {
                let now = self.at_hub(order).await?;
                let there = now["status"] == status;
                *last.lock().unwrap() = now;
                Ok(there)
            },
        )
        .await;
        let last = last.into_inner().unwrap();
        waited.with_context(|| format!("the hub has {last}"))?;
        Ok(last)
    }
}

/// One barista board: an app joined to the counter's hub, through a
/// tauri-driver of its own.
pub struct Board {
    pub client: Client,
    driver: Driver,
}

impl Board {
    /// Ends the app's session, then its tauri-driver.
    pub async fn close(self) {
        let _ = self.client.close().await;
        drop(self.driver);
    }
}

/// A ticket on the board, as its attributes say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ticket {
    pub num: u64,
    pub status: String,
    /// 1-based, on the current page.
    pub position: u64,
    pub selected: bool,
}

/// The board's root: its view and page, as its attributes say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoardState {
    pub view: String,
    pub page: u64,
    pub pages: u64,
}

const READ_TICKETS: &str = r#"
    const board = document.querySelector('[data-testid="board"]');
    if (!board) return null;
    return Array.from(board.querySelectorAll('[data-testid^="order-"]'))
      .filter((e) => /^order-\d+$/.test(e.dataset.testid))
      .map((e) => ({
        num: Number(e.dataset.testid.slice(6)),
        status: e.dataset.status || "",
        position: Number(e.dataset.position || 0),
        selected: e.dataset.selected === "true",
      }));
"#;

/// The tickets the board shows now (on its current page), in the DOM's order.
pub async fn tickets(client: &Client) -> Result<Vec<Ticket>> {
    let found = client.execute(READ_TICKETS, vec![]).await?;
    let Some(list) = found.as_array() else {
        bail!("no [data-testid=board] on the screen");
    };
    list.iter()
        .map(|t| {
            Ok(Ticket {
                num: t["num"].as_u64().context("a ticket's number")?,
                status: t["status"].as_str().unwrap_or_default().to_owned(),
                position: t["position"].as_u64().unwrap_or(0),
                selected: t["selected"].as_bool().unwrap_or(false),
            })
        })
        .collect()
}

/// The ticket of order `num`, if the board shows it now.
pub async fn ticket(client: &Client, num: u64) -> Result<Option<Ticket>> {
    Ok(tickets(client).await?.into_iter().find(|t| t.num == num))
}

/// The one selected ticket; fails when more than one is.
pub async fn selected(client: &Client) -> Result<Option<Ticket>> {
    let chosen: Vec<Ticket> = tickets(client)
        .await?
        .into_iter()
        .filter(|t| t.selected)
        .collect();
    if chosen.len() > 1 {
        bail!("{} tickets are selected at once: {chosen:?}", chosen.len());
    }
    Ok(chosen.into_iter().next())
}

/// The board's view and page.
pub async fn board_state(client: &Client) -> Result<BoardState> {
    let found = client
        .execute(
            r#"const b = document.querySelector('[data-testid="board"]');
               return b ? { view: b.dataset.view || "", page: b.dataset.page || "",
                            pages: b.dataset.pages || "" } : null;"#,
            vec![],
        )
        .await?;
    if found.is_null() {
        bail!("no [data-testid=board] on the screen");
    }
    let number = |key: &str| -> Result<u64> {
        let text = found[key].as_str().unwrap_or_default();
        text.parse()
            .with_context(|| format!("the board's data-{key} is {text:?}"))
    };
    Ok(BoardState {
        view: found["view"].as_str().unwrap_or_default().to_owned(),
        page: number("page")?,
        pages: number("pages")?,
    })
}

/// A key of the bump bar: a character key (`'1'`, `'r'`) or a named one.
#[derive(Debug, Clone, Copy)]
pub enum BumpKey {
    Char(char),
    Named(Key),
}

impl BumpKey {
    fn value(self) -> char {
        match self {
            BumpKey::Char(c) => c,
            BumpKey::Named(k) => k.into(),
        }
    }
}

impl From<char> for BumpKey {
    fn from(c: char) -> BumpKey {
        BumpKey::Char(c)
    }
}

impl From<Key> for BumpKey {
    fn from(k: Key) -> BumpKey {
        BumpKey::Named(k)
    }
}

/// Presses and lets go of `key` as a keyboard (or a USB bump bar, which
/// types keys) would: a WebDriver key action to the focused page.
pub async fn press(client: &Client, key: impl Into<BumpKey>) -> Result<()> {
    let key = key.into();
    let value = key.value();
    let actions = KeyActions::new("keyboard".into())
        .then(KeyAction::Down { value })
        .then(KeyAction::Up { value });
    client
        .perform_actions(actions)
        .await
        .with_context(|| format!("pressing {key:?}"))?;
    client.release_actions().await?;
    Ok(())
}

/// The digit key that selects position `position` on the page (1 to 9,
/// and 0 for 10).
pub fn digit_for(position: u64) -> Result<char> {
    match position {
        1..=9 => Ok(char::from(b'0' + position as u8)),
        10 => Ok('0'),
        _ => bail!("no digit key selects position {position}"),
    }
}

/// Presses the digit of `position` and waits until the ticket there is
/// the selected one; returns it.
pub async fn select_position(client: &Client, position: u64) -> Result<Ticket> {
    press(client, digit_for(position)?).await?;
    until_selected(client, &format!("position {position}"), |t| {
        t.position == position
    })
    .await
}

/// Waits until the selected ticket answers `wanted`; returns it.
pub async fn until_selected(
    client: &Client,
    what: &str,
    wanted: impl Fn(&Ticket) -> bool,
) -> Result<Ticket> {
    let last = Mutex::new(None);
    let waited = until(&format!("the ticket at {what} to be selected"), || async {
        let now = selected(client).await?;
        let there = now.as_ref().is_some_and(&wanted);
        *last.lock().unwrap() = now;
        Ok(there)
    })
    .await;
    let last = last.into_inner().unwrap();
    waited.with_context(|| format!("the selected ticket is {last:?}"))?;
    last.context("a selected ticket")
}

/// Clicks the station chip `name` (`all` for the expo view) and waits
/// until it is pressed.
pub async fn choose_station(client: &Client, name: &str) -> Result<()> {
    let css = format!("[data-testid=station-{name}]");
    wait_for(client, &css).await?.click().await?;
    until(&format!("the chip {name} to be pressed"), || async {
        Ok(wait_for(client, &css)
            .await?
            .attr("aria-pressed")
            .await?
            .as_deref()
            == Some("true"))
    })
    .await
}

/// The first number in `text` (`+32 more` → 32).
pub fn first_number(text: &str) -> Option<u64> {
    let digits: String = text
        .chars()
        .skip_while(|c| !c.is_ascii_digit())
        .take_while(|c| c.is_ascii_digit())
        .collect();
    digits.parse().ok()
}

/// Holds the page's animations still (`hold` true), or lets them run on:
/// a settled screenshot of a running countdown (the undo toast's bar)
/// needs it still, while the toast's own timer goes on.
pub async fn hold_animations(client: &Client, hold: bool) -> Result<()> {
    client
        .execute(
            "for (const a of document.getAnimations()) { if (arguments[0]) a.pause(); else a.play(); }",
            vec![json!(hold)],
        )
        .await
        .context("pausing or playing the page's animations")?;
    Ok(())
}
