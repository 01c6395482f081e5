//! Chaos tests against the real hub binary, through a fault-injecting proxy
//! (cut, reset, stall, delay, refuse), with SIGKILLed and restarted hubs.
//!
//! They need `target/<profile>/countertop-hub`: `cargo build -p countertop-hub`.

mod support;

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use countertop_client::{Cache, ConnectOptions, CoreEvent};
use countertop_protocol::{NewOrderItem, OrderStatus, PayType};
use rand::{rngs::StdRng, SeedableRng};
use serde_json::json;
use support::api::Api;
use support::chaos::{
    cached_orders, make_trouble, open_menu, order_items, pair_cli, seed, until_cache_matches,
    FaultCount, Seen, Watcher,
};
use support::hub::Hub;
use support::proxy::FaultProxy;
use tokio::sync::Notify;
use tokio::time::{timeout, Instant};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_watchers_end_with_the_hubs_orders_through_cuts_and_two_hub_kills() {
    let started = Instant::now();
    let seed = seed();
    let root = tempfile::tempdir().unwrap();
    let mut hub = Hub::start(&root.path().join("hub"), 0);
    let manager = Api::pair(&hub, "manager", "chaos-driver").await;
    let menu = open_menu(&manager).await;
    let proxy = Arc::new(FaultProxy::start(hub.addr()).await);

    let dirs: Vec<PathBuf> = (1..=3)
        .map(|n| root.path().join(format!("watcher-{n}")))
        .collect();
    for (n, dir) in dirs.iter().enumerate() {
        pair_cli(&hub, dir, &format!("bar-{n}"));
    }
    let mut watchers: Vec<Option<Watcher>> = dirs
        .iter()
        .map(|d| Some(Watcher::start(d, &proxy.url())))
        .collect();
    for w in watchers.iter().flatten() {
        let deadline = Instant::now() + Duration::from_secs(30);
        while w.seen(|s| s.state != "live") {
            assert!(
                Instant::now() < deadline,
                "watcher never went live; see {}",
                w.dir.display()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    let stop = Arc::new(Notify::new());
    let count = Arc::new(FaultCount::default());
    let trouble = tokio::spawn(make_trouble(
        proxy.clone(),
        stop.clone(),
        seed,
        count.clone(),
    ));
    let mut rng = StdRng::seed_from_u64(seed ^ 0x5eed);
    const ORDERS: usize = 1000;
    let mut ids = Vec::with_capacity(ORDERS);
    let mut crashed: Option<Arc<Mutex<Seen>>> = None;
    for i in 0..ORDERS {
        // However fast the hub, the orders span at least forty faults.
        if i % 25 == 0 {
            count.at_least((i / 25) as u32).await;
        }
        if i == 333 || i == 666 {
            tokio::task::block_in_place(|| hub.restart());
        }
        if i == 500 {
            // A watcher crashes and comes back on the same folder.
            let w = watchers[2].take().unwrap();
            crashed = Some(w.crash().await);
            watchers[2] = Some(Watcher::start(&dirs[2], &proxy.url()));
        }
        let body = json!({
            "idempotencyKey": format!("chaos-{seed}-{i}"),
            "items": order_items(&menu, &mut rng),
            "payType": "CARD",
        });
        let (status, order) = manager
            .send(reqwest::Method::POST, "/api/orders", Some(&body))
            .await;
        assert!(
            status == 201 || status == 200,
            "order {i}: {status} {order}"
        );
        let id = order["orderId"].as_str().unwrap().to_owned();
        ids.push(id.clone());
        // Work on an earlier order now and then.
        if i % 3 == 0 && i >= 10 {
            let target = &ids[i - 10];
            let path = format!("/api/orders/{target}/status");
            let (status, body) = manager
                .send(
                    reqwest::Method::PATCH,
                    &path,
                    Some(&json!({"status": "MAKING"})),
                )
                .await;
            assert!(status == 200 || status == 409, "{status} {body}");
        }
        if i % 7 == 0 && i >= 5 {
            let target = &ids[i - 5];
            let path = format!("/api/orders/{target}/cancel");
            let (status, body) = manager
                .send(
                    reqwest::Method::POST,
                    &path,
                    Some(&json!({"reason": "chaos"})),
                )
                .await;
            assert!(status == 200 || status == 409, "{status} {body}");
        }
    }
    stop.notify_one();
    let faults = trouble.await.unwrap();
    let created_in = started.elapsed();

    let want = manager.orders().await;
    assert_eq!(want.len(), ORDERS, "the hub holds each order once");
    for dir in &dirs {
        until_cache_matches(dir, &want, Duration::from_secs(90)).await;
    }
    let mut seens = Vec::new();
    for w in watchers.iter_mut() {
        seens.push(w.take().unwrap().stop().await);
    }
    for (dir, seen) in dirs.iter().zip(&seens) {
        assert_eq!(
            &cached_orders(dir),
            &want,
            "{} after stopping",
            dir.display()
        );
        let alerted: HashSet<String> = Cache::open(dir)
            .unwrap()
            .alerted_keys()
            .unwrap()
            .into_iter()
            .collect();
        for (id, status) in &want {
            assert!(
                alerted.contains(&format!("order:{id}")),
                "{id} never alerted in {}",
                dir.display()
            );
            assert_eq!(
                alerted.contains(&format!("cancel:{id}")),
                *status == OrderStatus::Cancelled,
                "{id} cancel alert in {}",
                dir.display()
            );
        }
        let seen = seen.lock().unwrap_or_else(PoisonError::into_inner);
        assert_eq!(seen.resyncs, 0, "the hub kept its log; no resync expected");
        let _ = seen.states.len();
    }
    // The two watchers that never crashed printed each order:created and
    // each new-order alert exactly once.
    for seen in &seens[..2] {
        let seen = seen.lock().unwrap_or_else(PoisonError::into_inner);
        for id in want.keys() {
            assert_eq!(seen.created.get(id), Some(&1), "order:created for {id}");
            assert_eq!(
                seen.alerts.get(&format!("order:{id}")),
                Some(&1),
                "alert for {id}"
            );
        }
        assert!(
            seen.states.iter().filter(|s| *s == "reconnecting").count() >= 3,
            "the faults did cut it off"
        );
    }
    // The crashed one: across its two lives, never more than once.
    let before = crashed.expect("watcher 3 crashed");
    let (before, after) = (
        before.lock().unwrap_or_else(PoisonError::into_inner),
        seens[2].lock().unwrap_or_else(PoisonError::into_inner),
    );
    for id in want.keys() {
        let created = before.created.get(id).unwrap_or(&0) + after.created.get(id).unwrap_or(&0);
        assert!(
            created <= 1,
            "order:created for {id} printed {created} times"
        );
        let key = format!("order:{id}");
        let alerts = before.alerts.get(&key).unwrap_or(&0) + after.alerts.get(&key).unwrap_or(&0);
        assert!(alerts <= 1, "{id} alerted {alerts} times");
    }
    eprintln!(
        "chaos: {ORDERS} orders with {faults} proxy faults and 2 hub kills in {created_in:?}; converged after {:?}",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_kiosk_orders_queued_offline_reach_the_hub_exactly_once() {
    let started = Instant::now();
    let seed = seed() ^ 0xdead;
    let root = tempfile::tempdir().unwrap();
    let mut hub = Hub::start(&root.path().join("hub"), 0);
    let manager = Api::pair(&hub, "manager", "checker").await;
    let menu = open_menu(&manager).await;
    let proxy = Arc::new(FaultProxy::start(hub.addr()).await);
    let kiosk_dir = root.path().join("kiosk");
    let code = hub.pairing_code("kiosk", "front");
    let (device, _) =
        countertop_client::pair(&hub.url(), &code, &kiosk_dir, Duration::from_secs(10))
            .await
            .unwrap();
    assert_eq!(device.role, countertop_protocol::Role::Kiosk);

    let mut options = ConnectOptions::new(&kiosk_dir);
    options.hub = Some(proxy.url());
    options.policy.base = Duration::from_millis(100);
    options.policy.cap = Duration::from_millis(800);
    options.policy.suspended_interval = Duration::from_millis(500);
    options.heartbeat.ping_every = Duration::from_secs(1);
    options.heartbeat.answer_within = Duration::from_millis(1500);
    options.heartbeat.connect_within = Duration::from_secs(2);
    options.request_timeout = Duration::from_secs(2);
    options.outbox_retry = Duration::from_millis(100);
    options.offline_ordering = Some(true);
    let (handle, mut events) = countertop_client::connect(options).await.unwrap();
    let mut status = handle.watch_status();
    timeout(
        Duration::from_secs(30),
        status.wait_for(|s| s.state.is_live()),
    )
    .await
    .expect("live")
    .unwrap();

    // The outage: nothing gets through.
    proxy.refuse(true);
    proxy.cut();
    timeout(
        Duration::from_secs(30),
        status.wait_for(|s| !s.state.is_live()),
    )
    .await
    .expect("the kiosk notices the outage")
    .unwrap();
    let mut rng = StdRng::seed_from_u64(seed);
    let mut keys = HashSet::new();
    for _ in 0..100 {
        let items: Vec<NewOrderItem> =
            serde_json::from_value(order_items(&menu, &mut rng)).unwrap();
        keys.insert(handle.place_order(items, PayType::Card, None).unwrap());
    }
    assert_eq!(handle.cache().outbox_len().unwrap(), 100);

    // Back, but unreliable, and the hub dies twice while it drains.
    proxy.refuse(false);
    let stop = Arc::new(Notify::new());
    let count = Arc::new(FaultCount::default());
    let trouble = tokio::spawn(make_trouble(proxy.clone(), stop.clone(), seed, count));
    let mut sent: HashMap<String, String> = HashMap::new();
    let mut restarts = 0;
    let deadline = Instant::now() + Duration::from_secs(120);
    while sent.len() < 100 {
        let event = timeout(deadline - Instant::now(), events.recv())
            .await
            .unwrap_or_else(|_| panic!("only {} of 100 sent in time", sent.len()))
            .expect("events");
        match event {
            CoreEvent::OutboxSent { key, response } => {
                let id = response["orderId"].as_str().expect("an order").to_owned();
                assert!(keys.contains(&key));
                assert!(
                    sent.insert(key, id).is_none(),
                    "an outbox entry reported sent twice"
                );
                // On top of the random faults, a fixed one every ten orders,
                // likely while the next request is in flight.
                match sent.len() {
                    10 | 80 => proxy.cut(),
                    20 | 90 => proxy.reset(),
                    30 | 60 => {
                        tokio::task::block_in_place(|| hub.restart());
                        restarts += 1;
                    }
                    40 => {
                        proxy.stall(true);
                        let proxy = proxy.clone();
                        tokio::spawn(async move {
                            tokio::time::sleep(Duration::from_millis(1500)).await;
                            proxy.stall(false);
                        });
                    }
                    50 => {
                        proxy.refuse(true);
                        proxy.cut();
                        let proxy = proxy.clone();
                        tokio::spawn(async move {
                            tokio::time::sleep(Duration::from_millis(1000)).await;
                            proxy.refuse(false);
                        });
                    }
                    70 => proxy.delay(Duration::from_millis(100)),
                    75 => proxy.delay(Duration::ZERO),
                    _ => {}
                }
            }
            CoreEvent::OutboxRefused { key, error } => panic!("{key} refused: {error:?}"),
            _ => {}
        }
    }
    stop.notify_one();
    let faults = trouble.await.unwrap();
    assert_eq!(restarts, 2);
    assert_eq!(handle.cache().outbox_len().unwrap(), 0);

    let at_hub = manager.orders().await;
    assert_eq!(
        at_hub.len(),
        100,
        "each queued order exactly once at the hub"
    );
    let ids: HashSet<&String> = sent.values().collect();
    assert_eq!(ids.len(), 100, "a hundred different orders");
    for id in ids {
        assert!(at_hub.contains_key(id), "{id} missing at the hub");
    }
    handle.shutdown();
    eprintln!(
        "outbox: 100 orders queued offline, sent through {} faults and {restarts} hub kills in {:?}",
        faults + 8,
        started.elapsed()
    );
}
