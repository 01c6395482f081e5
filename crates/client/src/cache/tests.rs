//! The cache's own rules, against a real SQLite file in a temporary folder:
//! an event is applied exactly once (skipped at or below the cursor, or an
//! order's event at or below that order's own newest seq), the cursor only
//! moves forward, an alert is recorded once with its event, and an outbox
//! entry leaves the queue in the transaction that records its outcome.

use chrono::{DateTime, TimeZone, Utc};
use countertop_protocol::{
    ErrorBody, Event, MenuItem, NewOrder, Order, OrderStatus, OrderStatusChanged, PayType, Role,
    Snapshot,
};
use tempfile::TempDir;

use super::{Applied, Cache, Outcome};
use crate::alerts::{Alert, AlertKind, AlertSettings};
use crate::outbox::{OutboxKey, OutboxOp};

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0)
        .single()
        .unwrap_or_default()
}

fn open() -> (TempDir, Cache) {
    let dir = tempfile::tempdir().unwrap();
    let cache = Cache::open(dir.path()).unwrap();
    (dir, cache)
}

fn menu_updated(id: &str, price: i64) -> Event {
    Event::MenuUpdated(MenuItem {
        id: id.into(),
        name: id.into(),
        category: "coffee".into(),
        price,
        is_sold_out: false,
        stock: None,
        option_groups: Vec::new(),
        station: countertop_protocol::DEFAULT_STATION.to_owned(),
        names: Default::default(),
        position: 0,
        photo: None,
    })
}

fn created(id: &str) -> Event {
    crate::fixtures::created(id, 1, t0())
}

fn status_changed(id: &str, status: OrderStatus) -> Event {
    Event::OrderStatusChanged(OrderStatusChanged {
        order_id: id.into(),
        daily_num: 1,
        status,
        previous_status: Some(OrderStatus::Pending),
        updated_at: Some(t0()),
    })
}

fn new_order_alert(id: &str) -> Alert {
    Alert {
        kind: AlertKind::NewOrder,
        key: format!("order:{id}"),
        title: "New order".into(),
        body: id.into(),
        sound: None,
        notify: false,
        daily_num: None,
    }
}

fn snapshot(seq: u64, orders: Vec<Order>) -> Snapshot {
    Snapshot {
        epoch: "e1".into(),
        seq,
        menu: vec![],
        settings: Default::default(),
        orders,
        cells: None,
        workorders: None,
        board: vec![],
    }
}

fn price_of(cache: &Cache, id: &str) -> Option<i64> {
    cache
        .menu()
        .unwrap()
        .into_iter()
        .find(|item| item.id == id)
        .map(|item| item.price)
}

fn status_of(cache: &Cache, id: &str) -> Option<OrderStatus> {
    cache.order(id).unwrap().map(|o| o.status)
}

fn committed() -> Applied {
    Applied::Committed { alert: None }
}

#[test]
fn an_event_at_or_below_the_cursor_is_skipped_and_changes_nothing() {
    let (_dir, cache) = open();
    assert_eq!(
        cache.apply(5, &menu_updated("latte", 3500), None).unwrap(),
        committed()
    );
    assert_eq!(cache.cursor().unwrap().seq, 5);
    // The same seq again, and an older one: both already applied.
    assert_eq!(
        cache.apply(5, &menu_updated("latte", 9900), None).unwrap(),
        Applied::Skipped
    );
    assert_eq!(
        cache.apply(3, &menu_updated("latte", 1), None).unwrap(),
        Applied::Skipped
    );
    assert_eq!(price_of(&cache, "latte"), Some(3500));
    assert_eq!(cache.cursor().unwrap().seq, 5);
    assert_eq!(
        cache.apply(6, &menu_updated("latte", 4000), None).unwrap(),
        committed()
    );
    assert_eq!(price_of(&cache, "latte"), Some(4000));
}

#[test]
fn the_cursor_only_moves_forward() {
    let (_dir, cache) = open();
    assert_eq!(cache.cursor().unwrap().seq, 0);
    assert_eq!(cache.cursor().unwrap().epoch, None);
    cache.advance(10).unwrap();
    assert_eq!(cache.cursor().unwrap().seq, 10);
    cache.advance(4).unwrap();
    assert_eq!(cache.cursor().unwrap().seq, 10, "advance never goes back");
    // An order's event below the cursor may still apply (see below), but it
    // never takes the cursor back with it.
    cache.remember_order(&order("ORD-1")).unwrap();
    assert_eq!(
        cache
            .apply(7, &status_changed("ORD-1", OrderStatus::Making), None)
            .unwrap(),
        committed()
    );
    assert_eq!(cache.cursor().unwrap().seq, 10);
    cache.advance(12).unwrap();
    assert_eq!(cache.cursor().unwrap().seq, 12);
}

#[test]
fn seqs_may_jump_and_what_the_jump_passed_is_skipped_later() {
    // A device reads only its topics, so the seqs it sees jump; the cache
    // applies the next one it is given and moves the cursor there. What the
    // jump passed over is then at or below the cursor: skipped.
    let (_dir, cache) = open();
    cache.apply(2, &menu_updated("latte", 3500), None).unwrap();
    assert_eq!(
        cache.apply(9, &menu_updated("mocha", 4000), None).unwrap(),
        committed()
    );
    assert_eq!(cache.cursor().unwrap().seq, 9);
    assert_eq!(
        cache.apply(5, &menu_updated("tea", 3000), None).unwrap(),
        Applied::Skipped
    );
    assert_eq!(price_of(&cache, "tea"), None);
}

#[test]
fn an_orders_events_are_judged_by_its_own_newest_seq() {
    let (_dir, cache) = open();
    // Newer events of other topics first, as when a kiosk starts following
    // an order: the cursor is past the order's history.
    cache.apply(20, &menu_updated("latte", 3500), None).unwrap();
    assert_eq!(
        cache.apply(11, &created("ORD-1"), None).unwrap(),
        Applied::Skipped,
        "an order the cache does not know is judged by the cursor"
    );
    assert_eq!(status_of(&cache, "ORD-1"), None);

    // An order the cache knows (the hub's answer to placing it) takes its
    // history from its own seq on.
    cache.remember_order(&order("ORD-2")).unwrap();
    assert_eq!(
        cache.apply(12, &created("ORD-2"), None).unwrap(),
        Applied::Skipped,
        "an order:created for a known order is always skipped"
    );
    assert_eq!(
        cache
            .apply(13, &status_changed("ORD-2", OrderStatus::Making), None)
            .unwrap(),
        committed()
    );
    assert_eq!(status_of(&cache, "ORD-2"), Some(OrderStatus::Making));
    assert_eq!(
        cache
            .apply(13, &status_changed("ORD-2", OrderStatus::Ready), None)
            .unwrap(),
        Applied::Skipped,
        "at the order's own newest seq"
    );
    assert_eq!(status_of(&cache, "ORD-2"), Some(OrderStatus::Making));
    assert_eq!(
        cache
            .apply(14, &status_changed("ORD-2", OrderStatus::Ready), None)
            .unwrap(),
        committed()
    );
    assert_eq!(status_of(&cache, "ORD-2"), Some(OrderStatus::Ready));
    assert_eq!(cache.cursor().unwrap().seq, 20);
}

#[test]
fn an_alert_is_recorded_once_with_its_event() {
    let dir = tempfile::tempdir().unwrap();
    let cache = Cache::open(dir.path()).unwrap();
    let alert = new_order_alert("ORD-1");
    assert_eq!(
        cache
            .apply(1, &created("ORD-1"), Some(alert.clone()))
            .unwrap(),
        Applied::Committed {
            alert: Some(alert.clone())
        }
    );
    // Skipped: no alert, whatever the caller offers.
    assert_eq!(
        cache
            .apply(1, &created("ORD-1"), Some(alert.clone()))
            .unwrap(),
        Applied::Skipped
    );
    // The dedupe row is on disk with the event: after reopening the file, a
    // newer event offering the same key commits without alerting.
    drop(cache);
    let cache = Cache::open(dir.path()).unwrap();
    assert_eq!(cache.cursor().unwrap().seq, 1, "the cursor is on disk");
    assert_eq!(
        cache
            .apply(
                2,
                &status_changed("ORD-1", OrderStatus::Making),
                Some(alert)
            )
            .unwrap(),
        committed()
    );
    assert_eq!(cache.alerted_keys().unwrap(), vec!["order:ORD-1"]);
}

#[test]
fn a_snapshot_sets_the_cursor_and_alerts_only_orders_it_did_not_hold() {
    let (_dir, cache) = open();
    cache.remember_order(&order("ORD-1")).unwrap();
    let alerts = cache
        .load_snapshot(&snapshot(30, vec![order("ORD-1"), order("ORD-2")]), |o| {
            Some(new_order_alert(&o.order_id))
        })
        .unwrap();
    assert_eq!(alerts, vec![new_order_alert("ORD-2")]);
    assert_eq!(cache.cursor().unwrap().seq, 30);
    assert_eq!(cache.cursor().unwrap().epoch.as_deref(), Some("e1"));
    // The snapshot's orders stand at its seq: their older events are skipped.
    assert_eq!(
        cache
            .apply(29, &status_changed("ORD-2", OrderStatus::Ready), None)
            .unwrap(),
        Applied::Skipped
    );
    // Loading it again alerts for nothing.
    let again = cache
        .load_snapshot(&snapshot(30, vec![order("ORD-2")]), |o| {
            Some(new_order_alert(&o.order_id))
        })
        .unwrap();
    assert!(again.is_empty());
}

fn order(id: &str) -> Order {
    Order {
        order_id: id.into(),
        daily_num: 1,
        pay_type: PayType::Card,
        cell_info: None,
        items: vec![],
        total_amount: 3500,
        status: OrderStatus::Pending,
        created_at: t0(),
        updated_at: t0(),
        cancel_reason: None,
        fulfilment: Default::default(),
        placed_at: None,
        reference: None,
    }
}

fn place(key: &str) -> OutboxOp {
    OutboxOp::PlaceOrder {
        order: NewOrder {
            idempotency_key: key.into(),
            items: vec![],
            pay_type: PayType::Cash,
            cell_id: None,
            cell_pin: None,
            fulfilment: Default::default(),
            placed_at: None,
            reference: None,
        },
    }
}

#[test]
fn the_outbox_keeps_entries_in_order_and_each_key_once() {
    let (_dir, cache) = open();
    let first = place("k1");
    let second = OutboxOp::Cancel {
        order_id: "ORD-1".into(),
        reason: "spilt".into(),
    };
    let first_key = first.key();
    assert_eq!(
        first_key,
        OutboxKey::from("k1"),
        "an order's idempotency key"
    );
    let second_key = second.key();
    cache.enqueue(&first_key, &first).unwrap();
    cache.enqueue(&second_key, &second).unwrap();
    cache.enqueue(&first_key, &place("k1")).unwrap();
    assert_eq!(
        cache.outbox_len().unwrap(),
        2,
        "the same key twice keeps the first"
    );
    let next = cache.outbox_next().unwrap().unwrap();
    assert_eq!((next.key, next.op), (first_key, first));
}

#[test]
fn an_outbox_entry_leaves_the_queue_with_its_outcome() {
    let (_dir, cache) = open();
    let sent = place("k-sent");
    let refused = place("k-refused");
    cache.enqueue(&sent.key(), &sent).unwrap();
    cache.enqueue(&refused.key(), &refused).unwrap();
    assert_eq!(cache.outcome("k-sent").unwrap(), None);

    let entry = cache.outbox_next().unwrap().unwrap();
    let done = Outcome::Sent {
        response: serde_json::json!({"orderId": "ORD-1"}),
    };
    cache.outbox_finish(entry.id, &entry.key, &done).unwrap();
    assert_eq!(cache.outbox_len().unwrap(), 1);

    let entry = cache.outbox_next().unwrap().unwrap();
    assert_eq!(entry.key, OutboxKey::from("k-refused"));
    let no = Outcome::Refused {
        error: ErrorBody {
            code: "sold_out".into(),
            message: "Latte is sold out".into(),
        },
    };
    cache.outbox_finish(entry.id, &entry.key, &no).unwrap();
    assert_eq!(cache.outbox_len().unwrap(), 0);
    assert_eq!(cache.outbox_next().unwrap(), None);

    // Outcomes are kept, by the key as a string or as an OutboxKey.
    assert_eq!(cache.outcome("k-sent").unwrap(), Some(done));
    assert_eq!(
        cache.outcome(OutboxKey::from("k-refused")).unwrap(),
        Some(no)
    );
}

#[test]
fn a_status_change_stored_by_an_older_build_without_from_still_loads() {
    let (dir, cache) = open();
    // The op column as a build before `from` wrote it.
    cache
        .lock()
        .execute(
            "INSERT INTO outbox (key, op, queued_at) VALUES ('old', ?1, ?2)",
            rusqlite::params![
                r#"{"op":"change_status","order_id":"ORD-1","status":"MAKING"}"#,
                super::now_text()
            ],
        )
        .unwrap();
    let new = OutboxOp::ChangeStatus {
        order_id: "ORD-2".into(),
        status: OrderStatus::Ready,
        from: Some(OrderStatus::Making),
    };
    cache.enqueue(&OutboxKey::from("new"), &new).unwrap();
    drop(cache);

    let cache = Cache::open(dir.path()).unwrap();
    let old = cache.outbox_next().unwrap().unwrap();
    assert_eq!(old.key, OutboxKey::from("old"));
    assert_eq!(
        old.op,
        OutboxOp::ChangeStatus {
            order_id: "ORD-1".into(),
            status: OrderStatus::Making,
            from: None,
        }
    );
    let refused = Outcome::Refused {
        error: ErrorBody {
            code: "invalid_transition".into(),
            message: "order 1 is READY, not PENDING".into(),
        },
    };
    cache.outbox_finish(old.id, &old.key, &refused).unwrap();
    let next = cache.outbox_next().unwrap().unwrap();
    assert_eq!(next.op, new, "and a new one keeps its from");
}

#[test]
fn local_settings_read_back_typed_with_the_roles_defaults() {
    let (_dir, cache) = open();
    assert_eq!(
        cache.alert_settings(Role::Barista).unwrap(),
        AlertSettings::for_role(Role::Barista)
    );
    assert!(!cache.offline_ordering().unwrap());
    let mut quiet = AlertSettings::for_role(Role::Barista);
    quiet.mute = true;
    cache.set_alert_settings(&quiet).unwrap();
    cache.set_offline_ordering(true).unwrap();
    assert_eq!(cache.alert_settings(Role::Barista).unwrap(), quiet);
    assert!(cache.offline_ordering().unwrap());
    cache.set_offline_ordering(false).unwrap();
    assert!(!cache.offline_ordering().unwrap());
}
