//! The hubs on the LAN, for the first-run screen's join part: what answers
//! to DNS-SD over mDNS (`countertop_client::discovery`) within a couple of
//! seconds. Tapping one fills the hub's address; the pairing code is still
//! typed, and the key is checked when the device pairs.

use std::time::Duration;

use countertop_client::FoundHub;
use serde::Serialize;
use specta::Type;

/// How long one search listens: hubs answer a query within about a second.
const SEARCH_FOR: Duration = Duration::from_millis(1800);
/// Hubs listed at most.
const MAX_LISTED: usize = 32;

/// A hub found on the LAN.
#[derive(Debug, Clone, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct FoundHubView {
    /// The café's name (or its computer's).
    pub name: String,
    /// The address to join: `https://ip:port` when it serves TLS.
    pub url: String,
    /// The hub's IP address, as shown.
    pub address: String,
    /// Its key's fingerprint, 64 hex digits, as it announces it.
    pub fingerprint: Option<String>,
    /// The fingerprint's first 8 digits, grouped ("3f2a 9c01").
    pub fingerprint_short: Option<String>,
}

impl From<&FoundHub> for FoundHubView {
    fn from(hub: &FoundHub) -> FoundHubView {
        FoundHubView {
            name: hub.name.clone(),
            url: hub.url(),
            address: hub.addresses[0].to_string(),
            fingerprint: hub.fingerprint.map(|f| f.to_string()),
            fingerprint_short: hub.fingerprint.map(|f| f.short()),
        }
    }
}

/// The hubs that answer on the LAN now, sorted by name. Empty when none
/// does or mDNS cannot run here (logged).
#[tauri::command]
#[specta::specta]
pub async fn discover_hubs() -> Vec<FoundHubView> {
    countertop_client::browse(SEARCH_FOR)
        .await
        .iter()
        .take(MAX_LISTED)
        .map(FoundHubView::from)
        .collect()
}
