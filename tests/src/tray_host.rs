//! A fake tray host (`org.kde.StatusNotifierWatcher`) that reads tray icons
//! and works their menus as a panel would.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};

use crate::DEADLINE;

/// A desktop panel's tray host on the session bus: a fake
/// `org.kde.StatusNotifierWatcher` that takes the registrations of tray
/// icons (libayatana-appindicator makes one per icon), so a test can read
/// an icon's properties and work its menu as a panel would. Only one per
/// bus; the tests that use it live in a test binary of their own.
pub struct TrayWatcher {
    items: Arc<Mutex<Vec<TrayItem>>>,
    connection: zbus::blocking::Connection,
}

/// A registered tray icon: the bus name that serves it and its object path.
#[derive(Debug, Clone)]
pub struct TrayItem {
    pub service: String,
    pub path: String,
}

struct Watcher {
    items: Arc<Mutex<Vec<TrayItem>>>,
}

#[zbus::interface(name = "org.kde.StatusNotifierWatcher")]
impl Watcher {
    /// `service` is an object path (appindicator) or a bus name; the
    /// sender serves the item either way.
    fn register_status_notifier_item(
        &self,
        service: &str,
        #[zbus(header)] header: zbus::message::Header<'_>,
    ) {
        let sender = header.sender().map(|s| s.to_string()).unwrap_or_default();
        let (service, path) = if service.starts_with('/') {
            (sender, service.to_owned())
        } else {
            (service.to_owned(), "/StatusNotifierItem".to_owned())
        };
        self.items
            .lock()
            .expect("not poisoned")
            .push(TrayItem { service, path });
    }

    fn register_status_notifier_host(&self, _service: &str) {}

    #[zbus(property)]
    fn registered_status_notifier_items(&self) -> Vec<String> {
        let items = self.items.lock().expect("not poisoned");
        items
            .iter()
            .map(|i| format!("{}{}", i.service, i.path))
            .collect()
    }

    #[zbus(property)]
    fn is_status_notifier_host_registered(&self) -> bool {
        true
    }

    #[zbus(property)]
    fn protocol_version(&self) -> i32 {
        0
    }
}

/// One entry of a tray icon's menu.
#[derive(Debug, Clone)]
pub struct TrayMenuEntry {
    pub id: i32,
    pub label: String,
    /// For check items: whether it is ticked.
    pub checked: Option<bool>,
}

impl TrayWatcher {
    /// Serves the watcher; start it before the app, whose icon registers
    /// when it is made.
    pub fn start() -> Result<TrayWatcher> {
        ensure!(
            std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some(),
            "DBUS_SESSION_BUS_ADDRESS is unset: run under dbus-run-session (./dev.sh test does)"
        );
        // zbus's blocking API must not run on a tokio worker.
        std::thread::spawn(|| {
            let items = Arc::new(Mutex::new(Vec::new()));
            let connection = zbus::blocking::connection::Builder::session()?
                .name("org.kde.StatusNotifierWatcher")?
                .serve_at(
                    "/StatusNotifierWatcher",
                    Watcher {
                        items: items.clone(),
                    },
                )?
                .build()
                .context("serving org.kde.StatusNotifierWatcher on the session bus")?;
            Ok(TrayWatcher { items, connection })
        })
        .join()
        .map_err(|_| anyhow::anyhow!("the tray watcher's thread panicked"))?
    }

    /// Waits for the first tray icon to register.
    pub async fn item(&self) -> Result<TrayItem> {
        let start = Instant::now();
        loop {
            if let Some(item) = self.items.lock().expect("not poisoned").first() {
                return Ok(item.clone());
            }
            if start.elapsed() > DEADLINE {
                bail!("no tray icon registered with the watcher within {DEADLINE:?}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// A string property of the icon (`org.kde.StatusNotifierItem`), read
    /// afresh, as a panel does on the icon's change signals.
    pub async fn property(&self, item: &TrayItem, name: &str) -> Result<String> {
        let (connection, item, name) = (self.connection.clone(), item.clone(), name.to_owned());
        tokio::task::spawn_blocking(move || -> Result<String> {
            let proxy = uncached_proxy(
                &connection,
                &item.service,
                &item.path,
                "org.kde.StatusNotifierItem",
            )?;
            let value: zbus::zvariant::OwnedValue = proxy
                .get_property(&name)
                .with_context(|| format!("reading the tray icon's {name}"))?;
            Ok(match &*value {
                zbus::zvariant::Value::Str(s) => s.to_string(),
                zbus::zvariant::Value::ObjectPath(p) => p.to_string(),
                other => format!("{other}"),
            })
        })
        .await?
    }

    /// The icon's menu (`com.canonical.dbusmenu`), top level only.
    pub async fn menu(&self, item: &TrayItem) -> Result<Vec<TrayMenuEntry>> {
        let path = self.property(item, "Menu").await?;
        let (connection, service) = (self.connection.clone(), item.service.clone());
        tokio::task::spawn_blocking(move || -> Result<Vec<TrayMenuEntry>> {
            let proxy = uncached_proxy(&connection, &service, &path, "com.canonical.dbusmenu")?;
            type Layout = (
                i32,
                HashMap<String, zbus::zvariant::OwnedValue>,
                Vec<zbus::zvariant::OwnedValue>,
            );
            let (_revision, (_id, _props, children)): (u32, Layout) = proxy
                .call("GetLayout", &(0i32, 1i32, Vec::<String>::new()))
                .context("reading the tray menu")?;
            let mut entries = Vec::new();
            for child in children {
                let (id, props, _): Layout = child.try_into()?;
                let text = |key: &str| {
                    props
                        .get(key)
                        .and_then(|v| String::try_from(v.clone()).ok())
                        .unwrap_or_default()
                };
                let checked = (text("toggle-type") == "checkmark").then(|| {
                    props
                        .get("toggle-state")
                        .and_then(|v| i32::try_from(v.clone()).ok())
                        == Some(1)
                });
                entries.push(TrayMenuEntry {
                    id,
                    label: text("label"),
                    checked,
                });
            }
            Ok(entries)
        })
        .await?
    }

    /// Clicks the menu entry labelled `label`, as a panel does.
    pub async fn click(&self, item: &TrayItem, label: &str) -> Result<()> {
        let entries = self.menu(item).await?;
        let entry = entries
            .iter()
            .find(|e| e.label.replace('_', "") == label)
            .with_context(|| format!("no tray menu entry {label:?} in {entries:?}"))?
            .clone();
        let path = self.property(item, "Menu").await?;
        let (connection, service) = (self.connection.clone(), item.service.clone());
        tokio::task::spawn_blocking(move || -> Result<()> {
            let proxy = uncached_proxy(&connection, &service, &path, "com.canonical.dbusmenu")?;
            let data = zbus::zvariant::Value::from(0i32);
            proxy
                .call_method("Event", &(entry.id, "clicked", data, 0u32))
                .context("clicking the tray menu entry")?;
            Ok(())
        })
        .await?
    }
}

/// A proxy that reads every property afresh (no cache to go stale).
fn uncached_proxy(
    connection: &zbus::blocking::Connection,
    service: &str,
    path: &str,
    interface: &str,
) -> Result<zbus::blocking::Proxy<'static>> {
    Ok(zbus::blocking::proxy::Builder::new(connection)
        .destination(service.to_owned())?
        .path(path.to_owned())?
        .interface(interface.to_owned())?
        .cache_properties(zbus::proxy::CacheProperties::No)
        .build()?)
}
