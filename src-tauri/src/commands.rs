//! The commands the UI calls. Each takes the calling window, finds its
//! device in the [`Station`], calls the client core and maps the error.

use countertop_client::device::ALERT_SETTINGS_KEY;
use countertop_client::AlertSettings;
use countertop_protocol::NewOrderItem;
use tauri::{AppHandle, Manager as _, State, WebviewWindow};

use crate::ipc::{CartLine, IpcError, OrderEntry, Pay, Screen, ScreenKind, Session, SetupChoice};
use crate::station::{Binding, Station};
use crate::{launch, sold_out, windows};

/// Who the calling window is; `setup` on a first run.
#[tauri::command]
#[specta::specta]
pub fn session(window: WebviewWindow, station: State<'_, Station>) -> Result<Session, IpcError> {
    let Some(binding) = station.binding(window.label()) else {
        return Ok(Session {
            screen: ScreenKind::Setup,
            device_name: String::new(),
            hub: String::new(),
            hosting: false,
        });
    };
    let device = station.device_for(window.label())?;
    Ok(Session {
        screen: binding.screen,
        device_name: device.name,
        hub: device.hub,
        hosting: station.hub_url().is_some(),
    })
}

/// Everything the calling window shows, from its device's cache.
#[tauri::command]
#[specta::specta]
pub fn screen(window: WebviewWindow, station: State<'_, Station>) -> Result<Screen, IpcError> {
    let device = station.device_for(window.label())?;
    let cache = device.handle.cache();
    let mut orders: Vec<OrderEntry> = cache.orders()?.into_iter().map(Into::into).collect();
    orders.sort_by(|a, b| b.created_at.cmp(&a.created_at));
    Ok(Screen {
        menu: cache.menu()?.into_iter().map(Into::into).collect(),
        cells: cache.cells()?.into_iter().map(Into::into).collect(),
        orders,
        settings: cache.settings()?,
        status: device.handle.status().into(),
        muted: alert_settings(&device)?.mute,
    })
}

fn alert_settings(device: &crate::station::Device) -> Result<AlertSettings, IpcError> {
    Ok(
        match device.handle.cache().local_setting(ALERT_SETTINGS_KEY)? {
            Some(text) => {
                serde_json::from_str(&text).map_err(|e| IpcError::new("cache", e.to_string()))?
            }
            None => AlertSettings::for_role(device.role),
        },
    )
}

/// First run: host the hub here or join one, then show the role's screen.
#[tauri::command]
#[specta::specta]
pub async fn setup(
    app: AppHandle,
    window: WebviewWindow,
    station: State<'_, Station>,
    choice: SetupChoice,
) -> Result<Session, IpcError> {
    let station = station.inner().clone();
    let plan = match choice {
        SetupChoice::Host { role } => launch::Plan::Host {
            role: Some(role.into()),
        },
        SetupChoice::Join { hub_url, code } => launch::Plan::Join { hub: hub_url, code },
    };
    let key = launch::start_single(&app, &station, plan)
        .await
        .map_err(|e| IpcError::new("setup_failed", format!("{e:#}")))?;
    let device = station.device_for_key(&key)?;
    station.bind(
        window.label(),
        Binding {
            device: key,
            screen: ScreenKind::for_role(device.role),
        },
    );
    session(window, app.state::<Station>())
}

/// Places an order from the kiosk's cart; returns the outbox key the
/// outcome (`sent` or `refused`) will name.
#[tauri::command]
#[specta::specta]
pub fn place_order(
    window: WebviewWindow,
    station: State<'_, Station>,
    lines: Vec<CartLine>,
    pay: Pay,
    cell_id: Option<String>,
) -> Result<String, IpcError> {
    let device = station.device_for(window.label())?;
    let cache = device.handle.cache();
    if lines.is_empty() {
        return Err(IpcError::new("validation", "the cart is empty"));
    }
    // Refuse at once what the hub would refuse, so the customer hears it
    // before the order leaves the kiosk.
    let menu = cache.menu()?;
    let mut total = 0i64;
    for line in &lines {
        let item = menu
            .iter()
            .find(|m| m.id == line.menu_id)
            .ok_or_else(|| IpcError::new("not_found", "that item is no longer on the menu"))?;
        if item.is_sold_out {
            return Err(IpcError::new(
                "sold_out",
                format!("{} is sold out", item.name),
            ));
        }
        total += item.price * i64::from(line.quantity);
    }
    if pay == Pay::Cell {
        let id = cell_id
            .as_deref()
            .ok_or_else(|| IpcError::new("validation", "choose a cell to pay with"))?;
        let cell = cache
            .cells()?
            .into_iter()
            .find(|c| c.id == id)
            .ok_or_else(|| IpcError::new("not_found", "that cell does not exist"))?;
        if cell.balance < total {
            return Err(IpcError::new(
                "insufficient_balance",
                format!("{} has not enough points for this order", cell.name),
            ));
        }
    }
    let items = lines
        .into_iter()
        .map(|l| NewOrderItem {
            menu_id: l.menu_id,
            quantity: l.quantity,
            options: None,
        })
        .collect();
    Ok(device.handle.place_order(items, pay.into(), cell_id)?)
}

/// Moves an order one step on: PENDING → MAKING → READY → COMPLETED.
#[tauri::command]
#[specta::specta]
pub fn advance_order(
    window: WebviewWindow,
    station: State<'_, Station>,
    order_id: String,
) -> Result<(), IpcError> {
    let device = station.device_for(window.label())?;
    let order = device
        .handle
        .cache()
        .order(&order_id)?
        .ok_or_else(|| IpcError::new("not_found", "no such order"))?;
    let next = order
        .status
        .next()
        .ok_or_else(|| IpcError::new("invalid_transition", "this order cannot move on any more"))?;
    device.handle.change_status(&order_id, next)?;
    Ok(())
}

/// Cancels an open order, saying why.
#[tauri::command]
#[specta::specta]
pub fn cancel_order(
    window: WebviewWindow,
    station: State<'_, Station>,
    order_id: String,
    reason: String,
) -> Result<(), IpcError> {
    let device = station.device_for(window.label())?;
    if reason.trim().is_empty() {
        return Err(IpcError::new(
            "validation",
            "say why the order is cancelled",
        ));
    }
    device.handle.cancel(&order_id, reason.trim())?;
    Ok(())
}

/// Marks a menu item sold out (or back in stock).
#[tauri::command]
#[specta::specta]
pub async fn set_sold_out(
    window: WebviewWindow,
    station: State<'_, Station>,
    menu_id: String,
    sold_out: bool,
) -> Result<(), IpcError> {
    let device = station.device_for(window.label())?;
    sold_out::set(&device, &menu_id, sold_out).await
}

/// Mutes or unmutes this device's sounds and notifications.
#[tauri::command]
#[specta::specta]
pub fn set_muted(
    window: WebviewWindow,
    station: State<'_, Station>,
    muted: bool,
) -> Result<(), IpcError> {
    let device = station.device_for(window.label())?;
    let mut settings = alert_settings(&device)?;
    settings.mute = muted;
    device.handle.set_alert_settings(settings)?;
    Ok(())
}

/// Tries to reach the hub now (the Retry button).
#[tauri::command]
#[specta::specta]
pub fn retry(window: WebviewWindow, station: State<'_, Station>) -> Result<(), IpcError> {
    station.device_for(window.label())?.handle.retry();
    Ok(())
}

/// Opens the "now serving" board in a window of its own.
#[tauri::command]
#[specta::specta]
pub fn open_board(app: AppHandle, station: State<'_, Station>) -> Result<(), IpcError> {
    let device = station.order_reader().ok_or_else(|| {
        IpcError::new(
            "forbidden",
            "only a barista or manager station can show the board",
        )
    })?;
    windows::open_board(&app, &station, &device).map_err(|e| IpcError::new("window", e.to_string()))
}
