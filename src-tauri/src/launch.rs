//! How this instance starts: host the hub here (with the demo café in
//! `--demo`), join a hub with a pairing code, or ask on first run. The
//! choice is remembered in `launch.json` in the data folder.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use countertop_client::{
    AlertOutput, ClientError, ConnectOptions, DesktopOutput, Fingerprint, LinkError, PairingLink,
    SilentOutput,
};
use countertop_hub::{Hub, HubConfig};
use countertop_protocol::Role;
use serde::{Deserialize, Serialize};
use tauri::{AppHandle, Runtime};

use crate::station::{Hosting, RunningDevice, Station};

/// How long a pairing or other one-off hub call may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);

/// The hub port a hosting instance tries first (the protocol's default).
const DEFAULT_HUB_PORT: u16 = 3001;
/// The port other devices join a hosting instance on, over TLS.
const DEFAULT_TLS_PORT: u16 = 3443;

/// What the command line asked for.
#[derive(Debug, Clone)]
pub enum Plan {
    /// Host a hub with the demo café and run one device of each role in
    /// `screens`, side by side (kiosk and barista by default).
    Demo { screens: Vec<Role> },
    /// Host the hub here and run one device of `role` (default: the
    /// remembered one, or barista). `lan`: serve other devices over TLS
    /// (default: as remembered, else this computer only).
    Host {
        role: Option<Role>,
        lan: Option<bool>,
        port: Option<u16>,
    },
    /// Pair with the hub at `hub` using `code` (or the pairing link in
    /// `code`, which names the hub and its key).
    Join { hub: String, code: String },
    /// Use what was chosen before, or ask (first run).
    Remembered { role: Option<Role> },
}

/// The first-run choice, kept in `launch.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "camelCase")]
pub enum Remembered {
    #[serde(rename_all = "camelCase")]
    Host {
        role: Role,
        port: u16,
        /// Serving other devices on the LAN (over TLS on `tls_port`).
        #[serde(default)]
        lan: bool,
        #[serde(default = "default_tls_port")]
        tls_port: u16,
        /// The hub last started serving the LAN on these ports, so devices
        /// may have joined them: they are kept (a taken one is an error).
        #[serde(default)]
        served_lan: bool,
    },
    Join,
}

fn default_tls_port() -> u16 {
    DEFAULT_TLS_PORT
}

fn launch_file(data_dir: &Path) -> PathBuf {
    data_dir.join("launch.json")
}

pub fn remembered(data_dir: &Path) -> Option<Remembered> {
    let text = std::fs::read_to_string(launch_file(data_dir)).ok()?;
    match serde_json::from_str(&text) {
        Ok(r) => Some(r),
        Err(e) => {
            tracing::warn!(error = %e, "ignoring an unreadable launch.json");
            None
        }
    }
}

pub fn remember(data_dir: &Path, choice: &Remembered) -> anyhow::Result<()> {
    std::fs::create_dir_all(data_dir)?;
    let text = serde_json::to_string_pretty(choice)?;
    std::fs::write(launch_file(data_dir), text).context("writing launch.json")
}

/// The folder of the device called `key`.
pub fn device_dir(data_dir: &Path, key: &str) -> PathBuf {
    data_dir.join("devices").join(key)
}

/// Where a hosted hub listens.
#[derive(Debug, Clone, Copy)]
pub enum Listen {
    /// Any free port on loopback (the demo).
    AnyLocal,
    /// `port` on loopback only: one computer at the counter. No other
    /// device can have joined it, so a taken port gives way to a free one.
    Local { port: u16 },
    /// Other devices too: `port` on every address for the public pages
    /// (tokens from the LAN are refused there with 426), and `tls_port`
    /// over TLS for the devices that join. `keep`: devices joined these
    /// ports before, so a taken one is an error, never a silent move.
    Lan {
        port: u16,
        tls_port: u16,
        keep: bool,
    },
}

/// Binds `port` on `ip`. If another program has it: with `keep`, says so
/// plainly (a hosted hub keeps the port its devices joined); else takes a
/// free port and says that in the log.
async fn bind(
    ip: IpAddr,
    port: u16,
    keep: bool,
    what: &str,
) -> anyhow::Result<tokio::net::TcpListener> {
    match tokio::net::TcpListener::bind(SocketAddr::from((ip, port))).await {
        Ok(listener) => Ok(listener),
        Err(e) if e.kind() == std::io::ErrorKind::AddrInUse && port != 0 && !keep => {
            tracing::warn!(
                port,
                what,
                "port taken; no device joined it yet, so using a free one"
            );
            tokio::net::TcpListener::bind(SocketAddr::from((ip, 0)))
                .await
                .with_context(|| format!("cannot listen on {ip} ({what})"))
        }
        Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => Err(anyhow::anyhow!(
            "port {port} ({what}) is taken by another program (maybe another Countertop). \
             The hub keeps its port so that the devices which joined it find it again: \
             close that program, or start with --port to choose another port \
             (the devices then follow it under Settings, \"The hub has a new address?\")."
        )),
        Err(e) => Err(anyhow::anyhow!(
            "cannot listen on {ip}:{port} ({what}): {e}"
        )),
    }
}

/// Starts the hub as `listen` says; returns the hub and its plain port.
/// This instance's own devices use `http://127.0.0.1:port`.
pub async fn host_hub(station: &Station, listen: Listen) -> anyhow::Result<(Hub, u16)> {
    let config = HubConfig::new(station.data_dir.join("hub"));
    let hub = Hub::open(config).await.context("opening the hub")?;
    let loopback = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let any = IpAddr::V4(Ipv4Addr::UNSPECIFIED);
    let (listener, tls) = match listen {
        Listen::AnyLocal => (bind(loopback, 0, false, "the hub").await?, None),
        Listen::Local { port } => (bind(loopback, port, false, "the hub").await?, None),
        Listen::Lan {
            port,
            tls_port,
            keep,
        } => (
            bind(any, port, keep, "the hub's public pages").await?,
            Some(bind(any, tls_port, keep, "the hub over TLS").await?),
        ),
    };
    let port = listener.local_addr()?.port();
    let tls_port = match &tls {
        Some(l) => Some(l.local_addr()?.port()),
        None => None,
    };
    let url = format!("http://127.0.0.1:{port}");
    match tls_port {
        Some(tls_port) => {
            tracing::info!(%url, tls_port, "hosting the hub for the LAN (devices join over TLS)")
        }
        None => tracing::info!(%url, "hosting the hub for this computer only"),
    }
    station.set_hub_url(&url);
    station.set_hosting(Hosting {
        port,
        tls_port,
        fingerprint: hub.tls.fingerprint.clone(),
    });
    station.set_hosted_hub(hub.clone());
    // Tools and tests find the running hub here.
    let note = serde_json::json!({ "url": url, "port": port, "tlsPort": tls_port });
    if let Err(e) = std::fs::write(station.data_dir.join("hub.json"), note.to_string()) {
        tracing::warn!(error = %e, "cannot write hub.json");
    }
    let serving = hub.clone();
    tauri::async_runtime::spawn(async move {
        if let Err(e) =
            countertop_hub::serve_with_tls(listener, tls, serving, std::future::pending()).await
        {
            tracing::error!(error = %e, "the hub stopped");
        }
    });
    Ok((hub, port))
}

/// Pairs the device folder `key` with our own hub, through a pairing code
/// made directly in the hub's database. Does nothing if already paired.
pub async fn pair_locally(
    station: &Station,
    hub: &Hub,
    key: &str,
    role: Role,
    name: &str,
) -> anyhow::Result<()> {
    let dir = device_dir(&station.data_dir, key);
    let cache = countertop_client::Cache::open(&dir)?;
    if cache.device()?.is_some() {
        let vault = countertop_client::TokenVault::for_folder(&dir);
        // The credential store may block on D-Bus.
        let token = tokio::task::spawn_blocking(move || vault.load()).await??;
        if token.is_some() {
            return Ok(());
        }
        // Its token is gone (a kernel keyring forgets at restart): this
        // computer's own hub pairs it again rather than refuse to start.
        tracing::warn!(
            device = key,
            "the device's token is gone; pairing it again with the hub here"
        );
        drop(cache);
        std::fs::remove_dir_all(&dir).with_context(|| format!("emptying {}", dir.display()))?;
    }
    let url = station.hub_url().context("the hub is not running")?;
    let code = hub
        .create_pairing_code(role, name)
        .await
        .context("creating a pairing code")?;
    countertop_client::pair(&url, &code.code, &dir, REQUEST_TIMEOUT)
        .await
        .with_context(|| format!("pairing the {name} device"))?;
    tracing::info!(
        device = key,
        role = role.as_str(),
        "paired with the local hub"
    );
    Ok(())
}

/// Pairs the device folder `key` with a remote hub: by a pairing link
/// (which pins the hub's key before the code is sent), else by the code
/// typed for the address typed.
pub async fn pair_remote(
    station: &Station,
    key: &str,
    hub: &str,
    code: &str,
) -> anyhow::Result<()> {
    let dir = device_dir(&station.data_dir, key);
    let (hub, code, fingerprint) = read_join(hub, code)?;
    if fingerprint.is_none() && hub.starts_with("https://") {
        // A typed code over TLS: SPAKE2 over the code, bound to the key the
        // handshake showed; the key is pinned only once both sides agree.
        let (paired, pinned) = countertop_client::pair_by_code(&hub, &code, REQUEST_TIMEOUT)
            .await
            .map_err(|e| match e {
                countertop_client::PakeError::NoHub => anyhow::anyhow!(join_error(
                    &hub,
                    &ClientError::Link(LinkError::Network(String::new()))
                )),
                other => anyhow::anyhow!("{}", sentence(&other.to_string())),
            })?;
        countertop_client::store_pairing(&dir, hub.trim_end_matches('/'), paired, Some(pinned))
            .await
            .context("keeping the new device's token")?;
        return Ok(());
    }
    countertop_client::pair_pinned(&hub, &code, fingerprint, &dir, REQUEST_TIMEOUT)
        .await
        .map_err(|e| anyhow::anyhow!(join_error(&hub, &e)))?;
    Ok(())
}

/// What the join screen was given: a pairing link (in either field), or an
/// address and a code.
fn read_join(hub: &str, code: &str) -> anyhow::Result<(String, String, Option<Fingerprint>)> {
    let link = [code, hub]
        .into_iter()
        .find(|text| text.trim_start().starts_with("countertop:"));
    if let Some(text) = link {
        let link = PairingLink::parse(text).map_err(anyhow::Error::msg)?;
        return Ok((link.hub, link.code, Some(link.fingerprint)));
    }
    let hub = hub.trim();
    // A bare address is the hub's secure one: a code typed for plain
    // http:// to another computer would cross the Wi-Fi readable.
    let hub = if hub.contains("://") {
        hub.to_owned()
    } else {
        format!("https://{hub}")
    };
    Ok((hub, code.trim().to_owned(), None))
}

/// `text` with a capital letter and a full stop, as the join screen shows it.
fn sentence(text: &str) -> String {
    let mut chars = text.chars();
    let mut out: String = chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default();
    if !out.ends_with('.') {
        out.push('.');
    }
    out
}

/// A join error said as the person at the new device can act on it.
fn join_error(hub: &str, e: &ClientError) -> String {
    match e {
        ClientError::Link(LinkError::Network(_) | LinkError::Timeout) => {
            format!("No hub answers at {hub}. Check the address on the manager's pairing screen, and that both computers are on the same network.")
        }
        ClientError::Link(LinkError::NotYourHub { .. }) => {
            format!("The computer at {hub} is not the hub of this pairing link (its key differs). Scan the code again from the manager's screen.")
        }
        ClientError::Link(LinkError::Hub { status: 426, .. }) => {
            "This hub takes pairing only over its secure address: use its https:// address (port 3443) with the code, or the pairing link or QR code from the manager's pairing screen.".to_owned()
        }
        ClientError::Link(LinkError::Hub { status: 429, .. }) => {
            "Too many wrong codes were tried: wait a minute, then ask the manager for a new code.".to_owned()
        }
        ClientError::Link(LinkError::Hub { body, .. }) if body.code == "code_expired" => {
            "This code has expired: codes last ten minutes. Ask the manager for a new one.".to_owned()
        }
        ClientError::Link(LinkError::Hub { status: 400 | 401 | 404, .. }) => {
            "This code is wrong or was used already. Ask the manager for a new one.".to_owned()
        }
        other => format!("Pairing with {hub} failed: {other}"),
    }
}

/// Opens the paired device `key` and starts its connection and forwarder.
pub async fn start_device<R: Runtime>(
    app: &AppHandle<R>,
    station: &Station,
    key: &str,
) -> anyhow::Result<RunningDevice> {
    let dir = device_dir(&station.data_dir, key);
    let cache = countertop_client::Cache::open(&dir)?;
    let info = cache.device()?.context("the device is not paired")?;
    let mut options = ConnectOptions::new(&dir);
    // A hosting instance's hub may have moved to another port since pairing.
    options.hub = station.hub_url();
    let desktop = matches!(info.role, Role::Barista | Role::Manager)
        .then(|| Arc::new(DesktopOutput::start("Countertop")));
    options.output = match &desktop {
        Some(output) => output.clone() as Arc<dyn AlertOutput>,
        None => Arc::new(SilentOutput),
    };
    let (handle, events) = countertop_client::connect(options)
        .await
        .context("opening the device")?;
    let device = RunningDevice {
        handle,
        role: info.role,
        name: info.name,
        hub: station.hub_url().unwrap_or(info.hub),
        data_dir: dir,
        sound: desktop.clone(),
    };
    station.add_device(app, key, device.clone(), events);
    crate::follow::start(app, station, key, &device);
    if let Some(output) = &desktop {
        crate::sound::forward(app, station, key, output);
    }
    Ok(device)
}

/// Starts the one device of a non-demo instance as `plan` says; returns
/// its key. Fails on a first run with nothing chosen.
pub async fn start_single<R: Runtime>(
    app: &AppHandle<R>,
    station: &Station,
    plan: Plan,
) -> anyhow::Result<String> {
    let previous = remembered(&station.data_dir);
    match plan {
        Plan::Demo { .. } => anyhow::bail!("the demo runs several devices"),
        Plan::Host { role, lan, port } => {
            let (remembered_role, remembered_port, remembered_lan, tls_port, served_lan) =
                match previous {
                    Some(Remembered::Host {
                        role,
                        port,
                        lan,
                        tls_port,
                        served_lan,
                    }) => (Some(role), port, lan, tls_port, served_lan),
                    _ => (None, DEFAULT_HUB_PORT, false, DEFAULT_TLS_PORT, false),
                };
            let role = role.or(remembered_role).unwrap_or(Role::Barista);
            let port = port.unwrap_or(remembered_port);
            let lan = lan.unwrap_or(remembered_lan);
            // The TLS port follows a port chosen with --port (3001 → 3443,
            // 4001 → 4443), so two instances on one machine do not collide.
            let tls_port = if port == remembered_port {
                tls_port
            } else {
                port.checked_add(DEFAULT_TLS_PORT - DEFAULT_HUB_PORT)
                    .with_context(|| {
                        format!(
                            "--port {port} leaves no room for the TLS port ({port} + {}): choose a port under {}",
                            DEFAULT_TLS_PORT - DEFAULT_HUB_PORT,
                            u16::MAX - (DEFAULT_TLS_PORT - DEFAULT_HUB_PORT)
                        )
                    })?
            };
            let listen = if lan {
                Listen::Lan {
                    port,
                    tls_port,
                    // Devices joined these ports before: keep them.
                    keep: served_lan && port == remembered_port,
                }
            } else {
                Listen::Local { port }
            };
            let (hub, port) = host_hub(station, listen).await?;
            let tls_port = station
                .hosting()
                .and_then(|h| h.tls_port)
                .unwrap_or(tls_port);
            let key = role.as_str();
            pair_locally(station, &hub, key, role, &format!("{} here", role.as_str())).await?;
            remember(
                &station.data_dir,
                &Remembered::Host {
                    role,
                    port,
                    lan,
                    tls_port,
                    served_lan: lan,
                },
            )?;
            start_device(app, station, key).await?;
            Ok(key.to_owned())
        }
        Plan::Join { hub, code } => {
            pair_remote(station, JOINED, &hub, &code).await?;
            remember(&station.data_dir, &Remembered::Join)?;
            start_device(app, station, JOINED).await?;
            Ok(JOINED.to_owned())
        }
        Plan::Remembered { role } => {
            match previous {
                Some(Remembered::Host { .. }) => {
                    let plan = Plan::Host {
                        role,
                        lan: None,
                        port: None,
                    };
                    Box::pin(start_single(app, station, plan)).await
                }
                Some(Remembered::Join) => {
                    if role.is_some() {
                        tracing::warn!("--role is ignored for a joined device: pair it again to change its role");
                    }
                    start_device(app, station, JOINED).await?;
                    Ok(JOINED.to_owned())
                }
                None => match role {
                    Some(role) => {
                        let plan = Plan::Host {
                            role: Some(role),
                            lan: None,
                            port: None,
                        };
                        Box::pin(start_single(app, station, plan)).await
                    }
                    None => anyhow::bail!("first run: nothing chosen yet"),
                },
            }
        }
    }
}

/// Pairs device `key` again with a new code after the hub revoked it: stops
/// it, empties its folder (token, cache and outbox belonged to the revoked
/// device) and pairs the folder anew.
pub async fn repair<R: Runtime>(
    app: &AppHandle<R>,
    station: &Station,
    key: &str,
    hub: &str,
    code: &str,
) -> anyhow::Result<RunningDevice> {
    station.forget_device(key);
    let dir = device_dir(&station.data_dir, key);
    let vault = countertop_client::TokenVault::for_folder(&dir);
    // The credential store may block on D-Bus.
    if let Ok(Err(e)) = tokio::task::spawn_blocking(move || vault.clear()).await {
        tracing::warn!(error = %e, "cannot remove the revoked token");
    }
    if dir.exists() {
        std::fs::remove_dir_all(&dir).with_context(|| format!("emptying {}", dir.display()))?;
    }
    pair_remote(station, key, hub, code).await?;
    if station.hub_url().is_none() {
        remember(&station.data_dir, &Remembered::Join)?;
    }
    tracing::info!(device = key, "paired again");
    start_device(app, station, key).await
}

/// The device folder of an instance that joined another hub.
const JOINED: &str = "joined";

/// Starts the demo: the hub with the demo café on a free port, and one
/// device of each of `screens` paired with it; returns their keys.
pub async fn start_demo<R: Runtime>(
    app: &AppHandle<R>,
    station: &Station,
    screens: &[Role],
) -> anyhow::Result<Vec<String>> {
    let (hub, _port) = host_hub(station, Listen::AnyLocal).await?;
    let mut keys = Vec::new();
    for &role in screens {
        let key = role.as_str();
        let name = match role {
            Role::Kiosk => "Demo kiosk",
            Role::Barista => "Demo barista",
            Role::Display => "Demo signature display",
            Role::Manager => "Demo manager",
        };
        pair_locally(station, &hub, key, role, name).await?;
        start_device(app, station, key).await?;
        keys.push(key.to_owned());
    }
    Ok(keys)
}
