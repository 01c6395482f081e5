//! The kiosk's status link (`status_link`): which address a customer's phone
//! is sent to, for a hosted and a remote hub, and the QR code of it.

use std::net::IpAddr;

use countertop_client::status_link::{status_link, status_url, MODULE_PX};

fn ips(list: &[&str]) -> Vec<IpAddr> {
    list.iter().map(|s| s.parse().unwrap()).collect()
}

#[test]
fn a_hosted_hub_is_reached_at_the_first_lan_address() {
    let addresses = ips(&[
        "127.0.0.1",
        "::1",
        "169.254.10.2",
        "fe80::1",
        "192.168.1.20",
        "10.0.0.5",
    ]);
    assert_eq!(
        status_url("http://127.0.0.1:3001", true, &addresses, 42).as_deref(),
        Some("http://192.168.1.20:3001/status?n=42")
    );
    // The port the hub got, whatever it is.
    assert_eq!(
        status_url("http://127.0.0.1:40123/", true, &addresses, 7).as_deref(),
        Some("http://192.168.1.20:40123/status?n=7")
    );
}

#[test]
fn no_lan_address_means_no_link() {
    let only_local = ips(&["127.0.0.1", "::1", "169.254.1.1", "fe80::2", "2001:db8::5"]);
    assert_eq!(
        status_url("http://127.0.0.1:3001", true, &only_local, 1),
        None
    );
    assert_eq!(status_link("http://127.0.0.1:3001", true, &[], 1), None);
}

#[test]
fn a_remote_hub_is_reached_at_its_own_host() {
    let addresses = ips(&["192.168.1.20"]);
    assert_eq!(
        status_url("http://10.1.2.3:3001", false, &addresses, 5).as_deref(),
        Some("http://10.1.2.3:3001/status?n=5")
    );
    assert_eq!(
        status_url("https://hub.cafe.example/api/?x=1#y", false, &addresses, 12).as_deref(),
        Some("https://hub.cafe.example/status?n=12")
    );
    assert_eq!(
        status_url("http://user:secret@10.1.2.3:3001", false, &addresses, 5).as_deref(),
        Some("http://10.1.2.3:3001/status?n=5"),
        "no credentials in a customer's link"
    );
    // A hub on this machine's loopback, run apart from the app: a phone
    // cannot reach that address, and which others it listens on is unknown.
    for local in [
        "http://127.0.0.1:3001",
        "http://localhost:3001",
        "http://[::1]:3001",
    ] {
        assert_eq!(status_url(local, false, &addresses, 5), None, "{local}");
    }
    assert_eq!(status_url("not a url", false, &addresses, 5), None);
    assert_eq!(status_url("ftp://10.1.2.3", false, &addresses, 5), None);
}

/// The `width="…"` of the SVG's root element.
fn svg_width(svg: &str) -> u32 {
    let start = svg.find("<svg").expect("an svg element");
    let attr = svg[start..].find(" width=\"").expect("a width") + start + 8;
    svg[attr..attr + svg[attr..].find('"').unwrap()]
        .parse()
        .expect("a number")
}

#[test]
fn the_link_carries_a_qr_code_of_its_url() {
    let link =
        status_link("http://127.0.0.1:3001", true, &ips(&["192.168.1.20"]), 42).expect("a link");
    assert_eq!(link.url, "http://192.168.1.20:3001/status?n=42");
    // 36 bytes in byte mode at error correction M need version 3: 29
    // modules a side, plus a quiet zone of 4 on each side.
    assert_eq!(link.url.len(), 36);
    assert_eq!(svg_width(&link.svg), (29 + 2 * 4) * MODULE_PX);
    assert!(link.svg.contains(&format!(
        "viewBox=\"0 0 {side} {side}\"",
        side = (29 + 2 * 4) * MODULE_PX
    )));
    assert!(link.svg.contains("fill=\"#000000\""), "dark modules drawn");
    assert!(!link.svg.contains("<script"));

    // One byte past version 3's 42 needs version 4: 33 modules a side.
    let longer = status_link("https://192.168.100.200:65000", false, &[], 9999).expect("a link");
    assert_eq!(longer.url, "https://192.168.100.200:65000/status?n=9999");
    assert_eq!(longer.url.len(), 43);
    assert_eq!(svg_width(&longer.svg), (33 + 2 * 4) * MODULE_PX);
}
