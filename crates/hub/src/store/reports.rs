//! What the daily report reads: the day's orders, and the two tables kept
//! for it because the event log is pruned (`order_recalls`, `cell_charges`),
//! each row written in the transaction of its change.

use chrono::{DateTime, NaiveDate, Utc};
use countertop_protocol::OrderStatus;

use super::{parse_ts, ts, StoreError};

/// Notes a status move back of order `id` on the local day `date`.
pub async fn record_recall(
    conn: &mut impl crate::store::Exec,
    id: &str,
    (from, to): (OrderStatus, OrderStatus),
    date: NaiveDate,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    crate::on!(conn, |ex| sqlx::query(
        "INSERT INTO order_recalls (order_id, from_status, to_status, local_date, at)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(id)
    .bind(from.as_str())
    .bind(to.as_str())
    .bind(date.to_string())
    .bind(ts(now))
    .execute(ex)
    .await
    .map(|done| done.rows_affected()))?;
    Ok(())
}

/// Notes `amount` points charged to cell `id` on the local day `date`.
pub async fn record_charge(
    conn: &mut impl crate::store::Exec,
    id: &str,
    amount: i64,
    date: NaiveDate,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    crate::on!(conn, |ex| sqlx::query(
        "INSERT INTO cell_charges (cell_id, amount, local_date, at) VALUES ($1, $2, $3, $4)",
    )
    .bind(id)
    .bind(amount)
    .bind(date.to_string())
    .bind(ts(now))
    .execute(ex)
    .await
    .map(|done| done.rows_affected()))?;
    Ok(())
}

/// The sums of one local day, as stored.
#[derive(Debug, sqlx::FromRow)]
pub struct DaySums {
    pub orders: i64,
    pub cancellations: i64,
    pub card: i64,
    pub cash: i64,
    pub cell: i64,
    pub points_charged: i64,
    pub recalls: i64,
}

/// The sums of the local day `date`: orders and revenue by pay type of the
/// orders not cancelled, cancellations, points charged, recalls.
pub async fn day_sums(
    conn: &mut impl crate::store::Exec,
    date: NaiveDate,
) -> Result<DaySums, sqlx::Error> {
    let revenue = |pay: &str| {
        format!(
            "CAST(COALESCE(SUM(CASE WHEN status != 'CANCELLED' AND pay_type = '{pay}' \
             THEN total_amount ELSE 0 END), 0) AS BIGINT)"
        )
    };
    crate::on!(conn, |ex| sqlx::query_as(&format!(
        "SELECT
            CAST(COALESCE(SUM(CASE WHEN status != 'CANCELLED' THEN 1 ELSE 0 END), 0) AS BIGINT)
                AS orders,
            CAST(COALESCE(SUM(CASE WHEN status = 'CANCELLED' THEN 1 ELSE 0 END), 0) AS BIGINT)
                AS cancellations,
            {} AS card, {} AS cash, {} AS cell,
            (SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) FROM cell_charges
             WHERE local_date = $1) AS points_charged,
            (SELECT COUNT(*) FROM order_recalls WHERE local_date = $1) AS recalls
         FROM orders WHERE local_date = $1",
        revenue("CARD"),
        revenue("CASH"),
        revenue("CELL"),
    ))
    .bind(date.to_string())
    .fetch_one(ex)
    .await)
}

/// How long each order of the local day `date` that reached `READY` took,
/// from its placement (its arrival at the hub, for orders placed before
/// placement was kept) to `READY` (its last move there from `MAKING`: a
/// recalled order's making counts again), in milliseconds.
pub async fn prep_millis(
    conn: &mut impl crate::store::Exec,
    date: NaiveDate,
) -> Result<Vec<i64>, StoreError> {
    let rows: Vec<(String, String, String)> = crate::on!(conn, |ex| sqlx::query_as(
        "SELECT id, COALESCE(placed_at, created_at), ready_at FROM orders
         WHERE local_date = $1 AND ready_at IS NOT NULL",
    )
    .bind(date.to_string())
    .fetch_all(ex)
    .await)?;
    rows.into_iter()
        .map(|(id, placed, ready)| {
            let (Some(placed), Some(ready)) = (parse_ts(&placed), parse_ts(&ready)) else {
                return Err(StoreError::Unreadable(format!(
                    "order {id}'s times are unreadable"
                )));
            };
            // A device's clock may run ahead of the hub's.
            Ok((ready - placed).num_milliseconds().max(0))
        })
        .collect()
}

/// One order of a day as the full report reads it.
#[derive(Debug, Clone)]
pub struct DayOrder {
    pub id: String,
    pub daily_num: u32,
    pub status: OrderStatus,
    pub total: i64,
    pub lines: Vec<countertop_protocol::OrderLine>,
    /// Its placement (its arrival at the hub, for orders placed before
    /// placement was kept).
    pub placed: DateTime<Utc>,
    /// Its last move to `READY` from `MAKING`.
    pub ready: Option<DateTime<Utc>>,
    pub cancel_reason: Option<String>,
    /// Its last change: when it was cancelled, for a cancelled order.
    pub updated: DateTime<Utc>,
}

/// The orders of the local day `date`, by daily number.
pub async fn day_orders(
    conn: &mut impl crate::store::Exec,
    date: NaiveDate,
) -> Result<Vec<DayOrder>, StoreError> {
    type Row = (
        String,
        i64,
        String,
        i64,
        String,
        String,
        Option<String>,
        Option<String>,
        String,
    );
    let rows: Vec<Row> = crate::on!(conn, |ex| sqlx::query_as(
        "SELECT id, daily_num, status, total_amount, items, COALESCE(placed_at, created_at),
                ready_at, cancel_reason, updated_at
         FROM orders WHERE local_date = $1 ORDER BY daily_num",
    )
    .bind(date.to_string())
    .fetch_all(ex)
    .await)?;
    rows.into_iter()
        .map(
            |(id, daily_num, status, total, items, placed, ready, cancel_reason, updated)| {
                let bad = || StoreError::Unreadable(format!("order {id} is unreadable"));
                let ready = match ready {
                    Some(at) => Some(parse_ts(&at).ok_or_else(bad)?),
                    None => None,
                };
                Ok(DayOrder {
                    daily_num: u32::try_from(daily_num).map_err(|_| bad())?,
                    status: OrderStatus::parse(&status).ok_or_else(bad)?,
                    total,
                    lines: serde_json::from_str(&items)?,
                    placed: parse_ts(&placed).ok_or_else(bad)?,
                    ready,
                    cancel_reason,
                    updated: parse_ts(&updated).ok_or_else(bad)?,
                    id,
                })
            },
        )
        .collect()
}

/// A recall of the day, with the order's daily number if it is stored.
#[derive(Debug, Clone)]
pub struct DayRecall {
    pub order_id: String,
    pub daily_num: Option<u32>,
    pub from: OrderStatus,
    pub to: OrderStatus,
    pub at: DateTime<Utc>,
}

/// The recalls of the local day `date`, in the order they happened.
pub async fn day_recalls(
    conn: &mut impl crate::store::Exec,
    date: NaiveDate,
) -> Result<Vec<DayRecall>, StoreError> {
    let rows: Vec<(String, Option<i64>, String, String, String)> =
        crate::on!(conn, |ex| sqlx::query_as(
            "SELECT r.order_id, o.daily_num, r.from_status, r.to_status, r.at
         FROM order_recalls r LEFT JOIN orders o ON o.id = r.order_id
         WHERE r.local_date = $1 ORDER BY r.id",
        )
        .bind(date.to_string())
        .fetch_all(ex)
        .await)?;
    rows.into_iter()
        .map(|(order_id, daily_num, from, to, at)| {
            let bad =
                || StoreError::Unreadable(format!("a recall of order {order_id} is unreadable"));
            Ok(DayRecall {
                daily_num: daily_num.and_then(|n| u32::try_from(n).ok()),
                from: OrderStatus::parse(&from).ok_or_else(bad)?,
                to: OrderStatus::parse(&to).ok_or_else(bad)?,
                at: parse_ts(&at).ok_or_else(bad)?,
                order_id,
            })
        })
        .collect()
}

/// Each menu item's station now, for lines stored without their own.
pub async fn menu_stations(
    conn: &mut impl crate::store::Exec,
) -> Result<std::collections::HashMap<String, String>, sqlx::Error> {
    let rows: Vec<(String, String)> = crate::on!(conn, |ex| sqlx::query_as(
        "SELECT id, station FROM menu_items"
    )
    .fetch_all(ex)
    .await)?;
    Ok(rows.into_iter().collect())
}
