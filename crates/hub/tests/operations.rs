//! Issue 18's operations: `/healthz` reports the node's database and answers
//! `503` while it is unreachable; a request that needs the database then
//! answers `503 database_unavailable`; the node recovers by itself once the
//! database is back; `/metrics` labels every series with the node's name.
//!
//! The PostgreSQL test takes a real database away: it forbids connections
//! to it and ends the hub's sessions from an admin connection, on the
//! server named by `COUNTERTOP_TEST_POSTGRES`.

mod support;

use std::time::{Duration, Instant};

use countertop_protocol::Role;
use reqwest::StatusCode;
use serde_json::{json, Value};
use sqlx::Connection;
use support::{assert_error, line, ok, rand_suffix, TestHub, WAIT};

/// The server the test may create a database on.
fn server_url() -> reqwest::Url {
    let url = std::env::var("COUNTERTOP_TEST_POSTGRES").unwrap_or_else(|_| {
        panic!(
            "this test needs a real PostgreSQL server: set COUNTERTOP_TEST_POSTGRES to the URL of \
             one where tests may create databases (e.g. \
             postgres://countertop@127.0.0.1:55432/postgres; ./dev.sh test sets it)"
        )
    });
    reqwest::Url::parse(&url)
        .unwrap_or_else(|e| panic!("COUNTERTOP_TEST_POSTGRES is not a URL ({e})"))
}

/// A database of its own on the server, dropped at the end of the test
/// (`countertop_test_<pid>_…`: the suite drops those of ended runs too).
struct TestDatabase {
    name: String,
    url: String,
    admin: sqlx::PgConnection,
}

impl TestDatabase {
    async fn create() -> TestDatabase {
        let server = server_url();
        let name = format!(
            "countertop_test_{}_ops{}",
            std::process::id(),
            rand_suffix()
        );
        let mut admin = sqlx::PgConnection::connect(server.as_str())
            .await
            .unwrap_or_else(|e| panic!("connecting to COUNTERTOP_TEST_POSTGRES: {e}"));
        sqlx::query(&format!("CREATE DATABASE \"{name}\""))
            .execute(&mut admin)
            .await
            .unwrap_or_else(|e| panic!("CREATE DATABASE {name}: {e}"));
        let mut url = server;
        url.set_path(&format!("/{name}"));
        TestDatabase {
            name,
            url: url.to_string(),
            admin,
        }
    }

    /// What an operator's mistake or a failed server looks like to a node:
    /// no new connection is allowed, and every open one is ended.
    async fn take_away(&mut self) {
        sqlx::query(&format!(
            "ALTER DATABASE \"{}\" ALLOW_CONNECTIONS false",
            self.name
        ))
        .execute(&mut self.admin)
        .await
        .unwrap();
        let ended = self.end_sessions().await;
        assert!(ended > 0, "the hub had sessions on its database to end");
    }

    /// Ends every session on the database; how many.
    async fn end_sessions(&mut self) -> usize {
        let ended: Vec<bool> = sqlx::query_scalar(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1",
        )
        .bind(&self.name)
        .fetch_all(&mut self.admin)
        .await
        .unwrap();
        ended.into_iter().filter(|e| *e).count()
    }

    async fn give_back(&mut self) {
        sqlx::query(&format!(
            "ALTER DATABASE \"{}\" ALLOW_CONNECTIONS true",
            self.name
        ))
        .execute(&mut self.admin)
        .await
        .unwrap();
    }

    async fn drop(mut self) {
        sqlx::query(&format!("DROP DATABASE \"{}\" WITH (FORCE)", self.name))
            .execute(&mut self.admin)
            .await
            .unwrap();
        self.admin.close().await.ok();
    }
}

/// `GET /healthz` polled until it answers `status`, bounded by [`WAIT`].
/// With `db`, its sessions are ended again between polls: one that was
/// still starting when the others were ended goes too.
async fn healthz_until(
    hub: &TestHub,
    what: &str,
    status: u16,
    mut db: Option<&mut TestDatabase>,
) -> Value {
    let deadline = Instant::now() + WAIT;
    loop {
        let (got, body) = hub.anonymous().get("/healthz").await;
        if got == status {
            return body;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: /healthz still answers {got} {body}"
        );
        if let Some(db) = db.as_deref_mut() {
            db.end_sessions().await;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// `GET /metrics` as text.
async fn metrics(hub: &TestHub) -> String {
    let response = tokio::time::timeout(WAIT, reqwest::get(hub.url("/metrics")))
        .await
        .expect("metrics in time")
        .expect("metrics answer");
    assert_eq!(response.status(), 200);
    response.text().await.unwrap()
}

/// Every series of `text` carries `node="<node>"`, and the text has `line`.
fn assert_labelled(text: &str, node: &str, line: &str) {
    let label = format!("node=\"{node}\"");
    let series: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
    assert!(series.len() >= 18, "{text}");
    for series in &series {
        let (name, value) = series.rsplit_once(' ').unwrap();
        assert!(value.parse::<f64>().is_ok(), "{series}");
        let labels = name
            .split_once('{')
            .and_then(|(_, rest)| rest.strip_suffix('}'))
            .unwrap_or_else(|| panic!("a series without labels: {series}"));
        assert!(labels.split(',').any(|l| l == label), "{series}");
    }
    assert!(series.contains(&line), "no {line:?} in {text}");
}

fn order_body(key: &str) -> Value {
    json!({"idempotencyKey": key, "items": [line("americano", 1)], "payType": "CARD"})
}

#[tokio::test]
async fn a_node_that_loses_its_postgresql_says_so_refuses_writes_and_recovers() {
    let mut db = TestDatabase::create().await;
    let url = db.url.clone();
    let hub = TestHub::start_in(tempfile::tempdir().unwrap(), |config| {
        config.database = Some(url);
        config.node_name = "node-ops-1".into();
    })
    .await;
    let kiosk = hub.pair(Role::Kiosk).await;
    let barista = hub.pair(Role::Barista).await;
    let mut ws = hub.connect_with(Some(&barista), "topics=orders").await;
    ws.next_event("welcome").await;
    ok(
        kiosk.api.post("/api/orders", order_body("before")).await,
        201,
    );

    // Healthy: the contract's fields as ever, and the database up.
    let health = healthz_until(&hub, "a healthy node", 200, None).await;
    assert_eq!(health["status"], "ok", "{health}");
    let seq = health["seq"].as_u64().expect("seq");
    assert!(seq > 0, "{health}");
    let epoch = health["epoch"].as_str().expect("epoch").to_owned();
    assert!(!epoch.is_empty());
    assert_eq!(health["node"], "node-ops-1", "{health}");
    assert_eq!(health["database"]["backend"], "postgresql", "{health}");
    assert_eq!(health["database"]["up"], true, "{health}");
    assert!(health["database"]["latencyMs"].is_u64(), "{health}");
    assert!(health["database"].get("error").is_none(), "{health}");
    assert_labelled(
        &metrics(&hub).await,
        "node-ops-1",
        "countertop_database_up{node=\"node-ops-1\"} 1",
    );

    db.take_away().await;

    let down = healthz_until(&hub, "the database is gone", 503, Some(&mut db)).await;
    // Nothing reaches its subscribers while it is cut off: it lets them go
    // (1013, try again later), so devices that know other nodes move on.
    assert_eq!(ws.closed().await, 1013);
    assert_eq!(down["status"], "unavailable", "{down}");
    assert_eq!(down["database"]["up"], false, "{down}");
    assert_eq!(down["database"]["backend"], "postgresql", "{down}");
    assert!(
        down["database"]["error"]
            .as_str()
            .is_some_and(|e| !e.is_empty() && !e.contains(&db.name)),
        "a reason for people, without the database's name: {down}"
    );
    assert!(down["database"].get("latencyMs").is_none(), "{down}");
    assert_eq!(down["node"], "node-ops-1", "{down}");
    assert_eq!(down["seq"], seq, "{down}");
    assert_eq!(down["epoch"], epoch.as_str(), "{down}");

    // A kiosk's order is refused clearly, with a time to try again.
    let refused = kiosk
        .api
        .client()
        .post(hub.url("/api/orders"))
        .bearer_auth(&kiosk.token)
        .json(&order_body("while-down"))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 503);
    assert_eq!(refused.headers()["retry-after"], "5");
    let body: Value = refused.json().await.unwrap();
    assert_error(
        &(StatusCode::SERVICE_UNAVAILABLE, body.clone()),
        503,
        "database_unavailable",
    );
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("database"),
        "{body}"
    );
    // Another write and a read that need the database: the same answer.
    assert_error(
        &kiosk
            .api
            .post("/api/orders", order_body("while-down-2"))
            .await,
        503,
        "database_unavailable",
    );
    assert_error(
        &kiosk.api.get("/api/orders").await,
        503,
        "database_unavailable",
    );
    // /metrics still answers, saying the database is down.
    let text = metrics(&hub).await;
    assert_labelled(
        &text,
        "node-ops-1",
        "countertop_database_up{node=\"node-ops-1\"} 0",
    );
    assert!(!text.contains("countertop_events_retained{"), "{text}");

    db.give_back().await;

    let back = healthz_until(&hub, "the database is back", 200, None).await;
    assert_eq!(back["status"], "ok", "{back}");
    assert_eq!(back["database"]["up"], true, "{back}");
    assert_eq!(back["seq"], seq, "nothing was written meanwhile: {back}");
    assert_eq!(back["epoch"], epoch.as_str(), "{back}");
    // The refused order was not written: its key makes a new order now.
    ok(
        kiosk
            .api
            .post("/api/orders", order_body("while-down"))
            .await,
        201,
    );
    let after = ok(hub.anonymous().get("/healthz").await, 200);
    assert_eq!(
        after["seq"].as_u64(),
        Some(seq + events_after(&hub, seq).await),
        "seq counts the log's events, gap-free: {after}"
    );
    assert_labelled(
        &metrics(&hub).await,
        "node-ops-1",
        "countertop_database_up{node=\"node-ops-1\"} 1",
    );

    hub.stop().await;
    db.drop().await;
}

/// How many events the log holds after `seq` (an order writes more than
/// one: the order, the dashboard), read from the log itself.
async fn events_after(hub: &TestHub, seq: u64) -> u64 {
    let events: i64 = countertop_hub::on_pool!(hub.hub.pool(), |ex| sqlx::query_scalar(
        "SELECT COUNT(*) FROM events WHERE seq > $1"
    )
    .bind(seq as i64)
    .fetch_one(ex)
    .await)
    .unwrap();
    assert!(events > 0, "the order after recovery is in the log");
    events as u64
}

#[tokio::test]
async fn healthz_names_the_node_and_its_database_and_metrics_label_every_series() {
    let hub = TestHub::start_with(|config| config.node_name = "counter-2".into()).await;
    let backend = if hub.hub.config.database.is_some() {
        "postgresql"
    } else {
        "sqlite"
    };
    let health = ok(hub.anonymous().get("/healthz").await, 200);
    assert_eq!(health["status"], "ok", "{health}");
    assert_eq!(health["node"], "counter-2", "{health}");
    assert_eq!(health["database"]["backend"], backend, "{health}");
    assert_eq!(health["database"]["up"], true, "{health}");
    let seq = health["seq"].as_u64().unwrap();
    let text = metrics(&hub).await;
    assert_labelled(
        &text,
        "counter-2",
        &format!("countertop_event_seq{{node=\"counter-2\"}} {seq}"),
    );
    assert!(
        text.contains("countertop_database_up{node=\"counter-2\"} 1\n"),
        "{text}"
    );

    // A node whose connections are closed (as at shutdown) cannot reach
    // its database either: 503, and a write answers database_unavailable.
    hub.hub.pool().close().await;
    let down = healthz_until(&hub, "the pool is closed", 503, None).await;
    assert_eq!(down["status"], "unavailable", "{down}");
    assert_eq!(down["database"]["up"], false, "{down}");
    assert!(
        hub.hub
            .create_pairing_code(Role::Kiosk, "late")
            .await
            .is_err(),
        "no pairing code without a database"
    );
    assert_error(
        &hub.anonymous().get("/api/menu").await,
        503,
        "database_unavailable",
    );
}

#[test]
fn serve_refuses_a_node_name_that_is_not_one() {
    for bad in ["", "two words", "quote\"d", "x".repeat(64).as_str()] {
        assert!(countertop_hub::check_node_name(bad).is_err(), "{bad:?}");
    }
    assert_eq!(
        countertop_hub::check_node_name("hub-1.cafe").unwrap(),
        "hub-1.cafe"
    );
}
