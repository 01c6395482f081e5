//! A device is a data folder: its token, its cache and its outbox. These
//! are the entry points the app shell and the CLI use.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

use crate::admin::HubApi;
use crate::alerts::{AlertOutput, AlertSettings, SilentOutput};
use crate::cache::{Cache, DeviceInfo};
use crate::clock::{Clock, SystemClock};
use crate::connection::{spawn, ConnectionConfig, ConnectionHandle};
use crate::error::{CacheError, ClientError};
use crate::link::HttpHub;
use crate::policy::{Heartbeat, ReconnectPolicy};
use crate::state::CoreEvent;
use crate::token::{DeviceToken, TokenStore, TokenVault};

/// Local setting holding the device's [`AlertSettings`] as JSON.
pub const ALERT_SETTINGS_KEY: &str = "alerts";
/// Local setting: `"true"` lets a kiosk take orders while offline.
pub const OFFLINE_ORDERING_KEY: &str = "offline_ordering";

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
pub async fn pair(
    hub: &str,
    code: &str,
    data_dir: &Path,
    request_timeout: Duration,
) -> Result<(DeviceInfo, TokenStore), ClientError> {
    let link = HttpHub::new(hub, None, request_timeout)?;
    let paired = link.pair(code).await?;
    let cache = Cache::open(data_dir)?;
    let vault = TokenVault::for_folder(data_dir);
    let token = DeviceToken::new(paired.token);
    let store = blocking(move || vault.save(&token)).await??;
    let device = DeviceInfo {
        device_id: paired.device_id,
        role: paired.role,
        name: paired.name,
        hub: link.base().to_owned(),
        token_expires_at: Some(paired.expires_at),
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
    let link = HttpHub::new(&hub, Some(token), options.request_timeout)?;
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
        None => match cache.local_setting(ALERT_SETTINGS_KEY)? {
            Some(text) => serde_json::from_str(&text).map_err(CacheError::from)?,
            None => AlertSettings::for_role(device.role),
        },
    };
    let offline_ordering = match options.offline_ordering {
        Some(on) => on,
        None => cache.local_setting(OFFLINE_ORDERING_KEY)?.as_deref() == Some("true"),
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
    let (handle, events) = spawn(Arc::new(link), cache, config, options.output);
    Ok((handle.with_api(api), events))
}
