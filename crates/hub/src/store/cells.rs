//! The `cells` table: group accounts and their balances in points.

use countertop_protocol::Cell;

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

pub async fn load_cells(conn: &mut impl crate::store::Exec) -> Result<Vec<Cell>, sqlx::Error> {
    let rows: Vec<CellRow> = crate::on!(conn, |ex| sqlx::query_as(
        "SELECT id, name, balance, pin_hash IS NOT NULL FROM cells ORDER BY position, id",
    )
    .fetch_all(ex)
    .await)?;
    Ok(rows.into_iter().map(cell).collect())
}

pub async fn load_cell(
    conn: &mut impl crate::store::Exec,
    id: &str,
) -> Result<Option<Cell>, sqlx::Error> {
    let row: Option<CellRow> = crate::on!(conn, |ex| sqlx::query_as(
        "SELECT id, name, balance, pin_hash IS NOT NULL FROM cells WHERE id = $1"
    )
    .bind(id)
    .fetch_optional(ex)
    .await)?;
    Ok(row.map(cell))
}

/// The PIN hash of cell `id`: `None` if there is no such cell, `Some(None)`
/// if it has no PIN.
pub async fn pin_hash(
    conn: &mut impl crate::store::Exec,
    id: &str,
) -> Result<Option<Option<String>>, sqlx::Error> {
    crate::on!(conn, |ex| sqlx::query_scalar(
        "SELECT pin_hash FROM cells WHERE id = $1"
    )
    .bind(id)
    .fetch_optional(ex)
    .await)
}

/// Sets (or, with `None`, removes) the PIN hash of cell `id`; whether the
/// cell exists.
pub async fn set_pin_hash(
    conn: &mut impl crate::store::Exec,
    id: &str,
    hash: Option<&str>,
) -> Result<bool, sqlx::Error> {
    let done = crate::on!(conn, |ex| sqlx::query(
        "UPDATE cells SET pin_hash = $1 WHERE id = $2"
    )
    .bind(hash)
    .bind(id)
    .execute(ex)
    .await
    .map(|done| done.rows_affected()))?;
    Ok(done > 0)
}

/// Takes `amount` points from a cell's balance.
pub async fn debit(
    conn: &mut impl crate::store::Exec,
    id: &str,
    amount: i64,
) -> Result<(), sqlx::Error> {
    crate::on!(conn, |ex| sqlx::query(
        "UPDATE cells SET balance = balance - $1 WHERE id = $2"
    )
    .bind(amount)
    .bind(id)
    .execute(ex)
    .await
    .map(|done| done.rows_affected()))?;
    Ok(())
}

/// Gives `amount` points back to a cell's balance.
pub async fn credit(
    conn: &mut impl crate::store::Exec,
    id: &str,
    amount: i64,
) -> Result<(), sqlx::Error> {
    crate::on!(conn, |ex| sqlx::query(
        "UPDATE cells SET balance = balance + $1 WHERE id = $2"
    )
    .bind(amount)
    .bind(id)
    .execute(ex)
    .await
    .map(|done| done.rows_affected()))?;
    Ok(())
}

/// The position after the last cell's.
pub async fn next_position(conn: &mut impl crate::store::Exec) -> Result<i64, sqlx::Error> {
    crate::on!(conn, |ex| sqlx::query_scalar(
        "SELECT COALESCE(MAX(position), -1) + 1 FROM cells"
    )
    .fetch_one(ex)
    .await)
}

/// Inserts a cell with its PIN hash, if it has one.
pub async fn insert(
    conn: &mut impl crate::store::Exec,
    cell: &Cell,
    position: i64,
    pin_hash: Option<&str>,
) -> Result<(), sqlx::Error> {
    crate::on!(conn, |ex| sqlx::query(
        "INSERT INTO cells (id, name, balance, position, pin_hash) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(&cell.id)
    .bind(&cell.name)
    .bind(cell.balance)
    .bind(position)
    .bind(pin_hash)
    .execute(ex)
    .await
    .map(|done| done.rows_affected()))?;
    Ok(())
}

pub async fn set_balance(
    conn: &mut impl crate::store::Exec,
    id: &str,
    balance: i64,
) -> Result<(), sqlx::Error> {
    crate::on!(conn, |ex| sqlx::query(
        "UPDATE cells SET balance = $1 WHERE id = $2"
    )
    .bind(balance)
    .bind(id)
    .execute(ex)
    .await
    .map(|done| done.rows_affected()))?;
    Ok(())
}
