//! Several hub nodes on one PostgreSQL database (issue 18): writes on any
//! node share one gap-free `seq`, every node delivers every event to its
//! own subscribers, and devices, pairing codes and revocations hold on
//! every node. Needs `COUNTERTOP_TEST_POSTGRES` (a server where the test
//! may create databases; `./dev.sh test` starts one).

mod support;

use std::collections::{HashMap, HashSet};
use std::path::Path;

use countertop_protocol::Role;
use futures::future::join_all;
use reqwest::StatusCode;
use serde_json::{json, Value};
use support::{line, Api, TestHub, Ws};

/// The files every node on one database must share.
fn copy_identity(from: &Path, to: &Path) {
    for name in ["secret.key", "tls.key", "tls.crt"] {
        std::fs::copy(from.join(name), to.join(name)).unwrap();
    }
}

/// `n` nodes on one fresh database, the first started alone (it migrates
/// and seeds), the others with its secret and TLS identity.
async fn nodes(n: usize) -> Vec<TestHub> {
    let database = support::fresh_database();
    let first = {
        let database = database.clone();
        TestHub::start_with(move |c| c.database = Some(database)).await
    };
    let mut all = vec![first];
    for _ in 1..n {
        let dir = tempfile::tempdir().unwrap();
        copy_identity(all[0].dir.path(), dir.path());
        let database = database.clone();
        all.push(TestHub::start_in(dir, move |c| c.database = Some(database)).await);
    }
    all
}

/// The same device's API, on another node.
fn on(node: &TestHub, token: &str) -> Api {
    Api::new(node.url(""), Some(token.to_owned()))
}

/// A barista connection on `node` reading orders.
async fn watcher(node: &TestHub, token: &str) -> Ws {
    let mut ws = Ws::connect(&node.ws_url_with("topics="), Some(token), None)
        .await
        .expect("websocket connects");
    ws.subscribe(&["orders"]).await;
    ws
}

/// Reads `ws` until it has seen an `order:created` for each of `ids`;
/// answers how many times each order came, checking that `seq` only rises.
async fn orders_seen(ws: &mut Ws, ids: &HashSet<String>) -> HashMap<String, usize> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut last_seq = 0;
    while !ids.iter().all(|id| seen.contains_key(id)) {
        let frame = ws.next().await;
        if let Some(seq) = frame["seq"].as_u64() {
            assert!(seq > last_seq, "seq {seq} after {last_seq}: {frame}");
            last_seq = seq;
        }
        if frame["event"] == "order:created" {
            let id = frame["data"]["orderId"].as_str().unwrap().to_owned();
            *seen.entry(id).or_default() += 1;
        }
    }
    // Anything else already on its way comes before the pong.
    for frame in ws.drain().await {
        if frame["event"] == "order:created" {
            let id = frame["data"]["orderId"].as_str().unwrap().to_owned();
            *seen.entry(id).or_default() += 1;
        }
    }
    seen
}

#[tokio::test]
async fn concurrent_writers_on_two_nodes_never_share_a_seq_nor_leave_a_gap() {
    let nodes = nodes(2).await;
    // Paired on the first node; its token works on the second at once.
    let kiosk = nodes[0].pair(Role::Kiosk).await;
    let barista = nodes[1].pair(Role::Barista).await;
    let mut watchers = vec![
        watcher(&nodes[0], &barista.token).await,
        watcher(&nodes[1], &barista.token).await,
    ];
    let apis = [on(&nodes[0], &kiosk.token), on(&nodes[1], &kiosk.token)];
    const ORDERS: usize = 40;
    let placed = join_all((0..ORDERS).map(|i| {
        let api = &apis[i % 2];
        async move {
            api.post(
                "/api/orders",
                json!({
                    "idempotencyKey": format!("cluster-{i}"),
                    "items": [line("americano", 1)],
                    "payType": "CARD",
                }),
            )
            .await
        }
    }))
    .await;
    let mut ids = HashSet::new();
    let mut daily = HashSet::new();
    for (status, body) in &placed {
        assert_eq!(*status, StatusCode::CREATED, "{body}");
        ids.insert(body["orderId"].as_str().unwrap().to_owned());
        assert!(
            daily.insert(body["dailyNum"].as_i64().unwrap()),
            "daily number {} given twice",
            body["dailyNum"]
        );
    }
    assert_eq!(ids.len(), ORDERS);
    // The log: one row per seq, from 1 up, no gap.
    let seqs: Vec<i64> = countertop_hub::on_pool!(nodes[0].hub.pool(), |ex| {
        sqlx::query_scalar("SELECT seq FROM events ORDER BY seq")
            .fetch_all(ex)
            .await
    })
    .unwrap();
    let expected: Vec<i64> = (1..=seqs.len() as i64).collect();
    assert_eq!(seqs, expected, "the log's seq is gap-free from 1");
    // Every node delivered every order to its own subscriber, once.
    for ws in &mut watchers {
        let seen = orders_seen(ws, &ids).await;
        assert!(seen.values().all(|n| *n == 1), "each order once: {seen:?}");
        assert_eq!(seen.len(), ORDERS);
    }
    // Both nodes published up to the log's head.
    let head = *seqs.last().unwrap() as u64;
    for node in &nodes {
        let deadline = tokio::time::Instant::now() + support::WAIT;
        while node.hub.log.seq() < head {
            assert!(tokio::time::Instant::now() < deadline, "node caught up");
            tokio::task::yield_now().await;
            let _ = node.anonymous().get("/healthz").await;
        }
        assert_eq!(node.hub.log.seq(), head);
    }
}

#[tokio::test]
async fn a_replay_on_another_node_resumes_with_the_same_epoch_and_cursor() {
    let nodes = nodes(2).await;
    let kiosk = nodes[0].pair(Role::Kiosk).await;
    let barista = nodes[0].pair(Role::Barista).await;
    let (status, first) = on(&nodes[0], &kiosk.token)
        .order(&[("americano", 1)], "CARD")
        .await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    let (_, health) = nodes[0].anonymous().get("/healthz").await;
    let cursor = health["seq"].as_u64().unwrap();
    let epoch = health["epoch"].as_str().unwrap().to_owned();
    let (status, second) = on(&nodes[0], &kiosk.token)
        .order(&[("latte", 1)], "CARD")
        .await;
    assert_eq!(status, StatusCode::CREATED, "{second}");
    // The same epoch on the other node, and a resume there from the cursor
    // brings exactly what came after it.
    let (_, other) = nodes[1].anonymous().get("/healthz").await;
    assert_eq!(other["epoch"], epoch.as_str());
    let mut ws = Ws::connect(
        &nodes[1].ws_url_with(&format!("topics=orders&since={cursor}&epoch={epoch}")),
        Some(&barista.token),
        None,
    )
    .await
    .unwrap();
    let created = ws.next_event("order:created").await;
    assert_eq!(created["data"]["orderId"], second["orderId"]);
    assert!(created["seq"].as_u64().unwrap() > cursor);
    for frame in ws.drain().await {
        assert_ne!(frame["data"]["orderId"], first["orderId"], "{frame}");
    }
}

#[tokio::test]
async fn a_device_revoked_on_one_node_is_closed_and_refused_on_the_other() {
    let nodes = nodes(2).await;
    let manager = nodes[0].pair(Role::Manager).await;
    let kiosk = nodes[0].pair(Role::Kiosk).await;
    let mut ws = Ws::connect(&nodes[1].ws_url_with("topics="), Some(&kiosk.token), None)
        .await
        .unwrap();
    ws.next_event("welcome").await;
    let (status, body) = manager
        .api
        .delete(&format!("/api/devices/{}", kiosk.id))
        .await;
    assert!(status.is_success(), "{status} {body}");
    assert_eq!(ws.closed().await, 4001);
    let (status, _) = on(&nodes[1], &kiosk.token).get("/api/orders").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_pairing_code_made_on_one_node_pairs_on_the_other() {
    let nodes = nodes(2).await;
    let manager = nodes[0].pair(Role::Manager).await;
    let (status, code) = manager
        .api
        .post(
            "/api/devices/pairing-codes",
            json!({"role": "kiosk", "name": "by the door"}),
        )
        .await;
    assert!(status.is_success(), "{status} {code}");
    let (status, paired) = nodes[1]
        .anonymous()
        .post("/api/devices/pair", json!({ "code": code["code"] }))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{paired}");
    let token = paired["token"].as_str().unwrap();
    // Known on both nodes: the one that paired it, and the one that made
    // the code.
    for node in &nodes {
        let (status, body) = on(node, token).get("/api/menu").await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let (_, devices) = manager.api.get("/api/devices").await;
    let names: Vec<&str> = devices
        .as_array()
        .or_else(|| devices["devices"].as_array())
        .unwrap()
        .iter()
        .filter_map(|d: &Value| d["name"].as_str())
        .collect();
    assert!(names.contains(&"by the door"), "{devices}");
}

#[tokio::test]
async fn wrong_pairing_codes_count_against_one_budget_on_every_node() {
    let nodes = nodes(3).await;
    // Five wrong codes a minute per address, spread over the nodes.
    for i in 0..5 {
        let (status, body) = nodes[i % 3]
            .anonymous()
            .post("/api/devices/pair", json!({"code": "000000"}))
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "attempt {i}: {body}");
    }
    // The sixth is refused on a node that has seen only one of them.
    for node in &nodes {
        let (status, body) = node
            .anonymous()
            .post("/api/devices/pair", json!({"code": "000000"}))
            .await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    }
}

#[tokio::test]
async fn wrong_pins_lock_a_cell_on_every_node() {
    let nodes = nodes(2).await;
    let kiosk = nodes[0].pair(Role::Kiosk).await;
    let unlock = |node: &TestHub, pin: &str| {
        let api = on(node, &kiosk.token);
        let pin = pin.to_owned();
        async move {
            api.post("/api/cells/cell-design/unlock", json!({ "pin": pin }))
                .await
        }
    };
    for i in 0..5 {
        let (status, body) = unlock(&nodes[i % 2], "9999").await;
        assert_eq!(status, StatusCode::FORBIDDEN, "attempt {i}: {body}");
    }
    // Locked everywhere, even for the right PIN.
    for node in &nodes {
        let (status, body) = unlock(node, "1234").await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    }
}

#[tokio::test]
async fn a_typed_code_pairing_started_on_one_node_finishes_on_another() {
    use base64::engine::general_purpose::STANDARD as BASE64;
    use base64::Engine;
    use hmac::{Hmac, Mac};
    use spake2::{Ed25519Group, Identity, Password, Spake2};

    fn confirm(key: &[u8], label: &[u8], fingerprint: &[u8], msg_a: &[u8], msg_b: &[u8]) -> String {
        let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(key).unwrap();
        for part in [label, fingerprint, msg_a, msg_b] {
            mac.update(part);
        }
        BASE64.encode(mac.finalize().into_bytes())
    }

    let nodes = nodes(2).await;
    let code = nodes[0]
        .hub
        .create_pairing_code(Role::Kiosk, "Typed")
        .await
        .unwrap()
        .code;
    let (state, msg_a) = Spake2::<Ed25519Group>::start_a(
        &Password::new(code.as_bytes()),
        &Identity::new(b"countertop device"),
        &Identity::new(b"countertop hub"),
    );
    let (status, offers) = nodes[0]
        .anonymous()
        .post(
            "/api/devices/pake/start",
            json!({ "msg": BASE64.encode(&msg_a) }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{offers}");
    let offer = &offers["offers"][0];
    let msg_b = BASE64.decode(offer["msg"].as_str().unwrap()).unwrap();
    let key = state.finish(&msg_b).unwrap();
    // Both nodes show the same certificate, whose fingerprint both sides
    // bind their confirmations to.
    let fingerprint: Vec<u8> = (0..nodes[1].hub.tls.fingerprint.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&nodes[1].hub.tls.fingerprint[i..i + 2], 16).unwrap())
        .collect();
    assert_eq!(
        offer["confirm"].as_str().unwrap(),
        confirm(
            &key,
            b"countertop hub confirm",
            &fingerprint,
            &msg_a,
            &msg_b
        )
    );
    let finish = json!({
        "session": offers["session"],
        "confirm": confirm(&key, b"countertop device confirm", &fingerprint, &msg_a, &msg_b),
    });
    let (status, paired) = nodes[1]
        .anonymous()
        .post("/api/devices/pake/finish", finish.clone())
        .await;
    assert_eq!(status, StatusCode::CREATED, "{paired}");
    assert_eq!(paired["name"], "Typed");
    // Used once: the same finish again, on either node, pairs nobody.
    for node in &nodes {
        let (status, body) = node
            .anonymous()
            .post("/api/devices/pake/finish", finish.clone())
            .await;
        assert!(status.is_client_error(), "{status} {body}");
    }
}

#[tokio::test]
async fn a_secret_rotated_on_one_node_is_taken_by_the_others() {
    let nodes = nodes(2).await;
    let manager = nodes[0].pair(Role::Manager).await;
    let kiosk = nodes[0].pair(Role::Kiosk).await;
    let mut ws = Ws::connect(&nodes[1].ws_url_with("topics="), Some(&kiosk.token), None)
        .await
        .unwrap();
    ws.next_event("welcome").await;
    let (status, body) = manager
        .api
        .post("/api/devices/rotate-secret", json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // The other node took the new secret: it closed its device sockets
    // with 4002, as the rotating node does.
    assert_eq!(ws.closed().await, 4002);
    let secret =
        |node: &TestHub| std::fs::read_to_string(node.dir.path().join("secret.key")).unwrap();
    assert_eq!(secret(&nodes[0]), secret(&nodes[1]));
    // The old token: refused on both, but refreshed by either.
    for node in &nodes {
        let (status, _) = on(node, &kiosk.token).get("/api/menu").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let (status, fresh) = on(&nodes[1], &kiosk.token)
        .post("/api/devices/refresh", json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{fresh}");
    let token = fresh["token"].as_str().unwrap();
    for node in &nodes {
        let (status, body) = on(node, token).get("/api/menu").await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    // A node started afterwards with the old files takes the rotation too.
    let dir = tempfile::tempdir().unwrap();
    for name in ["secret.key", "tls.key", "tls.crt"] {
        let old = if name == "secret.key" {
            // The secret before the rotation: the first line of .prev.
            let prev =
                std::fs::read_to_string(nodes[0].dir.path().join("secret.key.prev")).unwrap();
            prev.lines()
                .next()
                .unwrap()
                .split_whitespace()
                .next()
                .unwrap()
                .to_owned()
        } else {
            std::fs::read_to_string(nodes[0].dir.path().join(name)).unwrap()
        };
        std::fs::write(dir.path().join(name), old).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(
            dir.path().join(name),
            std::fs::Permissions::from_mode(0o600),
        )
        .unwrap();
    }
    let database = nodes[0].hub.config.database.clone();
    let url = database.clone().unwrap();
    let late = TestHub::start_in(dir, move |c| c.database = database).await;
    assert_eq!(secret(&late), secret(&nodes[0]));
    let (status, body) = on(&late, token).get("/api/menu").await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // After a leak, `new-secret` with every node stopped leaves nothing of
    // the old secrets in the database: no rotation sealed under one.
    let rotations = || async {
        use sqlx::Connection;
        let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
        let count: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM meta WHERE key IN ('secret_rotation', 'node_secret_id')",
        )
        .fetch_one(&mut conn)
        .await
        .unwrap();
        count
    };
    let late_dir = late.stop().await;
    for node in nodes {
        node.stop().await;
    }
    assert_eq!(
        rotations().await,
        2,
        "the rotation and the current secret's id"
    );
    support::succeeds(
        std::process::Command::new(env!("CARGO_BIN_EXE_countertop-hub"))
            .args(["new-secret", "--database", &url, "--data"])
            .arg(late_dir.path()),
    );
    assert_eq!(rotations().await, 0);
}

#[tokio::test]
async fn a_device_resuming_on_a_node_behind_the_log_is_not_told_to_resync() {
    let nodes = nodes(2).await;
    let barista = nodes[0].pair(Role::Barista).await;
    let kiosk = nodes[0].pair(Role::Kiosk).await;
    let (_, health) = nodes[1].anonymous().get("/healthz").await;
    let epoch = health["epoch"].as_str().unwrap().to_owned();
    // An event committed as another node would, whose notification was
    // lost: node 2 has not read it (its tail reads on a timer).
    let head: i64 = countertop_hub::on_pool!(nodes[0].hub.pool(), |ex| {
        sqlx::query_scalar("SELECT CAST(value AS BIGINT) FROM meta WHERE key = 'last_seq'")
            .fetch_one(ex)
            .await
    })
    .unwrap();
    let seen = head + 1;
    let mut tx = nodes[0].hub.pool().begin().await.unwrap();
    countertop_hub::on!(tx, |ex| sqlx::query(
        "INSERT INTO events (seq, name, data, topic, created_ms)
         VALUES ($1, 'menu:updated', '{}', 'menu', 0)"
    )
    .bind(seen)
    .execute(ex)
    .await
    .map(|_| ()))
    .unwrap();
    countertop_hub::on!(tx, |ex| sqlx::query(
        "UPDATE meta SET value = $1 WHERE key = 'last_seq'"
    )
    .bind(seen.to_string())
    .execute(ex)
    .await
    .map(|_| ()))
    .unwrap();
    tx.commit().await.unwrap();
    // A device that saw it on node 1 resumes on node 2: from its cursor,
    // with nothing to replay, and no resync.
    let mut ws = Ws::connect(
        &nodes[1].ws_url_with(&format!("topics=orders&since={seen}&epoch={epoch}")),
        Some(&barista.token),
        None,
    )
    .await
    .unwrap();
    let replayed = ws.next_event("replayed").await;
    assert_eq!(replayed["data"]["count"], 0, "{replayed}");
    let (status, order) = on(&nodes[1], &kiosk.token)
        .order(&[("americano", 1)], "CARD")
        .await;
    assert_eq!(status, StatusCode::CREATED, "{order}");
    let created = ws.next_event("order:created").await;
    assert_eq!(created["data"]["orderId"], order["orderId"]);
    assert!(created["seq"].as_i64().unwrap() > seen);
}
