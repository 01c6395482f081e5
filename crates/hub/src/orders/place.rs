//! Placing an order: the request checked, a retry answered with the order
//! it already placed, the kiosk switch, pricing (options included) and
//! stock, a cell's debit, the daily number, the time the customer placed it,
//! the row, and its events, in one `Writer` transaction.

use chrono::{DateTime, Duration, SubsecRound, Utc};
use countertop_protocol::SettingKey;
use countertop_protocol::{
    BalanceChangeType, CellBalanceChanged, CellInfo, Event, NewOrder, Order, OrderStatus, PayType,
    Role, Topic,
};

use super::{dashboard, pricing, OrderError};
use crate::auth::{random_id, DeviceRecord};
use crate::input::text;
use crate::log::{Routing, Writer};
use crate::menu::MAX_CHOSEN_PER_LINE;
use crate::store;
use crate::Hub;

const MAX_LINES: usize = 50;
const MAX_QUANTITY: u32 = 99;
const MAX_KEY_LEN: usize = 128;
const MAX_REFERENCE_LEN: usize = 12;
/// How old a device's `placedAt` may be: a kiosk queues orders offline for
/// a shift at most; anything older is a wrong clock, and the hub's now
/// stands instead.
const MAX_PLACED_AGE: Duration = Duration::hours(12);
/// How far ahead of the hub a device's clock may run.
const MAX_PLACED_AHEAD: Duration = Duration::seconds(5);

/// What placing an order did.
pub(crate) enum Placed {
    /// A retry: the device already placed an order under this key.
    Existing(Order),
    Created(Order),
}

/// An order id: `ORD-<unix millis>-<six lowercase letters or digits>`.
fn new_order_id(now: DateTime<Utc>) -> String {
    format!("ORD-{}-{}", now.timestamp_millis(), random_id(6))
}

/// The idempotency key of a well-formed request.
fn check(new: &NewOrder) -> Result<String, OrderError> {
    let key = text("idempotencyKey", &new.idempotency_key, MAX_KEY_LEN)?;
    if new.items.is_empty() || new.items.len() > MAX_LINES {
        return Err(OrderError::Invalid(format!(
            "an order has 1 to {MAX_LINES} items"
        )));
    }
    for item in &new.items {
        if item.quantity == 0 || item.quantity > MAX_QUANTITY {
            return Err(OrderError::Invalid(format!(
                "quantity must be between 1 and {MAX_QUANTITY}"
            )));
        }
        if item.options.len() > MAX_CHOSEN_PER_LINE {
            return Err(OrderError::Invalid(format!(
                "a line has at most {MAX_CHOSEN_PER_LINE} options"
            )));
        }
    }
    if let Some(reference) = &new.reference {
        let ok = !reference.is_empty()
            && reference.len() <= MAX_REFERENCE_LEN
            && reference
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-');
        if !ok {
            return Err(OrderError::Invalid(format!(
                "reference must be 1 to {MAX_REFERENCE_LEN} letters, digits or -"
            )));
        }
    }
    match (new.pay_type, &new.cell_id) {
        (PayType::Cell, None) => Err(OrderError::Invalid("CELL payment needs cellId".into())),
        (PayType::Card | PayType::Cash, Some(_)) => Err(OrderError::Invalid(
            "cellId goes only with payType CELL".into(),
        )),
        _ => Ok(key),
    }
}

/// When the customer placed the order: the device's `placedAt` if it is
/// within the last 12 hours and not ahead of `now` by more than 5 seconds
/// (a little ahead counts as now), else `now`.
fn placed_at(device_said: Option<DateTime<Utc>>, now: DateTime<Utc>) -> DateTime<Utc> {
    match device_said {
        Some(at) if at >= now - MAX_PLACED_AGE && at <= now + MAX_PLACED_AHEAD => {
            at.min(now).trunc_subsecs(3)
        }
        _ => now,
    }
}

/// Places `new` for `device`, or answers a retry with the order it placed.
pub(crate) async fn place(
    hub: &Hub,
    device: &DeviceRecord,
    new: NewOrder,
) -> Result<Placed, OrderError> {
    let key = check(&new)?;

    // A retry of an order already taken answers with that order, whatever
    // has changed since (sold out, kiosk switched off).
    {
        let mut conn = hub.pool().acquire().await?;
        if let Some(order) = store::orders::by_key(&mut conn, &device.id, &key).await? {
            return Ok(Placed::Existing(order));
        }
    }

    // A kiosk spends a team's points only with the team's PIN, checked here,
    // before the writer is taken (argon2 is slow on purpose); a manager pays
    // without one.
    if let (Role::Kiosk, PayType::Cell, Some(cell_id)) = (device.role, new.pay_type, &new.cell_id) {
        crate::pins::check_order(hub, cell_id, new.cell_pin.as_deref()).await?;
    }

    let mut w = hub.log.begin().await?;
    if let Some(order) = store::orders::by_key(&mut w.tx, &device.id, &key).await? {
        return Ok(Placed::Existing(order));
    }
    let now = hub.clock.now();
    let today = hub.clock.local_date(now);
    let order = take(&mut w, device, &key, &new, now, today).await?;
    dashboard::refresh(hub, &mut w, now).await?;
    w.commit().await?;
    tracing::info!(order = %order.order_id, daily_num = order.daily_num, total = order.total_amount, "order created");
    Ok(Placed::Created(order))
}

/// Takes the order inside the writer's transaction: everything but the
/// dashboard and the commit.
async fn take(
    w: &mut Writer<'_>,
    device: &DeviceRecord,
    key: &str,
    new: &NewOrder,
    now: DateTime<Utc>,
    today: chrono::NaiveDate,
) -> Result<Order, OrderError> {
    if device.role == Role::Kiosk
        && store::settings::setting(&mut w.tx, SettingKey::IsKioskActive.as_str())
            .await?
            .as_deref()
            == Some("false")
    {
        return Err(OrderError::KioskInactive);
    }

    let mut priced = pricing::price(&mut w.tx, &new.items).await?;
    let total = priced.total;

    let mut cell_info = None;
    let mut cell_change = None;
    if let (PayType::Cell, Some(cell_id)) = (new.pay_type, &new.cell_id) {
        let cell = store::cells::load_cell(&mut w.tx, cell_id)
            .await?
            .ok_or_else(|| OrderError::Invalid(format!("unknown cell \"{cell_id}\"")))?;
        if cell.balance < total {
            return Err(OrderError::InsufficientBalance(format!(
                "{} has {} points; this order needs {total}",
                cell.name, cell.balance
            )));
        }
        store::cells::debit(&mut w.tx, &cell.id, total).await?;
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
            reason: None,
        });
    }

    let daily_num = store::orders::next_daily_num(&mut w.tx, today).await?;
    let order = Order {
        order_id: new_order_id(now),
        daily_num: u32::try_from(daily_num).map_err(|_| OrderError::DailyNumberOverflow)?,
        pay_type: new.pay_type,
        cell_info,
        items: std::mem::take(&mut priced.lines),
        total_amount: total,
        status: OrderStatus::Pending,
        created_at: now,
        updated_at: now,
        cancel_reason: None,
        fulfilment: new.fulfilment,
        placed_at: Some(placed_at(new.placed_at, now)),
        reference: new.reference.clone(),
    };
    store::orders::insert(&mut w.tx, &order, daily_num, today, &device.id, key).await?;

    w.emit(
        &Event::OrderCreated(order.created_event()),
        Routing::order(&order.order_id),
        now,
    )
    .await?;
    if let Some(change) = cell_change {
        store::ledger::record(
            &mut w.tx,
            store::ledger::Change::of_event(&change, Some(&order.order_id), Some(&device.id)),
        )
        .await?;
        w.emit(
            &Event::CellBalanceChanged(change),
            Routing::topic(Topic::Cells),
            now,
        )
        .await?;
    }
    pricing::take_stock(w, &priced, now).await?;
    Ok(order)
}
