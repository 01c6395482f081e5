//! The `issued_tokens` table: the `jti` of every token the hub signed, with
//! its device, until it would expire.

use sqlx::SqliteConnection;

/// Records a token the hub signed for `device_id`, forgetting the ones
/// expired by `now_ms`.
pub async fn record(
    conn: &mut SqliteConnection,
    jti: &str,
    device_id: &str,
    expires_ms: i64,
    now_ms: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM issued_tokens WHERE expires_ms < ?")
        .bind(now_ms)
        .execute(&mut *conn)
        .await?;
    sqlx::query("INSERT INTO issued_tokens (jti, device_id, expires_ms) VALUES (?, ?, ?)")
        .bind(jti)
        .bind(device_id)
        .bind(expires_ms)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Whether the hub issued the token `jti` to `device_id` (and has not
/// forgotten it: replaced or revoked).
pub async fn issued_to(
    conn: &mut SqliteConnection,
    jti: &str,
    device_id: &str,
) -> Result<bool, sqlx::Error> {
    let found: Option<(i64,)> =
        sqlx::query_as("SELECT 1 FROM issued_tokens WHERE jti = ? AND device_id = ?")
            .bind(jti)
            .bind(device_id)
            .fetch_optional(conn)
            .await?;
    Ok(found.is_some())
}

/// Forgets token `jti` (a refresh replaced it).
pub async fn forget(conn: &mut SqliteConnection, jti: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM issued_tokens WHERE jti = ?")
        .bind(jti)
        .execute(conn)
        .await?;
    Ok(())
}

/// Forgets every token of `device_id` (it was revoked).
pub async fn forget_device(
    conn: &mut SqliteConnection,
    device_id: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM issued_tokens WHERE device_id = ?")
        .bind(device_id)
        .execute(conn)
        .await?;
    Ok(())
}
