//! TLS on the LAN (issue 17): HTTPS and WSS with the hub's own certificate,
//! read by a client that pins its fingerprint; the `426 tls_required` gate
//! on plain HTTP for a client at 127.0.0.2, which these hubs count as a
//! device on the LAN (`HubConfig::local_peers`); the `fingerprint` command
//! and `serve --tls-listen` as an operator runs them.

mod support;

use std::io::{BufRead, BufReader};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::process::{Command, Stdio};
use std::sync::Arc;

use countertop_hub::{Hub, HubConfig, LocalPeers};
use countertop_protocol::Role;
use futures::StreamExt;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use support::{line, WAIT};
use tempfile::TempDir;
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::oneshot;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

/// The address that stands for a device on the café's Wi-Fi.
const LAN_PEER: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));

/// A hub serving plain HTTP and HTTPS on the loopback, which counts only
/// 127.0.0.1 and ::1 as its own machine.
struct TlsHub {
    hub: Hub,
    plain: SocketAddr,
    tls: SocketAddr,
    dir: TempDir,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl TlsHub {
    async fn start() -> TlsHub {
        TlsHub::start_serving(true).await
    }

    /// The same hub, serving TLS or only plain HTTP.
    async fn start_serving(with_tls: bool) -> TlsHub {
        TlsHub::start_with(with_tls, |_| {}).await
    }

    /// [`TlsHub::start_serving`], with `configure` changing its config.
    async fn start_with(with_tls: bool, configure: impl FnOnce(&mut HubConfig)) -> TlsHub {
        let dir = tempfile::tempdir().unwrap();
        let mut config = support::config(dir.path());
        config.local_peers = LocalPeers::Only(vec![
            IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(Ipv6Addr::LOCALHOST),
        ]);
        configure(&mut config);
        let hub = Hub::open(config).await.unwrap();
        let plain = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let tls = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let (plain_addr, tls_addr) = (plain.local_addr().unwrap(), tls.local_addr().unwrap());
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(countertop_hub::serve_with_tls(
            plain,
            with_tls.then_some(tls),
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
            stop: Some(stop),
            task,
        }
    }

    /// The fingerprint a device pins, computed here from `tls.crt`.
    fn fingerprint(&self) -> String {
        fingerprint_of_cert_file(self.dir.path())
    }

    fn seq(&self) -> u64 {
        self.hub.log.seq()
    }

    async fn orders(&self) -> i64 {
        countertop_hub::on_pool!(self.hub.pool(), |ex| sqlx::query_scalar(
            "SELECT COUNT(*) FROM orders"
        )
        .fetch_one(ex)
        .await)
        .unwrap()
    }

    async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        tokio::time::timeout(WAIT, &mut self.task)
            .await
            .expect("hub stops in time")
            .expect("hub task")
            .expect("hub serve");
    }
}

/// SHA-256 of the SubjectPublicKeyInfo of `tls.crt` in `dir`, lowercase hex.
fn fingerprint_of_cert_file(dir: &std::path::Path) -> String {
    let pem = std::fs::read(dir.join("tls.crt")).expect("tls.crt");
    let der = CertificateDer::from_pem_slice(&pem).expect("a PEM certificate");
    spki_sha256(&der)
}

fn spki_sha256(der: &CertificateDer<'_>) -> String {
    let cert = webpki::EndEntityCert::try_from(der).expect("a readable certificate");
    Sha256::digest(cert.subject_public_key_info().as_ref())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A verifier that trusts exactly one public key, as a paired device does.
#[derive(Debug)]
struct Pinned {
    fingerprint: String,
    provider: Arc<rustls::crypto::CryptoProvider>,
}

impl ServerCertVerifier for Pinned {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if spki_sha256(end_entity) == self.fingerprint {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::General("this is not your hub".into()))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// A TCP connection from `from` (127.0.0.2 stands for the LAN).
async fn tcp_from(from: IpAddr, to: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::new(from, 0)).unwrap();
    tokio::time::timeout(WAIT, socket.connect(to))
        .await
        .expect("connects in time")
        .expect("connects")
}

/// A TLS connection from 127.0.0.2 that trusts only `fingerprint`.
async fn tls_from_lan(
    to: SocketAddr,
    fingerprint: &str,
) -> std::io::Result<tokio_rustls::client::TlsStream<TcpStream>> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .unwrap()
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(Pinned {
            fingerprint: fingerprint.to_owned(),
            provider,
        }))
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = tcp_from(LAN_PEER, to).await;
    let name = ServerName::IpAddress(to.ip().into());
    tokio::time::timeout(WAIT, connector.connect(name, tcp))
        .await
        .expect("handshake ends in time")
}

/// One HTTP/1.1 exchange on `io`: `(status, JSON body)`.
async fn exchange<I>(
    io: I,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (u16, Value)
where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(io))
            .await
            .unwrap();
    tokio::spawn(conn);
    let mut req = hyper::Request::builder()
        .method(method)
        .uri(path)
        .header("host", "hub");
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    let bytes = match &body {
        Some(b) => {
            req = req.header("content-type", "application/json");
            Bytes::from(b.to_string())
        }
        None => Bytes::new(),
    };
    let res = tokio::time::timeout(
        WAIT,
        sender.send_request(req.body(Full::new(bytes)).unwrap()),
    )
    .await
    .expect("answer in time")
    .expect("answer");
    let status = res.status().as_u16();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    let text = String::from_utf8_lossy(&bytes).into_owned();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// A request over HTTPS from the LAN, pinned to the hub's fingerprint.
async fn https(
    hub: &TlsHub,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    let tls = tls_from_lan(hub.tls, &hub.fingerprint())
        .await
        .expect("the pinned handshake succeeds");
    exchange(tls, method, path, token, body).await
}

/// A request over plain HTTP from `from`.
async fn plain(
    hub: &TlsHub,
    from: IpAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    exchange(tcp_from(from, hub.plain).await, method, path, token, body).await
}

fn order_body() -> Value {
    json!({
        "idempotencyKey": format!("key-{}", support::rand_suffix()),
        "items": [line("americano", 1)],
        "payType": "CARD",
    })
}

fn assert_tls_required(status: u16, body: &Value) {
    assert_eq!(status, 426, "{body}");
    assert_eq!(body["error"]["code"], "tls_required", "{body}");
}

#[tokio::test]
async fn a_pinned_client_on_the_lan_reads_the_menu_pairs_orders_and_hears_the_order_over_wss() {
    let hub = TlsHub::start().await;

    let (status, menu) = https(&hub, "GET", "/api/menu", None, None).await;
    assert_eq!(status, 200, "{menu}");
    assert!(menu
        .as_array()
        .unwrap()
        .iter()
        .any(|m| m["id"] == "americano"));

    // Pairing over HTTPS from the LAN: a kiosk and a barista.
    let mut tokens = Vec::new();
    for role in [Role::Kiosk, Role::Barista] {
        let code = hub.hub.create_pairing_code(role, "lan").await.unwrap();
        let (status, paired) = https(
            &hub,
            "POST",
            "/api/devices/pair",
            None,
            Some(json!({ "code": code.code })),
        )
        .await;
        assert_eq!(status, 201, "{paired}");
        tokens.push(paired["token"].as_str().unwrap().to_owned());
    }
    let (kiosk, barista) = (&tokens[0], &tokens[1]);

    // The barista's board over WSS, with its token in the upgrade.
    let tls = tls_from_lan(hub.tls, &hub.fingerprint()).await.unwrap();
    let mut req = format!("wss://{}/ws?topics=orders", hub.tls)
        .into_client_request()
        .unwrap();
    req.headers_mut().insert(
        "authorization",
        format!("Bearer {barista}").parse().unwrap(),
    );
    let (mut ws, _) = tokio::time::timeout(WAIT, tokio_tungstenite::client_async(req, tls))
        .await
        .expect("upgrade in time")
        .expect("WSS upgrade");
    let next_event = async |ws: &mut tokio_tungstenite::WebSocketStream<_>, name: &str| loop {
        let msg = tokio::time::timeout(WAIT, ws.next())
            .await
            .expect("a frame in time")
            .expect("open")
            .expect("frame");
        if let Message::Text(t) = msg {
            let frame: Value = serde_json::from_str(&t).unwrap();
            if frame["event"] == name {
                return frame;
            }
        }
    };
    next_event(&mut ws, "welcome").await;

    let before = hub.orders().await;
    let (status, order) = https(&hub, "POST", "/api/orders", Some(kiosk), Some(order_body())).await;
    assert_eq!(status, 201, "{order}");
    assert_eq!(hub.orders().await, before + 1);
    let created = next_event(&mut ws, "order:created").await;
    assert_eq!(created["data"]["id"], order["id"], "{created}");
    drop(ws);
    hub.stop().await;
}

#[tokio::test]
async fn a_client_pinning_another_fingerprint_is_refused_at_the_handshake() {
    let hub = TlsHub::start().await;
    let other = "00".repeat(32);
    let refused = tls_from_lan(hub.tls, &other).await;
    let err = refused.expect_err("the handshake fails");
    assert!(err.to_string().contains("this is not your hub"), "{err}");
    // The right pin still gets through afterwards.
    let (status, _) = https(&hub, "GET", "/healthz", None, None).await;
    assert_eq!(status, 200);
    hub.stop().await;
}

#[tokio::test]
async fn over_plain_http_from_the_lan_a_token_or_a_pairing_code_gets_426_and_nothing_happens() {
    let hub = TlsHub::start().await;
    let lan = LAN_PEER;
    let local = IpAddr::V4(Ipv4Addr::LOCALHOST);

    // A kiosk paired on the hub's own machine, over plain HTTP.
    let code = hub
        .hub
        .create_pairing_code(Role::Kiosk, "local")
        .await
        .unwrap();
    let (status, paired) = plain(
        &hub,
        local,
        "POST",
        "/api/devices/pair",
        None,
        Some(json!({ "code": code.code })),
    )
    .await;
    assert_eq!(status, 201, "{paired}");
    let token = paired["token"].as_str().unwrap().to_owned();

    // Its token from the LAN: refused before anything is read or written.
    let (seq, orders) = (hub.seq(), hub.orders().await);
    let (status, body) = plain(
        &hub,
        lan,
        "POST",
        "/api/orders",
        Some(&token),
        Some(order_body()),
    )
    .await;
    assert_tls_required(status, &body);
    let (status, body) = plain(
        &hub,
        lan,
        "GET",
        &format!("/api/orders?token={token}"),
        None,
        None,
    )
    .await;
    assert_tls_required(status, &body);
    // A token that is not even valid is refused the same way: not checked.
    let (status, body) = plain(&hub, lan, "GET", "/api/menu", Some("forged"), None).await;
    assert_tls_required(status, &body);
    let (status, body) = plain(
        &hub,
        lan,
        "POST",
        "/api/devices/refresh",
        Some(&token),
        None,
    )
    .await;
    assert_tls_required(status, &body);
    assert_eq!(hub.seq(), seq, "no event written");
    assert_eq!(hub.orders().await, orders, "no order placed");

    // A pairing code from the LAN: refused, and the code stays unused.
    let code = hub
        .hub
        .create_pairing_code(Role::Barista, "lan")
        .await
        .unwrap();
    let (status, body) = plain(
        &hub,
        lan,
        "POST",
        "/api/devices/pair",
        None,
        Some(json!({ "code": code.code })),
    )
    .await;
    assert_tls_required(status, &body);
    let (status, paired) = https(
        &hub,
        "POST",
        "/api/devices/pair",
        None,
        Some(json!({ "code": code.code })),
    )
    .await;
    assert_eq!(status, 201, "the code was not used: {paired}");

    // A WebSocket upgrade with a token, and Socket.IO (whose handshake
    // always carries one): 426 before the upgrade.
    let mut req = format!("ws://{}/ws?topics=orders", hub.plain)
        .into_client_request()
        .unwrap();
    req.headers_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    let refused = tokio_tungstenite::client_async(req, tcp_from(lan, hub.plain).await).await;
    match refused {
        Err(tokio_tungstenite::tungstenite::Error::Http(res)) => {
            assert_eq!(res.status().as_u16(), 426)
        }
        other => panic!("expected 426, got {:?}", other.map(|_| ())),
    }
    let (status, body) = plain(
        &hub,
        lan,
        "GET",
        "/socket.io/?EIO=4&transport=polling",
        None,
        None,
    )
    .await;
    assert_tls_required(status, &body);

    // The anonymous, public parts stay on plain HTTP for customers' phones.
    for path in [
        "/api/menu",
        "/api/settings",
        "/status",
        "/board",
        "/healthz",
    ] {
        let (status, body) = plain(&hub, lan, "GET", path, None, None).await;
        assert_eq!(status, 200, "{path}: {body}");
    }
    let req = format!("ws://{}/ws?topics=board", hub.plain)
        .into_client_request()
        .unwrap();
    let (mut board, _) = tokio_tungstenite::client_async(req, tcp_from(lan, hub.plain).await)
        .await
        .expect("an anonymous board over plain HTTP");
    let welcome = tokio::time::timeout(WAIT, board.next())
        .await
        .expect("welcome in time")
        .unwrap()
        .unwrap();
    assert!(
        welcome.to_text().unwrap().contains("welcome"),
        "{welcome:?}"
    );

    // From the hub's own machine, plain HTTP with a token still works.
    let (status, order) = plain(
        &hub,
        local,
        "POST",
        "/api/orders",
        Some(&token),
        Some(order_body()),
    )
    .await;
    assert_eq!(status, 201, "{order}");
    assert_eq!(hub.orders().await, orders + 1);
    let (status, found) = plain(
        &hub,
        lan,
        "GET",
        &format!("/api/orders/lookup?dailyNum={}", order["dailyNum"]),
        None,
        None,
    )
    .await;
    assert_eq!(status, 200, "the order lookup is public: {found}");
    drop(board);
    hub.stop().await;
}

#[tokio::test]
async fn the_fingerprint_command_prints_the_certificates_key_hash_and_keeps_the_key_private() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("hub");
    let run = || {
        support::succeeds(
            Command::new(env!("CARGO_BIN_EXE_countertop-hub"))
                .args(["fingerprint", "--data"])
                .arg(&data),
        )
    };
    let printed = run();
    assert_eq!(printed.lines().count(), 1, "{printed:?}");
    let printed = printed.trim_end().to_owned();
    assert_eq!(printed.len(), 64);
    assert!(printed
        .bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
    assert_eq!(printed, fingerprint_of_cert_file(&data));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for file in ["tls.key", "tls.crt"] {
            let mode = std::fs::metadata(data.join(file))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "{file}");
        }
    }
    // Reused on the next start: the same key, the same fingerprint.
    assert_eq!(run().trim_end(), printed);
}

#[tokio::test]
async fn serve_with_tls_listen_prints_both_lines_and_answers_over_https_with_the_printed_key() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_countertop-hub"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--tls-listen",
            "127.0.0.1:0",
            "--data",
        ])
        .arg(dir.path())
        .envs(support::hub_env(dir.path()))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    out.read_line(&mut first).unwrap();
    let mut second = String::new();
    out.read_line(&mut second).unwrap();
    let plain: SocketAddr = first
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("first line {first:?}"))
        .parse()
        .unwrap();
    let tls: SocketAddr = second
        .trim()
        .strip_prefix("listening (tls) on ")
        .unwrap_or_else(|| panic!("second line {second:?}"))
        .parse()
        .unwrap();
    assert_ne!(plain, tls);
    let fingerprint = fingerprint_of_cert_file(dir.path());
    let conn = tls_from_lan(tls, &fingerprint)
        .await
        .expect("pinned handshake");
    let (status, body) = exchange(conn, "GET", "/healthz", None, None).await;
    assert_eq!(status, 200, "{body}");
    // The default loopback policy: 127.0.0.2 is this machine too.
    let (status, body) = exchange(
        tcp_from(LAN_PEER, plain).await,
        "GET",
        "/api/menu",
        None,
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    child.kill().unwrap();
    child.wait().unwrap();
}

#[tokio::test]
async fn a_hub_without_a_tls_address_refuses_tokens_from_the_lan_unless_told_to_take_them_in_plain()
{
    // A hub on the LAN with no TLS address serves its public pages only:
    // a token or a pairing code from another computer is refused.
    let hub = TlsHub::start_serving(false).await;
    let code = hub
        .hub
        .create_pairing_code(countertop_protocol::Role::Kiosk, "lan kiosk")
        .await
        .unwrap();
    let pair = json!({"code": code.code});
    let (status, body) = plain(
        &hub,
        LAN_PEER,
        "POST",
        "/api/devices/pair",
        None,
        Some(pair.clone()),
    )
    .await;
    assert_tls_required(status, &body);
    let (status, menu) = plain(&hub, LAN_PEER, "GET", "/api/menu", None, None).await;
    assert_eq!(status, 200, "the public menu stays open: {menu}");
    hub.stop().await;

    // --insecure-lan-tokens: an old client on a trusted network may.
    let hub = TlsHub::start_with(false, |config| config.insecure_lan_tokens = true).await;
    let code = hub
        .hub
        .create_pairing_code(countertop_protocol::Role::Kiosk, "lan kiosk")
        .await
        .unwrap();
    let (status, paired) = plain(
        &hub,
        LAN_PEER,
        "POST",
        "/api/devices/pair",
        None,
        Some(json!({"code": code.code})),
    )
    .await;
    assert_eq!(status, 201, "{paired}");
    let token = paired["token"].as_str().unwrap();
    let before = hub.orders().await;
    let (status, order) = plain(
        &hub,
        LAN_PEER,
        "POST",
        "/api/orders",
        Some(token),
        Some(order_body()),
    )
    .await;
    assert_eq!(status, 201, "{order}");
    assert_eq!(hub.orders().await, before + 1);
    hub.stop().await;
}
