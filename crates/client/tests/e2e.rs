//! The client core against the real hub, one behaviour at a time: refusals
//! reach the UI as their error, a restarted screen shows its cache before the
//! hub answers, a revoked device stops, the kiosk switch, manager notices.
//!
//! They need `target/<profile>/countertop-hub`: `cargo build -p countertop-hub`.

mod support;

use std::time::Duration;

use countertop_client::{AlertKind, ClientError, CoreEvent};
use countertop_protocol::{Event, NewOrderItem, OrderStatus, PayType};
use serde_json::json;
use support::api::Api;
use support::device::{device, open};
use support::hub::Hub;
use tokio::sync::mpsc::UnboundedReceiver;
use tokio::time::timeout;

async fn until<T>(
    events: &mut UnboundedReceiver<CoreEvent>,
    pick: impl Fn(CoreEvent) -> Option<T>,
) -> T {
    timeout(Duration::from_secs(30), async {
        loop {
            let event = events.recv().await.expect("core events");
            if let Some(found) = pick(event) {
                return found;
            }
        }
    })
    .await
    .expect("the expected core event within 30 s")
}

async fn live(events: &mut UnboundedReceiver<CoreEvent>) {
    until(events, |e| match e {
        CoreEvent::State(s) if s.state.is_live() => Some(()),
        _ => None,
    })
    .await;
}

/// One of `menu_id`; the demo café's drinks taken hot (their temperature
/// is required).
fn one(menu_id: &str) -> Vec<NewOrderItem> {
    let drink = matches!(
        menu_id,
        "americano"
            | "latte"
            | "cappuccino"
            | "vanilla-latte"
            | "flat-white"
            | "espresso"
            | "green-tea"
            | "earl-grey"
            | "chamomile"
    );
    vec![NewOrderItem {
        menu_id: menu_id.into(),
        quantity: 1,
        options: if drink {
            vec![countertop_protocol::ChosenOption {
                group_id: "temperature".into(),
                choice_id: "hot".into(),
            }]
        } else {
            Vec::new()
        },
    }]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sold_out_refusal_comes_back_as_that_error_and_the_menu_follows() {
    let root = tempfile::tempdir().unwrap();
    let hub = Hub::start(&root.path().join("hub"), 0);
    let manager = Api::pair(&hub, "manager", "boss").await;
    let menu = manager.menu().await;
    let item = &menu[0];
    let (kiosk, mut events) = device(&hub, &root.path().join("kiosk"), "kiosk").await;
    live(&mut events).await;
    let (status, body) = manager
        .send(
            reqwest::Method::PATCH,
            &format!("/api/menu/{}", item.id),
            Some(&json!({"isSoldOut": true})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    until(&mut events, |e| match e {
        CoreEvent::Applied { event, .. } if event.name() == "menu:sold_out_changed" => Some(()),
        _ => None,
    })
    .await;
    let cached = kiosk.cache().menu().unwrap();
    assert!(cached.iter().find(|m| m.id == item.id).unwrap().is_sold_out);

    let key = kiosk
        .place_order(one(&item.id), PayType::Card, None)
        .unwrap();
    let (refused, error) = until(&mut events, |e| match e {
        CoreEvent::OutboxRefused { key, error } => Some((key, error)),
        CoreEvent::OutboxSent { key, .. } => panic!("{key} was accepted"),
        _ => None,
    })
    .await;
    assert_eq!(refused, key);
    assert_eq!(error.code, "sold_out");
    assert!(matches!(
        kiosk.cache().outcome(&key).unwrap(),
        Some(countertop_client::Outcome::Refused { .. })
    ));
    assert_eq!(kiosk.cache().outbox_len().unwrap(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_screen_shows_its_orders_before_the_hub_answers() {
    let root = tempfile::tempdir().unwrap();
    let mut hub = Hub::start(&root.path().join("hub"), 0);
    let manager = Api::pair(&hub, "manager", "boss").await;
    let menu = manager.menu().await;
    let dir = root.path().join("barista");
    let (barista, mut events) = device(&hub, &dir, "barista").await;
    live(&mut events).await;
    for n in 0..5 {
        let body = json!({"idempotencyKey": format!("k{n}"), "items": [{"menuId": menu[0].id, "quantity": 1, "options": [{"groupId": "temperature", "choiceId": "hot"}]}], "payType": "CASH"});
        let (status, order) = manager
            .send(reqwest::Method::POST, "/api/orders", Some(&body))
            .await;
        assert_eq!(status, 201, "{order}");
    }
    let mut applied = 0;
    while applied < 5 {
        until(&mut events, |e| {
            matches!(e, CoreEvent::Applied { .. }).then_some(())
        })
        .await;
        applied += 1;
    }
    barista.shutdown();
    hub.kill();

    // The hub is gone; the screen comes back and has its orders at once.
    let (again, mut events) = open(&dir).await;
    assert_eq!(again.cache().orders().unwrap().len(), 5);
    until(&mut events, |e| match e {
        CoreEvent::State(s) if s.state.name() == "reconnecting" => Some(()),
        _ => None,
    })
    .await;
    assert!(!again.status().state.is_live());
    again.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_device_is_rejected_and_stops_retrying() {
    let root = tempfile::tempdir().unwrap();
    let hub = Hub::start(&root.path().join("hub"), 0);
    let manager = Api::pair(&hub, "manager", "boss").await;
    let code = hub.pairing_code("barista", "doomed");
    let dir = root.path().join("barista");
    let (info, _) = countertop_client::pair(&hub.url(), &code, &dir, Duration::from_secs(10))
        .await
        .unwrap();
    let (handle, mut events) = open(&dir).await;
    live(&mut events).await;
    let (status, body) = manager
        .send(
            reqwest::Method::DELETE,
            &format!("/api/devices/{}", info.device_id),
            None,
        )
        .await;
    assert!(status == 200 || status == 204, "{status} {body}");
    let code = until(&mut events, |e| match e {
        CoreEvent::State(s) => match s.state {
            countertop_client::ConnectionState::Rejected { code, .. } => Some(code),
            _ => None,
        },
        _ => None,
    })
    .await;
    assert_eq!(code, "unauthorized");
    assert_eq!(handle.status().state.name(), "rejected");
    handle.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_kiosk_switch_pauses_ordering_and_managers_see_warnings() {
    let root = tempfile::tempdir().unwrap();
    let hub = Hub::start(&root.path().join("hub"), 0);
    let api = Api::pair(&hub, "manager", "boss").await;
    let menu = api.menu().await;
    let (kiosk, mut kiosk_events) = device(&hub, &root.path().join("kiosk"), "kiosk").await;
    let (_manager, mut manager_events) =
        device(&hub, &root.path().join("manager"), "manager").await;
    live(&mut kiosk_events).await;
    live(&mut manager_events).await;

    let (status, body) = api
        .send(
            reqwest::Method::PUT,
            "/api/settings/is_kiosk_active",
            Some(&json!({"value": "false"})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    until(&mut kiosk_events, |e| match e {
        CoreEvent::Applied { event, .. } if event.name() == "settings:changed" => Some(()),
        _ => None,
    })
    .await;
    let paused = kiosk.place_order(one(&menu[0].id), PayType::Card, None);
    assert!(
        matches!(paused, Err(ClientError::KioskInactive)),
        "{paused:?}"
    );

    let (status, body) = api
        .send(
            reqwest::Method::POST,
            "/api/notifications",
            Some(&json!({"level": "warning", "title": "Milk low", "message": "Two cartons left"})),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let alert = until(&mut manager_events, |e| match e {
        CoreEvent::Alert(a) if a.kind == AlertKind::Notice => Some(a),
        _ => None,
    })
    .await;
    assert_eq!(
        (alert.title.as_str(), alert.body.as_str()),
        ("Milk low", "Two cartons left")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kiosk_follows_the_orders_it_placed() {
    let root = tempfile::tempdir().unwrap();
    let hub = Hub::start(&root.path().join("hub"), 0);
    let api = Api::pair(&hub, "manager", "boss").await;
    let menu = api.menu().await;
    let (kiosk, mut events) = device(&hub, &root.path().join("kiosk"), "kiosk").await;
    live(&mut events).await;
    let key = kiosk
        .place_order(one(&menu[0].id), PayType::Cash, None)
        .unwrap();
    let order_id = until(&mut events, |e| match e {
        CoreEvent::OutboxSent { key: k, response } if k == key => {
            Some(response["orderId"].as_str().unwrap().to_owned())
        }
        _ => None,
    })
    .await;
    assert!(
        kiosk.cache().order(&order_id).unwrap().is_some(),
        "kept from the hub's answer"
    );
    // The barista moves it at once, maybe before the kiosk's follow reaches
    // the hub: the follow replays from before the order, so nothing is missed.
    let (status, body) = api
        .send(
            reqwest::Method::PATCH,
            &format!("/api/orders/{order_id}/status"),
            Some(&json!({"status": "MAKING"})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    // The board's view of the new order is an `order:status_changed` too
    // (status PENDING), and it may arrive after the hub's answer: wait for
    // the change to MAKING itself.
    until(&mut events, |e| match e {
        CoreEvent::Applied { event, .. } => match event.as_ref() {
            Event::OrderStatusChanged(s)
                if s.order_id == order_id && s.status == OrderStatus::Making =>
            {
                Some(())
            }
            _ => None,
        },
        _ => None,
    })
    .await;
    assert_eq!(
        kiosk.cache().order(&order_id).unwrap().unwrap().status,
        OrderStatus::Making
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_epoch_gets_a_resync_and_the_snapshot_fills_the_gap() {
    let root = tempfile::tempdir().unwrap();
    let hub = Hub::start(&root.path().join("hub"), 0);
    let api = Api::pair(&hub, "manager", "boss").await;
    let menu = api.menu().await;
    let dir = root.path().join("barista");
    let (barista, mut events) = device(&hub, &dir, "barista").await;
    live(&mut events).await;
    barista.shutdown();
    until(&mut events, |e| match e {
        CoreEvent::State(s) if s.state.name() == "stopped" => Some(()),
        _ => None,
    })
    .await;
    // While the screen is off an order comes in, and its cache ends up
    // believing in another event log.
    let body = json!({"idempotencyKey": "while-off", "items": [{"menuId": menu[0].id, "quantity": 2, "options": [{"groupId": "temperature", "choiceId": "hot"}]}], "payType": "CARD"});
    let (status, order) = api
        .send(reqwest::Method::POST, "/api/orders", Some(&body))
        .await;
    assert_eq!(status, 201, "{order}");
    let sqlite = rusqlite::Connection::open(dir.join("cache.sqlite3")).unwrap();
    sqlite
        .execute(
            "UPDATE meta SET value = 'an-old-log' WHERE key = 'epoch'",
            [],
        )
        .unwrap();
    drop(sqlite);

    let (again, mut events) = open(&dir).await;
    let (reason, orders) = until(&mut events, |e| match e {
        CoreEvent::Snapshot { reason, orders, .. } => Some((reason, orders)),
        _ => None,
    })
    .await;
    assert_eq!(reason, countertop_client::SnapshotReason::Resync);
    assert!(orders
        .iter()
        .any(|o| o.order_id == order["orderId"].as_str().unwrap()));
    let alert = until(&mut events, |e| match e {
        CoreEvent::Alert(a) => Some(a),
        _ => None,
    })
    .await;
    assert_eq!(
        alert.key,
        format!("order:{}", order["orderId"].as_str().unwrap())
    );
    let cursor = again.cache().cursor().unwrap();
    assert_ne!(cursor.epoch.as_deref(), Some("an-old-log"));
    assert_eq!(again.cache().orders().unwrap().len(), 1);
    again.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_orders_through_the_outbox_and_a_refusal_fails_the_command() {
    const CLI: &str = env!("CARGO_BIN_EXE_countertop-cli");
    let root = tempfile::tempdir().unwrap();
    let hub = Hub::start(&root.path().join("hub"), 0);
    let api = Api::pair(&hub, "manager", "boss").await;
    let menu = api.menu().await;
    let dir = root.path().join("kiosk");
    let code = hub.pairing_code("kiosk", "till");
    let paired = std::process::Command::new(CLI)
        .args(["pair", "--hub", &hub.url(), "--code", &code, "--data"])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(
        paired.status.success(),
        "{}",
        String::from_utf8_lossy(&paired.stderr)
    );

    let order = |item: String| {
        let mut command = tokio::process::Command::new(CLI);
        command
            .args([
                "order",
                "--json",
                "--hub",
                &hub.url(),
                "--item",
                &item,
                "--pay",
                "CASH",
                "--data",
            ])
            .arg(&dir);
        command
    };
    let placed = order(format!("{}:2:temperature=hot", menu[0].id))
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&placed.stdout);
    assert!(
        placed.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&placed.stderr)
    );
    let lines: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let sent = lines
        .iter()
        .find(|l| l["kind"] == "sent")
        .expect("a sent line");
    let order_id = sent["response"]["orderId"].as_str().unwrap();
    assert!(api.orders().await.contains_key(order_id));

    let (status, _) = api
        .send(
            reqwest::Method::PATCH,
            &format!("/api/menu/{}", menu[1].id),
            Some(&json!({"isSoldOut": true})),
        )
        .await;
    assert_eq!(status, 200);
    let refused = order(format!("{}:1:temperature=hot", menu[1].id))
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&refused.stdout);
    assert!(
        !refused.status.success(),
        "a refused order fails the command: {stdout}"
    );
    assert!(
        stdout
            .lines()
            .any(|l| l.contains(r#""kind":"refused""#) && l.contains("sold_out")),
        "{stdout}"
    );
    assert_eq!(api.orders().await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resent_status_change_or_cancel_counts_as_done_and_a_real_conflict_as_refused() {
    use countertop_client::{HttpHub, HubLink, OutboxOp, Submitted};
    let root = tempfile::tempdir().unwrap();
    let hub = Hub::start(&root.path().join("hub"), 0);
    let api = Api::pair(&hub, "manager", "boss").await;
    let menu = api.menu().await;
    let body = json!({"idempotencyKey": "r1", "items": [{"menuId": menu[0].id, "quantity": 1, "options": [{"groupId": "temperature", "choiceId": "hot"}]}], "payType": "CARD"});
    let (_, order) = api
        .send(reqwest::Method::POST, "/api/orders", Some(&body))
        .await;
    let order_id = order["orderId"].as_str().unwrap().to_owned();
    let barista = Api::pair(&hub, "barista", "bar").await;
    let link = HttpHub::new(
        &hub.url(),
        Some(countertop_client::DeviceToken::new(barista.token.clone())),
        Duration::from_secs(5),
    )
    .unwrap();

    let making = OutboxOp::ChangeStatus {
        order_id: order_id.clone(),
        status: OrderStatus::Making,
        from: Some(OrderStatus::Pending),
    };
    // Sent, then sent again as after a lost answer: both done.
    assert!(matches!(
        link.submit(&making).await.unwrap(),
        Submitted::Done(_)
    ));
    assert!(matches!(
        link.submit(&making).await.unwrap(),
        Submitted::Done(_)
    ));
    // Another station moves the order on; the same PENDING → MAKING arriving
    // late is refused, not taken as a recall READY → MAKING.
    let (status, body) = api
        .send(
            reqwest::Method::PATCH,
            &format!("/api/orders/{order_id}/status"),
            Some(&json!({"status": "READY"})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    match link.submit(&making).await.unwrap() {
        Submitted::Refused(error) => {
            assert_eq!(error.code, "invalid_transition");
            assert!(
                error.message.contains("READY") && error.message.contains("PENDING"),
                "{}",
                error.message
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(api.orders().await[&order_id], OrderStatus::Ready);
    let cancel = OutboxOp::Cancel {
        order_id: order_id.clone(),
        reason: "spilled".into(),
    };
    assert!(matches!(
        link.submit(&cancel).await.unwrap(),
        Submitted::Done(_)
    ));
    assert!(matches!(
        link.submit(&cancel).await.unwrap(),
        Submitted::Done(_)
    ));
    // A move the order can no longer make is a refusal the UI shows; an
    // entry queued by an older build, without `from`, too.
    let ready = OutboxOp::ChangeStatus {
        order_id,
        status: OrderStatus::Ready,
        from: None,
    };
    match link.submit(&ready).await.unwrap() {
        Submitted::Refused(error) => assert_eq!(error.code, "invalid_transition"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signature_display_sees_its_workorder_and_signs_through_the_outbox() {
    let root = tempfile::tempdir().unwrap();
    let hub = Hub::start(&root.path().join("hub"), 0);
    let api = Api::pair(&hub, "manager", "boss").await;
    let code = hub.pairing_code("display", "counter pad");
    let dir = root.path().join("display");
    let (info, _) = countertop_client::pair(&hub.url(), &code, &dir, Duration::from_secs(10))
        .await
        .unwrap();
    let (display, mut events) = open(&dir).await;
    live(&mut events).await;
    let new = json!({"title": "Espresso machine service", "customerName": "Café Nord", "lines": [{"description": "Descaling", "amount": 45000}]});
    let (status, workorder) = api
        .send(reqwest::Method::POST, "/api/workorders", Some(&new))
        .await;
    assert_eq!(status, 201, "{workorder}");
    let id = workorder["id"].as_str().unwrap().to_owned();
    let (status, body) = api
        .send(
            reqwest::Method::POST,
            &format!("/api/workorders/{id}/present"),
            Some(&json!({"deviceId": info.device_id})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    until(&mut events, |e| match e {
        CoreEvent::Applied { event, .. } if event.name() == "workorder:updated" => Some(()),
        _ => None,
    })
    .await;
    assert_eq!(display.cache().workorders().unwrap().len(), 1);

    let key = display
        .sign(countertop_protocol::SignatureSubmission {
            work_order_id: id.clone(),
            signer_name: "Mia".into(),
            signature_svg: "<svg xmlns='http://www.w3.org/2000/svg'><path d='M0 0L10 10'/></svg>"
                .into(),
        })
        .unwrap();
    // The hub's answer and its event race each other: wait for both.
    let mut sent = false;
    let mut signed = None;
    while !sent || signed.is_none() {
        let event = timeout(Duration::from_secs(30), events.recv())
            .await
            .expect("the signature's answer and event within 30 s")
            .expect("core events");
        match event {
            CoreEvent::OutboxSent { key: k, .. } if k == key => sent = true,
            CoreEvent::OutboxRefused { error, .. } => panic!("refused: {error:?}"),
            CoreEvent::Applied { event, .. } => {
                if let countertop_protocol::Event::WorkorderUpdated(w) = *event {
                    if w.work_order.signature.is_some() {
                        signed = Some(w);
                    }
                }
            }
            _ => {}
        }
    }
    let signed = signed.expect("a signed workorder");
    assert_eq!(
        signed.work_order.status,
        countertop_protocol::WorkorderStatus::Approved
    );
    let cached = display.cache().workorders().unwrap();
    assert_eq!(
        cached[0].status,
        countertop_protocol::WorkorderStatus::Approved
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manager_runs_the_cafe_through_direct_calls_and_others_may_not() {
    let root = tempfile::tempdir().unwrap();
    let hub = Hub::start(&root.path().join("hub"), 0);
    let (manager, mut manager_events) = device(&hub, &root.path().join("manager"), "manager").await;
    let (barista, mut barista_events) = device(&hub, &root.path().join("barista"), "barista").await;
    let (kiosk, mut kiosk_events) = device(&hub, &root.path().join("kiosk"), "kiosk").await;
    live(&mut manager_events).await;
    live(&mut barista_events).await;
    live(&mut kiosk_events).await;
    let api = manager.api().unwrap();

    // Settings, menu and cells change at the hub and come back as events.
    api.put_setting("timer_amber_minutes", "3").await.unwrap();
    let added = api
        .add_menu_item(&countertop_protocol::NewMenuItem {
            name: "Hot chocolate".into(),
            category: "Coffee".into(),
            price: 4200,
            is_sold_out: false,
            stock: Some(5),
            option_groups: Vec::new(),
            station: None,
            names: Default::default(),
        })
        .await
        .unwrap();
    let cell = api.add_cell("Night shift").await.unwrap();
    let charged = api.charge_cell(&cell.id, 7000).await.unwrap();
    assert_eq!(charged.balance, 7000);
    until(&mut kiosk_events, |e| match e {
        CoreEvent::Applied { event, .. } => match *event {
            countertop_protocol::Event::CellBalanceChanged(c) if c.balance_after == 7000 => {
                Some(())
            }
            _ => None,
        },
        _ => None,
    })
    .await;
    let cache = kiosk.cache();
    assert_eq!(
        cache
            .settings()
            .unwrap()
            .get("timer_amber_minutes")
            .map(String::as_str),
        Some("3")
    );
    assert!(cache
        .menu()
        .unwrap()
        .iter()
        .any(|m| m.id == added.id && m.stock == Some(5)));
    assert_eq!(
        cache
            .cells()
            .unwrap()
            .iter()
            .find(|c| c.id == cell.id)
            .map(|c| c.balance),
        Some(7000)
    );

    // A barista may mark items sold out, but not edit prices; a kiosk neither.
    let sold_out = barista
        .api()
        .unwrap()
        .set_sold_out(&added.id, true)
        .await
        .unwrap();
    assert!(sold_out.is_sold_out);
    let patch = countertop_protocol::MenuPatch {
        price: Some(1),
        ..Default::default()
    };
    let refused = barista
        .api()
        .unwrap()
        .update_menu_item(&added.id, &patch)
        .await;
    assert!(
        matches!(refused, Err(ClientError::NotAllowed { .. })),
        "{refused:?}"
    );
    let refused = kiosk.api().unwrap().set_sold_out(&added.id, false).await;
    assert_eq!(refused.unwrap_err().code(), "forbidden");
    let refused = kiosk.api().unwrap().revoke_device("anything").await;
    assert_eq!(refused.unwrap_err().code(), "forbidden");

    // A hub refusal arrives as its code; an id that would change the path never leaves.
    let missing = api.charge_cell("no-such-cell", 5).await.unwrap_err();
    assert_eq!(missing.code(), "not_found", "{missing}");
    let bad = api.charge_cell("../devices", 5).await.unwrap_err();
    assert_eq!(bad.code(), "validation", "{bad}");

    // Devices: a pairing code, the list, and a revocation.
    let code = api
        .create_pairing_code(countertop_protocol::Role::Display, "Front desk")
        .await
        .unwrap();
    assert_eq!(code.code.len(), 6);
    let devices = api.devices().await.unwrap();
    let kiosk_id = kiosk.cache().device().unwrap().unwrap().device_id;
    assert!(devices.iter().any(|d| d.id == kiosk_id && d.connected));
    api.revoke_device(&kiosk_id).await.unwrap();
    until(&mut kiosk_events, |e| match e {
        CoreEvent::State(s)
            if matches!(s.state, countertop_client::ConnectionState::Rejected { .. }) =>
        {
            Some(())
        }
        _ => None,
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manager_keeps_notices_and_dashboard_figures_and_kiosks_follow_the_offline_policy() {
    let root = tempfile::tempdir().unwrap();
    let hub = Hub::start(&root.path().join("hub"), 0);
    let (manager, mut manager_events) = device(&hub, &root.path().join("manager"), "manager").await;
    let (kiosk, mut kiosk_events) = device(&hub, &root.path().join("kiosk"), "kiosk").await;
    live(&mut manager_events).await;
    live(&mut kiosk_events).await;
    let api = manager.api().unwrap();

    api.send_notice(&countertop_protocol::NewNotification {
        level: countertop_protocol::NotificationLevel::Error,
        title: "Grinder jammed".into(),
        message: "Use the spare".into(),
    })
    .await
    .unwrap();
    kiosk
        .place_order(one("latte"), PayType::Card, None)
        .unwrap();
    until(&mut manager_events, |e| match e {
        CoreEvent::Applied { event, .. } if event.name() == "dashboard:update" => Some(()),
        _ => None,
    })
    .await;
    // Besides the hub's own notices of each pairing (issue 17).
    let notices: Vec<_> = manager
        .cache()
        .notices()
        .unwrap()
        .into_iter()
        .filter(|n| n.title != "Device paired")
        .collect();
    assert_eq!(notices.len(), 1, "{notices:?}");
    assert_eq!(notices[0].title, "Grinder jammed");
    let figures = manager.cache().dashboard().unwrap();
    assert!(!figures.is_empty(), "no dashboard figure kept");

    // The café lets kiosks take orders offline: the hub stops, the kiosk
    // still takes an order, and it reaches the hub once the hub is back.
    api.put_setting("offline_ordering", "true").await.unwrap();
    until(&mut kiosk_events, |e| match e {
        CoreEvent::Applied { event, .. } if event.name() == "settings:changed" => Some(()),
        _ => None,
    })
    .await;
    let mut hub = hub;
    hub.kill();
    until(&mut kiosk_events, |e| match e {
        CoreEvent::State(s) if !s.state.is_live() => Some(()),
        _ => None,
    })
    .await;
    let key = kiosk
        .place_order(one("americano"), PayType::Cash, None)
        .unwrap();
    hub.restart();
    until(&mut kiosk_events, |e| match e {
        CoreEvent::OutboxSent { key: k, .. } if k == key => Some(()),
        _ => None,
    })
    .await;

    // Without the policy, an offline kiosk pauses ordering.
    api.put_setting("offline_ordering", "false").await.unwrap();
    until(&mut kiosk_events, |e| match e {
        CoreEvent::Applied { event, .. } if event.name() == "settings:changed" => Some(()),
        _ => None,
    })
    .await;
    hub.kill();
    until(&mut kiosk_events, |e| match e {
        CoreEvent::State(s) if !s.state.is_live() => Some(()),
        _ => None,
    })
    .await;
    let paused = kiosk.place_order(one("americano"), PayType::Cash, None);
    assert!(
        matches!(paused, Err(ClientError::OrderingPaused)),
        "{paused:?}"
    );
}

/// How many of `events` apply a `system:notification`, up to the state
/// that `until_state` names.
async fn notices_until(
    events: &mut UnboundedReceiver<CoreEvent>,
    until_state: &str,
) -> Vec<String> {
    let mut seen = Vec::new();
    timeout(Duration::from_secs(30), async {
        loop {
            match events.recv().await.expect("core events") {
                CoreEvent::Applied { event, .. } => {
                    if let countertop_protocol::Event::SystemNotification(n) = *event {
                        seen.push(n.title);
                    }
                }
                CoreEvent::State(s) if s.state.name() == until_state => return,
                _ => {}
            }
        }
    })
    .await
    .expect("the state within 30 s");
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_barista_hears_of_manager_notices_once_across_a_restart() {
    let root = tempfile::tempdir().unwrap();
    let hub = Hub::start(&root.path().join("hub"), 0);
    let api = Api::pair(&hub, "manager", "boss").await;
    let dir = root.path().join("barista");
    let (barista, mut events) = device(&hub, &dir, "barista").await;
    live(&mut events).await;
    let notice =
        |title: &str| json!({"level": "warning", "title": title, "message": "from the office"});

    let (status, body) = api
        .send(
            reqwest::Method::POST,
            "/api/notifications",
            Some(&notice("Oat milk out")),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let alert = until(&mut events, |e| match e {
        CoreEvent::Alert(a) if a.kind == AlertKind::Notice => Some(a),
        _ => None,
    })
    .await;
    assert_eq!(alert.title, "Oat milk out");
    assert_eq!(barista.cache().notices().unwrap().len(), 1);

    // Off while the next one is sent: it comes on resuming, once, and the
    // first is neither applied nor alerted again.
    barista.shutdown();
    until(&mut events, |e| match e {
        CoreEvent::State(s) if s.state.name() == "stopped" => Some(()),
        _ => None,
    })
    .await;
    let (status, body) = api
        .send(
            reqwest::Method::POST,
            "/api/notifications",
            Some(&notice("Card reader down")),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let (again, mut events) = open(&dir).await;
    assert_eq!(
        notices_until(&mut events, "live").await,
        ["Card reader down"]
    );
    let titles: Vec<String> = again
        .cache()
        .notices()
        .unwrap()
        .into_iter()
        .map(|n| n.title)
        .collect();
    assert_eq!(titles, ["Card reader down", "Oat milk out"]);
    let alerted = again.cache().alerted_keys().unwrap();
    assert_eq!(alerted.len(), 2, "{alerted:?}");
    assert!(
        alerted.iter().all(|k| k.starts_with("notice:")),
        "{alerted:?}"
    );
    again.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_station_marks_its_lines_through_the_outbox_and_the_cache_follows_to_ready() {
    use countertop_client::{HttpHub, HubLink, OutboxOp, Submitted};
    let root = tempfile::tempdir().unwrap();
    let hub = Hub::start(&root.path().join("hub"), 0);
    let api = Api::pair(&hub, "manager", "boss").await;
    let body = json!({"idempotencyKey": "m1", "items": [
        {"menuId": "americano", "quantity": 1, "options": [{"groupId": "temperature", "choiceId": "hot"}]},
        {"menuId": "croissant", "quantity": 1}], "payType": "CARD"});
    let (status, order) = api
        .send(reqwest::Method::POST, "/api/orders", Some(&body))
        .await;
    assert_eq!(status, 201, "{order}");
    let order_id = order["orderId"].as_str().unwrap().to_owned();
    let (bar, mut events) = device(&hub, &root.path().join("bar"), "barista").await;
    live(&mut events).await;
    assert!(
        bar.cache().order(&order_id).unwrap().is_some(),
        "in the snapshot"
    );

    // The bar marks its drink: queued, sent once, and the cache hears the
    // mark and the order starting.
    let key = bar.mark_items(&order_id, vec![0], true).unwrap();
    until(&mut events, |e| match e {
        CoreEvent::OutboxSent { key: k, .. } if k == key => Some(()),
        _ => None,
    })
    .await;
    until(&mut events, |e| match e {
        CoreEvent::Applied { event, .. } if event.name() == "order:status_changed" => Some(()),
        _ => None,
    })
    .await;
    let cached = bar.cache().order(&order_id).unwrap().unwrap();
    assert!(cached.items[0].done && !cached.items[1].done);
    assert_eq!(cached.status, OrderStatus::Making);

    // The kitchen's mark, sent twice as after a lost answer: done both times,
    // and the order READY once.
    let kitchen = Api::pair(&hub, "barista", "kitchen").await;
    let link = HttpHub::new(
        &hub.url(),
        Some(countertop_client::DeviceToken::new(kitchen.token.clone())),
        Duration::from_secs(5),
    )
    .unwrap();
    let croissant = OutboxOp::MarkItems {
        order_id: order_id.clone(),
        lines: vec![1],
        done: true,
    };
    for _ in 0..2 {
        assert!(matches!(
            link.submit(&croissant).await.unwrap(),
            Submitted::Done(_)
        ));
    }
    until(&mut events, |e| match e {
        CoreEvent::Applied { event, .. } => match &*event {
            countertop_protocol::Event::OrderStatusChanged(s) if s.status == OrderStatus::Ready => {
                Some(())
            }
            _ => None,
        },
        _ => None,
    })
    .await;
    let cached = bar.cache().order(&order_id).unwrap().unwrap();
    assert!(cached.items.iter().all(|l| l.done));
    assert_eq!(cached.status, OrderStatus::Ready);
    assert_eq!(api.orders().await[&order_id], OrderStatus::Ready);
}
