//! Upgrades that lose nothing, on the device: the cache file of every older
//! release in tests/fixtures (made by that release's own countertop-cli
//! against its own hub, crates/hub/tests/fixtures/make-fixtures.sh) opened
//! by today's cache keeps its orders, its cursor and its unsent outbox
//! entry; a device started on it, against today's hub on that release's
//! hub folder, resumes from the old cursor (no resync) and sends the queued
//! order exactly once. A cache of a newer release is refused untouched; an
//! older schema upgrades in one step.

mod support;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use countertop_client::error::CacheError;
use countertop_client::state::{ConnectionState, SnapshotReason};
use countertop_client::{Cache, CoreEvent};
use rusqlite::{Connection, OpenFlags};
use serde_json::Value;
use sha2::{Digest, Sha256};
use support::hub::Hub;
use tempfile::TempDir;

const WAIT: Duration = Duration::from_secs(20);

/// Every older release's cache fixture (`tests/fixtures/cache-RELEASE/`).
fn fixtures() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut found: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("cache-"))
                && p.join("manifest.json").exists()
        })
        .collect();
    found.sort();
    assert!(!found.is_empty(), "no cache fixtures in {}", root.display());
    found
}

fn manifest(dir: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json")).unwrap()).unwrap()
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The fixture's cache file in a fresh device folder.
fn device_folder(fixture: &Path) -> TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        fixture.join("cache.sqlite3"),
        dir.path().join("cache.sqlite3"),
    )
    .unwrap();
    dir
}

fn sha256(path: &Path) -> String {
    format!("{:x}", Sha256::digest(std::fs::read(path).unwrap()))
}

fn read_only(path: &Path) -> Connection {
    Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap()
}

fn count(conn: &Connection, sql: &str) -> i64 {
    conn.query_row(sql, [], |r| r.get(0)).unwrap()
}

#[test]
fn an_older_release_s_cache_keeps_its_orders_cursor_and_outbox() {
    for fixture in fixtures() {
        let manifest = manifest(&fixture);
        let release = manifest["release"].as_str().unwrap();
        let dir = device_folder(&fixture);
        let cache = Cache::open(dir.path()).unwrap();

        let cursor = cache.cursor().unwrap();
        assert_eq!(cursor.seq, manifest["seq"].as_u64().unwrap(), "{release}");
        assert_eq!(
            cursor.epoch.as_deref(),
            manifest["epoch"].as_str(),
            "{release}"
        );
        let orders = cache.orders().unwrap();
        let mut ids: Vec<String> = orders.iter().map(|o| o.order_id.clone()).collect();
        ids.sort();
        let expected: Vec<&str> = manifest["orders"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["orderId"].as_str().unwrap())
            .collect();
        assert_eq!(ids, expected, "{release}: the cached orders");
        for order in &orders {
            let old = manifest["orders"]
                .as_array()
                .unwrap()
                .iter()
                .find(|o| o["orderId"] == order.order_id.as_str())
                .unwrap();
            assert_eq!(order.status.as_str(), old["status"], "{release}");
        }
        let device = cache.device().unwrap().expect("the paired device");
        assert_eq!(device.device_id, manifest["deviceId"].as_str().unwrap());

        let queued = manifest["outbox"].as_array().unwrap();
        assert_eq!(cache.outbox_len().unwrap(), queued.len(), "{release}");
        let next = cache.outbox_next().unwrap().expect("the queued order");
        assert_eq!(next.key.as_str(), queued[0]["key"].as_str().unwrap());
        assert_eq!(
            serde_json::to_value(&next.op).unwrap(),
            queued[0]["op"],
            "{release}: the queued action as the old release wrote it"
        );
        drop(cache);

        // Every table's rows are still there.
        let conn = read_only(&dir.path().join("cache.sqlite3"));
        for (table, old) in manifest["tables"].as_object().unwrap() {
            assert_eq!(
                count(&conn, &format!("SELECT COUNT(*) FROM \"{table}\"")),
                old.as_i64().unwrap(),
                "{release}: rows of {table}"
            );
        }
    }
}

#[test]
fn a_cache_of_a_newer_release_is_refused_and_left_as_it_is() {
    let fixture = fixtures().pop().unwrap();
    let dir = device_folder(&fixture);
    let path = dir.path().join("cache.sqlite3");
    let conn = Connection::open(&path).unwrap();
    conn.pragma_update(None, "user_version", 99).unwrap();
    drop(conn);
    let before = sha256(&path);

    let err = Cache::open(dir.path()).unwrap_err();
    assert!(
        matches!(err, CacheError::Newer { found: 99, .. }),
        "{err:?}"
    );
    let message = err.to_string();
    for part in [
        format!(
            "the cache {} was made by a newer Countertop",
            path.display()
        ),
        "left as it is".to_owned(),
        "not yet sent".to_owned(),
    ] {
        assert!(message.contains(&part), "{part:?} not in {message}");
    }
    assert_eq!(sha256(&path), before);
    assert!(!dir.path().join("cache.sqlite3-wal").exists());
    let conn = read_only(&path);
    assert_eq!(count(&conn, "SELECT COUNT(*) FROM outbox"), 1);
}

#[test]
fn an_older_schema_gains_the_new_tables_in_one_step() {
    let fixture = fixtures().pop().unwrap();
    let manifest = manifest(&fixture);
    let dir = device_folder(&fixture);
    let path = dir.path().join("cache.sqlite3");
    // As schema version 1 had it: no `board` table. `notices` is dropped
    // too, and an index takes the name `board`, so that the upgrade fails
    // after creating `notices` again: it must leave neither that table nor
    // a new version behind.
    let conn = Connection::open(&path).unwrap();
    conn.execute_batch(
        "DROP TABLE board; DROP TABLE notices; CREATE INDEX board ON meta (value);
         PRAGMA user_version = 1;",
    )
    .unwrap();
    drop(conn);
    let err = Cache::open(dir.path()).unwrap_err();
    assert!(
        err.to_string().contains("already an index named board"),
        "{err}"
    );
    let conn = read_only(&path);
    let version: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    assert_eq!(version, 1, "the version moved without its tables");
    assert_eq!(
        count(
            &conn,
            "SELECT COUNT(*) FROM sqlite_master WHERE name = 'notices'"
        ),
        0,
        "half an upgrade was kept"
    );
    drop(conn);
    let conn = Connection::open(&path).unwrap();
    conn.execute_batch("DROP INDEX board;").unwrap();
    drop(conn);

    let cache = Cache::open(dir.path()).unwrap();
    assert_eq!(cache.orders_ahead(u32::MAX).unwrap(), 0);
    assert_eq!(
        cache.cursor().unwrap().seq,
        manifest["seq"].as_u64().unwrap()
    );
    assert_eq!(cache.outbox_len().unwrap(), 1);
    drop(cache);
    let conn = read_only(&path);
    let version: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    assert!(version >= 2, "{version}");
    assert_eq!(
        count(
            &conn,
            "SELECT COUNT(*) FROM sqlite_master WHERE name = 'board'"
        ),
        1
    );
}

/// Polls `done` until it holds, for at most [`WAIT`].
async fn until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + WAIT;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_device_on_an_older_release_s_cache_resumes_and_sends_its_queued_order_once() {
    if std::env::var_os("COUNTERTOP_TEST_BACKEND").is_some_and(|b| b == "postgres") {
        eprintln!("skipped on PostgreSQL: the hub fixture is a SQLite file");
        return;
    }
    for fixture in fixtures() {
        let manifest = manifest(&fixture);
        let release = manifest["release"].as_str().unwrap();
        let hub_fixture = workspace().join(manifest["hub"].as_str().unwrap());
        let data = tempfile::tempdir().unwrap();
        for name in ["hub.db", "secret.key"] {
            std::fs::copy(hub_fixture.join(name), data.path().join(name)).unwrap();
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(
                    data.path().join(name),
                    std::fs::Permissions::from_mode(0o600),
                )
                .unwrap();
            }
        }
        let hub = Hub::start(data.path(), 0);
        let key = manifest["outbox"][0]["key"].as_str().unwrap().to_owned();
        let db = data.path().join("hub.db");
        let orders_with_key = || {
            let conn = read_only(&db);
            conn.query_row(
                "SELECT COUNT(*) FROM orders WHERE idempotency_key = ?1",
                [&key],
                |r| r.get::<_, i64>(0),
            )
            .unwrap()
        };
        assert_eq!(orders_with_key(), 0, "{release}: the hub never had it");

        // The device as the old release left it, its token where today's
        // client finds one without a credential store.
        let dir = device_folder(&fixture);
        let token = dir.path().join("device-token");
        std::fs::write(&token, manifest["token"].as_str().unwrap()).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&token, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        let old_seq = manifest["seq"].as_u64().unwrap();
        for round in 0..2 {
            let mut options = countertop_client::ConnectOptions::new(dir.path());
            // The old hub's address is gone; today's hub serves its data.
            options.hub = Some(hub.url());
            options.policy.base = Duration::from_millis(100);
            options.request_timeout = Duration::from_secs(3);
            let (handle, mut events) = countertop_client::connect(options).await.unwrap();
            let mut sent = Vec::new();
            let mut newer = false;
            let mut live = false;
            let deadline = tokio::time::Instant::now() + WAIT;
            // Round 0: the queued order goes out and comes back as an
            // event past the old cursor (in either order). Round 1 (a
            // restart): live again on the same cursor, nothing to send.
            while !(if round == 0 {
                newer && !sent.is_empty()
            } else {
                live
            }) {
                let event = tokio::time::timeout_at(deadline, events.recv())
                    .await
                    .unwrap_or_else(|_| panic!("{release}: round {round} timed out: sent {sent:?}"))
                    .expect("events");
                match event {
                    CoreEvent::Snapshot { reason, .. } => {
                        assert_ne!(reason, SnapshotReason::Resync, "{release}: resync");
                        panic!("{release}: the device loaded a snapshot ({reason:?})");
                    }
                    CoreEvent::OutboxSent { key, .. } => sent.push(key),
                    CoreEvent::OutboxRefused { key, error } => {
                        panic!("{release}: {key} refused: {error:?}")
                    }
                    CoreEvent::Applied { seq, .. } if seq > old_seq => newer = true,
                    CoreEvent::State(status) => {
                        live = matches!(status.state, ConnectionState::Live { .. })
                    }
                    _ => {}
                }
            }
            assert_eq!(
                sent,
                if round == 0 {
                    vec![key.clone()]
                } else {
                    vec![]
                },
                "{release}: round {round}"
            );
            if round == 0 {
                // The old release's token names no expiry, so the device
                // renews it at once. Wait until the new one is kept: the
                // renewal outlives `drop(handle)` in this runtime, and a
                // restart reading the old token meanwhile would be refused
                // (the hub takes a renewed token back, and one issued by
                // 0.1.0 has no grace to be renewed twice).
                // The vault is written first, then the cache: both done.
                let cache = Cache::open(dir.path()).unwrap();
                let old_token = manifest["token"].as_str().unwrap();
                until("the renewed token kept", || {
                    countertop_client::TokenVault::for_folder(dir.path())
                        .load()
                        .is_ok_and(|t| t.is_some_and(|(t, _)| t.expose() != old_token))
                        && cache
                            .device()
                            .unwrap()
                            .is_some_and(|d| d.token_expires_at.is_some())
                })
                .await;
            }
            drop(handle);
            drop(events);
            let cache = Cache::open(dir.path()).unwrap();
            until("the outbox emptied", || cache.outbox_len().unwrap() == 0).await;
            assert!(cache.cursor().unwrap().seq > old_seq);
            assert_eq!(
                cache.orders().unwrap().len(),
                manifest["orders"].as_array().unwrap().len() + 1,
                "{release}: the old orders and the sent one"
            );
            assert_eq!(orders_with_key(), 1, "{release}: sent once");
        }
        drop(hub);
    }
}
