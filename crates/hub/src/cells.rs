//! Cells, the domain: group accounts paid in points, added and charged, each
//! change announced as `cell:balance_changed`.

use countertop_protocol::{
    BalanceChangeType, Cell, CellBalanceChanged, Charge, Event, NewCell, Topic,
};

use crate::auth::random_id;
use crate::input::{amount, text, Refused};
use crate::log::{Routing, Writer};
use crate::store;
use crate::Hub;

/// The largest balance a cell may hold.
const MAX_BALANCE: i64 = 1_000_000_000_000;

/// Why a cell could not be added or charged.
pub(crate) type CellError = Refused;

async fn announce(
    w: &mut Writer<'_>,
    cell: &Cell,
    before: i64,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), sqlx::Error> {
    w.emit(
        &Event::CellBalanceChanged(CellBalanceChanged {
            cell_id: cell.id.clone(),
            cell_name: cell.name.clone(),
            balance_before: before,
            balance_after: cell.balance,
            change_amount: cell.balance - before,
            kind: BalanceChangeType::Charge,
            updated_at: now,
        }),
        Routing::topic(Topic::Cells),
        now,
    )
    .await
    .map(|_| ())
}

/// Adds a cell after the others, with the hash of its PIN if it has one
/// (`pins::hash`, made before: hashing is slow on purpose, and the writer
/// is not held for it).
pub(crate) async fn add(
    hub: &Hub,
    new: NewCell,
    pin_hash: Option<String>,
) -> Result<Cell, CellError> {
    let name = text("name", &new.name, 80)?;
    let balance = amount("balance", new.balance, 0)?;
    let mut w = hub.log.begin().await?;
    let position = store::cells::next_position(&mut w.tx).await?;
    let cell = Cell {
        id: format!("cell-{}", random_id(8)),
        name,
        balance,
        has_pin: pin_hash.is_some(),
    };
    store::cells::insert(&mut w.tx, &cell, position, pin_hash.as_deref()).await?;
    // A new cell is announced as a charge from nothing, so every screen that
    // lists cells learns of it.
    let now = hub.clock.now();
    if cell.balance > 0 {
        let date = hub.clock.local_date(now);
        store::reports::record_charge(&mut w.tx, &cell.id, cell.balance, date, now).await?;
    }
    announce(&mut w, &cell, 0, now).await?;
    w.commit().await?;
    Ok(cell)
}

/// Adds points to cell `id`.
pub(crate) async fn charge(hub: &Hub, id: &str, charge: Charge) -> Result<Cell, CellError> {
    let add = amount("amount", charge.amount, 1)?;
    let mut w = hub.log.begin().await?;
    let mut cell = store::cells::load_cell(&mut w.tx, id)
        .await?
        .ok_or_else(|| CellError::NotFound(format!("no cell \"{id}\"")))?;
    let before = cell.balance;
    cell.balance = before
        .checked_add(add)
        .filter(|b| *b <= MAX_BALANCE)
        .ok_or_else(|| CellError::Invalid("the balance would be too large".into()))?;
    store::cells::set_balance(&mut w.tx, &cell.id, cell.balance).await?;
    let now = hub.clock.now();
    // Kept apart from the event log, which is pruned: the daily report sums
    // charges for 400 days and more.
    let date = hub.clock.local_date(now);
    store::reports::record_charge(&mut w.tx, &cell.id, add, date, now).await?;
    announce(&mut w, &cell, before, now).await?;
    w.commit().await?;
    Ok(cell)
}
