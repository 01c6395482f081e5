//! The `orders` table: rows, lookups, the daily number, status writes, and
//! the dashboard's figures read from them.

use chrono::NaiveDate;
use countertop_protocol::{
    BoardEntry, CellInfo, Fulfilment, Order, OrderLine, OrderStatus, PayType,
};

use super::{parse_ts, ts, Conn, StoreError};

pub const ORDER_COLUMNS: &str = "id, daily_num, pay_type, cell_id, cell_name, items, total_amount, status, created_at, updated_at, cancel_reason, device_id, fulfilment, placed_at, reference";

#[derive(sqlx::FromRow)]
pub struct OrderRow {
    pub id: String,
    pub daily_num: i64,
    pub pay_type: String,
    pub cell_id: Option<String>,
    pub cell_name: Option<String>,
    pub items: String,
    pub total_amount: i64,
    pub status: String,
    pub created_at: String,
    pub updated_at: String,
    pub cancel_reason: Option<String>,
    pub device_id: Option<String>,
    pub fulfilment: String,
    /// `NULL` on orders placed before the hub kept it.
    pub placed_at: Option<String>,
    pub reference: Option<String>,
}

impl OrderRow {
    pub fn into_order(self) -> Result<Order, StoreError> {
        let bad =
            || StoreError::Unreadable(format!("order {} is stored in an unreadable form", self.id));
        // Lines stored before options were priced carry free text in
        // `options`: the protocol's lenient reader keeps it as one option.
        let items: Vec<OrderLine> = serde_json::from_str(&self.items)?;
        Ok(Order {
            daily_num: u32::try_from(self.daily_num).map_err(|_| bad())?,
            pay_type: PayType::parse(&self.pay_type).ok_or_else(bad)?,
            cell_info: match (self.cell_id.clone(), self.cell_name.clone()) {
                (Some(id), Some(name)) => Some(CellInfo { id, name }),
                _ => None,
            },
            items,
            total_amount: self.total_amount,
            status: OrderStatus::parse(&self.status).ok_or_else(bad)?,
            created_at: parse_ts(&self.created_at).ok_or_else(bad)?,
            updated_at: parse_ts(&self.updated_at).ok_or_else(bad)?,
            cancel_reason: self.cancel_reason.clone(),
            fulfilment: Fulfilment::parse(&self.fulfilment).ok_or_else(bad)?,
            placed_at: match &self.placed_at {
                Some(at) => Some(parse_ts(at).ok_or_else(bad)?),
                None => None,
            },
            reference: self.reference.clone(),
            order_id: self.id,
        })
    }
}

fn into_orders(rows: Vec<OrderRow>) -> Result<Vec<Order>, StoreError> {
    rows.into_iter().map(OrderRow::into_order).collect()
}

pub async fn load_order(
    conn: &mut impl crate::store::Exec,
    id: &str,
) -> Result<Option<OrderRow>, sqlx::Error> {
    crate::on!(conn, |ex| sqlx::query_as(&format!(
        "SELECT {ORDER_COLUMNS} FROM orders WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(ex)
    .await)
}

/// The order a device already placed under an idempotency key.
pub async fn by_key(
    conn: &mut impl crate::store::Exec,
    device: &str,
    key: &str,
) -> Result<Option<Order>, StoreError> {
    let row: Option<OrderRow> = crate::on!(conn, |ex| sqlx::query_as(&format!(
        "SELECT {ORDER_COLUMNS} FROM orders WHERE device_id = $1 AND idempotency_key = $2"
    ))
    .bind(device)
    .bind(key)
    .fetch_optional(ex)
    .await)?;
    row.map(OrderRow::into_order).transpose()
}

/// The next daily number of the local day `date`.
pub async fn next_daily_num(
    conn: &mut impl crate::store::Exec,
    date: NaiveDate,
) -> Result<i64, sqlx::Error> {
    crate::on!(conn, |ex| sqlx::query_scalar(
        "SELECT COALESCE(MAX(daily_num), 0) + 1 FROM orders WHERE local_date = $1"
    )
    .bind(date.to_string())
    .fetch_one(ex)
    .await)
}

/// Stores a new order, placed by `device` under `key` on the local day `date`.
pub async fn insert(
    conn: &mut impl crate::store::Exec,
    order: &Order,
    daily_num: i64,
    date: NaiveDate,
    device: &str,
    key: &str,
) -> Result<(), StoreError> {
    let now = order.created_at;
    crate::on!(conn, |ex| sqlx::query(
        "INSERT INTO orders (id, daily_num, local_date, pay_type, cell_id, cell_name, items,
            total_amount, status, created_at, updated_at, device_id, idempotency_key, created_ms,
            fulfilment, placed_at, reference)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)",
    )
    .bind(&order.order_id)
    .bind(daily_num)
    .bind(date.to_string())
    .bind(order.pay_type.as_str())
    .bind(order.cell_info.as_ref().map(|c| c.id.as_str()))
    .bind(order.cell_info.as_ref().map(|c| c.name.as_str()))
    .bind(serde_json::to_string(&order.items)?)
    .bind(order.total_amount)
    .bind(order.status.as_str())
    .bind(ts(now))
    .bind(ts(now))
    .bind(device)
    .bind(key)
    .bind(now.timestamp_millis())
    .bind(order.fulfilment.as_str())
    .bind(order.placed_at.map(ts))
    .bind(order.reference.as_deref())
    .execute(ex)
    .await
    .map(|done| done.rows_affected()))?;
    Ok(())
}

/// Moves an order to `status` (not `CANCELLED`), noting when it was made
/// ready (from `MAKING`: a completed order recalled to `READY` keeps its
/// time) and when it was completed (cleared by a recall).
/// Rewrites an order's lines (their done marks changed).
pub async fn set_items(
    conn: &mut impl crate::store::Exec,
    id: &str,
    items: &[OrderLine],
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), StoreError> {
    crate::on!(conn, |ex| sqlx::query(
        "UPDATE orders SET items = $1, updated_at = $2 WHERE id = $3"
    )
    .bind(serde_json::to_string(items)?)
    .bind(ts(now))
    .bind(id)
    .execute(ex)
    .await
    .map(|done| done.rows_affected()))?;
    Ok(())
}

pub async fn set_status(
    conn: &mut impl crate::store::Exec,
    id: &str,
    status: OrderStatus,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), sqlx::Error> {
    crate::on!(conn, |ex| sqlx::query(
        "UPDATE orders SET status = $1, updated_at = $2,
            ready_at = CASE WHEN $3 = 'READY' AND status = 'MAKING' THEN $4 ELSE ready_at END,
            completed_at = CASE WHEN $5 = 'COMPLETED' THEN $6 ELSE NULL END
         WHERE id = $7",
    )
    .bind(status.as_str())
    .bind(ts(now))
    .bind(status.as_str())
    .bind(ts(now))
    .bind(status.as_str())
    .bind(ts(now))
    .bind(id)
    .execute(ex)
    .await
    .map(|done| done.rows_affected()))?;
    Ok(())
}

/// When order `id` was completed, if it is `COMPLETED`.
pub async fn completed_at(
    conn: &mut impl crate::store::Exec,
    id: &str,
) -> Result<Option<chrono::DateTime<chrono::Utc>>, StoreError> {
    let stored: Option<Option<String>> = crate::on!(conn, |ex| sqlx::query_scalar(
        "SELECT completed_at FROM orders WHERE id = $1"
    )
    .bind(id)
    .fetch_optional(ex)
    .await)?;
    match stored.flatten() {
        None => Ok(None),
        Some(text) => parse_ts(&text).map(Some).ok_or_else(|| {
            StoreError::Unreadable(format!("order {id}'s completion time is unreadable"))
        }),
    }
}

/// Cancels an order with its reason.
pub async fn set_cancelled(
    conn: &mut impl crate::store::Exec,
    id: &str,
    reason: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), sqlx::Error> {
    crate::on!(conn, |ex| sqlx::query(
        "UPDATE orders SET status = 'CANCELLED', cancel_reason = $1, updated_at = $2 WHERE id = $3",
    )
    .bind(reason)
    .bind(ts(now))
    .bind(id)
    .execute(ex)
    .await
    .map(|done| done.rows_affected()))?;
    Ok(())
}

/// The orders of a local day, newest first: of one status if given, of one
/// device if given.
pub async fn list(
    conn: &mut impl crate::store::Exec,
    date: NaiveDate,
    status: Option<OrderStatus>,
    device: Option<&str>,
    limit: u32,
) -> Result<Vec<Order>, StoreError> {
    let rows: Vec<OrderRow> = crate::on!(conn, |ex| sqlx::query_as(&format!(
        "SELECT {ORDER_COLUMNS} FROM orders
         WHERE local_date = $1 AND ($2 IS NULL OR status = $3) AND ($4 IS NULL OR device_id = $5)
         ORDER BY created_ms DESC, daily_num DESC LIMIT $6"
    ))
    .bind(date.to_string())
    .bind(status.map(OrderStatus::as_str))
    .bind(status.map(OrderStatus::as_str))
    .bind(device)
    .bind(device)
    .bind(i64::from(limit))
    .fetch_all(ex)
    .await)?;
    into_orders(rows)
}

/// The id and status of the order with daily number `n` on the local day `date`.
pub async fn by_daily_num(
    conn: &mut impl crate::store::Exec,
    date: NaiveDate,
    n: u32,
) -> Result<Option<(String, String)>, sqlx::Error> {
    let row: Option<(String, i64, String)> = crate::on!(conn, |ex| sqlx::query_as(
        "SELECT id, daily_num, status FROM orders WHERE local_date = $1 AND daily_num = $2",
    )
    .bind(date.to_string())
    .bind(i64::from(n))
    .fetch_optional(ex)
    .await)?;
    Ok(row.map(|(id, _, status)| (id, status)))
}

/// A staff snapshot's orders: today's and every open one, newest first.
pub async fn today_or_open(
    conn: &mut impl crate::store::Exec,
    today: &str,
    limit: i64,
) -> Result<Vec<Order>, StoreError> {
    let rows: Vec<OrderRow> = crate::on!(conn, |ex| sqlx::query_as(&format!(
        "SELECT {ORDER_COLUMNS} FROM orders
         WHERE local_date = $1 OR status IN ('PENDING', 'MAKING', 'READY')
         ORDER BY created_ms DESC LIMIT $2"
    ))
    .bind(today)
    .bind(limit)
    .fetch_all(ex)
    .await)?;
    into_orders(rows)
}

/// The board's orders: today's open ones (`PENDING`, `MAKING`, `READY`), by
/// daily number, at most `limit`.
pub async fn board(
    conn: &mut impl crate::store::Exec,
    today: &str,
    limit: i64,
) -> Result<Vec<BoardEntry>, StoreError> {
    let rows: Vec<(String, i64, String)> = crate::on!(conn, |ex| sqlx::query_as(
        "SELECT id, daily_num, status FROM orders
         WHERE local_date = $1 AND status IN ('PENDING', 'MAKING', 'READY')
         ORDER BY daily_num LIMIT $2",
    )
    .bind(today)
    .bind(limit)
    .fetch_all(ex)
    .await)?;
    rows.into_iter()
        .map(|(id, daily_num, status)| {
            let bad =
                || StoreError::Unreadable(format!("order {id} is stored in an unreadable form"));
            Ok(BoardEntry {
                daily_num: u32::try_from(daily_num).map_err(|_| bad())?,
                status: OrderStatus::parse(&status).ok_or_else(bad)?,
                order_id: id,
            })
        })
        .collect()
}

/// A kiosk snapshot's orders: its own of today, newest first.
pub async fn today_of_device(
    conn: &mut impl crate::store::Exec,
    today: &str,
    device: Option<&str>,
    limit: i64,
) -> Result<Vec<Order>, StoreError> {
    let rows: Vec<OrderRow> = crate::on!(conn, |ex| sqlx::query_as(&format!(
        "SELECT {ORDER_COLUMNS} FROM orders WHERE local_date = $1 AND device_id = $2
         ORDER BY created_ms DESC LIMIT $3"
    ))
    .bind(today)
    .bind(device)
    .bind(limit)
    .fetch_all(ex)
    .await)?;
    into_orders(rows)
}

/// The dashboard's figures of the local day `today`: orders and revenue
/// (cancelled left out), open orders, and the average preparation time in
/// seconds. Preparation runs from `created_at`, when the hub took the order,
/// not from `placed_at`: nobody could make an order the device had queued
/// while the hub was out of reach, so that wait is not the counter's. (The
/// boards' timers start at `placedAt`: they show the customer's wait.)
pub async fn day_figures(
    conn: &mut impl crate::store::Exec,
    today: &str,
) -> Result<(i64, i64, i64, Option<f64>), sqlx::Error> {
    // One statement, not three: this runs inside every order's transaction,
    // and each statement is a round trip to SQLite's worker thread while the
    // writer lock is held.
    // The seconds between two stored timestamps (RFC 3339 text), per backend.
    let seconds = match conn.conn() {
        Conn::Sqlite(_) => "(julianday(ready_at) - julianday(created_at)) * 86400.0",
        Conn::Pg(_) => {
            "CAST(EXTRACT(EPOCH FROM (CAST(ready_at AS timestamptz) - CAST(created_at AS timestamptz))) AS DOUBLE PRECISION)"
        }
    };
    let sql = format!(
        "SELECT today.orders, today.revenue,
            (SELECT COUNT(*) FROM orders WHERE status IN ('PENDING', 'MAKING', 'READY')),
            (SELECT CAST(AVG({seconds}) AS DOUBLE PRECISION) FROM orders
             WHERE local_date = $1 AND ready_at IS NOT NULL)
         FROM (SELECT COUNT(*) AS orders,
                 CAST(COALESCE(SUM(total_amount), 0) AS BIGINT) AS revenue FROM orders
               WHERE local_date = $2 AND status != 'CANCELLED') AS today"
    );
    crate::on!(conn, |ex| sqlx::query_as(&sql)
        .bind(today)
        .bind(today)
        .fetch_one(ex)
        .await)
}

/// Whether order `id` exists.
pub async fn exists(pool: &crate::store::Db, id: &str) -> Result<bool, sqlx::Error> {
    let found: Option<i64> = crate::on_pool!(pool, |ex| sqlx::query_scalar(
        "SELECT CAST(1 AS BIGINT) FROM orders WHERE id = $1"
    )
    .bind(id)
    .fetch_optional(ex)
    .await)?;
    Ok(found.is_some())
}

/// The device that placed order `id`, if the order exists and has one.
pub async fn placed_by(pool: &crate::store::Db, id: &str) -> Result<Option<String>, sqlx::Error> {
    let owner: Option<Option<String>> = crate::on_pool!(pool, |ex| sqlx::query_scalar(
        "SELECT device_id FROM orders WHERE id = $1"
    )
    .bind(id)
    .fetch_optional(ex)
    .await)?;
    Ok(owner.flatten())
}
