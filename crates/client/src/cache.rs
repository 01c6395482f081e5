//! The local cache: one SQLite file in the device's data folder.
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

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use chrono::{DateTime, Utc};
use countertop_protocol::{
    Cell, ErrorBody, Event, MenuItem, Order, OrderStatus, Role, Settings, Snapshot,
    SystemNotification, Workorder,
};
use rusqlite::{params, Connection, OptionalExtension, Transaction};
use serde::{Deserialize, Serialize};

use crate::alerts::Alert;
use crate::error::CacheError;
use crate::outbox::OutboxOp;

const SCHEMA_VERSION: i64 = 1;

/// How many system notifications the cache keeps.
pub const NOTICES_KEPT: i64 = 50;

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
";

/// Where the cache stands in the hub's event log.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Cursor {
    /// The newest applied (or replayed-past) seq; 0 when nothing was loaded.
    pub seq: u64,
    /// The event log the seq belongs to; `None` before the first snapshot.
    pub epoch: Option<String>,
}

/// Who this device is, as pairing said.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeviceInfo {
    pub device_id: String,
    pub role: Role,
    pub name: String,
    pub hub: String,
    /// When the device token runs out (refreshed when under 30 days).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_expires_at: Option<countertop_protocol::Timestamp>,
}

/// What applying an event did.
#[derive(Debug, Clone, PartialEq)]
pub enum Applied {
    /// Its seq was not above the cursor: it had been applied before.
    Skipped,
    /// Committed; `alert` is set when the event alerts for the first time.
    Committed { alert: Option<Alert> },
}

/// An entry waiting in the outbox.
#[derive(Debug, Clone, PartialEq)]
pub struct Queued {
    pub id: i64,
    pub key: String,
    pub op: OutboxOp,
}

/// How an outbox entry ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    Sent { response: serde_json::Value },
    Refused { error: ErrorBody },
}

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
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        // FULL: a committed event survives a power cut too, so the cursor
        // never runs ahead of what is on disk.
        conn.pragma_update(None, "synchronous", "FULL")?;
        let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
        if version < SCHEMA_VERSION {
            conn.execute_batch(SCHEMA)?;
            conn.pragma_update(None, "user_version", SCHEMA_VERSION)?;
        }
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

    // -- meta -------------------------------------------------------------

    fn meta_get(conn: &Connection, key: &str) -> Result<Option<String>, CacheError> {
        Ok(conn
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()?)
    }

    fn meta_set(conn: &Connection, key: &str, value: &str) -> Result<(), CacheError> {
        conn.execute(
            "INSERT INTO meta (key, value) VALUES (?1, ?2)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            params![key, value],
        )?;
        Ok(())
    }

    fn cursor_in(conn: &Connection) -> Result<Cursor, CacheError> {
        let seq = Self::meta_get(conn, "seq")?
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let epoch = Self::meta_get(conn, "epoch")?;
        Ok(Cursor { seq, epoch })
    }

    pub fn cursor(&self) -> Result<Cursor, CacheError> {
        Self::cursor_in(&self.lock())
    }

    pub fn device(&self) -> Result<Option<DeviceInfo>, CacheError> {
        let conn = self.lock();
        match Self::meta_get(&conn, "device")? {
            Some(text) => Ok(Some(serde_json::from_str(&text)?)),
            None => Ok(None),
        }
    }

    /// Records the paired device. Pairing anew (maybe to another hub) forgets
    /// the hub's state and the cursor, so the next connection starts from a
    /// snapshot. Alert dedupe rows stay: an order never chimes twice.
    pub fn set_device(&self, device: &DeviceInfo) -> Result<(), CacheError> {
        let mut conn = self.lock();
        let tx = conn.transaction()?;
        Self::meta_set(&tx, "device", &serde_json::to_string(device)?)?;
        tx.execute("DELETE FROM meta WHERE key IN ('seq', 'epoch')", [])?;
        tx.execute_batch(
            "DELETE FROM orders; DELETE FROM menu; DELETE FROM settings;
             DELETE FROM cells; DELETE FROM workorders;",
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Updates the device record (say, after a token refresh), keeping the cursor.
    pub fn update_device(&self, device: &DeviceInfo) -> Result<(), CacheError> {
        Self::meta_set(&self.lock(), "device", &serde_json::to_string(device)?)
    }

    // -- events -----------------------------------------------------------

    /// Applies one durable event with its `seq`, exactly once. When `alert`
    /// is given and its key has never alerted, the alert is recorded in the
    /// same transaction and returned.
    pub fn apply(
        &self,
        seq: u64,
        event: &Event,
        alert: Option<Alert>,
    ) -> Result<Applied, CacheError> {
        let mut conn = self.lock();
        let tx = conn.transaction()?;
        let cursor = Self::cursor_in(&tx)?;
        if !Self::is_new(&tx, seq, event, cursor.seq)? {
            return Ok(Applied::Skipped);
        }
        apply_change(&tx, event)?;
        if let Some(order_id) = order_of(event) {
            tx.execute(
                "UPDATE orders SET last_seq = ?2 WHERE order_id = ?1 AND last_seq < ?2",
                params![order_id, seq],
            )?;
        }
        if seq > cursor.seq {
            Self::meta_set(&tx, "seq", &seq.to_string())?;
        }
        let alert = match alert {
            Some(alert) if Self::mark_alerted(&tx, &alert.key)? => Some(alert),
            _ => None,
        };
        tx.commit()?;
        Ok(Applied::Committed { alert })
    }

    /// Whether `event` (with `seq`) has not been applied yet. Events of one
    /// order are judged by that order's own newest seq, because a kiosk that
    /// starts following an order gets its history replayed after newer
    /// events of other topics; everything else by the cursor.
    fn is_new(
        tx: &Transaction<'_>,
        seq: u64,
        event: &Event,
        cursor: u64,
    ) -> Result<bool, CacheError> {
        let Some(order_id) = order_of(event) else {
            return Ok(seq > cursor);
        };
        let last: Option<i64> = tx
            .query_row(
                "SELECT last_seq FROM orders WHERE order_id = ?1",
                [order_id],
                |r| r.get(0),
            )
            .optional()?;
        Ok(match (last, event) {
            // Known already: from its own event, a snapshot or the hub's answer.
            (Some(_), Event::OrderCreated(_)) => false,
            (Some(last), _) => i64::try_from(seq).is_ok_and(|seq| seq > last),
            (None, _) => seq > cursor,
        })
    }

    fn mark_alerted(tx: &Transaction<'_>, key: &str) -> Result<bool, CacheError> {
        let inserted = tx.execute(
            "INSERT OR IGNORE INTO alerted (key, at) VALUES (?1, ?2)",
            params![key, now_text()],
        )?;
        Ok(inserted == 1)
    }

    /// Moves the cursor forward to `seq` (from `replayed.to`: the hub looked
    /// that far and had nothing more for this device).
    pub fn advance(&self, seq: u64) -> Result<(), CacheError> {
        let mut conn = self.lock();
        let tx = conn.transaction()?;
        if seq > Self::cursor_in(&tx)?.seq {
            Self::meta_set(&tx, "seq", &seq.to_string())?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Replaces everything the hub owns with `snapshot`, in one transaction.
    /// `alert_for` is asked about each order the cache did not hold before;
    /// the alerts that have not fired yet are recorded and returned.
    pub fn load_snapshot(
        &self,
        snapshot: &Snapshot,
        alert_for: impl Fn(&Order) -> Option<Alert>,
    ) -> Result<Vec<Alert>, CacheError> {
        let mut conn = self.lock();
        let tx = conn.transaction()?;
        let mut alerts = Vec::new();
        for order in &snapshot.orders {
            let known: bool = tx
                .query_row(
                    "SELECT 1 FROM orders WHERE order_id = ?1",
                    [&order.order_id],
                    |_| Ok(()),
                )
                .optional()?
                .is_some();
            if !known {
                if let Some(alert) = alert_for(order) {
                    if Self::mark_alerted(&tx, &alert.key)? {
                        alerts.push(alert);
                    }
                }
            }
        }
        tx.execute_batch("DELETE FROM orders; DELETE FROM menu; DELETE FROM settings;")?;
        for order in &snapshot.orders {
            put_order(&tx, order)?;
        }
        tx.execute("UPDATE orders SET last_seq = ?1", [snapshot.seq])?;
        for item in &snapshot.menu {
            put_json(&tx, "menu", &item.id, item)?;
        }
        for (key, value) in &snapshot.settings {
            put_setting(&tx, key, value)?;
        }
        if let Some(cells) = &snapshot.cells {
            tx.execute("DELETE FROM cells", [])?;
            for cell in cells {
                put_json(&tx, "cells", &cell.id, cell)?;
            }
        }
        if let Some(workorders) = &snapshot.workorders {
            tx.execute("DELETE FROM workorders", [])?;
            for w in workorders {
                put_json(&tx, "workorders", &w.id, w)?;
            }
        }
        Self::meta_set(&tx, "seq", &snapshot.seq.to_string())?;
        Self::meta_set(&tx, "epoch", &snapshot.epoch)?;
        tx.commit()?;
        Ok(alerts)
    }

    /// Stores an order this device created, as the hub answered it, unless
    /// events already told the cache about it.
    pub fn remember_order(&self, order: &Order) -> Result<(), CacheError> {
        let conn = self.lock();
        conn.execute(
            "INSERT OR IGNORE INTO orders (order_id, daily_num, status, created_at, body)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                order.order_id,
                order.daily_num,
                order.status.as_str(),
                order.created_at.to_rfc3339(),
                serde_json::to_string(order)?
            ],
        )?;
        Ok(())
    }

    // -- reads ------------------------------------------------------------

    /// Every cached order, oldest first.
    pub fn orders(&self) -> Result<Vec<Order>, CacheError> {
        let conn = self.lock();
        let mut stmt = conn.prepare("SELECT body FROM orders ORDER BY created_at, order_id")?;
        let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
        let mut out = Vec::new();
        for row in rows {
            out.push(serde_json::from_str(&row?)?);
        }
        Ok(out)
    }

    pub fn order(&self, order_id: &str) -> Result<Option<Order>, CacheError> {
        let conn = self.lock();
        get_json(
            &conn,
            "SELECT body FROM orders WHERE order_id = ?1",
            order_id,
        )
    }

    pub fn menu(&self) -> Result<Vec<MenuItem>, CacheError> {
        all_json(&self.lock(), "SELECT body FROM menu ORDER BY id")
    }

    pub fn cells(&self) -> Result<Vec<Cell>, CacheError> {
        all_json(&self.lock(), "SELECT body FROM cells ORDER BY id")
    }

    pub fn workorders(&self) -> Result<Vec<Workorder>, CacheError> {
        all_json(&self.lock(), "SELECT body FROM workorders ORDER BY id")
    }

    pub fn settings(&self) -> Result<Settings, CacheError> {
        let conn = self.lock();
        let mut stmt = conn.prepare("SELECT key, value FROM settings")?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
        let mut out = Settings::new();
        for row in rows {
            let (k, v) = row?;
            out.insert(k, v);
        }
        Ok(out)
    }

    /// The newest system notifications, newest first.
    pub fn notices(&self) -> Result<Vec<SystemNotification>, CacheError> {
        all_json(
            &self.lock(),
            "SELECT body FROM notices ORDER BY at DESC, id DESC",
        )
    }

    /// The newest `dashboard:update` of each widget: its value and time.
    pub fn dashboard(
        &self,
    ) -> Result<BTreeMap<String, (serde_json::Value, DateTime<Utc>)>, CacheError> {
        let conn = self.lock();
        let mut stmt = conn.prepare("SELECT widget, at, value FROM dashboard")?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
            ))
        })?;
        let mut out = BTreeMap::new();
        for row in rows {
            let (widget, at, value) = row?;
            let Ok(at) = DateTime::parse_from_rfc3339(&at) else {
                continue;
            };
            out.insert(
                widget,
                (serde_json::from_str(&value)?, at.with_timezone(&Utc)),
            );
        }
        Ok(out)
    }

    /// How many alert keys have fired (for diagnostics and tests).
    pub fn alerted_keys(&self) -> Result<Vec<String>, CacheError> {
        let conn = self.lock();
        let mut stmt = conn.prepare("SELECT key FROM alerted ORDER BY key")?;
        let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    // -- outbox -----------------------------------------------------------

    /// Queues an action; queuing the same key twice keeps the first.
    pub fn enqueue(&self, key: &str, op: &OutboxOp) -> Result<(), CacheError> {
        let conn = self.lock();
        conn.execute(
            "INSERT OR IGNORE INTO outbox (key, op, queued_at) VALUES (?1, ?2, ?3)",
            params![key, serde_json::to_string(op)?, now_text()],
        )?;
        Ok(())
    }

    /// The oldest waiting entry.
    pub fn outbox_next(&self) -> Result<Option<Queued>, CacheError> {
        let conn = self.lock();
        let row: Option<(i64, String, String)> = conn
            .query_row(
                "SELECT id, key, op FROM outbox ORDER BY id LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        match row {
            Some((id, key, op)) => Ok(Some(Queued {
                id,
                key,
                op: serde_json::from_str(&op)?,
            })),
            None => Ok(None),
        }
    }

    pub fn outbox_len(&self) -> Result<usize, CacheError> {
        let conn = self.lock();
        let n: i64 = conn.query_row("SELECT COUNT(*) FROM outbox", [], |r| r.get(0))?;
        Ok(usize::try_from(n).unwrap_or(0))
    }

    /// Removes an entry and records how it ended, in one transaction.
    pub fn outbox_finish(&self, id: i64, key: &str, outcome: &Outcome) -> Result<(), CacheError> {
        let mut conn = self.lock();
        let tx = conn.transaction()?;
        tx.execute("DELETE FROM outbox WHERE id = ?1", [id])?;
        tx.execute(
            "INSERT INTO outbox_outcomes (key, ok, body, at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (key) DO UPDATE SET ok = excluded.ok, body = excluded.body, at = excluded.at",
            params![
                key,
                matches!(outcome, Outcome::Sent { .. }),
                serde_json::to_string(outcome)?,
                now_text()
            ],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// How the entry with `key` ended, if it has.
    pub fn outcome(&self, key: &str) -> Result<Option<Outcome>, CacheError> {
        let conn = self.lock();
        get_json(
            &conn,
            "SELECT body FROM outbox_outcomes WHERE key = ?1",
            key,
        )
    }

    // -- local settings ---------------------------------------------------

    pub fn local_setting(&self, key: &str) -> Result<Option<String>, CacheError> {
        let conn = self.lock();
        Ok(conn
            .query_row(
                "SELECT value FROM local_settings WHERE key = ?1",
                [key],
                |r| r.get(0),
            )
            .optional()?)
    }

    pub fn set_local_setting(&self, key: &str, value: &str) -> Result<(), CacheError> {
        let conn = self.lock();
        conn.execute(
            "INSERT INTO local_settings (key, value) VALUES (?1, ?2)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            params![key, value],
        )?;
        Ok(())
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

fn all_json<T: serde::de::DeserializeOwned>(
    conn: &Connection,
    sql: &str,
) -> Result<Vec<T>, CacheError> {
    let mut stmt = conn.prepare(sql)?;
    let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
    let mut out = Vec::new();
    for row in rows {
        out.push(serde_json::from_str(&row?)?);
    }
    Ok(out)
}

fn put_json<T: Serialize>(
    tx: &Transaction<'_>,
    table: &str,
    id: &str,
    value: &T,
) -> Result<(), CacheError> {
    // `table` is one of this module's constants, never input.
    tx.execute(
        &format!(
            "INSERT INTO {table} (id, body) VALUES (?1, ?2)
             ON CONFLICT (id) DO UPDATE SET body = excluded.body"
        ),
        params![id, serde_json::to_string(value)?],
    )?;
    Ok(())
}

fn put_setting(tx: &Transaction<'_>, key: &str, value: &str) -> Result<(), CacheError> {
    tx.execute(
        "INSERT INTO settings (key, value) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        params![key, value],
    )?;
    Ok(())
}

fn put_order(tx: &Transaction<'_>, order: &Order) -> Result<(), CacheError> {
    tx.execute(
        "INSERT INTO orders (order_id, daily_num, status, created_at, body) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (order_id) DO UPDATE SET status = excluded.status, body = excluded.body",
        params![
            order.order_id,
            order.daily_num,
            order.status.as_str(),
            order.created_at.to_rfc3339(),
            serde_json::to_string(order)?
        ],
    )?;
    Ok(())
}

fn update_order(
    tx: &Transaction<'_>,
    order_id: &str,
    change: impl FnOnce(&mut Order),
) -> Result<(), CacheError> {
    let text: Option<String> = tx
        .query_row(
            "SELECT body FROM orders WHERE order_id = ?1",
            [order_id],
            |r| r.get(0),
        )
        .optional()?;
    // An order this device never saw (a kiosk hearing of another kiosk's
    // order on `board`) has nothing to update.
    if let Some(text) = text {
        let mut order: Order = serde_json::from_str(&text)?;
        change(&mut order);
        put_order(tx, &order)?;
    }
    Ok(())
}

/// The order an event is about, if it is about one.
fn order_of(event: &Event) -> Option<&str> {
    match event {
        Event::OrderCreated(o) => Some(&o.order_id),
        Event::OrderStatusChanged(s) => Some(&s.order_id),
        Event::OrderCancelled(c) => Some(&c.order_id),
        _ => None,
    }
}

fn apply_change(tx: &Transaction<'_>, event: &Event) -> Result<(), CacheError> {
    match event {
        Event::OrderCreated(o) => {
            let order = Order {
                order_id: o.order_id.clone(),
                daily_num: o.daily_num,
                pay_type: o.pay_type,
                cell_info: o.cell_info.clone(),
                items: o.items.clone(),
                total_amount: o.total_amount,
                status: o.status,
                created_at: o.created_at,
                updated_at: o.created_at,
                cancel_reason: None,
            };
            tx.execute(
                "INSERT OR IGNORE INTO orders (order_id, daily_num, status, created_at, body)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    order.order_id,
                    order.daily_num,
                    order.status.as_str(),
                    order.created_at.to_rfc3339(),
                    serde_json::to_string(&order)?
                ],
            )?;
        }
        Event::OrderStatusChanged(s) => update_order(tx, &s.order_id, |o| {
            o.status = s.status;
            if let Some(at) = s.updated_at {
                o.updated_at = at;
            }
        })?,
        Event::OrderCancelled(c) => update_order(tx, &c.order_id, |o| {
            o.status = OrderStatus::Cancelled;
            o.cancel_reason = Some(c.reason.clone());
            o.updated_at = c.cancelled_at;
        })?,
        Event::MenuSoldOutChanged(m) => {
            let item: Option<MenuItem> =
                get_json(tx, "SELECT body FROM menu WHERE id = ?1", &m.menu_id)?;
            if let Some(mut item) = item {
                item.is_sold_out = m.is_sold_out;
                put_json(tx, "menu", &item.id, &item)?;
            }
        }
        Event::MenuUpdated(item) => put_json(tx, "menu", &item.id, item)?,
        Event::CellBalanceChanged(c) => {
            let cell = Cell {
                id: c.cell_id.clone(),
                name: c.cell_name.clone(),
                balance: c.balance_after,
            };
            put_json(tx, "cells", &cell.id, &cell)?;
        }
        Event::SettingsChanged(s) => put_setting(tx, &s.key, &s.value)?,
        Event::WorkorderUpdated(w) => put_json(tx, "workorders", &w.work_order.id, &w.work_order)?,
        Event::SystemNotification(n) => {
            tx.execute(
                "INSERT OR REPLACE INTO notices (id, at, body) VALUES (?1, ?2, ?3)",
                params![n.id, n.timestamp.to_rfc3339(), serde_json::to_string(n)?],
            )?;
            tx.execute(
                "DELETE FROM notices WHERE id NOT IN
                 (SELECT id FROM notices ORDER BY at DESC, id DESC LIMIT ?1)",
                [NOTICES_KEPT],
            )?;
        }
        Event::DashboardUpdate(d) => {
            tx.execute(
                "INSERT OR REPLACE INTO dashboard (widget, at, value) VALUES (?1, ?2, ?3)",
                params![d.widget_id, d.timestamp.to_rfc3339(), d.value.to_string()],
            )?;
        }
        // Batch progress is shown as it passes; the cache keeps only its seq.
        _ => {}
    }
    Ok(())
}
