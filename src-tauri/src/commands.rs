//! The commands the UI calls. Each takes the calling window, finds its
//! device in the [`Station`], calls the client core and maps the error.

use countertop_client::device::ALERT_SETTINGS_KEY;
use countertop_client::{AlertSettings, ConnectionState, HubApi};
use countertop_protocol::{
    MenuPatch, NewMenuItem, NewNotification, NewOrderItem, NewWorkorder, Role, SignatureSubmission,
    WorkorderLine,
};
use tauri::{AppHandle, Manager as _, State, WebviewWindow};
use tauri_specta::Event as _;

use crate::ipc::{
    CartLine, CellEntry, CoreUpdate, DashboardView, DeviceEntry, IpcError, MenuEntry,
    MenuPatchInput, NewMenuInput, NewWorkorderInput, NoticeLevel, OrderEntry, PairingCodeView, Pay,
    Preferences, RoleName, Screen, ScreenKind, Session, SetupChoice, WorkorderEntry,
};
use crate::station::{Binding, Device, Station};
use crate::{access, launch, preferences, windows};

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
    let Ok(device) = station.device_for(window.label()) else {
        // Its device was revoked and pairing it again has not worked yet.
        return Ok(Session {
            screen: ScreenKind::Setup,
            device_name: String::new(),
            hub: station.hub_url().unwrap_or_default(),
            hosting: station.hub_url().is_some(),
        });
    };
    Ok(Session {
        screen: binding.screen,
        device_name: device.name,
        hub: device.hub,
        hosting: station.hub_url().is_some(),
    })
}

/// The calling window has drawn its first screen with data. Logged with the
/// time since launch: how long a counter waits for its screen after a
/// restart, and what `bench/app-footprint.sh` measures.
#[tauri::command]
#[specta::specta]
pub fn painted(window: WebviewWindow) {
    tracing::info!(
        window = window.label(),
        since_launch_ms = crate::since_launch().as_millis() as u64,
        "first screen painted"
    );
}

/// Everything the calling window shows, from its device's cache.
#[tauri::command]
#[specta::specta]
pub fn screen(window: WebviewWindow, station: State<'_, Station>) -> Result<Screen, IpcError> {
    let device = station.device_for(window.label())?;
    let cache = device.handle.cache();
    let cached_orders = cache.orders()?;
    let dashboard = if device.role == Role::Manager {
        DashboardView::build(&cached_orders, &cache.dashboard()?, chrono::Local::now())
    } else {
        DashboardView::build(&[], &Default::default(), chrono::Local::now())
    };
    let mut orders: Vec<OrderEntry> = cached_orders.into_iter().map(Into::into).collect();
    orders.sort_by(|a, b| b.created_at.cmp(&a.created_at));
    let device_id = cache.device()?.map(|d| d.device_id).unwrap_or_default();
    let mut workorders: Vec<WorkorderEntry> = cache
        .workorders()?
        .into_iter()
        // A display sees only what is presented to it, whatever the cache
        // kept from before.
        .filter(|w| device.role != Role::Display || w.presented_to.as_deref() == Some(&device_id))
        .map(Into::into)
        .collect();
    workorders.sort_by(|a, b| b.updated_at.cmp(&a.updated_at));
    let ordering = device.handle.ordering_open();
    let alerts = alert_settings(&device)?;
    Ok(Screen {
        menu: cache.menu()?.into_iter().map(Into::into).collect(),
        cells: cache.cells()?.into_iter().map(Into::into).collect(),
        orders,
        settings: cache.settings()?,
        status: device.handle.status().into(),
        muted: alerts.mute,
        alert_sounds: alerts.new_order_sound,
        ordering_open: ordering.is_ok(),
        ordering_problem: ordering.err().map(|e| e.to_string()),
        workorders,
        dashboard,
        notices: cache.notices()?.into_iter().map(Into::into).collect(),
        outbox_depth: u32::try_from(cache.outbox_len()?).unwrap_or(u32::MAX),
        device_id,
    })
}

pub fn alert_settings(device: &crate::station::Device) -> Result<AlertSettings, IpcError> {
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
    if let Some(binding) = station.binding(window.label()) {
        // This window had a device (revoked, or its pairing failed): pair
        // it again, into the same folder, with a code from the hub.
        let SetupChoice::Join { hub_url, code } = choice else {
            return Err(IpcError::new(
                "validation",
                "this screen was set up before: pair it again with a code from the hub",
            ));
        };
        // Pairing again empties the device's folder: only for a device the
        // hub turned away, never for one at work (every screen may call
        // this command, to pair again after a revoke).
        if let Ok(device) = station.device_for(window.label()) {
            if !matches!(
                device.handle.status().state,
                ConnectionState::Rejected { .. }
            ) {
                return Err(IpcError::new(
                    "forbidden",
                    "this screen's device is paired: only a device the hub removed is paired again",
                ));
            }
        }
        let key = binding.device;
        let device = launch::repair(&app, &station, &key, &hub_url, &code)
            .await
            .map_err(|e| IpcError::new("setup_failed", format!("{e:#}")))?;
        // A window keeps its screen, whose commands it was granted: a code
        // of another role is refused, and the device it paired stopped (its
        // folder keeps it for the next start, which opens its own screen).
        let screen = match binding.screen {
            ScreenKind::Board => ScreenKind::Board,
            _ => ScreenKind::for_role(device.role),
        };
        let reads_orders = matches!(device.role, Role::Barista | Role::Manager);
        let kept = if screen == ScreenKind::Board && !reads_orders {
            Err(IpcError::new(
                "forbidden",
                "the now-serving board shows a barista or manager device: pair it with such a code",
            ))
        } else {
            access::grant(&app, &station, window.label(), screen)
        };
        if let Err(e) = kept {
            station.forget_device(&key);
            return Err(e);
        }
        station.bind(
            window.label(),
            Binding {
                device: key,
                screen,
            },
        );
        return session(window, app.state::<Station>());
    }
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
    let screen = ScreenKind::for_role(device.role);
    access::grant(&app, &station, window.label(), screen)?;
    station.bind(
        window.label(),
        Binding {
            device: key,
            screen,
        },
    );
    crate::tray::install_for(&app, &station);
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
    device
        .handle
        .api()?
        .set_sold_out(&menu_id, sold_out)
        .await?;
    Ok(())
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
    // The device's other windows and the tray's tick follow.
    let app = window.app_handle();
    if let Some(binding) = station.binding(window.label()) {
        station.tell_windows(
            app,
            &binding.device,
            &CoreUpdate::Changed { new_order_id: None },
        );
    }
    crate::tray::show_muted(app, muted);
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

/// An amount of money from the UI, in the currency's minor unit.
fn minor_units(what: &str, amount: f64) -> Result<i64, IpcError> {
    if !amount.is_finite() || amount.fract() != 0.0 || amount.abs() > 1e12 {
        return Err(IpcError::new(
            "validation",
            format!("{what} must be a whole number of the currency's smallest unit"),
        ));
    }
    Ok(amount as i64)
}

/// The calling window's device and its direct hub calls.
fn api_of(window: &WebviewWindow, station: &Station) -> Result<(Device, HubApi), IpcError> {
    let device = station.device_for(window.label())?;
    let api = device.handle.api()?.clone();
    Ok((device, api))
}

/// The calling window's language: its device's choice, else this
/// instance's, else the system's.
#[tauri::command]
#[specta::specta]
pub fn preferences(window: WebviewWindow, station: State<'_, Station>) -> Preferences {
    let device = station.device_for(window.label()).ok();
    preferences::for_device(&station.data_dir, device.as_ref())
}

/// Sets the screen language (`null`: the system's) of the calling window's
/// device, so a kiosk can speak Korean while the barista board beside it
/// stays in English; a window with no device yet (first run) sets the
/// instance's. Tells the windows concerned.
#[tauri::command]
#[specta::specta]
pub fn set_language(
    app: AppHandle,
    window: WebviewWindow,
    station: State<'_, Station>,
    language: Option<String>,
) -> Result<(), IpcError> {
    let update = CoreUpdate::Preferences {
        language: language.clone(),
    };
    let Ok(device) = station.device_for(window.label()) else {
        preferences::set_language(&station.data_dir, language)?;
        crate::tray::relabel(&app, &station);
        return update
            .emit(&app)
            .map_err(|e| IpcError::new("window", e.to_string()));
    };
    preferences::check_language(language.as_deref())?;
    device.handle.cache().set_local_setting(
        preferences::DEVICE_LANGUAGE_KEY,
        language.as_deref().unwrap_or(""),
    )?;
    for label in station.labels_for_window_device(window.label()) {
        update
            .emit_to(&app, tauri::EventTarget::webview_window(label.as_str()))
            .map_err(|e| IpcError::new("window", e.to_string()))?;
    }
    crate::tray::relabel(&app, &station);
    Ok(())
}

/// Changes one of the café's settings (manager).
#[tauri::command]
#[specta::specta]
pub async fn put_setting(
    window: WebviewWindow,
    station: State<'_, Station>,
    key: String,
    value: String,
) -> Result<(), IpcError> {
    let (_, api) = api_of(&window, &station)?;
    api.put_setting(&key, &value).await?;
    Ok(())
}

/// Adds an item to the menu (manager).
#[tauri::command]
#[specta::specta]
pub async fn add_menu_item(
    window: WebviewWindow,
    station: State<'_, Station>,
    item: NewMenuInput,
) -> Result<MenuEntry, IpcError> {
    let (_, api) = api_of(&window, &station)?;
    let new = NewMenuItem {
        name: item.name.trim().to_owned(),
        category: item.category.trim().to_owned(),
        price: minor_units("the price", item.price)?,
        is_sold_out: false,
        stock: item
            .stock
            .map(|s| minor_units("the stock", s))
            .transpose()?,
    };
    Ok(api.add_menu_item(&new).await?.into())
}

/// Changes a menu item's name, category, price, stock or sold-out mark (manager).
#[tauri::command]
#[specta::specta]
pub async fn update_menu_item(
    window: WebviewWindow,
    station: State<'_, Station>,
    menu_id: String,
    patch: MenuPatchInput,
) -> Result<MenuEntry, IpcError> {
    let (_, api) = api_of(&window, &station)?;
    let stock = if patch.clear_stock {
        Some(None)
    } else {
        patch
            .stock
            .map(|s| minor_units("the stock", s).map(Some))
            .transpose()?
    };
    let change = MenuPatch {
        name: patch.name.map(|n| n.trim().to_owned()),
        category: patch.category.map(|c| c.trim().to_owned()),
        price: patch
            .price
            .map(|p| minor_units("the price", p))
            .transpose()?,
        is_sold_out: patch.is_sold_out,
        stock,
    };
    Ok(api.update_menu_item(&menu_id, &change).await?.into())
}

/// Opens a new cell (group account) with no points (manager).
#[tauri::command]
#[specta::specta]
pub async fn add_cell(
    window: WebviewWindow,
    station: State<'_, Station>,
    name: String,
) -> Result<CellEntry, IpcError> {
    let (_, api) = api_of(&window, &station)?;
    Ok(api.add_cell(name.trim()).await?.into())
}

/// Adds points to a cell (manager).
#[tauri::command]
#[specta::specta]
pub async fn charge_cell(
    window: WebviewWindow,
    station: State<'_, Station>,
    cell_id: String,
    amount: f64,
) -> Result<CellEntry, IpcError> {
    let (_, api) = api_of(&window, &station)?;
    let amount = minor_units("the amount", amount)?;
    Ok(api.charge_cell(&cell_id, amount).await?.into())
}

/// The devices paired with the hub (manager).
#[tauri::command]
#[specta::specta]
pub async fn devices(
    window: WebviewWindow,
    station: State<'_, Station>,
) -> Result<Vec<DeviceEntry>, IpcError> {
    let (device, api) = api_of(&window, &station)?;
    let this = device
        .handle
        .cache()
        .device()?
        .map(|d| d.device_id)
        .unwrap_or_default();
    Ok(api
        .devices()
        .await?
        .into_iter()
        .map(|d| DeviceEntry::new(d, &this))
        .collect())
}

/// Revokes a device: its token stops working at once (manager).
#[tauri::command]
#[specta::specta]
pub async fn revoke_device(
    window: WebviewWindow,
    station: State<'_, Station>,
    device_id: String,
) -> Result<(), IpcError> {
    let (_, api) = api_of(&window, &station)?;
    api.revoke_device(&device_id).await?;
    Ok(())
}

/// A six-digit pairing code for a new device (manager).
#[tauri::command]
#[specta::specta]
pub async fn create_pairing_code(
    window: WebviewWindow,
    station: State<'_, Station>,
    role: RoleName,
    name: String,
) -> Result<PairingCodeView, IpcError> {
    let (_, api) = api_of(&window, &station)?;
    let code = api.create_pairing_code(role.into(), name.trim()).await?;
    Ok(PairingCodeView::new(code, role, name.trim().to_owned()))
}

/// Creates a workorder (manager).
#[tauri::command]
#[specta::specta]
pub async fn create_workorder(
    window: WebviewWindow,
    station: State<'_, Station>,
    input: NewWorkorderInput,
) -> Result<WorkorderEntry, IpcError> {
    let (_, api) = api_of(&window, &station)?;
    let lines = input
        .lines
        .into_iter()
        .map(|l| {
            Ok(WorkorderLine {
                description: l.description.trim().to_owned(),
                amount: minor_units("a line's amount", l.amount)?,
            })
        })
        .collect::<Result<Vec<_>, IpcError>>()?;
    let new = NewWorkorder {
        title: input.title.trim().to_owned(),
        customer_name: input.customer_name.trim().to_owned(),
        lines,
        column: None,
    };
    Ok(api.create_workorder(&new).await?.into())
}

/// Moves a workorder to another column of the board (manager).
#[tauri::command]
#[specta::specta]
pub async fn move_workorder(
    window: WebviewWindow,
    station: State<'_, Station>,
    workorder_id: String,
    column: String,
) -> Result<WorkorderEntry, IpcError> {
    let (_, api) = api_of(&window, &station)?;
    Ok(api.move_workorder(&workorder_id, &column).await?.into())
}

/// Shows a workorder on a signature display for the customer to sign (manager).
#[tauri::command]
#[specta::specta]
pub async fn present_workorder(
    window: WebviewWindow,
    station: State<'_, Station>,
    workorder_id: String,
    device_id: String,
) -> Result<WorkorderEntry, IpcError> {
    let (_, api) = api_of(&window, &station)?;
    Ok(api
        .present_workorder(&workorder_id, &device_id)
        .await?
        .into())
}

/// Starts a work session on a workorder (manager).
#[tauri::command]
#[specta::specta]
pub async fn start_work_session(
    window: WebviewWindow,
    station: State<'_, Station>,
    workorder_id: String,
) -> Result<WorkorderEntry, IpcError> {
    let (_, api) = api_of(&window, &station)?;
    Ok(api.start_work_session(&workorder_id).await?.into())
}

/// Stops a work session; `done` also finishes the workorder (manager).
#[tauri::command]
#[specta::specta]
pub async fn stop_work_session(
    window: WebviewWindow,
    station: State<'_, Station>,
    workorder_id: String,
    session_id: String,
    done: bool,
) -> Result<WorkorderEntry, IpcError> {
    let (_, api) = api_of(&window, &station)?;
    Ok(api
        .stop_work_session(&workorder_id, &session_id, done)
        .await?
        .into())
}

/// Sends a system notification to every manager (manager).
#[tauri::command]
#[specta::specta]
pub async fn send_notice(
    window: WebviewWindow,
    station: State<'_, Station>,
    level: NoticeLevel,
    title: String,
    message: String,
) -> Result<(), IpcError> {
    let (_, api) = api_of(&window, &station)?;
    let notice = NewNotification {
        level: level.into(),
        title: title.trim().to_owned(),
        message: message.trim().to_owned(),
    };
    api.send_notice(&notice).await?;
    Ok(())
}

/// Largest signature the hub takes (plain SVG).
const SIGNATURE_MAX_BYTES: usize = 200 * 1024;

/// Queues a customer's signature for a workorder (display); returns the
/// outbox key its outcome (`sent` or `refused`) will name. Queued, so an
/// outage loses nothing.
#[tauri::command]
#[specta::specta]
pub fn sign_workorder(
    window: WebviewWindow,
    station: State<'_, Station>,
    workorder_id: String,
    signer_name: String,
    signature_svg: String,
) -> Result<String, IpcError> {
    let device = station.device_for(window.label())?;
    if signer_name.trim().is_empty() {
        return Err(IpcError::new("validation", "write your name to sign"));
    }
    if signature_svg.len() > SIGNATURE_MAX_BYTES {
        return Err(IpcError::new(
            "validation",
            "the signature is too large: clear it and sign again",
        ));
    }
    let submission = SignatureSubmission {
        work_order_id: workorder_id,
        signer_name: signer_name.trim().to_owned(),
        signature_svg,
    };
    Ok(device.handle.sign(submission)?)
}

/// Alert sounds on or off for this device (the manager's settings).
#[tauri::command]
#[specta::specta]
pub fn set_alert_sounds(
    window: WebviewWindow,
    station: State<'_, Station>,
    on: bool,
) -> Result<(), IpcError> {
    let device = station.device_for(window.label())?;
    let mut settings = alert_settings(&device)?;
    settings.new_order_sound = on;
    settings.cancel_sound = on;
    device.handle.set_alert_settings(settings)?;
    Ok(())
}
