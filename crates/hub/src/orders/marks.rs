//! Item marks: a station marks the lines it made done (or undone), each
//! change announced as `order:items_marked`; the order's status follows in
//! the same transaction. The first line done starts a PENDING order
//! (`MAKING`); the last one makes it `READY`; a line undone on a READY order
//! recalls it to `MAKING`.
//!
//! A PENDING order has no line done. A READY or COMPLETED order counts
//! every line done, marked or not (the expo may bump a whole order), so a
//! mark `done` on it changes nothing; a recall to MAKING clears the marks.

use chrono::{DateTime, Utc};
use countertop_protocol::{Event, Order, OrderItemsMarked, OrderStatus, StatusMove};

use super::status::{apply_move, load};
use super::{dashboard, OrderError};
use crate::log::{Routing, Writer};
use crate::store;
use crate::Hub;

/// Most lines one mark may name (an order has at most this many lines).
const MAX_LINES: usize = 100;

/// Marks lines `lines` (indexes into the order's items) of order `id` done
/// or undone, and moves the order on (or back) when its lines say so.
/// Marking a line as it is already marked changes nothing, so a resend of
/// the same mark is harmless.
pub(crate) async fn mark_items(
    hub: &Hub,
    id: &str,
    lines: &[u32],
    done: bool,
) -> Result<Order, OrderError> {
    if lines.is_empty() || lines.len() > MAX_LINES {
        return Err(OrderError::Invalid(format!(
            "name 1 to {MAX_LINES} lines to mark"
        )));
    }
    let mut w = hub.log.begin().await?;
    let mut order = load(&mut w, id).await?;
    if let Some(&bad) = lines.iter().find(|&&i| i as usize >= order.items.len()) {
        return Err(OrderError::Invalid(format!(
            "order {} has {} lines; there is no line {bad}",
            order.daily_num,
            order.items.len()
        )));
    }
    if done && matches!(order.status, OrderStatus::Ready | OrderStatus::Completed) {
        // Made already: a late resend, or the expo was quicker.
        return Ok(order);
    }
    let mut changed: Vec<u32> = lines
        .iter()
        .copied()
        .filter(|&i| order.items[i as usize].done != done)
        .collect();
    changed.sort_unstable();
    changed.dedup();
    if changed.is_empty() {
        // Already so: a resend, or two stations agreeing.
        return Ok(order);
    }
    match order.status {
        OrderStatus::Cancelled => {
            return Err(OrderError::InvalidTransition(format!(
                "order {} was cancelled",
                order.daily_num
            )))
        }
        OrderStatus::Completed => {
            return Err(OrderError::InvalidTransition(format!(
                "order {} was picked up: recall it to READY first",
                order.daily_num
            )))
        }
        _ => {}
    }
    let now = hub.clock.now();
    announce(&mut w, &mut order, changed, done, now).await?;
    let all_done = order.items.iter().all(|l| l.done);
    let moves: &[(OrderStatus, OrderStatus, StatusMove)] = match (order.status, done) {
        (OrderStatus::Pending, true) if all_done => &[
            (
                OrderStatus::Pending,
                OrderStatus::Making,
                StatusMove::Forward,
            ),
            (OrderStatus::Making, OrderStatus::Ready, StatusMove::Forward),
        ],
        (OrderStatus::Pending, true) => &[(
            OrderStatus::Pending,
            OrderStatus::Making,
            StatusMove::Forward,
        )],
        (OrderStatus::Making, true) if all_done => {
            &[(OrderStatus::Making, OrderStatus::Ready, StatusMove::Forward)]
        }
        (OrderStatus::Ready, false) => {
            &[(OrderStatus::Ready, OrderStatus::Making, StatusMove::Recall)]
        }
        _ => &[],
    };
    for &(_, to, kind) in moves {
        apply_move(hub, &mut w, &mut order, to, kind, now).await?;
    }
    dashboard::refresh(hub, &mut w, now).await?;
    w.commit().await?;
    Ok(order)
}

/// Undoes every mark of `order` without an event of its own: a recall
/// `READY → MAKING` announces it (every client clears its marks on it).
pub(super) async fn clear(
    w: &mut Writer<'_>,
    order: &mut Order,
    now: DateTime<Utc>,
) -> Result<(), OrderError> {
    if order.items.iter().all(|l| !l.done) {
        return Ok(());
    }
    for line in &mut order.items {
        line.done = false;
        line.done_at = None;
    }
    store::orders::set_items(&mut w.tx, &order.order_id, &order.items, now).await?;
    Ok(())
}

/// Writes lines `changed` of `order` as `done`, and announces them.
async fn announce(
    w: &mut Writer<'_>,
    order: &mut Order,
    changed: Vec<u32>,
    done: bool,
    now: DateTime<Utc>,
) -> Result<(), OrderError> {
    for &i in &changed {
        let line = &mut order.items[i as usize];
        line.done = done;
        line.done_at = done.then_some(now);
    }
    store::orders::set_items(&mut w.tx, &order.order_id, &order.items, now).await?;
    order.updated_at = now;
    w.emit(
        &Event::OrderItemsMarked(OrderItemsMarked {
            order_id: order.order_id.clone(),
            daily_num: order.daily_num,
            lines: changed,
            done,
            marked_at: now,
        }),
        Routing::order(&order.order_id),
        now,
    )
    .await?;
    Ok(())
}
