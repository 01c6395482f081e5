//! The manager's report screen and cell histories: a day's numbers, its
//! CSV saved into Downloads, a cell's history and a correction of its
//! balance. Each a direct call to the hub that answers now or fails.

use std::path::{Path, PathBuf};

use countertop_client::HubApi;
use tauri::{AppHandle, Manager, Runtime, State, WebviewWindow};

use crate::ipc::{CellEntry, CellHistoryEntry, IpcError, IpcErrorCode, ReportView, SavedReport};
use crate::station::Station;

/// How many changes a cell's history shows.
const HISTORY_SHOWN: u32 = 200;

fn api_of(window: &WebviewWindow, station: &Station) -> Result<HubApi, IpcError> {
    Ok(station.device_for(window.label())?.handle.api()?.clone())
}

/// A day the UI picked: `YYYY-MM-DD`, or none for today.
fn day(date: Option<String>) -> Result<Option<String>, IpcError> {
    let Some(date) = date.map(|d| d.trim().to_owned()).filter(|d| !d.is_empty()) else {
        return Ok(None);
    };
    if chrono::NaiveDate::parse_from_str(&date, "%Y-%m-%d").is_err() || date.len() != 10 {
        return Err(IpcError::new(
            IpcErrorCode::Validation,
            format!("{date:?} is not a day as YYYY-MM-DD"),
        ));
    }
    Ok(Some(date))
}

/// One local day's numbers in full (manager); today's without a date.
#[tauri::command]
#[specta::specta]
pub async fn daily_report(
    window: WebviewWindow,
    station: State<'_, Station>,
    date: Option<String>,
) -> Result<ReportView, IpcError> {
    let api = api_of(&window, &station)?;
    let date = day(date)?;
    Ok(api.daily_report(date.as_deref()).await?.into())
}

/// Saves the day's report as CSV into the user's Downloads folder (else the
/// app's data folder) and answers where (manager).
#[tauri::command]
#[specta::specta]
pub async fn save_report_csv(
    window: WebviewWindow,
    station: State<'_, Station>,
    date: Option<String>,
) -> Result<SavedReport, IpcError> {
    let api = api_of(&window, &station)?;
    let date = day(date)?;
    let text = api.daily_report_csv(date.as_deref()).await?;
    // The hub names the day it reported; today's is the hub's today.
    let named = date.unwrap_or_else(|| report_day(&text));
    let folder = folder_for(window.app_handle(), &station.data_dir);
    let path = tauri::async_runtime::spawn_blocking(move || {
        write_new(&folder, &format!("countertop-report-{named}"), "csv", &text)
    })
    .await
    .map_err(|e| IpcError::new(IpcErrorCode::Other, e.to_string()))?
    .map_err(|e| {
        IpcError::new(
            IpcErrorCode::Other,
            format!("the report could not be saved: {e}"),
        )
    })?;
    tracing::info!(path = %path.display(), "report saved");
    Ok(SavedReport {
        path: path.display().to_string(),
    })
}

/// A cell's newest changes (manager).
#[tauri::command]
#[specta::specta]
pub async fn cell_history(
    window: WebviewWindow,
    station: State<'_, Station>,
    cell_id: String,
) -> Result<Vec<CellHistoryEntry>, IpcError> {
    let api = api_of(&window, &station)?;
    Ok(api
        .cell_history(&cell_id, HISTORY_SHOWN)
        .await?
        .into_iter()
        .map(CellHistoryEntry::from)
        .collect())
}

/// Corrects a cell's balance by a signed whole amount, for a reason
/// (manager).
#[tauri::command]
#[specta::specta]
pub async fn correct_cell(
    window: WebviewWindow,
    station: State<'_, Station>,
    cell_id: String,
    amount: f64,
    reason: String,
) -> Result<CellEntry, IpcError> {
    let api = api_of(&window, &station)?;
    if !amount.is_finite() || amount.fract() != 0.0 || amount == 0.0 || amount.abs() > 1e12 {
        return Err(IpcError::new(
            IpcErrorCode::Validation,
            "the correction must be a whole number of points, not 0",
        ));
    }
    if reason.trim().is_empty() {
        return Err(IpcError::new(
            IpcErrorCode::Validation,
            "a correction needs a reason",
        ));
    }
    Ok(api
        .correct_cell(&cell_id, amount as i64, reason.trim())
        .await?
        .into())
}

/// The day on the CSV's first row (`Countertop daily report,YYYY-MM-DD`).
fn report_day(csv: &str) -> String {
    csv.trim_start_matches('\u{feff}')
        .lines()
        .next()
        .and_then(|row| row.split(',').nth(1))
        .filter(|d| d.len() == 10 && d.bytes().all(|b| b.is_ascii_digit() || b == b'-'))
        .map(str::to_owned)
        .unwrap_or_else(|| chrono::Local::now().format("%Y-%m-%d").to_string())
}

/// The user's Downloads folder when there is one, else `fallback`.
fn folder_for<R: Runtime>(app: &AppHandle<R>, fallback: &Path) -> PathBuf {
    app.path()
        .download_dir()
        .ok()
        .filter(|dir| dir.is_dir() || std::fs::create_dir_all(dir).is_ok())
        .unwrap_or_else(|| fallback.to_path_buf())
}

/// Writes `text` to `folder/stem.ext`, or `stem (2).ext` and on when that
/// name is taken; never over an existing file.
fn write_new(folder: &Path, stem: &str, ext: &str, text: &str) -> std::io::Result<PathBuf> {
    use std::io::Write;
    std::fs::create_dir_all(folder)?;
    for n in 1..1000 {
        let name = match n {
            1 => format!("{stem}.{ext}"),
            n => format!("{stem} ({n}).{ext}"),
        };
        let path = folder.join(name);
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
        {
            Ok(mut file) => {
                file.write_all(text.as_bytes())?;
                file.sync_all()?;
                return Ok(path);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(std::io::Error::other(format!(
        "{stem}.{ext} and 998 numbered copies are all there"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_taken_name_gets_the_next_number_and_nothing_is_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let first = write_new(dir.path(), "countertop-report-2026-12-03", "csv", "a").unwrap();
        assert!(first.ends_with("countertop-report-2026-12-03.csv"));
        let second = write_new(dir.path(), "countertop-report-2026-12-03", "csv", "b").unwrap();
        assert!(second.ends_with("countertop-report-2026-12-03 (2).csv"));
        let third = write_new(dir.path(), "countertop-report-2026-12-03", "csv", "c").unwrap();
        assert!(third.ends_with("countertop-report-2026-12-03 (3).csv"));
        assert_eq!(std::fs::read_to_string(first).unwrap(), "a");
        assert_eq!(std::fs::read_to_string(second).unwrap(), "b");
    }

    #[test]
    fn the_day_is_read_from_the_first_row_and_checked() {
        assert_eq!(
            report_day("\u{feff}Countertop daily report,2026-12-03\r\norders,1\r\n"),
            "2026-12-03"
        );
        assert!(day(Some("2026-02-30".into())).is_err());
        assert!(day(Some("../etc".into())).is_err());
        assert_eq!(day(Some(" ".into())).unwrap(), None);
        assert_eq!(
            day(Some("2026-12-03".into())).unwrap().as_deref(),
            Some("2026-12-03")
        );
    }
}
