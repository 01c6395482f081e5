//! The hub announces itself on the LAN with DNS-SD over mDNS (`mdns-sd`),
//! so that a new device's first-run screen lists it and a paired device
//! finds it again by its fingerprint when its address changes.
//!
//! Invariants:
//! - Only a hub that listens beyond loopback announces: a hub on
//!   `127.0.0.1` (one computer at the counter, the tests) stays quiet.
//! - One service of type [`SERVICE_TYPE`]; its instance name is the café's
//!   name (else the host name) and, in brackets, the first 8 hex digits of
//!   the fingerprint ("Café Noord (3f2a9c01)"), at most 63 bytes: two hubs
//!   never claim one name (a default name is common, and mDNS renames on a
//!   conflict one interface at a time); its port is the TLS port
//!   when TLS is served beyond loopback, else the plain port; its TXT record
//!   carries `fp` (the 64 hex digits devices pin), `tls` and `http` (the
//!   ports reachable from the LAN, each only when it is) and `v=2`.
//! - The SRV target is `ct-<first 12 hex of the fingerprint>.local.`, one
//!   host name per hub key, so two hubs on one machine (or the machine's
//!   own mDNS responder) never claim the same name.
//! - [`Announcer::stop`] withdraws the service (a goodbye with TTL 0, so
//!   browsers drop it at once) before the mDNS thread ends; dropping an
//!   [`Announcer`] does the same without waiting.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use anyhow::Context;
use mdns_sd::{IfKind, ServiceDaemon, ServiceInfo};

/// The DNS-SD service type of a Countertop hub.
pub const SERVICE_TYPE: &str = "_countertop._tcp.local.";
/// The `v` TXT value: the version of this announcement's keys.
pub const TXT_VERSION: &str = "2";
/// How long [`Announcer::stop`] waits for the goodbye to be sent.
const STOP_WAIT: Duration = Duration::from_secs(2);
/// A DNS label's limit, which the instance name must fit.
const MAX_NAME_BYTES: usize = 63;

/// What the hub says about itself, made from the addresses it listens on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Announcement {
    /// The instance name people see ("Café Noord").
    pub name: String,
    /// SHA-256 of the hub's public key, 64 lowercase hex digits.
    pub fingerprint: String,
    /// The plain listener, when it is reachable beyond loopback.
    pub http: Option<SocketAddr>,
    /// The TLS listener, when it is reachable beyond loopback.
    pub tls: Option<SocketAddr>,
}

impl Announcement {
    /// The announcement of a hub listening on `http` (plain) and `tls`, or
    /// `None` when neither is reachable beyond loopback. A blank `name`
    /// gives way to the host name.
    pub fn for_listeners(
        name: &str,
        fingerprint: &str,
        http: SocketAddr,
        tls: Option<SocketAddr>,
    ) -> Option<Announcement> {
        let beyond = |addr: &SocketAddr| !addr.ip().is_loopback();
        let http = Some(http).filter(beyond);
        let tls = tls.filter(beyond);
        if http.is_none() && tls.is_none() {
            return None;
        }
        Some(Announcement {
            name: instance_name(name, fingerprint),
            fingerprint: fingerprint.to_owned(),
            http,
            tls,
        })
    }

    /// The listener devices are sent to: TLS when the hub serves it.
    fn main(&self) -> SocketAddr {
        self.tls
            .or(self.http)
            .expect("an announcement has a listener")
    }

    /// The TXT record's keys and values.
    pub fn txt(&self) -> Vec<(&'static str, String)> {
        let mut txt = vec![("fp", self.fingerprint.clone())];
        if let Some(tls) = self.tls {
            txt.push(("tls", tls.port().to_string()));
        }
        if let Some(http) = self.http {
            txt.push(("http", http.port().to_string()));
        }
        txt.push(("v", TXT_VERSION.to_owned()));
        txt
    }

    /// The SRV target: one host name per hub key.
    fn host_name(&self) -> String {
        let short: String = self.fingerprint.chars().take(12).collect();
        format!("ct-{short}.local.")
    }

    fn service_info(&self) -> anyhow::Result<ServiceInfo> {
        let main = self.main();
        let ip = main.ip();
        let addresses: Vec<IpAddr> = if ip.is_unspecified() {
            vec![]
        } else {
            vec![ip]
        };
        let mut info = ServiceInfo::new(
            SERVICE_TYPE,
            &self.name,
            &self.host_name(),
            addresses.as_slice(),
            main.port(),
            self.txt().as_slice(),
        )
        .context("the hub's mDNS service record")?;
        // On every address: announced with each interface's own addresses,
        // and again when they change (DHCP, another Wi-Fi).
        info.set_interfaces(match ip {
            IpAddr::V4(v4) if v4.is_unspecified() => vec![IfKind::IPv4],
            IpAddr::V6(v6) if v6.is_unspecified() => vec![IfKind::All],
            specific => vec![IfKind::Addr(specific)],
        });
        Ok(if ip.is_unspecified() {
            info.enable_addr_auto()
        } else {
            info
        })
    }
}

/// The café's name (the host name when it is blank) and the fingerprint's
/// first 8 hex digits, cut to fit a DNS label (at a character boundary).
fn instance_name(name: &str, fingerprint: &str) -> String {
    let name = name.trim();
    let name = if name.is_empty() {
        whoami::fallible::hostname().unwrap_or_else(|_| "Countertop".to_owned())
    } else {
        name.to_owned()
    };
    let tag = format!(" ({})", fingerprint.get(..8).unwrap_or(fingerprint));
    let mut end = name.len().min(MAX_NAME_BYTES.saturating_sub(tag.len()));
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}{tag}", name[..end].trim_end())
}

/// Starts announcing `hub`, listening on `http` and `tls`, when it is
/// switched on and reachable beyond loopback. A failure to announce is
/// logged, never fatal: devices can still be given the address by hand.
pub(crate) async fn start_for(
    hub: &crate::Hub,
    http: SocketAddr,
    tls: Option<SocketAddr>,
) -> Option<Announcer> {
    if !hub.config.announce {
        return None;
    }
    let name = match hub.pool().acquire().await {
        Ok(mut conn) => crate::store::settings::setting(
            &mut conn,
            countertop_protocol::SettingKey::CafeName.as_str(),
        )
        .await
        .ok()
        .flatten()
        .unwrap_or_default(),
        Err(_) => String::new(),
    };
    let announcement = Announcement::for_listeners(&name, &hub.tls.fingerprint, http, tls)?;
    match Announcer::start(&announcement) {
        Ok(announcer) => Some(announcer),
        Err(e) => {
            tracing::warn!(
                error = format!("{e:#}"),
                "cannot announce the hub on the LAN"
            );
            None
        }
    }
}

/// A running announcement: the mDNS responder's thread and the service it
/// answers for.
pub struct Announcer {
    daemon: Option<ServiceDaemon>,
    fullname: String,
}

impl Announcer {
    /// Starts answering for `announcement` on the interfaces it listens on.
    pub fn start(announcement: &Announcement) -> anyhow::Result<Announcer> {
        let info = announcement.service_info()?;
        let fullname = info.get_fullname().to_owned();
        let daemon = ServiceDaemon::new().context("starting the mDNS responder")?;
        if let IpAddr::V4(v4) = announcement.main().ip() {
            if v4.is_unspecified() {
                // Only the IPv4 side: the hub listens on no IPv6 address.
                let _ = daemon.disable_interface(IfKind::IPv6);
            }
        }
        daemon
            .register(info)
            .context("announcing the hub over mDNS")?;
        tracing::info!(
            name = %announcement.name,
            port = announcement.main().port(),
            "announcing the hub on the LAN ({SERVICE_TYPE})"
        );
        Ok(Announcer {
            daemon: Some(daemon),
            fullname,
        })
    }

    /// Withdraws the service (browsers see it go at once) and ends the
    /// responder, waiting at most a couple of seconds for each.
    pub async fn stop(mut self) {
        let Some(daemon) = self.daemon.take() else {
            return;
        };
        if let Ok(done) = daemon.unregister(&self.fullname) {
            let _ = tokio::time::timeout(STOP_WAIT, done.recv_async()).await;
        }
        if let Ok(done) = daemon.shutdown() {
            let _ = tokio::time::timeout(STOP_WAIT, done.recv_async()).await;
        }
        tracing::info!("stopped announcing the hub");
    }
}

impl Drop for Announcer {
    fn drop(&mut self) {
        if let Some(daemon) = self.daemon.take() {
            let _ = daemon.unregister(&self.fullname);
            let _ = daemon.shutdown();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FP: &str = "3f2a9c01aabbccddeeff00112233445566778899aabbccddeeff001122334455";

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn a_hub_on_loopback_only_stays_quiet() {
        assert_eq!(
            Announcement::for_listeners("Café", FP, addr("127.0.0.1:3001"), None),
            None
        );
        assert_eq!(
            Announcement::for_listeners(
                "Café",
                FP,
                addr("127.0.0.1:3001"),
                Some(addr("[::1]:3443"))
            ),
            None
        );
    }

    #[test]
    fn the_tls_port_is_announced_and_a_local_plain_port_is_not() {
        let a = Announcement::for_listeners(
            "Café Noord",
            FP,
            addr("127.0.0.1:3001"),
            Some(addr("0.0.0.0:3443")),
        )
        .expect("TLS on every address announces");
        assert_eq!(a.main().port(), 3443);
        assert_eq!(
            a.txt(),
            vec![
                ("fp", FP.to_owned()),
                ("tls", "3443".to_owned()),
                ("v", "2".to_owned())
            ]
        );
        let info = a.service_info().unwrap();
        assert_eq!(
            info.get_fullname(),
            "Café Noord (3f2a9c01)._countertop._tcp.local."
        );
        assert_eq!(info.get_hostname(), "ct-3f2a9c01aabb.local.");
        assert_eq!(info.get_port(), 3443);
        assert!(info.is_addr_auto());
    }

    #[test]
    fn a_plain_hub_on_the_lan_announces_its_plain_port() {
        let a = Announcement::for_listeners("Café", FP, addr("192.168.1.20:3001"), None).unwrap();
        assert_eq!(a.main().port(), 3001);
        assert_eq!(
            a.txt(),
            vec![
                ("fp", FP.to_owned()),
                ("http", "3001".to_owned()),
                ("v", "2".to_owned())
            ]
        );
        let info = a.service_info().unwrap();
        assert!(!info.is_addr_auto());
        assert_eq!(info.get_addresses_v4().len(), 1);
    }

    #[test]
    fn the_name_fits_a_dns_label_and_a_blank_one_is_the_host_name() {
        let long = "é".repeat(40);
        let cut = instance_name(&long, FP);
        assert!(cut.len() <= MAX_NAME_BYTES);
        assert_eq!(cut, format!("{} (3f2a9c01)", "é".repeat(26)));
        let blank = instance_name("  ", FP);
        assert!(
            blank.ends_with(" (3f2a9c01)") && blank.len() > 11,
            "{blank:?}"
        );
        assert_eq!(instance_name(" Café ", FP), "Café (3f2a9c01)");
    }
}
