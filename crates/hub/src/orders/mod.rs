//! Orders, the domain: placing one (checked, priced from the menu, paid,
//! numbered, announced), reading them, and moving or cancelling one. The
//! functions work on the event log's `Writer` and the storage layer
//! (`store`), and answer with [`OrderError`]; `api::orders` only extracts,
//! calls and maps.

pub(crate) mod dashboard;
mod marks;
mod place;
mod pricing;
mod status;

use axum::http::StatusCode;
use chrono::NaiveDate;
use countertop_protocol::ErrorCode;
use countertop_protocol::{Order, OrderLookup, OrderStatus, Role};

use crate::auth::DeviceRecord;
use crate::error::AppError;
use crate::input::Invalid;
use crate::store::{self, StoreError};
use crate::Hub;

pub(crate) use marks::mark_items;
pub(crate) use place::{place, Placed};
pub(crate) use status::{cancel, change_status};

const DEFAULT_LIMIT: u32 = 500;
const MAX_LIMIT: u32 = 5000;

/// Why an order could not be placed, read, moved or cancelled.
#[derive(Debug, thiserror::Error)]
pub(crate) enum OrderError {
    /// The request itself is wrong (a field, a count, an unknown item).
    #[error("{0}")]
    Invalid(String),
    /// A kiosk ordered while the café has kiosks switched off.
    #[error("the kiosk is switched off; ordering is paused")]
    KioskInactive,
    #[error("{0}")]
    SoldOut(String),
    #[error("{0}")]
    InsufficientBalance(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    InvalidTransition(String),
    #[error("daily number overflow")]
    DailyNumberOverflow,
    /// A stored order's status is not one the hub knows.
    #[error("bad status")]
    BadStatus,
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A kiosk paid with a cell without its right PIN.
    #[error(transparent)]
    Pin(#[from] crate::pins::PinError),
}

impl From<sqlx::Error> for OrderError {
    fn from(err: sqlx::Error) -> OrderError {
        OrderError::Store(err.into())
    }
}

impl From<Invalid> for OrderError {
    fn from(err: Invalid) -> OrderError {
        OrderError::Invalid(err.0)
    }
}

impl From<OrderError> for AppError {
    fn from(err: OrderError) -> AppError {
        match err {
            OrderError::Invalid(message) => AppError::validation(message),
            OrderError::KioskInactive => AppError::new(
                StatusCode::LOCKED,
                ErrorCode::KioskInactive,
                "the kiosk is switched off; ordering is paused",
            ),
            OrderError::SoldOut(message) => AppError::conflict(ErrorCode::SoldOut, message),
            OrderError::InsufficientBalance(message) => {
                AppError::conflict(ErrorCode::InsufficientBalance, message)
            }
            OrderError::NotFound(message) => AppError::not_found(message),
            OrderError::InvalidTransition(message) => {
                AppError::conflict(ErrorCode::InvalidTransition, message)
            }
            OrderError::DailyNumberOverflow => AppError::internal("daily number overflow"),
            OrderError::BadStatus => AppError::internal("bad status"),
            OrderError::Store(e) => e.into(),
            OrderError::Pin(e) => e.into(),
        }
    }
}

/// The orders of one local day (today if `date` is not given) that `device`
/// may see, newest first: staff see all, a kiosk only its own.
pub(crate) async fn list(
    hub: &Hub,
    device: &DeviceRecord,
    status: Option<&str>,
    date: Option<&str>,
    limit: Option<u32>,
) -> Result<Vec<Order>, OrderError> {
    let status = match status.filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => Some(
            OrderStatus::parse(s)
                .ok_or_else(|| OrderError::Invalid(format!("unknown status \"{s}\"")))?,
        ),
    };
    let date = match date.filter(|s| !s.is_empty()) {
        None => hub.clock.today(),
        Some(d) => NaiveDate::parse_from_str(d, "%Y-%m-%d")
            .map_err(|_| OrderError::Invalid("date must be YYYY-MM-DD".into()))?,
    };
    let limit = limit.unwrap_or(DEFAULT_LIMIT);
    if limit == 0 || limit > MAX_LIMIT {
        return Err(OrderError::Invalid(format!(
            "limit must be between 1 and {MAX_LIMIT}"
        )));
    }
    let own = (device.role == Role::Kiosk).then_some(device.id.as_str());
    let mut conn = hub.pool().acquire().await?;
    Ok(store::orders::list(&mut conn, date, status, own, limit).await?)
}

/// An order `device` may see: staff see all, a kiosk only its own.
pub(crate) async fn visible(
    conn: &mut impl crate::store::Exec,
    device: &DeviceRecord,
    id: &str,
) -> Result<Order, OrderError> {
    let row = store::orders::load_order(conn, id)
        .await?
        .ok_or_else(|| OrderError::NotFound(format!("no order \"{id}\"")))?;
    if device.role == Role::Kiosk && row.device_id.as_deref() != Some(device.id.as_str()) {
        return Err(OrderError::NotFound(format!("no order \"{id}\"")));
    }
    Ok(row.into_order()?)
}

/// Today's order with daily number `n` (required).
pub(crate) async fn lookup(hub: &Hub, n: Option<u32>) -> Result<OrderLookup, OrderError> {
    let n = n.ok_or_else(|| OrderError::Invalid("dailyNum is required".into()))?;
    let mut conn = hub.pool().acquire().await?;
    let (order_id, status) = store::orders::by_daily_num(&mut conn, hub.clock.today(), n)
        .await?
        .ok_or_else(|| OrderError::NotFound(format!("no order number {n} today")))?;
    Ok(OrderLookup {
        order_id,
        daily_num: n,
        status: OrderStatus::parse(&status).ok_or(OrderError::BadStatus)?,
    })
}
