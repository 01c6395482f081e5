//! The kiosk lock: a kiosk that runs full screen (not `--windowed`, not
//! the demo's side-by-side windows) is left only with the café's exit PIN,
//! which the hub checks (`POST /api/kiosk/exit`, the `leave_kiosk`
//! command). Its window has no decorations; a close request (Alt+F4, the
//! window manager's close, the tray's Quit) is refused and the window is
//! told to show its exit-PIN dialog instead ([`KioskExitRequested`]); and
//! if anything takes it out of full screen (F11, a window manager's key),
//! it goes back at once.
//!
//! A kiosk chosen on the first-run screen is locked there and then
//! ([`take_role_mode`]), as one launched with its role is.

use std::collections::HashSet;
use std::sync::{Mutex, PoisonError};

use countertop_protocol::Role;
use serde::Serialize;
use specta::Type;
use tauri::{AppHandle, Manager, Runtime, WebviewWindow, WindowEvent};
use tauri_specta::Event as _;

/// Sent to a locked kiosk's window when someone asked to close it: it shows
/// the exit-PIN dialog.
#[derive(Debug, Clone, Serialize, Type, tauri_specta::Event)]
#[serde(rename_all = "camelCase")]
pub struct KioskExitRequested {
    /// What asked: `close` (the window's close) or `quit` (the tray).
    pub by: String,
}

/// This run's `--windowed`: kiosks and signature displays in a window,
/// never locked.
pub struct Windowed(pub bool);

/// How a window showing a device of `role` runs: (full screen, locked).
/// Customers' screens fill the screen; a kiosk full screen is locked.
pub fn role_mode(role: Role, windowed: bool) -> (bool, bool) {
    let fullscreen = !windowed && matches!(role, Role::Kiosk | Role::Display);
    (fullscreen, fullscreen && role == Role::Kiosk)
}

/// Gives `window`, open already (the first-run screen), what a window of
/// `role` gets at launch: full screen at the monitor's size, and for a
/// kiosk no decorations and the lock (first, so that a close request
/// asks for the exit PIN whatever the window does). Nothing with
/// `--windowed`.
pub fn take_role_mode<R: Runtime>(app: &AppHandle<R>, window: &WebviewWindow<R>, role: Role) {
    let windowed = app.try_state::<Windowed>().is_some_and(|w| w.0);
    let (fullscreen, locked) = role_mode(role, windowed);
    if locked {
        lock(app, window.label());
    }
    if fullscreen {
        if let Err(e) = fill_screen(app, window, locked) {
            tracing::error!(error = %e, "cannot make the window fill the screen");
        }
    }
}

fn fill_screen<R: Runtime>(
    app: &AppHandle<R>,
    window: &WebviewWindow<R>,
    locked: bool,
) -> tauri::Result<()> {
    // Unmapped while it changes: GTK marks a window full screen itself
    // only before mapping it; a mapped one it merely asks the window
    // manager for, and a bare X session at a kiosk has none.
    window.hide()?;
    if locked {
        window.set_decorations(false)?;
    }
    if let Some(monitor) = app.primary_monitor()? {
        window.set_position(*monitor.position())?;
        window.set_size(*monitor.size())?;
    }
    window.set_fullscreen(true)?;
    window.show()?;
    window.set_focus()
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
