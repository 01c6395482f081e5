//! The snapshot: everything a role may read, in one read transaction
//! together with the `seq` it is current as of.

use countertop_protocol::{Role, Snapshot};

use crate::store::cells::load_cells;
use crate::store::menu::load_menu;
use crate::store::settings::load_settings;
use crate::store::workorders::load_workorders;
use crate::store::{self, StoreError};
use crate::Hub;

/// The most orders a snapshot carries.
const SNAPSHOT_ORDERS: i64 = 1000;

/// What a caller of `role` (none: anonymous), on device `device_id`, may
/// read: the menu, settings and the board (today's open orders by number and
/// status) for all, orders for staff (a kiosk only its own of today), cells
/// for staff, workorders for managers (a display only those presented to it).
pub(crate) async fn read(
    hub: &Hub,
    role: Option<Role>,
    device_id: Option<&str>,
) -> Result<Snapshot, StoreError> {
    let mut tx = hub.pool().begin_snapshot().await?;
    // `last_seq` is written in the same transaction as every change, so this
    // read sees exactly the state as of `seq`.
    let seq: u64 = crate::log::meta_get(&mut tx, "last_seq")
        .await?
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let menu = load_menu(&mut tx).await?;
    let settings = load_settings(&mut tx).await?;
    let today = hub.clock.today().to_string();
    let orders = match role {
        Some(Role::Barista | Role::Manager) => {
            store::orders::today_or_open(&mut tx, &today, SNAPSHOT_ORDERS).await?
        }
        Some(Role::Kiosk) => {
            store::orders::today_of_device(&mut tx, &today, device_id, SNAPSHOT_ORDERS).await?
        }
        _ => Vec::new(),
    };
    let cells = match role {
        Some(Role::Kiosk | Role::Barista | Role::Manager) => Some(load_cells(&mut tx).await?),
        _ => None,
    };
    let board = store::orders::board(&mut tx, &today, SNAPSHOT_ORDERS).await?;
    let workorders = match role {
        Some(Role::Manager) => Some(load_workorders(&mut tx, None).await?),
        Some(Role::Display) => Some(load_workorders(&mut tx, device_id).await?),
        _ => None,
    };
    tx.commit().await?;
    Ok(Snapshot {
        epoch: hub.log.epoch().to_owned(),
        seq,
        menu,
        settings,
        orders,
        cells,
        workorders,
        board,
    })
}
