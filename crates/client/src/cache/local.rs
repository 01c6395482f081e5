//! What belongs to this device rather than the hub: who it is, as pairing
//! said, and its own settings (alerts, offline ordering, and whatever the
//! app shell keeps under a key of its own).

use countertop_protocol::Role;
use rusqlite::{params, OptionalExtension};
use serde::{Deserialize, Serialize};

use super::{meta_get, meta_set, Cache};
use crate::alerts::AlertSettings;
use crate::error::CacheError;

/// Local setting holding the device's [`AlertSettings`] as JSON.
pub const ALERT_SETTINGS_KEY: &str = "alerts";
/// Local setting: `"true"` lets a kiosk take orders while offline.
pub const OFFLINE_ORDERING_KEY: &str = "offline_ordering";

/// Who this device is, as pairing said.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeviceInfo {
    pub device_id: String,
    pub role: Role,
    pub name: String,
    pub hub: String,
    /// When the device token runs out (refreshed when under 30 days).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_expires_at: Option<countertop_protocol::Timestamp>,
    /// The key of the hub's certificate, pinned at pairing over TLS: every
    /// later handshake must show it (none for a hub over plain loopback).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hub_fingerprint: Option<crate::pin::Fingerprint>,
    /// The café's hub nodes, as pairing (and each token refresh since)
    /// named them: the connection moves to the next when the one in use is
    /// unreachable. Empty for a hub of one node.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hubs: Vec<String>,
}

impl Cache {
    pub fn device(&self) -> Result<Option<DeviceInfo>, CacheError> {
        let conn = self.lock();
        match meta_get(&conn, "device")? {
            Some(text) => Ok(Some(serde_json::from_str(&text)?)),
            None => Ok(None),
        }
    }

    /// Records the paired device. Pairing anew (maybe to another hub) forgets
    /// the hub's state and the cursor, so the next connection starts from a
    /// snapshot. Alert dedupe rows stay: an order never chimes twice.
    pub fn set_device(&self, device: &DeviceInfo) -> Result<(), CacheError> {
        let mut conn = self.lock();
        let tx = conn.transaction()?;
        meta_set(&tx, "device", &serde_json::to_string(device)?)?;
        tx.execute("DELETE FROM meta WHERE key IN ('seq', 'epoch')", [])?;
        tx.execute_batch(
            "DELETE FROM orders; DELETE FROM menu; DELETE FROM settings;
             DELETE FROM cells; DELETE FROM workorders;",
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Updates the device record (say, after a token refresh), keeping the cursor.
    pub fn update_device(&self, device: &DeviceInfo) -> Result<(), CacheError> {
        meta_set(&self.lock(), "device", &serde_json::to_string(device)?)
    }

    /// The device's alert settings as last kept, else `role`'s defaults.
    pub fn alert_settings(&self, role: Role) -> Result<AlertSettings, CacheError> {
        match self.local_setting(ALERT_SETTINGS_KEY)? {
            Some(text) => Ok(serde_json::from_str(&text)?),
            None => Ok(AlertSettings::for_role(role)),
        }
    }

    /// Keeps the device's alert settings for next time.
    pub fn set_alert_settings(&self, settings: &AlertSettings) -> Result<(), CacheError> {
        self.set_local_setting(ALERT_SETTINGS_KEY, &serde_json::to_string(settings)?)
    }

    /// Whether this device was told to take orders while offline on its own
    /// (the café-wide policy is the hub's `offline_ordering` setting).
    pub fn offline_ordering(&self) -> Result<bool, CacheError> {
        Ok(self.local_setting(OFFLINE_ORDERING_KEY)?.as_deref() == Some("true"))
    }

    /// Keeps the device's own offline-ordering switch for next time.
    pub fn set_offline_ordering(&self, on: bool) -> Result<(), CacheError> {
        self.set_local_setting(OFFLINE_ORDERING_KEY, if on { "true" } else { "false" })
    }

    pub fn local_setting(&self, key: &str) -> Result<Option<String>, CacheError> {
        let conn = self.lock();
        Ok(conn
            .query_row(
                "SELECT value FROM local_settings WHERE key = ?1",
                [key],
                |r| r.get(0),
            )
            .optional()?)
    }

    pub fn set_local_setting(&self, key: &str, value: &str) -> Result<(), CacheError> {
        let conn = self.lock();
        conn.execute(
            "INSERT INTO local_settings (key, value) VALUES (?1, ?2)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            params![key, value],
        )?;
        Ok(())
    }
}
