//! The link a kiosk's confirmation shows as a QR code: the hub's `/status`
//! page for the order's daily number, at an address a customer's phone on
//! the café's network can reach, and the QR code of it as SVG.
//!
//! A hub this machine hosts listens on every interface, while the app itself
//! talks to it on `127.0.0.1`; a phone needs one of the machine's LAN
//! addresses instead. A remote hub is reached at its URL's host. A loopback
//! address is never offered: a phone would open itself.

use std::net::IpAddr;

use qrcode::render::svg;
use qrcode::QrCode;
use reqwest::Url;

/// The status page of one order and its QR code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusLink {
    /// `http://<address>:<port>/status?n=<daily number>`.
    pub url: String,
    /// The QR code of `url`: black modules on white, a quiet zone of four.
    pub svg: String,
}

/// Side of one QR module in the SVG's user units.
pub const MODULE_PX: u32 = 8;

/// The link to the status page of order `daily_num`, for a device that talks
/// to the hub at `hub_url`. `hosted`: this machine hosts that hub (on every
/// interface), so it is reached at the first of `addresses` a phone can use.
/// `None` when there is no such address.
pub fn status_link(
    hub_url: &str,
    hosted: bool,
    addresses: &[IpAddr],
    daily_num: u32,
) -> Option<StatusLink> {
    let url = status_url(hub_url, hosted, addresses, daily_num)?;
    let svg = qr_svg(&url)?;
    Some(StatusLink { url, svg })
}

/// The status page's URL (see [`status_link`]).
pub fn status_url(
    hub_url: &str,
    hosted: bool,
    addresses: &[IpAddr],
    daily_num: u32,
) -> Option<String> {
    let mut url = Url::parse(hub_url).ok()?;
    if !matches!(url.scheme(), "http" | "https") {
        return None;
    }
    if hosted {
        let ip = lan_address(addresses)?;
        url.set_ip_host(ip).ok()?;
    } else if host_is_local(&url) {
        return None;
    }
    url.set_path("/status");
    url.set_query(Some(&format!("n={daily_num}")));
    url.set_fragment(None);
    // Only scheme, host and port are kept from the hub's URL.
    url.set_username("").ok()?;
    url.set_password(None).ok()?;
    Some(url.to_string())
}

/// The first address a phone on the LAN can reach: IPv4, neither loopback,
/// link-local nor unspecified.
pub fn lan_address(addresses: &[IpAddr]) -> Option<IpAddr> {
    addresses.iter().copied().find(|ip| match ip {
        IpAddr::V4(v4) => !v4.is_loopback() && !v4.is_link_local() && !v4.is_unspecified(),
        IpAddr::V6(_) => false,
    })
}

/// This machine's interface addresses, in the order the system lists them;
/// empty when they cannot be read.
pub fn machine_addresses() -> Vec<IpAddr> {
    match if_addrs::get_if_addrs() {
        Ok(interfaces) => interfaces.iter().map(if_addrs::Interface::ip).collect(),
        Err(e) => {
            tracing::warn!(error = %e, "cannot list the network interfaces");
            Vec::new()
        }
    }
}

fn host_is_local(url: &Url) -> bool {
    let Some(host) = url.host_str() else {
        return true;
    };
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    match bare.parse::<IpAddr>() {
        Ok(ip) => ip.is_loopback() || ip.is_unspecified(),
        Err(_) => bare.eq_ignore_ascii_case("localhost"),
    }
}

/// The QR code of `text` as SVG (error correction M, the quiet zone of four
/// modules a reader needs, [`MODULE_PX`] per module).
pub fn qr_svg(text: &str) -> Option<String> {
    let code = QrCode::new(text.as_bytes()).ok()?;
    Some(
        code.render::<svg::Color<'_>>()
            .quiet_zone(true)
            .module_dimensions(MODULE_PX, MODULE_PX)
            .dark_color(svg::Color("#000000"))
            .light_color(svg::Color("#ffffff"))
            .build(),
    )
}
