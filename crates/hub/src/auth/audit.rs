//! What the managers are told of the hub's devices: every pairing, every
//! token refresh and every rotation of the signing secret, as a notice
//! (`notices::send`, as a manager's notice or a failed backup is), with the
//! device's name, role and address. A refresh is `info`, so a café full of
//! devices refreshing does not fill the screen with warnings; a pairing and
//! a rotation are `warning`: a device the café did not mean to pair should
//! stand out.
//!
//! A notice that cannot be written is logged; the pairing, refresh or
//! rotation it tells of has happened all the same.

use std::net::IpAddr;

use countertop_protocol::{NewNotification, NotificationLevel};

use super::tokens::SignedWith;
use super::DeviceRecord;
use crate::Hub;

impl Hub {
    /// Tells the managers that `device` was paired from `peer`.
    pub(crate) async fn tell_paired(&self, device: &DeviceRecord, peer: IpAddr) {
        self.tell(
            NotificationLevel::Warning,
            "Device paired",
            format!(
                "\"{}\" ({}, {}) was paired from {peer}.",
                device.name,
                device.role.as_str(),
                device.id
            ),
        )
        .await;
    }

    /// Tells the managers that `device` refreshed its token from `peer`.
    pub(crate) async fn tell_refreshed(
        &self,
        device: &DeviceRecord,
        peer: IpAddr,
        via: SignedWith,
    ) {
        let through = match via {
            SignedWith::Current => "",
            SignedWith::Previous => " with a token of the previous signing secret",
        };
        self.tell(
            NotificationLevel::Info,
            "Device token refreshed",
            format!(
                "\"{}\" ({}, {}) refreshed its token{through} from {peer}.",
                device.name,
                device.role.as_str(),
                device.id
            ),
        )
        .await;
    }

    /// Tells the managers that `by` rotated the signing secret from `peer`.
    pub(crate) async fn tell_rotated(&self, by: &DeviceRecord, peer: IpAddr, closed: u64) {
        self.tell(
            NotificationLevel::Warning,
            "Signing secret rotated",
            format!(
                "\"{}\" ({}, {}) rotated the hub's signing secret from {peer}. {closed} open connection(s) were closed; each device refreshes its token and comes back. A device away for more than 30 days must be paired again.",
                by.name,
                by.role.as_str(),
                by.id
            ),
        )
        .await;
    }

    async fn tell(&self, level: NotificationLevel, title: &str, message: String) {
        // Names are the manager's text: keep the notice within its limits.
        let message: String = message
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .take(2000)
            .collect();
        let sent = crate::notices::send(
            self,
            NewNotification {
                level,
                title: title.to_owned(),
                message,
            },
        )
        .await;
        if let Err(e) = sent {
            tracing::warn!(error = %e, title, "could not tell the managers");
        }
    }
}
