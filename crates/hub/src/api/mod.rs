//! The REST calls of the protocol, one module per resource, and the row
//! conversions and input checks they share.

pub mod cells;
pub mod dashboard;
pub mod devices;
pub mod menu;
pub mod notifications;
pub mod orders;
pub mod settings;
pub mod snapshot;
pub mod status;
pub mod workorders;

use countertop_protocol::{
    Cell, CellInfo, MenuItem, Order, OrderLine, OrderStatus, PayType, Settings, Workorder,
};
use sqlx::SqliteConnection;

use crate::auth::parse_ts;
use crate::error::AppError;

/// Runs a write (a handler's transaction) on a thread of its own instead of
/// the runtime's workers. Each SQLite statement is a round trip to sqlx's
/// worker thread, and each wake-up of a task on the runtime waits behind the
/// tasks already queued, which right after a commit is every subscriber's
/// connection. An order's transaction held the writer lock through a dozen
/// such waits, so with 1,000 subscribers the hub took only a few dozen
/// orders a second (see BENCHMARKS.md).
pub async fn write_apart<T: Send + 'static>(
    work: impl std::future::Future<Output = Result<T, AppError>> + Send + 'static,
) -> Result<T, AppError> {
    let runtime = tokio::runtime::Handle::current();
    match tokio::task::spawn_blocking(move || runtime.block_on(work)).await {
        Ok(out) => out,
        Err(e) => match e.try_into_panic() {
            Ok(panic) => std::panic::resume_unwind(panic),
            Err(_) => Err(AppError::internal("the hub is shutting down")),
        },
    }
}

/// A required text field: trimmed, non-empty, at most `max` characters, no
/// control characters.
pub fn text(field: &str, value: &str, max: usize) -> Result<String, AppError> {
    let value = value.trim();
    if value.is_empty() {
        return Err(AppError::validation(format!("{field} must not be empty")));
    }
    if value.chars().count() > max {
        return Err(AppError::validation(format!(
            "{field} is longer than {max} characters"
        )));
    }
    if value.chars().any(|c| c.is_control() && c != '\n') {
        return Err(AppError::validation(format!(
            "{field} contains control characters"
        )));
    }
    Ok(value.to_owned())
}

/// An amount of money in minor units, within sane bounds.
pub fn amount(field: &str, value: i64, min: i64) -> Result<i64, AppError> {
    const MAX: i64 = 1_000_000_000_000;
    if value < min || value > MAX {
        return Err(AppError::validation(format!(
            "{field} must be between {min} and {MAX}"
        )));
    }
    Ok(value)
}

#[derive(sqlx::FromRow)]
pub struct MenuRow {
    pub id: String,
    pub name: String,
    pub category: String,
    pub price: i64,
    pub is_sold_out: i64,
    pub stock: Option<i64>,
}

impl From<MenuRow> for MenuItem {
    fn from(r: MenuRow) -> MenuItem {
        MenuItem {
            id: r.id,
            name: r.name,
            category: r.category,
            price: r.price,
            is_sold_out: r.is_sold_out != 0,
            stock: r.stock,
        }
    }
}

pub async fn load_menu(conn: &mut SqliteConnection) -> Result<Vec<MenuItem>, sqlx::Error> {
    let rows: Vec<MenuRow> = sqlx::query_as(
        "SELECT id, name, category, price, is_sold_out, stock FROM menu_items ORDER BY position, id",
    )
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(MenuItem::from).collect())
}

pub async fn load_menu_item(
    conn: &mut SqliteConnection,
    id: &str,
) -> Result<Option<MenuItem>, sqlx::Error> {
    let row: Option<MenuRow> = sqlx::query_as(
        "SELECT id, name, category, price, is_sold_out, stock FROM menu_items WHERE id = ?",
    )
    .bind(id)
    .fetch_optional(conn)
    .await?;
    Ok(row.map(MenuItem::from))
}

pub async fn load_cells(conn: &mut SqliteConnection) -> Result<Vec<Cell>, sqlx::Error> {
    let rows: Vec<(String, String, i64)> =
        sqlx::query_as("SELECT id, name, balance FROM cells ORDER BY position, id")
            .fetch_all(conn)
            .await?;
    Ok(rows
        .into_iter()
        .map(|(id, name, balance)| Cell { id, name, balance })
        .collect())
}

pub async fn load_cell(conn: &mut SqliteConnection, id: &str) -> Result<Option<Cell>, sqlx::Error> {
    let row: Option<(String, String, i64)> =
        sqlx::query_as("SELECT id, name, balance FROM cells WHERE id = ?")
            .bind(id)
            .fetch_optional(conn)
            .await?;
    Ok(row.map(|(id, name, balance)| Cell { id, name, balance }))
}

pub async fn load_settings(conn: &mut SqliteConnection) -> Result<Settings, sqlx::Error> {
    let rows: Vec<(String, String)> = sqlx::query_as("SELECT key, value FROM settings")
        .fetch_all(conn)
        .await?;
    Ok(rows.into_iter().collect())
}

pub async fn setting(
    conn: &mut SqliteConnection,
    key: &str,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT value FROM settings WHERE key = ?")
        .bind(key)
        .fetch_optional(conn)
        .await
}

pub const ORDER_COLUMNS: &str = "id, daily_num, pay_type, cell_id, cell_name, items, total_amount, status, created_at, updated_at, cancel_reason, device_id";

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
}

impl OrderRow {
    pub fn into_order(self) -> Result<Order, AppError> {
        let bad =
            || AppError::internal(format!("order {} is stored in an unreadable form", self.id));
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
            order_id: self.id,
        })
    }
}

pub async fn load_order(
    conn: &mut SqliteConnection,
    id: &str,
) -> Result<Option<OrderRow>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {ORDER_COLUMNS} FROM orders WHERE id = ?"))
        .bind(id)
        .fetch_optional(conn)
        .await
}

pub async fn load_workorder(
    conn: &mut SqliteConnection,
    id: &str,
) -> Result<Option<Workorder>, AppError> {
    let body: Option<String> = sqlx::query_scalar("SELECT body FROM workorders WHERE id = ?")
        .bind(id)
        .fetch_optional(conn)
        .await?;
    Ok(match body {
        Some(b) => Some(serde_json::from_str(&b)?),
        None => None,
    })
}

pub async fn load_workorders(
    conn: &mut SqliteConnection,
    presented_to: Option<&str>,
) -> Result<Vec<Workorder>, AppError> {
    let bodies: Vec<String> = match presented_to {
        Some(device) => {
            sqlx::query_scalar(
                "SELECT body FROM workorders WHERE presented_to = ? ORDER BY created_ms, id",
            )
            .bind(device)
            .fetch_all(conn)
            .await?
        }
        None => {
            sqlx::query_scalar("SELECT body FROM workorders ORDER BY created_ms, id")
                .fetch_all(conn)
                .await?
        }
    };
    bodies
        .iter()
        .map(|b| serde_json::from_str(b).map_err(AppError::from))
        .collect()
}

/// Timestamps are stored as RFC 3339 text with milliseconds.
pub fn ts(at: chrono::DateTime<chrono::Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}
