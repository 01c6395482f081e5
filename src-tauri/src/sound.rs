//! The truth about a device's sound for its screens: whether its alerts are
//! heard, muted, or have no sound device to play on ([`SoundState`]), kept
//! current as the device appears and disappears; and each burst of new
//! orders told to the device's windows (`CoreUpdate::NewOrders`).

use std::sync::Arc;

use countertop_client::{DesktopOutput, SoundDevice};
use tauri::{AppHandle, Runtime};
use tokio::sync::broadcast::error::RecvError;

use crate::ipc::{CoreUpdate, SoundState};
use crate::station::{RunningDevice, Station};

/// What a device's screen says of its sound. A missing device wins over
/// mute: a muted board with no speaker still needs one.
pub fn state(device: &RunningDevice, muted: bool) -> SoundState {
    let found = device.sound.as_ref().map(|o| *o.sound_device().borrow());
    match found {
        // Kiosks and displays play nothing.
        None | Some(SoundDevice::Missing) => SoundState::NoDevice,
        Some(SoundDevice::Ready | SoundDevice::Unknown) if muted => SoundState::Muted,
        Some(SoundDevice::Ready | SoundDevice::Unknown) => SoundState::On,
    }
}

/// Tells device `key`'s windows when its sound device appears or
/// disappears (they read the screen again) and of each burst of new orders.
/// Both end with the output.
pub fn forward<R: Runtime>(
    app: &AppHandle<R>,
    station: &Station,
    key: &str,
    output: &Arc<DesktopOutput>,
) {
    let mut device = output.sound_device();
    let (app2, station2, key2) = (app.clone(), station.clone(), key.to_owned());
    tauri::async_runtime::spawn(async move {
        while device.changed().await.is_ok() {
            let now = *device.borrow_and_update();
            tracing::debug!(device = %key2, sound = ?now, "sound device changed");
            station2.tell_windows(&app2, &key2, &CoreUpdate::Changed { new_order_id: None });
        }
    });
    let mut bursts = output.new_order_bursts();
    let (app, station, key) = (app.clone(), station.clone(), key.to_owned());
    tauri::async_runtime::spawn(async move {
        loop {
            match bursts.recv().await {
                Ok(burst) => station.tell_windows(
                    &app,
                    &key,
                    &CoreUpdate::NewOrders {
                        count: burst.count,
                        numbers: burst.numbers,
                    },
                ),
                Err(RecvError::Lagged(_)) => continue,
                Err(RecvError::Closed) => return,
            }
        }
    });
}
