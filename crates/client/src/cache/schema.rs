//! The cache file's tables, created once per schema version.

use std::path::Path;

use rusqlite::Connection;

use crate::error::CacheError;

const SCHEMA_VERSION: i64 = 2;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS orders (
    order_id TEXT PRIMARY KEY,
    daily_num INTEGER NOT NULL,
    status TEXT NOT NULL,
    created_at TEXT NOT NULL,
    -- The seq of the newest event applied to this order (the snapshot's seq
    -- for orders loaded from one). Events of one order arrive in order even
    -- when a new subscription replays them after newer events of others.
    last_seq INTEGER NOT NULL DEFAULT 0,
    body TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS menu (id TEXT PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS cells (id TEXT PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS workorders (id TEXT PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS alerted (key TEXT PRIMARY KEY, at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL UNIQUE,
    op TEXT NOT NULL,
    queued_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS outbox_outcomes (
    key TEXT PRIMARY KEY,
    ok INTEGER NOT NULL,
    body TEXT NOT NULL,
    at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS local_settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
-- The newest system notifications (a manager's feed), at most NOTICES_KEPT.
CREATE TABLE IF NOT EXISTS notices (id TEXT PRIMARY KEY, at TEXT NOT NULL, body TEXT NOT NULL);
-- The newest dashboard:update figure of each widget.
CREATE TABLE IF NOT EXISTS dashboard (widget TEXT PRIMARY KEY, at TEXT NOT NULL, value TEXT NOT NULL);
-- Today's open orders as the public board tells them (version 2): how many
-- are ahead of a kiosk's order.
CREATE TABLE IF NOT EXISTS board (order_id TEXT PRIMARY KEY, daily_num INTEGER NOT NULL, status TEXT NOT NULL);
";

/// Sets `conn` up (WAL, durable commits) and creates the tables of a new
/// file, or adds those of this version to an older one in one transaction.
/// A file of a newer version is refused before anything is changed: its
/// outbox may hold work not yet sent, which this binary must neither drop
/// nor overwrite.
pub(super) fn prepare(conn: &Connection, path: &Path) -> Result<(), CacheError> {
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if version > SCHEMA_VERSION {
        return Err(CacheError::Newer {
            path: path.to_owned(),
            found: version,
            known: SCHEMA_VERSION,
        });
    }
    conn.pragma_update(None, "journal_mode", "WAL")?;
    // FULL: a committed event survives a power cut too, so the cursor
    // never runs ahead of what is on disk.
    conn.pragma_update(None, "synchronous", "FULL")?;
    if version < SCHEMA_VERSION {
        // Every statement is `IF NOT EXISTS`: a file of an older version
        // gains the new tables and keeps what it has. The tables and the
        // new version are committed together, or not at all.
        conn.execute_batch(&format!(
            "BEGIN IMMEDIATE; {SCHEMA} PRAGMA user_version = {SCHEMA_VERSION}; COMMIT;"
        ))
        .inspect_err(|_| {
            let _ = conn.execute_batch("ROLLBACK");
        })?;
    }
    Ok(())
}
