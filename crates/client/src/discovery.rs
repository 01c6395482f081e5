//! Finding hubs on the LAN: DNS-SD over mDNS (`mdns-sd`), the service the
//! hub announces (`_countertop._tcp.local.`, see docs/protocol.md,
//! "Discovery"). A first-run screen lists what [`browse`] finds; a paired
//! device that lost its hub finds it again by its key with [`find`].
//!
//! Invariants:
//! - Everything in an announcement is untrusted: anyone on the Wi-Fi can
//!   announce. The name is cut to 63 bytes without control characters, a
//!   port is 1 to 65535 in at most 5 digits, a fingerprint exactly 64 hex
//!   digits (else none), at most [`MAX_ADDRESSES`] addresses a hub and
//!   [`MAX_HUBS`] hubs are kept. Nothing found is trusted either: a device
//!   still pairs with a code, and a pinned device checks the key.
//! - A hub is listed while it answers and dropped when it says goodbye.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::Duration;

use anyhow::Context;
use mdns_sd::{ResolvedService, ServiceDaemon, ServiceEvent};
use tokio::sync::watch;

use crate::pin::Fingerprint;

/// The DNS-SD service type of a Countertop hub.
pub const SERVICE_TYPE: &str = "_countertop._tcp.local.";
/// Hubs kept at once; announcements past this are ignored.
pub const MAX_HUBS: usize = 64;
/// Addresses kept for one hub.
pub const MAX_ADDRESSES: usize = 16;
/// The longest instance name (a DNS label).
const MAX_NAME_BYTES: usize = 63;

/// A hub that answered on the LAN.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FoundHub {
    /// Its name: the café's, or its computer's.
    pub name: String,
    /// Where it answers, the most useful first: IPv4 beyond loopback,
    /// then IPv6 beyond link-local, then the rest.
    pub addresses: Vec<IpAddr>,
    /// Its HTTPS and WSS port, when it serves TLS to the LAN.
    pub tls_port: Option<u16>,
    /// Its plain HTTP port, when the LAN reaches it.
    pub http_port: Option<u16>,
    /// The SHA-256 of its public key, as it says (a pinned device checks).
    pub fingerprint: Option<Fingerprint>,
}

impl FoundHub {
    /// The address a device joins: `https://ip:tls` when it serves TLS,
    /// else `http://ip:http`.
    pub fn url(&self) -> String {
        let ip = self.addresses[0];
        let host = match ip {
            IpAddr::V4(v4) => v4.to_string(),
            IpAddr::V6(v6) => format!("[{v6}]"),
        };
        match (self.tls_port, self.http_port) {
            (Some(tls), _) => format!("https://{host}:{tls}"),
            (None, Some(http)) => format!("http://{host}:{http}"),
            (None, None) => unreachable!("a found hub has a port"),
        }
    }

    /// Every address of a hub that serves TLS, as `https://ip:tls`: what a
    /// pinned device may try (none without TLS, whatever it announces).
    pub fn tls_urls(&self) -> Vec<String> {
        let Some(tls) = self.tls_port else {
            return Vec::new();
        };
        self.addresses
            .iter()
            .map(|ip| match ip {
                IpAddr::V4(v4) => format!("https://{v4}:{tls}"),
                IpAddr::V6(v6) => format!("https://[{v6}]:{tls}"),
            })
            .collect()
    }

    /// What a resolved announcement says, checked; `None` when it names no
    /// usable address or port.
    fn from_resolved(service: &ResolvedService) -> Option<FoundHub> {
        let txt = |key: &str| service.get_property_val_str(key);
        let fingerprint = txt("fp").and_then(parse_fingerprint);
        let name = instance_name(&service.fullname)?;
        // The hub adds its fingerprint's first 8 digits to keep its name its
        // own; the list shows the fingerprint apart.
        let name = match fingerprint {
            Some(fp) => {
                let tag = format!(" ({})", &fp.to_string()[..8]);
                match name.strip_suffix(&tag) {
                    Some(bare) if !bare.trim().is_empty() => bare.trim().to_owned(),
                    _ => name,
                }
            }
            None => name,
        };
        let mut tls_port = txt("tls").and_then(parse_port);
        let mut http_port = txt("http").and_then(parse_port);
        if tls_port.is_none() && http_port.is_none() {
            // No ports in the TXT record: the service's own port, which is
            // the TLS port when the hub says it serves TLS.
            let port = Some(service.port).filter(|p| *p != 0);
            if txt("tls").is_some() {
                tls_port = port;
            } else {
                http_port = port;
            }
        }
        if tls_port.is_none() && http_port.is_none() {
            return None;
        }
        let mut addresses: Vec<IpAddr> = service
            .addresses
            .iter()
            .map(|a| a.to_ip_addr())
            .filter(|ip| !ip.is_unspecified() && !ip.is_multicast())
            .collect();
        addresses.sort_by_key(|ip| (address_rank(ip), *ip));
        addresses.dedup();
        addresses.truncate(MAX_ADDRESSES);
        if addresses.is_empty() {
            return None;
        }
        Some(FoundHub {
            name,
            addresses,
            tls_port,
            http_port,
            fingerprint,
        })
    }
}

/// Lower is more useful to another device.
fn address_rank(ip: &IpAddr) -> u8 {
    match ip {
        IpAddr::V4(v4) if v4.is_loopback() => 4,
        IpAddr::V4(v4) if v4.is_link_local() => 2,
        IpAddr::V4(_) => 0,
        IpAddr::V6(v6) if v6.is_loopback() => 5,
        IpAddr::V6(v6) if (v6.segments()[0] & 0xffc0) == 0xfe80 => 3,
        IpAddr::V6(_) => 1,
    }
}

/// Exactly 64 hex digits, nothing around them.
fn parse_fingerprint(text: &str) -> Option<Fingerprint> {
    if text.len() != 64 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    text.parse().ok()
}

/// A TCP port, 1 to 65535, in at most 5 decimal digits.
fn parse_port(text: &str) -> Option<u16> {
    if text.is_empty() || text.len() > 5 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok().filter(|p| *p != 0)
}

/// The instance name of `fullname` (`Café Noord._countertop._tcp.local.`),
/// DNS escapes undone, control characters left out, cut to 63 bytes.
fn instance_name(fullname: &str) -> Option<String> {
    let instance = fullname
        .strip_suffix(SERVICE_TYPE)
        .or_else(|| {
            // Names compare without case in DNS.
            let cut = fullname.len().checked_sub(SERVICE_TYPE.len())?;
            (fullname.is_char_boundary(cut) && fullname[cut..].eq_ignore_ascii_case(SERVICE_TYPE))
                .then(|| &fullname[..cut])
        })?
        .strip_suffix('.')?;
    let mut name = String::new();
    let mut chars = instance.chars();
    while let Some(c) = chars.next() {
        let c = if c == '\\' { chars.next()? } else { c };
        if c.is_control() {
            continue;
        }
        if name.len() + c.len_utf8() > MAX_NAME_BYTES {
            break;
        }
        name.push(c);
    }
    let name = name.trim().to_owned();
    (!name.is_empty()).then_some(name)
}

/// A running search for hubs: what it found so far, kept current (a hub
/// that says goodbye leaves the list).
pub struct Browser {
    daemon: Option<ServiceDaemon>,
    found: watch::Receiver<Vec<FoundHub>>,
    task: tokio::task::JoinHandle<()>,
}

impl Browser {
    /// Starts searching on every interface, loopback included.
    pub fn start() -> anyhow::Result<Browser> {
        let daemon = ServiceDaemon::new().context("starting mDNS")?;
        let events = daemon
            .browse(SERVICE_TYPE)
            .context("searching for hubs over mDNS")?;
        let (tx, found) = watch::channel(Vec::new());
        let task = tokio::spawn(async move {
            // By full name, as mDNS names them; listed sorted by name.
            let mut hubs: HashMap<String, FoundHub> = HashMap::new();
            while let Ok(event) = events.recv_async().await {
                match event {
                    ServiceEvent::ServiceResolved(service) => {
                        let key = service.fullname.to_lowercase();
                        match FoundHub::from_resolved(&service) {
                            Some(hub) if hubs.contains_key(&key) || hubs.len() < MAX_HUBS => {
                                hubs.insert(key, hub);
                            }
                            Some(_) => continue,
                            None => {
                                tracing::debug!(name = %service.fullname, "unusable hub announcement");
                                if hubs.remove(&key).is_none() {
                                    continue;
                                }
                            }
                        }
                    }
                    ServiceEvent::ServiceRemoved(_, fullname) => {
                        if hubs.remove(&fullname.to_lowercase()).is_none() {
                            continue;
                        }
                    }
                    _ => continue,
                }
                let mut list: Vec<FoundHub> = hubs.values().cloned().collect();
                list.sort_by(|a, b| a.name.cmp(&b.name).then(a.addresses.cmp(&b.addresses)));
                if tx.send(list).is_err() {
                    break;
                }
            }
        });
        Ok(Browser {
            daemon: Some(daemon),
            found,
            task,
        })
    }

    /// The hubs found so far, sorted by name.
    pub fn hubs(&self) -> Vec<FoundHub> {
        self.found.borrow().clone()
    }

    /// Follows the list as it changes.
    pub fn watch(&self) -> watch::Receiver<Vec<FoundHub>> {
        self.found.clone()
    }

    /// Ends the search and its mDNS thread.
    pub async fn stop(mut self) {
        if let Some(daemon) = self.daemon.take() {
            let _ = daemon.stop_browse(SERVICE_TYPE);
            if let Ok(done) = daemon.shutdown() {
                let _ = tokio::time::timeout(Duration::from_secs(2), done.recv_async()).await;
            }
        }
        self.task.abort();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if let Some(daemon) = self.daemon.take() {
            let _ = daemon.shutdown();
        }
        self.task.abort();
    }
}

/// The hubs that answer within `within` (about 2 s finds the hubs on a
/// quiet LAN). Empty, with a warning in the log, when mDNS cannot start.
pub async fn browse(within: Duration) -> Vec<FoundHub> {
    let browser = match Browser::start() {
        Ok(browser) => browser,
        Err(e) => {
            tracing::warn!(error = format!("{e:#}"), "cannot search for hubs");
            return Vec::new();
        }
    };
    // Collect for the whole window: hubs answer at their own pace.
    tokio::time::sleep(within).await;
    let hubs = browser.hubs();
    browser.stop().await;
    hubs
}

/// The hub whose key is `fingerprint` and that serves TLS, as soon as it
/// answers, or `None` after `within`. (Anyone may announce any key: a
/// device tries what it finds only over TLS pinned to that key.)
pub async fn find(fingerprint: Fingerprint, within: Duration) -> Option<FoundHub> {
    let browser = match Browser::start() {
        Ok(browser) => browser,
        Err(e) => {
            tracing::warn!(error = format!("{e:#}"), "cannot search for the hub");
            return None;
        }
    };
    let mut found = browser.watch();
    let hit = tokio::time::timeout(
        within,
        found.wait_for(|hubs| {
            hubs.iter()
                .any(|h| h.fingerprint == Some(fingerprint) && h.tls_port.is_some())
        }),
    )
    .await
    .ok()
    .and_then(|r| r.ok())
    .and_then(|hubs| {
        hubs.iter()
            .find(|h| h.fingerprint == Some(fingerprint) && h.tls_port.is_some())
            .cloned()
    });
    browser.stop().await;
    hit
}

#[cfg(test)]
mod tests {
    use super::*;

    const FP: &str = "3f2a9c01aabbccddeeff00112233445566778899aabbccddeeff001122334455";

    fn hub(addresses: &[&str], tls: Option<u16>, http: Option<u16>) -> FoundHub {
        FoundHub {
            name: "Café".into(),
            addresses: addresses.iter().map(|a| a.parse().unwrap()).collect(),
            tls_port: tls,
            http_port: http,
            fingerprint: None,
        }
    }

    #[test]
    fn the_url_is_https_when_the_hub_serves_tls() {
        assert_eq!(
            hub(&["192.168.1.20"], Some(3443), Some(3001)).url(),
            "https://192.168.1.20:3443"
        );
        assert_eq!(
            hub(&["192.168.1.20"], None, Some(3001)).url(),
            "http://192.168.1.20:3001"
        );
        assert_eq!(
            hub(&["fd00::5"], Some(3443), None).url(),
            "https://[fd00::5]:3443"
        );
    }

    #[test]
    fn addresses_beyond_loopback_come_first() {
        let mut ips: Vec<IpAddr> = ["127.0.0.1", "fe80::1", "192.168.1.20", "fd00::5", "::1"]
            .iter()
            .map(|a| a.parse().unwrap())
            .collect();
        ips.sort_by_key(|ip| (address_rank(ip), *ip));
        let order: Vec<String> = ips.iter().map(ToString::to_string).collect();
        assert_eq!(
            order,
            ["192.168.1.20", "fd00::5", "fe80::1", "127.0.0.1", "::1"]
        );
    }

    #[test]
    fn a_fingerprint_is_exactly_64_hex_digits() {
        assert_eq!(parse_fingerprint(FP).unwrap().to_string(), FP);
        assert_eq!(
            parse_fingerprint(&FP.to_uppercase()).unwrap().to_string(),
            FP
        );
        assert!(parse_fingerprint(&FP[..63]).is_none());
        assert!(parse_fingerprint(&format!("{FP}0")).is_none());
        assert!(parse_fingerprint(&format!("{}:{}", &FP[..32], &FP[32..])).is_none());
        assert!(parse_fingerprint(&"zz".repeat(32)).is_none());
        assert!(parse_fingerprint("").is_none());
    }

    #[test]
    fn a_port_is_1_to_65535_in_digits() {
        assert_eq!(parse_port("3443"), Some(3443));
        assert_eq!(parse_port("65535"), Some(65535));
        for bad in [
            "0", "65536", "-1", "+80", " 80", "80 ", "000080", "0x50", "",
        ] {
            assert_eq!(parse_port(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn the_name_is_unescaped_cleaned_and_bounded() {
        assert_eq!(
            instance_name("Café Noord._countertop._tcp.local.").as_deref(),
            Some("Café Noord")
        );
        assert_eq!(
            instance_name("Dr\\. Bean\\\\s._COUNTERTOP._tcp.local.").as_deref(),
            Some("Dr. Bean\\s")
        );
        assert_eq!(
            instance_name("a\u{7}b\nc._countertop._tcp.local.").as_deref(),
            Some("abc")
        );
        let long = format!("{}._countertop._tcp.local.", "é".repeat(100));
        assert_eq!(instance_name(&long), Some("é".repeat(31)));
        assert_eq!(instance_name("._countertop._tcp.local."), None);
        assert_eq!(instance_name("x._http._tcp.local."), None);
        assert_eq!(instance_name("trailing\\._countertop._tcp.local."), None);
    }
}
