//! The About panel: this app's release and its hub's.

use tauri::{State, WebviewWindow};

use crate::ipc::{AboutView, IpcError};
use crate::station::Station;

/// This app's release, and the release of the hub its device talks to
/// (from `/healthz`; `None` when the hub is out of reach or older than
/// 0.2.0, which did not say).
#[tauri::command]
#[specta::specta]
pub async fn about(
    window: WebviewWindow,
    station: State<'_, Station>,
) -> Result<AboutView, IpcError> {
    let app_version = env!("CARGO_PKG_VERSION").to_owned();
    let Ok(device) = station.device_for(window.label()) else {
        return Ok(AboutView {
            app_version,
            hub_version: None,
            hub: station.hub_url().unwrap_or_default(),
        });
    };
    let api = device.handle.api()?.clone();
    let hub_version = match api.health().await {
        Ok(health) => health.version,
        Err(e) => {
            tracing::debug!(error = %e, "the hub's release is unknown");
            None
        }
    };
    Ok(AboutView {
        app_version,
        hub_version,
        hub: device.hub,
    })
}
