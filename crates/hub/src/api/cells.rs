//! Cells (group accounts paid in points) over REST: list, add, charge,
//! correct, read the history, each a call into the `cells` domain; set,
//! remove and unlock with a PIN, each a call into `pins`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use countertop_protocol::Action;
use countertop_protocol::{Cell, CellCorrection, CellLedgerEntry, CellPin, Charge, NewCell};
use serde::Deserialize;

use crate::auth::Caller;
use crate::cells;
use crate::error::{ApiJson, ApiQuery, ApiResult};
use crate::pins;
use crate::store::cells::load_cells;
use crate::Hub;

pub async fn list(State(hub): State<Hub>, caller: Caller) -> ApiResult<Json<Vec<Cell>>> {
    caller.require(Action::ReadCells)?;
    let mut conn = hub.pool().acquire().await?;
    Ok(Json(load_cells(&mut conn).await?))
}

pub async fn create(
    State(hub): State<Hub>,
    caller: Caller,
    ApiJson(mut body): ApiJson<NewCell>,
) -> ApiResult<(StatusCode, Json<Cell>)> {
    let device = caller.require(Action::AddCell)?;
    let pin_hash = match body.pin.take() {
        Some(pin) => Some(pins::hash(&pin).await?),
        None => None,
    };
    Ok((
        StatusCode::CREATED,
        Json(cells::add(&hub, body, pin_hash, &device.id).await?),
    ))
}

pub async fn charge(
    State(hub): State<Hub>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<Charge>,
) -> ApiResult<Json<Cell>> {
    let device = caller.require(Action::ChargeCell)?;
    Ok(Json(cells::charge(&hub, &id, body, &device.id).await?))
}

/// `POST /api/cells/{id}/corrections` (manager): a signed change with a reason.
pub async fn correct(
    State(hub): State<Hub>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<CellCorrection>,
) -> ApiResult<Json<Cell>> {
    let device = caller.require(Action::CorrectCell)?;
    Ok(Json(cells::correct(&hub, &id, body, &device.id).await?))
}

#[derive(Debug, Deserialize)]
pub struct HistoryQuery {
    /// Read as text, so that a bad one is refused as `validation` (422)
    /// with the others.
    limit: Option<String>,
}

/// `GET /api/cells/{id}/history?limit=` (manager): newest first.
pub async fn history(
    State(hub): State<Hub>,
    caller: Caller,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<HistoryQuery>,
) -> ApiResult<Json<Vec<CellLedgerEntry>>> {
    caller.require(Action::ReadCellHistory)?;
    Ok(Json(cells::history(&hub, &id, q.limit.as_deref()).await?))
}

/// `PUT /api/cells/{id}/pin`.
pub async fn set_pin(
    State(hub): State<Hub>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<CellPin>,
) -> ApiResult<Json<Cell>> {
    caller.require(Action::SetCellPin)?;
    Ok(Json(pins::set(&hub, &id, body).await?))
}

/// `DELETE /api/cells/{id}/pin`.
pub async fn remove_pin(
    State(hub): State<Hub>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Cell>> {
    caller.require(Action::SetCellPin)?;
    Ok(Json(pins::remove(&hub, &id).await?))
}

/// `POST /api/cells/{id}/unlock`: the cell with its balance, for its PIN.
pub async fn unlock(
    State(hub): State<Hub>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<CellPin>,
) -> ApiResult<Json<Cell>> {
    caller.require(Action::UnlockCell)?;
    Ok(Json(pins::unlock(&hub, &id, body).await?))
}
