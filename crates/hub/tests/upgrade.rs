//! Upgrades that lose nothing: the data folder of every older release in
//! tests/fixtures (made by that release's own binaries through its own API,
//! tests/fixtures/make-fixtures.sh) opened by today's hub. Every row, every
//! cell's balance, the log's seq and epoch, the devices' tokens and a
//! resume from the old cursor survive; a migration that cannot run, or a
//! database of a newer release, is refused with a clear message and the
//! file left byte for byte as it was.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::str::FromStr;

use countertop_hub::{Hub, HubConfig};
use serde_json::Value;
use sha2::{Digest, Sha256};
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{Connection, SqliteConnection};
use support::{ok, Api, TestHub};
use tempfile::TempDir;

/// Every older release's hub fixture (`tests/fixtures/hub-RELEASE/`).
fn fixtures() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut found: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("hub-"))
                && p.join("manifest.json").exists()
        })
        .collect();
    found.sort();
    assert!(!found.is_empty(), "no hub fixtures in {}", root.display());
    found
}

fn manifest(fixture: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(fixture.join("manifest.json")).unwrap()).unwrap()
}

/// The fixture's data folder copied to a temporary one (as an install
/// would have it: the secret readable by its owner only).
fn copy_of(fixture: &Path) -> TempDir {
    let dir = tempfile::tempdir().unwrap();
    for name in ["hub.db", "secret.key"] {
        std::fs::copy(fixture.join(name), dir.path().join(name)).unwrap();
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for name in ["hub.db", "secret.key"] {
            std::fs::set_permissions(
                dir.path().join(name),
                std::fs::Permissions::from_mode(0o600),
            )
            .unwrap();
        }
    }
    dir
}

fn sha256(path: &Path) -> String {
    let bytes = std::fs::read(path).unwrap();
    format!("{:x}", Sha256::digest(&bytes))
}

/// The data folder's file names, sorted.
fn files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

async fn open_file(path: &Path, read_only: bool) -> SqliteConnection {
    let options = SqliteConnectOptions::from_str("sqlite://")
        .unwrap()
        .filename(path)
        .read_only(read_only);
    SqliteConnection::connect_with(&options).await.unwrap()
}

/// Rows of each table of `path`.
async fn counts(path: &Path) -> serde_json::Map<String, Value> {
    let mut conn = open_file(path, true).await;
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    let mut out = serde_json::Map::new();
    for table in tables {
        let n: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM \"{table}\""))
            .fetch_one(&mut conn)
            .await
            .unwrap();
        out.insert(table, n.into());
    }
    conn.close().await.unwrap();
    out
}

/// This release's migrations, as files in `migrations/`: (version, file).
fn migration_files() -> Vec<(i64, PathBuf)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    let mut found: Vec<(i64, PathBuf)> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| {
            let path = e.unwrap().path();
            let name = path.file_name()?.to_str()?.to_owned();
            let version = name.split('_').next()?.parse().ok()?;
            Some((version, path))
        })
        .collect();
    found.sort();
    found
}

fn applied(manifest: &Value) -> Vec<i64> {
    manifest["file"]["migrations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_i64().unwrap())
        .collect()
}

#[tokio::test]
async fn every_older_release_s_hub_database_upgrades_keeping_every_row() {
    if support::sqlite_only("hub.db files of older releases") {
        return;
    }
    for fixture in fixtures() {
        let manifest = manifest(&fixture);
        let release = manifest["release"].as_str().unwrap().to_owned();
        let old_counts = manifest["file"]["tables"].as_object().unwrap().clone();
        let dir = copy_of(&fixture);
        let path = dir.path().join("hub.db");
        let hub = TestHub::start_in(dir, |_| {}).await;

        // Every table of the old file is there with every row. `settings`
        // may gain a new setting's default; `_sqlx_migrations` the new
        // migrations.
        let now = counts(&path).await;
        for (table, old) in &old_counts {
            let new = now
                .get(table)
                .unwrap_or_else(|| panic!("{release}: table {table} is gone"));
            let (old, new) = (old.as_i64().unwrap(), new.as_i64().unwrap());
            if table == "settings" || table == "_sqlx_migrations" {
                assert!(new >= old, "{release}: {table} had {old} rows, has {new}");
            } else {
                assert_eq!(new, old, "{release}: rows of {table}");
            }
        }
        let mut conn = open_file(&path, true).await;
        let versions: Vec<i64> =
            sqlx::query_scalar("SELECT version FROM _sqlx_migrations ORDER BY version")
                .fetch_all(&mut conn)
                .await
                .unwrap();
        conn.close().await.unwrap();
        let today: Vec<i64> = migration_files().into_iter().map(|(v, _)| v).collect();
        assert_eq!(versions, today, "{release}: every migration applied");

        // The log goes on where it was.
        let health = ok(hub.anonymous().get("/healthz").await, 200);
        assert_eq!(health["seq"], manifest["api"]["seq"], "{release}");
        assert_eq!(health["epoch"], manifest["api"]["epoch"], "{release}");

        // Every device still authenticates with the token it was given;
        // the revoked one does not.
        let tokens = manifest["tokens"].as_array().unwrap();
        let revoked = manifest["revoked"].as_str().unwrap();
        let api = |role: &str| {
            let token = tokens.iter().find(|t| t["role"] == role).unwrap()["token"]
                .as_str()
                .unwrap();
            Api::new(hub.url(""), Some(token.to_owned()))
        };
        for device in tokens {
            let id = device["deviceId"].as_str().unwrap();
            let device_api = Api::new(hub.url(""), Some(device["token"].as_str().unwrap().into()));
            let (status, body) = device_api.get("/api/snapshot").await;
            if id == revoked {
                assert_eq!(status, 401, "{release}: revoked {id} got in: {body}");
            } else {
                assert_eq!(status, 200, "{release}: {} {id}: {body}", device["role"]);
            }
        }
        let manager = api("manager");
        let devices = ok(manager.get("/api/devices").await, 200);
        let mut listed: Vec<&str> = devices
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["id"].as_str().unwrap())
            .collect();
        let mut expected: Vec<&str> = manifest["api"]["devices"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["id"].as_str().unwrap())
            .collect();
        listed.sort();
        expected.sort();
        assert_eq!(listed, expected, "{release}: the paired devices");

        // Every cell's balance.
        let cells = ok(manager.get("/api/cells").await, 200);
        for old in manifest["api"]["cells"].as_array().unwrap() {
            let cell = cells
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c["id"] == old["id"])
                .unwrap_or_else(|| panic!("{release}: cell {} is gone", old["id"]));
            assert_eq!(cell["balance"], old["balance"], "{release}: {}", old["id"]);
            assert_eq!(cell["name"], old["name"], "{release}");
            assert_eq!(cell["hasPin"], old["hasPin"], "{release}");
        }
        assert_eq!(
            cells.as_array().unwrap().len(),
            manifest["api"]["cells"].as_array().unwrap().len()
        );

        // Every order, read over REST as the old hub showed it.
        for old in manifest["api"]["orders"].as_array().unwrap() {
            let id = old["orderId"].as_str().unwrap();
            let order = ok(manager.get(&format!("/api/orders/{id}")).await, 200);
            for field in ["dailyNum", "status", "payType", "totalAmount"] {
                assert_eq!(order[field], old[field], "{release}: {id}'s {field}");
            }
            assert_eq!(
                order.get("cellInfo").unwrap_or(&Value::Null),
                &old["cellInfo"],
                "{release}: {id}'s cell"
            );
        }

        // Workorders, signed or not.
        let workorders = ok(manager.get("/api/workorders").await, 200);
        for old in manifest["api"]["workorders"].as_array().unwrap() {
            let wo = workorders
                .as_array()
                .unwrap()
                .iter()
                .find(|w| w["id"] == old["id"])
                .unwrap_or_else(|| panic!("{release}: workorder {} is gone", old["id"]));
            assert_eq!(wo["status"], old["status"], "{release}");
            assert_eq!(wo["totalAmount"], old["totalAmount"], "{release}");
            assert_eq!(
                wo["signature"].is_object(),
                old["signed"] == true,
                "{release}"
            );
        }

        // A device that resumes with the old epoch and seq is given what it
        // missed (nothing), not told to load everything again.
        let seq = manifest["api"]["seq"].as_i64().unwrap();
        let epoch = manifest["api"]["epoch"].as_str().unwrap();
        let barista = tokens.iter().find(|t| t["role"] == "barista").unwrap();
        let device = support::Device {
            id: barista["deviceId"].as_str().unwrap().into(),
            role: countertop_protocol::Role::Barista,
            token: barista["token"].as_str().unwrap().into(),
            api: api("barista"),
        };
        for since in [seq, seq - 3] {
            let mut ws = hub
                .connect_with(Some(&device), &format!("since={since}&epoch={epoch}"))
                .await;
            let answer = loop {
                let frame = ws.next().await;
                if frame["event"] == "replayed" || frame["event"] == "resync" {
                    break frame;
                }
            };
            assert_eq!(answer["event"], "replayed", "{release}: {answer}");
            assert_eq!(answer["data"]["from"], since, "{release}: {answer}");
            assert_eq!(answer["data"]["to"], seq, "{release}: {answer}");
        }

        // New orders follow the old ones in the log.
        let (status, body) = api("kiosk").order(&[("americano", 1)], "CARD").await;
        assert_eq!(status, 201, "{release}: {body}");
        let health = ok(hub.anonymous().get("/healthz").await, 200);
        assert!(health["seq"].as_i64().unwrap() > seq, "{release}: {health}");

        // The database as the old release left it is kept beside the new
        // one, byte for byte; a restart upgrades nothing more.
        let dir = hub.stop().await;
        let kept: Vec<String> = files(dir.path())
            .into_iter()
            .filter(|n| n.starts_with("hub.db.before-upgrade-"))
            .collect();
        assert_eq!(kept.len(), 1, "{release}: {:?}", files(dir.path()));
        assert_eq!(
            sha256(&dir.path().join(&kept[0])),
            sha256(&fixture.join("hub.db")),
            "{release}: the database before the upgrade"
        );
        assert!(!dir.path().join("hub.db.upgrading").exists());
        let hub = TestHub::start_in(dir, |_| {}).await;
        ok(hub.anonymous().get("/healthz").await, 200);
        let dir = hub.stop().await;
        assert_eq!(
            files(dir.path())
                .iter()
                .filter(|n| n.starts_with("hub.db.before-upgrade-"))
                .count(),
            1,
            "{release}: a current database is not upgraded again"
        );
    }
}

/// A device of an older release renews its token as soon as it runs today's
/// release (that token named no expiry). When the answer is lost (the
/// device stopped before it kept the new token), the old token renews
/// again within the grace, as a token of this release does: the device
/// does not have to pair again.
#[tokio::test]
async fn an_older_release_s_token_renews_again_when_the_first_answer_was_lost() {
    if support::sqlite_only("hub.db files of older releases") {
        return;
    }
    for fixture in fixtures() {
        let manifest = manifest(&fixture);
        let release = manifest["release"].as_str().unwrap().to_owned();
        let hub = TestHub::start_in(copy_of(&fixture), |_| {}).await;
        let kiosk = manifest["tokens"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["role"] == "kiosk" && t["deviceId"] != manifest["revoked"])
            .unwrap();
        let old = Api::new(hub.url(""), Some(kiosk["token"].as_str().unwrap().into()));
        let refresh = serde_json::json!({});
        let lost = ok(old.post("/api/devices/refresh", refresh.clone()).await, 200);
        let (status, body) = old.post("/api/devices/refresh", refresh.clone()).await;
        assert_eq!(
            status, 200,
            "{release}: the old token's second refresh: {body}"
        );
        assert_ne!(body["token"], lost["token"], "{release}");
        let renewed = Api::new(hub.url(""), Some(body["token"].as_str().unwrap().into()));
        ok(renewed.get("/api/snapshot").await, 200);
        // Once the device shows it holds a new token, the old one is done.
        ok(
            renewed.post("/api/devices/refresh", refresh.clone()).await,
            200,
        );
        let (status, body) = old.post("/api/devices/refresh", refresh).await;
        assert_eq!(status, 401, "{release}: {body}");
        hub.stop().await;
    }
}

/// What `hub.db` is as bytes, and which of its side files (`-wal`, `-shm`,
/// an upgrade's copy, a kept original) are beside it.
fn state_of(dir: &Path) -> (String, Vec<String>) {
    let side = files(dir)
        .into_iter()
        .filter(|n| n.starts_with("hub.db"))
        .collect();
    (sha256(&dir.join("hub.db")), side)
}

async fn open_hub(dir: &Path) -> anyhow::Result<Hub> {
    let mut config = HubConfig::new(dir);
    config.backup.enabled = false;
    Hub::open(config).await
}

#[tokio::test]
async fn a_migration_that_fails_leaves_the_old_database_untouched() {
    if support::sqlite_only("hub.db files of older releases") {
        return;
    }
    for fixture in fixtures() {
        let manifest = manifest(&fixture);
        let release = manifest["release"].as_str().unwrap().to_owned();
        let done = applied(&manifest);
        // The last of this release's migrations the fixture lacks that
        // creates a table or an index: the same name taken first makes it
        // fail, after the others have run (on the copy).
        let Some((version, name, object)) = migration_files()
            .into_iter()
            .filter(|(v, _)| !done.contains(v))
            .filter_map(|(v, path)| {
                let sql = std::fs::read_to_string(&path).unwrap();
                let object = sql.lines().rev().find_map(|line| {
                    let rest = line
                        .trim()
                        .strip_prefix("CREATE TABLE ")
                        .or_else(|| line.trim().strip_prefix("CREATE INDEX "))?;
                    let rest = rest.strip_prefix("IF NOT EXISTS ").unwrap_or(rest);
                    Some(rest.split([' ', '(']).next()?.to_owned())
                })?;
                let stem = path.file_stem()?.to_str()?.to_owned();
                Some((v, stem, object))
            })
            .next_back()
        else {
            continue;
        };
        let dir = copy_of(&fixture);
        let mut conn = open_file(&dir.path().join("hub.db"), false).await;
        sqlx::query(&format!("CREATE TABLE \"{object}\" (x INTEGER)"))
            .execute(&mut conn)
            .await
            .unwrap();
        conn.close().await.unwrap();
        let before = state_of(dir.path());
        assert!(!before.1.iter().any(|n| n.ends_with("-wal")), "{before:?}");

        let err = match open_hub(dir.path()).await {
            Ok(_) => panic!("{release}: the hub started on a database it could not upgrade"),
            Err(e) => format!("{e:#}"),
        };
        let path = dir.path().join("hub.db");
        for part in [
            format!("the database {} cannot be upgraded", path.display()),
            format!("migration {name} failed"),
            format!("there is already a table named {object}"),
            "Nothing was changed".to_owned(),
        ] {
            assert!(err.contains(&part), "{release}: {part:?} not in {err}");
        }
        assert!(version > *done.last().unwrap());
        assert_eq!(
            state_of(dir.path()),
            before,
            "{release}: hub.db and the folder as they were"
        );
    }
}

#[tokio::test]
async fn a_database_of_a_newer_release_is_refused_untouched() {
    if support::sqlite_only("hub.db files of older releases") {
        return;
    }
    let fixture = fixtures().pop().unwrap();
    let dir = copy_of(&fixture);
    let path = dir.path().join("hub.db");
    let mut conn = open_file(&path, false).await;
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time)
         VALUES (9999, 'from the future', 1, x'00', 0)",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    conn.close().await.unwrap();
    let before = state_of(dir.path());

    // The real binary, as a café would start it.
    let stderr = refused(&["serve", "--listen", "127.0.0.1:0", "--data"], dir.path());
    for part in [
        format!(
            "the database {} was made by a newer Countertop",
            path.display()
        ),
        "migration 9999".to_owned(),
        "nothing was changed".to_owned(),
        "Install that version or restore a backup".to_owned(),
    ] {
        assert!(stderr.contains(&part), "{part:?} not in {stderr}");
    }
    assert_eq!(state_of(dir.path()), before);

    // The library says the same.
    let err = format!("{:#}", open_hub(dir.path()).await.err().unwrap());
    assert!(err.contains("made by a newer Countertop"), "{err}");
    assert_eq!(state_of(dir.path()), before);
}

async fn versions(conn: &mut SqliteConnection) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations")
        .fetch_one(conn)
        .await
}

/// Another program with `hub.db` open while an upgrade would run: an idle
/// connection (as another hub leaves it, the WAL mapped), or a command
/// working beside a hub (its shared flock on `hub.db`). The upgrade is
/// refused before anything is copied: `hub.db` byte for byte as it was, no
/// `.upgrading`, no kept original; the other connection goes on working,
/// and once it is gone the same hub upgrades, keeping what it wrote.
#[tokio::test]
async fn an_upgrade_is_refused_while_another_program_has_the_database_open() {
    if support::sqlite_only("hub.db files of older releases") {
        return;
    }
    let fixture = fixtures().pop().unwrap();
    let dir = copy_of(&fixture);
    let path = dir.path().join("hub.db");
    let expected = format!("another program has {} open", path.display());

    let mut other = open_file(&path, false).await;
    let applied_before = versions(&mut other).await.unwrap();
    let before = state_of(dir.path());
    assert!(
        before.1.contains(&"hub.db-wal".to_owned()),
        "the other connection has the WAL open: {before:?}"
    );
    let err = format!("{:#}", open_hub(dir.path()).await.err().expect("refused"));
    for part in [expected.as_str(), "stop it first", "nothing was changed"] {
        assert!(err.contains(part), "{part:?} not in {err}");
    }
    assert_eq!(
        state_of(dir.path()),
        before,
        "hub.db and the folder as they were"
    );
    // The other program's connection still works, and writes.
    assert_eq!(versions(&mut other).await.unwrap(), applied_before);
    sqlx::query("INSERT INTO meta (key, value) VALUES ('written_beside', 'kept')")
        .execute(&mut other)
        .await
        .unwrap();
    other.close().await.unwrap();

    let hub = open_hub(dir.path()).await.expect("upgrades once alone");
    drop(hub);
    let mut conn = open_file(&path, true).await;
    let kept: String = sqlx::query_scalar("SELECT value FROM meta WHERE key = 'written_beside'")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(kept, "kept");
    assert!(versions(&mut conn).await.unwrap() > applied_before);
    conn.close().await.unwrap();
    let side = files(dir.path());
    assert!(
        side.iter().any(|n| n.starts_with("hub.db.before-upgrade-"))
            && !side.iter().any(|n| n.ends_with(".upgrading")),
        "{side:?}"
    );

    // A command beside a running hub (pairing-code) holds hub.db shared.
    let dir = copy_of(&fixture);
    let path = dir.path().join("hub.db");
    let beside = std::fs::File::open(&path).unwrap();
    beside.try_lock_shared().unwrap();
    let before = state_of(dir.path());
    let err = format!("{:#}", open_hub(dir.path()).await.err().expect("refused"));
    let expected = format!("another program has {} open", path.display());
    assert!(err.contains(&expected), "{err}");
    assert_eq!(state_of(dir.path()), before);
    drop(beside);
    drop(open_hub(dir.path()).await.expect("upgrades once alone"));
}

/// An older hub running on the folder holds `hub.lock` (shared, as 0.1.0
/// did; today's exclusive): today's hub does not start beside it, and
/// today's `pairing-code`, which works beside a running hub, does not
/// upgrade the database under it. Both say what to do; nothing changes.
#[tokio::test]
async fn beside_a_running_older_hub_nothing_upgrades() {
    if support::sqlite_only("hub.db files of older releases") {
        return;
    }
    let fixture = fixtures().pop().unwrap();
    let dir = copy_of(&fixture);
    let path = dir.path().join("hub.db");
    let running = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.path().join("hub.lock"))
        .unwrap();
    running.try_lock_shared().unwrap();
    let before = state_of(dir.path());

    let err = format!("{:#}", open_hub(dir.path()).await.err().expect("refused"));
    let busy = format!(
        "another program is using the data folder {}",
        dir.path().display()
    );
    for part in [busy.as_str(), "start this hub again", "Nothing was changed"] {
        assert!(err.contains(part), "{part:?} not in {err}");
    }
    assert_eq!(state_of(dir.path()), before);

    let stderr = refused(&["pairing-code", "--role", "manager", "--data"], dir.path());
    for part in [
        format!("the database {} is to be upgraded", path.display()),
        format!("an older hub runs on {}", dir.path().display()),
        "Nothing was changed".to_owned(),
    ] {
        assert!(stderr.contains(&part), "{part:?} not in {stderr}");
    }
    assert_eq!(state_of(dir.path()), before);

    // The older hub stopped: today's pairing-code takes the folder and
    // upgrades it (then makes its code).
    drop(running);
    support::succeeds(
        Command::new(env!("CARGO_BIN_EXE_countertop-hub"))
            .args(["pairing-code", "--role", "manager", "--data"])
            .arg(dir.path())
            .env_remove("COUNTERTOP_DATABASE"),
    );
    assert!(files(dir.path())
        .iter()
        .any(|n| n.starts_with("hub.db.before-upgrade-")));
}

/// Every table of the PostgreSQL database `url` as text (its rows, sorted),
/// to compare before and after.
async fn pg_contents(url: &str) -> Vec<(String, String)> {
    let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables
         WHERE table_schema = 'public' ORDER BY 1",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    let mut out = Vec::new();
    for table in tables {
        let rows: Option<String> = sqlx::query_scalar(&format!(
            "SELECT string_agg(t::text, E'\\n' ORDER BY t::text) FROM \"{table}\" t"
        ))
        .fetch_one(&mut conn)
        .await
        .unwrap();
        out.push((table, rows.unwrap_or_default()));
    }
    conn.close().await.unwrap();
    out
}

/// A PostgreSQL database with a migration this release does not know (a
/// newer release's: version 9999 in `_sqlx_migrations`) is refused, by the
/// library and by the binary, and nothing in it changes. Needs
/// `COUNTERTOP_TEST_POSTGRES` (a server where the test may create
/// databases); says so and returns without it.
#[tokio::test]
async fn a_postgresql_database_of_a_newer_release_is_refused_untouched() {
    if std::env::var_os("COUNTERTOP_TEST_POSTGRES").is_none() {
        eprintln!("skipped: needs COUNTERTOP_TEST_POSTGRES, a PostgreSQL server");
        return;
    }
    let url = support::fresh_database();
    let dir = tempfile::tempdir().unwrap();
    let mut config = HubConfig::new(dir.path());
    config.backup.enabled = false;
    config.database = Some(url.clone());
    drop(
        Hub::open(config.clone())
            .await
            .expect("a fresh hub database"),
    );
    let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time)
         VALUES (9999, 'from the future', true, '\\x00'::bytea, 0)",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    conn.close().await.unwrap();
    let before = pg_contents(&url).await;
    assert!(before
        .iter()
        .any(|(t, rows)| t == "_sqlx_migrations" && rows.contains("9999")));

    let err = format!("{:#}", Hub::open(config).await.err().expect("refused"));
    for part in [
        "was made by a newer Countertop",
        "migration 9999",
        "nothing was changed",
        "Install that version or restore a backup",
    ] {
        assert!(err.contains(part), "{part:?} not in {err}");
    }
    assert!(
        !err.contains("postgres://"),
        "no URL (nor password) in {err}"
    );
    assert_eq!(pg_contents(&url).await, before);

    // The real binary, as a node would start.
    let out = Command::new(env!("CARGO_BIN_EXE_countertop-hub"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(dir.path())
        .env("COUNTERTOP_DATABASE", &url)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("was made by a newer Countertop") && stderr.contains("migration 9999"),
        "{stderr}"
    );
    assert_eq!(pg_contents(&url).await, before);
}

/// The original kept under a name already taken (a hub that died after
/// keeping one started again within the same second): the upgrade keeps it
/// as `…-2` and leaves the other file alone.
#[tokio::test]
async fn a_kept_original_never_takes_the_name_of_another() {
    if support::sqlite_only("hub.db files of older releases") {
        return;
    }
    let fixture = fixtures().pop().unwrap();
    let dir = copy_of(&fixture);
    let now = chrono::Local::now();
    // This second and the next two: the upgrade falls in one of them.
    let stamps: Vec<String> = (0..3)
        .map(|s| {
            (now + chrono::Duration::seconds(s))
                .format("%Y%m%d-%H%M%S")
                .to_string()
        })
        .collect();
    for stamp in &stamps {
        std::fs::write(
            dir.path().join(format!("hub.db.before-upgrade-{stamp}")),
            "another upgrade's",
        )
        .unwrap();
    }
    let original = sha256(&dir.path().join("hub.db"));
    drop(open_hub(dir.path()).await.expect("upgrades"));
    let kept: Vec<String> = files(dir.path())
        .into_iter()
        .filter(|n| n.ends_with("-2"))
        .collect();
    assert_eq!(kept.len(), 1, "{:?}", files(dir.path()));
    assert!(stamps
        .iter()
        .any(|s| kept[0] == format!("hub.db.before-upgrade-{s}-2")));
    assert_eq!(sha256(&dir.path().join(&kept[0])), original);
    for stamp in &stamps {
        let other = dir.path().join(format!("hub.db.before-upgrade-{stamp}"));
        assert_eq!(std::fs::read_to_string(other).unwrap(), "another upgrade's");
    }
}

/// Runs the real `countertop-hub ARGS DATA` (SQLite: no database URL from
/// the environment), which must refuse; what it printed on stderr.
fn refused(args: &[&str], data: &Path) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_countertop-hub"))
        .args(args)
        .arg(data)
        .env_remove("COUNTERTOP_DATABASE")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "{stderr}");
    stderr
}
