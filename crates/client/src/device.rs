//! A device is a data folder: its token, its cache and its outbox. These
//! are the entry points the app shell and the CLI use.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use countertop_protocol::{Paired, Role};
use tokio::sync::{mpsc, watch};

use crate::admin::HubApi;
use crate::alerts::{AlertOutput, AlertSettings, SilentOutput};
use crate::cache::{Cache, DeviceInfo, PhotoStore};
// The local-setting keys live with the cache's typed accessors; they are
// named here too for the callers that have always read them from here.
pub use crate::cache::{ALERT_SETTINGS_KEY, OFFLINE_ORDERING_KEY};
use crate::clock::{Clock, SystemClock};
use crate::connection::{spawn, ConnectionConfig, ConnectionHandle};
use crate::error::{CacheError, ClientError};
use crate::link::{HttpHub, HubLink};
use crate::photos::Photos;
use crate::pin::{Fingerprint, Trust};
use crate::policy::{Heartbeat, ReconnectPolicy};
use crate::state::{ConnectionState, CoreEvent, Status};
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
    /// Hub nodes to use (after `hub`, if set) instead of the ones the device
    /// knows: the connection moves to the next when one is unreachable.
    pub hubs: Vec<String>,
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
            hubs: Vec::new(),
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

/// Tokens are refreshed when fewer than this many days remain (the hub's
/// last 30): about every ten days, so a device that is off for a while
/// still comes back with a live token.
const TOKEN_REFRESH_DAYS: i64 = 20;
/// A token with more than this many days left is from before tokens lasted
/// 30 days (a year-long one): it is swapped at once.
const TOKEN_LONGEST_DAYS: i64 = 31;
/// How often a running device looks at its token's expiry.
const TOKEN_CHECK_EVERY: Duration = Duration::from_secs(6 * 3600);
/// How soon it tries again after a refresh that failed (hub unreachable).
const TOKEN_RETRY_AFTER: Duration = Duration::from_secs(5 * 60);

/// Whether a token running out at `expires_at` is due for a refresh at
/// `now` (one of unknown expiry is).
fn refresh_due(
    expires_at: Option<countertop_protocol::Timestamp>,
    now: countertop_protocol::Timestamp,
) -> bool {
    expires_at.is_none_or(|at| {
        let left = at - now;
        left < chrono::Duration::days(TOKEN_REFRESH_DAYS)
            || left > chrono::Duration::days(TOKEN_LONGEST_DAYS)
    })
}

/// Refreshes the device token while the connection runs: at start and
/// every [`TOKEN_CHECK_EVERY`], when [`refresh_due`]. The link swaps the
/// new token in at once; [`keep_tokens`] stores it.
async fn keep_token_fresh(
    link: HttpHub,
    clock: Arc<dyn Clock>,
    mut status: watch::Receiver<Status>,
) {
    loop {
        let mut wait = TOKEN_CHECK_EVERY;
        if refresh_due(link.token_expires_at(), clock.now()) {
            if let Err(e) = link.renew().await {
                tracing::warn!(error = %e, "cannot refresh the device token yet");
                wait = TOKEN_RETRY_AFTER;
            }
        }
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            _ = status.wait_for(|s| s.state == ConnectionState::Stopped) => return,
        }
    }
}

/// Keeps every token the link renews: in the vault, its expiry in the
/// cache, so the next start uses it. Ends with the link.
async fn keep_tokens(
    mut renewed: mpsc::UnboundedReceiver<Paired>,
    cache: Cache,
    data_dir: PathBuf,
) {
    while let Some(paired) = renewed.recv().await {
        let vault = TokenVault::for_folder(&data_dir);
        let token = DeviceToken::new(paired.token);
        match blocking(move || vault.save(&token)).await {
            Ok(Ok(_)) => {
                let device = cache.device().ok().flatten();
                if let Some(mut device) = device {
                    device.token_expires_at = Some(paired.expires_at);
                    // A refresh names the café's nodes as they are now; one
                    // that names none (a node not told them) changes nothing.
                    let hubs = named_hubs(&paired.hubs);
                    if !hubs.is_empty() {
                        device.hubs = hubs;
                    }
                    if let Err(e) = cache.update_device(&device) {
                        tracing::warn!(error = %e, "cannot record the refreshed token's expiry");
                    }
                }
                tracing::info!("refreshed device token stored");
            }
            Ok(Err(e)) => {
                tracing::error!(error = %e, "cannot store the refreshed token: the next start will need pairing again")
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot store the refreshed token: the next start will need pairing again")
            }
        }
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

/// Moves the device of `data_dir` to its hub's new address `hub`, without
/// pairing again: the hub there must accept the device's token (and, over
/// TLS, show the pinned key), so it is the same hub. Returns the device as
/// now kept; the caller restarts its connection.
pub async fn move_hub(
    data_dir: &Path,
    hub: &str,
    request_timeout: Duration,
) -> Result<DeviceInfo, ClientError> {
    let cache = Cache::open(data_dir)?;
    let mut device = cache.device()?.ok_or(ClientError::NotPaired)?;
    let vault = TokenVault::for_folder(data_dir);
    let (token, _) = blocking(move || vault.load())
        .await??
        .ok_or(ClientError::NotPaired)?;
    let trust = device.hub_fingerprint.map(Trust::Pinned);
    let link = HttpHub::pinned(hub, Some(token), request_timeout, trust)?;
    // A 401 there (the secret was rotated meanwhile) refreshes the token,
    // and the hub then holds the old one replaced: keep the new one.
    let mut renewed = link.renewals();
    link.snapshot().await?;
    if let Ok(paired) = renewed.try_recv() {
        let vault = TokenVault::for_folder(data_dir);
        let token = DeviceToken::new(paired.token);
        blocking(move || vault.save(&token)).await??;
        device.token_expires_at = Some(paired.expires_at);
    }
    device.hub = link.base().to_owned();
    cache.update_device(&device)?;
    Ok(device)
}

/// The hub nodes a pairing or refresh answer names, as a device keeps them:
/// `http(s)://` addresses of at most [`crate::link::MAX_NODE_URL_CHARS`],
/// each once, at most [`crate::link::MAX_NODES`]. Anything else is left out
/// (logged). Whether a token may go to each is checked when connecting.
fn named_hubs(hubs: &[String]) -> Vec<String> {
    use crate::link::{MAX_NODES, MAX_NODE_URL_CHARS};
    let mut kept: Vec<String> = Vec::new();
    for hub in hubs {
        let hub = hub.trim().trim_end_matches('/');
        let fits = hub.len() <= MAX_NODE_URL_CHARS
            && reqwest::Url::parse(hub).is_ok_and(|url| {
                matches!(url.scheme(), "http" | "https") && url.host_str().is_some()
            });
        if !fits {
            tracing::warn!(
                address = %hub.chars().take(80).collect::<String>(),
                "the hub named a node address that is not http(s); left out"
            );
        } else if kept.len() == MAX_NODES {
            tracing::warn!("the hub named more than {MAX_NODES} nodes; the rest are left out");
            break;
        } else if !kept.iter().any(|k| k == hub) {
            kept.push(hub.to_owned());
        }
    }
    kept
}

/// Keeps what pairing gave: the token in the vault, the device (and the
/// pinned key, and the café's hub nodes) in the cache.
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
        hubs: named_hubs(&paired.hubs),
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
    // The nodes given, else the hub paired with and every node it named.
    let given: Vec<String> = options.hub.iter().chain(&options.hubs).cloned().collect();
    let nodes = if given.is_empty() {
        std::iter::once(device.hub.clone())
            .chain(device.hubs.iter().cloned())
            .collect()
    } else {
        given
    };
    let trust = device.hub_fingerprint.map(Trust::Pinned);
    let link = HttpHub::nodes(&nodes, Some(token), options.request_timeout, trust)?;
    link.set_token_expiry(device.token_expires_at);
    tokio::spawn(keep_tokens(
        link.renewals(),
        cache.clone(),
        options.data_dir.clone(),
    ));
    let clock = options.clock.clone();
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
    let (handle, events) = spawn(
        Arc::new(link.clone()),
        cache.clone(),
        config,
        options.output,
    );
    tokio::spawn(keep_token_fresh(link, clock, handle.watch_status()));
    // The screens that show the menu's photos keep them for offline use;
    // the others read one only if asked.
    let events = if matches!(device.role, Role::Kiosk | Role::Manager) {
        photos.follow(cache, events)
    } else {
        events
    };
    Ok((handle.with_api(api).with_photos(photos), events))
}

#[cfg(test)]
mod tests {
    use super::named_hubs;

    #[test]
    fn a_hubs_named_nodes_are_kept_bounded_checked_and_once() {
        let named =
            |list: &[&str]| named_hubs(&list.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(
            named(&[
                "https://10.0.0.1:3443/",
                " https://10.0.0.2:3443",
                "https://10.0.0.1:3443",
                "ftp://10.0.0.3",
                "not an address",
                "http://127.0.0.1:3001",
            ]),
            [
                "https://10.0.0.1:3443",
                "https://10.0.0.2:3443",
                "http://127.0.0.1:3001"
            ]
        );
        let long = format!("https://{}.lan", "a".repeat(300));
        assert!(named(&[&long]).is_empty());
        let many: Vec<String> = (0..40)
            .map(|i| format!("https://10.0.0.{i}:3443"))
            .collect();
        let kept = named_hubs(&many);
        assert_eq!(kept.len(), crate::link::MAX_NODES);
        assert_eq!(kept, many[..crate::link::MAX_NODES]);
    }
}
