//! Cells, the domain: group accounts paid in points, added, charged and
//! corrected, each change announced as `cell:balance_changed` and noted in
//! the cell's history (`cell_ledger`), which is read back here too.

use countertop_protocol::{
    BalanceChangeType, Cell, CellBalanceChanged, CellCorrection, CellLedgerEntry, Charge,
    ErrorCode, Event, NewCell, Topic,
};

use crate::auth::random_id;
use crate::error::AppError;
use crate::input::{amount, text, Invalid, Refused};
use crate::log::{Routing, Writer};
use crate::store::{self, ledger};
use crate::Hub;

/// The largest balance a cell may hold.
const MAX_BALANCE: i64 = 1_000_000_000_000;

/// The longest reason of a correction.
const MAX_REASON_LEN: usize = 200;

/// How many history entries are read when the caller does not say, and at most.
pub(crate) const HISTORY_DEFAULT: u32 = 100;
pub(crate) const HISTORY_MAX: u32 = 1000;

/// Why a cell could not be added or charged.
pub(crate) type CellError = Refused;

/// Why a correction was refused.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CorrectionError {
    #[error(transparent)]
    Refused(#[from] Refused),
    /// It would take the balance below 0.
    #[error("{0}")]
    InsufficientBalance(String),
}

impl From<Invalid> for CorrectionError {
    fn from(err: Invalid) -> CorrectionError {
        CorrectionError::Refused(err.into())
    }
}

impl From<sqlx::Error> for CorrectionError {
    fn from(err: sqlx::Error) -> CorrectionError {
        CorrectionError::Refused(err.into())
    }
}

impl From<CorrectionError> for AppError {
    fn from(err: CorrectionError) -> AppError {
        match err {
            CorrectionError::Refused(e) => e.into(),
            CorrectionError::InsufficientBalance(message) => {
                AppError::conflict(ErrorCode::InsufficientBalance, message)
            }
        }
    }
}

/// Notes the change of `cell` from `before` in its history and announces
/// it, in the writer's transaction.
async fn note(
    w: &mut Writer<'_>,
    cell: &Cell,
    before: i64,
    (kind, reason): (BalanceChangeType, Option<&str>),
    device_id: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), sqlx::Error> {
    ledger::record(
        &mut w.tx,
        ledger::Change {
            cell_id: &cell.id,
            kind,
            amount: cell.balance - before,
            balance_after: cell.balance,
            reason,
            order_id: None,
            device_id: Some(device_id),
            at: now,
        },
    )
    .await?;
    w.emit(
        &Event::CellBalanceChanged(CellBalanceChanged {
            cell_id: cell.id.clone(),
            cell_name: cell.name.clone(),
            balance_before: before,
            balance_after: cell.balance,
            change_amount: cell.balance - before,
            kind,
            updated_at: now,
            reason: reason.map(str::to_owned),
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
    device_id: &str,
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
    if cell.balance > 0 {
        note(
            &mut w,
            &cell,
            0,
            (BalanceChangeType::Charge, None),
            device_id,
            now,
        )
        .await?;
    } else {
        announce_new(&mut w, &cell, now).await?;
    }
    w.commit().await?;
    Ok(cell)
}

/// Adds points to cell `id`.
pub(crate) async fn charge(
    hub: &Hub,
    id: &str,
    charge: Charge,
    device_id: &str,
) -> Result<Cell, CellError> {
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
    note(
        &mut w,
        &cell,
        before,
        (BalanceChangeType::Charge, None),
        device_id,
        now,
    )
    .await?;
    w.commit().await?;
    Ok(cell)
}

/// A new cell with no points is announced as a charge of nothing, so every
/// screen that lists cells learns of it; its history starts with its first
/// change.
async fn announce_new(
    w: &mut Writer<'_>,
    cell: &Cell,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), sqlx::Error> {
    w.emit(
        &Event::CellBalanceChanged(CellBalanceChanged {
            cell_id: cell.id.clone(),
            cell_name: cell.name.clone(),
            balance_before: 0,
            balance_after: 0,
            change_amount: 0,
            kind: BalanceChangeType::Charge,
            updated_at: now,
            reason: None,
        }),
        Routing::topic(Topic::Cells),
        now,
    )
    .await
    .map(|_| ())
}

/// Corrects the balance of cell `id` by a signed amount, for a reason
/// (a miscount, a charge made twice). The balance may not go below 0.
pub(crate) async fn correct(
    hub: &Hub,
    id: &str,
    correction: CellCorrection,
    device_id: &str,
) -> Result<Cell, CorrectionError> {
    if correction.amount == 0 {
        return Err(Invalid("amount must not be 0".into()).into());
    }
    if correction.amount.unsigned_abs() > MAX_BALANCE.unsigned_abs() {
        return Err(Invalid(format!(
            "amount must be between -{MAX_BALANCE} and {MAX_BALANCE}"
        ))
        .into());
    }
    let reason = text("reason", &correction.reason, MAX_REASON_LEN)?;
    let mut w = hub.log.begin().await?;
    let mut cell = store::cells::load_cell(&mut w.tx, id)
        .await?
        .ok_or_else(|| Refused::NotFound(format!("no cell \"{id}\"")))?;
    let before = cell.balance;
    let after = before + correction.amount;
    if after < 0 {
        return Err(CorrectionError::InsufficientBalance(format!(
            "{} has {before} points; a correction of {} would take it below 0",
            cell.name, correction.amount
        )));
    }
    if after > MAX_BALANCE {
        return Err(Invalid("the balance would be too large".into()).into());
    }
    cell.balance = after;
    store::cells::set_balance(&mut w.tx, &cell.id, cell.balance).await?;
    let now = hub.clock.now();
    note(
        &mut w,
        &cell,
        before,
        (BalanceChangeType::Correction, Some(&reason)),
        device_id,
        now,
    )
    .await?;
    w.commit().await?;
    tracing::info!(cell = %cell.id, amount = correction.amount, "cell balance corrected");
    Ok(cell)
}

/// The newest `limit` changes of cell `id` (default [`HISTORY_DEFAULT`],
/// at most [`HISTORY_MAX`]), newest first.
pub(crate) async fn history(
    hub: &Hub,
    id: &str,
    limit: Option<&str>,
) -> Result<Vec<CellLedgerEntry>, AppError> {
    let limit = match limit.filter(|l| !l.is_empty()) {
        None => HISTORY_DEFAULT,
        Some(text) => text
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=HISTORY_MAX).contains(n))
            .ok_or_else(|| {
                AppError::validation(format!("limit must be a number from 1 to {HISTORY_MAX}"))
            })?,
    };
    let mut conn = hub.pool().acquire().await?;
    if store::cells::load_cell(&mut conn, id).await?.is_none() {
        return Err(AppError::not_found(format!("no cell \"{id}\"")));
    }
    Ok(ledger::history(&mut conn, id, limit).await?)
}
