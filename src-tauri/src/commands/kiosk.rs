//! Leaving a locked kiosk with the café's exit PIN, which the hub checks
//! (`kiosk_lock`); the manager setting that PIN; and starting this device
//! at login (`autostart`).

use tauri::{AppHandle, State, WebviewWindow};

use crate::ipc::{IpcError, IpcErrorCode};
use crate::station::Station;

/// Whether the hub has a kiosk exit PIN (kiosk: what its exit dialog says;
/// manager: what Settings says). `network` when the hub cannot be reached.
#[tauri::command]
#[specta::specta]
pub async fn kiosk_exit_pin(
    window: WebviewWindow,
    station: State<'_, Station>,
) -> Result<bool, IpcError> {
    let device = station.device_for(window.label())?;
    let api = device.handle.api()?.clone();
    Ok(api.kiosk_exit_pin().await?.is_set)
}

/// Leaves the kiosk: the app quits once the hub took `pin` (any, when the
/// café has no exit PIN yet). A wrong one answers `wrong_pin`; too many,
/// `rate_limited`; no hub, `network` (the kiosk stays).
#[tauri::command]
#[specta::specta]
pub async fn leave_kiosk(
    app: AppHandle,
    window: WebviewWindow,
    station: State<'_, Station>,
    pin: String,
) -> Result<(), IpcError> {
    let device = station.device_for(window.label())?;
    let pin = pin.trim();
    if pin.len() > 8 {
        return Err(IpcError::new(
            IpcErrorCode::WrongPin,
            "a PIN is 4 to 8 digits",
        ));
    }
    let api = device.handle.api()?.clone();
    api.exit_kiosk(pin).await?;
    tracing::info!(
        window = window.label(),
        "the kiosk was left with the exit PIN"
    );
    app.exit(0);
    Ok(())
}

/// Sets the café's kiosk exit PIN (4 to 8 digits), or removes it with
/// `None` (manager); whether one is set now.
#[tauri::command]
#[specta::specta]
pub async fn set_kiosk_exit_pin(
    window: WebviewWindow,
    station: State<'_, Station>,
    pin: Option<String>,
) -> Result<bool, IpcError> {
    let device = station.device_for(window.label())?;
    let pin = pin.map(|p| p.trim().to_owned());
    if let Some(pin) = &pin {
        if !countertop_protocol::CellPin::is_well_formed(pin) {
            return Err(IpcError::new(
                IpcErrorCode::Validation,
                "a PIN is 4 to 8 digits",
            ));
        }
    }
    let api = device.handle.api()?.clone();
    Ok(api.set_kiosk_exit_pin(pin.as_deref()).await?.is_set)
}

/// Whether this device starts when someone logs in to this computer.
#[tauri::command]
#[specta::specta]
pub fn start_at_login(app: AppHandle) -> Result<bool, IpcError> {
    crate::autostart::is_on(&app).map_err(|e| IpcError::new(IpcErrorCode::Other, e.to_string()))
}

/// Turns starting this device at login on or off; whether it is on now.
#[tauri::command]
#[specta::specta]
pub fn set_start_at_login(app: AppHandle, on: bool) -> Result<bool, IpcError> {
    crate::autostart::set(&app, on)
        .and_then(|()| crate::autostart::is_on(&app))
        .map_err(|e| IpcError::new(IpcErrorCode::Other, e.to_string()))
}
