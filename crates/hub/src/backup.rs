//! Backups of the database: online copies (`VACUUM INTO`, consistent while
//! the hub writes) every hour and every day into `backups/hourly` and
//! `backups/daily` of the data folder, the newest 24 and 14 kept, each also
//! copied to a second folder when one is set (a USB stick, a network
//! share); the command line's `backup` and `restore`; and the newest good
//! backup, named when the database is found damaged.
//!
//! The signing secret (`secret.key`) is not in the backups: a copy on a
//! stick would let whoever finds it forge device tokens. A database
//! restored beside its own secret needs nothing more; on a new disk, run
//! `new-secret` and pair the devices again.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Mutex;
use std::time::Duration;

use anyhow::Context;
use chrono::{DateTime, Local, Utc};
use countertop_protocol::{BackupState, NewNotification, NotificationLevel};
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sqlx::Connection;

use crate::db::DB_FILE;
use crate::Hub;

/// The backups' folder inside the data folder.
pub const BACKUP_DIR: &str = "backups";
const HOURLY: &str = "hourly";
const DAILY: &str = "daily";
const HOURLY_KEEP: usize = 24;
const DAILY_KEEP: usize = 14;
/// The file a running hub holds a lock on ([`RunLock`]).
const LOCK_FILE: &str = "hub.lock";

/// Where backups go, and how often the hub looks whether one is due.
#[derive(Debug, Clone)]
pub struct BackupConfig {
    /// A second folder each backup is copied to, if any.
    pub copy_to: Option<PathBuf>,
    pub check_interval: Duration,
    /// Off in tests that do not care, so that they do not write copies.
    pub enabled: bool,
}

impl Default for BackupConfig {
    fn default() -> BackupConfig {
        BackupConfig {
            copy_to: None,
            check_interval: Duration::from_secs(60),
            enabled: true,
        }
    }
}

/// What the hub knows of its backups, for the manager's screen.
#[derive(Debug, Default)]
pub struct Backups {
    state: Mutex<BackupState>,
}

impl Backups {
    /// The backups already in `data_dir`, the newest one as the last.
    pub fn load(data_dir: &Path, copy_to: Option<&Path>) -> Backups {
        let hourly = files(&data_dir.join(BACKUP_DIR).join(HOURLY));
        let daily = files(&data_dir.join(BACKUP_DIR).join(DAILY));
        let newest = hourly
            .iter()
            .chain(daily.iter())
            .filter_map(|p| Some((modified(p)?, p.clone())))
            .max();
        Backups {
            state: Mutex::new(BackupState {
                last_at: newest.as_ref().map(|(at, _)| *at),
                last_file: newest.map(|(_, p)| p.display().to_string()),
                last_error: None,
                hourly: hourly.len() as u32,
                daily: daily.len() as u32,
                copy_to: copy_to.map(|p| p.display().to_string()),
                copy_error: None,
            }),
        }
    }

    pub fn state(&self) -> BackupState {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn update(&self, change: impl FnOnce(&mut BackupState)) -> BackupState {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        change(&mut state);
        state.clone()
    }
}

/// The backup files of a folder, oldest first (their names sort by time).
fn files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("hub-") && n.ends_with(".db"))
        })
        .collect();
    files.sort();
    files
}

fn modified(path: &Path) -> Option<DateTime<Utc>> {
    std::fs::metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .map(DateTime::<Utc>::from)
}

/// Why a hub on PostgreSQL makes no backups of its own.
pub const ON_POSTGRES: &str =
    "this hub stores in PostgreSQL: back it up with pg_dump (docs/deploy.md), not the hub";

/// Copies the database the pool reads into `dest` (which must not exist),
/// consistent as of one moment, on disk before this returns. Answers its size.
pub async fn write_copy(conn: &mut SqliteConnection, dest: &Path) -> anyhow::Result<u64> {
    anyhow::ensure!(
        !dest.exists(),
        "{} exists already; name a new file",
        dest.display()
    );
    if let Some(parent) = dest.parent().filter(|p| !p.as_os_str().is_empty()) {
        crate::private::create_dir(parent)?;
    }
    let partial = dest.with_extension("partial");
    let _ = std::fs::remove_file(&partial);
    let target = partial
        .to_str()
        .context("the backup's path must be valid UTF-8")?;
    sqlx::query("VACUUM INTO ?")
        .bind(target)
        .execute(&mut *conn)
        .await
        .with_context(|| format!("copying the database into {}", partial.display()))?;
    let size = finish_file(&partial, dest)?;
    Ok(size)
}

/// Makes `partial` private and durable, then moves it to `dest`.
fn finish_file(partial: &Path, dest: &Path) -> anyhow::Result<u64> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(partial, std::fs::Permissions::from_mode(0o600))?;
    }
    let file = std::fs::File::open(partial)?;
    file.sync_all()?;
    let size = file.metadata()?.len();
    std::fs::rename(partial, dest)
        .with_context(|| format!("moving the backup to {}", dest.display()))?;
    sync_dir(dest.parent());
    Ok(size)
}

fn sync_dir(dir: Option<&Path>) {
    #[cfg(unix)]
    if let Some(dir) = dir.filter(|d| !d.as_os_str().is_empty()) {
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
    }
    #[cfg(not(unix))]
    let _ = dir;
}

/// Copies `from` into `dest` (a file in the second folder), durably.
fn copy_file(from: &Path, dest: &Path) -> anyhow::Result<()> {
    if dest.exists() {
        return Ok(());
    }
    if let Some(parent) = dest.parent() {
        crate::private::create_dir(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
    }
    let partial = dest.with_extension("partial");
    std::fs::copy(from, &partial).with_context(|| format!("writing {}", partial.display()))?;
    finish_file(&partial, dest)?;
    Ok(())
}

/// Deletes all but the newest `keep` backups of `dir`.
fn prune(dir: &Path, keep: usize) -> std::io::Result<()> {
    let all = files(dir);
    for old in &all[..all.len().saturating_sub(keep)] {
        std::fs::remove_file(old)?;
    }
    Ok(())
}

/// The hour's and the day's backup names at `now`, in the hub's time zone.
fn slot_names(now: DateTime<Utc>) -> (String, String) {
    let local = now.with_timezone(&Local);
    (
        format!("hub-{}.db", local.format("%Y-%m-%d-%H")),
        format!("hub-{}.db", local.format("%Y-%m-%d")),
    )
}

/// Makes the backups that are due: this hour's, and today's (a copy of
/// this hour's), then prunes and copies to the second folder.
pub(crate) async fn make_due(hub: &Hub) -> anyhow::Result<Option<PathBuf>> {
    let root = hub.config.data_dir.join(BACKUP_DIR);
    let (hour_name, day_name) = slot_names(hub.clock.now());
    let hourly = root.join(HOURLY).join(&hour_name);
    let daily = root.join(DAILY).join(&day_name);
    if hourly.exists() && daily.exists() {
        return Ok(None);
    }
    if !hourly.exists() {
        let pool = hub.pool().sqlite().context(ON_POSTGRES)?;
        let mut conn = pool.acquire().await?;
        write_copy(&mut conn, &hourly).await?;
    }
    if !daily.exists() {
        copy_file(&hourly, &daily)?;
    }
    prune(&root.join(HOURLY), HOURLY_KEEP)?;
    prune(&root.join(DAILY), DAILY_KEEP)?;
    Ok(Some(hourly))
}

/// Copies what the backup folder holds into the second folder, and prunes
/// it the same way.
fn copy_out(data_dir: &Path, copy_to: &Path) -> anyhow::Result<()> {
    for (kind, keep) in [(HOURLY, HOURLY_KEEP), (DAILY, DAILY_KEEP)] {
        let from = data_dir.join(BACKUP_DIR).join(kind);
        for file in files(&from) {
            let name = file.file_name().context("a backup has a name")?;
            copy_file(&file, &copy_to.join(kind).join(name))?;
        }
        prune(&copy_to.join(kind), keep)?;
    }
    Ok(())
}

/// Looks every `check_interval` whether a backup is due, and makes it. A
/// failure is kept for the manager's screen and told once as a notice,
/// until a backup succeeds again.
pub(crate) async fn run_periodically(hub: Hub) {
    let mut interval = tokio::time::interval(hub.config.backup.check_interval);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        interval.tick().await;
        let made = make_due(&hub).await;
        let data_dir = hub.config.data_dir.clone();
        let copy = hub.config.backup.copy_to.clone();
        let copied = match (&made, copy) {
            (Ok(Some(_)), Some(to)) => Some(
                tokio::task::spawn_blocking(move || copy_out(&data_dir, &to))
                    .await
                    .map_err(anyhow::Error::from)
                    .and_then(|r| r),
            ),
            _ => None,
        };
        let root = hub.config.data_dir.join(BACKUP_DIR);
        let (hourly, daily) = (
            files(&root.join(HOURLY)).len() as u32,
            files(&root.join(DAILY)).len() as u32,
        );
        let failed_before = hub.backups.state().last_error.is_some();
        let state = hub.backups.update(|s| {
            s.hourly = hourly;
            s.daily = daily;
            match &made {
                Ok(Some(file)) => {
                    s.last_at = Some(hub.clock.now());
                    s.last_file = Some(file.display().to_string());
                    s.last_error = None;
                }
                Ok(None) => {}
                Err(e) => s.last_error = Some(format!("{e:#}")),
            }
            if let Some(copied) = &copied {
                s.copy_error = copied.as_ref().err().map(|e| format!("{e:#}"));
            }
        });
        match (&made, failed_before) {
            (Ok(Some(file)), _) => tracing::info!(file = %file.display(), "backup made"),
            (Err(e), false) => {
                tracing::error!(error = %format!("{e:#}"), "backup failed");
                let message = format!(
                    "The hub could not back up its database: {}",
                    state.last_error.unwrap_or_default()
                );
                if let Err(e) = warn(&hub, "Backup failed", &message).await {
                    tracing::warn!(error = %e, "could not announce the failed backup");
                }
            }
            _ => {}
        }
        if let Some(Err(e)) = &copied {
            tracing::warn!(error = %format!("{e:#}"), "copying backups to the second folder failed");
        }
    }
}

/// A warning notice to the managers' and the counter's screens, sent as
/// a manager's notice is (its message made fit for one: one line, at most
/// 2,000 characters).
async fn warn(hub: &Hub, title: &str, message: &str) -> anyhow::Result<()> {
    let message: String = message
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(2000)
        .collect();
    crate::notices::send(
        hub,
        NewNotification {
            level: NotificationLevel::Warning,
            title: title.to_owned(),
            message,
        },
    )
    .await?;
    Ok(())
}

/// Opens a database file read-only (a backup, or one to restore).
async fn open_read_only(path: &Path) -> anyhow::Result<SqliteConnection> {
    let options = SqliteConnectOptions::from_str("sqlite://")?
        .filename(path)
        .read_only(true);
    SqliteConnection::connect_with(&options)
        .await
        .with_context(|| format!("opening {}", path.display()))
}

/// Whether `path` is a whole hub database: `quick_check` passes and it has
/// the hub's tables.
pub async fn check_file(path: &Path) -> anyhow::Result<()> {
    let mut conn = open_read_only(path).await?;
    let problems: Vec<String> = sqlx::query_scalar("PRAGMA quick_check(5)")
        .fetch_all(&mut conn)
        .await
        .with_context(|| format!("checking {}", path.display()))?;
    anyhow::ensure!(
        problems.first().map(String::as_str) == Some("ok"),
        "{} is damaged: {}",
        path.display(),
        problems.join("; ")
    );
    let tables: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name IN ('orders', 'events', 'meta')",
    )
    .fetch_one(&mut conn)
    .await?;
    anyhow::ensure!(
        tables == 3,
        "{} is not a Countertop hub's database",
        path.display()
    );
    conn.close().await?;
    Ok(())
}

/// The newest backup of `data_dir` that passes [`check_file`], if any.
pub async fn newest_good(data_dir: &Path) -> Option<PathBuf> {
    let root = data_dir.join(BACKUP_DIR);
    let mut all: Vec<(DateTime<Utc>, PathBuf)> = files(&root.join(HOURLY))
        .into_iter()
        .chain(files(&root.join(DAILY)))
        .filter_map(|p| Some((modified(&p)?, p)))
        .collect();
    all.sort();
    for (_, path) in all.into_iter().rev() {
        if check_file(&path).await.is_ok() {
            return Some(path);
        }
    }
    None
}

/// What to say when the database is damaged: the newest good backup and
/// the command that restores it, or that there is none.
pub async fn restore_advice(data_dir: &Path) -> String {
    match newest_good(data_dir).await {
        Some(good) => format!(
            "The newest good backup is {}. Restore it with: countertop-hub restore --from {} --data {}",
            good.display(),
            good.display(),
            data_dir.display()
        ),
        None => format!(
            "There is no good backup in {}. Restore {DB_FILE} from a copy of your own with \
             countertop-hub restore --from FILE --data {}",
            data_dir.join(BACKUP_DIR).display(),
            data_dir.display()
        ),
    }
}

/// Held while a hub runs on a data folder, on `hub.lock`. On SQLite it is
/// exclusive: one hub at a time, and no command that writes the database
/// (`restore`, `new-secret`, `wipe-events`, `renew-epoch`) beside it; it is
/// taken before the database is opened, so an upgrade runs alone. A node on
/// PostgreSQL holds it shared (its folder holds files only, which nodes on
/// one machine may share; `restore` still needs it alone).
#[derive(Debug)]
pub struct RunLock(std::sync::Mutex<Option<std::fs::File>>);

impl RunLock {
    /// The folder to itself; refused while a hub or another command holds
    /// it. `then` says what to do once it is free ("start this hub again").
    pub fn exclusive(data_dir: &Path, then: &str) -> anyhow::Result<RunLock> {
        Self::try_exclusive(data_dir)?.ok_or_else(|| {
            anyhow::anyhow!(
                "another program is using the data folder {} (a hub serving it, or a \
                 countertop-hub command working on it): stop it first, then {then}. Nothing \
                 was changed.",
                data_dir.display()
            )
        })
    }

    /// The folder to itself, or `None` while a hub or another command
    /// holds it.
    pub fn try_exclusive(data_dir: &Path) -> anyhow::Result<Option<RunLock>> {
        let file = lock_file(data_dir)?;
        match file.try_lock() {
            Ok(()) => Ok(Some(RunLock(std::sync::Mutex::new(Some(file))))),
            Err(std::fs::TryLockError::WouldBlock) => Ok(None),
            Err(std::fs::TryLockError::Error(e)) => Err(anyhow::anyhow!(
                "cannot lock {}: {e}",
                data_dir.join(LOCK_FILE).display()
            )),
        }
    }

    /// Shared with other nodes on PostgreSQL; refused during a `restore`.
    pub fn shared(data_dir: &Path) -> anyhow::Result<RunLock> {
        let file = lock_file(data_dir)?;
        match file.try_lock_shared() {
            Ok(()) => Ok(RunLock(std::sync::Mutex::new(Some(file)))),
            Err(e) => Err(anyhow::anyhow!(
                "{} is in use by another program, a hub on SQLite or a restore ({e}); start \
                 this node when it is done",
                data_dir.display()
            )),
        }
    }

    /// Lets the folder go before the last handle on the hub is dropped (a
    /// stopped hub's tasks may hold one a moment longer).
    pub fn release(&self) {
        drop(self.0.lock().unwrap_or_else(|e| e.into_inner()).take());
    }
}

fn lock_file(data_dir: &Path) -> anyhow::Result<std::fs::File> {
    let path = data_dir.join(LOCK_FILE);
    std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("opening {}", path.display()))
}

/// `countertop-hub backup --to FILE`: a consistent copy of the database,
/// also while the hub runs. Answers the copy's size.
pub async fn backup_to(data_dir: &Path, to: &Path) -> anyhow::Result<u64> {
    let db = data_dir.join(DB_FILE);
    anyhow::ensure!(db.exists(), "no hub database in {}", data_dir.display());
    let mut conn = open_read_only(&db).await?;
    let size = write_copy(&mut conn, to).await?;
    conn.close().await?;
    Ok(size)
}

/// What a restore did.
#[derive(Debug, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Restored {
    pub restored: String,
    /// Where the database it replaced was moved, if there was one.
    pub kept_aside: Option<String>,
    /// The event log's new epoch: devices load their state afresh.
    pub epoch: String,
}

/// `countertop-hub restore --from FILE`: the hub must be stopped. Checks
/// the file, moves the current database aside (never overwritten), puts
/// the copy in its place and starts a new epoch of the event log, so that
/// every device reloads instead of trusting sequence numbers the restored
/// log has not reached.
pub async fn restore_from(data_dir: &Path, from: &Path) -> anyhow::Result<Restored> {
    check_file(from).await?;
    anyhow::ensure!(
        data_dir.is_dir(),
        "{} is not a folder; name the hub's data folder with --data",
        data_dir.display()
    );
    let lock = lock_file(data_dir)?;
    lock.try_lock().map_err(|_| {
        anyhow::anyhow!(
            "a hub is running on {}: stop it first, then restore",
            data_dir.display()
        )
    })?;
    let db = data_dir.join(DB_FILE);
    let stamp = Local::now().format("%Y%m%d-%H%M%S");
    let kept_aside = if db.exists() {
        let aside = data_dir.join(format!("{DB_FILE}.before-restore-{stamp}"));
        anyhow::ensure!(!aside.exists(), "{} exists already", aside.display());
        std::fs::rename(&db, &aside)?;
        for suffix in ["-wal", "-shm"] {
            let side = data_dir.join(format!("{DB_FILE}{suffix}"));
            if side.exists() {
                std::fs::rename(
                    &side,
                    data_dir.join(format!("{DB_FILE}.before-restore-{stamp}{suffix}")),
                )?;
            }
        }
        Some(aside.display().to_string())
    } else {
        None
    };
    let partial = data_dir.join(format!("{DB_FILE}.partial"));
    let _ = std::fs::remove_file(&partial);
    std::fs::copy(from, &partial).with_context(|| format!("copying {}", from.display()))?;
    finish_file(&partial, &db)?;
    let pool = crate::db::open(data_dir).await?;
    let epoch = crate::log::EventLog::renew_epoch(&pool).await?;
    pool.close().await;
    drop(lock);
    Ok(Restored {
        restored: db.display().to_string(),
        kept_aside,
        epoch,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pruning_keeps_the_newest_by_name() {
        let dir = tempfile::tempdir().unwrap();
        for h in 0..30 {
            std::fs::write(dir.path().join(format!("hub-2026-12-03-{h:02}.db")), "x").unwrap();
        }
        std::fs::write(dir.path().join("notes.txt"), "kept").unwrap();
        prune(dir.path(), 24).unwrap();
        let left = files(dir.path());
        assert_eq!(left.len(), 24);
        assert!(left[0].ends_with("hub-2026-12-03-06.db"));
        assert!(dir.path().join("notes.txt").exists());
    }
}
