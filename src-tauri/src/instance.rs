//! One running app per data folder (`tauri-plugin-single-instance`): a
//! second launch on the same folder brings the running window forward and
//! exits, instead of starting the same device twice. Two data folders are
//! two devices and both run: the plugin's D-Bus name carries a key of the
//! folder ([`folder_key`]).

use std::path::{Path, PathBuf};

use tauri::{AppHandle, Manager, Runtime};

/// The app's identifier (`tauri.conf.json`), the plugin's D-Bus name for
/// the default data folder.
const IDENTIFIER: &str = "app.countertop.desktop";

/// `--data` as an absolute path (made absolute against the working folder;
/// symbolic links resolved where the folder exists already), so that the
/// same folder named two ways is one instance.
pub fn absolute_data(data: &Path) -> PathBuf {
    data.canonicalize()
        .or_else(|_| std::path::absolute(data))
        .unwrap_or_else(|_| data.to_owned())
}

/// A short key of data folder `data` (`None`: the app's default folder):
/// 16 hex digits of its absolute path's FNV-1a hash, stable across builds
/// and releases (Rust's own hasher is not promised to be).
pub fn folder_key(data: Option<&Path>) -> Option<String> {
    let data = absolute_data(data?);
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in data.as_os_str().as_encoded_bytes() {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    Some(format!("{hash:016x}"))
}

/// The plugin's D-Bus id for data folder `data`: the identifier, and for a
/// `--data` folder an element of its key (an element may not start with a
/// digit, hence the `d`).
pub fn dbus_id(data: Option<&Path>) -> String {
    match folder_key(data) {
        Some(key) => format!("{IDENTIFIER}.d{key}"),
        None => IDENTIFIER.to_owned(),
    }
}

/// The plugin, for data folder `data`.
pub fn plugin<R: Runtime>(data: Option<&Path>) -> tauri::plugin::TauriPlugin<R> {
    tauri_plugin_single_instance::Builder::new()
        .dbus_id(dbus_id(data))
        .callback(|app, _argv, _cwd| bring_forward(app))
        .build()
}

/// Shows this instance's windows, in front (a second launch asked).
fn bring_forward<R: Runtime>(app: &AppHandle<R>) {
    tracing::info!("launched again on this data folder: bringing the window forward");
    for window in app.webview_windows().values() {
        let _ = window.unminimize();
        let _ = window.show();
        let _ = window.set_focus();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_data_folder_has_a_name_of_its_own() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a");
        let b = dir.path().join("b");
        std::fs::create_dir(&a).unwrap();
        assert_eq!(dbus_id(None), "app.countertop.desktop");
        let id_a = dbus_id(Some(&a));
        assert!(id_a.starts_with("app.countertop.desktop.d"), "{id_a}");
        assert_eq!(id_a.len(), "app.countertop.desktop.d".len() + 16);
        assert_ne!(id_a, dbus_id(Some(&b)), "two folders, two devices");
        // The same folder named another way is the same instance.
        assert_eq!(id_a, dbus_id(Some(&a.join("../a"))));
        // A valid D-Bus well-known name.
        for element in id_a.split('.') {
            assert!(!element.is_empty() && !element.starts_with(|c: char| c.is_ascii_digit()));
            assert!(element
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'));
        }
    }
}
