//! The `cells` table: group accounts and their balances in points.

use countertop_protocol::Cell;
use sqlx::SqliteConnection;

/// A cell row: `has_pin` is whether `pin_hash` is set; the hash itself is
/// read only by [`pin_hash`].
type CellRow = (String, String, i64, bool);

fn cell((id, name, balance, has_pin): CellRow) -> Cell {
    Cell {
        id,
        name,
        balance,
        has_pin,
    }
}

pub async fn load_cells(conn: &mut SqliteConnection) -> Result<Vec<Cell>, sqlx::Error> {
    let rows: Vec<CellRow> = sqlx::query_as(
        "SELECT id, name, balance, pin_hash IS NOT NULL FROM cells ORDER BY position, id",
    )
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(cell).collect())
}

pub async fn load_cell(conn: &mut SqliteConnection, id: &str) -> Result<Option<Cell>, sqlx::Error> {
    let row: Option<CellRow> =
        sqlx::query_as("SELECT id, name, balance, pin_hash IS NOT NULL FROM cells WHERE id = $1")
            .bind(id)
            .fetch_optional(conn)
            .await?;
    Ok(row.map(cell))
}

/// The PIN hash of cell `id`: `None` if there is no such cell, `Some(None)`
/// if it has no PIN.
pub async fn pin_hash(
    conn: &mut SqliteConnection,
    id: &str,
) -> Result<Option<Option<String>>, sqlx::Error> {
    sqlx::query_scalar("SELECT pin_hash FROM cells WHERE id = $1")
        .bind(id)
        .fetch_optional(conn)
        .await
}

/// Sets (or, with `None`, removes) the PIN hash of cell `id`; whether the
/// cell exists.
pub async fn set_pin_hash(
    conn: &mut SqliteConnection,
    id: &str,
    hash: Option<&str>,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("UPDATE cells SET pin_hash = $1 WHERE id = $2")
        .bind(hash)
        .bind(id)
        .execute(conn)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// Takes `amount` points from a cell's balance.
pub async fn debit(conn: &mut SqliteConnection, id: &str, amount: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE cells SET balance = balance - $1 WHERE id = $2")
        .bind(amount)
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Gives `amount` points back to a cell's balance.
pub async fn credit(conn: &mut SqliteConnection, id: &str, amount: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE cells SET balance = balance + $1 WHERE id = $2")
        .bind(amount)
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// The position after the last cell's.
pub async fn next_position(conn: &mut SqliteConnection) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COALESCE(MAX(position), -1) + 1 FROM cells")
        .fetch_one(conn)
        .await
}

/// Inserts a cell with its PIN hash, if it has one.
pub async fn insert(
    conn: &mut SqliteConnection,
    cell: &Cell,
    position: i64,
    pin_hash: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO cells (id, name, balance, position, pin_hash) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(&cell.id)
    .bind(&cell.name)
    .bind(cell.balance)
    .bind(position)
    .bind(pin_hash)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn set_balance(
    conn: &mut SqliteConnection,
    id: &str,
    balance: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE cells SET balance = $1 WHERE id = $2")
        .bind(balance)
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}
