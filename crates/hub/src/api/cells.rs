//! Cells (group accounts paid in points): list, add, charge.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use countertop_protocol::Action;
use countertop_protocol::{
    BalanceChangeType, Cell, CellBalanceChanged, Charge, Event, NewCell, Topic,
};

use super::{amount, load_cell, load_cells, text};
use crate::auth::{random_id, Caller};
use crate::error::{ApiJson, ApiResult, AppError};
use crate::log::{Routing, Writer};
use crate::Hub;

pub async fn list(State(hub): State<Hub>, caller: Caller) -> ApiResult<Json<Vec<Cell>>> {
    caller.require(Action::ReadCells)?;
    let mut conn = hub.pool().acquire().await?;
    Ok(Json(load_cells(&mut conn).await?))
}

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

pub async fn create(
    State(hub): State<Hub>,
    caller: Caller,
    ApiJson(body): ApiJson<NewCell>,
) -> ApiResult<(StatusCode, Json<Cell>)> {
    caller.require(Action::AddCell)?;
    let name = text("name", &body.name, 80)?;
    let balance = amount("balance", body.balance, 0)?;
    let mut w = hub.log.begin().await?;
    let position: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(position), -1) + 1 FROM cells")
        .fetch_one(&mut *w.tx)
        .await?;
    let cell = Cell {
        id: format!("cell-{}", random_id(8)),
        name,
        balance,
    };
    sqlx::query("INSERT INTO cells (id, name, balance, position) VALUES (?, ?, ?, ?)")
        .bind(&cell.id)
        .bind(&cell.name)
        .bind(cell.balance)
        .bind(position)
        .execute(&mut *w.tx)
        .await?;
    // A new cell is announced as a charge from nothing, so every screen that
    // lists cells learns of it.
    let now = hub.clock.now();
    announce(&mut w, &cell, 0, now).await?;
    w.commit().await?;
    Ok((StatusCode::CREATED, Json(cell)))
}

pub async fn charge(
    State(hub): State<Hub>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<Charge>,
) -> ApiResult<Json<Cell>> {
    caller.require(Action::ChargeCell)?;
    let add = amount("amount", body.amount, 1)?;
    let mut w = hub.log.begin().await?;
    let mut cell = load_cell(&mut w.tx, &id)
        .await?
        .ok_or_else(|| AppError::not_found(format!("no cell \"{id}\"")))?;
    let before = cell.balance;
    cell.balance = before
        .checked_add(add)
        .filter(|b| *b <= 1_000_000_000_000)
        .ok_or_else(|| AppError::validation("the balance would be too large"))?;
    sqlx::query("UPDATE cells SET balance = ? WHERE id = ?")
        .bind(cell.balance)
        .bind(&cell.id)
        .execute(&mut *w.tx)
        .await?;
    let now = hub.clock.now();
    announce(&mut w, &cell, before, now).await?;
    w.commit().await?;
    Ok(Json(cell))
}
