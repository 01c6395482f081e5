//! Orders: create (idempotent), list, look up, move status, cancel.

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use chrono::NaiveDate;
use countertop_protocol::Action;
use countertop_protocol::{
    BalanceChangeType, CancelOrder, CellBalanceChanged, CellInfo, Event, MenuSoldOutChanged,
    NewOrder, Order, OrderCancelled, OrderLine, OrderLookup, OrderStatus, OrderStatusChanged,
    PayType, Role, StatusChange, Topic,
};
use serde::Deserialize;

use super::{load_cell, load_menu_item, load_order, setting, text, ts, OrderRow, ORDER_COLUMNS};
use crate::auth::{random_id, Caller};
use crate::error::{ApiJson, ApiQuery, ApiResult, AppError};
use crate::log::Routing;
use crate::Hub;

const MAX_LINES: usize = 50;
const MAX_QUANTITY: u32 = 99;
const MAX_OPTIONS_BYTES: usize = 1024;
const MAX_KEY_LEN: usize = 128;
const DEFAULT_LIMIT: u32 = 500;
const MAX_LIMIT: u32 = 5000;

/// An order id: `ORD-<unix millis>-<six lowercase letters or digits>`.
fn new_order_id(now: chrono::DateTime<chrono::Utc>) -> String {
    format!("ORD-{}-{}", now.timestamp_millis(), random_id(6))
}

async fn existing(
    conn: &mut sqlx::SqliteConnection,
    device: &str,
    key: &str,
) -> Result<Option<Order>, AppError> {
    let row: Option<OrderRow> = sqlx::query_as(&format!(
        "SELECT {ORDER_COLUMNS} FROM orders WHERE device_id = ? AND idempotency_key = ?"
    ))
    .bind(device)
    .bind(key)
    .fetch_optional(conn)
    .await?;
    row.map(OrderRow::into_order).transpose()
}

pub async fn create(
    State(hub): State<Hub>,
    caller: Caller,
    ApiJson(body): ApiJson<NewOrder>,
) -> ApiResult<(StatusCode, Json<Order>)> {
    // The hottest write: off the runtime, so that a busy fan-out does not
    // stretch its transaction (see `write_apart`).
    super::write_apart(create_order(hub, caller, body)).await
}

async fn create_order(
    hub: Hub,
    caller: Caller,
    body: NewOrder,
) -> ApiResult<(StatusCode, Json<Order>)> {
    let device = caller.require(Action::PlaceOrder)?.clone();
    let key = text("idempotencyKey", &body.idempotency_key, MAX_KEY_LEN)?;
    if body.items.is_empty() || body.items.len() > MAX_LINES {
        return Err(AppError::validation(format!(
            "an order has 1 to {MAX_LINES} items"
        )));
    }
    for item in &body.items {
        if item.quantity == 0 || item.quantity > MAX_QUANTITY {
            return Err(AppError::validation(format!(
                "quantity must be between 1 and {MAX_QUANTITY}"
            )));
        }
        if let Some(options) = &item.options {
            if options.to_string().len() > MAX_OPTIONS_BYTES {
                return Err(AppError::validation("options are too large"));
            }
        }
    }
    match (body.pay_type, &body.cell_id) {
        (PayType::Cell, None) => return Err(AppError::validation("CELL payment needs cellId")),
        (PayType::Card | PayType::Cash, Some(_)) => {
            return Err(AppError::validation("cellId goes only with payType CELL"))
        }
        _ => {}
    }

    // A retry of an order already taken answers with that order, whatever
    // has changed since (sold out, kiosk switched off).
    {
        let mut conn = hub.pool().acquire().await?;
        if let Some(order) = existing(&mut conn, &device.id, &key).await? {
            return Ok((StatusCode::OK, Json(order)));
        }
    }

    let mut w = hub.log.begin().await?;
    if let Some(order) = existing(&mut w.tx, &device.id, &key).await? {
        return Ok((StatusCode::OK, Json(order)));
    }
    if device.role == Role::Kiosk
        && setting(&mut w.tx, "is_kiosk_active").await?.as_deref() == Some("false")
    {
        return Err(AppError::new(
            StatusCode::LOCKED,
            "kiosk_inactive",
            "the kiosk is switched off; ordering is paused",
        ));
    }

    let now = hub.clock.now();
    let mut lines = Vec::with_capacity(body.items.len());
    let mut wanted: BTreeMap<String, i64> = BTreeMap::new();
    let mut total: i64 = 0;
    let mut stocked = BTreeMap::new();
    for item in &body.items {
        let menu = load_menu_item(&mut w.tx, &item.menu_id)
            .await?
            .ok_or_else(|| {
                AppError::validation(format!("unknown menu item \"{}\"", item.menu_id))
            })?;
        if menu.is_sold_out {
            return Err(AppError::conflict(
                "sold_out",
                format!("{} is sold out", menu.name),
            ));
        }
        let qty = i64::from(item.quantity);
        *wanted.entry(menu.id.clone()).or_default() += qty;
        let line_total = menu
            .price
            .checked_mul(qty)
            .ok_or_else(|| AppError::validation("total overflows"))?;
        total = total
            .checked_add(line_total)
            .ok_or_else(|| AppError::validation("total overflows"))?;
        lines.push(OrderLine {
            menu_id: menu.id.clone(),
            menu_name: menu.name.clone(),
            quantity: item.quantity,
            unit_price: menu.price,
            total_price: line_total,
            options: item.options.clone(),
        });
        stocked.insert(menu.id.clone(), menu);
    }
    for (id, qty) in &wanted {
        let menu = &stocked[id];
        if let Some(stock) = menu.stock {
            if stock < *qty {
                return Err(AppError::conflict(
                    "sold_out",
                    format!("only {stock} {} left", menu.name),
                ));
            }
        }
    }

    let mut cell_info = None;
    let mut cell_change = None;
    if let (PayType::Cell, Some(cell_id)) = (body.pay_type, &body.cell_id) {
        let cell = load_cell(&mut w.tx, cell_id)
            .await?
            .ok_or_else(|| AppError::validation(format!("unknown cell \"{cell_id}\"")))?;
        if cell.balance < total {
            return Err(AppError::conflict(
                "insufficient_balance",
                format!(
                    "{} has {} points; this order needs {total}",
                    cell.name, cell.balance
                ),
            ));
        }
        sqlx::query("UPDATE cells SET balance = balance - ? WHERE id = ?")
            .bind(total)
            .bind(&cell.id)
            .execute(&mut *w.tx)
            .await?;
        cell_info = Some(CellInfo {
            id: cell.id.clone(),
            name: cell.name.clone(),
        });
        cell_change = Some(CellBalanceChanged {
            cell_id: cell.id,
            cell_name: cell.name,
            balance_before: cell.balance,
            balance_after: cell.balance - total,
            change_amount: -total,
            kind: BalanceChangeType::Order,
            updated_at: now,
        });
    }

    let today = hub.clock.local_date(now);
    let daily_num: i64 = sqlx::query_scalar(
        "SELECT COALESCE(MAX(daily_num), 0) + 1 FROM orders WHERE local_date = ?",
    )
    .bind(today.to_string())
    .fetch_one(&mut *w.tx)
    .await?;
    let order = Order {
        order_id: new_order_id(now),
        daily_num: u32::try_from(daily_num)
            .map_err(|_| AppError::internal("daily number overflow"))?,
        pay_type: body.pay_type,
        cell_info,
        items: lines,
        total_amount: total,
        status: OrderStatus::Pending,
        created_at: now,
        updated_at: now,
        cancel_reason: None,
    };
    sqlx::query(
        "INSERT INTO orders (id, daily_num, local_date, pay_type, cell_id, cell_name, items,
            total_amount, status, created_at, updated_at, device_id, idempotency_key, created_ms)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(&order.order_id)
    .bind(daily_num)
    .bind(today.to_string())
    .bind(order.pay_type.as_str())
    .bind(order.cell_info.as_ref().map(|c| c.id.as_str()))
    .bind(order.cell_info.as_ref().map(|c| c.name.as_str()))
    .bind(serde_json::to_string(&order.items)?)
    .bind(total)
    .bind(OrderStatus::Pending.as_str())
    .bind(ts(now))
    .bind(ts(now))
    .bind(&device.id)
    .bind(&key)
    .bind(now.timestamp_millis())
    .execute(&mut *w.tx)
    .await?;

    w.emit(
        &Event::OrderCreated(order.created_event()),
        Routing::order(&order.order_id),
        now,
    )
    .await?;
    if let Some(change) = cell_change {
        w.emit(
            &Event::CellBalanceChanged(change),
            Routing::topic(Topic::Cells),
            now,
        )
        .await?;
    }
    for (id, qty) in wanted {
        let menu = &stocked[&id];
        let Some(stock) = menu.stock else { continue };
        let left = stock - qty;
        let sold_out = left == 0;
        sqlx::query("UPDATE menu_items SET stock = ?, is_sold_out = ? WHERE id = ?")
            .bind(left)
            .bind(sold_out)
            .bind(&id)
            .execute(&mut *w.tx)
            .await?;
        let mut updated = menu.clone();
        updated.stock = Some(left);
        updated.is_sold_out = sold_out;
        if sold_out {
            w.emit(
                &Event::MenuSoldOutChanged(MenuSoldOutChanged {
                    menu_id: id.clone(),
                    menu_name: menu.name.clone(),
                    is_sold_out: true,
                    updated_at: now,
                }),
                Routing::topic(Topic::Menu),
                now,
            )
            .await?;
        }
        w.emit(
            &Event::MenuUpdated(updated),
            Routing::topic(Topic::Menu),
            now,
        )
        .await?;
    }
    super::dashboard::refresh(&hub, &mut w, now).await?;
    w.commit().await?;
    tracing::info!(order = %order.order_id, daily_num = order.daily_num, total, "order created");
    Ok((StatusCode::CREATED, Json(order)))
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
    let status = match q.status.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => Some(
            OrderStatus::parse(s)
                .ok_or_else(|| AppError::validation(format!("unknown status \"{s}\"")))?,
        ),
    };
    let date = match q.date.as_deref().filter(|s| !s.is_empty()) {
        None => hub.clock.today(),
        Some(d) => NaiveDate::parse_from_str(d, "%Y-%m-%d")
            .map_err(|_| AppError::validation("date must be YYYY-MM-DD"))?,
    };
    let limit = q.limit.unwrap_or(DEFAULT_LIMIT);
    if limit == 0 || limit > MAX_LIMIT {
        return Err(AppError::validation(format!(
            "limit must be between 1 and {MAX_LIMIT}"
        )));
    }
    let own = (device.role == Role::Kiosk).then_some(device.id.as_str());
    let rows: Vec<OrderRow> = sqlx::query_as(&format!(
        "SELECT {ORDER_COLUMNS} FROM orders
         WHERE local_date = ? AND (? IS NULL OR status = ?) AND (? IS NULL OR device_id = ?)
         ORDER BY created_ms DESC, daily_num DESC LIMIT ?"
    ))
    .bind(date.to_string())
    .bind(status.map(OrderStatus::as_str))
    .bind(status.map(OrderStatus::as_str))
    .bind(own)
    .bind(own)
    .bind(i64::from(limit))
    .fetch_all(hub.pool())
    .await?;
    let orders = rows
        .into_iter()
        .map(OrderRow::into_order)
        .collect::<Result<_, _>>()?;
    Ok(Json(orders))
}

/// An order the caller may see: staff see all, a kiosk only its own.
async fn visible_order(
    hub: &Hub,
    caller: &Caller,
    conn: &mut sqlx::SqliteConnection,
    id: &str,
) -> ApiResult<OrderRow> {
    let device = caller.require(Action::ReadOrders)?;
    let _ = hub;
    let row = load_order(conn, id)
        .await?
        .ok_or_else(|| AppError::not_found(format!("no order \"{id}\"")))?;
    if device.role == Role::Kiosk && row.device_id.as_deref() != Some(device.id.as_str()) {
        return Err(AppError::not_found(format!("no order \"{id}\"")));
    }
    Ok(row)
}

pub async fn get_one(
    State(hub): State<Hub>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Order>> {
    let mut conn = hub.pool().acquire().await?;
    let row = visible_order(&hub, &caller, &mut conn, &id).await?;
    Ok(Json(row.into_order()?))
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
    let n = q
        .daily_num
        .ok_or_else(|| AppError::validation("dailyNum is required"))?;
    let row: Option<(String, i64, String)> = sqlx::query_as(
        "SELECT id, daily_num, status FROM orders WHERE local_date = ? AND daily_num = ?",
    )
    .bind(hub.clock.today().to_string())
    .bind(i64::from(n))
    .fetch_optional(hub.pool())
    .await?;
    let (order_id, _, status) =
        row.ok_or_else(|| AppError::not_found(format!("no order number {n} today")))?;
    Ok(Json(OrderLookup {
        order_id,
        daily_num: n,
        status: OrderStatus::parse(&status).ok_or_else(|| AppError::internal("bad status"))?,
    }))
}

pub async fn change_status(
    State(hub): State<Hub>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<StatusChange>,
) -> ApiResult<Json<Order>> {
    caller.require(Action::ChangeOrderStatus)?;
    let mut w = hub.log.begin().await?;
    let mut order = load_order(&mut w.tx, &id)
        .await?
        .ok_or_else(|| AppError::not_found(format!("no order \"{id}\"")))?
        .into_order()?;
    let previous = order.status;
    if body.status == OrderStatus::Cancelled {
        return Err(AppError::conflict(
            "invalid_transition",
            "cancel an order through POST /api/orders/{id}/cancel with a reason",
        ));
    }
    if previous.next() != Some(body.status) {
        return Err(AppError::conflict(
            "invalid_transition",
            format!(
                "an order cannot move from {} to {}",
                previous.as_str(),
                body.status.as_str()
            ),
        ));
    }
    let now = hub.clock.now();
    sqlx::query(
        "UPDATE orders SET status = ?, updated_at = ?,
            ready_at = CASE WHEN ? = 'READY' THEN ? ELSE ready_at END
         WHERE id = ?",
    )
    .bind(body.status.as_str())
    .bind(ts(now))
    .bind(body.status.as_str())
    .bind(ts(now))
    .bind(&id)
    .execute(&mut *w.tx)
    .await?;
    order.status = body.status;
    order.updated_at = now;
    w.emit(
        &Event::OrderStatusChanged(OrderStatusChanged {
            order_id: order.order_id.clone(),
            daily_num: order.daily_num,
            status: body.status,
            previous_status: Some(previous),
            updated_at: Some(now),
        }),
        Routing::order(&order.order_id),
        now,
    )
    .await?;
    super::dashboard::refresh(&hub, &mut w, now).await?;
    w.commit().await?;
    Ok(Json(order))
}

pub async fn cancel(
    State(hub): State<Hub>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<CancelOrder>,
) -> ApiResult<Json<Order>> {
    caller.require(Action::CancelOrder)?;
    let reason = text("reason", &body.reason, 200)?;
    let mut w = hub.log.begin().await?;
    let mut order = load_order(&mut w.tx, &id)
        .await?
        .ok_or_else(|| AppError::not_found(format!("no order \"{id}\"")))?
        .into_order()?;
    if !order.status.is_cancellable() {
        return Err(AppError::conflict(
            "invalid_transition",
            format!("a {} order cannot be cancelled", order.status.as_str()),
        ));
    }
    let now = hub.clock.now();
    sqlx::query(
        "UPDATE orders SET status = 'CANCELLED', cancel_reason = ?, updated_at = ? WHERE id = ?",
    )
    .bind(&reason)
    .bind(ts(now))
    .bind(&id)
    .execute(&mut *w.tx)
    .await?;
    order.status = OrderStatus::Cancelled;
    order.cancel_reason = Some(reason.clone());
    order.updated_at = now;
    w.emit(
        &Event::OrderCancelled(OrderCancelled {
            order_id: order.order_id.clone(),
            daily_num: order.daily_num,
            reason,
            cancelled_at: now,
        }),
        Routing::order(&order.order_id),
        now,
    )
    .await?;
    if let (PayType::Cell, Some(info)) = (order.pay_type, &order.cell_info) {
        if let Some(cell) = load_cell(&mut w.tx, &info.id).await? {
            sqlx::query("UPDATE cells SET balance = balance + ? WHERE id = ?")
                .bind(order.total_amount)
                .bind(&cell.id)
                .execute(&mut *w.tx)
                .await?;
            w.emit(
                &Event::CellBalanceChanged(CellBalanceChanged {
                    cell_id: cell.id,
                    cell_name: cell.name,
                    balance_before: cell.balance,
                    balance_after: cell.balance + order.total_amount,
                    change_amount: order.total_amount,
                    kind: BalanceChangeType::Refund,
                    updated_at: now,
                }),
                Routing::topic(Topic::Cells),
                now,
            )
            .await?;
        }
    }
    super::dashboard::refresh(&hub, &mut w, now).await?;
    w.commit().await?;
    Ok(Json(order))
}
