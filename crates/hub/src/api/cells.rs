//! Cells (group accounts paid in points) over REST: list, add, charge, each
//! a call into the `cells` domain.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use countertop_protocol::Action;
use countertop_protocol::{Cell, Charge, NewCell};

use crate::auth::Caller;
use crate::cells;
use crate::error::{ApiJson, ApiResult};
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
    ApiJson(body): ApiJson<NewCell>,
) -> ApiResult<(StatusCode, Json<Cell>)> {
    caller.require(Action::AddCell)?;
    Ok((StatusCode::CREATED, Json(cells::add(&hub, body).await?)))
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
