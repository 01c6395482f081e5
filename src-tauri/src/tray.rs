//! The tray icon of a station that reads orders (manager, barista): the
//! number of open orders at a glance, and a menu to show the window, mute
//! and quit. A manager's window closes to the tray, so notifications keep
//! coming while it is out of the way. Its words follow the language of the
//! station's order-reading device.

use std::sync::{Mutex, PoisonError};

use countertop_client::device::alert_settings;
use countertop_client::ClientError;
use countertop_protocol::Role;
use tauri::menu::{CheckMenuItem, Menu, MenuItem};
use tauri::tray::TrayIconBuilder;
use tauri::{AppHandle, Manager, Runtime};

use crate::ipc::CoreUpdate;
use crate::preferences;
use crate::station::Station;

const TRAY_ID: &str = "countertop";

/// Puts the icon in the tray. Fails where the desktop has no tray (the
/// caller logs it and carries on; windows then close normally).
pub fn install<R: Runtime>(app: &AppHandle<R>, station: &Station) -> tauri::Result<()> {
    let language = language_of(station);
    let words = Words::of(&language);
    let show = MenuItem::with_id(app, "show", words.show, true, None::<&str>)?;
    let mute = CheckMenuItem::with_id(app, "mute", words.mute, true, false, None::<&str>)?;
    let quit = MenuItem::with_id(app, "quit", words.quit, true, None::<&str>)?;
    let menu = Menu::with_items(app, &[&show, &mute, &quit])?;
    let counted = app.clone();
    station.on_open_orders(move |open| show_open_orders(&counted, open));
    let station = station.clone();
    app.manage(TrayMenu {
        show,
        mute: mute.clone(),
        quit,
        language: Mutex::new(language),
    });
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
            // A locked kiosk of this station asks for its exit PIN first.
            "quit" => crate::kiosk_lock::quit_or_ask(app),
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

/// The tray menu's items (to relabel them, and to tick "Mute alerts"
/// whenever a window mutes) and the language they are in.
struct TrayMenu<R: Runtime> {
    show: MenuItem<R>,
    mute: CheckMenuItem<R>,
    quit: MenuItem<R>,
    language: Mutex<String>,
}

/// Ticks or clears the tray's "Mute alerts" after a window (un)muted.
pub fn show_muted<R: Runtime>(app: &AppHandle<R>, muted: bool) {
    if let Some(menu) = app.try_state::<TrayMenu<R>>() {
        let _ = menu.mute.set_checked(muted);
    }
}

/// Puts the tray's words in the language the station's order-reading
/// device now speaks (after a language change).
pub fn relabel<R: Runtime>(app: &AppHandle<R>, station: &Station) {
    let Some(menu) = app.try_state::<TrayMenu<R>>() else {
        return;
    };
    let language = language_of(station);
    let words = Words::of(&language);
    let _ = menu.show.set_text(words.show);
    let _ = menu.mute.set_text(words.mute);
    let _ = menu.quit.set_text(words.quit);
    *menu.language.lock().unwrap_or_else(PoisonError::into_inner) = language;
}

/// The language of the device whose open orders the tray counts.
fn language_of(station: &Station) -> String {
    let reader = station
        .order_reader()
        .and_then(|key| station.device_for_key(&key).ok());
    let prefs = preferences::for_device(&station.data_dir, reader.as_ref());
    preferences::language(&prefs).to_owned()
}

/// The tray's words in one language.
struct Words {
    show: &'static str,
    mute: &'static str,
    quit: &'static str,
}

impl Words {
    fn of(language: &str) -> Words {
        let [show, mute, quit] = match language {
            "ko" => ["Countertop 보기", "알림 끄기", "Countertop 종료"],
            "nl" => [
                "Countertop tonen",
                "Meldingen dempen",
                "Countertop afsluiten",
            ],
            "de" => [
                "Countertop anzeigen",
                "Alarme stummschalten",
                "Countertop beenden",
            ],
            _ => ["Show Countertop", "Mute alerts", "Quit Countertop"],
        };
        Words { show, mute, quit }
    }

    /// The tooltip (where the desktop shows one) for `open` open orders.
    fn open_orders(language: &str, open: usize) -> String {
        let count = match (language, open) {
            ("ko", 0) => "진행 중인 주문 없음".to_owned(),
            ("ko", n) => format!("진행 중인 주문 {n}건"),
            ("nl", 0) => "geen openstaande bestellingen".to_owned(),
            ("nl", 1) => "1 openstaande bestelling".to_owned(),
            ("nl", n) => format!("{n} openstaande bestellingen"),
            ("de", 0) => "keine offenen Bestellungen".to_owned(),
            ("de", 1) => "1 offene Bestellung".to_owned(),
            ("de", n) => format!("{n} offene Bestellungen"),
            (_, 0) => "no open orders".to_owned(),
            (_, 1) => "1 open order".to_owned(),
            (_, n) => format!("{n} open orders"),
        };
        format!("Countertop: {count}")
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
        let result = alert_settings(device.handle.cache(), device.role)
            .map_err(ClientError::from)
            .and_then(|mut settings| {
                settings.mute = muted;
                device.handle.set_alert_settings(settings)
            });
        match result {
            Ok(()) => station.tell_windows(app, &key, &CoreUpdate::Changed { new_order_id: None }),
            Err(e) => tracing::warn!(device = %key, error = %e, "cannot mute from the tray"),
        }
    }
}

/// Shows how many orders are open next to the icon.
fn show_open_orders<R: Runtime>(app: &AppHandle<R>, open: usize) {
    let Some(tray) = app.tray_by_id(TRAY_ID) else {
        return;
    };
    let label = (open > 0).then(|| open.to_string());
    let _ = tray.set_title(label.as_deref());
    let language = app
        .try_state::<TrayMenu<R>>()
        .map(|m| {
            m.language
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone()
        })
        .unwrap_or_default();
    let _ = tray.set_tooltip(Some(Words::open_orders(&language, open)));
}
