//! What the command line does to a data folder (and, for nodes on
//! PostgreSQL, to their database `database`), with or without a server
//! running on it: a pairing code, a new signing secret, a wiped event log.
//! On SQLite each takes the folder's run lock first; only `pairing-code`
//! works beside a hub that holds it.

use std::path::Path;

use countertop_protocol::{PairingCode, Role};

use crate::auth::{self, Keys};
use crate::backup::RunLock;
use crate::db;
use crate::log::EventLog;
use crate::store;

/// A pairing code for a new device of `role`, named `name` (else after its
/// role), in the hub's data folder `dir`. Works while a hub serves the
/// folder (then never upgrading its database).
pub async fn pairing_code(
    dir: &Path,
    database: Option<&str>,
    role: Role,
    name: Option<String>,
) -> anyhow::Result<PairingCode> {
    let (pool, hold) = open_existing(dir, database, None).await?;
    let made = async {
        let keys = Keys::load_or_create(dir)?;
        let name = name.unwrap_or_else(|| auth::default_name(role));
        Ok(auth::create_pairing_code(&pool, &keys, role, &name, chrono::Utc::now()).await?)
    }
    .await;
    pool.close().await;
    drop(hold);
    made
}

/// Replaces the signing secret of the hub in `dir`: every device is
/// revoked and every open pairing code cancelled. Answers how many devices
/// must pair again. On SQLite, refused while a hub runs on `dir`.
pub async fn new_secret(dir: &Path, database: Option<&str>) -> anyhow::Result<u64> {
    // A node's folder may have lost its secret: that is why this runs.
    let (pool, hold) = match database {
        Some(url) => {
            db::check_node_folder(dir)?;
            (db::open_postgres(url).await?, Hold::Node)
        }
        None => open_existing(dir, None, Some("run new-secret")).await?,
    };
    let revoked = async {
        Keys::replace(dir)?;
        // Nodes on PostgreSQL record the secret's id at start: the next
        // node to start records the new one (copy the new secret.key to
        // every node). A rotation made under the old secrets goes too: it
        // names secrets that no longer sign anything, sealed under one
        // that may have leaked.
        crate::on_pool!(pool, |ex| sqlx::query(
            "DELETE FROM meta WHERE key IN ('node_secret_id', 'secret_rotation')"
        )
        .execute(ex)
        .await
        .map(|_| ()))?;
        let revoked = store::devices::revoke_all(&pool, chrono::Utc::now()).await?;
        store::devices::delete_all_codes(&pool).await?;
        anyhow::Ok(revoked)
    }
    .await;
    pool.close().await;
    drop(hold);
    revoked
}

/// Empties the event log of the hub in `dir` under a new epoch, which it
/// answers. On SQLite, refused while a hub runs on `dir`.
pub async fn wipe_events(dir: &Path, database: Option<&str>) -> anyhow::Result<String> {
    let (pool, hold) = match database {
        None => {
            db::check_folder(dir)?;
            let lock = RunLock::exclusive(dir, "run wipe-events")?;
            (db::open(dir).await?, Hold::Alone(lock))
        }
        Some(url) => (db::open_postgres(url).await?, Hold::Node),
    };
    let epoch = EventLog::wipe(&pool).await;
    pool.close().await;
    drop(hold);
    Ok(epoch?)
}

/// Names a new epoch and keeps the events, after the database of the hub in
/// `dir` (or `database`) was restored from a dump: its log is behind what
/// the devices saw, so each reloads its state instead of trusting sequence
/// numbers the log will reach again. Stop every node first (on SQLite it is
/// refused while a hub runs on `dir`).
pub async fn renew_epoch(dir: &Path, database: Option<&str>) -> anyhow::Result<String> {
    let (pool, hold) = open_existing(dir, database, Some("run renew-epoch")).await?;
    let epoch = EventLog::renew_epoch(&pool).await;
    pool.close().await;
    drop(hold);
    Ok(epoch?)
}

/// What a command holds while it works on a hub's database; dropped after
/// the pool is closed.
enum Hold {
    /// The SQLite folder to itself: no hub runs on it.
    Alone(#[allow(dead_code)] RunLock),
    /// Beside the hub that runs on it (`pairing-code`).
    BesideHub(#[allow(dead_code)] db::BesideHub),
    /// A node's database on PostgreSQL: its own locks.
    Node,
}

/// The database of the hub in `dir` (its SQLite file), or `database`; the
/// hub must have started once. On SQLite the command takes the folder's
/// run lock (and may upgrade the database); while a hub holds it, a
/// command with `alone` ("run new-secret": what to do once it is free) is
/// refused, one without works beside the hub.
async fn open_existing(
    dir: &Path,
    database: Option<&str>,
    alone: Option<&str>,
) -> anyhow::Result<(store::Db, Hold)> {
    match database {
        None => {
            anyhow::ensure!(
                dir.join(db::DB_FILE).exists(),
                "no hub data in {}; start the hub once first (countertop-hub serve --data {})",
                dir.display(),
                dir.display()
            );
            db::check_folder(dir)?;
            match alone {
                Some(then) => {
                    let lock = RunLock::exclusive(dir, then)?;
                    Ok((db::open(dir).await?, Hold::Alone(lock)))
                }
                None => match RunLock::try_exclusive(dir)? {
                    Some(lock) => Ok((db::open(dir).await?, Hold::Alone(lock))),
                    None => {
                        let (pool, beside) = db::open_beside_hub(dir).await?;
                        Ok((pool, Hold::BesideHub(beside)))
                    }
                },
            }
        }
        Some(url) => {
            anyhow::ensure!(
                dir.join(auth::SECRET_FILE).exists(),
                "no signing secret in {}; start the hub once first, or copy secret.key, tls.key \
                 and tls.crt from another node",
                dir.display()
            );
            db::check_node_folder(dir)?;
            Ok((db::open_postgres(url).await?, Hold::Node))
        }
    }
}
