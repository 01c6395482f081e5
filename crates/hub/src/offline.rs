//! What the command line does to a data folder (and, for nodes on
//! PostgreSQL, to their database `database`), with or without a server
//! running on it: a pairing code, a new signing secret, a wiped event log.

use std::path::Path;

use countertop_protocol::{PairingCode, Role};

use crate::auth::{self, Keys};
use crate::db;
use crate::log::EventLog;
use crate::store;

/// A pairing code for a new device of `role`, named `name` (else after its
/// role), in the hub's data folder `dir`. Works while a server uses it.
pub async fn pairing_code(
    dir: &Path,
    database: Option<&str>,
    role: Role,
    name: Option<String>,
) -> anyhow::Result<PairingCode> {
    let pool = open_existing(dir, database).await?;
    let keys = Keys::load_or_create(dir)?;
    let name = name.unwrap_or_else(|| auth::default_name(role));
    Ok(auth::create_pairing_code(&pool, &keys, role, &name, chrono::Utc::now()).await?)
}

/// Replaces the signing secret of the hub in `dir`: every device is
/// revoked and every open pairing code cancelled. Answers how many devices
/// must pair again.
pub async fn new_secret(dir: &Path, database: Option<&str>) -> anyhow::Result<u64> {
    // A node's folder may have lost its secret: that is why this runs.
    let pool = match database {
        Some(url) => {
            db::check_node_folder(dir)?;
            db::open_postgres(url).await?
        }
        None => open_existing(dir, None).await?,
    };
    Keys::replace(dir)?;
    // Nodes on PostgreSQL record the secret's id at start: the next node
    // to start records the new one (copy the new secret.key to every node).
    crate::on_pool!(pool, |ex| sqlx::query(
        "DELETE FROM meta WHERE key = 'node_secret_id'"
    )
    .execute(ex)
    .await
    .map(|_| ()))?;
    let revoked = store::devices::revoke_all(&pool, chrono::Utc::now()).await?;
    store::devices::delete_all_codes(&pool).await?;
    pool.close().await;
    Ok(revoked)
}

/// Empties the event log of the hub in `dir` under a new epoch, which it
/// answers.
pub async fn wipe_events(dir: &Path, database: Option<&str>) -> anyhow::Result<String> {
    let pool = match database {
        None => {
            db::check_folder(dir)?;
            db::open(dir).await?
        }
        Some(url) => db::open_postgres(url).await?,
    };
    Ok(EventLog::wipe(&pool).await?)
}

/// Names a new epoch and keeps the events, after the database of the hub in
/// `dir` (or `database`) was restored from a dump: its log is behind what
/// the devices saw, so each reloads its state instead of trusting sequence
/// numbers the log will reach again. Stop every node first.
pub async fn renew_epoch(dir: &Path, database: Option<&str>) -> anyhow::Result<String> {
    let pool = open_existing(dir, database).await?;
    let epoch = EventLog::renew_epoch(&pool).await?;
    pool.close().await;
    Ok(epoch)
}

/// The database of the hub in `dir` (its SQLite file), or `database`; the
/// hub must have started once.
async fn open_existing(dir: &Path, database: Option<&str>) -> anyhow::Result<store::Db> {
    match database {
        None => {
            anyhow::ensure!(
                dir.join(db::DB_FILE).exists(),
                "no hub data in {}; start the hub once first (countertop-hub serve --data {})",
                dir.display(),
                dir.display()
            );
            db::check_folder(dir)?;
            db::open(dir).await
        }
        Some(url) => {
            anyhow::ensure!(
                dir.join(auth::SECRET_FILE).exists(),
                "no signing secret in {}; start the hub once first, or copy secret.key, tls.key \
                 and tls.crt from another node",
                dir.display()
            );
            db::check_node_folder(dir)?;
            db::open_postgres(url).await
        }
    }
}
