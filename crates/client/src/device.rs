//! A device is a data folder: its token, its cache and its outbox. These
//! are the entry points the app shell and the CLI use.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use countertop_protocol::{Paired, Role};
use tokio::sync::mpsc;

use crate::admin::HubApi;
use crate::alerts::{AlertOutput, AlertSettings, SilentOutput};
use crate::cache::{Cache, DeviceInfo, PhotoStore};
// The local-setting keys live with the cache's typed accessors; they are
// named here too for the callers that have always read them from here.
pub use crate::cache::{ALERT_SETTINGS_KEY, OFFLINE_ORDERING_KEY};
use crate::clock::{Clock, SystemClock};
use crate::connection::{spawn, ConnectionConfig, ConnectionHandle};
use crate::error::{CacheError, ClientError};
use crate::link::HttpHub;
use crate::photos::Photos;
use crate::pin::{Fingerprint, Trust};
use crate::policy::{Heartbeat, ReconnectPolicy};
use crate::state::CoreEvent;
use crate::token::{DeviceToken, TokenStore, TokenVault};

/// The name of one device's folder among the devices of one app instance
/// (`devices/{key}` in its data folder), such as `kiosk`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DeviceKey(String);

impl DeviceKey {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The device's folder inside the instance's data folder.
    pub fn folder(&self, data_dir: &Path) -> PathBuf {
        data_dir.join("devices").join(&self.0)
    }
}

impl From<String> for DeviceKey {
    fn from(key: String) -> DeviceKey {
        DeviceKey(key)
    }
}

impl From<&str> for DeviceKey {
    fn from(key: &str) -> DeviceKey {
        DeviceKey(key.to_owned())
    }
}

impl From<DeviceKey> for String {
    fn from(key: DeviceKey) -> String {
        key.0
    }
}

impl AsRef<str> for DeviceKey {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for DeviceKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The device's alert settings as kept in its cache, else its role's
/// defaults: the connection starts with them and the app shell reads them to
/// change one and keep the rest. [`Cache::alert_settings`] is the one place
/// they are decoded.
pub fn alert_settings(cache: &Cache, role: Role) -> Result<AlertSettings, CacheError> {
    cache.alert_settings(role)
}

/// How to open a device's connection.
#[derive(Clone)]
pub struct ConnectOptions {
    pub data_dir: PathBuf,
    /// The hub to use instead of the one the device was paired with.
    pub hub: Option<String>,
    pub policy: ReconnectPolicy,
    pub heartbeat: Heartbeat,
    pub request_timeout: Duration,
    pub outbox_retry: Duration,
    pub clock: Arc<dyn Clock>,
    pub output: Arc<dyn AlertOutput>,
    /// Overrides the stored alert settings (and the role's defaults).
    pub alerts: Option<AlertSettings>,
    /// Overrides the stored offline-ordering policy.
    pub offline_ordering: Option<bool>,
    pub jitter_seed: Option<u64>,
}

impl ConnectOptions {
    pub fn new(data_dir: &Path) -> ConnectOptions {
        ConnectOptions {
            data_dir: data_dir.to_owned(),
            hub: None,
            policy: ReconnectPolicy::default(),
            heartbeat: Heartbeat::default(),
            request_timeout: Duration::from_secs(15),
            outbox_retry: Duration::from_secs(2),
            clock: Arc::new(SystemClock),
            output: Arc::new(SilentOutput),
            alerts: None,
            offline_ordering: None,
            jitter_seed: None,
        }
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ClientError> {
    // Credential stores may block on D-Bus; keep them off the async threads.
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|_| ClientError::Stopped)
}

/// Tokens are refreshed when fewer than this many days remain.
const TOKEN_REFRESH_DAYS: i64 = 30;

/// Swaps the device token for a fresh one; the new token is used from the
/// next start (the old one stays valid until it runs out).
async fn refresh_token(link: HttpHub, cache: Cache, mut device: DeviceInfo, data_dir: PathBuf) {
    let paired = match link.refresh().await {
        Ok(paired) => paired,
        Err(e) => {
            tracing::warn!(error = %e, "cannot refresh the device token yet");
            return;
        }
    };
    let vault = TokenVault::for_folder(&data_dir);
    let token = DeviceToken::new(paired.token);
    match blocking(move || vault.save(&token)).await {
        Ok(Ok(_)) => {
            device.token_expires_at = Some(paired.expires_at);
            if let Err(e) = cache.update_device(&device) {
                tracing::warn!(error = %e, "cannot record the refreshed token's expiry");
            }
            tracing::info!("device token refreshed");
        }
        Ok(Err(e)) => tracing::warn!(error = %e, "cannot store the refreshed token"),
        Err(e) => tracing::warn!(error = %e, "cannot store the refreshed token"),
    }
}

/// Pairs the device of `data_dir` with `hub` using a one-time `code`, and
/// stores its token. Returns who the device now is and where the token went.
/// An `https://` hub needs the `fingerprint` of its key (from a pairing link
/// or QR code), which is pinned from then on.
pub async fn pair(
    hub: &str,
    code: &str,
    data_dir: &Path,
    request_timeout: Duration,
) -> Result<(DeviceInfo, TokenStore), ClientError> {
    pair_pinned(hub, code, None, data_dir, request_timeout).await
}

/// [`pair`], pinning `fingerprint` for an `https://` hub: the code is sent
/// only after the handshake showed that key.
pub async fn pair_pinned(
    hub: &str,
    code: &str,
    fingerprint: Option<Fingerprint>,
    data_dir: &Path,
    request_timeout: Duration,
) -> Result<(DeviceInfo, TokenStore), ClientError> {
    let link = HttpHub::pinned(hub, None, request_timeout, fingerprint.map(Trust::Pinned))?;
    let paired = link.pair(code).await?;
    let fingerprint = link.tls().and(fingerprint);
    store_pairing(data_dir, link.base(), paired, fingerprint).await
}

/// Keeps what pairing gave: the token in the vault, the device (and the
/// pinned key) in the cache.
pub async fn store_pairing(
    data_dir: &Path,
    hub: &str,
    paired: Paired,
    fingerprint: Option<Fingerprint>,
) -> Result<(DeviceInfo, TokenStore), ClientError> {
    let cache = Cache::open(data_dir)?;
    let vault = TokenVault::for_folder(data_dir);
    let token = DeviceToken::new(paired.token);
    let store = blocking(move || vault.save(&token)).await??;
    let device = DeviceInfo {
        device_id: paired.device_id,
        role: paired.role,
        name: paired.name,
        hub: hub.to_owned(),
        token_expires_at: Some(paired.expires_at),
        hub_fingerprint: fingerprint,
    };
    cache.set_device(&device)?;
    Ok((device, store))
}

/// Opens the device of `options.data_dir` and starts its connection. The
/// cache is readable through the handle at once, before the hub answers.
pub async fn connect(
    options: ConnectOptions,
) -> Result<(ConnectionHandle, mpsc::UnboundedReceiver<CoreEvent>), ClientError> {
    let cache = Cache::open(&options.data_dir)?;
    let device = cache.device()?.ok_or(ClientError::NotPaired)?;
    let vault = TokenVault::for_folder(&options.data_dir);
    let (token, _) = blocking(move || vault.load())
        .await??
        .ok_or(ClientError::NotPaired)?;
    let hub = options.hub.clone().unwrap_or_else(|| device.hub.clone());
    let trust = device.hub_fingerprint.map(Trust::Pinned);
    let link = HttpHub::pinned(&hub, Some(token), options.request_timeout, trust)?;
    let refresh_due = device
        .token_expires_at
        .is_some_and(|at| at - options.clock.now() < chrono::Duration::days(TOKEN_REFRESH_DAYS));
    if refresh_due {
        tokio::spawn(refresh_token(
            link.clone(),
            cache.clone(),
            device.clone(),
            options.data_dir.clone(),
        ));
    }
    let alerts = match options.alerts.clone() {
        Some(alerts) => alerts,
        None => alert_settings(&cache, device.role)?,
    };
    let offline_ordering = match options.offline_ordering {
        Some(on) => on,
        None => cache.offline_ordering()?,
    };
    let config = ConnectionConfig {
        role: device.role,
        policy: options.policy,
        heartbeat: options.heartbeat,
        alerts,
        offline_ordering,
        clock: options.clock,
        jitter_seed: options.jitter_seed,
        outbox_retry: options.outbox_retry,
    };
    let api = HubApi::new(link.clone(), device.role);
    let photos = Photos::new(PhotoStore::open(&options.data_dir)?, link.clone());
    let (handle, events) = spawn(Arc::new(link), cache.clone(), config, options.output);
    // The screens that show the menu's photos keep them for offline use;
    // the others read one only if asked.
    let events = if matches!(device.role, Role::Kiosk | Role::Manager) {
        photos.follow(cache, events)
    } else {
        events
    };
    Ok((handle.with_api(api).with_photos(photos), events))
}
