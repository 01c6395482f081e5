//! The `devices`, `revoked_tokens` and `pairing_codes` tables.

/// A paired device's row: id, role, name, paired at, last seen at.
pub type DeviceRow = (String, String, String, String, Option<String>);

/// The devices not revoked.
pub async fn paired(pool: &crate::store::Db) -> Result<Vec<DeviceRow>, sqlx::Error> {
    crate::on_pool!(pool, |ex| sqlx::query_as(
        "SELECT id, role, name, paired_at, last_seen_at FROM devices WHERE revoked_at IS NULL",
    )
    .fetch_all(ex)
    .await)
}

/// The replaced tokens that have not expired by `now_ms`: `jti` and expiry
/// (unix millis). The expired ones are deleted first.
pub async fn revoked_tokens(
    pool: &crate::store::Db,
    now_ms: i64,
) -> Result<Vec<(String, i64)>, sqlx::Error> {
    crate::on_pool!(pool, |ex| sqlx::query(
        "DELETE FROM revoked_tokens WHERE expires_ms < $1"
    )
    .bind(now_ms)
    .execute(ex)
    .await
    .map(|done| done.rows_affected()))?;
    crate::on_pool!(pool, |ex| sqlx::query_as(
        "SELECT jti, expires_ms FROM revoked_tokens"
    )
    .fetch_all(ex)
    .await)
}

/// Deletes the pairing codes expired by `now_ms`.
pub async fn delete_expired_codes(pool: &crate::store::Db, now_ms: i64) -> Result<(), sqlx::Error> {
    crate::on_pool!(pool, |ex| sqlx::query(
        "DELETE FROM pairing_codes WHERE expires_ms < $1"
    )
    .bind(now_ms)
    .execute(ex)
    .await
    .map(|done| done.rows_affected()))?;
    Ok(())
}

/// Stores a pairing code under its hash, unless that hash is taken: whether
/// it was stored.
/// `sealed` is the code as PAKE reads it back (`auth::pake::seal`).
pub async fn insert_code(
    pool: &crate::store::Db,
    hash: &str,
    sealed: &str,
    role: &str,
    name: &str,
    expires_ms: i64,
) -> Result<bool, sqlx::Error> {
    let inserted = crate::on_pool!(pool, |ex| sqlx::query(
        "INSERT INTO pairing_codes (code, sealed, role, name, expires_ms)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (code) DO NOTHING",
    )
    .bind(hash)
    .bind(sealed)
    .bind(role)
    .bind(name)
    .bind(expires_ms)
    .execute(ex)
    .await
    .map(|done| done.rows_affected()))?;
    Ok(inserted == 1)
}

/// Revokes every device not revoked yet: how many.
pub async fn revoke_all(
    pool: &crate::store::Db,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<u64, sqlx::Error> {
    Ok(crate::on_pool!(pool, |ex| sqlx::query(
        "UPDATE devices SET revoked_at = $1 WHERE revoked_at IS NULL"
    )
    .bind(super::ts(now))
    .execute(ex)
    .await
    .map(|done| done.rows_affected()))?)
}

/// Cancels every pairing code.
pub async fn delete_all_codes(pool: &crate::store::Db) -> Result<(), sqlx::Error> {
    crate::on_pool!(pool, |ex| sqlx::query("DELETE FROM pairing_codes")
        .execute(ex)
        .await
        .map(|done| done.rows_affected()))?;
    Ok(())
}

/// Revokes device `id` if it is paired: whether it was.
pub async fn revoke(
    pool: &crate::store::Db,
    id: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<bool, sqlx::Error> {
    let updated = crate::on_pool!(pool, |ex| sqlx::query(
        "UPDATE devices SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL"
    )
    .bind(super::ts(now))
    .bind(id)
    .execute(ex)
    .await
    .map(|done| done.rows_affected()))?;
    Ok(updated != 0)
}

/// Marks the open, unexpired code stored under `hash` used, unless PAKE
/// starts were offered it `max_attempts` times: its role and name, if there
/// was one.
pub async fn redeem_code(
    conn: &mut impl crate::store::Exec,
    hash: &str,
    now_ms: i64,
    max_attempts: i64,
) -> Result<Option<(String, String)>, sqlx::Error> {
    crate::on!(conn, |ex| sqlx::query_as(
        "UPDATE pairing_codes SET used_ms = $1
         WHERE code = $2 AND used_ms IS NULL AND expires_ms >= $3 AND attempts < $4
         RETURNING role, name",
    )
    .bind(now_ms)
    .bind(hash)
    .bind(now_ms)
    .bind(max_attempts)
    .fetch_optional(ex)
    .await)
}

/// Counts one attempt against each of the newest `limit` open, unexpired
/// codes that PAKE can offer (sealed, offered fewer than `max_attempts`
/// times): their hashes and sealed codes.
pub async fn offer_codes(
    conn: &mut impl crate::store::Exec,
    now_ms: i64,
    max_attempts: i64,
    limit: i64,
) -> Result<Vec<(String, String)>, sqlx::Error> {
    crate::on!(conn, |ex| sqlx::query_as(
        "UPDATE pairing_codes SET attempts = attempts + 1
         WHERE code IN (
             SELECT code FROM pairing_codes
             WHERE used_ms IS NULL AND expires_ms >= $1 AND attempts < $2 AND sealed IS NOT NULL
             ORDER BY expires_ms DESC, rowid DESC LIMIT $3
         )
         AND attempts < $2
         RETURNING code, sealed",
    )
    .bind(now_ms)
    .bind(max_attempts)
    .bind(limit)
    .fetch_all(ex)
    .await)
}

/// Gives one attempt back to each open code stored under `hashes` (never
/// below 0): the other codes a start was offered, once that start paired
/// with its own code.
pub async fn give_back_attempts(
    conn: &mut impl crate::store::Exec,
    hashes: &[&str],
) -> Result<(), sqlx::Error> {
    for hash in hashes {
        crate::on!(conn, |ex| {
            sqlx::query(
            "UPDATE pairing_codes SET attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END
             WHERE code = $1 AND used_ms IS NULL",
        )
        .bind(hash)
        .execute(ex)
        .await
        .map(|_| ())
        })?;
    }
    Ok(())
}

/// Marks the code stored under `hash` used if it is still open and
/// unexpired (a PAKE start counted its attempt already): its role and name.
pub async fn redeem_offered_code(
    conn: &mut impl crate::store::Exec,
    hash: &str,
    now_ms: i64,
) -> Result<Option<(String, String)>, sqlx::Error> {
    crate::on!(conn, |ex| sqlx::query_as(
        "UPDATE pairing_codes SET used_ms = $1
         WHERE code = $2 AND used_ms IS NULL AND expires_ms >= $3
         RETURNING role, name",
    )
    .bind(now_ms)
    .bind(hash)
    .bind(now_ms)
    .fetch_optional(ex)
    .await)
}

/// Stores a newly paired device.
pub async fn insert(
    conn: &mut impl crate::store::Exec,
    id: &str,
    role: &str,
    name: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), sqlx::Error> {
    crate::on!(conn, |ex| sqlx::query(
        "INSERT INTO devices (id, role, name, paired_at, last_seen_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(id)
    .bind(role)
    .bind(name)
    .bind(super::ts(now))
    .bind(super::ts(now))
    .execute(ex)
    .await
    .map(|done| done.rows_affected()))?;
    Ok(())
}

/// Cancels every code not used yet: how many.
pub async fn cancel_open_codes(pool: &crate::store::Db) -> Result<u64, sqlx::Error> {
    Ok(crate::on_pool!(pool, |ex| sqlx::query(
        "DELETE FROM pairing_codes WHERE used_ms IS NULL"
    )
    .execute(ex)
    .await
    .map(|done| done.rows_affected()))?)
}

/// Records a token a refresh replaced, until it expires (unix millis).
pub async fn revoke_token(
    conn: &mut impl crate::store::Exec,
    jti: &str,
    expires_ms: i64,
) -> Result<(), sqlx::Error> {
    crate::on!(conn, |ex| sqlx::query(
        "INSERT INTO revoked_tokens (jti, expires_ms) VALUES ($1, $2) ON CONFLICT DO NOTHING",
    )
    .bind(jti)
    .bind(expires_ms)
    .execute(ex)
    .await
    .map(|done| done.rows_affected()))?;
    Ok(())
}
