//! The paired, unrevoked devices, kept in memory in step with the
//! `devices` table, and the tokens a refresh replaced.

use std::collections::HashMap;
use std::sync::RwLock;

use chrono::{DateTime, Utc};
use countertop_protocol::{Device, Role};

use super::DeviceError;
use crate::store;
use crate::Hub;

/// The longest device name.
pub const MAX_NAME_LEN: usize = 64;

/// A paired device as the hub keeps it in memory.
#[derive(Debug, Clone)]
pub struct DeviceRecord {
    pub id: String,
    pub role: Role,
    pub name: String,
    pub paired_at: DateTime<Utc>,
    pub last_seen_at: Option<DateTime<Utc>>,
}

/// Devices by id, and revoked tokens' expiry by `jti`, as read from the
/// database.
type Stored = (HashMap<String, DeviceRecord>, HashMap<String, i64>);

/// The paired, unrevoked devices, and the tokens replaced by a refresh.
#[derive(Default)]
pub struct Devices {
    by_id: RwLock<HashMap<String, DeviceRecord>>,
    /// `jti` → expiry (Unix seconds) of tokens that no longer count.
    revoked_tokens: RwLock<HashMap<String, i64>>,
    /// When a refused token last made this node read the devices again.
    synced_for_miss: std::sync::Mutex<Option<std::time::Instant>>,
    /// Bumped by every change this node makes to `by_id`, under its lock:
    /// a read of the database that a local change overtook is not applied
    /// (it would bring back a device just revoked, or drop one just paired).
    changes: std::sync::atomic::AtomicU64,
}

impl Devices {
    pub async fn load(pool: &crate::store::Db) -> Result<Devices, sqlx::Error> {
        let (by_id, revoked) = Self::read_stored(pool).await?;
        Ok(Devices {
            by_id: RwLock::new(by_id),
            revoked_tokens: RwLock::new(revoked),
            synced_for_miss: std::sync::Mutex::new(None),
            changes: std::sync::atomic::AtomicU64::new(0),
        })
    }

    /// Whether a token this node refuses may make it read the devices
    /// again: at most ten times a second, so a revoked device that keeps
    /// calling costs the database little.
    pub fn may_sync(&self) -> bool {
        let mut last = self
            .synced_for_miss
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let now = std::time::Instant::now();
        if last.is_some_and(|at| now.duration_since(at) < std::time::Duration::from_millis(100)) {
            return false;
        }
        *last = Some(now);
        true
    }

    /// The paired devices and the revoked tokens, as stored.
    async fn read_stored(pool: &crate::store::Db) -> Result<Stored, sqlx::Error> {
        let rows = store::devices::paired(pool).await?;
        let mut by_id = HashMap::new();
        for (id, role, name, paired_at, last_seen_at) in rows {
            let Some(role) = Role::parse(&role) else {
                continue;
            };
            let record = DeviceRecord {
                id: id.clone(),
                role,
                name,
                paired_at: store::parse_ts(&paired_at).unwrap_or_default(),
                last_seen_at: last_seen_at.as_deref().and_then(store::parse_ts),
            };
            by_id.insert(id, record);
        }
        let revoked = store::devices::revoked_tokens(pool, Utc::now().timestamp_millis()).await?;
        let revoked = revoked
            .into_iter()
            .map(|(jti, ms)| (jti, ms.div_euclid(1000)))
            .collect();
        Ok((by_id, revoked))
    }

    /// Brings memory in step with the database, which other nodes on it
    /// write too: devices they paired are added, revoked tokens taken in,
    /// and devices they revoked removed (answered, to close their
    /// connections here). `last_seen_at` stays as this node saw it.
    pub async fn sync(&self, pool: &crate::store::Db) -> Result<Vec<String>, sqlx::Error> {
        use std::sync::atomic::Ordering;
        // A local change between the read and its use: read again (a few
        // times; the next sync catches up otherwise).
        for _ in 0..3 {
            let before = self.changes.load(Ordering::Acquire);
            let (stored, revoked) = Self::read_stored(pool).await?;
            {
                // Tokens revoked only accumulate (until they expire): a
                // revocation made here meanwhile is kept.
                let now = Utc::now().timestamp();
                let mut known = write(&self.revoked_tokens);
                known.extend(revoked);
                known.retain(|_, exp| *exp >= now);
            }
            let mut by_id = write(&self.by_id);
            if self.changes.load(Ordering::Acquire) != before {
                continue;
            }
            return Ok(Self::apply(&mut by_id, stored));
        }
        Ok(Vec::new())
    }

    /// Makes `by_id` the `stored` devices, keeping what this node saw of
    /// each; answers the ids that are gone.
    fn apply(
        by_id: &mut HashMap<String, DeviceRecord>,
        stored: HashMap<String, DeviceRecord>,
    ) -> Vec<String> {
        let mut gone = Vec::new();
        {
            by_id.retain(|id, _| {
                let keep = stored.contains_key(id);
                if !keep {
                    gone.push(id.clone());
                }
                keep
            });
            for (id, record) in stored {
                by_id.entry(id).or_insert(record);
            }
        }
        gone
    }

    pub fn is_token_revoked(&self, jti: &str) -> bool {
        read(&self.revoked_tokens).contains_key(jti)
    }

    /// Records a replaced token (already in the database), forgetting those
    /// that have expired anyway.
    pub fn revoke_token(&self, jti: String, exp: i64) {
        let now = Utc::now().timestamp();
        let mut revoked = write(&self.revoked_tokens);
        revoked.retain(|_, e| *e >= now);
        revoked.insert(jti, exp);
    }

    pub fn get(&self, id: &str) -> Option<DeviceRecord> {
        read(&self.by_id).get(id).cloned()
    }

    pub fn insert(&self, record: DeviceRecord) {
        let mut by_id = write(&self.by_id);
        self.changed();
        by_id.insert(record.id.clone(), record);
    }

    pub fn remove(&self, id: &str) -> Option<DeviceRecord> {
        let mut by_id = write(&self.by_id);
        self.changed();
        by_id.remove(id)
    }

    /// Call with `by_id`'s write lock held.
    fn changed(&self) {
        self.changes
            .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
    }

    pub fn touch(&self, id: &str, at: DateTime<Utc>) {
        if let Some(d) = write(&self.by_id).get_mut(id) {
            d.last_seen_at = Some(at);
        }
    }

    pub fn list(&self) -> Vec<DeviceRecord> {
        let mut all: Vec<_> = read(&self.by_id).values().cloned().collect();
        all.sort_by(|a, b| a.paired_at.cmp(&b.paired_at).then(a.id.cmp(&b.id)));
        all
    }
}

fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

pub fn device_view(record: &DeviceRecord, connected: bool) -> Device {
    Device {
        id: record.id.clone(),
        role: record.role,
        name: record.name.clone(),
        paired_at: record.paired_at,
        last_seen_at: record.last_seen_at,
        connected,
    }
}

impl Hub {
    /// Reads the devices and revoked tokens other nodes on the database
    /// changed, and closes the connections of devices they revoked. A
    /// no-op on SQLite, where this hub alone writes them.
    pub(crate) async fn sync_devices(&self) -> Result<(), sqlx::Error> {
        if self.pool().pg().is_none() {
            return Ok(());
        }
        for id in self.devices.sync(self.pool()).await? {
            let closed = self.registry.revoke(&id);
            tracing::info!(device = %id, closed, "device revoked on another node");
        }
        Ok(())
    }

    /// Wakes the other nodes on a PostgreSQL database to read the devices
    /// again (`sync_devices`): after a pairing, a refresh or a revocation.
    pub(crate) async fn tell_nodes(&self) {
        let Some(pg) = self.pool().pg() else {
            return;
        };
        let told = sqlx::query("SELECT pg_notify($1, '')")
            .bind(crate::tail::DEVICES_CHANNEL)
            .execute(pg)
            .await;
        if let Err(e) = told {
            // They read again on their timer.
            tracing::warn!(error = %e, "telling the other nodes of a device change");
        }
    }

    /// Revokes device `id`: its token stops working at once and its open
    /// connections close.
    pub(crate) async fn revoke_device(&self, id: &str) -> Result<(), DeviceError> {
        let now = self.clock.now();
        let updated = store::devices::revoke(self.pool(), id, now).await?;
        // On PostgreSQL a read of the devices may have taken it out of
        // memory already, after this commit: the database says.
        let removed = self.devices.remove(id);
        if !updated || (removed.is_none() && self.pool().pg().is_none()) {
            return Err(DeviceError::NotFound(format!("no paired device \"{id}\"")));
        }
        let closed = self.registry.revoke(id);
        // Its tokens can no longer be refreshed through the previous secret
        // either (it is not paired any more, which is checked first).
        let mut conn = self.pool().acquire().await?;
        store::tokens::forget_device(&mut conn, id).await?;
        drop(conn);
        self.tell_nodes().await;
        tracing::info!(device = %id, closed, "device revoked");
        Ok(())
    }
}
