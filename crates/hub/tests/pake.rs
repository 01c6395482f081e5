//! Pairing by a typed code over SPAKE2, bound to the hub's certificate
//! (issue 17): the device's own `pair_by_code` against a hub serving TLS on
//! the loopback; a relay that shows another certificate; the cap of five
//! offers per code across addresses (127.0.0.2 and up stand for devices on
//! the LAN, as in tests/tls.rs); a wrong code.

mod support;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use countertop_client::{pair_by_code, Fingerprint, PakeError, PinnedTls, Trust};
use countertop_hub::{Hub, LocalPeers};
use countertop_protocol::Role;
use hmac::{Hmac, Mac};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use serde_json::{json, Value};
use sha2::Sha256;
use spake2::{Ed25519Group, Identity, Password, Spake2};
use support::WAIT;
use tempfile::TempDir;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

/// A hub serving plain HTTP and HTTPS on 127.0.0.1, which counts only
/// 127.0.0.1 and ::1 as its own machine.
struct TlsHub {
    hub: Hub,
    plain: SocketAddr,
    tls: SocketAddr,
    dir: TempDir,
    _stop: oneshot::Sender<()>,
}

impl TlsHub {
    async fn start() -> TlsHub {
        let dir = tempfile::tempdir().unwrap();
        let mut config = support::config(dir.path());
        config.local_peers = LocalPeers::Only(vec![
            IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(Ipv6Addr::LOCALHOST),
        ]);
        let hub = Hub::open(config).await.unwrap();
        let plain = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let tls = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let (plain_addr, tls_addr) = (plain.local_addr().unwrap(), tls.local_addr().unwrap());
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(countertop_hub::serve_with_tls(
            plain,
            Some(tls),
            hub.clone(),
            async move {
                let _ = stopped.await;
            },
        ));
        TlsHub {
            hub,
            plain: plain_addr,
            tls: tls_addr,
            dir,
            _stop: stop,
        }
    }

    fn https(&self) -> String {
        format!("https://{}", self.tls)
    }

    async fn code(&self, role: Role) -> String {
        self.hub
            .create_pairing_code(role, "Typed")
            .await
            .unwrap()
            .code
    }

    async fn devices(&self) -> i64 {
        countertop_hub::on_pool!(self.hub.pool(), |ex| sqlx::query_scalar(
            "SELECT COUNT(*) FROM devices"
        )
        .fetch_one(ex)
        .await)
        .unwrap()
    }

    /// `(attempts, used)` of the one pairing code stored for `code`.
    async fn code_state(&self, code: &str) -> (i64, bool) {
        let hash = self.hub.keys.code_hash(code);
        let (attempts, used): (i64, Option<i64>) = countertop_hub::on_pool!(
            self.hub.pool(),
            |ex| sqlx::query_as("SELECT attempts, used_ms FROM pairing_codes WHERE code = $1")
                .bind(hash)
                .fetch_one(ex)
                .await
        )
        .unwrap();
        (attempts, used.is_some())
    }

    /// `POST /api/devices/pair` over plain HTTP from 127.0.0.1.
    async fn plain_pair(&self, code: &str) -> u16 {
        let (status, _) = post(
            &reqwest::Client::new(),
            &format!("http://{}/api/devices/pair", self.plain),
            json!({ "code": code }),
        )
        .await;
        status
    }
}

/// A client over HTTPS that accepts any key (as a device's first contact
/// does), its connections made from `from`.
fn https_client_from(from: IpAddr) -> reqwest::Client {
    reqwest::Client::builder()
        .use_preconfigured_tls((*PinnedTls::new(Trust::FirstContact).config()).clone())
        .local_address(from)
        .timeout(WAIT)
        .build()
        .unwrap()
}

async fn post(client: &reqwest::Client, url: &str, body: Value) -> (u16, Value) {
    let res = client.post(url).json(&body).send().await.unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

const DEVICE: &[u8] = b"countertop device";
const HUB: &[u8] = b"countertop hub";

/// A device's side of SPAKE2 by hand, for callers that bend the rules.
struct ManualDevice {
    state: Option<Spake2<Ed25519Group>>,
    msg_a: Vec<u8>,
}

impl ManualDevice {
    fn new(code: &str) -> ManualDevice {
        let (state, msg_a) = Spake2::<Ed25519Group>::start_a(
            &Password::new(code.as_bytes()),
            &Identity::new(DEVICE),
            &Identity::new(HUB),
        );
        ManualDevice {
            state: Some(state),
            msg_a,
        }
    }

    fn start_body(&self) -> Value {
        json!({ "msg": BASE64.encode(&self.msg_a) })
    }

    /// The key agreed with `offer`'s message.
    fn key(&mut self, offer: &Value) -> (Vec<u8>, Vec<u8>) {
        let msg_b = BASE64.decode(offer["msg"].as_str().unwrap()).unwrap();
        let key = self.state.take().unwrap().finish(&msg_b).unwrap();
        (key, msg_b)
    }
}

fn hmac(key: &[u8], label: &[u8], fingerprint: &[u8], msg_a: &[u8], msg_b: &[u8]) -> Vec<u8> {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).unwrap();
    for part in [label, fingerprint, msg_a, msg_b] {
        mac.update(part);
    }
    mac.finalize().into_bytes().to_vec()
}

/// A relay in the middle: it ends TLS with its own self-signed
/// certificate and forwards the bytes to the hub over a TLS connection of
/// its own, as a machine on the café's Wi-Fi that answers for the hub's
/// address would.
struct Relay {
    addr: SocketAddr,
    fingerprint: Fingerprint,
}

async fn relay_to(hub_tls: SocketAddr) -> Relay {
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    let fingerprint = Fingerprint::of_certificate(cert.der()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![CertificateDer::from(cert.der().to_vec())],
            PrivateKeyDer::try_from(key.serialize_der()).unwrap(),
        )
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let connector = tokio_rustls::TlsConnector::from(PinnedTls::new(Trust::FirstContact).config());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let (acceptor, connector) = (acceptor.clone(), connector.clone());
            tokio::spawn(async move {
                let Ok(mut device) = acceptor.accept(tcp).await else {
                    return;
                };
                let upstream = tokio::net::TcpStream::connect(hub_tls).await.unwrap();
                let name = rustls::pki_types::ServerName::IpAddress(hub_tls.ip().into());
                let Ok(mut hub) = connector.connect(name, upstream).await else {
                    return;
                };
                let _ = tokio::io::copy_bidirectional(&mut device, &mut hub).await;
            });
        }
    });
    Relay { addr, fingerprint }
}

#[tokio::test]
async fn a_typed_code_pairs_over_tls_and_gives_the_hubs_fingerprint() {
    let hub = TlsHub::start().await;
    let code = hub.code(Role::Kiosk).await;
    let before = hub.devices().await;
    let (paired, fingerprint) = pair_by_code(&hub.https(), &code, WAIT).await.unwrap();
    assert_eq!(paired.role, Role::Kiosk);
    assert_eq!(paired.name, "Typed");
    // The fingerprint to pin is the one `countertop-hub fingerprint` prints.
    assert_eq!(fingerprint.to_string(), hub.hub.tls.fingerprint);
    assert_eq!(
        fingerprint.to_string(),
        countertop_hub::tls_fingerprint(hub.dir.path()).unwrap()
    );
    assert_eq!(hub.devices().await, before + 1);
    // Told to the managers as every pairing is, with the device's name.
    let told: Vec<(String,)> = countertop_hub::on_pool!(hub.hub.pool(), |ex| sqlx::query_as(
        "SELECT data FROM events WHERE name = 'system:notification' AND data LIKE '%Device paired%'",
    )
    .fetch_all(ex)
    .await)
    .unwrap();
    assert_eq!(told.len(), 1, "{told:?}");
    assert!(told[0].0.contains("Typed"), "{}", told[0].0);
    // The token works, over TLS pinned to that fingerprint.
    let pinned = reqwest::Client::builder()
        .use_preconfigured_tls((*PinnedTls::new(Trust::Pinned(fingerprint)).config()).clone())
        .timeout(WAIT)
        .build()
        .unwrap();
    let res = pinned
        .get(format!("{}/api/snapshot", hub.https()))
        .bearer_auth(&paired.token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    // The code is used: neither way takes it again.
    assert_eq!(hub.code_state(&code).await, (1, true));
    assert!(matches!(
        pair_by_code(&hub.https(), &code, WAIT).await,
        Err(PakeError::WrongCode)
    ));
    assert_eq!(hub.plain_pair(&code).await, 401);
    assert!(hub.hub.pake.is_empty(), "no session is left behind");
}

#[tokio::test]
async fn a_relay_that_swaps_the_certificate_makes_pairing_fail_on_both_sides() {
    let hub = TlsHub::start().await;
    let relay = relay_to(hub.tls).await;
    assert_ne!(relay.fingerprint.to_string(), hub.hub.tls.fingerprint);
    let code = hub.code(Role::Manager).await;
    let before = hub.devices().await;
    // The device, through the relay, finds no offer that verifies.
    let through_relay = format!("https://{}", relay.addr);
    let refused = pair_by_code(&through_relay, &code, WAIT).await;
    assert!(
        matches!(refused, Err(PakeError::NotConfirmed)),
        "{refused:?}"
    );
    assert_eq!(hub.devices().await, before, "the hub paired nobody");
    // A device that ignores its check and confirms with the key it saw
    // (the relay's) is refused by the hub, though its code is right.
    let client = https_client_from(IpAddr::V4(Ipv4Addr::LOCALHOST));
    let mut device = ManualDevice::new(&code);
    let (status, started) = post(
        &client,
        &format!("{through_relay}/api/devices/pake/start"),
        device.start_body(),
    )
    .await;
    assert_eq!(status, 200, "{started}");
    let offers = started["offers"].as_array().unwrap();
    assert_eq!(offers.len(), 1);
    let (key, msg_b) = device.key(&offers[0]);
    let hub_fingerprint: Fingerprint = hub.hub.tls.fingerprint.parse().unwrap();
    let hub_confirm = BASE64
        .decode(offers[0]["confirm"].as_str().unwrap())
        .unwrap();
    // The code is right: the hub's confirm verifies with the hub's own key,
    // and only with it.
    assert_eq!(
        hub_confirm,
        hmac(
            &key,
            b"countertop hub confirm",
            hub_fingerprint.as_bytes(),
            &device.msg_a,
            &msg_b
        )
    );
    assert_ne!(
        hub_confirm,
        hmac(
            &key,
            b"countertop hub confirm",
            relay.fingerprint.as_bytes(),
            &device.msg_a,
            &msg_b
        )
    );
    let confirm = hmac(
        &key,
        b"countertop device confirm",
        relay.fingerprint.as_bytes(),
        &device.msg_a,
        &msg_b,
    );
    let (status, answer) = post(
        &client,
        &format!("{through_relay}/api/devices/pake/finish"),
        json!({ "session": started["session"], "confirm": BASE64.encode(&confirm) }),
    )
    .await;
    assert_eq!(status, 401, "{answer}");
    assert_eq!(answer["error"]["code"], "pairing_failed");
    assert_eq!(hub.devices().await, before, "the hub paired nobody");
    // The session is gone: the right confirm cannot follow the wrong one.
    let right = hmac(
        &key,
        b"countertop device confirm",
        hub_fingerprint.as_bytes(),
        &device.msg_a,
        &msg_b,
    );
    let (status, answer) = post(
        &client,
        &format!("https://{}/api/devices/pake/finish", hub.tls),
        json!({ "session": started["session"], "confirm": BASE64.encode(&right) }),
    )
    .await;
    assert_eq!(
        (status, &answer["error"]["code"]),
        (401, &json!("pairing_failed"))
    );
    // Two starts were offered the code; it is not used.
    assert_eq!(hub.code_state(&code).await, (2, false));
}

#[tokio::test]
async fn five_starts_from_five_addresses_kill_a_code_for_pake_and_for_pair() {
    let hub = TlsHub::start().await;
    let code = hub.code(Role::Kiosk).await;
    let wrong = format!("{:06}", (code.parse::<u32>().unwrap() + 1) % 1_000_000);
    let start_url = format!("{}/api/devices/pake/start", hub.https());
    for last in 2..=6u8 {
        let from = IpAddr::V4(Ipv4Addr::new(127, 0, 0, last));
        let (status, answer) = post(
            &https_client_from(from),
            &start_url,
            ManualDevice::new(&wrong).start_body(),
        )
        .await;
        assert_eq!(status, 200, "{answer}");
        assert_eq!(answer["offers"].as_array().unwrap().len(), 1, "{answer}");
    }
    assert_eq!(hub.code_state(&code).await, (5, false));
    // A sixth start, from yet another address, is offered nothing.
    let (status, answer) = post(
        &https_client_from(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 7))),
        &start_url,
        ManualDevice::new(&code).start_body(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(answer["offers"], json!([]));
    // The right code now fails both ways.
    assert!(matches!(
        pair_by_code(&hub.https(), &code, WAIT).await,
        Err(PakeError::WrongCode)
    ));
    assert_eq!(hub.plain_pair(&code).await, 401);
    assert_eq!(hub.code_state(&code).await, (5, false));
}

#[tokio::test]
async fn a_wrong_code_pairs_nobody_and_counts_one_attempt() {
    let hub = TlsHub::start().await;
    let code = hub.code(Role::Barista).await;
    let wrong = format!("{:06}", (code.parse::<u32>().unwrap() + 7) % 1_000_000);
    let before = hub.devices().await;
    let refused = pair_by_code(&hub.https(), &wrong, WAIT).await;
    assert!(
        matches!(refused, Err(PakeError::NotConfirmed)),
        "{refused:?}"
    );
    assert_eq!(hub.devices().await, before);
    assert_eq!(hub.code_state(&code).await, (1, false));
    // A counted attempt does not kill the code: the right one still pairs.
    let (paired, _) = pair_by_code(&hub.https(), &code, WAIT).await.unwrap();
    assert_eq!(paired.role, Role::Barista);
    assert_eq!(hub.code_state(&code).await, (2, true));
}

#[tokio::test]
async fn pake_is_refused_over_plain_http_from_the_lan_and_bounds_its_input() {
    let hub = TlsHub::start().await;
    hub.code(Role::Kiosk).await;
    let lan = reqwest::Client::builder()
        .local_address(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2)))
        .timeout(WAIT)
        .build()
        .unwrap();
    let device = ManualDevice::new("123456");
    for path in ["start", "finish"] {
        let (status, answer) = post(
            &lan,
            &format!("http://{}/api/devices/pake/{path}", hub.plain),
            device.start_body(),
        )
        .await;
        assert_eq!(status, 426, "{answer}");
        assert_eq!(answer["error"]["code"], "tls_required");
    }
    let client = https_client_from(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2)));
    let url = |path: &str| format!("{}/api/devices/pake/{path}", hub.https());
    for bad in [
        json!({ "msg": "not base64!" }),
        json!({ "msg": BASE64.encode([0x41u8; 10]) }),
        json!({ "msg": BASE64.encode([0x42u8; 33]) }),
        json!({ "msg": BASE64.encode([0x41u8; 200]) }),
        json!({ "msg": "x", "extra": 1 }),
    ] {
        let (status, answer) = post(&client, &url("start"), bad.clone()).await;
        assert_eq!(status, 422, "{bad} → {answer}");
    }
    let (status, _) = post(&client, &url("start"), json!({ "msg": "A".repeat(5000) })).await;
    assert_eq!(status, 413);
    // Nothing malformed counted against the code.
    let attempts: i64 = countertop_hub::on_pool!(hub.hub.pool(), |ex| sqlx::query_scalar(
        "SELECT attempts FROM pairing_codes"
    )
    .fetch_one(ex)
    .await)
    .unwrap();
    assert_eq!(attempts, 0);
    let (status, answer) = post(
        &client,
        &url("finish"),
        json!({ "session": "nosuchsession", "confirm": BASE64.encode([0u8; 32]) }),
    )
    .await;
    assert_eq!(
        (status, &answer["error"]["code"]),
        (401, &json!("pairing_failed"))
    );
    let (status, _) = post(
        &client,
        &url("finish"),
        json!({ "session": "nosuchsession", "confirm": BASE64.encode([0u8; 31]) }),
    )
    .await;
    assert_eq!(status, 422);
}

/// Sends `POST path` over plain HTTP from 127.0.0.2 (a device on the LAN)
/// with a `Content-Length` of `length` and, if `send_body`, that many bytes
/// of body (written beside the reading: the hub may answer and close before
/// it has all of them); answers the status line and the body of the answer.
async fn oversized_from_the_lan(
    plain: SocketAddr,
    path: &str,
    length: usize,
    send_body: bool,
) -> (String, Value) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket
        .bind(SocketAddr::new(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2)), 0))
        .unwrap();
    let stream = socket.connect(plain).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {plain}\r\nContent-Type: application/json\r\n\
         Content-Length: {length}\r\n\r\n"
    );
    writer.write_all(head.as_bytes()).await.unwrap();
    let writing = tokio::spawn(async move {
        if send_body {
            // `{"msg":"AAAA…"}`, as long as `length` says.
            let mut body = br#"{"msg":""#.to_vec();
            body.resize(length - 2, b'A');
            body.extend_from_slice(br#""}"#);
            // The hub may close before reading it all: not an error here.
            let _ = writer.write_all(&body).await;
        }
        writer
    });
    let mut answer = Vec::new();
    let read = tokio::time::timeout(WAIT, async {
        let mut buf = [0u8; 4096];
        loop {
            let n = reader.read(&mut buf).await.unwrap_or(0);
            if n == 0 {
                return;
            }
            answer.extend_from_slice(&buf[..n]);
            let text = String::from_utf8_lossy(&answer);
            if let Some((head, body)) = text.split_once("\r\n\r\n") {
                let length = head
                    .lines()
                    .find_map(|l| {
                        let (k, v) = l.split_once(':')?;
                        k.eq_ignore_ascii_case("content-length")
                            .then(|| v.trim().parse::<usize>().ok())?
                    })
                    .unwrap_or(0);
                if body.len() >= length {
                    return;
                }
            }
        }
    })
    .await;
    assert!(read.is_ok(), "the hub answered within {WAIT:?}");
    drop(writing);
    let text = String::from_utf8_lossy(&answer).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").expect("an HTTP answer");
    let status = head.lines().next().unwrap_or("").to_owned();
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

#[tokio::test]
async fn over_plain_http_from_the_lan_426_comes_before_the_body_is_read() {
    let hub = TlsHub::start().await;
    let code = hub.code(Role::Kiosk).await;
    let limit = hub.hub.config.max_body_bytes;
    for path in ["/api/devices/pake/start", "/api/devices/pake/finish"] {
        // A body larger than the hub takes at all: 426, not 413.
        let (status, answer) = oversized_from_the_lan(hub.plain, path, limit + 1, true).await;
        assert!(
            status.starts_with("HTTP/1.1 426"),
            "{path}: {status} {answer}"
        );
        assert_eq!(answer["error"]["code"], "tls_required", "{path}");
        assert_eq!(
            answer["error"]["message"],
            "pairing by a typed code runs over HTTPS only (the hub's --tls-listen address)"
        );
        // A body announced but never sent: the answer does not wait for it.
        let (status, answer) = oversized_from_the_lan(hub.plain, path, limit + 1, false).await;
        assert!(
            status.starts_with("HTTP/1.1 426"),
            "{path}: {status} {answer}"
        );
    }
    // Nothing was counted against the code, no session was opened.
    assert_eq!(hub.code_state(&code).await, (0, false));
    assert!(hub.hub.pake.is_empty());
}

/// How the last of six codes is used in
/// [`five_typed_pairings_leave_a_sixth_code_its_attempts`].
#[derive(Debug, Clone, Copy)]
enum LastWay {
    Pake,
    /// `POST /api/devices/pair` over TLS pinned to the hub's fingerprint,
    /// as a device that scanned the pairing link sends it.
    LinkPair,
}

#[tokio::test]
async fn only_the_newest_open_code_is_offered_and_the_others_pair_in_their_turn_or_by_link() {
    for way in [LastWay::Pake, LastWay::LinkPair] {
        let hub = TlsHub::start().await;
        let mut codes = Vec::new();
        for _ in 0..6 {
            codes.push(hub.code(Role::Kiosk).await);
        }
        // The oldest code typed while newer ones are open: only the newest
        // is offered (one guess per attempt for a machine in the middle),
        // so it fails, counted against that newest code alone.
        let oldest = &codes[0];
        let newest = &codes[5];
        assert!(matches!(
            pair_by_code(&hub.https(), oldest, WAIT).await,
            Err(PakeError::NotConfirmed)
        ));
        assert_eq!(hub.code_state(oldest).await, (0, false), "{way:?}");
        assert_eq!(hub.code_state(newest).await, (1, false), "{way:?}");
        // Newest first, five devices pair by typing their codes.
        for (n, code) in codes[1..].iter().rev().enumerate() {
            let (paired, _) = pair_by_code(&hub.https(), code, WAIT)
                .await
                .unwrap_or_else(|e| panic!("{way:?}: pairing {n} failed: {e:?}"));
            assert_eq!(paired.role, Role::Kiosk);
            assert!(hub.code_state(code).await.1, "{way:?}: code {n} used");
        }
        assert_eq!(hub.code_state(oldest).await, (0, false), "{way:?}");
        match way {
            LastWay::Pake => {
                let (paired, _) = pair_by_code(&hub.https(), oldest, WAIT).await.unwrap();
                assert_eq!(paired.role, Role::Kiosk);
                assert_eq!(hub.code_state(oldest).await, (1, true));
            }
            LastWay::LinkPair => {
                let fingerprint: Fingerprint = hub.hub.tls.fingerprint.parse().unwrap();
                let pinned = reqwest::Client::builder()
                    .use_preconfigured_tls(
                        (*PinnedTls::new(Trust::Pinned(fingerprint)).config()).clone(),
                    )
                    .timeout(WAIT)
                    .build()
                    .unwrap();
                let (status, answer) = post(
                    &pinned,
                    &format!("{}/api/devices/pair", hub.https()),
                    json!({ "code": oldest }),
                )
                .await;
                assert_eq!(status, 201, "{answer}");
                assert_eq!(hub.code_state(oldest).await, (0, true));
            }
        }
        assert_eq!(hub.devices().await, 6, "{way:?}");
    }
}

#[tokio::test]
async fn a_wrong_start_stays_counted_when_another_code_pairs() {
    let hub = TlsHub::start().await;
    let kept = hub.code(Role::Barista).await;
    let typed = hub.code(Role::Kiosk).await;
    let wrong = format!("{:06}", (typed.parse::<u32>().unwrap() + 1) % 1_000_000);
    // A start with a wrong code counts against the newest code, the one
    // offered; its session is left.
    let (status, _) = post(
        &https_client_from(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 3))),
        &format!("{}/api/devices/pake/start", hub.https()),
        ManualDevice::new(&wrong).start_body(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(hub.code_state(&typed).await, (1, false));
    assert_eq!(hub.code_state(&kept).await, (0, false));
    // The right pairing counts its own start too, and the wrong one stays
    // counted; the older code was never offered.
    pair_by_code(&hub.https(), &typed, WAIT).await.unwrap();
    assert_eq!(hub.code_state(&typed).await, (2, true));
    assert_eq!(hub.code_state(&kept).await, (0, false));
}
