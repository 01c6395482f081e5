//! The menu's photos, kept for when the hub is out of reach: after a
//! snapshot, a `menu:updated` or `menu:deleted`, and each time the link
//! comes back, [`Photos`] fetches every thumbnail the cached menu names,
//! then the full photos, into the [`PhotoStore`], and drops the ones the
//! menu no longer names. A screen reads them through [`Photos::get`] (the
//! app serves them to its webview from there), which fetches a photo not
//! kept yet while the hub answers.
//!
//! Only the hub's own photos are taken: an address of the hub's shape
//! (`/api/menu/{id}/photo[/thumb]?v={version}`), answered `image/jpeg`,
//! starting as a JPEG does, of at most [`MAX_PHOTO_BYTES`]; the store holds
//! at most [`PHOTO_CACHE_BUDGET`] in all.

use std::collections::HashSet;
use std::sync::Arc;

use countertop_protocol::{Event, MenuItem};
use tokio::sync::{mpsc, watch, Notify};

use crate::cache::{Cache, PhotoStore};
use crate::error::{ClientError, LinkError};
use crate::link::HttpHub;
use crate::state::CoreEvent;

/// The largest photo kept (the hub's are at most 1024 px a side).
pub const MAX_PHOTO_BYTES: usize = 2 * 1024 * 1024;

/// The most the photo store holds, all photos together.
pub const PHOTO_CACHE_BUDGET: u64 = 64 * 1024 * 1024;

/// Whether `address` is one the hub serves a menu photo at:
/// `/api/menu/{id}/photo?v={version}` or `/api/menu/{id}/photo/thumb?v={version}`,
/// the id a path segment of `a-z A-Z 0-9 - _ .`, the version hexadecimal.
pub fn is_photo_address(address: &str) -> bool {
    let Some((path, version)) = address.split_once("?v=") else {
        return false;
    };
    let version_ok =
        (1..=64).contains(&version.len()) && version.bytes().all(|b| b.is_ascii_hexdigit());
    let Some(rest) = path.strip_prefix("/api/menu/") else {
        return false;
    };
    let id = rest
        .strip_suffix("/photo/thumb")
        .or_else(|| rest.strip_suffix("/photo"));
    let id_ok = id.is_some_and(|id| {
        (1..=200).contains(&id.len())
            && id != "."
            && id != ".."
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
    });
    version_ok && id_ok
}

/// The addresses of the menu's photos, in the order they are fetched:
/// every thumbnail (what the kiosk's grid shows) before any full photo.
pub fn addresses(menu: &[MenuItem]) -> Vec<String> {
    let photos: Vec<_> = menu.iter().filter_map(|m| m.photo.as_ref()).collect();
    photos
        .iter()
        .map(|p| p.thumb_url.clone())
        .chain(photos.iter().map(|p| p.url.clone()))
        .filter(|a| is_photo_address(a))
        .collect()
}

/// What one round of [`Photos::sync`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SyncReport {
    pub fetched: usize,
    /// Refused (not the hub's JPEG, too large, gone) or over the budget.
    pub skipped: usize,
    /// Dropped because the menu no longer names them.
    pub dropped: usize,
}

/// The photo store and the hub it fills from. Clones share both.
#[derive(Clone, Debug)]
pub struct Photos {
    store: PhotoStore,
    link: HttpHub,
    budget: u64,
    /// One round at a time.
    round: Arc<tokio::sync::Mutex<()>>,
    /// Counts finished rounds.
    rounds: Arc<watch::Sender<u64>>,
}

impl Photos {
    pub fn new(store: PhotoStore, link: HttpHub) -> Photos {
        Photos {
            store,
            link,
            budget: PHOTO_CACHE_BUDGET,
            round: Arc::new(tokio::sync::Mutex::new(())),
            rounds: Arc::new(watch::channel(0).0),
        }
    }

    /// The same, holding at most `budget` bytes.
    pub fn with_budget(mut self, budget: u64) -> Photos {
        self.budget = budget;
        self
    }

    pub fn store(&self) -> &PhotoStore {
        &self.store
    }

    /// Sees the count of finished rounds change (tests wait on it).
    pub fn rounds(&self) -> watch::Receiver<u64> {
        self.rounds.subscribe()
    }

    /// Keeps the photos `menu` names and only those: drops the others,
    /// fetches the missing ones, thumbnails first, as the budget allows.
    /// Stops at the first failure to reach the hub (the next round carries
    /// on); a photo the hub refuses or that is not its JPEG is skipped.
    pub async fn sync(&self, menu: &[MenuItem]) -> Result<SyncReport, ClientError> {
        let _round = self.round.lock().await;
        let result = self.sync_round(menu).await;
        self.rounds.send_modify(|n| *n += 1);
        result
    }

    async fn sync_round(&self, menu: &[MenuItem]) -> Result<SyncReport, ClientError> {
        let wanted = addresses(menu);
        let keep: HashSet<String> = wanted.iter().cloned().collect();
        let mut report = SyncReport {
            dropped: self.store.retain(&keep)?,
            ..SyncReport::default()
        };
        for address in &wanted {
            if self.store.contains(address)? {
                continue;
            }
            match self.link.photo(address, MAX_PHOTO_BYTES).await {
                Ok(bytes) => {
                    if self.store.put_within(address, &bytes, self.budget)? {
                        report.fetched += 1;
                    } else {
                        tracing::warn!(%address, "photo cache full; this photo is not kept");
                        report.skipped += 1;
                    }
                }
                Err(e @ (LinkError::Network(_) | LinkError::Timeout)) => return Err(e.into()),
                Err(e) => {
                    tracing::warn!(%address, error = %e, "photo not kept");
                    report.skipped += 1;
                }
            }
        }
        if report != SyncReport::default() {
            tracing::info!(
                fetched = report.fetched,
                skipped = report.skipped,
                dropped = report.dropped,
                "menu photos kept for offline use"
            );
        }
        Ok(report)
    }

    /// The photo at `address`: the kept copy, else fetched from the hub
    /// now (and kept, within the budget). `None` for an address not of the
    /// hub's photos, or a photo neither kept nor reachable.
    pub async fn get(&self, address: &str) -> Result<Option<Vec<u8>>, ClientError> {
        if !is_photo_address(address) {
            return Ok(None);
        }
        if let Some(bytes) = self.store.get(address)? {
            return Ok(Some(bytes));
        }
        match self.link.photo(address, MAX_PHOTO_BYTES).await {
            Ok(bytes) => {
                self.store.put_within(address, &bytes, self.budget)?;
                Ok(Some(bytes))
            }
            Err(e) => {
                tracing::debug!(%address, error = %e, "photo not available");
                Ok(None)
            }
        }
    }

    /// Passes `events` on unchanged and, in a task beside them, keeps the
    /// photos of `cache`'s menu: once at start, and after each event that
    /// can change them (a snapshot, `menu:updated`, `menu:deleted`, the link
    /// back). Both tasks end when the returned receiver is dropped.
    pub fn follow(
        &self,
        cache: Cache,
        mut events: mpsc::UnboundedReceiver<CoreEvent>,
    ) -> mpsc::UnboundedReceiver<CoreEvent> {
        let (forward, forwarded) = mpsc::unbounded_channel();
        let wake = Arc::new(Notify::new());
        // The first round: what the cached menu names already.
        wake.notify_one();
        let photos = self.clone();
        let woken = wake.clone();
        let rounds = tokio::spawn(async move {
            loop {
                woken.notified().await;
                let menu = match cache.menu() {
                    Ok(menu) => menu,
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot read the menu for its photos");
                        continue;
                    }
                };
                if let Err(e) = photos.sync(&menu).await {
                    tracing::debug!(error = %e, "menu photos wait for the hub");
                }
            }
        });
        tokio::spawn(async move {
            while let Some(event) = events.recv().await {
                if changes_photos(&event) {
                    // A permit is kept while a round runs: changes during
                    // it make one more round, not one each.
                    wake.notify_one();
                }
                if forward.send(event).is_err() {
                    break;
                }
            }
            rounds.abort();
        });
        forwarded
    }
}

/// Whether `event` may change which photos the menu names, or make the
/// missing ones reachable.
fn changes_photos(event: &CoreEvent) -> bool {
    match event {
        CoreEvent::State(status) => status.state.is_live(),
        CoreEvent::Snapshot { .. } => true,
        CoreEvent::Applied { event, .. } => {
            matches!(**event, Event::MenuUpdated(_) | Event::MenuDeleted(_))
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::is_photo_address;

    #[test]
    fn only_the_hubs_photo_addresses_are_taken() {
        for good in [
            "/api/menu/americano/photo?v=0a1b2c3d4e5f6789",
            "/api/menu/oat-latte/photo/thumb?v=ff",
            "/api/menu/item_2.b/photo?v=1",
        ] {
            assert!(is_photo_address(good), "{good}");
        }
        for bad in [
            "",
            "/api/menu/americano/photo",
            "/api/menu/americano/photo?v=",
            "/api/menu/americano/photo?v=xyz",
            "/api/menu/../photo?v=1",
            "/api/menu/a/b/photo?v=1",
            "/api/menu//photo?v=1",
            "/api/menu/a%2F/photo?v=1",
            "/api/menu/a/photo/full?v=1",
            "/api/snapshot?v=1",
            "http://elsewhere.example/api/menu/a/photo?v=1",
            "/api/menu/a/photo?v=1&token=x",
        ] {
            assert!(!is_photo_address(bad), "{bad}");
        }
    }
}
