//! The manager's live dashboard: four figures for the hub's local day,
//! recomputed inside each order transaction and announced when they change.

use chrono::{DateTime, Utc};
use countertop_protocol::{DashboardUpdate, Event, Topic, Widget};
use serde_json::Value;

use crate::log::{Routing, Writer};
use crate::store;
use crate::Hub;

async fn compute(
    hub: &Hub,
    conn: &mut impl crate::store::Exec,
    now: DateTime<Utc>,
) -> Result<Vec<(&'static str, Value)>, sqlx::Error> {
    let today = hub.clock.local_date(now).to_string();
    let (orders, revenue, open, avg) = store::orders::day_figures(conn, &today).await?;
    Ok(vec![
        (Widget::OrdersToday.as_str(), Value::from(orders)),
        (Widget::RevenueToday.as_str(), Value::from(revenue)),
        (Widget::OpenOrders.as_str(), Value::from(open)),
        (
            Widget::AvgPrepSeconds.as_str(),
            Value::from(avg.map_or(0, |s| s.round() as i64)),
        ),
    ])
}

/// Emits `dashboard:update` for every figure that differs from the last one
/// announced.
pub(crate) async fn refresh(
    hub: &Hub,
    w: &mut Writer<'_>,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
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
pub(crate) async fn prime(hub: &Hub) -> Result<(), sqlx::Error> {
    let mut w = hub.log.begin().await?;
    let figures = compute(hub, &mut w.tx, hub.clock.now()).await?;
    for (widget, value) in figures {
        w.dashboard().insert(widget.to_owned(), value);
    }
    w.commit().await
}
