//! Opening windows and binding them to devices.

use tauri::{AppHandle, Manager, Runtime, WebviewUrl, WebviewWindowBuilder};

use crate::ipc::ScreenKind;
use crate::station::{Binding, Station};

/// Where a window goes on the screen, in logical pixels.
pub struct Placement {
    pub x: f64,
    pub y: f64,
    pub width: f64,
    pub height: f64,
    /// Full screen (kiosk window mode).
    pub fullscreen: bool,
    /// A locked kiosk (`kiosk_lock`): no window controls.
    pub locked: bool,
}

/// Opens window `label` showing the UI; the UI asks who it is through the
/// `session` command.
pub fn open<R: Runtime>(
    app: &AppHandle<R>,
    label: &str,
    title: &str,
    placement: Placement,
) -> tauri::Result<()> {
    if let Some(window) = app.get_webview_window(label) {
        return window.set_focus();
    }
    let mut placement = placement;
    if placement.fullscreen {
        // The whole screen also where no window manager makes a window
        // full screen (a bare X session at a kiosk, `xinit countertop`).
        if let Ok(Some(monitor)) = app.primary_monitor() {
            let size = monitor.size().to_logical::<f64>(monitor.scale_factor());
            let at = monitor.position().to_logical::<f64>(monitor.scale_factor());
            (placement.x, placement.y) = (at.x, at.y);
            (placement.width, placement.height) = (size.width, size.height);
        }
    }
    WebviewWindowBuilder::new(app, label, WebviewUrl::App("index.html".into()))
        .title(title)
        .inner_size(placement.width, placement.height)
        .position(placement.x, placement.y)
        .min_inner_size(480.0, 480.0)
        .fullscreen(placement.fullscreen)
        .decorations(!placement.locked)
        .build()?;
    Ok(())
}

/// Opens the "now serving" board, fed by the order-reading device `device`.
pub fn open_board<R: Runtime>(
    app: &AppHandle<R>,
    station: &Station,
    device: &str,
) -> tauri::Result<()> {
    station.bind(
        crate::access::BOARD,
        Binding {
            device: device.to_owned(),
            screen: ScreenKind::Board,
        },
    );
    open(
        app,
        crate::access::BOARD,
        "Countertop — Now serving",
        Placement {
            x: 120.0,
            y: 80.0,
            width: 900.0,
            height: 600.0,
            fullscreen: false,
            locked: false,
        },
    )
}
