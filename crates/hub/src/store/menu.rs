//! The `menu_items` table. An item's option groups and its names by language
//! are stored as the protocol writes them (JSON text).

use countertop_protocol::{MenuItem, Names, OptionGroup};

/// The columns [`MenuRow`] reads, from [`MENU_TABLES`].
const MENU_COLUMNS: &str = "id, name, category, price, is_sold_out, stock, position, \
     option_groups, station, names, menu_photos.version AS photo_version";
/// An item with its photo's version, if it has one, in the same statement.
const MENU_TABLES: &str = "menu_items LEFT JOIN menu_photos ON menu_photos.menu_id = menu_items.id";

#[derive(sqlx::FromRow)]
pub struct MenuRow {
    pub id: String,
    pub name: String,
    pub category: String,
    pub price: i64,
    pub is_sold_out: i64,
    pub stock: Option<i64>,
    pub position: i64,
    pub option_groups: String,
    pub station: String,
    pub names: String,
    pub photo_version: Option<String>,
}

impl TryFrom<MenuRow> for MenuItem {
    type Error = sqlx::Error;

    fn try_from(r: MenuRow) -> Result<MenuItem, sqlx::Error> {
        let unreadable = |e: serde_json::Error| sqlx::Error::Decode(Box::new(e));
        let option_groups: Vec<OptionGroup> =
            serde_json::from_str(&r.option_groups).map_err(unreadable)?;
        let names: Names = serde_json::from_str(&r.names).map_err(unreadable)?;
        let photo = r
            .photo_version
            .map(|version| crate::photos::addresses(&r.id, &version));
        Ok(MenuItem {
            id: r.id,
            name: r.name,
            category: r.category,
            price: r.price,
            is_sold_out: r.is_sold_out != 0,
            stock: r.stock,
            option_groups,
            station: r.station,
            names,
            position: r.position,
            photo,
        })
    }
}

pub async fn load_menu(conn: &mut impl crate::store::Exec) -> Result<Vec<MenuItem>, sqlx::Error> {
    let rows: Vec<MenuRow> = crate::on!(conn, |ex| sqlx::query_as(&format!(
        "SELECT {MENU_COLUMNS} FROM {MENU_TABLES} ORDER BY position, id"
    ))
    .fetch_all(ex)
    .await)?;
    rows.into_iter().map(MenuItem::try_from).collect()
}

pub async fn load_menu_item(
    conn: &mut impl crate::store::Exec,
    id: &str,
) -> Result<Option<MenuItem>, sqlx::Error> {
    let row: Option<MenuRow> = crate::on!(conn, |ex| sqlx::query_as(&format!(
        "SELECT {MENU_COLUMNS} FROM {MENU_TABLES} WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(ex)
    .await)?;
    row.map(MenuItem::try_from).transpose()
}

/// Sets an item's stock and whether it is sold out.
pub async fn set_stock(
    conn: &mut impl crate::store::Exec,
    id: &str,
    stock: i64,
    sold_out: bool,
) -> Result<(), sqlx::Error> {
    crate::on!(conn, |ex| sqlx::query(
        "UPDATE menu_items SET stock = $1, is_sold_out = $2 WHERE id = $3"
    )
    .bind(stock)
    .bind(i64::from(sold_out))
    .bind(id)
    .execute(ex)
    .await
    .map(|done| done.rows_affected()))?;
    Ok(())
}

/// The position after the last item's.
pub async fn next_position(conn: &mut impl crate::store::Exec) -> Result<i64, sqlx::Error> {
    crate::on!(conn, |ex| sqlx::query_scalar(
        "SELECT COALESCE(MAX(position), -1) + 1 FROM menu_items"
    )
    .fetch_one(ex)
    .await)
}

/// Adds an item at its `position`.
pub async fn insert(
    conn: &mut impl crate::store::Exec,
    item: &MenuItem,
) -> Result<(), sqlx::Error> {
    crate::on!(conn, |ex| sqlx::query(
        "INSERT INTO menu_items (id, name, category, price, is_sold_out, stock, position,
            option_groups, station, names)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(&item.id)
    .bind(&item.name)
    .bind(&item.category)
    .bind(item.price)
    .bind(i64::from(item.is_sold_out))
    .bind(item.stock)
    .bind(item.position)
    .bind(json(&item.option_groups)?)
    .bind(&item.station)
    .bind(json(&item.names)?)
    .execute(ex)
    .await
    .map(|done| done.rows_affected()))?;
    Ok(())
}

/// Writes every field of an item but its id and position.
pub async fn update(
    conn: &mut impl crate::store::Exec,
    item: &MenuItem,
) -> Result<(), sqlx::Error> {
    crate::on!(conn, |ex| sqlx::query(
        "UPDATE menu_items SET name = $1, category = $2, price = $3, is_sold_out = $4, stock = $5,
            option_groups = $6, station = $7, names = $8
         WHERE id = $9",
    )
    .bind(&item.name)
    .bind(&item.category)
    .bind(item.price)
    .bind(i64::from(item.is_sold_out))
    .bind(item.stock)
    .bind(json(&item.option_groups)?)
    .bind(&item.station)
    .bind(json(&item.names)?)
    .bind(&item.id)
    .execute(ex)
    .await
    .map(|done| done.rows_affected()))?;
    Ok(())
}

/// Sets the position of item `id`.
pub async fn set_position(
    conn: &mut impl crate::store::Exec,
    id: &str,
    position: i64,
) -> Result<(), sqlx::Error> {
    crate::on!(conn, |ex| sqlx::query(
        "UPDATE menu_items SET position = $1 WHERE id = $2"
    )
    .bind(position)
    .bind(id)
    .execute(ex)
    .await
    .map(|done| done.rows_affected()))?;
    Ok(())
}

/// Removes item `id` (its photo goes with it: `ON DELETE CASCADE`); whether
/// there was one.
pub async fn delete(conn: &mut impl crate::store::Exec, id: &str) -> Result<bool, sqlx::Error> {
    let done = crate::on!(conn, |ex| sqlx::query(
        "DELETE FROM menu_items WHERE id = $1"
    )
    .bind(id)
    .execute(ex)
    .await
    .map(|done| done.rows_affected()))?;
    Ok(done > 0)
}

/// A protocol value as the JSON text it is stored as.
fn json<T: serde::Serialize>(value: &T) -> Result<String, sqlx::Error> {
    serde_json::to_string(value).map_err(|e| sqlx::Error::Encode(Box::new(e)))
}
