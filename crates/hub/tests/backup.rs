//! Backups: hourly and daily copies made by the running hub (the newest 24
//! and 14 kept, mirrored to a second folder), `GET /api/backups`, the
//! command line's `backup` and `restore`, and a damaged database refused
//! with the newest good backup named.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use chrono::Duration as Span;
use countertop_protocol::Role;
use support::{json_text, TestHub, WAIT};

/// The backups of kind `kind` (`hourly`, `daily`) of the hub in `dir`.
fn backups(dir: &Path, kind: &str) -> Vec<PathBuf> {
    listed(&dir.join("backups").join(kind))
}

/// The backup files in `folder`, sorted.
fn listed(folder: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(folder)
        .map(|entries| entries.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    files.retain(|p| p.extension().is_some_and(|e| e == "db"));
    files.sort();
    files
}

/// Polls until `count(dir)` is `want`, or fails after [`WAIT`].
async fn until_count(dir: &Path, kind: &str, want: usize) {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let got = backups(dir, kind).len();
        if got == want {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{kind}: {got} backups, waited for {want}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn backed_up_hub(copy_to: Option<PathBuf>) -> TestHub {
    TestHub::start_with(|c| {
        c.backup.enabled = true;
        c.backup.check_interval = Duration::from_millis(25);
        c.backup.copy_to = copy_to;
    })
    .await
}

fn cli(args: &[&str], data: &Path) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_countertop-hub"))
        .args(args)
        .arg("--data")
        .arg(data)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The orders a database file holds, read directly.
async fn orders_in(file: &Path) -> Vec<String> {
    use sqlx::Connection;
    let options = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(file)
        .read_only(true);
    let mut conn = sqlx::SqliteConnection::connect_with(&options)
        .await
        .unwrap();
    sqlx::query_scalar("SELECT id FROM orders ORDER BY id")
        .fetch_all(&mut conn)
        .await
        .unwrap()
}

#[tokio::test]
async fn the_hub_backs_up_each_hour_and_day_keeps_the_newest_and_mirrors_them() {
    if support::sqlite_only("file backups of hub.db (PostgreSQL is backed up with pg_dump)") {
        return;
    }
    let copy = tempfile::tempdir().unwrap();
    let hub = backed_up_hub(Some(copy.path().to_owned())).await;
    let dir = hub.dir.path().to_owned();
    // At start: this hour's and today's.
    until_count(&dir, "hourly", 1).await;
    until_count(&dir, "daily", 1).await;
    let kiosk = hub.pair(Role::Kiosk).await;
    let (status, order) = kiosk.api.order(&[("americano", 1)], "CARD").await;
    assert_eq!(status, 201);
    let mut days = std::collections::BTreeSet::new();
    days.insert(hub.hub.clock.today());
    for hour in 1..30 {
        hub.hub.clock.advance(Span::hours(1));
        days.insert(hub.hub.clock.today());
        until_count(&dir, "hourly", (hour + 1).min(24)).await;
        until_count(&dir, "daily", days.len().min(14)).await;
    }
    // The newest holds the order placed after the first; the copies are whole.
    let newest = backups(&dir, "hourly").pop().unwrap();
    countertop_hub::check_backup(&newest).await.unwrap();
    assert!(orders_in(&newest)
        .await
        .contains(&order["orderId"].as_str().unwrap().to_owned()));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&newest).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "a backup is private");
    }

    // The manager sees them; a barista may not.
    let manager = hub.pair(Role::Manager).await;
    let deadline = tokio::time::Instant::now() + WAIT;
    let state = loop {
        let (status, state) = manager.api.get("/api/backups").await;
        assert_eq!(status, 200, "{state}");
        if state["hourly"] == 24 {
            break state;
        }
        assert!(tokio::time::Instant::now() < deadline, "{state}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(state["lastAt"].is_string(), "{state}");
    assert!(state["lastError"].is_null(), "{state}");
    assert_eq!(state["copyTo"], copy.path().display().to_string());
    let barista = hub.pair(Role::Barista).await;
    assert_eq!(barista.api.get("/api/backups").await.0, 403);

    // The second folder mirrors the first.
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let names = |files: Vec<PathBuf>| -> Vec<_> {
            files
                .iter()
                .map(|p| p.file_name().unwrap().to_owned())
                .collect()
        };
        let (mirrored, kept) = (
            names(listed(&copy.path().join("hourly"))),
            names(backups(&dir, "hourly")),
        );
        if mirrored == kept {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the copies follow: {mirrored:?} against {kept:?}, {:?}",
            manager.api.get("/api/backups").await
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn the_command_line_backs_up_a_running_hub_and_restores_only_a_stopped_one() {
    if support::sqlite_only("backup and restore of hub.db from the command line") {
        return;
    }
    let hub = TestHub::start().await;
    let kiosk = hub.pair(Role::Kiosk).await;
    let (_, first) = kiosk.api.order(&[("americano", 1)], "CARD").await;
    let first = first["orderId"].as_str().unwrap().to_owned();
    let epoch = hub.hub.log.epoch().to_owned();
    let dir = hub.dir.path().to_owned();
    let outside = tempfile::tempdir().unwrap();
    let file = outside.path().join("before-lunch.db");

    // While it runs.
    let (ok, out, err) = cli(&["backup", "--to", file.to_str().unwrap()], &dir);
    assert!(ok, "{err}");
    let answer: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert!(answer["bytes"].as_u64().unwrap() > 0, "{answer}");
    assert_eq!(orders_in(&file).await, std::slice::from_ref(&first));
    // Never over an existing file.
    let (ok, _, err) = cli(&["backup", "--to", file.to_str().unwrap()], &dir);
    assert!(!ok && err.contains("exists already"), "{err}");

    let (_, second) = kiosk.api.order(&[("latte", 1)], "CARD").await;
    let second = second["orderId"].as_str().unwrap().to_owned();
    // Not while the hub runs.
    let (ok, _, err) = cli(&["restore", "--from", file.to_str().unwrap()], &dir);
    assert!(!ok && err.contains("stop it first"), "{err}");

    let folder = hub.stop().await;
    // Not from a file that is no hub's database.
    let junk = outside.path().join("junk.db");
    std::fs::write(&junk, b"not a database at all, just some words").unwrap();
    let (ok, _, err) = cli(
        &["restore", "--from", junk.to_str().unwrap()],
        folder.path(),
    );
    assert!(!ok, "{err}");
    let (ok, out, err) = cli(
        &["restore", "--from", file.to_str().unwrap()],
        folder.path(),
    );
    assert!(ok, "{err}");
    let restored: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    let aside = PathBuf::from(restored["keptAside"].as_str().unwrap());
    assert!(
        orders_in(&aside).await.contains(&second),
        "the replaced database is kept aside, whole"
    );
    assert_ne!(restored["epoch"], epoch, "devices reload after a restore");

    let hub = TestHub::start_in(folder, |_| {}).await;
    assert_eq!(hub.hub.log.epoch(), restored["epoch"].as_str().unwrap());
    let manager = hub.pair(Role::Manager).await;
    let (_, orders) = manager.api.get("/api/orders").await;
    let ids: Vec<&str> = orders
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["orderId"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [first.as_str()]);
}

/// Overwrites every page after the first with noise.
fn damage(db: &Path) {
    let mut bytes = std::fs::read(db).unwrap();
    assert!(bytes.len() > 8192, "a database of several pages");
    for (i, b) in bytes[4096..].iter_mut().enumerate() {
        *b = (i * 131 % 251) as u8;
    }
    std::fs::write(db, bytes).unwrap();
}

#[tokio::test]
async fn a_damaged_database_is_refused_naming_the_newest_good_backup_which_restores_it() {
    if support::sqlite_only("a damaged hub.db and its file backups") {
        return;
    }
    let hub = backed_up_hub(None).await;
    let dir = hub.dir.path().to_owned();
    until_count(&dir, "hourly", 1).await;
    let kiosk = hub.pair(Role::Kiosk).await;
    let (_, order) = kiosk.api.order(&[("americano", 1)], "CARD").await;
    let order = order["orderId"].as_str().unwrap().to_owned();
    hub.hub.clock.advance(Span::hours(1));
    until_count(&dir, "hourly", 2).await;
    let newest = backups(&dir, "hourly").pop().unwrap();
    let folder = hub.stop().await;

    // A damaged older backup does not stand in the way.
    damage(&backups(folder.path(), "hourly")[0]);
    let _ = std::fs::remove_file(folder.path().join("hub.db-wal"));
    damage(&folder.path().join("hub.db"));
    let refusal =
        match countertop_hub::Hub::open(countertop_hub::HubConfig::new(folder.path())).await {
            Ok(_) => panic!("the hub started on a damaged database"),
            Err(e) => format!("{e:#}"),
        };
    assert!(refusal.contains("is damaged"), "{refusal}");
    assert!(
        refusal.contains(&format!(
            "countertop-hub restore --from {} --data {}",
            newest.display(),
            folder.path().display()
        )),
        "{refusal}"
    );

    let (ok, _, err) = cli(
        &["restore", "--from", newest.to_str().unwrap()],
        folder.path(),
    );
    assert!(ok, "{err}");
    let hub = TestHub::start_in(folder, |_| {}).await;
    let manager = hub.pair(Role::Manager).await;
    let (status, found) = manager.api.get(&format!("/api/orders/{order}")).await;
    assert_eq!(status, 200, "{found}");
}

#[tokio::test]
async fn a_failing_backup_is_shown_to_the_manager_and_told_as_a_warning() {
    if support::sqlite_only("file backups of hub.db (PostgreSQL is backed up with pg_dump)") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // A file where the backups' folder should be: every backup fails.
    std::fs::write(dir.path().join("backups"), b"in the way").unwrap();
    let hub = TestHub::start_in(dir, |c| {
        c.backup.enabled = true;
        c.backup.check_interval = Duration::from_millis(25);
    })
    .await;
    let manager = hub.pair(Role::Manager).await;
    let deadline = tokio::time::Instant::now() + WAIT;
    let state = loop {
        let (_, state) = manager.api.get("/api/backups").await;
        if state["lastError"].is_string() {
            break state;
        }
        assert!(tokio::time::Instant::now() < deadline, "{state}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(state["lastAt"].is_null(), "{state}");
    // The managers and the counter hear of it as a warning notice.
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let notices: Vec<(String, String, String)> =
            countertop_hub::on_pool!(hub.hub.pool(), |ex| sqlx::query_as(&format!(
                "SELECT {}, {}, {} FROM events WHERE name = 'system:notification'",
                json_text("data", "level"),
                json_text("data", "title"),
                json_text("data", "message")
            ))
            .fetch_all(ex)
            .await)
            .unwrap();
        if let Some((level, title, message)) = notices.first() {
            assert_eq!(
                (level.as_str(), title.as_str()),
                ("warning", "Backup failed")
            );
            assert!(message.contains("could not back up"), "{message}");
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "no warning notice");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
