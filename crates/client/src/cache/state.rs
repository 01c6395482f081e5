//! The hub's state as this device last heard it: orders, menu, settings,
//! cells, workorders, notices, dashboard figures, and the cursor (`seq`,
//! `epoch`) they stand at. Events are applied here exactly once.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use countertop_protocol::{
    Cell, Event, MenuItem, Order, OrderStatus, Settings, Snapshot, SystemNotification, Workorder,
};
use rusqlite::{params, Connection, OptionalExtension, Transaction};
use serde::Serialize;

use super::{get_json, meta_get, meta_set, now_text, Cache};
use crate::alerts::Alert;
use crate::error::CacheError;

/// How many system notifications the cache keeps.
pub const NOTICES_KEPT: i64 = 50;

/// Where the cache stands in the hub's event log.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Cursor {
    /// The newest applied (or replayed-past) seq; 0 when nothing was loaded.
    pub seq: u64,
    /// The event log the seq belongs to; `None` before the first snapshot.
    pub epoch: Option<String>,
}

/// What applying an event did.
#[derive(Debug, Clone, PartialEq)]
pub enum Applied {
    /// Its seq was not above the cursor: it had been applied before.
    Skipped,
    /// Committed; `alert` is set when the event alerts for the first time.
    Committed { alert: Option<Alert> },
}

impl Cache {
    fn cursor_in(conn: &Connection) -> Result<Cursor, CacheError> {
        let seq = meta_get(conn, "seq")?
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let epoch = meta_get(conn, "epoch")?;
        Ok(Cursor { seq, epoch })
    }

    pub fn cursor(&self) -> Result<Cursor, CacheError> {
        Self::cursor_in(&self.lock())
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
            meta_set(&tx, "seq", &seq.to_string())?;
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
            meta_set(&tx, "seq", &seq.to_string())?;
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
        tx.execute("DELETE FROM board", [])?;
        for entry in &snapshot.board {
            put_board(&tx, &entry.order_id, entry.daily_num, entry.status)?;
        }
        meta_set(&tx, "seq", &snapshot.seq.to_string())?;
        meta_set(&tx, "epoch", &snapshot.epoch)?;
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

    /// The menu in the manager's order (`position`, then id).
    pub fn menu(&self) -> Result<Vec<MenuItem>, CacheError> {
        let mut menu: Vec<MenuItem> = all_json(&self.lock(), "SELECT body FROM menu ORDER BY id")?;
        menu.sort_by_key(|m| m.position);
        Ok(menu)
    }

    /// How many of today's open orders on the board came before order
    /// number `daily_num` and are not ready yet.
    pub fn orders_ahead(&self, daily_num: u32) -> Result<u32, CacheError> {
        let n: u32 = self.lock().query_row(
            "SELECT COUNT(*) FROM board WHERE daily_num < ?1 AND status IN ('PENDING', 'MAKING')",
            [daily_num],
            |r| r.get(0),
        )?;
        Ok(n)
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
        Event::OrderItemsMarked(m) => Some(&m.order_id),
        _ => None,
    }
}

/// Keeps the board's open orders; a finished one leaves it.
fn put_board(
    tx: &Transaction<'_>,
    order_id: &str,
    daily_num: u32,
    status: OrderStatus,
) -> Result<(), CacheError> {
    if status.is_open() {
        tx.execute(
            "INSERT OR REPLACE INTO board (order_id, daily_num, status) VALUES (?1, ?2, ?3)",
            params![order_id, daily_num, status.as_str()],
        )?;
    } else {
        tx.execute("DELETE FROM board WHERE order_id = ?1", [order_id])?;
    }
    Ok(())
}

fn apply_change(tx: &Transaction<'_>, event: &Event) -> Result<(), CacheError> {
    match event {
        Event::OrderCreated(o) => put_board(tx, &o.order_id, o.daily_num, o.status)?,
        Event::OrderStatusChanged(s) => put_board(tx, &s.order_id, s.daily_num, s.status)?,
        Event::OrderCancelled(c) => {
            put_board(tx, &c.order_id, c.daily_num, OrderStatus::Cancelled)?
        }
        _ => {}
    }
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
                fulfilment: o.fulfilment,
                placed_at: o.placed_at,
                reference: o.reference.clone(),
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
            // A recall to MAKING: to be made again, every mark undone.
            if s.previous_status == Some(OrderStatus::Ready) && s.status == OrderStatus::Making {
                for line in &mut o.items {
                    line.done = false;
                    line.done_at = None;
                }
            }
            o.status = s.status;
            if let Some(at) = s.updated_at {
                o.updated_at = at;
            }
        })?,
        Event::OrderItemsMarked(m) => update_order(tx, &m.order_id, |o| {
            for &index in &m.lines {
                if let Some(line) = o.items.get_mut(index as usize) {
                    line.done = m.done;
                    line.done_at = m.done.then_some(m.marked_at);
                }
            }
            o.updated_at = m.marked_at;
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
        Event::MenuDeleted(m) => {
            tx.execute("DELETE FROM menu WHERE id = ?1", params![m.menu_id])?;
        }
        Event::CellBalanceChanged(c) => {
            let known: Option<Cell> =
                get_json(tx, "SELECT body FROM cells WHERE id = ?1", &c.cell_id)?;
            let cell = Cell {
                id: c.cell_id.clone(),
                name: c.cell_name.clone(),
                balance: c.balance_after,
                has_pin: known.is_some_and(|k| k.has_pin),
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
