//! The kiosk exit PIN's hash, a row of `meta` (key [`EXIT_PIN_KEY`]): the
//! hub's own table, never sent to a device (unlike `settings`, which every
//! kiosk reads).

/// The `meta` row that holds the argon2id hash of the kiosk exit PIN.
const EXIT_PIN_KEY: &str = "kiosk_exit_pin_hash";

/// The hash of the kiosk exit PIN, if one is set.
pub async fn exit_pin_hash(
    conn: &mut impl crate::store::Exec,
) -> Result<Option<String>, sqlx::Error> {
    crate::on!(conn, |ex| sqlx::query_scalar(
        "SELECT value FROM meta WHERE key = $1"
    )
    .bind(EXIT_PIN_KEY)
    .fetch_optional(ex)
    .await)
}

/// Sets (or, with `None`, removes) the hash of the kiosk exit PIN.
pub async fn set_exit_pin_hash(
    conn: &mut impl crate::store::Exec,
    hash: Option<&str>,
) -> Result<(), sqlx::Error> {
    match hash {
        Some(hash) => crate::on!(conn, |ex| sqlx::query(
            "INSERT INTO meta (key, value) VALUES ($1, $2)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value"
        )
        .bind(EXIT_PIN_KEY)
        .bind(hash)
        .execute(ex)
        .await
        .map(|done| done.rows_affected()))?,
        None => crate::on!(conn, |ex| sqlx::query("DELETE FROM meta WHERE key = $1")
            .bind(EXIT_PIN_KEY)
            .execute(ex)
            .await
            .map(|done| done.rows_affected()))?,
    };
    Ok(())
}
