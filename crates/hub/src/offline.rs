//! What the command line does to a data folder, with or without a server
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
    role: Role,
    name: Option<String>,
) -> anyhow::Result<PairingCode> {
    anyhow::ensure!(
        dir.join(db::DB_FILE).exists(),
        "no hub data in {}; start the hub once first (countertop-hub serve --data {})",
        dir.display(),
        dir.display()
    );
    db::check_folder(dir)?;
    let keys = Keys::load_or_create(dir)?;
    let pool = db::open(dir).await?;
    let name = name.unwrap_or_else(|| auth::default_name(role));
    Ok(auth::create_pairing_code(&pool, &keys, role, &name, chrono::Utc::now()).await?)
}

/// Replaces the signing secret of the hub in `dir`: every device is
/// revoked and every open pairing code cancelled. Answers how many devices
/// must pair again.
pub async fn new_secret(dir: &Path) -> anyhow::Result<u64> {
    anyhow::ensure!(
        dir.join(db::DB_FILE).exists(),
        "no hub data in {}",
        dir.display()
    );
    Keys::replace(dir)?;
    db::check_folder(dir)?;
    let pool = db::open(dir).await?;
    let revoked = store::devices::revoke_all(&pool, chrono::Utc::now()).await?;
    store::devices::delete_all_codes(&pool).await?;
    pool.close().await;
    Ok(revoked)
}

/// Empties the event log of the hub in `dir` under a new epoch, which it
/// answers.
pub async fn wipe_events(dir: &Path) -> anyhow::Result<String> {
    db::check_folder(dir)?;
    let pool = db::open(dir).await?;
    Ok(EventLog::wipe(&pool).await?)
}
