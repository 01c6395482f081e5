//! Device tokens against the real hub (issue 17): when the manager rotates
//! the hub's signing secret, a running device refreshes its token through
//! the previous secret and goes on, without pairing again; a REST call
//! refused for its token renews it once and is sent again.
//!
//! They need `target/<profile>/countertop-hub`: `cargo build -p countertop-hub`.

mod support;

use std::time::Duration;

use countertop_client::{ConnectionState, CoreEvent, HttpHub, TokenVault};
use countertop_protocol::{NewOrderItem, PayType};
use serde_json::json;
use support::api::Api;
use support::device::{device, open};
use support::hub::Hub;
use tokio::sync::mpsc::UnboundedReceiver;
use tokio::time::timeout;

async fn until<T>(
    events: &mut UnboundedReceiver<CoreEvent>,
    pick: impl FnMut(CoreEvent) -> Option<T>,
) -> T {
    let mut pick = pick;
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

/// Waits until the connection is live; every state on the way is returned.
async fn live(events: &mut UnboundedReceiver<CoreEvent>) -> Vec<String> {
    let mut states = Vec::new();
    until(events, |e| match e {
        CoreEvent::State(s) => {
            states.push(s.state.name().to_owned());
            s.state.is_live().then_some(())
        }
        _ => None,
    })
    .await;
    states
}

async fn rotate(manager: &Api) {
    let (status, body) = manager
        .send(
            reqwest::Method::POST,
            "/api/devices/rotate-secret",
            Some(&json!({})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
}

fn stored_token(dir: &std::path::Path) -> String {
    let (token, _) = TokenVault::for_folder(dir)
        .load()
        .unwrap()
        .expect("a stored token");
    token.expose().to_owned()
}

/// A croissant: the demo café's, with no options to choose.
fn croissant() -> Vec<NewOrderItem> {
    vec![NewOrderItem {
        menu_id: "croissant".into(),
        quantity: 1,
        options: Vec::new(),
    }]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_device_carries_on_through_a_secret_rotation_without_pairing_again() {
    let root = tempfile::tempdir().unwrap();
    let hub = Hub::start(&root.path().join("hub"), 0);
    let manager = Api::pair(&hub, "manager", "boss").await;
    let kiosk_dir = root.path().join("kiosk");
    let (kiosk, mut kiosk_events) = device(&hub, &kiosk_dir, "kiosk").await;
    let (_barista, mut barista_events) =
        device(&hub, &root.path().join("barista"), "barista").await;
    live(&mut kiosk_events).await;
    live(&mut barista_events).await;
    let paired_as = kiosk.cache().device().unwrap().unwrap();
    let token_before = stored_token(&kiosk_dir);

    rotate(&manager).await;

    // The hub closes the kiosk's socket (4002); it reconnects, is refused
    // (401), renews its token and is live again, never rejected.
    until(&mut kiosk_events, |e| match e {
        CoreEvent::State(s) if !s.state.is_live() => Some(()),
        _ => None,
    })
    .await;
    let states = live(&mut kiosk_events).await;
    assert!(
        !states.iter().any(|s| s == "rejected"),
        "the kiosk went through {states:?}"
    );
    let states = live(&mut barista_events).await;
    assert!(!states.iter().any(|s| s == "rejected"), "{states:?}");

    // The same device, with a new token kept for the next start.
    let now = kiosk.cache().device().unwrap().unwrap();
    assert_eq!(now.device_id, paired_as.device_id);
    let token_after = timeout(Duration::from_secs(10), async {
        loop {
            let token = stored_token(&kiosk_dir);
            if token != token_before {
                return token;
            }
            tokio::task::yield_now().await;
        }
    })
    .await
    .expect("the renewed token is stored");
    assert!(now.token_expires_at.is_some());

    // Orders still flow: the kiosk's reaches the barista.
    let key = kiosk.place_order(croissant(), PayType::Cash, None).unwrap();
    let order_id = until(&mut kiosk_events, |e| match e {
        CoreEvent::OutboxSent { key: k, response } if k == key => {
            Some(response["orderId"].as_str().unwrap().to_owned())
        }
        CoreEvent::OutboxRefused { key: k, error } if k == key => {
            panic!("the order was refused: {error:?}")
        }
        _ => None,
    })
    .await;
    until(&mut barista_events, |e| match e {
        CoreEvent::Applied { event, .. } => match *event {
            countertop_protocol::Event::OrderCreated(created) if created.order_id == order_id => {
                Some(())
            }
            _ => None,
        },
        _ => None,
    })
    .await;

    // A restart uses the stored token: live at once.
    kiosk.shutdown();
    let (again, mut again_events) = open(&kiosk_dir).await;
    let states = live(&mut again_events).await;
    assert!(!states.iter().any(|s| s == "rejected"), "{states:?}");
    assert_eq!(stored_token(&kiosk_dir), token_after);
    assert!(matches!(again.status().state, ConnectionState::Live { .. }));
    again.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rest_call_refused_for_its_token_renews_it_once_and_is_sent_again() {
    let root = tempfile::tempdir().unwrap();
    let hub = Hub::start(&root.path().join("hub"), 0);
    let manager = Api::pair(&hub, "manager", "boss").await;
    let barista = Api::pair(&hub, "barista", "counter").await;
    let link = HttpHub::new(
        &hub.url(),
        Some(countertop_client::DeviceToken::new(barista.token.clone())),
        Duration::from_secs(10),
    )
    .unwrap();
    let mut renewals = link.renewals();
    let clone = link.clone();
    rotate(&manager).await;

    // The menu is anyone's, but a bad token is 401 everywhere: the link
    // renews the token and asks again.
    let menu = link
        .menu()
        .await
        .expect("the menu after renewing the token");
    assert!(!menu.is_empty());
    let renewed = timeout(Duration::from_secs(5), renewals.recv())
        .await
        .unwrap()
        .expect("the renewed token is handed on to be kept");
    assert_eq!(renewed.device_id, barista.device_id);
    // Every clone uses the new token at once.
    let now = clone.token().unwrap();
    assert_eq!(now.expose(), renewed.token);
    assert_ne!(now.expose(), barista.token);
    assert_eq!(clone.token_expires_at(), Some(renewed.expires_at));

    // A revoked device's link cannot renew: the call stays refused. (The
    // manager's own old token refreshes first.)
    let http = reqwest::Client::new();
    let manager_now: serde_json::Value = http
        .post(format!("{}/api/devices/refresh", hub.url()))
        .bearer_auth(&manager.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let revoked = http
        .delete(format!("{}/api/devices/{}", hub.url(), barista.device_id))
        .bearer_auth(manager_now["token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status().as_u16(), 204);
    assert!(matches!(
        link.menu().await,
        Err(countertop_client::LinkError::Unauthorized)
    ));
}
