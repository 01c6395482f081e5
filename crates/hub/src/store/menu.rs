//! The `menu_items` table.

use countertop_protocol::MenuItem;
use sqlx::SqliteConnection;

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
    .fetch_all(&mut *conn)
    .await?;
    let mut items: Vec<MenuItem> = rows.into_iter().map(MenuItem::from).collect();
    super::photos::fill(conn, &mut items).await?;
    Ok(items)
}

pub async fn load_menu_item(
    conn: &mut SqliteConnection,
    id: &str,
) -> Result<Option<MenuItem>, sqlx::Error> {
    let row: Option<MenuRow> = sqlx::query_as(
        "SELECT id, name, category, price, is_sold_out, stock FROM menu_items WHERE id = ?",
    )
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    let mut item = row.map(MenuItem::from);
    if let Some(item) = &mut item {
        super::photos::fill_one(conn, item).await?;
    }
    Ok(item)
}

/// Sets an item's stock and whether it is sold out.
pub async fn set_stock(
    conn: &mut SqliteConnection,
    id: &str,
    stock: i64,
    sold_out: bool,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE menu_items SET stock = ?, is_sold_out = ? WHERE id = ?")
        .bind(stock)
        .bind(sold_out)
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// The position after the last item's.
pub async fn next_position(conn: &mut SqliteConnection) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COALESCE(MAX(position), -1) + 1 FROM menu_items")
        .fetch_one(conn)
        .await
}

pub async fn insert(
    conn: &mut SqliteConnection,
    item: &MenuItem,
    position: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO menu_items (id, name, category, price, is_sold_out, stock, position)
         VALUES (?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(&item.id)
    .bind(&item.name)
    .bind(&item.category)
    .bind(item.price)
    .bind(item.is_sold_out)
    .bind(item.stock)
    .bind(position)
    .execute(conn)
    .await?;
    Ok(())
}

/// Writes every field of an item but its id and position.
pub async fn update(conn: &mut SqliteConnection, item: &MenuItem) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE menu_items SET name = ?, category = ?, price = ?, is_sold_out = ?, stock = ? WHERE id = ?",
    )
    .bind(&item.name)
    .bind(&item.category)
    .bind(item.price)
    .bind(item.is_sold_out)
    .bind(item.stock)
    .bind(&item.id)
    .execute(conn)
    .await?;
    Ok(())
}
