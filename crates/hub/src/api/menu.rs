//! The menu over REST: list, add, change (price, name, category, stock, sold
//! out, option groups, station, names, position), delete, each a call into
//! the `menu` domain.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use countertop_protocol::Action;
use countertop_protocol::{MenuItem, MenuPatch, NewMenuItem};

use crate::auth::Caller;
use crate::error::{ApiJson, ApiResult, AppError};
use crate::menu;
use crate::store::menu::load_menu;
use crate::Hub;

pub async fn list(State(hub): State<Hub>) -> ApiResult<Json<Vec<MenuItem>>> {
    let mut conn = hub.pool().acquire().await?;
    Ok(Json(load_menu(&mut conn).await?))
}

pub async fn create(
    State(hub): State<Hub>,
    caller: Caller,
    ApiJson(body): ApiJson<NewMenuItem>,
) -> ApiResult<(StatusCode, Json<MenuItem>)> {
    caller.require(Action::EditMenu)?;
    Ok((StatusCode::CREATED, Json(menu::add(&hub, body).await?)))
}

pub async fn update(
    State(hub): State<Hub>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(patch): ApiJson<MenuPatch>,
) -> ApiResult<Json<MenuItem>> {
    let device = caller.require(Action::SetSoldOut)?;
    let touches_more = patch.name.is_some()
        || patch.category.is_some()
        || patch.price.is_some()
        || patch.stock.is_some()
        || patch.option_groups.is_some()
        || patch.station.is_some()
        || patch.names.is_some()
        || patch.position.is_some();
    if touches_more && !device.role.may(Action::EditMenu) {
        return Err(AppError::forbidden(
            "a barista may only mark items sold out or back in stock",
        ));
    }
    Ok(Json(menu::change(&hub, &id, patch).await?))
}

pub async fn delete(
    State(hub): State<Hub>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    caller.require(Action::DeleteMenuItem)?;
    menu::delete(&hub, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
