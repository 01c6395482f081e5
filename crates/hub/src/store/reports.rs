//! What the daily report reads: the day's orders, and the two tables kept
//! for it because the event log is pruned (`order_recalls`, `cell_charges`),
//! each row written in the transaction of its change.

use chrono::{DateTime, NaiveDate, Utc};
use countertop_protocol::OrderStatus;
use sqlx::SqliteConnection;

use super::{parse_ts, ts, StoreError};

/// Notes a status move back of order `id` on the local day `date`.
pub async fn record_recall(
    conn: &mut SqliteConnection,
    id: &str,
    (from, to): (OrderStatus, OrderStatus),
    date: NaiveDate,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO order_recalls (order_id, from_status, to_status, local_date, at)
         VALUES (?, ?, ?, ?, ?)",
    )
    .bind(id)
    .bind(from.as_str())
    .bind(to.as_str())
    .bind(date.to_string())
    .bind(ts(now))
    .execute(conn)
    .await?;
    Ok(())
}

/// Notes `amount` points charged to cell `id` on the local day `date`.
pub async fn record_charge(
    conn: &mut SqliteConnection,
    id: &str,
    amount: i64,
    date: NaiveDate,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO cell_charges (cell_id, amount, local_date, at) VALUES (?, ?, ?, ?)")
        .bind(id)
        .bind(amount)
        .bind(date.to_string())
        .bind(ts(now))
        .execute(conn)
        .await?;
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
    conn: &mut SqliteConnection,
    date: NaiveDate,
) -> Result<DaySums, sqlx::Error> {
    let revenue = |pay: &str| {
        format!(
            "COALESCE(SUM(CASE WHEN status != 'CANCELLED' AND pay_type = '{pay}' \
             THEN total_amount ELSE 0 END), 0)"
        )
    };
    sqlx::query_as(&format!(
        "SELECT COALESCE(SUM(status != 'CANCELLED'), 0) AS orders,
            COALESCE(SUM(status = 'CANCELLED'), 0) AS cancellations,
            {} AS card, {} AS cash, {} AS cell,
            (SELECT COALESCE(SUM(amount), 0) FROM cell_charges WHERE local_date = ?1)
                AS points_charged,
            (SELECT COUNT(*) FROM order_recalls WHERE local_date = ?1) AS recalls
         FROM orders WHERE local_date = ?1",
        revenue("CARD"),
        revenue("CASH"),
        revenue("CELL"),
    ))
    .bind(date.to_string())
    .fetch_one(conn)
    .await
}

/// How long each order of the local day `date` that reached `READY` took,
/// from its placement (its arrival at the hub, for orders placed before
/// placement was kept) to `READY` (its last move there from `MAKING`: a
/// recalled order's making counts again), in milliseconds.
pub async fn prep_millis(
    conn: &mut SqliteConnection,
    date: NaiveDate,
) -> Result<Vec<i64>, StoreError> {
    let rows: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT id, COALESCE(placed_at, created_at), ready_at FROM orders
         WHERE local_date = ? AND ready_at IS NOT NULL",
    )
    .bind(date.to_string())
    .fetch_all(conn)
    .await?;
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
