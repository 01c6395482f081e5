//! The `cells` table: group accounts and their balances in points.

use countertop_protocol::Cell;
use sqlx::SqliteConnection;

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

/// Takes `amount` points from a cell's balance.
pub async fn debit(conn: &mut SqliteConnection, id: &str, amount: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE cells SET balance = balance - ? WHERE id = ?")
        .bind(amount)
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Gives `amount` points back to a cell's balance.
pub async fn credit(conn: &mut SqliteConnection, id: &str, amount: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE cells SET balance = balance + ? WHERE id = ?")
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

pub async fn insert(
    conn: &mut SqliteConnection,
    cell: &Cell,
    position: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO cells (id, name, balance, position) VALUES (?, ?, ?, ?)")
        .bind(&cell.id)
        .bind(&cell.name)
        .bind(cell.balance)
        .bind(position)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn set_balance(
    conn: &mut SqliteConnection,
    id: &str,
    balance: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE cells SET balance = ? WHERE id = ?")
        .bind(balance)
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}
