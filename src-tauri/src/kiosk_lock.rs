//! The kiosk lock: a kiosk that runs full screen (not `--windowed`, not
//! the demo's side-by-side windows) is left only with the café's exit PIN,
//! which the hub checks (`POST /api/kiosk/exit`, the `leave_kiosk`
//! command). Its window has no decorations; a close request (Alt+F4, the
//! window manager's close, the tray's Quit) is refused and the window is
//! told to show its exit-PIN dialog instead ([`KioskExitRequested`]); and
//! if anything takes it out of full screen (F11, a window manager's key),
//! it goes back at once.

use std::collections::HashSet;
use std::sync::{Mutex, PoisonError};

use serde::Serialize;
use specta::Type;
use tauri::{AppHandle, Manager, Runtime, WindowEvent};
use tauri_specta::Event as _;

/// Sent to a locked kiosk's window when someone asked to close it: it shows
/// the exit-PIN dialog.
#[derive(Debug, Clone, Serialize, Type, tauri_specta::Event)]
#[serde(rename_all = "camelCase")]
pub struct KioskExitRequested {
    /// What asked: `close` (the window's close) or `quit` (the tray).
    pub by: String,
}

/// The labels of the locked windows.
#[derive(Default)]
pub struct KioskLock {
    locked: Mutex<HashSet<String>>,
}

/// Locks window `label` (before it opens): see the module.
pub fn lock<R: Runtime>(app: &AppHandle<R>, label: &str) {
    if app.try_state::<KioskLock>().is_none() {
        app.manage(KioskLock::default());
    }
    let lock = app.state::<KioskLock>();
    lock.locked
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .insert(label.to_owned());
    tracing::info!(
        window = label,
        "the kiosk is locked: it is left with the exit PIN"
    );
}

/// Whether window `label` is a locked kiosk.
pub fn is_locked<R: Runtime>(app: &AppHandle<R>, label: &str) -> bool {
    app.try_state::<KioskLock>().is_some_and(|lock| {
        lock.locked
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .contains(label)
    })
}

/// The first locked window, if any.
pub fn any_locked<R: Runtime>(app: &AppHandle<R>) -> Option<String> {
    let lock = app.try_state::<KioskLock>()?;
    let locked = lock.locked.lock().unwrap_or_else(PoisonError::into_inner);
    let mut labels: Vec<&String> = locked.iter().collect();
    labels.sort();
    labels.first().map(|l| (*l).clone())
}

/// Asks locked window `label` to show its exit-PIN dialog (brought to the
/// front first).
pub fn ask_to_leave<R: Runtime>(app: &AppHandle<R>, label: &str, by: &str) {
    if let Some(window) = app.get_webview_window(label) {
        let _ = window.show();
        let _ = window.unminimize();
        let _ = window.set_focus();
    }
    tracing::info!(
        window = label,
        by,
        "leaving the kiosk asks for the exit PIN"
    );
    let event = KioskExitRequested { by: by.to_owned() };
    if let Err(e) = event.emit_to(app, tauri::EventTarget::webview_window(label)) {
        tracing::warn!(error = %e, "cannot ask the kiosk for its exit PIN");
    }
}

/// Quits the app, unless a kiosk is locked: then that kiosk asks for the
/// exit PIN (the tray's Quit).
pub fn quit_or_ask<R: Runtime>(app: &AppHandle<R>) {
    match any_locked(app) {
        Some(label) => ask_to_leave(app, &label, "quit"),
        None => app.exit(0),
    }
}

/// What a locked window does with `event`; whether it was handled.
pub fn on_window_event<R: Runtime>(app: &AppHandle<R>, label: &str, event: &WindowEvent) -> bool {
    if !is_locked(app, label) {
        return false;
    }
    match event {
        WindowEvent::CloseRequested { api, .. } => {
            api.prevent_close();
            ask_to_leave(app, label, "close");
            true
        }
        WindowEvent::Resized(_) | WindowEvent::Focused(_) => {
            keep_full_screen(app, label);
            false
        }
        _ => false,
    }
}

/// Puts locked window `label` back in full screen if something took it out.
fn keep_full_screen<R: Runtime>(app: &AppHandle<R>, label: &str) {
    let Some(window) = app.get_webview_window(label) else {
        return;
    };
    if window.is_fullscreen().ok() == Some(false) {
        tracing::info!(window = label, "the kiosk left full screen: back to it");
        let _ = window.set_fullscreen(true);
    }
}
