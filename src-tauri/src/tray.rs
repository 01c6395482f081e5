//! The tray icon of a station that reads orders (manager, barista): the
//! number of open orders at a glance, and a menu to show the window, mute
//! and quit. A manager's window closes to the tray, so notifications keep
//! coming while it is out of the way.

use countertop_protocol::Role;
use tauri::menu::{CheckMenuItem, Menu, MenuItem};
use tauri::tray::TrayIconBuilder;
use tauri::{AppHandle, Manager, Runtime};

use crate::ipc::CoreUpdate;
use crate::station::Station;

const TRAY_ID: &str = "countertop";

/// Puts the icon in the tray. Fails where the desktop has no tray (the
/// caller logs it and carries on; windows then close normally).
pub fn install<R: Runtime>(app: &AppHandle<R>, station: &Station) -> tauri::Result<()> {
    let show = MenuItem::with_id(app, "show", "Show Countertop", true, None::<&str>)?;
    let mute = CheckMenuItem::with_id(app, "mute", "Mute alerts", true, false, None::<&str>)?;
    let quit = MenuItem::with_id(app, "quit", "Quit Countertop", true, None::<&str>)?;
    let menu = Menu::with_items(app, &[&show, &mute, &quit])?;
    let station = station.clone();
    app.manage(TrayMute(mute.clone()));
    let mut builder = TrayIconBuilder::with_id(TRAY_ID)
        .menu(&menu)
        .tooltip("Countertop")
        .on_menu_event(move |app, event| match event.id.as_ref() {
            "show" => show_windows(app),
            "mute" => {
                let muted = mute.is_checked().unwrap_or(false);
                tracing::info!(muted, "alerts muted from the tray");
                set_muted(app, &station, muted);
            }
            "quit" => app.exit(0),
            _ => {}
        });
    if let Some(icon) = app.default_window_icon() {
        builder = builder.icon(icon.clone());
    }
    builder.build(app)?;
    app.manage(TrayInstalled);
    Ok(())
}

/// Installs the tray icon once the station runs a device that reads
/// orders (manager, barista); logs where the desktop has no tray.
pub fn install_for<R: Runtime>(app: &AppHandle<R>, station: &Station) {
    if app.try_state::<TrayInstalled>().is_some() {
        return;
    }
    let reads_orders = station
        .devices()
        .iter()
        .any(|(_, d)| matches!(d.role, Role::Manager | Role::Barista));
    if reads_orders {
        if let Err(e) = install(app, station) {
            tracing::warn!(error = %e, "no tray icon on this desktop; windows close normally");
        }
    }
}

/// Present once the tray icon exists.
pub struct TrayInstalled;

/// The tray menu's "Mute alerts" item, ticked whenever alerts are muted.
struct TrayMute<R: Runtime>(CheckMenuItem<R>);

/// Ticks or clears the tray's "Mute alerts" after a window (un)muted.
pub fn show_muted<R: Runtime>(app: &AppHandle<R>, muted: bool) {
    if let Some(item) = app.try_state::<TrayMute<R>>() {
        let _ = item.0.set_checked(muted);
    }
}

/// Whether closing a window of `role` should hide it to the tray instead.
pub fn hides_on_close<R: Runtime>(app: &AppHandle<R>, role: Role) -> bool {
    role == Role::Manager && app.try_state::<TrayInstalled>().is_some()
}

fn show_windows<R: Runtime>(app: &AppHandle<R>) {
    for window in app.webview_windows().values() {
        let _ = window.show();
        let _ = window.unminimize();
        let _ = window.set_focus();
    }
}

/// Mutes (or unmutes) every order-reading device; their windows re-read
/// their screens, so a board's sound button follows.
fn set_muted<R: Runtime>(app: &AppHandle<R>, station: &Station, muted: bool) {
    for (key, device) in station.devices() {
        if !matches!(device.role, Role::Manager | Role::Barista) {
            continue;
        }
        let result = crate::commands::alert_settings(&device).and_then(|mut settings| {
            settings.mute = muted;
            device
                .handle
                .set_alert_settings(settings)
                .map_err(Into::into)
        });
        match result {
            Ok(()) => station.tell_windows(app, &key, &CoreUpdate::Changed { new_order_id: None }),
            Err(e) => tracing::warn!(device = %key, error = %e, "cannot mute from the tray"),
        }
    }
}

/// Shows how many orders are open next to the icon.
pub fn show_open_orders<R: Runtime>(app: &AppHandle<R>, open: usize) {
    let Some(tray) = app.tray_by_id(TRAY_ID) else {
        return;
    };
    let label = (open > 0).then(|| open.to_string());
    let _ = tray.set_title(label.as_deref());
    let _ = tray.set_tooltip(Some(match open {
        0 => "Countertop: no open orders".to_owned(),
        1 => "Countertop: 1 open order".to_owned(),
        n => format!("Countertop: {n} open orders"),
    }));
}
