//! The `countertop-hub` binary as an operator runs it: first start with demo
//! data, a pairing code printed while the server runs, tokens kept out of the
//! logs, and a graceful stop on SIGTERM.

mod support;

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};

use serde_json::{json, Value};
use support::{Api, Ws};

struct Server {
    child: Child,
    addr: String,
    /// Everything the hub wrote to stderr, read as it comes: a pipe nobody
    /// reads fills up (64 KiB of debug logs) and blocks the hub mid-write.
    logs: std::thread::JoinHandle<String>,
}

fn start(data: &std::path::Path) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_countertop-hub"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(data)
        .envs(support::hub_env(data))
        .env("RUST_LOG", "debug")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("hub starts");
    let mut line = String::new();
    BufReader::new(child.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .expect("hub prints its address");
    let addr = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();
    let mut stderr = child.stderr.take().unwrap();
    let logs = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    Server { child, addr, logs }
}

fn pairing_code(data: &std::path::Path, role: &str) -> Value {
    let text = support::succeeds(
        Command::new(env!("CARGO_BIN_EXE_countertop-hub"))
            .args(["pairing-code", "--role", role, "--data"])
            .arg(data)
            .envs(support::hub_env(data)),
    );
    assert_eq!(text.lines().count(), 1, "one line of JSON: {text}");
    serde_json::from_str(&text).unwrap()
}

#[tokio::test]
async fn first_start_pairing_from_the_command_line_and_sigterm_close_sockets_with_1001() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = start(dir.path());
    let base = format!("http://{}", server.addr);
    let anonymous = Api::new(base.clone(), None);

    // The demo café is there on the first start.
    let (status, menu) = anonymous.get("/api/menu").await;
    assert_eq!(status, 200);
    let menu = menu.as_array().unwrap();
    assert!(menu.len() >= 10, "about a dozen items");
    let categories: std::collections::BTreeSet<_> = menu
        .iter()
        .map(|m| m["category"].as_str().unwrap())
        .collect();
    assert_eq!(categories.len(), 3);
    let (_, settings) = anonymous.get("/api/settings").await;
    assert_eq!(settings["is_kiosk_active"], "true");
    assert_eq!(settings["currency"], "KRW");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("secret.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "the signing secret is private");
    }

    // A pairing code from the command line, while the server runs.
    let code = pairing_code(dir.path(), "manager");
    assert_eq!(code["code"].as_str().unwrap().len(), 6);
    assert!(code["expiresAt"].is_string());
    let (status, paired) = anonymous
        .post("/api/devices/pair", json!({"code": code["code"]}))
        .await;
    assert_eq!(status, 201, "{paired}");
    let token = paired["token"].as_str().unwrap().to_owned();
    let manager = anonymous.with_token(&token);
    let (status, _) = manager.get("/api/ws/stats").await;
    assert_eq!(status, 200);
    // The token travels in a query string too, where logs would see it.
    let (status, _) = anonymous
        .raw(
            anonymous
                .client()
                .get(format!("{base}/api/snapshot?token={token}")),
        )
        .await;
    assert_eq!(status, 200);
    // So do the SSE streams', as EventSource cannot set a header.
    for path in [
        format!("/api/stream?topics=orders&token={token}&lastEventId=0"),
        format!("/api/workorders/stream?token={token}"),
    ] {
        let stream = tokio::time::timeout(
            support::WAIT,
            anonymous.client().get(format!("{base}{path}")).send(),
        )
        .await
        .expect("the stream opens in time")
        .expect("the stream opens");
        assert_eq!(stream.status(), 200, "{path}");
    }

    let mut ws = Ws::connect(
        &format!("ws://{}/ws?token={token}", server.addr),
        None,
        None,
    )
    .await
    .unwrap();
    assert_eq!(ws.next().await["event"], "welcome");
    ws.subscribe(&["orders"]).await;

    let pid = server.child.id().to_string();
    let killed = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(killed.success());
    assert_eq!(
        ws.closed().await,
        1001,
        "sockets close with 1001 on shutdown"
    );
    let status = server.child.wait().unwrap();
    assert!(
        status.success(),
        "the hub exits cleanly on SIGTERM: {status}"
    );

    let logs = server.logs.join().unwrap();
    assert!(logs.contains("/api/snapshot"), "requests are logged");
    assert!(
        logs.contains("/api/workorders/stream"),
        "streams are logged"
    );
    assert!(logs.contains("[redacted]"), "the query's token is redacted");
    assert!(!logs.contains(&token), "no token in the logs");
    let signature = token.rsplit('.').next().unwrap();
    assert!(!logs.contains(signature), "no part of a token in the logs");
}

#[test]
fn pairing_code_without_hub_data_says_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_countertop-hub"))
        .args(["pairing-code", "--role", "kiosk", "--data"])
        .arg(dir.path())
        .envs(support::hub_env(dir.path()))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("start the hub once first"), "{err}");

    let out = Command::new(env!("CARGO_BIN_EXE_countertop-hub"))
        .args(["pairing-code", "--role", "chef", "--data"])
        .arg(dir.path())
        .envs(support::hub_env(dir.path()))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown role"));
}
