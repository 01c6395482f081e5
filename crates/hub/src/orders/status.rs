//! Moving an order along its statuses, and cancelling it (a cell's payment
//! refunded), each in one `Writer` transaction with its events.

use countertop_protocol::{
    BalanceChangeType, CellBalanceChanged, Event, Order, OrderCancelled, OrderStatus,
    OrderStatusChanged, PayType, StatusMove, Topic, RECALL_WINDOW_MINUTES,
};

use super::{dashboard, marks, OrderError};
use crate::input::text;
use crate::log::{Routing, Writer};
use crate::store;
use crate::Hub;

const MAX_REASON_LEN: usize = 200;

pub(super) async fn load(w: &mut Writer<'_>, id: &str) -> Result<Order, OrderError> {
    Ok(store::orders::load_order(&mut w.tx, id)
        .await?
        .ok_or_else(|| OrderError::NotFound(format!("no order \"{id}\"")))?
        .into_order()?)
}

/// Moves order `id` to the status after its own, or recalls it one step
/// back (`READY → MAKING`; `COMPLETED → READY` within the recall window, on
/// the hub's clock). `CANCELLED` goes through [`cancel`].
///
/// `from`, when given, is the status the caller saw the order in; if the
/// order has moved on since, nothing changes. It is checked in the same
/// transaction as the move, so no other move can slip in between.
pub(crate) async fn change_status(
    hub: &Hub,
    id: &str,
    status: OrderStatus,
    from: Option<OrderStatus>,
) -> Result<Order, OrderError> {
    let mut w = hub.log.begin().await?;
    let mut order = load(&mut w, id).await?;
    let previous = order.status;
    if let Some(seen) = from.filter(|seen| *seen != previous) {
        return Err(OrderError::InvalidTransition(format!(
            "order {} is {}, not {}: it was moved meanwhile, and this change was not made",
            order.daily_num,
            previous.as_str(),
            seen.as_str()
        )));
    }
    if status == OrderStatus::Cancelled {
        return Err(OrderError::InvalidTransition(
            "cancel an order through POST /api/orders/{id}/cancel with a reason".into(),
        ));
    }
    let Some(kind) = previous.move_to(status) else {
        return Err(OrderError::InvalidTransition(format!(
            "an order cannot move from {} to {}",
            previous.as_str(),
            status.as_str()
        )));
    };
    let now = hub.clock.now();
    if kind == StatusMove::Recall && previous == OrderStatus::Completed {
        let window = chrono::Duration::minutes(RECALL_WINDOW_MINUTES);
        // An order completed before completion times were kept has none,
        // and is older than the window anyway.
        let completed = store::orders::completed_at(&mut w.tx, id).await?;
        if completed.is_none_or(|at| now - at > window) {
            return Err(OrderError::InvalidTransition(format!(
                "a completed order can be recalled only within {RECALL_WINDOW_MINUTES} minutes"
            )));
        }
    }
    // A recall from READY means the order is to be made again: its marks
    // go, announced by the status change itself (docs/protocol.md), so
    // that a client of the contract hears nothing it does not know.
    if (previous, status) == (OrderStatus::Ready, OrderStatus::Making) {
        marks::clear(&mut w, &mut order, now).await?;
    }
    apply_move(hub, &mut w, &mut order, status, kind, now).await?;
    dashboard::refresh(hub, &mut w, now).await?;
    w.commit().await?;
    Ok(order)
}

/// Writes and announces order's move to `status` (checked by the caller:
/// `kind` is what [`OrderStatus::move_to`] said of it), keeping a recall
/// for the daily report.
pub(super) async fn apply_move(
    hub: &Hub,
    w: &mut Writer<'_>,
    order: &mut Order,
    status: OrderStatus,
    kind: StatusMove,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), OrderError> {
    let previous = order.status;
    store::orders::set_status(&mut w.tx, &order.order_id, status, now).await?;
    if kind == StatusMove::Recall {
        // Kept apart from the event log, which is pruned: the daily report
        // counts recalls for 400 days and more.
        let date = hub.clock.local_date(now);
        store::reports::record_recall(&mut w.tx, &order.order_id, (previous, status), date, now)
            .await?;
    }
    order.status = status;
    order.updated_at = now;
    w.emit(
        &Event::OrderStatusChanged(OrderStatusChanged {
            order_id: order.order_id.clone(),
            daily_num: order.daily_num,
            status,
            previous_status: Some(previous),
            updated_at: Some(now),
        }),
        Routing::order(&order.order_id),
        now,
    )
    .await?;
    Ok(())
}

/// Cancels order `id` for `reason`, giving a cell back what it paid.
pub(crate) async fn cancel(hub: &Hub, id: &str, reason: &str) -> Result<Order, OrderError> {
    let reason = text("reason", reason, MAX_REASON_LEN)?;
    let mut w = hub.log.begin().await?;
    let mut order = load(&mut w, id).await?;
    if !order.status.is_cancellable() {
        return Err(OrderError::InvalidTransition(format!(
            "a {} order cannot be cancelled",
            order.status.as_str()
        )));
    }
    let now = hub.clock.now();
    store::orders::set_cancelled(&mut w.tx, id, &reason, now).await?;
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
        if let Some(cell) = store::cells::load_cell(&mut w.tx, &info.id).await? {
            store::cells::credit(&mut w.tx, &cell.id, order.total_amount).await?;
            store::ledger::record(&mut w.tx, store::ledger::Change::refund(&cell, &order, now))
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
                    reason: None,
                }),
                Routing::topic(Topic::Cells),
                now,
            )
            .await?;
        }
    }
    dashboard::refresh(hub, &mut w, now).await?;
    w.commit().await?;
    Ok(order)
}
