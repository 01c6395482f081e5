//! Nothing secret crosses the LAN in clear (issue 17): `tcpdump` on
//! loopback records a whole order flow between a kiosk and a barista that
//! join the real hub over TLS (pairing pinned to its key, then HTTPS and
//! WSS), and the capture holds none of their tokens, none of their pairing
//! codes and nothing of the order. The same capture also records one plain
//! HTTP request on the hub's plain port, carrying a canary that must be
//! found, so the test would see plaintext if there were any.
//!
//! Needs `tcpdump` (`apt-get install tcpdump`; dev.sh installs it) and the
//! right to capture: root, as CI runs, or CAP_NET_RAW. Also needs
//! `target/<profile>/countertop-hub`: `cargo build -p countertop-hub`.

mod support;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use countertop_client::{pair_pinned, CoreEvent, TokenVault};
use countertop_protocol::{Event, NewOrderItem, OrderStatus, PayType};
use rand::Rng;
use serde_json::json;
use support::api::Api;
use support::device::open;
use support::hub::Hub;
use tokio::sync::mpsc::UnboundedReceiver;
use tokio::time::timeout;

/// A running `tcpdump` writing pcap to its stdout, which a thread collects.
/// Writing to a pipe rather than a file: tcpdump started as root drops to
/// its own user before it opens a `-w` file, and could not write into the
/// test's private temporary folder.
struct Capture {
    child: Child,
    pcap: Arc<Mutex<Vec<u8>>>,
    reader: Option<std::thread::JoinHandle<()>>,
}

impl Capture {
    /// Starts capturing TCP on `lo` to and from `ports`, and returns once
    /// tcpdump says it is listening. Fails, naming the fix, when tcpdump is
    /// missing or may not capture.
    fn start(ports: &[u16]) -> Capture {
        let filter = ports
            .iter()
            .map(|p| format!("tcp port {p}"))
            .collect::<Vec<_>>()
            .join(" or ");
        let mut child = match Command::new("tcpdump")
            .args(["-i", "lo", "-n", "-U", "-w", "-", &filter])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
        {
            Ok(child) => child,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => panic!(
                "tcpdump is not installed: `apt-get install tcpdump` (dev.sh installs it); \
                 this test needs it to capture the hub's traffic"
            ),
            Err(e) => panic!("cannot run tcpdump: {e}"),
        };
        let mut stdout = child.stdout.take().expect("tcpdump's stdout");
        let pcap = Arc::new(Mutex::new(Vec::new()));
        let sink = pcap.clone();
        let reader = std::thread::spawn(move || {
            let mut chunk = [0u8; 64 * 1024];
            loop {
                match stdout.read(&mut chunk) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => sink.lock().unwrap().extend_from_slice(&chunk[..n]),
                }
            }
        });
        let stderr = child.stderr.take().expect("tcpdump's stderr");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut said = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) if line.contains("listening on lo") => break,
                Ok(line) => said.push(line),
                Err(_) => {
                    let _ = child.kill();
                    let status = child.wait().ok();
                    panic!(
                        "tcpdump did not start capturing on lo ({status:?}); it needs root \
                         (CI runs as root) or CAP_NET_RAW, and `apt-get install tcpdump`. \
                         It said:\n{}",
                        said.join("\n")
                    );
                }
            }
        }
        // Keep draining its stderr (packet counts at the end).
        std::thread::spawn(move || for _ in rx {});
        Capture {
            child,
            pcap,
            reader: Some(reader),
        }
    }

    /// What it has captured so far.
    fn so_far(&self) -> Vec<u8> {
        self.pcap.lock().unwrap().clone()
    }

    /// SIGINT, so tcpdump flushes and closes its output; then everything.
    fn stop(mut self) -> Vec<u8> {
        let status = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -INT tcpdump: {status}");
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.child.try_wait().expect("tcpdump's status").is_none() {
            assert!(Instant::now() < deadline, "tcpdump did not stop on SIGINT");
            std::thread::sleep(Duration::from_millis(20));
        }
        if let Some(reader) = self.reader.take() {
            reader.join().expect("the pcap reader");
        }
        self.so_far()
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A pcap file read back: how many packets, and the TCP payload of each
/// direction of each connection (by source and destination port) in the
/// order captured, so that a string split across segments is still seen.
struct Traffic {
    packets: usize,
    flows: BTreeMap<(u16, u16), Vec<u8>>,
}

fn be16(bytes: &[u8], at: usize) -> Option<usize> {
    Some(u16::from_be_bytes([*bytes.get(at)?, *bytes.get(at + 1)?]) as usize)
}

/// The TCP ports and payload of one captured frame; `None` for anything
/// else.
fn tcp_payload(frame: &[u8], link_header: usize) -> Option<(u16, u16, &[u8])> {
    let ethertype = be16(frame, link_header - 2)?;
    let ip = frame.get(link_header..)?;
    let segment = match ethertype {
        0x0800 => {
            let header = usize::from(ip.first()? & 0x0f) * 4;
            if *ip.get(9)? != 6 {
                return None;
            }
            ip.get(header..be16(ip, 2)?.min(ip.len()))?
        }
        0x86dd => {
            if *ip.get(6)? != 6 {
                return None;
            }
            ip.get(40..(40 + be16(ip, 4)?).min(ip.len()))?
        }
        _ => return None,
    };
    let src = be16(segment, 0)? as u16;
    let dst = be16(segment, 2)? as u16;
    let offset = usize::from(segment.get(12)? >> 4) * 4;
    Some((src, dst, segment.get(offset..)?))
}

fn parse(pcap: &[u8]) -> Traffic {
    assert!(
        pcap.len() >= 24,
        "no pcap header ({} bytes captured)",
        pcap.len()
    );
    let little = match pcap[..4] {
        [0xd4, 0xc3, 0xb2, 0xa1] | [0x4d, 0x3c, 0xb2, 0xa1] => true,
        [0xa1, 0xb2, 0xc3, 0xd4] | [0xa1, 0xb2, 0x3c, 0x4d] => false,
        _ => panic!("not a pcap file: {:02x?}", &pcap[..4]),
    };
    let u32_at = |at: usize| {
        let bytes = [pcap[at], pcap[at + 1], pcap[at + 2], pcap[at + 3]];
        if little {
            u32::from_le_bytes(bytes)
        } else {
            u32::from_be_bytes(bytes)
        }
    };
    // The header's length ends with the ethertype (Ethernet; Linux cooked).
    let link_header = match u32_at(20) {
        1 => 14,
        113 => 16,
        other => panic!("unexpected link type {other} on lo"),
    };
    let mut traffic = Traffic {
        packets: 0,
        flows: BTreeMap::new(),
    };
    let mut at = 24;
    while at + 16 <= pcap.len() {
        let start = at + 16;
        let end = start + u32_at(at + 8) as usize;
        if end > pcap.len() {
            break;
        }
        traffic.packets += 1;
        if let Some((src, dst, payload)) = tcp_payload(&pcap[start..end], link_header) {
            traffic
                .flows
                .entry((src, dst))
                .or_default()
                .extend_from_slice(payload);
        }
        at = end;
    }
    traffic
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

fn contains_ignoring_case(haystack: &[u8], needle: &str) -> bool {
    contains(
        &haystack.to_ascii_lowercase(),
        needle.to_ascii_lowercase().as_bytes(),
    )
}

async fn until<T>(
    events: &mut UnboundedReceiver<CoreEvent>,
    what: &str,
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
    .unwrap_or_else(|_| panic!("{what} within 30 s"))
}

async fn live(events: &mut UnboundedReceiver<CoreEvent>) {
    until(events, "the device live", |e| match e {
        CoreEvent::State(s) if s.state.is_live() => Some(()),
        _ => None,
    })
    .await;
}

async fn sent(events: &mut UnboundedReceiver<CoreEvent>, key: &str) -> serde_json::Value {
    until(events, "the outbox entry sent", |e| match e {
        CoreEvent::OutboxSent { key: k, response } if k == key => Some(response),
        CoreEvent::OutboxRefused { key: k, error } if k == key => panic!("{k} refused: {error:?}"),
        _ => None,
    })
    .await
}

/// The device token kept for the device of `dir`.
async fn token(dir: &Path) -> String {
    let vault = TokenVault::for_folder(dir);
    tokio::task::spawn_blocking(move || vault.load())
        .await
        .unwrap()
        .expect("the token vault reads")
        .expect("a paired device has a token")
        .0
        .expose()
        .to_owned()
}

/// One plain HTTP request to the hub's plain port carrying `canary`, as any
/// anonymous client might send (its answer, a 404, does not matter).
fn plain_request(port: u16, canary: &str) {
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).expect("the plain port");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "GET /{canary} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).expect("the hub answers");
    assert!(answer.starts_with(b"HTTP/1.1 "), "{answer:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_capture_of_a_whole_order_flow_over_tls_shows_no_token_no_code_and_no_order() {
    let root = tempfile::tempdir().unwrap();
    let (hub, tls_port) = Hub::start_tls(&root.path().join("hub"));
    let fingerprint = hub.fingerprint();
    let https = format!("https://127.0.0.1:{tls_port}");

    // Before the capture, over plain loopback HTTP (its port is captured
    // only from the capture's start): a manager adds a dish no one else
    // has, for the order to carry.
    let tag: String = format!(
        "{:012x}",
        rand::thread_rng().gen::<u64>() & 0xffff_ffff_ffff
    );
    let dish = format!("Canary Cortado {tag}");
    let manager = Api::pair(&hub, "manager", "boss").await;
    let (status, item) = manager
        .send(
            reqwest::Method::POST,
            "/api/menu",
            Some(&json!({"name": dish, "category": "Coffee", "price": 4700})),
        )
        .await;
    assert_eq!(status, 201, "{item}");
    let menu_id = item["id"].as_str().expect("the dish's id").to_owned();
    assert!(menu_id.contains(&tag), "{menu_id}");
    let kiosk_code = hub.pairing_code("kiosk", "front kiosk");
    let bar_code = hub.pairing_code("barista", "bar");

    let capture = Capture::start(&[tls_port, hub.port]);

    // The kiosk and the barista join through the pairing link's pieces
    // (address, key, code), over HTTPS pinned to the hub's key, connect
    // over HTTPS and WSS, and take one order to READY.
    let kiosk_dir = root.path().join("kiosk");
    let bar_dir = root.path().join("bar");
    let timeout_each = Duration::from_secs(10);
    let (kiosk_paired, _) = pair_pinned(
        &https,
        &kiosk_code,
        Some(fingerprint),
        &kiosk_dir,
        timeout_each,
    )
    .await
    .expect("the kiosk pairs over TLS");
    let (bar_paired, _) = pair_pinned(&https, &bar_code, Some(fingerprint), &bar_dir, timeout_each)
        .await
        .expect("the barista pairs over TLS");
    let (kiosk, mut kiosk_events) = open(&kiosk_dir).await;
    let (bar, mut bar_events) = open(&bar_dir).await;
    live(&mut kiosk_events).await;
    live(&mut bar_events).await;
    assert_eq!(kiosk.cache().device().unwrap().unwrap().hub, https);

    let order_key = kiosk
        .place_order(
            vec![NewOrderItem {
                menu_id: menu_id.clone(),
                quantity: 1,
                options: Vec::new(),
            }],
            PayType::Card,
            None,
        )
        .unwrap();
    let order = sent(&mut kiosk_events, &order_key).await;
    let order_id = order["orderId"].as_str().expect("an order id").to_owned();
    until(&mut bar_events, "the order on the bar", |e| match e {
        CoreEvent::Applied { event, .. } => match *event {
            Event::OrderCreated(o) if o.order_id == order_id => Some(()),
            _ => None,
        },
        _ => None,
    })
    .await;
    let making = bar
        .change_status(&order_id, OrderStatus::Pending, OrderStatus::Making)
        .unwrap();
    sent(&mut bar_events, &making).await;
    let ready = bar
        .change_status(&order_id, OrderStatus::Making, OrderStatus::Ready)
        .unwrap();
    sent(&mut bar_events, &ready).await;
    until(&mut kiosk_events, "READY on the kiosk", |e| match e {
        CoreEvent::Applied { event, .. } => match *event {
            Event::OrderStatusChanged(s) if s.order_id == order_id => {
                (s.status == OrderStatus::Ready).then_some(())
            }
            _ => None,
        },
        _ => None,
    })
    .await;
    assert_eq!(
        kiosk.cache().order(&order_id).unwrap().unwrap().status,
        OrderStatus::Ready
    );
    // Neither token was refreshed (30 days left, refreshed under 20), so
    // the ones kept now are the ones pairing gave and the links sent.
    for (device, paired) in [(&kiosk, &kiosk_paired), (&bar, &bar_paired)] {
        let now = device.cache().device().unwrap().unwrap();
        assert_eq!(now.token_expires_at, paired.token_expires_at, "a refresh");
    }
    let kiosk_token = token(&kiosk_dir).await;
    let bar_token = token(&bar_dir).await;
    kiosk.shutdown();
    bar.shutdown();

    // The self-check, last: plain HTTP on the plain port, in the same
    // capture. Once its canary is captured, so is everything before it.
    let plain_canary = format!("plain-canary-{:016x}", rand::thread_rng().gen::<u64>());
    plain_request(hub.port, &plain_canary);
    let deadline = Instant::now() + Duration::from_secs(20);
    let seen_plain = |pcap: &[u8]| {
        parse(pcap)
            .flows
            .iter()
            .any(|(&(_, dst), bytes)| dst == hub.port && contains(bytes, plain_canary.as_bytes()))
    };
    while !seen_plain(&capture.so_far()) {
        assert!(
            Instant::now() < deadline,
            "the plain request's canary never showed in the capture: it would not see plaintext"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let pcap = capture.stop();
    let traffic = parse(&pcap);
    assert!(
        contains(&pcap, plain_canary.as_bytes()),
        "plaintext in the raw capture"
    );

    // Real TLS traffic: every connection to the TLS port opens with a
    // ClientHello record, and the hub answers with a handshake record.
    let tls: Vec<(&(u16, u16), &Vec<u8>)> = traffic
        .flows
        .iter()
        .filter(|(&(src, dst), bytes)| (src == tls_port || dst == tls_port) && !bytes.is_empty())
        .collect();
    let tls_bytes: usize = tls.iter().map(|(_, bytes)| bytes.len()).sum();
    let connections = tls.iter().filter(|(&(_, dst), _)| dst == tls_port).count();
    for (&(src, dst), bytes) in &tls {
        assert!(
            bytes.starts_with(&[0x16, 0x03]),
            "{src} → {dst} does not open with a TLS handshake record: {:02x?}",
            &bytes[..bytes.len().min(8)]
        );
        if dst == tls_port {
            assert_eq!(
                bytes.get(5),
                Some(&0x01),
                "{src} → {dst}: not a ClientHello"
            );
        }
    }
    assert!(
        connections >= 4,
        "two pairings and two devices connected, yet {connections} TLS connections"
    );
    assert!(
        pcap.len() > 5 * 1024 && tls_bytes > 5 * 1024,
        "too little traffic: {} bytes captured, {tls_bytes} over TLS",
        pcap.len()
    );

    // None of the secrets, anywhere: in the raw file, or in any direction
    // of any connection read as one stream.
    let jwt_header = kiosk_token.split('.').next().unwrap().to_owned();
    assert!(jwt_header.len() >= 10, "a JWT's header");
    let secrets: Vec<(&str, String)> = vec![
        ("the kiosk's token", kiosk_token.clone()),
        ("the barista's token", bar_token.clone()),
        (
            "a token's signature",
            kiosk_token.rsplit('.').next().unwrap().to_owned(),
        ),
        ("any token of this hub (its JWT header)", jwt_header),
        ("the kiosk's pairing code", kiosk_code.clone()),
        ("the barista's pairing code", bar_code.clone()),
        (
            "the kiosk's code as sent",
            format!("\"code\":\"{kiosk_code}\""),
        ),
        (
            "the barista's code as sent",
            format!("\"code\":\"{bar_code}\""),
        ),
        ("the order's dish", dish.clone()),
        ("the order's menu item", format!("\"menuId\":\"{menu_id}\"")),
        ("the dish's tag", tag.clone()),
        ("the order's idempotency key", order_key.clone()),
        ("the order's id", order_id.clone()),
    ];
    let streams = std::iter::once(("the raw capture".to_owned(), &pcap)).chain(
        traffic
            .flows
            .iter()
            .map(|(&(src, dst), bytes)| (format!("{src} → {dst}"), bytes)),
    );
    for (name, bytes) in streams {
        for (what, secret) in &secrets {
            assert!(
                !contains(bytes, secret.as_bytes()),
                "{what} crossed loopback in clear, in {name}"
            );
        }
        for header in ["authorization", "bearer "] {
            assert!(
                !contains_ignoring_case(bytes, header),
                "{header:?} in clear, in {name}"
            );
        }
    }
    println!(
        "captured {} bytes in {} packets: {connections} TLS connections, {tls_bytes} bytes of \
         TLS payload, none of {} secrets; the plain canary seen",
        pcap.len(),
        traffic.packets,
        secrets.len()
    );
}
