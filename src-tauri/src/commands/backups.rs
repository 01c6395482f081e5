//! The hub's backups, for the manager's screen.

use tauri::{State, WebviewWindow};

use crate::ipc::{BackupView, IpcError};
use crate::station::Station;

/// How the hub's backups stand: the newest one's age, failures (manager).
#[tauri::command]
#[specta::specta]
pub async fn backup_state(
    window: WebviewWindow,
    station: State<'_, Station>,
) -> Result<BackupView, IpcError> {
    let device = station.device_for(window.label())?;
    let api = device.handle.api()?.clone();
    Ok(BackupView::new(api.backups().await?, chrono::Utc::now()))
}
