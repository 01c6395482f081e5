//! How this instance starts: host the hub here (with the demo café in
//! `--demo`), join a hub with a pairing code, or ask on first run. The
//! choice is remembered in `launch.json` in the data folder.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use countertop_client::{AlertOutput, ConnectOptions, DesktopOutput, SilentOutput};
use countertop_hub::{Hub, HubConfig};
use countertop_protocol::Role;
use serde::{Deserialize, Serialize};
use tauri::{AppHandle, Runtime};

use crate::station::{RunningDevice, Station};

/// How long a pairing or other one-off hub call may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);

/// The hub port a hosting instance tries first (the protocol's default).
const DEFAULT_HUB_PORT: u16 = 3001;

/// What the command line asked for.
#[derive(Debug, Clone)]
pub enum Plan {
    /// Host a hub with the demo café and run one device of each role in
    /// `screens`, side by side (kiosk and barista by default).
    Demo { screens: Vec<Role> },
    /// Host the hub here and run one device of `role` (default: the
    /// remembered one, or barista).
    Host { role: Option<Role> },
    /// Pair with the hub at `hub` using `code`.
    Join { hub: String, code: String },
    /// Use what was chosen before, or ask (first run).
    Remembered { role: Option<Role> },
}

/// The first-run choice, kept in `launch.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "camelCase")]
pub enum Remembered {
    Host { role: Role, port: u16 },
    Join,
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

/// Starts the hub on all interfaces (so other devices on the LAN can join),
/// preferring `port`; returns the URL this instance's devices use.
pub async fn host_hub(station: &Station, port: Option<u16>) -> anyhow::Result<(Hub, u16)> {
    let config = HubConfig::new(station.data_dir.join("hub"));
    let hub = Hub::open(config).await.context("opening the hub")?;
    let mut listener = None;
    if let Some(port) = port {
        match tokio::net::TcpListener::bind(SocketAddr::from((Ipv4Addr::UNSPECIFIED, port))).await {
            Ok(l) => listener = Some(l),
            Err(e) => tracing::warn!(port, error = %e, "hub port taken; using a free one"),
        }
    }
    let listener = match listener {
        Some(l) => l,
        None => tokio::net::TcpListener::bind(SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0)))
            .await
            .context("binding the hub's port")?,
    };
    let port = listener.local_addr()?.port();
    let url = format!("http://127.0.0.1:{port}");
    tracing::info!(%url, "hosting the hub (reachable on this machine's LAN addresses too)");
    station.set_hub_url(&url);
    // Tools and tests find the running hub here (its port may change).
    let note = serde_json::json!({ "url": url, "port": port });
    if let Err(e) = std::fs::write(station.data_dir.join("hub.json"), note.to_string()) {
        tracing::warn!(error = %e, "cannot write hub.json");
    }
    let serving = hub.clone();
    tauri::async_runtime::spawn(async move {
        if let Err(e) = countertop_hub::serve(listener, serving, std::future::pending()).await {
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
        return Ok(());
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

/// Pairs the device folder `key` with a remote hub.
pub async fn pair_remote(
    station: &Station,
    key: &str,
    hub: &str,
    code: &str,
) -> anyhow::Result<()> {
    let dir = device_dir(&station.data_dir, key);
    countertop_client::pair(hub, code.trim(), &dir, REQUEST_TIMEOUT)
        .await
        .with_context(|| format!("pairing with {hub}"))?;
    Ok(())
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
        Plan::Host { role } => {
            let (role, port) = match (role, previous) {
                (Some(role), Some(Remembered::Host { port, .. })) => (role, port),
                (None, Some(Remembered::Host { role, port })) => (role, port),
                (Some(role), _) => (role, DEFAULT_HUB_PORT),
                (None, _) => (Role::Barista, DEFAULT_HUB_PORT),
            };
            let (hub, port) = host_hub(station, Some(port)).await?;
            let key = role.as_str();
            pair_locally(station, &hub, key, role, &format!("{} here", role.as_str())).await?;
            remember(&station.data_dir, &Remembered::Host { role, port })?;
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
                    Box::pin(start_single(app, station, Plan::Host { role })).await
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
                        Box::pin(start_single(app, station, Plan::Host { role: Some(role) })).await
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
    let (hub, _port) = host_hub(station, None).await?;
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
