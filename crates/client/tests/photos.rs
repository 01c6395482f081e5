//! The menu's photos kept for offline use: a photo a manager uploads
//! reaches a kiosk's photo store and is served from there once the hub is
//! gone (and after the kiosk restarts); a removed photo leaves the store;
//! only the hub's own JPEGs within the bounds are kept.
//!
//! The first test needs `target/<profile>/countertop-hub`:
//! `cargo build -p countertop-hub`.

mod support;

use std::time::Duration;

use countertop_client::photos::{self, Photos, MAX_PHOTO_BYTES};
use countertop_client::{CoreEvent, HttpHub, PhotoStore};
use countertop_protocol::{MenuItem, Photo};
use support::device::{device, open};
use support::hub::Hub;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::mpsc::UnboundedReceiver;
use tokio::time::timeout;

/// Forwards `events` until dropped, so the device's tasks keep running
/// while the test waits on something else.
fn drain(mut events: UnboundedReceiver<CoreEvent>) {
    tokio::spawn(async move { while events.recv().await.is_some() {} });
}

/// Waits (30 s at most) until `done` holds after one of `photos`' rounds.
async fn after_rounds(photos: &Photos, what: &str, done: impl Fn(&PhotoStore) -> bool) {
    let mut rounds = photos.rounds();
    timeout(Duration::from_secs(30), async {
        while !done(photos.store()) {
            rounds.changed().await.expect("the photo rounds go on");
        }
    })
    .await
    .unwrap_or_else(|_| panic!("{what} within 30 s"));
}

/// A 600×400 PNG of two colours: the hub decodes it and makes its JPEGs.
fn png(seed: u8) -> Vec<u8> {
    let picture = image::RgbImage::from_fn(600, 400, |x, _| {
        if x < 300 {
            image::Rgb([seed, 90, 40])
        } else {
            image::Rgb([250, 240, seed])
        }
    });
    let mut out = std::io::Cursor::new(Vec::new());
    picture.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

async fn served(hub: &Hub, address: &str) -> Vec<u8> {
    let response = reqwest::get(format!("{}{address}", hub.url()))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.bytes().await.unwrap().to_vec()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_uploaded_photo_is_kept_by_the_kiosk_and_served_with_the_hub_gone() {
    let root = tempfile::tempdir().unwrap();
    let mut hub = Hub::start(&root.path().join("hub"), 0);
    let kiosk_dir = root.path().join("kiosk");
    let (kiosk, events) = device(&hub, &kiosk_dir, "kiosk").await;
    drain(events);
    let (manager, events) = device(&hub, &root.path().join("manager"), "manager").await;
    drain(events);
    let menu = manager.api().unwrap().clone();
    let items = kiosk.cache().menu().unwrap();
    let (first, second) = (items[0].id.clone(), items[1].id.clone());

    let with_photo = menu.set_menu_photo(&first, png(10)).await.unwrap();
    let photo = with_photo.photo.expect("the item has its photo");
    let other = menu
        .set_menu_photo(&second, png(200))
        .await
        .unwrap()
        .photo
        .expect("the second item has its photo");

    // menu:updated reaches the kiosk, which fetches both sizes of both.
    let photos = kiosk.photos().unwrap().clone();
    after_rounds(&photos, "all four photos kept", |store| {
        [&photo.thumb_url, &photo.url, &other.thumb_url, &other.url]
            .iter()
            .all(|a| store.contains(a).unwrap())
    })
    .await;
    let thumb = served(&hub, &photo.thumb_url).await;
    let full = served(&hub, &photo.url).await;
    assert_eq!(
        photos.store().get(&photo.thumb_url).unwrap().unwrap(),
        thumb
    );
    assert_eq!(photos.store().get(&photo.url).unwrap().unwrap(), full);

    // A removed photo leaves the store at the next menu:updated.
    menu.remove_menu_photo(&second).await.unwrap();
    after_rounds(&photos, "the removed photo dropped", |store| {
        !store.contains(&other.thumb_url).unwrap() && !store.contains(&other.url).unwrap()
    })
    .await;
    assert!(photos.store().contains(&photo.thumb_url).unwrap());

    // The hub is gone: the kiosk serves its kept photo, and nothing else.
    hub.kill();
    assert_eq!(photos.get(&photo.thumb_url).await.unwrap().unwrap(), thumb);
    assert_eq!(photos.get(&photo.url).await.unwrap().unwrap(), full);
    assert_eq!(photos.get(&other.thumb_url).await.unwrap(), None);
    assert_eq!(photos.get("/api/menu").await.unwrap(), None);
    assert_eq!(
        photos.get("https://elsewhere.example/x.jpg").await.unwrap(),
        None
    );

    // And so does the kiosk started again while the hub is still away.
    kiosk.shutdown();
    drop(kiosk);
    let (again, events) = open(&kiosk_dir).await;
    drain(events);
    let kept = again.photos().unwrap();
    assert_eq!(kept.get(&photo.thumb_url).await.unwrap().unwrap(), thumb);
    manager.shutdown();
}

/// A server that answers every request with `answer(path)`: status, content
/// type and body.
async fn fake_hub(answer: fn(&str) -> (u16, &'static str, Vec<u8>)) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match socket.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let head = String::from_utf8_lossy(&head).into_owned();
                let path = head.split(' ').nth(1).unwrap_or("/").to_owned();
                let (status, content_type, body) = answer(&path);
                let reply = format!(
                    "HTTP/1.1 {status} X\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                    body.len()
                );
                let _ = socket.write_all(reply.as_bytes()).await;
                let _ = socket.write_all(&body).await;
            });
        }
    });
    url
}

fn jpeg(size: usize) -> Vec<u8> {
    let mut bytes = vec![0xFF, 0xD8, 0xFF, 0xE0];
    bytes.resize(size, 7);
    bytes
}

fn item(id: &str) -> MenuItem {
    serde_json::from_value(serde_json::json!({
        "id": id, "name": id, "category": "Coffee", "price": 1000, "isSoldOut": false,
        "photo": {
            "url": format!("/api/menu/{id}/photo?v=0a1b"),
            "thumbUrl": format!("/api/menu/{id}/photo/thumb?v=0a1b")
        }
    }))
    .unwrap()
}

#[tokio::test]
async fn only_the_hubs_jpegs_within_the_bounds_are_kept() {
    let url = fake_hub(|path| {
        let id = path.split('/').nth(3).unwrap_or("");
        let thumb = path.contains("/thumb");
        match id {
            "good" if thumb => (200, "image/jpeg", jpeg(3_000)),
            "good" => (200, "image/jpeg", jpeg(9_000)),
            "html" => (200, "text/html", b"<html>hello</html>".to_vec()),
            "disguised" => (200, "image/jpeg", b"GIF89a not a jpeg".to_vec()),
            "huge" => (200, "image/jpeg", jpeg(MAX_PHOTO_BYTES + 1)),
            _ => (404, "application/json", b"{}".to_vec()),
        }
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let link = HttpHub::new(&url, None, Duration::from_secs(5)).unwrap();
    // Room for the good thumbnail, not for its full photo as well.
    let photos = Photos::new(PhotoStore::open(dir.path()).unwrap(), link).with_budget(10_000);
    let mut menu: Vec<MenuItem> = ["good", "html", "disguised", "huge", "gone"]
        .into_iter()
        .map(item)
        .collect();
    // An address that is not the hub's photo shape is not even asked for.
    menu.push(MenuItem {
        photo: Some(Photo {
            url: "/api/menu/x/../../secret?v=00".into(),
            thumb_url: "http://elsewhere.example/a.jpg?v=00".into(),
        }),
        ..item("sneaky")
    });
    assert_eq!(photos::addresses(&menu).len(), 10);

    let report = photos.sync(&menu).await.unwrap();
    assert_eq!(report.fetched, 1, "{report:?}");
    assert_eq!(report.skipped, 9, "{report:?}");
    let store = photos.store();
    assert_eq!(
        store.get("/api/menu/good/photo/thumb?v=0a1b").unwrap(),
        Some(jpeg(3_000))
    );
    assert!(!store.contains("/api/menu/good/photo?v=0a1b").unwrap());
    assert_eq!(store.total_bytes().unwrap(), 3_000);
    for id in ["html", "disguised", "huge", "gone"] {
        assert!(!store
            .contains(&format!("/api/menu/{id}/photo/thumb?v=0a1b"))
            .unwrap());
    }

    // The good item gone from the menu, its thumbnail goes too.
    let report = photos.sync(&menu[1..]).await.unwrap();
    assert_eq!(report.dropped, 1);
    assert_eq!(store.total_bytes().unwrap(), 0);
}
