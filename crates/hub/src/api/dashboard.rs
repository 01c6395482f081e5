//! The manager's live dashboard: four figures for the hub's local day,
//! recomputed inside each order transaction and announced when they change.

use chrono::{DateTime, Utc};
use countertop_protocol::{DashboardUpdate, Event, Topic};
use serde_json::Value;

use crate::log::{Routing, Writer};
use crate::Hub;

async fn compute(
    hub: &Hub,
    conn: &mut sqlx::SqliteConnection,
    now: DateTime<Utc>,
) -> Result<Vec<(&'static str, Value)>, sqlx::Error> {
    let today = hub.clock.local_date(now).to_string();
    // One statement, not three: this runs inside every order's transaction,
    // and each statement is a round trip to SQLite's worker thread while the
    // writer lock is held.
    let (orders, revenue, open, avg): (i64, i64, i64, Option<f64>) = sqlx::query_as(
        "SELECT today.orders, today.revenue,
            (SELECT COUNT(*) FROM orders WHERE status IN ('PENDING', 'MAKING', 'READY')),
            (SELECT AVG((julianday(ready_at) - julianday(created_at)) * 86400.0) FROM orders
             WHERE local_date = ? AND ready_at IS NOT NULL)
         FROM (SELECT COUNT(*) AS orders, COALESCE(SUM(total_amount), 0) AS revenue FROM orders
               WHERE local_date = ? AND status != 'CANCELLED') AS today",
    )
    .bind(&today)
    .bind(&today)
    .fetch_one(&mut *conn)
    .await?;
    Ok(vec![
        ("orders_today", Value::from(orders)),
        ("revenue_today", Value::from(revenue)),
        ("open_orders", Value::from(open)),
        (
            "avg_prep_seconds",
            Value::from(avg.map_or(0, |s| s.round() as i64)),
        ),
    ])
}

/// Emits `dashboard:update` for every figure that differs from the last one
/// announced.
pub async fn refresh(hub: &Hub, w: &mut Writer<'_>, now: DateTime<Utc>) -> Result<(), sqlx::Error> {
    let figures = compute(hub, &mut w.tx, now).await?;
    for (widget, value) in figures {
        if w.dashboard().get(widget) == Some(&value) {
            continue;
        }
        w.dashboard().insert(widget.to_owned(), value.clone());
        let update = DashboardUpdate {
            widget_id: widget.to_owned(),
            value,
            timestamp: now,
        };
        w.emit(
            &Event::DashboardUpdate(update),
            Routing::topic(Topic::Dashboard),
            now,
        )
        .await?;
    }
    Ok(())
}

/// Reads today's figures at start, so the first change announces only what changed.
pub async fn prime(hub: &Hub) -> Result<(), sqlx::Error> {
    let mut w = hub.log.begin().await?;
    let figures = compute(hub, &mut w.tx, hub.clock.now()).await?;
    for (widget, value) in figures {
        w.dashboard().insert(widget.to_owned(), value);
    }
    w.commit().await
}

/// The current figures, for a snapshot or a newly opened dashboard.
pub async fn current(hub: &Hub) -> Result<Vec<(&'static str, Value)>, sqlx::Error> {
    let mut conn = hub.pool().acquire().await?;
    compute(hub, &mut conn, hub.clock.now()).await
}
