//! The open connections: for statistics, and to close a revoked device's
//! connections at once.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};

use tokio_util::sync::CancellationToken;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    WebSocket,
    Sse,
    SocketIo,
}

struct Entry {
    device_id: Option<String>,
    transport: Transport,
    topics: Vec<String>,
    revoke: CancellationToken,
    why: Arc<AtomicU8>,
}

/// Why a connection's `revoked` token was cancelled.
const REVOKED: u8 = 0;
const ROTATED: u8 = 1;
const DATABASE_LOST: u8 = 2;

/// The WebSocket close "try again later" (RFC 6455): this node cannot
/// serve now; a device moves to another node or comes back.
pub const CLOSE_TRY_AGAIN_LATER: u16 = 1013;

#[derive(Default)]
pub struct Registry {
    entries: Mutex<HashMap<u64, Entry>>,
    next_id: AtomicU64,
}

/// A registered connection; dropping it unregisters.
pub struct Registration {
    registry: Arc<Registry>,
    pub id: u64,
    /// Cancelled when the device is revoked, or when the signing secret is
    /// rotated (then [`Registration::closing`] says so).
    pub revoked: CancellationToken,
    why: Arc<AtomicU8>,
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.registry.lock().remove(&self.id);
    }
}

impl Registration {
    /// Why `revoked` was cancelled, as a WebSocket close: the device was
    /// revoked (4001), the signing secret was rotated (4002: refresh the
    /// token and connect again), or this node lost its database (1013: try
    /// again later, or another node).
    pub fn closing(&self) -> (u16, &'static str) {
        match self.why.load(Ordering::Acquire) {
            ROTATED => (
                countertop_protocol::CLOSE_SECRET_ROTATED,
                "signing secret rotated; refresh the token",
            ),
            DATABASE_LOST => (
                CLOSE_TRY_AGAIN_LATER,
                "this hub node cannot reach its database; try again or another node",
            ),
            _ => (countertop_protocol::CLOSE_REVOKED, "device revoked"),
        }
    }

    pub fn set_topics(&self, topics: Vec<String>) {
        if let Some(e) = self.registry.lock().get_mut(&self.id) {
            e.topics = topics;
        }
    }
}

impl Registry {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Entry>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn register(
        self: &Arc<Self>,
        device_id: Option<String>,
        transport: Transport,
    ) -> Registration {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        let revoke = CancellationToken::new();
        let why = Arc::new(AtomicU8::new(REVOKED));
        self.lock().insert(
            id,
            Entry {
                device_id,
                transport,
                topics: Vec::new(),
                revoke: revoke.clone(),
                why: why.clone(),
            },
        );
        Registration {
            registry: self.clone(),
            id,
            revoked: revoke,
            why,
        }
    }

    /// Closes every connection of `device_id`; returns how many.
    pub fn revoke(&self, device_id: &str) -> usize {
        let entries = self.lock();
        let mut n = 0;
        for e in entries
            .values()
            .filter(|e| e.device_id.as_deref() == Some(device_id))
        {
            e.revoke.cancel();
            n += 1;
        }
        n
    }

    /// Closes every device's connection (anonymous ones stay) after the
    /// signing secret was rotated; returns how many.
    pub fn secret_rotated(&self) -> usize {
        let entries = self.lock();
        let mut n = 0;
        for e in entries.values().filter(|e| e.device_id.is_some()) {
            e.why.store(ROTATED, Ordering::Release);
            e.revoke.cancel();
            n += 1;
        }
        n
    }

    /// Closes every connection (1013, try again later) of a node that
    /// cannot reach its database: nothing reaches them meanwhile, and a
    /// device that knows other nodes moves to one. Returns how many.
    pub fn database_lost(&self) -> usize {
        let entries = self.lock();
        for e in entries.values() {
            e.why.store(DATABASE_LOST, Ordering::Release);
            e.revoke.cancel();
        }
        entries.len()
    }

    pub fn count(&self, transport: Transport) -> u64 {
        self.lock()
            .values()
            .filter(|e| e.transport == transport)
            .count() as u64
    }

    pub fn connected_devices(&self) -> HashSet<String> {
        self.lock()
            .values()
            .filter_map(|e| e.device_id.clone())
            .collect()
    }

    /// Subscribers per topic, over every open connection.
    pub fn topic_counts(&self) -> BTreeMap<String, u64> {
        let mut counts = BTreeMap::new();
        for e in self.lock().values() {
            for t in &e.topics {
                *counts.entry(t.clone()).or_insert(0) += 1;
            }
        }
        counts
    }
}
