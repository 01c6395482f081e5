//! What an attacker on the café network could do, checked against the real
//! hub (issue 12): a ping flood from a client that never reads, signatures
//! that are not drawings, connections that never finish, pairing-code
//! guessing, file modes, damaged data folders, token edge cases, and topic
//! hoarding. Every wait is for a condition, bounded by a deadline.

mod support;

use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::time::{Duration, Instant};

use countertop_protocol::Role;
use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use support::{Api, TestHub, Ws, WAIT};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS")
}

/// A WebSocket opened by hand on a socket with a small receive buffer, for
/// a client that writes and never reads.
async fn raw_websocket(addr: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut tcp = socket.connect(addr).await.unwrap();
    let request = format!(
        "GET /ws HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    tcp.write_all(request.as_bytes()).await.unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        tcp.read_exact(&mut byte).await.unwrap();
        head.push(byte[0]);
    }
    assert!(
        head.starts_with(b"HTTP/1.1 101"),
        "{}",
        String::from_utf8_lossy(&head)
    );
    tcp
}

/// For a test that measures the memory of the whole process: true when it
/// has run in a process of its own (this binary again, with only `name`),
/// which passed; false in that process, where the test's body runs. The
/// other tests' hubs, running alongside in one process, would count too.
fn ran_alone(name: &str) -> bool {
    const ALONE: &str = "COUNTERTOP_TEST_ALONE";
    if std::env::var(ALONE).as_deref() == Ok(name) {
        return false;
    }
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([name, "--exact", "--nocapture", "--test-threads=1"])
        .env(ALONE, name)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    print!("{text}");
    eprint!("{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        out.status.success() && text.contains("test result: ok. 1 passed"),
        "{name}, run alone, did not pass"
    );
    true
}

#[tokio::test]
async fn a_ping_flood_from_a_client_that_never_reads_is_closed_with_memory_bounded() {
    if ran_alone("a_ping_flood_from_a_client_that_never_reads_is_closed_with_memory_bounded") {
        return;
    }
    let hub = TestHub::start_with(|c| c.write_timeout = Duration::from_secs(1)).await;
    let mut tcp = raw_websocket(hub.addr).await;
    // Masked ping frames with no payload, 10,000 to a write.
    let chunk: Vec<u8> = [0x89u8, 0x80, 1, 2, 3, 4].repeat(10_000);
    let before = rss_kib();
    let mut peak = before;
    let mut sent = 0u64;
    let deadline = Instant::now() + Duration::from_secs(60);
    let closed = loop {
        if Instant::now() > deadline || sent >= 20_000_000 {
            break false;
        }
        match tokio::time::timeout(WAIT, tcp.write_all(&chunk)).await {
            Ok(Ok(())) => sent += 10_000,
            Ok(Err(_)) => break true,
            Err(_) => panic!("the hub stopped reading the flood but kept the socket open"),
        }
        peak = peak.max(rss_kib());
    };
    let grown_mib = peak.saturating_sub(before) / 1024;
    println!("ping flood: {sent} pings, memory grew {grown_mib} MiB, closed: {closed}");
    assert!(closed, "the connection was still open after {sent} pings");
    assert!(
        grown_mib < 64,
        "memory grew {grown_mib} MiB under the flood"
    );
    // The hub serves everyone else as before.
    let (status, _) = hub.anonymous().get("/api/menu").await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn a_subscriber_that_stops_reading_is_closed_after_the_write_timeout() {
    let hub = TestHub::start_with(|c| c.write_timeout = Duration::from_secs(1)).await;
    let manager = hub.pair(Role::Manager).await;
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let tcp = socket.connect(hub.addr).await.unwrap();
    let mut request = format!("ws://{}/ws", hub.addr)
        .into_client_request()
        .unwrap();
    request.headers_mut().insert(
        "authorization",
        format!("Bearer {}", manager.token).parse().unwrap(),
    );
    let (mut ws, _) = tokio_tungstenite::client_async(request, tcp).await.unwrap();
    let frame = ws.next().await.unwrap().unwrap();
    assert!(frame.to_string().contains("welcome"));
    ws.send(Message::Text(
        json!({"type": "subscribe", "topics": ["system"]})
            .to_string()
            .into(),
    ))
    .await
    .unwrap();
    // Notifications of 2 KB each until the hub gives up on this reader,
    // which it says by dropping it from its connection count.
    let message = "x".repeat(2000);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (status, body) = manager
            .api
            .post(
                "/api/notifications",
                json!({"level": "info", "title": "flood", "message": message}),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        let (_, stats) = manager.api.get("/api/ws/stats").await;
        if stats["data"]["totalConnections"] == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the slow reader was never closed"
        );
    }
    let (_, metrics) = hub.anonymous().get("/metrics").await;
    assert!(
        metrics.as_str().unwrap().contains(&format!(
            "countertop_slow_consumers_closed_total{{node=\"{}\"}} 1\n",
            hub.hub.config.node_name
        )),
        "{metrics}"
    );
}

// ---- Signatures ----------------------------------------------------------

struct Signing {
    hub: TestHub,
    manager: support::Device,
    display: support::Device,
}

impl Signing {
    async fn start() -> Signing {
        let hub = TestHub::start().await;
        let manager = hub.pair(Role::Manager).await;
        let display = hub.pair(Role::Display).await;
        Signing {
            hub,
            manager,
            display,
        }
    }

    /// A workorder presented to the display, ready to sign.
    async fn presented(&self) -> String {
        let (status, wo) = self
            .manager
            .api
            .post(
                "/api/workorders",
                json!({"title": "Brakes", "customerName": "Kim", "lines": [{"description": "pads", "amount": 12000}]}),
            )
            .await;
        assert_eq!(status, 201, "{wo}");
        let id = wo["id"].as_str().unwrap().to_owned();
        let (status, body) = self
            .manager
            .api
            .post(
                &format!("/api/workorders/{id}/present"),
                json!({"deviceId": self.display.id}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        id
    }

    async fn sign(&self, id: &str, svg: &str) -> (reqwest::StatusCode, Value) {
        self.display
            .api
            .post(
                "/api/display/signature",
                json!({"workOrderId": id, "signerName": "Kim", "signatureSvg": svg}),
            )
            .await
    }
}

fn use_bomb() -> String {
    let mut svg = String::from(
        r##"<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"><defs><path id="a0" d="M0 0L900 400" stroke="#000"/>"##,
    );
    for i in 1..12 {
        let p = i - 1;
        svg.push_str(&format!(
            r##"<g id="a{i}"><use xlink:href="#a{p}"/><use xlink:href="#a{p}"/><use xlink:href="#a{p}"/></g>"##
        ));
    }
    svg.push_str(r##"</defs><use xlink:href="#a11"/></svg>"##);
    svg
}

#[tokio::test]
async fn only_drawings_are_accepted_as_signatures_and_the_hub_serves_its_own_svg() {
    let s = Signing::start().await;
    let id = s.presented().await;
    let bomb = use_bomb();
    assert!(bomb.len() < 2048, "the bomb is small: {} bytes", bomb.len());
    let vectors = [
        bomb.as_str(),
        r#"<svg xmlns="http://www.w3.org/2000/svg"><a href="&#106;avascript:alert(1)"><path d="M0 0L9 9"/></a></svg>"#,
        r#"<svg xmlns="http://www.w3.org/2000/svg"><image href="http://evil.example/x.png" width="9" height="9"/></svg>"#,
        r##"<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"><use xlink:href="http://evil.example/s.svg#a"/></svg>"##,
        r#"<svg xmlns="http://www.w3.org/2000/svg"><filter id="f"><feImage href="http://evil.example/x"/></filter><path d="M0 0L9 9"/></svg>"#,
        r#"<svg xmlns="http://www.w3.org/2000/svg"><style>@import url(http://evil.example/x.css);</style><path d="M0 0L9 9"/></svg>"#,
        r#"<svg xmlns="http://www.w3.org/2000/svg"><path style="stroke:url(http://evil.example/p)" d="M0 0L9 9"/></svg>"#,
        r#"<svg xmlns="http://www.w3.org/2000/svg"><path d="M0 0L9 9"><set attributeName="d" to="M0 0L1 1"/></path></svg>"#,
        r#"<svg xmlns="http://www.w3.org/2000/svg"><path d="M0 0L9 9"><animate attributeName="d" dur="1s"/></path></svg>"#,
        r#"<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><path d="M0 0L9 9"/></svg>"#,
        r#"<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>"#,
        r#"<!DOCTYPE svg [<!ENTITY x "y">]><svg xmlns="http://www.w3.org/2000/svg"><path d="M0 0L9 9"/></svg>"#,
    ];
    for svg in vectors {
        let (status, body) = s.sign(&id, svg).await;
        assert_eq!(status, 422, "accepted {svg}: {body}");
        assert_eq!(body["error"]["code"], "validation", "{body}");
    }
    // Nothing was stored: the workorder still waits for its signature.
    let (_, list) = s.manager.api.get("/api/workorders").await;
    assert_eq!(list[0]["status"], "AWAITING_SIGNATURE");

    // The pad's drawing passes, but what is stored and served is the hub's
    // own SVG of its points: the device's colours and extras are gone.
    let pad = r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 1000 400" width="1000" height="400"><g fill="none" stroke="red" stroke-opacity="0.5" stroke-linecap="round" stroke-linejoin="round"><path d="M100 200Q150 150 200 200L300 220" stroke-width="4.5"/></g></svg>"##;
    let (status, signed) = s.sign(&id, pad).await;
    assert_eq!(status, 200, "{signed}");
    let served = signed["signature"]["signatureSvg"].as_str().unwrap();
    assert_ne!(served, pad);
    assert!(
        !served.contains("red") && !served.contains("opacity"),
        "{served}"
    );
    assert!(
        served.starts_with(r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 1000 400""#),
        "{served}"
    );
    assert!(served.contains(r#"<path d="M100 200L"#), "{served}");
    assert!(
        served.ends_with(r#"L300 220" stroke-width="4.5"/></g></svg>"#),
        "{served}"
    );
    let (_, list) = s.manager.api.get("/api/workorders").await;
    assert_eq!(list[0]["signature"]["signatureSvg"], served);
    let strokes: Option<String> =
        countertop_hub::on_pool!(s.hub.hub.pool(), |ex| sqlx::query_scalar(
            "SELECT strokes FROM workorders WHERE id = $1"
        )
        .bind(&id)
        .fetch_one(ex)
        .await)
        .unwrap();
    let strokes: Value = serde_json::from_str(&strokes.unwrap()).unwrap();
    assert_eq!(strokes["strokes"][0]["points"][0], json!([100.0, 200.0]));
}

#[tokio::test]
async fn a_signature_stored_before_the_allow_list_is_rewritten_at_start() {
    let s = Signing::start().await;
    let id = s.presented().await;
    let (status, _) = s
        .sign(&id, r#"<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><path d="M1 1L5 5"/></svg>"#)
        .await;
    assert_eq!(status, 200);
    let Signing { hub, .. } = s;
    let dir = hub.stop().await;
    // As an older hub stored it: the device's own SVG, and no strokes.
    {
        let db = support::open_store(dir.path()).await;
        let body: String = countertop_hub::on_pool!(db, |ex| sqlx::query_scalar(
            "SELECT body FROM workorders WHERE id = $1"
        )
        .bind(&id)
        .fetch_one(ex)
        .await)
        .unwrap();
        let mut body: Value = serde_json::from_str(&body).unwrap();
        body["signature"]["signatureSvg"] = json!(use_bomb());
        for (sql, binds) in [
            (
                "UPDATE workorders SET body = $1, strokes = NULL WHERE id = $2",
                vec![body.to_string(), id.clone()],
            ),
            (
                "UPDATE events SET data = replace(data, 'M1 1L5 5', 'M1 1L5 5\\\" onclick=\\\"x()') WHERE name = 'workorder:updated'",
                vec![],
            ),
            ("DELETE FROM meta WHERE key = 'signatures_rewritten'", vec![]),
        ] {
            countertop_hub::on_pool!(db, |ex| {
                let mut query = sqlx::query(sql);
                for b in &binds {
                    query = query.bind(b);
                }
                query.execute(ex).await.map(|_| ())
            })
            .unwrap();
        }
        db.close().await;
    }
    let hub = TestHub::start_in(dir, |_| {}).await;
    let manager = hub.pair(Role::Manager).await;
    let (_, list) = manager.api.get("/api/workorders").await;
    let served = list[0]["signature"]["signatureSvg"].as_str().unwrap();
    assert!(
        !served.contains("use") && !served.contains("xlink"),
        "{served}"
    );
    assert!(
        served.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 1000 400\""),
        "{served}"
    );
    let logged: Vec<String> = countertop_hub::on_pool!(hub.hub.pool(), |ex| sqlx::query_scalar(
        "SELECT data FROM events WHERE name = 'workorder:updated'"
    )
    .fetch_all(ex)
    .await)
    .unwrap();
    assert!(logged.iter().all(|d| !d.contains("onclick")), "{logged:?}");
}

// ---- Connections that never finish ---------------------------------------

/// Waits until the hub closes `tcp` (a read of 0 bytes, or a reset),
/// collecting what it sent.
async fn closed_by_hub(tcp: &mut TcpStream) -> String {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout(WAIT, tcp.read(&mut buf)).await {
            Err(_) => panic!(
                "the hub kept the connection open; it sent {:?}",
                String::from_utf8_lossy(&got)
            ),
            Ok(Ok(0)) | Ok(Err(_)) => return String::from_utf8_lossy(&got).into_owned(),
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
        }
    }
}

#[tokio::test]
async fn silent_slow_and_idle_connections_are_closed_while_streams_live_on() {
    let hub = TestHub::start_with(|c| {
        c.header_read_timeout = Duration::from_secs(1);
        c.body_timeout = Duration::from_secs(1);
    })
    .await;
    let barista = hub.pair(Role::Barista).await;
    let kiosk = hub.pair(Role::Kiosk).await;
    // Streams opened first: a WebSocket and an SSE stream.
    let mut ws = hub.connect(Some(&barista)).await;
    ws.subscribe(&["orders"]).await;
    let mut sse = reqwest::Client::new()
        .get(hub.url("/api/stream?topics=orders"))
        .bearer_auth(&barista.token)
        .send()
        .await
        .unwrap()
        .bytes_stream();

    // A silent socket, a request line sent in part, and a keep-alive
    // connection that goes quiet after one request.
    let mut silent = TcpStream::connect(hub.addr).await.unwrap();
    let mut slowloris = TcpStream::connect(hub.addr).await.unwrap();
    slowloris
        .write_all(b"GET /api/menu HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        .await
        .unwrap();
    let mut idle = TcpStream::connect(hub.addr).await.unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut half_body = TcpStream::connect(hub.addr).await.unwrap();
    half_body
        .write_all(
            format!(
                "POST /api/orders HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\n\
                 Content-Type: application/json\r\nContent-Length: 200\r\n\r\n{{\"idem",
                kiosk.token
            )
            .as_bytes(),
        )
        .await
        .unwrap();

    assert_eq!(closed_by_hub(&mut silent).await, "");
    assert_eq!(closed_by_hub(&mut slowloris).await, "");
    assert!(closed_by_hub(&mut idle).await.starts_with("HTTP/1.1 200"));
    let answer = closed_by_hub(&mut half_body).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");

    // More than the timeouts have passed: both streams still deliver.
    let (status, order) = kiosk.api.order(&[("americano", 1)], "CARD").await;
    assert_eq!(status, 201, "{order}");
    let created = ws.next_event("order:created").await;
    assert_eq!(created["data"]["orderId"], order["orderId"]);
    let mut text = String::new();
    while !text.contains(order["orderId"].as_str().unwrap()) {
        let chunk = tokio::time::timeout(WAIT, sse.next())
            .await
            .expect("an SSE event in time")
            .expect("stream open")
            .unwrap();
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
}

#[tokio::test]
async fn one_address_cannot_hold_more_than_its_share_of_connections() {
    let hub = TestHub::start_with(|c| c.max_connections_per_address = 50).await;
    let mut held = Vec::new();
    for _ in 0..50 {
        held.push(TcpStream::connect(hub.addr).await.unwrap());
    }
    // The 51st from the same address is closed at once.
    let mut extra = TcpStream::connect(hub.addr).await.unwrap();
    assert_eq!(closed_by_hub(&mut extra).await, "");
    // Another address is served.
    let client = reqwest::Client::builder()
        .local_address(IpAddr::from([127, 0, 0, 2]))
        .build()
        .unwrap();
    let res = client.get(hub.url("/healthz")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    // Closing one gives its place back.
    held.pop();
    let deadline = Instant::now() + WAIT;
    loop {
        let res = reqwest::Client::new().get(hub.url("/healthz")).send().await;
        if res.is_ok_and(|r| r.status() == 200) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the freed place was not given back"
        );
    }
}

struct Binary {
    child: std::process::Child,
    addr: SocketAddr,
}

impl Drop for Binary {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The hub binary under an open-file limit of `soft:hard`.
fn binary_with_nofile(data: &Path, soft: u64, hard: u64) -> Binary {
    use std::io::BufRead;
    let mut child = std::process::Command::new("prlimit")
        .arg(format!("--nofile={soft}:{hard}"))
        .arg(env!("CARGO_BIN_EXE_countertop-hub"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(data)
        .envs(support::hub_env(data))
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("prlimit (util-linux) runs the hub");
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .parse()
        .unwrap();
    Binary { child, addr }
}

#[tokio::test]
async fn eleven_hundred_idle_sockets_from_one_address_do_not_lock_others_out() {
    let data = tempfile::tempdir().unwrap();
    let hub = binary_with_nofile(data.path(), 1024, 1024);
    rlimit::increase_nofile_limit(4096).unwrap();
    let mut idle = Vec::new();
    for _ in 0..1100 {
        match TcpStream::connect(hub.addr).await {
            Ok(s) => idle.push(s),
            Err(e) => panic!("connect {}: {e}", idle.len()),
        }
    }
    let client = reqwest::Client::builder()
        .local_address(IpAddr::from([127, 0, 0, 3]))
        .timeout(Duration::from_secs(1))
        .build()
        .unwrap();
    let started = Instant::now();
    let res = client
        .get(format!("http://{}/api/menu", hub.addr))
        .send()
        .await
        .expect("served within a second while 1,100 idle sockets are open");
    assert_eq!(res.status(), 200);
    println!(
        "served in {} ms with 1,100 idle sockets open",
        started.elapsed().as_millis()
    );
}

#[tokio::test]
async fn the_hub_raises_its_open_file_limit_at_start() {
    let data = tempfile::tempdir().unwrap();
    let hub = binary_with_nofile(data.path(), 1024, 4096);
    // Once it has answered, its accept loop (which raises the limit) runs.
    let res = reqwest::get(format!("http://{}/healthz", hub.addr))
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let limits = std::fs::read_to_string(format!("/proc/{}/limits", hub.child.id())).unwrap();
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .unwrap();
    let fields: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(&fields[3..5], ["4096", "4096"], "{line}");
}

// ---- Pairing codes -------------------------------------------------------

async fn pair_from(hub: &TestHub, ip: IpAddr, code: &str) -> reqwest::StatusCode {
    let client = reqwest::Client::builder()
        .local_address(ip)
        .build()
        .unwrap();
    client
        .post(hub.url("/api/devices/pair"))
        .json(&json!({ "code": code }))
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test]
async fn a_concurrent_burst_from_one_address_gets_five_codes_checked() {
    let hub = TestHub::start().await;
    let code = hub.hub.create_pairing_code(Role::Kiosk, "k").await.unwrap();
    let wrong = format!("{:06}", (code.code.parse::<u32>().unwrap() + 1) % 1_000_000);
    let attempts = (0..40).map(|_| pair_from(&hub, IpAddr::from([127, 0, 0, 1]), &wrong));
    let answers = futures::future::join_all(attempts).await;
    let checked = answers.iter().filter(|s| **s == 401).count();
    let refused = answers.iter().filter(|s| **s == 429).count();
    assert_eq!((checked, refused), (5, 35), "{answers:?}");
}

#[tokio::test]
async fn a_sweep_from_many_addresses_ends_at_the_hub_wide_budget_and_cancels_codes() {
    let hub = TestHub::start().await;
    let code = hub
        .hub
        .create_pairing_code(Role::Manager, "m")
        .await
        .unwrap();
    // The database keeps a keyed hash, never the code.
    let stored: Vec<String> = countertop_hub::on_pool!(hub.hub.pool(), |ex| sqlx::query_scalar(
        "SELECT code FROM pairing_codes"
    )
    .fetch_all(ex)
    .await)
    .unwrap();
    assert_eq!(stored.len(), 1);
    assert!(!stored[0].contains(&code.code) && stored[0].len() == 64);
    let right: u32 = code.code.parse().unwrap();
    let mut checked = 0;
    for i in 0..120u32 {
        let ip = IpAddr::from([127, 0, 1, (i + 1) as u8]);
        let guess = format!("{:06}", (right + 1 + i) % 1_000_000);
        match pair_from(&hub, ip, &guess).await.as_u16() {
            401 => checked += 1,
            429 => {}
            other => panic!("answer {other}"),
        }
    }
    assert_eq!(checked, countertop_hub::auth::HUB_WIDE_PAIRING_FAILURES);
    let open: i64 = countertop_hub::on_pool!(hub.hub.pool(), |ex| sqlx::query_scalar(
        "SELECT COUNT(*) FROM pairing_codes WHERE used_ms IS NULL"
    )
    .fetch_one(ex)
    .await)
    .unwrap();
    assert_eq!(open, 0, "outstanding codes are cancelled");
    assert_eq!(
        pair_from(&hub, IpAddr::from([127, 0, 2, 1]), &code.code).await,
        429
    );
}

// ---- Files and damaged data ----------------------------------------------

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[cfg(unix)]
#[tokio::test]
async fn the_data_folder_and_its_files_are_private_and_made_so_at_start() {
    if support::sqlite_only("the modes of hub.db and its WAL") {
        return;
    }
    let parent = tempfile::tempdir().unwrap();
    let dir = parent.path().join("hub");
    let config = countertop_hub::HubConfig::new(&dir);
    let hub = countertop_hub::Hub::open(config.clone()).await.unwrap();
    hub.create_pairing_code(Role::Manager, "m").await.unwrap();
    assert_eq!(mode(&dir), 0o700);
    for f in ["hub.db", "hub.db-wal", "hub.db-shm", "secret.key"] {
        assert_eq!(mode(&dir.join(f)), 0o600, "{f}");
    }
    hub.pool().close().await;
    drop(hub);
    // An older hub's modes are put right at the next start.
    set_mode(&dir, 0o755);
    set_mode(&dir.join("hub.db"), 0o644);
    let hub = countertop_hub::Hub::open(config).await.unwrap();
    assert_eq!(mode(&dir), 0o700);
    assert_eq!(mode(&dir.join("hub.db")), 0o600);
    assert_eq!(mode(&dir.join("hub.db-wal")), 0o600);
    hub.pool().close().await;
}

/// A hub's folder that has run and stopped, with a few orders.
async fn stopped_hub_folder(orders: usize) -> tempfile::TempDir {
    let hub = TestHub::start().await;
    let kiosk = hub.pair(Role::Kiosk).await;
    for _ in 0..orders {
        let (status, _) = kiosk.api.order(&[("americano", 1)], "CARD").await;
        assert_eq!(status, 201);
    }
    hub.stop().await
}

async fn refusal(dir: &Path) -> String {
    match countertop_hub::Hub::open(support::config(dir)).await {
        Ok(_) => panic!("the hub started on {}", dir.display()),
        Err(e) => format!("{e:#}"),
    }
}

#[tokio::test]
async fn a_folder_with_an_empty_or_missing_database_is_refused() {
    if support::sqlite_only("an empty or missing hub.db") {
        return;
    }
    let dir = stopped_hub_folder(1).await;
    std::fs::write(dir.path().join("hub.db"), b"").unwrap();
    let _ = std::fs::remove_file(dir.path().join("hub.db-wal"));
    let message = refusal(dir.path()).await;
    assert!(
        message.contains("hub.db is empty") && message.contains("Restore hub.db from a backup"),
        "{message}"
    );
    std::fs::remove_file(dir.path().join("hub.db")).unwrap();
    let message = refusal(dir.path()).await;
    assert!(message.contains("hub.db is missing"), "{message}");
}

#[cfg(unix)]
#[tokio::test]
async fn a_missing_or_exposed_secret_is_refused() {
    let dir = stopped_hub_folder(1).await;
    let secret = dir.path().join("secret.key");
    set_mode(&secret, 0o666);
    let message = refusal(dir.path()).await;
    assert!(message.contains("chmod 600"), "{message}");
    std::fs::remove_file(&secret).unwrap();
    let message = refusal(dir.path()).await;
    assert!(
        message.contains("secret.key is missing") && message.contains("new-secret"),
        "{message}"
    );
    assert!(!secret.exists(), "no new secret was made in its place");
}

#[tokio::test]
async fn a_damaged_database_is_refused_at_start() {
    if support::sqlite_only("damaged pages of hub.db") {
        return;
    }
    let dir = stopped_hub_folder(300).await;
    let db = dir.path().join("hub.db");
    let _ = std::fs::remove_file(dir.path().join("hub.db-wal"));
    let _ = std::fs::remove_file(dir.path().join("hub.db-shm"));
    let mut bytes = std::fs::read(&db).unwrap();
    let page = usize::from(u16::from_be_bytes([bytes[16], bytes[17]]));
    let pages = bytes.len() / page;
    assert!(pages > 21, "{pages} pages");
    // Twenty bytes: the page-type byte of twenty pages, as a failing disk
    // might leave them.
    for p in 1..=20 {
        bytes[p * page] = 0xEE;
    }
    std::fs::write(&db, &bytes).unwrap();
    let message = refusal(dir.path()).await;
    assert!(
        message.contains("is damaged") && message.contains("backup"),
        "{message}"
    );
}

// ---- Tokens ----------------------------------------------------------------

#[tokio::test]
async fn a_refreshed_token_replaces_the_old_one_even_after_a_restart() {
    let hub = TestHub::start().await;
    let kiosk = hub.pair(Role::Kiosk).await;
    let (status, fresh) = kiosk.api.post("/api/devices/refresh", json!({})).await;
    assert_eq!(status, 200, "{fresh}");
    let fresh = Api::new(hub.url(""), Some(fresh["token"].as_str().unwrap().into()));
    assert_eq!(kiosk.api.get("/api/cells").await.0, 401);
    assert_eq!(fresh.get("/api/cells").await.0, 200);
    let dir = hub.stop().await;
    let hub = TestHub::start_in(dir, |_| {}).await;
    let old = Api::new(hub.url(""), Some(kiosk.token.clone()));
    assert_eq!(old.get("/api/cells").await.0, 401);
    let fresh = Api::new(hub.url(""), fresh_token(&fresh));
    assert_eq!(fresh.get("/api/cells").await.0, 200);
    // The old token refreshes again only within its short grace (a lost
    // answer: the record of its replacement outlives the restart), and not
    // once a token it was replaced by has been refreshed.
    assert_eq!(old.post("/api/devices/refresh", json!({})).await.0, 200);
    assert_eq!(fresh.post("/api/devices/refresh", json!({})).await.0, 200);
    assert_eq!(old.post("/api/devices/refresh", json!({})).await.0, 401);
}

fn fresh_token(api: &Api) -> Option<String> {
    api.token().map(str::to_owned)
}

#[tokio::test]
async fn tokens_in_the_query_are_read_as_the_extractors_read_them() {
    let hub = TestHub::start().await;
    let kiosk = hub.pair(Role::Kiosk).await;
    let get = |query: String| {
        let url = hub.url(&format!("/api/cells?{query}"));
        async move { reqwest::get(url).await.unwrap().status().as_u16() }
    };
    assert_eq!(get("token=bogus&token=bogus".into()).await, 401);
    assert_eq!(get(format!("token={0}&token={0}", kiosk.token)).await, 401);
    assert_eq!(get("to%6Ben=bogus".into()).await, 401);
    assert_eq!(get(format!("to%6Ben={}", kiosk.token)).await, 200);
    assert_eq!(get(format!("token={}", kiosk.token)).await, 200);
}

#[tokio::test]
async fn an_origin_that_only_matches_the_host_header_is_refused() {
    let hub = TestHub::start().await;
    let port = hub.addr.port();
    let connect = |host: String, origin: String| {
        let url = hub.ws_url();
        async move {
            let mut req = url.into_client_request().unwrap();
            req.headers_mut().insert("host", host.parse().unwrap());
            req.headers_mut().insert("origin", origin.parse().unwrap());
            tokio_tungstenite::connect_async(req).await
        }
    };
    // DNS rebinding: a page on the attacker's name, resolved to the hub.
    let rebound = connect(
        format!("attacker.example:{port}"),
        format!("http://attacker.example:{port}"),
    )
    .await;
    match rebound {
        Err(tokio_tungstenite::tungstenite::Error::Http(res)) => {
            assert_eq!(res.status(), 403)
        }
        other => panic!("expected 403, got {other:?}"),
    }
    // The hub's own pages, by its address or by localhost, are allowed.
    for origin in [
        format!("http://127.0.0.1:{port}"),
        format!("http://localhost:{port}"),
    ] {
        let ok = connect(format!("127.0.0.1:{port}"), origin.clone()).await;
        assert!(ok.is_ok(), "{origin}: {:?}", ok.err());
    }
}

// ---- Topics and replays --------------------------------------------------

#[tokio::test]
async fn a_connection_holds_a_bounded_number_of_topics_of_orders_that_exist() {
    let hub = TestHub::start_with(|c| c.max_topics_per_connection = 6).await;
    let kiosk = hub.pair(Role::Kiosk).await;
    let barista = hub.pair(Role::Barista).await;
    let mut ids = Vec::new();
    for _ in 0..3 {
        let (_, o) = kiosk.api.order(&[("americano", 1)], "CARD").await;
        ids.push(format!("order:{}", o["orderId"].as_str().unwrap()));
    }
    let mut ws = hub.connect(Some(&barista)).await;
    ws.next_event("welcome").await;
    // A made-up order is refused.
    ws.send(json!({"type": "subscribe", "topics": ["order:ORD-1-nothere"]}))
        .await;
    let error = ws.next_event("error").await;
    assert_eq!(error["data"]["code"], "not_found", "{error}");
    let none = ws.next_event("subscribed").await;
    assert_eq!(none["data"]["topics"], json!([]), "{none}");
    let ok = ws
        .subscribe(&["orders", "board", "menu", "settings", "cells"])
        .await;
    assert_eq!(ok["data"]["topics"].as_array().unwrap().len(), 5);
    // Two more would be seven: refused whole, nothing added.
    ws.send(json!({"type": "subscribe", "topics": [ids[0], ids[1]]}))
        .await;
    let error = ws.next_event("error").await;
    assert_eq!(error["data"]["code"], "validation", "{error}");
    assert!(error["data"]["message"]
        .as_str()
        .unwrap()
        .contains("at most 6"));
    // One more fits; a topic held already does not count again.
    let ok = ws.subscribe(&[&ids[2], "orders"]).await;
    assert_eq!(ok["event"], "subscribed", "{ok}");
    let (_, stats) = hub.pair(Role::Manager).await.api.get("/api/ws/stats").await;
    let topics = stats.pointer("/data/topics").unwrap();
    assert!(topics.get(ids[0].as_str()).is_none(), "{stats}");
    assert_eq!(topics[ids[2].as_str()], 1, "{stats}");
}

#[tokio::test]
async fn a_replay_longer_than_a_page_comes_whole_and_in_order() {
    let hub = TestHub::start().await;
    let manager = hub.pair(Role::Manager).await;
    let n = countertop_hub::REPLAY_PAGE as usize * 2 + 150;
    for i in 0..n {
        let (status, _) = manager
            .api
            .post(
                "/api/notifications",
                json!({"level": "info", "title": format!("n{i}"), "message": "m"}),
            )
            .await;
        assert_eq!(status, 201);
    }
    // After a restart the log is read from the database, page by page.
    let dir = hub.stop().await;
    let hub = TestHub::start_in(dir, |_| {}).await;
    let mut ws = Ws::connect(&hub.ws_url_with("topics="), Some(&manager.token), None)
        .await
        .unwrap();
    ws.next_event("welcome").await;
    ws.send(json!({"type": "subscribe", "topics": ["system"], "since": 0}))
        .await;
    ws.next_event("subscribed").await;
    let mut titles = Vec::new();
    loop {
        let f = ws.next().await;
        if f["event"] == "replayed" {
            assert_eq!(f["data"]["count"], n as u64 + 1);
            break;
        }
        titles.push(f["data"]["title"].as_str().unwrap().to_owned());
    }
    // The manager's own pairing was told first.
    let expected: Vec<String> = std::iter::once("Device paired".to_owned())
        .chain((0..n).map(|i| format!("n{i}")))
        .collect();
    assert_eq!(titles, expected);
}
