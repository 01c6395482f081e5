//! The storage layer: every SQL statement the domain runs, one module per
//! table group, over SQLite (sqlx). A second backend is a sibling of these
//! modules with the same functions, not a rewrite of the domain.
//!
//! Functions take the connection they run on (`&mut impl Exec`: a pooled
//! connection, or a `Writer`'s transaction), so a caller decides which reads
//! and writes share a transaction. [`backend`] holds the two databases
//! (SQLite, PostgreSQL) and the `on!` macro that runs one statement on
//! either.
//!
//! The SQL is written to run unchanged on PostgreSQL too: parameters are
//! numbered (`$1`, read by sqlx's SQLite driver as that position), sums are
//! cast to `BIGINT` (PostgreSQL's `SUM` of a `BIGINT` is `NUMERIC`), truth
//! values are stored as `0`/`1` integers bound as `i64`, and the column
//! `menu_photos.full` is quoted (`FULL` is reserved there).

pub(crate) mod attempts;
pub(crate) mod backend;
pub(crate) mod cells;
pub(crate) mod devices;
pub(crate) mod kiosk;
pub(crate) mod ledger;
pub(crate) mod menu;
pub(crate) mod orders;
pub(crate) mod photos;
pub(crate) mod reports;
pub(crate) mod settings;
pub(crate) mod tokens;
pub(crate) mod workorders;

pub use backend::{Backend, Conn, Db, Exec, Pooled, Tx};
use chrono::{DateTime, Utc};

use crate::error::AppError;

/// What reading or writing a stored row can fail with.
#[derive(Debug, thiserror::Error)]
pub(crate) enum StoreError {
    #[error(transparent)]
    Sql(#[from] sqlx::Error),
    #[error(transparent)]
    Json(#[from] serde_json::Error),
    /// A row whose columns do not read back as what was written.
    #[error("{0}")]
    Unreadable(String),
}

impl From<StoreError> for AppError {
    fn from(err: StoreError) -> AppError {
        match err {
            StoreError::Sql(e) => e.into(),
            StoreError::Json(e) => e.into(),
            StoreError::Unreadable(message) => AppError::internal(message),
        }
    }
}

/// Timestamps are stored as RFC 3339 text with milliseconds.
pub fn ts(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// A stored timestamp read back (see [`ts`]).
pub fn parse_ts(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|d| d.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use sqlx::Connection;

    /// The statements here number their parameters (`$N`) so that one text
    /// runs on SQLite and PostgreSQL: sqlx's SQLite driver must read `$N` as
    /// the Nth bound value, in any order and as often as it is written.
    #[tokio::test]
    async fn sqlite_reads_numbered_parameters_by_number() {
        let mut conn = sqlx::SqliteConnection::connect("sqlite::memory:")
            .await
            .unwrap();
        let (swapped, twice): (String, i64) = sqlx::query_as("SELECT $2 || '-' || $1, $3 + $3")
            .bind("first")
            .bind("second")
            .bind(20_i64)
            .fetch_one(&mut conn)
            .await
            .unwrap();
        assert_eq!(swapped, "second-first");
        assert_eq!(twice, 40);
    }
}
