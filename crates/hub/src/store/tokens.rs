//! The `issued_tokens` table: the `jti` of every token the hub signed, with
//! its device, the token it replaced (`parent`) and, once a refresh
//! replaced it in turn, when (`replaced_ms`), until it would expire or its
//! refresh grace is over.

/// What the hub knows of a token it issued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issued {
    pub device_id: String,
    /// When a refresh replaced it (unix millis, the hub's clock).
    pub replaced_ms: Option<i64>,
}

/// Records a token the hub signed for `device_id`, replacing `parent` (a
/// refresh) or none (a pairing), forgetting the tokens expired by `now_ms`
/// and those replaced before `replaced_before_ms` (their grace is over).
pub async fn record(
    conn: &mut impl crate::store::Exec,
    jti: &str,
    device_id: &str,
    parent: Option<&str>,
    expires_ms: i64,
    now_ms: i64,
    replaced_before_ms: i64,
) -> Result<(), sqlx::Error> {
    crate::on!(conn, |ex| sqlx::query(
        "DELETE FROM issued_tokens WHERE expires_ms < $1 OR replaced_ms < $2"
    )
    .bind(now_ms)
    .bind(replaced_before_ms)
    .execute(ex)
    .await
    .map(|done| done.rows_affected()))?;
    crate::on!(conn, |ex| sqlx::query(
        "INSERT INTO issued_tokens (jti, device_id, parent, expires_ms) VALUES ($1, $2, $3, $4)",
    )
    .bind(jti)
    .bind(device_id)
    .bind(parent)
    .bind(expires_ms)
    .execute(ex)
    .await
    .map(|done| done.rows_affected()))?;
    Ok(())
}

/// The token `jti`, if the hub issued it and has not forgotten it (expired,
/// its device revoked, or replaced and its grace over).
pub async fn issued(
    conn: &mut impl crate::store::Exec,
    jti: &str,
) -> Result<Option<Issued>, sqlx::Error> {
    let row: Option<(String, Option<i64>)> = crate::on!(conn, |ex| sqlx::query_as(
        "SELECT device_id, replaced_ms FROM issued_tokens WHERE jti = $1"
    )
    .bind(jti)
    .fetch_optional(ex)
    .await)?;
    Ok(row.map(|(device_id, replaced_ms)| Issued {
        device_id,
        replaced_ms,
    }))
}

/// Whether a token that replaced `jti` has been replaced in turn: its
/// device received one of `jti`'s replacements.
pub async fn replacement_refreshed(
    conn: &mut impl crate::store::Exec,
    jti: &str,
) -> Result<bool, sqlx::Error> {
    let found: Option<(i64,)> = crate::on!(conn, |ex| sqlx::query_as(
        "SELECT CAST(1 AS BIGINT) FROM issued_tokens
         WHERE parent = $1 AND replaced_ms IS NOT NULL LIMIT 1",
    )
    .bind(jti)
    .fetch_optional(ex)
    .await)?;
    Ok(found.is_some())
}

/// Marks token `jti` of `device_id` (expiring at `expires_ms`) replaced at
/// `now_ms`, once. A token the hub issued before it kept issued tokens
/// (release 0.1.0) gets its record here, so that its refresh, too, may be
/// answered again within the grace when the first answer was lost.
pub async fn mark_replaced(
    conn: &mut impl crate::store::Exec,
    jti: &str,
    device_id: &str,
    expires_ms: i64,
    now_ms: i64,
) -> Result<(), sqlx::Error> {
    crate::on!(conn, |ex| sqlx::query(
        "INSERT INTO issued_tokens (jti, device_id, expires_ms, replaced_ms)
         VALUES ($1, $2, $3, $4)
         ON CONFLICT (jti) DO UPDATE SET replaced_ms = excluded.replaced_ms
         WHERE issued_tokens.replaced_ms IS NULL
           AND issued_tokens.device_id = excluded.device_id"
    )
    .bind(jti)
    .bind(device_id)
    .bind(expires_ms)
    .bind(now_ms)
    .execute(ex)
    .await
    .map(|done| done.rows_affected()))?;
    Ok(())
}

/// Forgets every token of `device_id` (it was revoked).
pub async fn forget_device(
    conn: &mut impl crate::store::Exec,
    device_id: &str,
) -> Result<(), sqlx::Error> {
    crate::on!(conn, |ex| sqlx::query(
        "DELETE FROM issued_tokens WHERE device_id = $1"
    )
    .bind(device_id)
    .execute(ex)
    .await
    .map(|done| done.rows_affected()))?;
    Ok(())
}
