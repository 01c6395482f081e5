//! This device's own link and alerts: retry now, mute, alert sounds.

use countertop_client::alerts::volume_from_setting;
use countertop_client::device::alert_settings;
use countertop_protocol::SettingKey;
use tauri::{Manager as _, State, WebviewWindow};

use crate::ipc::{CoreUpdate, IpcError, IpcErrorCode};
use crate::station::Station;
use crate::tray;

/// Tries to reach the hub now (the Retry button).
#[tauri::command]
#[specta::specta]
pub fn retry(window: WebviewWindow, station: State<'_, Station>) -> Result<(), IpcError> {
    station.device_for(window.label())?.handle.retry();
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
    let mut settings = alert_settings(device.handle.cache(), device.role)?;
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
    tray::show_muted(app, muted);
    Ok(())
}

/// Plays the new-order chime on this device now at `volume` (0 to 100; none:
/// the hub's `chime_volume`), whatever its mute, and looks for a sound
/// device again however recently none opened (the Test buttons).
#[tauri::command]
#[specta::specta]
pub fn test_chime(
    window: WebviewWindow,
    station: State<'_, Station>,
    volume: Option<u32>,
) -> Result<(), IpcError> {
    let device = station.device_for(window.label())?;
    let Some(output) = device.sound.as_ref() else {
        return Err(IpcError::new(
            IpcErrorCode::Forbidden,
            "this screen plays no sound",
        ));
    };
    let volume = match volume {
        Some(v) if v > 100 => {
            return Err(IpcError::new(
                IpcErrorCode::Validation,
                "the volume is 0 to 100",
            ))
        }
        Some(v) => Some(v.to_string()),
        None => device
            .handle
            .cache()
            .settings()?
            .get(SettingKey::ChimeVolume.as_str())
            .cloned(),
    };
    let volume = volume_from_setting(volume.as_deref()).unwrap_or(0.8);
    output.test_chime(volume);
    Ok(())
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
    let mut settings = alert_settings(device.handle.cache(), device.role)?;
    settings.new_order_sound = on;
    settings.cancel_sound = on;
    device.handle.set_alert_settings(settings)?;
    Ok(())
}
