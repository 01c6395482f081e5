//! The menu: list, add, change (price, name, category, stock, sold out).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use countertop_protocol::Action;
use countertop_protocol::{Event, MenuItem, MenuPatch, MenuSoldOutChanged, NewMenuItem, Topic};

use super::{amount, load_menu, load_menu_item, text};
use crate::auth::{random_id, Caller};
use crate::error::{ApiJson, ApiResult, AppError};
use crate::log::Routing;
use crate::Hub;

const MAX_STOCK: i64 = 1_000_000;

pub async fn list(State(hub): State<Hub>) -> ApiResult<Json<Vec<MenuItem>>> {
    let mut conn = hub.pool().acquire().await?;
    Ok(Json(load_menu(&mut conn).await?))
}

fn check_stock(stock: Option<i64>) -> Result<(), AppError> {
    match stock {
        Some(s) if !(0..=MAX_STOCK).contains(&s) => Err(AppError::validation(format!(
            "stock must be between 0 and {MAX_STOCK}"
        ))),
        _ => Ok(()),
    }
}

fn slug(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    let out = out.trim_end_matches('-');
    let mut out: String = out.chars().take(40).collect();
    if out.is_empty() {
        out = format!("item-{}", random_id(6));
    }
    out
}

pub async fn create(
    State(hub): State<Hub>,
    caller: Caller,
    ApiJson(body): ApiJson<NewMenuItem>,
) -> ApiResult<(StatusCode, Json<MenuItem>)> {
    caller.require(Action::EditMenu)?;
    let name = text("name", &body.name, 80)?;
    let category = text("category", &body.category, 40)?;
    let price = amount("price", body.price, 0)?;
    check_stock(body.stock)?;
    let mut w = hub.log.begin().await?;
    let base = slug(&name);
    let mut id = base.clone();
    let mut n = 2;
    while load_menu_item(&mut w.tx, &id).await?.is_some() {
        id = format!("{base}-{n}");
        n += 1;
    }
    let position: i64 =
        sqlx::query_scalar("SELECT COALESCE(MAX(position), -1) + 1 FROM menu_items")
            .fetch_one(&mut *w.tx)
            .await?;
    let item = MenuItem {
        id,
        name,
        category,
        price,
        is_sold_out: body.is_sold_out || body.stock == Some(0),
        stock: body.stock,
    };
    sqlx::query(
        "INSERT INTO menu_items (id, name, category, price, is_sold_out, stock, position)
         VALUES (?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(&item.id)
    .bind(&item.name)
    .bind(&item.category)
    .bind(item.price)
    .bind(item.is_sold_out)
    .bind(item.stock)
    .bind(position)
    .execute(&mut *w.tx)
    .await?;
    let now = hub.clock.now();
    w.emit(
        &Event::MenuUpdated(item.clone()),
        Routing::topic(Topic::Menu),
        now,
    )
    .await?;
    w.commit().await?;
    Ok((StatusCode::CREATED, Json(item)))
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
        || patch.stock.is_some();
    if touches_more && !device.role.may(Action::EditMenu) {
        return Err(AppError::forbidden(
            "a barista may only mark items sold out or back in stock",
        ));
    }
    let mut w = hub.log.begin().await?;
    let before = load_menu_item(&mut w.tx, &id)
        .await?
        .ok_or_else(|| AppError::not_found(format!("no menu item \"{id}\"")))?;
    let mut item = before.clone();
    if let Some(name) = &patch.name {
        item.name = text("name", name, 80)?;
    }
    if let Some(category) = &patch.category {
        item.category = text("category", category, 40)?;
    }
    if let Some(price) = patch.price {
        item.price = amount("price", price, 0)?;
    }
    if let Some(stock) = patch.stock {
        check_stock(stock)?;
        item.stock = stock;
        if patch.is_sold_out.is_none() {
            // Counting down to zero sells an item out; restocking it brings it back.
            match stock {
                Some(0) => item.is_sold_out = true,
                Some(_) if before.stock == Some(0) => item.is_sold_out = false,
                _ => {}
            }
        }
    }
    if let Some(sold_out) = patch.is_sold_out {
        item.is_sold_out = sold_out;
    }
    sqlx::query(
        "UPDATE menu_items SET name = ?, category = ?, price = ?, is_sold_out = ?, stock = ? WHERE id = ?",
    )
    .bind(&item.name)
    .bind(&item.category)
    .bind(item.price)
    .bind(item.is_sold_out)
    .bind(item.stock)
    .bind(&item.id)
    .execute(&mut *w.tx)
    .await?;
    let now = hub.clock.now();
    if item.is_sold_out != before.is_sold_out {
        w.emit(
            &Event::MenuSoldOutChanged(MenuSoldOutChanged {
                menu_id: item.id.clone(),
                menu_name: item.name.clone(),
                is_sold_out: item.is_sold_out,
                updated_at: now,
            }),
            Routing::topic(Topic::Menu),
            now,
        )
        .await?;
    }
    let changed_more = item.name != before.name
        || item.category != before.category
        || item.price != before.price
        || item.stock != before.stock;
    if changed_more {
        w.emit(
            &Event::MenuUpdated(item.clone()),
            Routing::topic(Topic::Menu),
            now,
        )
        .await?;
    }
    w.commit().await?;
    Ok(Json(item))
}
