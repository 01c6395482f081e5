//! Cells (group accounts paid in points) over REST: list, add, charge, each
//! a call into the `cells` domain; set, remove and unlock with a PIN, each a
//! call into `pins`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use countertop_protocol::Action;
use countertop_protocol::{Cell, CellPin, Charge, NewCell};

use crate::auth::Caller;
use crate::cells;
use crate::error::{ApiJson, ApiResult};
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
    caller.require(Action::AddCell)?;
    let pin_hash = match body.pin.take() {
        Some(pin) => Some(pins::hash(&pin).await?),
        None => None,
    };
    Ok((
        StatusCode::CREATED,
        Json(cells::add(&hub, body, pin_hash).await?),
    ))
}

pub async fn charge(
    State(hub): State<Hub>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<Charge>,
) -> ApiResult<Json<Cell>> {
    caller.require(Action::ChargeCell)?;
    Ok(Json(cells::charge(&hub, &id, body).await?))
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
