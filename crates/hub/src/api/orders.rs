//! Orders over REST: create (idempotent), list, look up, move status,
//! cancel. Each handler extracts, checks the caller's role, calls the
//! `orders` domain and maps its answer.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use countertop_protocol::{
    Action, CancelOrder, MarkItems, NewOrder, Order, OrderLookup, StatusChange,
};
use serde::Deserialize;

use crate::auth::Caller;
use crate::error::{ApiJson, ApiQuery, ApiResult, AppError};
use crate::orders::{self, Placed};
use crate::Hub;

pub async fn create(
    State(hub): State<Hub>,
    caller: Caller,
    ApiJson(body): ApiJson<NewOrder>,
) -> ApiResult<(StatusCode, Json<Order>)> {
    let device = caller.require(Action::PlaceOrder)?.clone();
    // The hottest write: off the runtime, so that a busy fan-out does not
    // stretch its transaction (see `write_apart`).
    let placed = super::write_apart(async move {
        orders::place(&hub, &device, body)
            .await
            .map_err(AppError::from)
    })
    .await?;
    Ok(match placed {
        Placed::Existing(order) => (StatusCode::OK, Json(order)),
        Placed::Created(order) => (StatusCode::CREATED, Json(order)),
    })
}

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    status: Option<String>,
    date: Option<String>,
    limit: Option<u32>,
}

pub async fn list(
    State(hub): State<Hub>,
    caller: Caller,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Json<Vec<Order>>> {
    let device = caller.require(Action::ReadOrders)?;
    let orders = orders::list(
        &hub,
        device,
        q.status.as_deref(),
        q.date.as_deref(),
        q.limit,
    )
    .await?;
    Ok(Json(orders))
}

pub async fn get_one(
    State(hub): State<Hub>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Order>> {
    let mut conn = hub.pool().acquire().await?;
    let device = caller.require(Action::ReadOrders)?;
    Ok(Json(orders::visible(&mut conn, device, &id).await?))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LookupQuery {
    daily_num: Option<u32>,
}

pub async fn lookup(
    State(hub): State<Hub>,
    ApiQuery(q): ApiQuery<LookupQuery>,
) -> ApiResult<Json<OrderLookup>> {
    Ok(Json(orders::lookup(&hub, q.daily_num).await?))
}

pub async fn change_status(
    State(hub): State<Hub>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<StatusChange>,
) -> ApiResult<Json<Order>> {
    caller.require(Action::ChangeOrderStatus)?;
    let order = orders::change_status(&hub, &id, body.status, body.from).await?;
    Ok(Json(order))
}

pub async fn mark_items(
    State(hub): State<Hub>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<MarkItems>,
) -> ApiResult<Json<Order>> {
    caller.require(Action::ChangeOrderStatus)?;
    Ok(Json(
        orders::mark_items(&hub, &id, &body.lines, body.done).await?,
    ))
}

pub async fn cancel(
    State(hub): State<Hub>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<CancelOrder>,
) -> ApiResult<Json<Order>> {
    caller.require(Action::CancelOrder)?;
    Ok(Json(orders::cancel(&hub, &id, &body.reason).await?))
}
