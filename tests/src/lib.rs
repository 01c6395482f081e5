//! Support for the end-to-end tests of the real app window: the
//! `countertop` binary started by tauri-driver (which starts
//! WebKitWebDriver, which starts the app), waits that poll a condition with
//! a deadline, screenshots into `docs/screenshots/`, a manager paired with
//! the demo's hub over REST, a fake desktop notification server on the
//! session bus, and an ALSA sink that writes what the app plays to a file.
//!
//! The tests run under a display and a private D-Bus, as `./dev.sh test`
//! does: `dbus-run-session -- xvfb-run -a -s "-screen 0 1280x800x24" cargo
//! test -p countertop-e2e`. tauri-driver, WebKitWebDriver and the app
//! inherit this process's environment, so the app talks to the same
//! private bus as the fake notification server here.
//!
//! The seed and page tests (`seeds.rs`, `pages.rs`) drive headless Chromium
//! instead (`browser`, through `tests/browser/driver.mjs`) against a hub
//! process of their own (`cafe`); they need no display.

mod alsa;
use std::time::Duration;

/// How long any one condition may take to come true.
pub const DEADLINE: Duration = Duration::from_secs(20);

mod board;
mod browser;
mod cafe;
mod driver;
mod hub;
mod notify;
mod tray_host;
mod wait;

pub use alsa::*;
pub use board::*;
pub use browser::*;
pub use cafe::*;
pub use driver::*;
pub use hub::*;
pub use notify::*;
pub use tray_host::*;
pub use wait::*;
