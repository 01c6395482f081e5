//! A device of the client core paired with a test hub and connected, with
//! quick reconnects for tests.

use std::path::Path;
use std::time::Duration;

use countertop_client::{ConnectOptions, ConnectionHandle, CoreEvent};
use tokio::sync::mpsc::UnboundedReceiver;

use super::hub::Hub;

/// Pairs a device of `role` in `dir` with `hub` and connects it.
pub async fn device(
    hub: &Hub,
    dir: &Path,
    role: &str,
) -> (ConnectionHandle, UnboundedReceiver<CoreEvent>) {
    let code = hub.pairing_code(role, role);
    countertop_client::pair(&hub.url(), &code, dir, Duration::from_secs(10))
        .await
        .unwrap();
    open(dir).await
}

/// Connects the device paired in `dir`.
pub async fn open(dir: &Path) -> (ConnectionHandle, UnboundedReceiver<CoreEvent>) {
    let mut options = ConnectOptions::new(dir);
    options.policy.base = Duration::from_millis(100);
    options.policy.suspended_interval = Duration::from_millis(500);
    options.request_timeout = Duration::from_secs(3);
    countertop_client::connect(options).await.unwrap()
}
