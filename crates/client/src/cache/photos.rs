//! The menu's photos kept for offline use: the hub's own JPEGs by the
//! address it serves them at (`/api/menu/{id}/photo/thumb?v={version}`),
//! in `photos.sqlite3` beside the cache. A file of its own, because a
//! photo is a copy that can always be fetched again: it is written without
//! waiting for the disk, and a lost or damaged file is simply started again.
//!
//! The store is bounded ([`PhotoStore::put_within`] refuses a photo that
//! would take it over its budget) and holds only what the menu names
//! ([`PhotoStore::retain`]); the address names the version, so a stored
//! photo never goes stale.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use rusqlite::{params, Connection, OptionalExtension};

use crate::error::CacheError;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS photos (
    address TEXT PRIMARY KEY,
    bytes BLOB NOT NULL,
    stored_at TEXT NOT NULL
);
";

/// A handle on the stored photos; clones share one connection.
#[derive(Clone)]
pub struct PhotoStore {
    conn: Arc<Mutex<Connection>>,
    path: PathBuf,
}

impl std::fmt::Debug for PhotoStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PhotoStore")
            .field("path", &self.path)
            .finish()
    }
}

impl PhotoStore {
    /// Opens (creating if needed) `photos.sqlite3` in `dir`. A file that
    /// cannot be read as one is removed and started again: it holds copies
    /// only.
    pub fn open(dir: &Path) -> Result<PhotoStore, CacheError> {
        std::fs::create_dir_all(dir).map_err(|source| CacheError::Folder {
            path: dir.to_owned(),
            source,
        })?;
        let path = dir.join("photos.sqlite3");
        let conn = match prepare(&path) {
            Ok(conn) => conn,
            Err(e) => {
                tracing::warn!(error = %e, path = %path.display(), "photo cache unreadable; starting it again");
                for stale in [
                    path.clone(),
                    path.with_extension("sqlite3-wal"),
                    path.with_extension("sqlite3-shm"),
                ] {
                    let _ = std::fs::remove_file(stale);
                }
                prepare(&path)?
            }
        };
        Ok(PhotoStore {
            conn: Arc::new(Mutex::new(conn)),
            path,
        })
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        // SQLite stays consistent after a panic (an open transaction rolls
        // back when dropped), so the poison is harmless.
        self.conn.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The photo stored at `address`, if any.
    pub fn get(&self, address: &str) -> Result<Option<Vec<u8>>, CacheError> {
        Ok(self
            .lock()
            .query_row(
                "SELECT bytes FROM photos WHERE address = ?1",
                [address],
                |r| r.get(0),
            )
            .optional()?)
    }

    pub fn contains(&self, address: &str) -> Result<bool, CacheError> {
        Ok(self
            .lock()
            .query_row("SELECT 1 FROM photos WHERE address = ?1", [address], |_| {
                Ok(())
            })
            .optional()?
            .is_some())
    }

    /// Stores `bytes` at `address` unless the store would then hold more
    /// than `budget` bytes; whether it was stored (or was there already).
    pub fn put_within(&self, address: &str, bytes: &[u8], budget: u64) -> Result<bool, CacheError> {
        let mut conn = self.lock();
        let tx = conn.transaction()?;
        let held: i64 = tx.query_row(
            "SELECT COALESCE(SUM(length(bytes)), 0) FROM photos WHERE address <> ?1",
            [address],
            |r| r.get(0),
        )?;
        let held = u64::try_from(held).unwrap_or(0);
        if held.saturating_add(bytes.len() as u64) > budget {
            return Ok(false);
        }
        tx.execute(
            "INSERT INTO photos (address, bytes, stored_at) VALUES (?1, ?2, ?3)
             ON CONFLICT (address) DO UPDATE SET bytes = excluded.bytes, stored_at = excluded.stored_at",
            params![address, bytes, chrono::Utc::now().to_rfc3339()],
        )?;
        tx.commit()?;
        Ok(true)
    }

    /// Removes every photo whose address is not in `wanted`; how many went.
    pub fn retain(&self, wanted: &HashSet<String>) -> Result<usize, CacheError> {
        let mut conn = self.lock();
        let tx = conn.transaction()?;
        let stored: Vec<String> = {
            let mut stmt = tx.prepare("SELECT address FROM photos")?;
            let rows = stmt.query_map([], |r| r.get(0))?;
            rows.collect::<Result<_, _>>()?
        };
        let mut removed = 0;
        for address in stored.iter().filter(|a| !wanted.contains(*a)) {
            removed += tx.execute("DELETE FROM photos WHERE address = ?1", [address])?;
        }
        tx.commit()?;
        Ok(removed)
    }

    /// How many bytes of photos are stored.
    pub fn total_bytes(&self) -> Result<u64, CacheError> {
        let held: i64 = self.lock().query_row(
            "SELECT COALESCE(SUM(length(bytes)), 0) FROM photos",
            [],
            |r| r.get(0),
        )?;
        Ok(u64::try_from(held).unwrap_or(0))
    }
}

fn prepare(path: &Path) -> Result<Connection, CacheError> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    // A photo lost to a power cut is fetched again.
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.execute_batch(SCHEMA)?;
    Ok(conn)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn photos_are_kept_by_address_within_a_budget_and_only_while_wanted() {
        let dir = tempfile::tempdir().unwrap();
        let store = PhotoStore::open(dir.path()).unwrap();
        let a = "/api/menu/latte/photo/thumb?v=aaaa";
        let b = "/api/menu/mocha/photo/thumb?v=bbbb";
        assert!(store.put_within(a, &[1; 600], 1000).unwrap());
        assert!(
            !store.put_within(b, &[2; 500], 1000).unwrap(),
            "over the budget"
        );
        assert!(store.get(b).unwrap().is_none());
        // The same address replaced counts once.
        assert!(store.put_within(a, &[3; 900], 1000).unwrap());
        assert_eq!(store.get(a).unwrap().unwrap(), vec![3; 900]);
        assert_eq!(store.total_bytes().unwrap(), 900);

        let wanted: HashSet<String> = [b.to_owned()].into();
        assert_eq!(store.retain(&wanted).unwrap(), 1);
        assert!(!store.contains(a).unwrap());
        assert!(store.put_within(b, &[2; 500], 1000).unwrap());

        // Kept across opening the file again.
        drop(store);
        let again = PhotoStore::open(dir.path()).unwrap();
        assert_eq!(again.get(b).unwrap().unwrap().len(), 500);
    }

    #[test]
    fn a_damaged_file_is_started_again() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("photos.sqlite3"),
            b"not a database at all, not at all",
        )
        .unwrap();
        let store = PhotoStore::open(dir.path()).unwrap();
        assert_eq!(store.total_bytes().unwrap(), 0);
        assert!(store.put_within("/x", &[1], 10).unwrap());
    }
}
