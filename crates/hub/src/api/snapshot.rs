//! `GET /api/snapshot`: what a client loads first and after `resync`, read in
//! one transaction together with the seq it is current as of.

use axum::extract::State;
use axum::Json;
use countertop_protocol::{Role, Snapshot};

use super::{load_cells, load_menu, load_settings, load_workorders, OrderRow, ORDER_COLUMNS};
use crate::auth::Caller;
use crate::error::ApiResult;
use crate::Hub;

/// The most orders a snapshot carries.
const SNAPSHOT_ORDERS: i64 = 1000;

pub async fn get_snapshot(State(hub): State<Hub>, caller: Caller) -> ApiResult<Json<Snapshot>> {
    let mut tx = hub.pool().begin().await?;
    // `last_seq` is written in the same transaction as every change, so this
    // read sees exactly the state as of `seq`.
    let seq: u64 = crate::log::meta_get(&mut tx, "last_seq")
        .await?
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let menu = load_menu(&mut tx).await?;
    let settings = load_settings(&mut tx).await?;
    let today = hub.clock.today().to_string();
    let role = caller.role();
    let orders: Vec<OrderRow> = match role {
        Some(Role::Barista | Role::Manager) => {
            sqlx::query_as(&format!(
                "SELECT {ORDER_COLUMNS} FROM orders
                 WHERE local_date = ? OR status IN ('PENDING', 'MAKING', 'READY')
                 ORDER BY created_ms DESC LIMIT ?"
            ))
            .bind(&today)
            .bind(SNAPSHOT_ORDERS)
            .fetch_all(&mut *tx)
            .await?
        }
        Some(Role::Kiosk) => {
            sqlx::query_as(&format!(
                "SELECT {ORDER_COLUMNS} FROM orders WHERE local_date = ? AND device_id = ?
                 ORDER BY created_ms DESC LIMIT ?"
            ))
            .bind(&today)
            .bind(caller.device_id())
            .bind(SNAPSHOT_ORDERS)
            .fetch_all(&mut *tx)
            .await?
        }
        _ => Vec::new(),
    };
    let orders = orders
        .into_iter()
        .map(OrderRow::into_order)
        .collect::<Result<_, _>>()?;
    let cells = match role {
        Some(Role::Kiosk | Role::Barista | Role::Manager) => Some(load_cells(&mut tx).await?),
        _ => None,
    };
    let workorders = match role {
        Some(Role::Manager) => Some(load_workorders(&mut tx, None).await?),
        Some(Role::Display) => Some(load_workorders(&mut tx, caller.device_id()).await?),
        _ => None,
    };
    tx.commit().await?;
    Ok(Json(Snapshot {
        epoch: hub.log.epoch().to_owned(),
        seq,
        menu,
        settings,
        orders,
        cells,
        workorders,
    }))
}
