//! The `menu_photos` table: each menu item's photo, full size and thumbnail,
//! as the hub re-encoded them, with the version that names them. A menu
//! item's loads read the version in the same statement (`store::menu`).

use crate::photos::Size;

/// A stored picture and the version it is served under.
pub struct Stored {
    pub version: String,
    pub bytes: Vec<u8>,
}

/// Sets (or replaces) the photo of menu item `menu_id`, which must exist.
pub async fn put(
    conn: &mut impl crate::store::Exec,
    menu_id: &str,
    version: &str,
    full: &[u8],
    thumb: &[u8],
    updated_at: &str,
) -> Result<(), sqlx::Error> {
    crate::on!(conn, |ex| sqlx::query(
        "INSERT INTO menu_photos (menu_id, version, \"full\", thumb, updated_at)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (menu_id) DO UPDATE SET version = excluded.version,
             \"full\" = excluded.\"full\",
             thumb = excluded.thumb, updated_at = excluded.updated_at",
    )
    .bind(menu_id)
    .bind(version)
    .bind(full)
    .bind(thumb)
    .bind(updated_at)
    .execute(ex)
    .await
    .map(|done| done.rows_affected()))?;
    Ok(())
}

/// Removes the photo of `menu_id`; whether there was one.
pub async fn delete(
    conn: &mut impl crate::store::Exec,
    menu_id: &str,
) -> Result<bool, sqlx::Error> {
    let done = crate::on!(conn, |ex| sqlx::query(
        "DELETE FROM menu_photos WHERE menu_id = $1"
    )
    .bind(menu_id)
    .execute(ex)
    .await
    .map(|done| done.rows_affected()))?;
    Ok(done > 0)
}

/// One size of the photo of `menu_id`, with its version.
pub async fn load(
    conn: &mut impl crate::store::Exec,
    menu_id: &str,
    size: Size,
) -> Result<Option<Stored>, sqlx::Error> {
    let sql = match size {
        Size::Full => "SELECT version, \"full\" FROM menu_photos WHERE menu_id = $1",
        Size::Thumb => "SELECT version, thumb FROM menu_photos WHERE menu_id = $1",
    };
    let row: Option<(String, Vec<u8>)> = crate::on!(conn, |ex| sqlx::query_as(sql)
        .bind(menu_id)
        .fetch_optional(ex)
        .await)?;
    Ok(row.map(|(version, bytes)| Stored { version, bytes }))
}
