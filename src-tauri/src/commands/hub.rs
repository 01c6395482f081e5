//! The hub as other devices reach it: its LAN addresses over TLS, the
//! fingerprint of its key, the pairing link and its QR code; serving the
//! LAN or this computer only; and pairing codes made on the hosting
//! computer by whoever works at it.

use std::net::IpAddr;

use countertop_client::status_link::{machine_addresses, qr_svg};
use countertop_client::{Cache, Fingerprint, PairingLink};
use countertop_protocol::Role;
use tauri::{AppHandle, State, WebviewWindow};

use crate::ipc::{HubInfoView, IpcError, IpcErrorCode, JoinView, PairingCodeView, RoleName};
use crate::launch::{self, Remembered};
use crate::station::{RunningDevice, Station};

/// The addresses other devices join on, and the key they pin: the hosting
/// instance's LAN addresses over TLS, or the address a joined device uses.
/// `None` when the hub serves this computer only.
pub fn reach(station: &Station, device: &RunningDevice) -> Option<(Vec<String>, Fingerprint)> {
    if let Some(hosting) = station.hosting() {
        let tls_port = hosting.tls_port?;
        let fingerprint = hosting.fingerprint.parse().ok()?;
        let mut ips: Vec<IpAddr> = machine_addresses()
            .into_iter()
            .filter(|ip| !ip.is_loopback() && !ip.is_unspecified() && !is_link_local(ip))
            .collect();
        // IPv4 first: what people read off a screen and type.
        ips.sort_by_key(|ip| (ip.is_ipv6(), *ip));
        if ips.is_empty() {
            // No network yet: a device on this same computer can still join.
            ips.push(IpAddr::V4(std::net::Ipv4Addr::LOCALHOST));
        }
        let addresses = ips
            .iter()
            .map(|ip| match ip {
                IpAddr::V4(v4) => format!("https://{v4}:{tls_port}"),
                IpAddr::V6(v6) => format!("https://[{v6}]:{tls_port}"),
            })
            .collect();
        return Some((addresses, fingerprint));
    }
    if !device.hub.starts_with("https://") {
        return None;
    }
    let pinned = Cache::open(&device.data_dir)
        .ok()?
        .device()
        .ok()??
        .hub_fingerprint?;
    Some((vec![device.hub.clone()], pinned))
}

fn is_link_local(ip: &IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_link_local(),
        IpAddr::V6(v6) => (v6.segments()[0] & 0xffc0) == 0xfe80,
    }
}

/// A pairing code with what a new device needs to join by it: the first
/// address, the fingerprint, and the pairing link as a QR code.
pub fn join_view(station: &Station, device: &RunningDevice, code: &str) -> Option<JoinView> {
    let (addresses, fingerprint) = reach(station, device)?;
    let address = addresses.first()?.clone();
    let link = PairingLink {
        hub: address.clone(),
        fingerprint,
        code: code.to_owned(),
    }
    .to_uri();
    Some(JoinView {
        qr_svg: qr_svg(&link).unwrap_or_default(),
        link,
        address,
        addresses,
        fingerprint: fingerprint.to_string(),
        fingerprint_short: fingerprint.short(),
    })
}

/// This hub as other devices reach it (any screen of a staff device).
#[tauri::command]
#[specta::specta]
pub fn hub_info(
    window: WebviewWindow,
    station: State<'_, Station>,
) -> Result<HubInfoView, IpcError> {
    let device = station.device_for(window.label())?;
    let hosting = station.hosting();
    let reach = reach(&station, &device);
    Ok(HubInfoView {
        hosting: hosting.is_some(),
        lan: hosting.as_ref().is_some_and(|h| h.tls_port.is_some()),
        port: hosting.as_ref().map(|h| h.port),
        tls_port: hosting.as_ref().and_then(|h| h.tls_port),
        addresses: reach.as_ref().map(|(a, _)| a.clone()).unwrap_or_default(),
        fingerprint: reach.as_ref().map(|(_, f)| f.to_string()),
        fingerprint_short: reach.as_ref().map(|(_, f)| f.short()),
    })
}

/// Serves other devices on the LAN (over TLS), or this computer only: kept
/// for the next start, then Countertop restarts to listen anew (staff at
/// the hosting computer: its manager, or its barista, who has no Settings).
#[tauri::command]
#[specta::specta]
pub async fn set_lan(
    app: AppHandle,
    window: WebviewWindow,
    station: State<'_, Station>,
    on: bool,
) -> Result<(), IpcError> {
    let device = station.device_for(window.label())?;
    if !matches!(device.role, Role::Manager | Role::Barista) {
        return Err(IpcError::new(
            IpcErrorCode::Forbidden,
            "only staff change how the hub serves the network",
        ));
    }
    let Some(Remembered::Host {
        role,
        port,
        tls_port,
        served_lan,
        ..
    }) = launch::remembered(&station.data_dir)
    else {
        return Err(IpcError::new(
            IpcErrorCode::Validation,
            "this computer does not host the hub: change it on the hosting computer",
        ));
    };
    launch::remember(
        &station.data_dir,
        &Remembered::Host {
            role,
            port,
            lan: on,
            tls_port,
            served_lan,
        },
    )
    .map_err(|e| IpcError::new(IpcErrorCode::Other, format!("{e:#}")))?;
    tracing::info!(lan = on, "restarting to serve the network anew");
    station.shutdown();
    app.restart();
}

/// A pairing code made on the hosting computer by whoever works at it (a
/// hosting barista has no manager screen): straight into the hub here.
#[tauri::command]
#[specta::specta]
pub async fn host_pairing_code(
    window: WebviewWindow,
    station: State<'_, Station>,
    role: RoleName,
    name: String,
) -> Result<PairingCodeView, IpcError> {
    let device = station.device_for(window.label())?;
    if role == RoleName::Manager && device.role != Role::Manager {
        return Err(IpcError::new(
            IpcErrorCode::Forbidden,
            "only a manager pairs a new manager",
        ));
    }
    let hub = station.hosted_hub().ok_or_else(|| {
        IpcError::new(
            IpcErrorCode::Forbidden,
            "only the computer that hosts the hub makes codes here; ask a manager",
        )
    })?;
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 60 {
        return Err(IpcError::new(
            IpcErrorCode::Validation,
            "give the new device a name of 1 to 60 characters",
        ));
    }
    let code = hub
        .create_pairing_code(role.into(), name)
        .await
        .map_err(|e| IpcError::new(IpcErrorCode::Other, e.to_string()))?;
    let join = join_view(&station, &device, &code.code);
    Ok(PairingCodeView::new(code, role, name.to_owned()).with_join(join))
}

/// Follows this device's hub to a new address without pairing again (the
/// hub computer got another IP address): the hub there must accept the
/// device's token and, over TLS, show the key pinned at pairing. The
/// device's connection restarts on the new address.
#[tauri::command]
#[specta::specta]
pub async fn move_hub(
    app: AppHandle,
    window: WebviewWindow,
    station: State<'_, Station>,
    address: String,
) -> Result<(), IpcError> {
    let station = station.inner().clone();
    if station.hosting().is_some() {
        return Err(IpcError::new(
            IpcErrorCode::Validation,
            "this computer hosts the hub: its screens always use it here",
        ));
    }
    let binding = station
        .binding(window.label())
        .ok_or_else(|| IpcError::new(IpcErrorCode::Forbidden, "this window has no device"))?;
    let device = station.device_for(window.label())?;
    let address = address.trim();
    if address.is_empty() || address.len() > 200 {
        return Err(IpcError::new(
            IpcErrorCode::Validation,
            "type the hub's address, like https://192.168.1.20:3443",
        ));
    }
    let address = if address.contains("://") {
        address.to_owned()
    } else {
        format!("https://{address}")
    };
    countertop_client::move_hub(&device.data_dir, &address, std::time::Duration::from_secs(15))
        .await
        .map_err(|e| {
            let code = IpcErrorCode::from(e.kind());
            let message = match &e {
                countertop_client::ClientError::Link(countertop_client::LinkError::Network(_) | countertop_client::LinkError::Timeout) => {
                    format!("No hub answers at {address}.")
                }
                countertop_client::ClientError::Link(countertop_client::LinkError::NotYourHub { .. }) => {
                    format!("The computer at {address} is not this device's hub (its key differs).")
                }
                countertop_client::ClientError::Link(countertop_client::LinkError::Unauthorized) => {
                    format!("The hub at {address} does not know this device: it is another hub, or the device was removed.")
                }
                other => format!("{other}"),
            };
            IpcError::new(code, message)
        })?;
    tracing::info!(device = %binding.device, "the device follows its hub to a new address");
    station.forget_device(&binding.device);
    launch::start_device(&app, &station, &binding.device)
        .await
        .map_err(|e| IpcError::new(IpcErrorCode::Other, format!("{e:#}")))?;
    Ok(())
}
