//! A joined device follows its hub when the hub computer's address changes
//! (a new DHCP lease, another Wi-Fi): while it cannot reach its hub, it
//! looks on the LAN (mDNS) for the hub with the fingerprint it pinned, and
//! moves there without pairing again. The hub found must still show that
//! key and accept the device's token (`move_hub`), so an announcement
//! alone moves nothing.

use std::time::{Duration, Instant};

use countertop_client::{ConnectionState, Fingerprint};
use tauri::{AppHandle, Runtime};

use crate::launch;
use crate::station::{RunningDevice, Station};

/// How long one look on the LAN lasts (and one try of an address found).
const LOOK_FOR: Duration = Duration::from_secs(3);
/// At most one look this often, however often the state changes.
const BETWEEN_LOOKS: Duration = Duration::from_secs(20);

/// Starts following for device `key` if it joined a hub over TLS (a pinned
/// key); the hosting computer's own devices use loopback and never move.
pub fn start<R: Runtime>(app: &AppHandle<R>, station: &Station, key: &str, device: &RunningDevice) {
    if station.hosting().is_some() {
        return;
    }
    let pinned = countertop_client::Cache::open(&device.data_dir)
        .ok()
        .and_then(|cache| cache.device().ok().flatten())
        .and_then(|info| info.hub_fingerprint);
    let Some(pinned) = pinned else { return };
    let app = app.clone();
    let station = station.clone();
    let key = key.to_owned();
    let device = device.clone();
    tauri::async_runtime::spawn(async move {
        follow(app, station, key, device, pinned).await;
    });
}

async fn follow<R: Runtime>(
    app: AppHandle<R>,
    station: Station,
    key: String,
    device: RunningDevice,
    pinned: Fingerprint,
) {
    let mut status = device.handle.watch_status();
    let mut last_look: Option<Instant> = None;
    loop {
        let lost = match &status.borrow_and_update().state {
            // After two quick attempts failed: a hub that only restarted
            // is back by then; one that moved is worth a look.
            ConnectionState::Reconnecting { attempt, .. } => *attempt >= 2,
            ConnectionState::Suspended { .. } => true,
            ConnectionState::Rejected { code, .. } => code == "not_your_hub",
            ConnectionState::Stopped => return,
            _ => false,
        };
        if lost && last_look.is_none_or(|at| at.elapsed() >= BETWEEN_LOOKS) {
            last_look = Some(Instant::now());
            // Every address of every hub announcing our key over TLS: a
            // false announcement only costs a refused handshake.
            let candidates: Vec<String> = countertop_client::discovery::browse(LOOK_FOR)
                .await
                .iter()
                .filter(|hub| hub.fingerprint == Some(pinned))
                .flat_map(|hub| hub.tls_urls())
                .filter(|url| *url != device.hub)
                .collect();
            for url in candidates {
                match countertop_client::move_hub(&device.data_dir, &url, LOOK_FOR).await {
                    Ok(_) => {
                        tracing::info!(device = %key, %url, "found the hub at a new address; following it");
                        station.forget_device(&key);
                        if let Err(e) = launch::start_device(&app, &station, &key).await {
                            tracing::error!(device = %key, error = %format!("{e:#}"), "cannot restart the device at its hub's new address");
                        }
                        return;
                    }
                    Err(e) => {
                        tracing::warn!(device = %key, %url, error = %e, "an address announcing our hub's key did not take this device")
                    }
                }
            }
        }
        if status.changed().await.is_err() {
            return;
        }
    }
}
