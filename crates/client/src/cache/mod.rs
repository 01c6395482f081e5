//! The local cache: one SQLite file in the device's data folder. `schema`
//! creates its tables; `state` keeps the hub's state and the cursor,
//! `outbox` the queued actions and their outcomes, `local` who the device is
//! and its own settings. `photos` keeps the menu's photos in a file of its
//! own beside this one.
//!
//! Invariants:
//! - An event is applied in one transaction together with the new cursor
//!   (`seq`) and, when it alerts, the alert's dedupe row. An event whose `seq`
//!   is not above the cursor is skipped (an order's events: not above that
//!   order's own newest seq; an `order:created`: when the order is known), so
//!   replaying overlapping history, or crashing between the commit and
//!   anything after it, applies every event exactly once and alerts at most
//!   once.
//! - The outbox lives in the same file; an entry leaves it in the same
//!   transaction that records its outcome.
//!
//! Calls are synchronous and short. The connection is a single writer, so a
//! plain mutex around one connection is enough, and no call holds it across
//! an `.await`.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use rusqlite::{Connection, OptionalExtension};

use crate::error::CacheError;

mod local;
mod outbox;
mod photos;
mod schema;
mod state;
#[cfg(test)]
mod tests;

pub use local::{DeviceInfo, ALERT_SETTINGS_KEY, OFFLINE_ORDERING_KEY};
pub use outbox::{Outcome, Queued};
pub use photos::PhotoStore;
pub use state::{Applied, Cursor, NOTICES_KEPT};

/// A handle on the cache; clones share one connection.
#[derive(Clone)]
pub struct Cache {
    conn: Arc<Mutex<Connection>>,
    path: PathBuf,
}

impl std::fmt::Debug for Cache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cache").field("path", &self.path).finish()
    }
}

fn now_text() -> String {
    chrono::Utc::now().to_rfc3339()
}

impl Cache {
    /// Opens (creating if needed) `cache.sqlite3` in `dir`.
    pub fn open(dir: &Path) -> Result<Cache, CacheError> {
        std::fs::create_dir_all(dir).map_err(|source| CacheError::Folder {
            path: dir.to_owned(),
            source,
        })?;
        let path = dir.join("cache.sqlite3");
        let conn = Connection::open(&path)?;
        schema::prepare(&conn, &path)?;
        Ok(Cache {
            conn: Arc::new(Mutex::new(conn)),
            path,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock leaves SQLite consistent (an open
        // transaction is rolled back when dropped), so the poison is harmless.
        self.conn.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn get_json<T: serde::de::DeserializeOwned>(
    conn: &Connection,
    sql: &str,
    key: &str,
) -> Result<Option<T>, CacheError> {
    let text: Option<String> = conn.query_row(sql, [key], |r| r.get(0)).optional()?;
    match text {
        Some(text) => Ok(Some(serde_json::from_str(&text)?)),
        None => Ok(None),
    }
}

fn meta_get(conn: &Connection, key: &str) -> Result<Option<String>, CacheError> {
    Ok(conn
        .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
        .optional()?)
}

fn meta_set(conn: &Connection, key: &str, value: &str) -> Result<(), CacheError> {
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        rusqlite::params![key, value],
    )?;
    Ok(())
}
