//! `cell_ledger`: every change of a cell's balance (migration 0008), one
//! row written in the transaction of the change, read back newest first.

use chrono::{DateTime, Utc};
use countertop_protocol::{BalanceChangeType, Cell, CellBalanceChanged, CellLedgerEntry, Order};

use super::{parse_ts, ts, StoreError};

fn kind_str(kind: BalanceChangeType) -> &'static str {
    match kind {
        BalanceChangeType::Charge => "CHARGE",
        BalanceChangeType::Order => "ORDER",
        BalanceChangeType::Refund => "REFUND",
        BalanceChangeType::Correction => "CORRECTION",
    }
}

fn parse_kind(text: &str) -> Option<BalanceChangeType> {
    Some(match text {
        "CHARGE" => BalanceChangeType::Charge,
        "ORDER" => BalanceChangeType::Order,
        "REFUND" => BalanceChangeType::Refund,
        "CORRECTION" => BalanceChangeType::Correction,
        _ => return None,
    })
}

/// One change to note: what the balance of `cell_id` changed by and to.
#[derive(Debug, Clone, Copy)]
pub struct Change<'a> {
    pub cell_id: &'a str,
    pub kind: BalanceChangeType,
    pub amount: i64,
    pub balance_after: i64,
    pub reason: Option<&'a str>,
    pub order_id: Option<&'a str>,
    pub device_id: Option<&'a str>,
    pub at: DateTime<Utc>,
}

impl<'a> Change<'a> {
    /// The change an event announces, made for an order by a device.
    pub fn of_event(
        event: &'a CellBalanceChanged,
        order_id: Option<&'a str>,
        device_id: Option<&'a str>,
    ) -> Change<'a> {
        Change {
            cell_id: &event.cell_id,
            kind: event.kind,
            amount: event.change_amount,
            balance_after: event.balance_after,
            reason: event.reason.as_deref(),
            order_id,
            device_id,
            at: event.updated_at,
        }
    }

    /// The refund of cancelled `order` to `cell` (as it was before).
    pub fn refund(cell: &'a Cell, order: &'a Order, at: DateTime<Utc>) -> Change<'a> {
        Change {
            cell_id: &cell.id,
            kind: BalanceChangeType::Refund,
            amount: order.total_amount,
            balance_after: cell.balance + order.total_amount,
            reason: order.cancel_reason.as_deref(),
            order_id: Some(&order.order_id),
            device_id: None,
            at,
        }
    }
}

/// Notes `change` (call it in the transaction that makes it).
pub async fn record(
    conn: &mut impl crate::store::Exec,
    change: Change<'_>,
) -> Result<(), sqlx::Error> {
    crate::on!(conn, |ex| sqlx::query(
        "INSERT INTO cell_ledger
            (cell_id, kind, amount, balance_after, reason, order_id, device_id, at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(change.cell_id)
    .bind(kind_str(change.kind))
    .bind(change.amount)
    .bind(change.balance_after)
    .bind(change.reason)
    .bind(change.order_id)
    .bind(change.device_id)
    .bind(ts(change.at))
    .execute(ex)
    .await
    .map(|done| done.rows_affected()))?;
    Ok(())
}

#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    cell_id: String,
    kind: String,
    amount: i64,
    balance_after: i64,
    reason: Option<String>,
    order_id: Option<String>,
    daily_num: Option<i64>,
    device_id: Option<String>,
    at: String,
}

/// The newest `limit` changes of cell `cell_id`, newest first.
pub async fn history(
    conn: &mut impl crate::store::Exec,
    cell_id: &str,
    limit: u32,
) -> Result<Vec<CellLedgerEntry>, StoreError> {
    let rows: Vec<Row> = crate::on!(conn, |ex| sqlx::query_as(
        "SELECT l.id, l.cell_id, l.kind, l.amount, l.balance_after, l.reason, l.order_id,
                o.daily_num, l.device_id, l.at
         FROM cell_ledger l LEFT JOIN orders o ON o.id = l.order_id
         WHERE l.cell_id = $1 ORDER BY l.id DESC LIMIT $2",
    )
    .bind(cell_id)
    .bind(i64::from(limit))
    .fetch_all(ex)
    .await)?;
    rows.into_iter()
        .map(|row| {
            let bad = || {
                StoreError::Unreadable(format!(
                    "cell {}'s history entry {} is unreadable",
                    row.cell_id, row.id
                ))
            };
            Ok(CellLedgerEntry {
                id: row.id,
                kind: parse_kind(&row.kind).ok_or_else(bad)?,
                amount: row.amount,
                balance_after: row.balance_after,
                at: parse_ts(&row.at).ok_or_else(bad)?,
                daily_num: row.daily_num.and_then(|n| u32::try_from(n).ok()),
                reason: row.reason,
                order_id: row.order_id,
                device_id: row.device_id,
                cell_id: row.cell_id,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_reads_back_as_written() {
        for kind in [
            BalanceChangeType::Charge,
            BalanceChangeType::Order,
            BalanceChangeType::Refund,
            BalanceChangeType::Correction,
        ] {
            assert_eq!(parse_kind(kind_str(kind)), Some(kind));
            // As the wire spells it.
            assert_eq!(
                serde_json::to_value(kind).unwrap(),
                serde_json::json!(kind_str(kind))
            );
        }
        assert_eq!(parse_kind("charge"), None);
    }
}
