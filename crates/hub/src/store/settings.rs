//! The `settings` table: string keys to string values.

use countertop_protocol::Settings;

pub async fn load_settings(conn: &mut impl crate::store::Exec) -> Result<Settings, sqlx::Error> {
    let rows: Vec<(String, String)> =
        crate::on!(conn, |ex| sqlx::query_as("SELECT key, value FROM settings")
            .fetch_all(ex)
            .await)?;
    Ok(rows.into_iter().collect())
}

pub async fn setting(
    conn: &mut impl crate::store::Exec,
    key: &str,
) -> Result<Option<String>, sqlx::Error> {
    crate::on!(conn, |ex| sqlx::query_scalar(
        "SELECT value FROM settings WHERE key = $1"
    )
    .bind(key)
    .fetch_optional(ex)
    .await)
}

/// Sets `key` to `value`, adding the key if it is new.
pub async fn put(
    conn: &mut impl crate::store::Exec,
    key: &str,
    value: &str,
) -> Result<(), sqlx::Error> {
    crate::on!(conn, |ex| sqlx::query(
        "INSERT INTO settings (key, value) VALUES ($1, $2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    )
    .bind(key)
    .bind(value)
    .execute(ex)
    .await
    .map(|done| done.rows_affected()))?;
    Ok(())
}
