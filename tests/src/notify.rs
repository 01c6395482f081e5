//! A fake desktop notification server on the session bus.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::DEADLINE;

/// One notification the fake server received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    pub app_name: String,
    pub summary: String,
    pub body: String,
}

/// A fake `org.freedesktop.Notifications` server on the session bus that
/// records every notification. One per test process (a bus name has one
/// owner), started on first use and shared by the tests running in
/// parallel: each waits for the notification it expects by its content.
pub struct NotificationServer {
    received: Arc<Mutex<Vec<Notification>>>,
    _connection: zbus::blocking::Connection,
}

struct Recorder {
    received: Arc<Mutex<Vec<Notification>>>,
}

#[zbus::interface(name = "org.freedesktop.Notifications")]
impl Recorder {
    #[allow(clippy::too_many_arguments)]
    fn notify(
        &self,
        app_name: String,
        _replaces_id: u32,
        _app_icon: String,
        summary: String,
        body: String,
        _actions: Vec<String>,
        _hints: HashMap<String, zbus::zvariant::OwnedValue>,
        _expire_timeout: i32,
    ) -> u32 {
        let mut received = self.received.lock().expect("not poisoned");
        received.push(Notification {
            app_name,
            summary,
            body,
        });
        u32::try_from(received.len()).unwrap_or(u32::MAX)
    }

    fn get_capabilities(&self) -> Vec<String> {
        vec!["body".into()]
    }

    fn get_server_information(&self) -> (String, String, String, String) {
        (
            "countertop-e2e".into(),
            "countertop".into(),
            "1".into(),
            "1.2".into(),
        )
    }

    fn close_notification(&self, _id: u32) {}
}

impl NotificationServer {
    /// The process's server, started on first use. Panics with what to do
    /// when there is no session bus to serve on.
    pub fn shared() -> &'static NotificationServer {
        static SERVER: OnceLock<Result<NotificationServer, String>> = OnceLock::new();
        let server = SERVER.get_or_init(|| {
            if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_none() {
                return Err(
                    "DBUS_SESSION_BUS_ADDRESS is unset: run the end-to-end tests under \
                     dbus-run-session (./dev.sh test does), so the app and the fake \
                     notification server share a private session bus"
                        .into(),
                );
            }
            // Its own thread: zbus's blocking API must not run on a tokio
            // worker, and the server outlives any one test's runtime.
            std::thread::spawn(NotificationServer::start)
                .join()
                .map_err(|_| "the notification server's thread panicked".to_owned())
                .and_then(|r| r.map_err(|e| format!("{e:#}")))
        });
        match server {
            Ok(server) => server,
            Err(e) => panic!("{e}"),
        }
    }

    fn start() -> Result<NotificationServer> {
        let received = Arc::new(Mutex::new(Vec::new()));
        let connection = zbus::blocking::connection::Builder::session()?
            .name("org.freedesktop.Notifications")?
            .serve_at(
                "/org/freedesktop/Notifications",
                Recorder {
                    received: received.clone(),
                },
            )?
            .build()
            .context(
                "serving org.freedesktop.Notifications on the session bus \
                 (is another notification server running on it?)",
            )?;
        Ok(NotificationServer {
            received,
            _connection: connection,
        })
    }

    /// Everything received so far.
    pub fn received(&self) -> Vec<Notification> {
        self.received.lock().expect("not poisoned").clone()
    }

    /// Waits for a notification that `matches`, and returns it.
    pub async fn wait_for(
        &self,
        what: &str,
        matches: impl Fn(&Notification) -> bool,
    ) -> Result<Notification> {
        let start = Instant::now();
        loop {
            if let Some(n) = self.received().into_iter().find(|n| matches(n)) {
                return Ok(n);
            }
            if start.elapsed() > DEADLINE {
                bail!(
                    "no notification {what} within {DEADLINE:?}; received: {:?}",
                    self.received()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}
