//! The database: opening SQLite (WAL, migrations) or PostgreSQL (several
//! nodes on one server), and the demo café.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use crate::store::Db;
use chrono::{DateTime, Utc};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

/// The database file inside the data folder.
pub const DB_FILE: &str = "hub.db";

/// Makes the data folder private (0700) and checks that it is whole before
/// anything is opened: a folder that holds a hub (its `secret.key`) must
/// have a database with data, a database with data must have its secret,
/// and the secret must be readable by its owner only. Each refusal says what
/// to do. Creates the folder if it does not exist.
pub fn check_folder(data_dir: &Path) -> anyhow::Result<()> {
    use anyhow::{bail, Context};
    create_private_dir(data_dir)
        .with_context(|| format!("creating the data folder {}", data_dir.display()))?;
    let dir = data_dir.display();
    let secret = data_dir.join(crate::auth::SECRET_FILE);
    let db = data_dir.join(DB_FILE);
    let db_len = match std::fs::metadata(&db) {
        Ok(m) => Some(m.len()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e).with_context(|| format!("reading {}", db.display())),
    };
    let has_secret = secret.exists();
    if has_secret && db_len.unwrap_or(0) == 0 {
        bail!(
            "{dir} holds a hub (its secret.key is there) but its database {DB_FILE} is {}. \
             Restore {DB_FILE} from a backup. To start this hub afresh instead, move the folder \
             away and start again (every device will have to pair again).",
            if db_len.is_some() { "empty" } else { "missing" }
        );
    }
    if !has_secret && db_len.is_some_and(|n| n > 0) {
        bail!(
            "{}/{} is missing, but {DB_FILE} holds a hub: every device's token was signed with it. \
             Restore secret.key from a backup; or run `countertop-hub new-secret --data {dir}` \
             to make a new one (every device will have to pair again).",
            dir,
            crate::auth::SECRET_FILE
        );
    }
    if has_secret {
        check_private(&secret, data_dir)?;
    }
    for name in [DB_FILE, "hub.db-wal", "hub.db-shm"] {
        make_private(&data_dir.join(name))?;
    }
    Ok(())
}

/// The data folder of a node whose database is PostgreSQL: it holds the
/// signing secret and the TLS identity only (the same files on every node),
/// private (0700, the secret 0600).
pub fn check_node_folder(data_dir: &Path) -> anyhow::Result<()> {
    use anyhow::Context;
    create_private_dir(data_dir)
        .with_context(|| format!("creating the data folder {}", data_dir.display()))?;
    let secret = data_dir.join(crate::auth::SECRET_FILE);
    if secret.exists() {
        check_private(&secret, data_dir)?;
    }
    Ok(())
}

/// A node whose folder has no `secret.key` on a database that holds a hub
/// (its secret's id is recorded) must not make a new one: every device's
/// token was signed with the other nodes' secret.
pub async fn check_node_secret(db: &Db, data_dir: &Path) -> anyhow::Result<()> {
    if data_dir.join(crate::auth::SECRET_FILE).exists() {
        return Ok(());
    }
    let recorded: Option<String> = crate::on_pool!(db, |ex| sqlx::query_scalar(
        "SELECT value FROM meta WHERE key = 'node_secret_id'"
    )
    .fetch_optional(ex)
    .await)?;
    anyhow::ensure!(
        recorded.is_none(),
        "{}/{} is missing, but the database holds a hub: every device's token was signed with \
         its secret. Copy secret.key (and secret.key.prev), tls.key and tls.crt from another \
         node's data folder; or run `countertop-hub new-secret --data {} --database …` to make a \
         new one (every device will have to pair again).",
        data_dir.display(),
        crate::auth::SECRET_FILE,
        data_dir.display()
    );
    Ok(())
}

/// Nodes on one PostgreSQL database must share their signing secret (a
/// token signed by one is checked by another) and their TLS identity (a
/// device pins one fingerprint). The first node to start records both, as
/// a keyed hash of a fixed label (`secret_id`) and the fingerprint; a node
/// with other files refuses to start and says which to copy.
pub async fn check_same_identity(
    db: &Db,
    secret_id: &str,
    fingerprint: &str,
) -> anyhow::Result<()> {
    crate::on_pool!(db, |ex| sqlx::query(
        "INSERT INTO meta (key, value) VALUES ('node_secret_id', $1), ('node_tls_fingerprint', $2)
         ON CONFLICT (key) DO NOTHING"
    )
    .bind(secret_id)
    .bind(fingerprint)
    .execute(ex)
    .await
    .map(|_| ()))?;
    let rows: Vec<(String, String)> = crate::on_pool!(db, |ex| sqlx::query_as(
        "SELECT key, value FROM meta WHERE key IN ('node_secret_id', 'node_tls_fingerprint')"
    )
    .fetch_all(ex)
    .await)?;
    for (key, value) in rows {
        let (mine, files) = if key == "node_secret_id" {
            (
                secret_id,
                "secret.key (and secret.key.prev, if there is one)",
            )
        } else {
            (fingerprint, "tls.key and tls.crt")
        };
        anyhow::ensure!(
            value == mine,
            "this node's {files} differ from those of the other nodes on this database: every \
             node must have the same. Copy them from the first node's data folder into this \
             one's, then start again (docs/deploy.md)"
        );
    }
    Ok(())
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    crate::private::create_dir(dir)?;
    let mode = std::fs::metadata(dir)?.permissions().mode();
    if mode & 0o077 != 0 {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
        tracing::info!(folder = %dir.display(), "made the data folder private (0700)");
    }
    Ok(())
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    crate::private::create_dir(dir)
}

/// Gives a file of the hub's owner-only access (0600), if it exists.
#[cfg(unix)]
fn make_private(path: &Path) -> anyhow::Result<()> {
    use anyhow::Context;
    use std::os::unix::fs::PermissionsExt;
    let mode = match std::fs::metadata(path) {
        Ok(m) => m.permissions().mode(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    if mode & 0o077 != 0 {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
            .with_context(|| format!("making {} private", path.display()))?;
        tracing::info!(file = %path.display(), "made a data file private (0600)");
    }
    Ok(())
}

#[cfg(not(unix))]
fn make_private(_path: &Path) -> anyhow::Result<()> {
    Ok(())
}

#[cfg(unix)]
fn check_private(secret: &Path, data_dir: &Path) -> anyhow::Result<()> {
    use anyhow::Context;
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(secret)
        .with_context(|| format!("reading {}", secret.display()))?
        .permissions()
        .mode();
    anyhow::ensure!(
        mode & 0o077 == 0,
        "{} can be read or changed by other users (mode {:o}): anyone who read it can forge \
         device tokens. Run `chmod 600 {}`; if others may have read it, also run \
         `countertop-hub new-secret --data {}` and pair every device again.",
        secret.display(),
        mode & 0o777,
        secret.display(),
        data_dir.display()
    );
    Ok(())
}

#[cfg(not(unix))]
fn check_private(_secret: &Path, _data_dir: &Path) -> anyhow::Result<()> {
    Ok(())
}

/// Creates an empty database file readable by its owner only, so that
/// SQLite's `-wal` and `-shm` files, which take its mode, are private too.
#[cfg(unix)]
fn create_private_file(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

#[cfg(not(unix))]
fn create_private_file(_path: &Path) -> std::io::Result<()> {
    Ok(())
}

/// `FULL` unless `COUNTERTOP_SQLITE_SYNCHRONOUS=normal` asks otherwise:
/// `countertop-commit-cost` measures what FULL costs that way.
fn synchronous() -> anyhow::Result<SqliteSynchronous> {
    match std::env::var("COUNTERTOP_SQLITE_SYNCHRONOUS").as_deref() {
        Err(_) | Ok("full") => Ok(SqliteSynchronous::Full),
        Ok("normal") => {
            tracing::warn!(
                "COUNTERTOP_SQLITE_SYNCHRONOUS=normal: a power cut may lose confirmed orders"
            );
            Ok(SqliteSynchronous::Normal)
        }
        Ok(other) => {
            anyhow::bail!("COUNTERTOP_SQLITE_SYNCHRONOUS must be full or normal, not {other:?}")
        }
    }
}

/// The hub's SQLite migrations (`./migrations`), built into the binary.
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// The side file a pending upgrade migrates before it takes `hub.db`'s place.
const UPGRADE_FILE: &str = "hub.db.upgrading";

/// How the hub opens its SQLite file (`hub.db`, or the copy an upgrade
/// migrates).
fn sqlite_options(path: &Path) -> anyhow::Result<SqliteConnectOptions> {
    Ok(SqliteConnectOptions::from_str("sqlite://")?
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        // FULL: a commit is on disk (the WAL synced) before the hub answers,
        // so a power cut cannot lose an order a kiosk was told of.
        // BENCHMARKS.md has its cost, measured against NORMAL through
        // COUNTERTOP_SQLITE_SYNCHRONOUS (for that measurement only).
        .synchronous(synchronous()?)
        .busy_timeout(Duration::from_secs(10))
        .foreign_keys(true))
}

/// Opens `hub.db` in `data_dir`, creating it (0600), in WAL mode; refuses a
/// damaged database (`PRAGMA quick_check`) and one made by a newer release
/// (a migration this binary does not know); brings an older one up to date
/// on a copy ([`upgrade`]), so a migration that fails leaves `hub.db` as it
/// was. Call [`check_folder`] first, and hold the folder's run lock
/// (`backup::RunLock::exclusive`): an upgrade must run alone.
pub async fn open(data_dir: &Path) -> anyhow::Result<Db> {
    open_with(data_dir, true).await
}

/// Held while a command works on the database of a hub that runs
/// ([`open_beside_hub`]): a shared `flock` on `hub.db` itself, which an
/// upgrade needs alone. Close the pool before dropping it (closing this
/// file would drop the process's SQLite locks on `hub.db` otherwise).
#[derive(Debug)]
pub struct BesideHub(#[allow(dead_code)] Option<std::fs::File>);

/// Opens the database of the hub that runs on `data_dir` (it holds the run
/// lock), for `pairing-code`: never upgrades it (a database this release
/// would upgrade is refused), and never while an upgrade runs.
pub async fn open_beside_hub(data_dir: &Path) -> anyhow::Result<(Db, BesideHub)> {
    let path = data_dir.join(DB_FILE);
    let guard = share_database(&path)?;
    let pool = open_with(data_dir, false).await?;
    Ok((pool, guard))
}

#[cfg(unix)]
fn share_database(path: &Path) -> anyhow::Result<BesideHub> {
    use anyhow::Context;
    use std::os::unix::fs::MetadataExt;
    let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let upgrading = || {
        anyhow::anyhow!(
            "the hub is upgrading its database {}: try again once it has started",
            path.display()
        )
    };
    match file.try_lock_shared() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => return Err(upgrading()),
        Err(std::fs::TryLockError::Error(e)) => {
            return Err(e).with_context(|| format!("locking {}", path.display()))
        }
    }
    // The file locked must still be hub.db: an upgrade may have put
    // another in its place since it was opened.
    let (ours, now) = (file.metadata()?, std::fs::metadata(path)?);
    if (ours.dev(), ours.ino()) != (now.dev(), now.ino()) {
        return Err(upgrading());
    }
    Ok(BesideHub(Some(file)))
}

#[cfg(not(unix))]
fn share_database(path: &Path) -> anyhow::Result<BesideHub> {
    anyhow::ensure!(path.exists(), "no hub database at {}", path.display());
    Ok(BesideHub(None))
}

/// `hub.db` to an upgrade alone: an exclusive `flock` (independent of
/// SQLite's own `fcntl` locks), refused while a command holds
/// [`BesideHub`]. Held until the upgraded copy is in its place.
#[cfg(unix)]
fn take_database(path: &Path) -> anyhow::Result<Option<std::fs::File>> {
    use anyhow::Context;
    let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    match file.try_lock() {
        Ok(()) => Ok(Some(file)),
        Err(std::fs::TryLockError::WouldBlock) => Err(in_use(path)),
        Err(std::fs::TryLockError::Error(e)) => {
            Err(e).with_context(|| format!("locking {}", path.display()))
        }
    }
}

#[cfg(not(unix))]
fn take_database(_path: &Path) -> anyhow::Result<Option<std::fs::File>> {
    Ok(None)
}

/// The refusal of an upgrade while another program has `hub.db` open.
fn in_use(path: &Path) -> anyhow::Error {
    anyhow::anyhow!(
        "another program has {} open: stop it first (another hub, or a countertop-hub \
         command), then start this hub again; nothing was changed",
        path.display()
    )
}

async fn open_with(data_dir: &Path, may_upgrade: bool) -> anyhow::Result<Db> {
    use anyhow::Context;
    use sqlx::Connection;
    let path = data_dir.join(DB_FILE);
    create_private_file(&path).with_context(|| format!("creating {}", path.display()))?;
    // One connection looks first (sqlx's `SqliteConnection::close` returns
    // once SQLite has closed the file, so a refusal leaves no `-wal`
    // behind; a pool's connections may close a moment after `close`).
    let mut conn = match sqlx::SqliteConnection::connect_with(&sqlite_options(&path)?).await {
        Ok(conn) => conn,
        // SQLITE_CORRUPT (11) and SQLITE_NOTADB (26): damaged at the first read.
        Err(sqlx::Error::Database(e)) if matches!(e.code().as_deref(), Some("11" | "26")) => {
            anyhow::bail!(
                "the database {} is damaged ({e}); the hub will not start on it. {}",
                path.display(),
                crate::backup::restore_advice(data_dir).await
            )
        }
        Err(e) => {
            return Err(e).with_context(|| format!("opening the database {}", path.display()))
        }
    };
    let problems: Result<Vec<String>, _> = sqlx::query_scalar("PRAGMA quick_check(5)")
        .fetch_all(&mut conn)
        .await;
    let problem = match problems {
        Ok(found) if found.first().map(String::as_str) == Some("ok") => None,
        Ok(found) => Some(found.join("; ")),
        Err(e) => Some(e.to_string()),
    };
    if let Some(detail) = problem {
        let _ = conn.close().await;
        anyhow::bail!(
            "the database {} is damaged ({detail}); the hub will not start on it. {}",
            path.display(),
            crate::backup::restore_advice(data_dir).await
        );
    }
    for name in ["hub.db-wal", "hub.db-shm"] {
        make_private(&data_dir.join(name))?;
    }
    let state = match migration_state(&mut conn).await {
        Ok(state) => state,
        Err(e) => {
            let _ = conn.close().await;
            return Err(e)
                .with_context(|| format!("reading the migrations applied to {}", path.display()));
        }
    };
    match state {
        Migrations::Newer(unknown) => {
            let _ = conn.close().await;
            anyhow::bail!("{}", newer_release(&path.display().to_string(), &unknown));
        }
        Migrations::Pending(pending) if !may_upgrade => {
            let _ = conn.close().await;
            anyhow::bail!(
                "the database {} is to be upgraded to countertop-hub {} (migration {}), and an \
                 older hub runs on {}: stop it and start this release's hub, which upgrades \
                 it. Nothing was changed.",
                path.display(),
                env!("CARGO_PKG_VERSION"),
                pending
                    .iter()
                    .map(|v| migration_name(*v))
                    .collect::<Vec<_>>()
                    .join(", "),
                data_dir.display()
            );
        }
        Migrations::Pending(pending) => upgrade(data_dir, conn, &pending).await?,
        Migrations::Fresh | Migrations::Current => conn.close().await?,
    }
    let pool = SqlitePoolOptions::new()
        .max_connections(8)
        .connect_with(sqlite_options(&path)?)
        .await
        .with_context(|| format!("opening the database {}", path.display()))?;
    // A new database gets its tables here; a current one has its applied
    // migrations checked against this release's (nothing to apply).
    if let Err(e) = MIGRATOR.run(&pool).await {
        pool.close().await;
        return Err(e).with_context(|| format!("migrating the database {}", path.display()));
    }
    Ok(Db::Sqlite(pool))
}

/// What a database's `_sqlx_migrations` holds, against this release's
/// migrations.
#[derive(Debug)]
enum Migrations {
    /// No tables at all: a database made a moment ago.
    Fresh,
    /// Every migration of this release applied, and no other.
    Current,
    /// An older release's: these of this release's migrations are to run.
    Pending(Vec<i64>),
    /// Migrations this release does not know: a newer release's database.
    Newer(Vec<i64>),
}

async fn migration_state(conn: &mut sqlx::SqliteConnection) -> Result<Migrations, sqlx::Error> {
    let tables: Vec<String> =
        sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'table'")
            .fetch_all(&mut *conn)
            .await?;
    if tables.is_empty() {
        return Ok(Migrations::Fresh);
    }
    let applied: Vec<i64> = if tables.iter().any(|t| t == "_sqlx_migrations") {
        sqlx::query_scalar("SELECT version FROM _sqlx_migrations ORDER BY version")
            .fetch_all(&mut *conn)
            .await?
    } else {
        Vec::new()
    };
    let known: Vec<i64> = MIGRATOR
        .iter()
        .filter(|m| !m.migration_type.is_down_migration())
        .map(|m| m.version)
        .collect();
    let unknown: Vec<i64> = applied
        .iter()
        .copied()
        .filter(|v| !known.contains(v))
        .collect();
    if !unknown.is_empty() {
        return Ok(Migrations::Newer(unknown));
    }
    let pending: Vec<i64> = known.into_iter().filter(|v| !applied.contains(v)).collect();
    Ok(if pending.is_empty() {
        Migrations::Current
    } else {
        Migrations::Pending(pending)
    })
}

/// The refusal of a database that holds migrations this release lacks.
fn newer_release(what: &str, unknown: &[i64]) -> String {
    let list: Vec<String> = unknown.iter().map(|v| format!("{v:04}")).collect();
    format!(
        "the database {what} was made by a newer Countertop (it has migration {} that \
         countertop-hub {} does not know). The hub will not start on it, and nothing was \
         changed. Install that version or restore a backup.",
        list.join(", "),
        env!("CARGO_PKG_VERSION")
    )
}

/// Migration `version`'s name, as its file has it (`0010_issued_tokens`).
fn migration_name(version: i64) -> String {
    match MIGRATOR.iter().find(|m| m.version == version) {
        Some(m) => format!("{version:04}_{}", m.description.replace(' ', "_")),
        None => format!("{version:04}"),
    }
}

/// Brings the database of an older release up to date without ever leaving
/// it half-migrated (sqlx runs each migration in a transaction of its own):
/// the WAL is checkpointed and every connection closed, `hub.db` copied to
/// [`UPGRADE_FILE`], the copy migrated and synced, the original kept as
/// `hub.db.before-upgrade-STAMP` (a hard link: no second copy on disk),
/// and only then the copy renamed over `hub.db` (the folder synced). When a
/// migration fails, the copy is deleted and `hub.db` is as it was, and the
/// error names the migration, its error, the file and that nothing changed.
async fn upgrade(
    data_dir: &Path,
    mut conn: sqlx::SqliteConnection,
    pending: &[i64],
) -> anyhow::Result<()> {
    use anyhow::Context;
    use sqlx::Connection;
    let path = data_dir.join(DB_FILE);
    let copy = data_dir.join(UPGRADE_FILE);
    let side = |file: &Path, suffix: &str| {
        let mut name = file.as_os_str().to_owned();
        name.push(suffix);
        std::path::PathBuf::from(name)
    };
    let remove_copy = || {
        for file in [copy.clone(), side(&copy, "-wal"), side(&copy, "-shm")] {
            match std::fs::remove_file(&file) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => tracing::warn!(file = %file.display(), error = %e, "cannot remove"),
            }
        }
    };
    let names: Vec<String> = pending.iter().map(|v| migration_name(*v)).collect();
    tracing::info!(database = %path.display(), migrations = %names.join(", "), "upgrading the database on a copy");
    // Everything into hub.db itself, then no connection left: the last one
    // to close deletes the WAL. A WAL that stays (even empty) means another
    // process has the database open. The caller holds the folder's run
    // lock (no other hub, no other upgrade); a command working beside a
    // hub holds a shared flock on hub.db, which this one needs alone.
    let checkpoint = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
        .execute(&mut conn)
        .await;
    let closed = conn.close().await;
    checkpoint.with_context(|| format!("checkpointing {} before its upgrade", path.display()))?;
    closed.with_context(|| format!("closing {} before its upgrade", path.display()))?;
    let _alone = take_database(&path)?;
    let wal = side(&path, "-wal");
    if wal.exists() {
        return Err(in_use(&path));
    }
    let before = std::fs::metadata(&path)?;
    remove_copy();
    std::fs::copy(&path, &copy).with_context(|| {
        format!(
            "copying {} to {} to upgrade it (is the disk full?); nothing was changed",
            path.display(),
            copy.display()
        )
    })?;
    let migrated = migrate_copy(&copy).await;
    if let Err((version, e)) = migrated {
        remove_copy();
        let which = match version {
            Some(v) => format!("migration {}", migration_name(v)),
            None => "its migrations".to_owned(),
        };
        anyhow::bail!(
            "the database {} cannot be upgraded to countertop-hub {}: {which} failed: {e}. \
             Nothing was changed: {} is as it was and the hub did not start. Go back to the \
             release you had (it still opens it) or restore a backup, and report this message.",
            path.display(),
            env!("CARGO_PKG_VERSION"),
            path.display()
        );
    }
    let synced = std::fs::File::open(&copy).and_then(|f| f.sync_all());
    // The original must not have changed while the copy was migrated.
    let now = std::fs::metadata(&path)?;
    if wal.exists() {
        remove_copy();
        return Err(in_use(&path));
    }
    if synced.is_err() || now.len() != before.len() || now.modified().ok() != before.modified().ok()
    {
        remove_copy();
        anyhow::bail!(
            "{} changed while its upgrade ran, or its upgraded copy could not be synced; \
             nothing was changed. Stop any other program using {}, then start this hub again.",
            path.display(),
            data_dir.display()
        );
    }
    let kept = match keep_original(data_dir, &path) {
        Ok(kept) => kept,
        Err(e) => {
            remove_copy();
            anyhow::bail!(
                "cannot keep {} beside it before upgrading it ({e}); nothing was changed",
                path.display()
            );
        }
    };
    // The old file's shared-memory index, if one was left: the new file
    // builds its own.
    let _ = std::fs::remove_file(side(&path, "-shm"));
    std::fs::rename(&copy, &path).with_context(|| {
        format!(
            "putting the upgraded copy {} in place of {} (the database before the upgrade is \
             {})",
            copy.display(),
            path.display(),
            kept.display()
        )
    })?;
    if let Ok(folder) = std::fs::File::open(data_dir) {
        folder
            .sync_all()
            .with_context(|| format!("syncing {}", data_dir.display()))?;
    }
    tracing::info!(
        database = %path.display(),
        before_upgrade = %kept.display(),
        migrations = %names.join(", "),
        "database upgraded; the database as it was is kept beside it"
    );
    Ok(())
}

/// Keeps `hub.db` as it was under a name of its own, a hard link
/// `hub.db.before-upgrade-STAMP` (`-2`, `-3`… after the stamp if that name
/// is taken: a hub that died after keeping one may start again within the
/// same second). Answers the name.
fn keep_original(data_dir: &Path, path: &Path) -> std::io::Result<std::path::PathBuf> {
    let stamp = chrono::Local::now().format("%Y%m%d-%H%M%S");
    for n in 1..=100 {
        let name = match n {
            1 => format!("{DB_FILE}.before-upgrade-{stamp}"),
            n => format!("{DB_FILE}.before-upgrade-{stamp}-{n}"),
        };
        let kept = data_dir.join(name);
        match std::fs::hard_link(path, &kept) {
            Ok(()) => return Ok(kept),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(std::io::Error::other(format!(
        "a hundred files named {DB_FILE}.before-upgrade-{stamp}… are there already"
    )))
}

/// Runs every pending migration on the copy `copy` and leaves it closed,
/// checkpointed, with no WAL. On failure: the migration that failed (if
/// known) and the error.
async fn migrate_copy(copy: &Path) -> Result<(), (Option<i64>, String)> {
    use sqlx::migrate::MigrateError;
    use sqlx::Connection;
    let options = sqlite_options(copy).map_err(|e| (None, format!("{e:#}")))?;
    let mut conn = sqlx::SqliteConnection::connect_with(&options)
        .await
        .map_err(|e| (None, e.to_string()))?;
    let run = MIGRATOR.run(&mut conn).await;
    let checkpoint = match &run {
        Ok(()) => sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&mut conn)
            .await
            .map(|_| ()),
        Err(_) => Ok(()),
    };
    let closed = conn.close().await;
    match run {
        Ok(()) => checkpoint
            .and(closed)
            .map_err(|e| (None, format!("checkpointing the copy: {e}"))),
        Err(MigrateError::ExecuteMigration(e, version)) => Err((Some(version), e.to_string())),
        Err(e) => Err((None, e.to_string())),
    }
}

/// What a PostgreSQL URL names, without its password: for messages and logs.
pub fn describe_postgres(url: &str) -> String {
    match sqlx::postgres::PgConnectOptions::from_str(url) {
        Ok(o) => format!(
            "PostgreSQL database {} on {}:{} as {}",
            o.get_database().unwrap_or("(default)"),
            o.get_host(),
            o.get_port(),
            o.get_username()
        ),
        Err(_) => "PostgreSQL (an unreadable URL)".to_owned(),
    }
}

/// Connects to the PostgreSQL database `url` (`postgres://user:pass@host/db`)
/// and runs its migrations (`migrations-postgres/`, under PostgreSQL's
/// advisory lock: nodes starting at once take turns).
///
/// Each connection gives up on a lock after 10 s and ends a transaction left
/// idle for 10 s, so a node cut off mid-write cannot hold the log's head row
/// (and with it every other node's writes) for longer.
pub async fn open_postgres(url: &str) -> anyhow::Result<Db> {
    use anyhow::Context;
    use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
    let what = describe_postgres(url);
    let options = PgConnectOptions::from_str(url)
        .map_err(|e| anyhow::anyhow!("--database: not a PostgreSQL URL ({e}); write postgres://user:password@host:5432/database"))?
        .application_name("countertop-hub")
        .options([
            ("lock_timeout", "10s"),
            ("idle_in_transaction_session_timeout", "10s"),
        ]);
    let pool = PgPoolOptions::new()
        .max_connections(pg_pool_size())
        // A node cut off from PostgreSQL answers 503 within this.
        .acquire_timeout(Duration::from_secs(5))
        .connect_with(options)
        .await
        .with_context(|| format!("connecting to the {what}"))?;
    // Each migration runs in a transaction of its own (PostgreSQL's DDL is
    // transactional): a failure leaves the earlier ones applied, the failed
    // one not at all. A database with a migration this release lacks is
    // refused before anything runs.
    match sqlx::migrate!("./migrations-postgres").run(&pool).await {
        Ok(()) => {}
        Err(sqlx::migrate::MigrateError::VersionMissing(version)) => {
            pool.close().await;
            anyhow::bail!("{}", newer_release(&what, &[version]));
        }
        Err(e) => return Err(e).with_context(|| format!("migrating the {what}")),
    }
    Ok(Db::Pg(pool))
}

/// Connections a node keeps to PostgreSQL (`COUNTERTOP_PG_POOL`, default 8):
/// three nodes take 24 of the server's default 100.
fn pg_pool_size() -> u32 {
    std::env::var("COUNTERTOP_PG_POOL")
        .ok()
        .and_then(|v| v.parse().ok())
        // The listener of tail.rs holds one, a start-up chore another.
        .filter(|n| (3..=200).contains(n))
        .unwrap_or(8)
}

/// Runs `work` alone among the nodes on `db`: PostgreSQL's advisory lock
/// (held by one connection for the length of `work`) serialises start-up
/// chores that check then write, such as seeding the demo café. On SQLite,
/// one hub holds the folder's run lock already.
pub async fn alone<T, F>(db: &Db, work: F) -> anyhow::Result<T>
where
    F: std::future::Future<Output = anyhow::Result<T>>,
{
    const START_UP: i64 = 0x0063_6f75_6e74_6572; // "counter"
    let Db::Pg(pool) = db else {
        return work.await;
    };
    let mut lock = pool.acquire().await?;
    sqlx::query("SELECT pg_advisory_lock($1)")
        .bind(START_UP)
        .execute(&mut *lock)
        .await?;
    let out = work.await;
    sqlx::query("SELECT pg_advisory_unlock($1)")
        .bind(START_UP)
        .execute(&mut *lock)
        .await?;
    out
}

/// Writes every setting a hub has (`SettingKey`) that is missing, with its
/// default.
pub async fn seed_settings(pool: &crate::store::Db) -> Result<(), sqlx::Error> {
    for key in countertop_protocol::SettingKey::ALL {
        crate::on_pool!(pool, |ex| sqlx::query(
            "INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT DO NOTHING"
        )
        .bind(key.as_str())
        .bind(key.default_value())
        .execute(ex)
        .await
        .map(|done| done.rows_affected()))?;
    }
    Ok(())
}

/// One choice of a demo option group: id, name, Korean name, price delta.
type DemoChoice = (&'static str, &'static str, &'static str, i64);

fn demo_group(
    id: &str,
    (name, ko): (&str, &str),
    (min, max): (u32, u32),
    choices: &[DemoChoice],
) -> countertop_protocol::OptionGroup {
    let korean = |name: &str| countertop_protocol::Names::from([("ko".into(), name.into())]);
    countertop_protocol::OptionGroup {
        id: id.into(),
        name: name.into(),
        names: korean(ko),
        required: min > 0,
        min,
        max,
        choices: choices
            .iter()
            .map(
                |&(id, name, ko, price_delta)| countertop_protocol::OptionChoice {
                    id: id.into(),
                    name: name.into(),
                    names: korean(ko),
                    price_delta,
                    is_sold_out: false,
                },
            )
            .collect(),
    }
}

/// The demo café's option groups of item `id`: every coffee and tea is
/// HOT or ICE; coffees take extra shots; all but the espresso come in two
/// sizes; the milky ones with oat milk.
fn demo_options(id: &str) -> Vec<countertop_protocol::OptionGroup> {
    const COFFEES: [&str; 6] = [
        "americano",
        "latte",
        "cappuccino",
        "vanilla-latte",
        "flat-white",
        "espresso",
    ];
    const MILKY: [&str; 4] = ["latte", "cappuccino", "vanilla-latte", "flat-white"];
    const TEAS: [&str; 3] = ["green-tea", "earl-grey", "chamomile"];
    let mut groups = Vec::new();
    if COFFEES.contains(&id) || TEAS.contains(&id) {
        groups.push(demo_group(
            "temperature",
            ("Temperature", "온도"),
            (1, 1),
            &[("hot", "HOT", "핫", 0), ("ice", "ICE", "아이스", 0)],
        ));
    }
    if COFFEES.contains(&id) && id != "espresso" {
        groups.push(demo_group(
            "size",
            ("Size", "사이즈"),
            (0, 1),
            &[
                ("regular", "Regular", "레귤러", 0),
                ("large", "Large", "라지", 500),
            ],
        ));
    }
    if COFFEES.contains(&id) {
        groups.push(demo_group(
            "extra-shot",
            ("Extra shot", "샷 추가"),
            (0, 3),
            &[("shot", "Extra shot", "샷 추가", 500)],
        ));
    }
    if MILKY.contains(&id) {
        groups.push(demo_group(
            "milk",
            ("Milk", "우유"),
            (0, 1),
            &[("whole", "Whole", "일반", 0), ("oat", "Oat", "오트", 500)],
        ));
    }
    groups
}

/// The demo café: a dozen items in three categories, with option groups
/// and Korean names, and three cells. Only seeded into a database that has
/// no menu and no cells yet.
pub async fn seed_demo(pool: &crate::store::Db, _now: DateTime<Utc>) -> Result<(), sqlx::Error> {
    seed_settings(pool).await?;
    let items: i64 = crate::on_pool!(pool, |ex| sqlx::query_scalar(
        "SELECT COUNT(*) FROM menu_items"
    )
    .fetch_one(ex)
    .await)?;
    let cells: i64 = crate::on_pool!(pool, |ex| sqlx::query_scalar("SELECT COUNT(*) FROM cells")
        .fetch_one(ex)
        .await)?;
    let seeded: Option<String> = crate::on_pool!(pool, |ex| sqlx::query_scalar(
        "SELECT value FROM meta WHERE key = 'demo_seeded'"
    )
    .fetch_optional(ex)
    .await)?;
    if items > 0 || cells > 0 || seeded.is_some() {
        return Ok(());
    }
    // (id, name, Korean name, category, price, stock)
    type DemoItem = (
        &'static str,
        &'static str,
        &'static str,
        &'static str,
        i64,
        Option<i64>,
    );
    const MENU: [DemoItem; 12] = [
        ("americano", "Americano", "아메리카노", "Coffee", 4000, None),
        ("latte", "Café Latte", "카페 라떼", "Coffee", 4500, None),
        ("cappuccino", "Cappuccino", "카푸치노", "Coffee", 4500, None),
        (
            "vanilla-latte",
            "Vanilla Latte",
            "바닐라 라떼",
            "Coffee",
            5000,
            None,
        ),
        (
            "flat-white",
            "Flat White",
            "플랫 화이트",
            "Coffee",
            5000,
            None,
        ),
        ("espresso", "Espresso", "에스프레소", "Coffee", 3500, None),
        ("green-tea", "Green Tea", "녹차", "Tea", 4000, None),
        ("earl-grey", "Earl Grey", "얼그레이", "Tea", 4000, None),
        ("chamomile", "Chamomile", "캐모마일", "Tea", 4000, None),
        (
            "croissant",
            "Butter Croissant",
            "버터 크루아상",
            "Bakery",
            3500,
            Some(20),
        ),
        (
            "blueberry-muffin",
            "Blueberry Muffin",
            "블루베리 머핀",
            "Bakery",
            3800,
            Some(12),
        ),
        (
            "cheesecake",
            "Cheesecake",
            "치즈케이크",
            "Bakery",
            6000,
            Some(8),
        ),
    ];
    let encode = |e: serde_json::Error| sqlx::Error::Encode(Box::new(e));
    let mut tx = pool.begin().await?;
    for (position, (id, name, ko, category, price, stock)) in MENU.iter().enumerate() {
        let station = if *category == "Bakery" {
            "kitchen"
        } else {
            "bar"
        };
        let names = countertop_protocol::Names::from([("ko".to_owned(), (*ko).to_owned())]);
        crate::on!(tx, |ex| sqlx::query(
            "INSERT INTO menu_items (id, name, category, price, is_sold_out, stock, position,
                option_groups, station, names)
             VALUES ($1, $2, $3, $4, 0, $5, $6, $7, $8, $9)",
        )
        .bind(id)
        .bind(name)
        .bind(category)
        .bind(price)
        .bind(stock)
        .bind(position as i64)
        .bind(serde_json::to_string(&demo_options(id)).map_err(encode)?)
        .bind(station)
        .bind(serde_json::to_string(&names).map_err(encode)?)
        .execute(ex)
        .await
        .map(|done| done.rows_affected()))?;
    }
    // The demo's PINs are 1234, 2345 and 3456 (README), hashed once here so
    // that a new demo hub does not spend three argon2 runs starting.
    const CELLS: [(&str, &str, i64, &str); 3] = [
        (
            "cell-design",
            "Design Team",
            50_000,
            "$argon2id$v=19$m=19456,t=2,p=1$ZWTdIvkmqcl8Psy4OU/juA$a07MiUhXvo8F27iuolmOFn9ABSFyTH9kvfCHSf1XE9s",
        ),
        (
            "cell-engineering",
            "Engineering",
            120_000,
            "$argon2id$v=19$m=19456,t=2,p=1$DeuOX+7uTUPSS61G1ZTgGw$TBIZIByBzed7p63c9Mm8NTzb25MaoBBYhKrOTwdf/sk",
        ),
        (
            "cell-front-desk",
            "Front Desk",
            8_000,
            "$argon2id$v=19$m=19456,t=2,p=1$FK1Fh5rgA3gSTqo/9yCBYA$nslGqdDSdaIPxUmbIhW/2N3qvwbeOg0SOVIVgIoMDRs",
        ),
    ];
    for (position, (id, name, balance, pin_hash)) in CELLS.iter().enumerate() {
        crate::on!(tx, |ex| sqlx::query(
            "INSERT INTO cells (id, name, balance, position, pin_hash) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(id)
        .bind(name)
        .bind(balance)
        .bind(position as i64)
        .bind(pin_hash)
        .execute(ex)
        .await
        .map(|done| done.rows_affected()))?;
    }
    // The demo's kiosk exit PIN is 1234 too (README): the Design Team's
    // hash, a hash of "1234".
    crate::store::kiosk::set_exit_pin_hash(&mut tx, Some(CELLS[0].3)).await?;
    crate::on!(tx, |ex| sqlx::query(
        "INSERT INTO meta (key, value) VALUES ('demo_seeded', 'true')"
    )
    .execute(ex)
    .await
    .map(|done| done.rows_affected()))?;
    tx.commit().await
}
