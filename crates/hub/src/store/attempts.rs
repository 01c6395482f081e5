//! The `attempts` table (PostgreSQL only): attempts a budget counts across
//! every node on one database: wrong pairing codes, wrong cell PINs. On
//! SQLite one hub counts them in memory (`auth::PairingLimiter`,
//! `pins::PinLimiter`).

use sqlx::PgConnection;

/// A budget: at most `limit` attempts within `window_ms`.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    pub limit: i64,
    pub window_ms: i64,
}

/// What counting an attempt found.
#[derive(Debug, PartialEq, Eq)]
pub enum Counted {
    /// Counted: its row (deleted if the attempt turns out right), and
    /// whether it took the last place of the budget over all keys.
    Yes { id: i64, last_place: bool },
    /// The budget over every key of `kind` is used up.
    AllUsed,
    /// The budget of this key is used up; the oldest of the attempts that
    /// fill it leaves the window at this time (unix millis).
    KeyUsed { free_at_ms: i64 },
}

/// Counts an attempt of `kind` by `key` at `now_ms` against the key's budget
/// and, if given, the budget over all keys, or says which is used up. The
/// count and the insert run under one transaction-scoped advisory lock per
/// kind, so attempts made at once on several nodes cannot all pass.
pub async fn count(
    conn: &mut PgConnection,
    kind: &str,
    key: &str,
    now_ms: i64,
    per_key: Budget,
    all: Option<Budget>,
) -> Result<Counted, sqlx::Error> {
    use sqlx::Connection;
    let mut tx = conn.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock(hashtext($1))")
        .bind(kind)
        .execute(&mut *tx)
        .await?;
    let longest = per_key.window_ms.max(all.map_or(0, |a| a.window_ms));
    sqlx::query("DELETE FROM attempts WHERE kind = $1 AND at_ms <= $2")
        .bind(kind)
        .bind(now_ms - longest)
        .execute(&mut *tx)
        .await?;
    if let Some(all) = all {
        let used: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM attempts WHERE kind = $1 AND at_ms > $2")
                .bind(kind)
                .bind(now_ms - all.window_ms)
                .fetch_one(&mut *tx)
                .await?;
        if used >= all.limit {
            return Ok(Counted::AllUsed);
        }
    }
    // The newest `limit` attempts of this key within its window, newest
    // first: when they fill the budget, the last of them frees a place.
    let mine: Vec<i64> = sqlx::query_scalar(
        "SELECT at_ms FROM attempts WHERE kind = $1 AND key = $2 AND at_ms > $3
         ORDER BY at_ms DESC LIMIT $4",
    )
    .bind(kind)
    .bind(key)
    .bind(now_ms - per_key.window_ms)
    .bind(per_key.limit)
    .fetch_all(&mut *tx)
    .await?;
    if mine.len() as i64 >= per_key.limit {
        let oldest = mine.last().copied().unwrap_or(now_ms);
        return Ok(Counted::KeyUsed {
            free_at_ms: oldest + per_key.window_ms,
        });
    }
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO attempts (kind, key, at_ms) VALUES ($1, $2, $3) RETURNING id",
    )
    .bind(kind)
    .bind(key)
    .bind(now_ms)
    .fetch_one(&mut *tx)
    .await?;
    let last_place = match all {
        Some(all) => {
            let used: i64 =
                sqlx::query_scalar("SELECT COUNT(*) FROM attempts WHERE kind = $1 AND at_ms > $2")
                    .bind(kind)
                    .bind(now_ms - all.window_ms)
                    .fetch_one(&mut *tx)
                    .await?;
            used == all.limit
        }
        None => false,
    };
    tx.commit().await?;
    Ok(Counted::Yes { id, last_place })
}

/// The attempt `id` was right: it does not count.
pub async fn forget(conn: &mut PgConnection, id: i64) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM attempts WHERE id = $1")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Forgets every attempt of `kind` by `key` (a cell's PIN changed).
pub async fn forget_key(conn: &mut PgConnection, kind: &str, key: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM attempts WHERE kind = $1 AND key = $2")
        .bind(kind)
        .bind(key)
        .execute(conn)
        .await?;
    Ok(())
}
