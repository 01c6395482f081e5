//! One running app per data folder: a second launch on the same folder
//! exits, instead of starting the same device twice (and, hosting, a
//! second hub on one database). The guard is an exclusive lock on
//! `<data>/instance.lock` ([`claim`]), taken before anything opens the
//! folder, which holds with or without a desktop session bus; the kernel
//! lets go of it when the process ends, however it ends. D-Bus
//! (`tauri-plugin-single-instance`) only brings the running window
//! forward ([`ask_to_come_forward`]). Two data folders are two devices and
//! both run: the plugin's D-Bus name carries a key of the folder
//! ([`folder_key`]). A hosted hub's own lock (`hub.lock` in `<data>/hub`)
//! is another file, taken later by the same process. An instance that is
//! exiting says so in its lock file ([`mark_exiting`]): a launch meanwhile
//! (someone who closed the app and opened it again at once) waits for it
//! to end and starts, instead of handing over to a window that is going
//! away ([`claim_after_exit`]).

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;

use tauri::{AppHandle, Manager, Runtime};

/// The app's identifier (`tauri.conf.json`), the plugin's D-Bus name for
/// the default data folder.
const IDENTIFIER: &str = "app.countertop.desktop";

/// The lock file in the data folder.
pub const LOCK_FILE: &str = "instance.lock";

/// This process's hold on its data folder, for as long as it runs.
#[derive(Debug)]
pub struct InstanceLock {
    _file: File,
}

/// The data folder: `--data`, else the app's own (where Tauri puts it:
/// the platform's data folder and the app's identifier).
pub fn data_dir(data: Option<&Path>) -> anyhow::Result<PathBuf> {
    match data {
        Some(dir) => Ok(dir.to_owned()),
        None => Ok(dirs::data_dir()
            .context("finding the app's data folder (no HOME?)")?
            .join(IDENTIFIER)),
    }
}

/// Takes data folder `dir` for this process (making the folder if need
/// be); `None` when another process has it.
pub fn claim(dir: &Path) -> anyhow::Result<Option<InstanceLock>> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let path = dir.join(LOCK_FILE);
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("opening {}", path.display()))?;
    match file.try_lock() {
        Ok(()) => {
            // A mark left by the last holder (`mark_exiting`) is not ours.
            file.set_len(0)
                .with_context(|| format!("clearing {}", path.display()))?;
            Ok(Some(InstanceLock { _file: file }))
        }
        Err(TryLockError::WouldBlock) => Ok(None),
        Err(TryLockError::Error(e)) => {
            Err(e).with_context(|| format!("locking {}", path.display()))
        }
    }
}

/// What the holder of a data folder writes in its lock file once it is
/// exiting ([`mark_exiting`]).
const EXITING: &str = "exiting\n";

/// How long a launch waits for an exiting instance to let the folder go
/// (until its process has ended).
const EXIT_WAIT: Duration = Duration::from_secs(15);

/// Says in data folder `dir`'s lock file that this instance, which holds
/// it, is exiting: a launch meanwhile waits for it to end and then starts,
/// instead of handing over to a window that is going away. One write into
/// the file (empty since [`claim`]), never seen half done as empty.
pub fn mark_exiting(dir: &Path) {
    use std::io::Write;
    let marked = OpenOptions::new()
        .write(true)
        .open(dir.join(LOCK_FILE))
        .and_then(|mut file| file.write_all(EXITING.as_bytes()));
    if let Err(e) = marked {
        tracing::warn!("cannot mark the data folder as being let go: {e}");
    }
}

/// Takes data folder `dir` once the instance holding it has exited, when it
/// said it is exiting ([`mark_exiting`]); `None` at once when it did not
/// (it runs on), when another launch took the folder first (the mark is
/// gone), or when it is still held after [`EXIT_WAIT`].
pub fn claim_after_exit(dir: &Path) -> anyhow::Result<Option<InstanceLock>> {
    claim_after_exit_within(dir, EXIT_WAIT)
}

fn claim_after_exit_within(dir: &Path, wait: Duration) -> anyhow::Result<Option<InstanceLock>> {
    let exiting =
        |dir: &Path| std::fs::read_to_string(dir.join(LOCK_FILE)).is_ok_and(|text| text == EXITING);
    let start = Instant::now();
    // The exiting process only ends: nothing to be told by but the lock.
    while exiting(dir) && start.elapsed() < wait {
        if let Some(lock) = claim(dir)? {
            return Ok(Some(lock));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(None)
}

/// Asks the instance running on data folder `data` to bring its window
/// forward, as the plugin does from a second launch (the same D-Bus name,
/// object and method); whether it answered. No session bus, or none of
/// its name there: `false`.
#[cfg(target_os = "linux")]
pub fn ask_to_come_forward(data: Option<&Path>) -> bool {
    let name = format!("{}.SingleInstance", dbus_id(data));
    let object = format!("/{}", name.replace('.', "/").replace('-', "_"));
    let Ok(connection) = zbus::blocking::Connection::session() else {
        return false;
    };
    let argv: Vec<String> = std::env::args_os()
        .map(|arg| arg.to_string_lossy().into_owned())
        .collect();
    let cwd = std::env::current_dir()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned();
    connection
        .call_method(
            Some(name.as_str()),
            object.as_str(),
            Some("org.SingleInstance.DBus"),
            "ExecuteCallback",
            &(argv, cwd),
        )
        .is_ok()
}

#[cfg(not(target_os = "linux"))]
pub fn ask_to_come_forward(_data: Option<&Path>) -> bool {
    false
}

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
    fn a_data_folder_is_held_by_one_process_at_a_time() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let held = claim(&data).unwrap().expect("a free folder is taken");
        assert!(data.join(LOCK_FILE).exists());
        // Another open of the file is another holder, as another process is.
        assert!(claim(&data).unwrap().is_none(), "taken while held");
        // A hosted hub's lock is another file in the hub's folder.
        std::fs::create_dir(data.join("hub")).unwrap();
        let hub_lock = File::create(data.join("hub/hub.lock")).unwrap();
        hub_lock.try_lock().expect("the hub's own lock is not ours");
        drop(held);
        assert!(claim(&data).unwrap().is_some(), "free again once let go");
    }

    #[test]
    fn a_launch_waits_for_an_exiting_instance_and_takes_the_folder() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        // Running, not exiting: a second launch does not wait.
        let held = claim(&data).unwrap().unwrap();
        assert!(claim_after_exit(&data).unwrap().is_none());
        // Exiting: the launch waits until the holder is gone, then holds
        // the folder itself, its lock file cleared of the old mark.
        mark_exiting(&data);
        let waiting = std::thread::spawn({
            let data = data.clone();
            move || claim_after_exit(&data).unwrap()
        });
        drop(held);
        let taken = waiting.join().unwrap().expect("taken once let go");
        assert_eq!(std::fs::read_to_string(data.join(LOCK_FILE)).unwrap(), "");
        assert!(claim(&data).unwrap().is_none(), "held by the new launch");
        // A third launch meanwhile finds no mark: it does not wait.
        assert!(claim_after_exit(&data).unwrap().is_none());
        // An instance that marks itself exiting but does not end within the
        // wait keeps its folder: the launch gives up.
        mark_exiting(&data);
        assert_eq!(
            std::fs::read_to_string(data.join(LOCK_FILE)).unwrap(),
            EXITING
        );
        let start = Instant::now();
        let wait = Duration::from_millis(200);
        assert!(claim_after_exit_within(&data, wait).unwrap().is_none());
        assert!(start.elapsed() >= wait, "it waited for the holder");
        drop(taken);
    }

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
