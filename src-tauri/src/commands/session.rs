//! Who a window is and what it shows: its session, its screen, first-run
//! setup (and pairing again after a revoke), its first paint, its language.

use countertop_client::device::alert_settings;
use countertop_client::{workorders, ConnectionState, Dashboard};
use countertop_protocol::{Access, Role, Topic};
use tauri::{AppHandle, Manager as _, State, WebviewWindow};
use tauri_specta::Event as _;

use crate::ipc::{
    CellEntry, CoreUpdate, DashboardView, IpcError, IpcErrorCode, MenuEntry, OrderEntry,
    Preferences, Screen, ScreenKind, Session, SetupChoice, WorkorderEntry,
};
use crate::station::{Binding, Station};
use crate::{access, launch, logging, preferences, stations, tray};

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
        since_launch_ms = logging::since_launch().as_millis() as u64,
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
    let dashboard = if device.role.may_read(&Topic::Dashboard) == Access::Yes {
        Dashboard::build(&cached_orders, &cache.dashboard()?, chrono::Local::now())
    } else {
        Dashboard::build(&[], &Default::default(), chrono::Local::now())
    };
    let mut orders: Vec<OrderEntry> = cached_orders.into_iter().map(Into::into).collect();
    orders.sort_by(|a, b| b.created_at.cmp(&a.created_at));
    let device_id = cache.device()?.map(|d| d.device_id).unwrap_or_default();
    let mut workorders: Vec<WorkorderEntry> =
        workorders::shown_to(device.role, &device_id, cache.workorders()?)
            .into_iter()
            .map(Into::into)
            .collect();
    workorders.sort_by(|a, b| b.updated_at.cmp(&a.updated_at));
    let ordering = device.handle.ordering_open();
    let alerts = alert_settings(cache, device.role)?;
    let menu = cache.menu()?;
    stations::route(&menu, &mut orders);
    let stations = stations::known(&menu, &orders);
    let board_stations = stations::chosen(cache)?;
    Ok(Screen {
        menu: menu.into_iter().map(MenuEntry::new).collect(),
        cells: cache
            .cells()?
            .into_iter()
            .map(|c| {
                let mut cell = CellEntry::from(c);
                if device.role == Role::Kiosk {
                    cell.balance = None;
                }
                cell
            })
            .collect(),
        orders,
        settings: cache.settings()?,
        status: device.handle.status().into(),
        muted: alerts.mute,
        sound: crate::sound::state(&device, alerts.mute),
        alert_sounds: alerts.new_order_sound,
        ordering_open: ordering.is_ok(),
        ordering_problem: ordering.err().map(|e| e.to_string()),
        workorders,
        dashboard: DashboardView::from(dashboard),
        notices: cache.notices()?.into_iter().map(Into::into).collect(),
        outbox_depth: u32::try_from(cache.outbox_len()?).unwrap_or(u32::MAX),
        device_id,
        stations,
        board_stations,
    })
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
                IpcErrorCode::Validation,
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
                    IpcErrorCode::Forbidden,
                    "this screen's device is paired: only a device the hub removed is paired again",
                ));
            }
        }
        let key = binding.device;
        let device = launch::repair(&app, &station, &key, &hub_url, &code)
            .await
            .map_err(|e| IpcError::new(IpcErrorCode::Other, format!("{e:#}")))?;
        // A window keeps its screen, whose commands it was granted: a code
        // of another role is refused, and the device it paired stopped (its
        // folder keeps it for the next start, which opens its own screen).
        let screen = match binding.screen {
            ScreenKind::Board => ScreenKind::Board,
            _ => ScreenKind::for_role(device.role),
        };
        let reads_orders = device.role.may_read(&Topic::Orders) == Access::Yes;
        let kept = if screen == ScreenKind::Board && !reads_orders {
            Err(IpcError::new(
                IpcErrorCode::Forbidden,
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
        SetupChoice::Host { role, lan } => launch::Plan::Host {
            role: Some(role.into()),
            lan: Some(lan),
            port: None,
        },
        SetupChoice::Join { hub_url, code } => launch::Plan::Join { hub: hub_url, code },
    };
    // Started on a blocking thread of its own, as `start` does at launch:
    // hosting opens the hub, whose future the compiler cannot prove Send
    // for every lifetime (sqlx's connections), as a command's must be.
    let key = {
        let (app, station) = (app.clone(), station.clone());
        tauri::async_runtime::spawn_blocking(move || {
            tauri::async_runtime::block_on(launch::start_single(&app, &station, plan))
        })
        .await
        .map_err(|e| IpcError::new(IpcErrorCode::Other, e.to_string()))?
        .map_err(|e| IpcError::new(IpcErrorCode::Other, format!("{e:#}")))?
    };
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
    // A kiosk or signature display set up here runs as it would have,
    // launched with its role: full screen, a kiosk locked.
    crate::kiosk_lock::take_role_mode(&app, &window, device.role);
    tray::install_for(&app, &station);
    session(window, app.state::<Station>())
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
        tray::relabel(&app, &station);
        return update
            .emit(&app)
            .map_err(|e| IpcError::new(IpcErrorCode::Other, e.to_string()));
    };
    preferences::check_language(language.as_deref())?;
    device.handle.cache().set_local_setting(
        preferences::DEVICE_LANGUAGE_KEY,
        language.as_deref().unwrap_or(""),
    )?;
    for label in station.labels_for_window_device(window.label()) {
        update
            .emit_to(&app, tauri::EventTarget::webview_window(label.as_str()))
            .map_err(|e| IpcError::new(IpcErrorCode::Other, e.to_string()))?;
    }
    tray::relabel(&app, &station);
    Ok(())
}
