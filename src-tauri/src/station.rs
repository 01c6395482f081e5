//! The station: the devices this app instance runs (one, or two in the
//! demo) and which window shows which device. Commands look their device
//! up here by the calling window's label.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};

use countertop_client::{ConnectionHandle, CoreEvent, DesktopOutput};
use countertop_protocol::{Access, Role, Topic};
use tauri::{AppHandle, Runtime};
use tauri_specta::Event as _;
use tokio::sync::mpsc;

use crate::ipc::{CoreUpdate, IpcError, IpcErrorCode, ScreenKind};

/// One running device: its connection and where its data lives.
#[derive(Clone)]
pub struct RunningDevice {
    pub handle: ConnectionHandle,
    pub role: Role,
    pub name: String,
    /// The hub URL this device talks to.
    pub hub: String,
    pub data_dir: PathBuf,
    /// Its sound and notifications (baristas and managers; `None` plays nothing).
    pub sound: Option<Arc<DesktopOutput>>,
}

/// What a window shows: a device's screen, or the now-serving board of a
/// device that reads orders.
#[derive(Clone, Debug)]
pub struct Binding {
    pub device: String,
    pub screen: ScreenKind,
}

/// Hears the open-order count of an order-reading device after each change
/// (the tray, which shows it).
type OpenOrdersListener = Arc<dyn Fn(usize) + Send + Sync>;

#[derive(Default)]
struct Inner {
    devices: HashMap<String, RunningDevice>,
    windows: HashMap<String, Binding>,
    /// The screen whose commands each window was granted at runtime
    /// (`access::grant`); a window keeps it for good.
    granted: HashMap<String, ScreenKind>,
    hub_url: Option<String>,
    /// How the hosted hub serves the LAN, when this instance hosts it.
    hosting: Option<Hosting>,
    /// The hub this instance hosts, for codes made at the hosting computer.
    hosted_hub: Option<countertop_hub::Hub>,
    open_orders: Option<OpenOrdersListener>,
}

/// How this instance's hub serves other devices.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hosting {
    /// The plain port (loopback only, or the LAN's public pages).
    pub port: u16,
    /// The TLS port other devices join on; none when the hub serves this
    /// computer only.
    pub tls_port: Option<u16>,
    /// The fingerprint of the hub's certificate key.
    pub fingerprint: String,
}

/// Shared by the commands (as Tauri state) and the event forwarders.
#[derive(Clone)]
pub struct Station {
    inner: Arc<Mutex<Inner>>,
    pub data_dir: PathBuf,
}

impl Station {
    pub fn new(data_dir: PathBuf) -> Station {
        Station {
            inner: Arc::default(),
            data_dir,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves plain maps behind; they stay usable.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Records that this instance hosts the hub at `url`.
    pub fn set_hub_url(&self, url: &str) {
        self.lock().hub_url = Some(url.to_owned());
    }

    pub fn hub_url(&self) -> Option<String> {
        self.lock().hub_url.clone()
    }

    pub fn set_hosting(&self, hosting: Hosting) {
        self.lock().hosting = Some(hosting);
    }

    pub fn hosting(&self) -> Option<Hosting> {
        self.lock().hosting.clone()
    }

    pub fn set_hosted_hub(&self, hub: countertop_hub::Hub) {
        self.lock().hosted_hub = Some(hub);
    }

    pub fn hosted_hub(&self) -> Option<countertop_hub::Hub> {
        self.lock().hosted_hub.clone()
    }

    /// Adds a running device and starts forwarding its core events to the
    /// windows bound to it.
    pub fn add_device<R: Runtime>(
        &self,
        app: &AppHandle<R>,
        key: &str,
        device: RunningDevice,
        events: mpsc::UnboundedReceiver<CoreEvent>,
    ) {
        // One connection per device folder: one that was running (a move
        // to a new hub address raced another) stops.
        if let Some(old) = self.lock().devices.insert(key.to_owned(), device) {
            old.handle.shutdown();
        }
        tauri::async_runtime::spawn(forward(app.clone(), self.clone(), key.to_owned(), events));
    }

    pub fn bind(&self, label: &str, binding: Binding) {
        self.lock().windows.insert(label.to_owned(), binding);
    }

    /// Records that window `label` shows `screen` from now on; if it was
    /// granted a screen before, leaves it and returns that one.
    pub fn claim_screen(&self, label: &str, screen: ScreenKind) -> Result<(), ScreenKind> {
        match self.lock().granted.entry(label.to_owned()) {
            std::collections::hash_map::Entry::Occupied(e) => Err(*e.get()),
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(screen);
                Ok(())
            }
        }
    }

    pub fn binding(&self, label: &str) -> Option<Binding> {
        self.lock().windows.get(label).cloned()
    }

    /// The device behind a window.
    pub fn device_for(&self, label: &str) -> Result<RunningDevice, IpcError> {
        let inner = self.lock();
        inner
            .windows
            .get(label)
            .and_then(|b| inner.devices.get(&b.device))
            .cloned()
            .ok_or_else(|| IpcError::new(IpcErrorCode::Other, "this window has no device yet"))
    }

    pub fn device_for_key(&self, key: &str) -> Result<RunningDevice, IpcError> {
        self.lock()
            .devices
            .get(key)
            .cloned()
            .ok_or_else(|| IpcError::new(IpcErrorCode::Other, "no such device"))
    }

    /// The first device that reads every order (for the now-serving board).
    pub fn order_reader(&self) -> Option<String> {
        let inner = self.lock();
        let mut keys: Vec<&String> = inner
            .devices
            .iter()
            .filter(|(_, d)| d.role.may_read(&Topic::Orders) == Access::Yes)
            .map(|(k, _)| k)
            .collect();
        keys.sort();
        keys.first().map(|k| (*k).clone())
    }

    /// The windows showing the same device as window `label` (itself included).
    pub fn labels_for_window_device(&self, label: &str) -> Vec<String> {
        match self.binding(label) {
            Some(binding) => self.labels_for(&binding.device),
            None => vec![label.to_owned()],
        }
    }

    /// Sends `update` to every window that shows device `key`.
    pub fn tell_windows<R: Runtime>(&self, app: &AppHandle<R>, key: &str, update: &CoreUpdate) {
        for label in self.labels_for(key) {
            let target = tauri::EventTarget::webview_window(label.as_str());
            if let Err(e) = update.emit_to(app, target) {
                tracing::debug!(error = %e, window = %label, "cannot forward a core update");
            }
        }
    }

    fn labels_for(&self, key: &str) -> Vec<String> {
        self.lock()
            .windows
            .iter()
            .filter(|(_, b)| b.device == key)
            .map(|(label, _)| label.clone())
            .collect()
    }

    /// Stops device `key` and forgets it (its windows stay bound to the key,
    /// to be paired again).
    pub fn forget_device(&self, key: &str) -> Option<RunningDevice> {
        let device = self.lock().devices.remove(key);
        if let Some(d) = &device {
            d.handle.shutdown();
        }
        device
    }

    /// Every running device, by key.
    pub fn devices(&self) -> Vec<(String, RunningDevice)> {
        let mut all: Vec<(String, RunningDevice)> = self
            .lock()
            .devices
            .iter()
            .map(|(k, d)| (k.clone(), d.clone()))
            .collect();
        all.sort_by(|a, b| a.0.cmp(&b.0));
        all
    }

    /// Calls `listener` with the open-order count of an order-reading
    /// device each time its cache changes, from now on (replacing any
    /// listener before). The station tells; it does not know who listens.
    pub fn on_open_orders(&self, listener: impl Fn(usize) + Send + Sync + 'static) {
        self.lock().open_orders = Some(Arc::new(listener));
    }

    /// Tells the open-order listener, if any, the count of device `key`
    /// when it reads orders.
    fn tell_open_orders(&self, key: &str) {
        let Some(listener) = self.lock().open_orders.clone() else {
            return;
        };
        let Ok(device) = self.device_for_key(key) else {
            return;
        };
        if device.role.may_read(&Topic::Orders) != Access::Yes {
            return;
        }
        match device.handle.cache().orders() {
            Ok(orders) => listener(orders.iter().filter(|o| o.status.is_open()).count()),
            Err(e) => tracing::debug!(error = %e, "cannot count open orders"),
        }
    }

    /// Stops every connection (the app is quitting).
    pub fn shutdown(&self) {
        for device in self.lock().devices.values() {
            device.handle.shutdown();
        }
    }
}

/// Forwards a device's core events to its windows, unchanged in order. This
/// is all the shell does with them.
async fn forward<R: Runtime>(
    app: AppHandle<R>,
    station: Station,
    key: String,
    mut events: mpsc::UnboundedReceiver<CoreEvent>,
) {
    while let Some(event) = events.recv().await {
        let Some(update) = CoreUpdate::from_core(event) else {
            continue;
        };
        if matches!(update, CoreUpdate::Changed { .. }) {
            station.tell_open_orders(&key);
        }
        station.tell_windows(&app, &key, &update);
    }
}
