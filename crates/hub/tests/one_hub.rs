//! One hub per SQLite data folder, as an operator meets it with the real
//! binary: while `countertop-hub serve` runs, a second `serve` on the same
//! folder and the commands that write its database (`new-secret`,
//! `wipe-events`, `renew-epoch`, `restore`) are refused with what to do,
//! changing nothing; `pairing-code` works beside it; once the hub has
//! stopped, they run. Nodes on PostgreSQL (separate folders, or one) are
//! `cluster.rs`'s.

mod support;

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

use sha2::{Digest, Sha256};
use support::Api;

fn hub(args: &[&str], data: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_countertop-hub"));
    command
        .args(args)
        .arg("--data")
        .arg(data)
        .env_remove("COUNTERTOP_DATABASE");
    command
}

/// `serve` on `data`, once it has printed its address; stderr read as it
/// comes (a pipe nobody reads would block the hub).
fn serve(data: &Path) -> (Child, String, std::thread::JoinHandle<String>) {
    let mut child = hub(&["serve", "--listen", "127.0.0.1:0"], data)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let logs = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let mut line = String::new();
    BufReader::new(child.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();
    (child, addr, logs)
}

fn refused(out: &Output, parts: &[&str]) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "not refused: {stderr}");
    for part in parts {
        assert!(stderr.contains(part), "{part:?} not in {stderr}");
    }
}

fn sha256(path: &Path) -> String {
    format!("{:x}", Sha256::digest(std::fs::read(path).unwrap()))
}

#[tokio::test]
async fn a_second_hub_and_the_commands_that_write_wait_for_the_running_hub() {
    if support::sqlite_only("one hub per SQLite data folder") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let (mut first, addr, logs) = serve(data);
    let busy = format!(
        "another program is using the data folder {}",
        data.display()
    );

    let second = hub(&["serve", "--listen", "127.0.0.1:0"], data)
        .output()
        .unwrap();
    refused(
        &second,
        &[
            &busy,
            "stop it first, then start this hub again",
            "Nothing was changed",
        ],
    );

    let secret = sha256(&data.join("secret.key"));
    for command in ["new-secret", "wipe-events", "renew-epoch"] {
        let out = hub(&[command], data).output().unwrap();
        refused(&out, &[&busy, &format!("then run {command}")]);
    }
    assert_eq!(sha256(&data.join("secret.key")), secret, "no new secret");

    // A backup works beside the hub; its restore waits for the hub to stop.
    let copy = dir.path().join("copy.db");
    let copy = copy.to_str().unwrap();
    support::succeeds(&mut hub(&["backup", "--to", copy], data));
    let out = hub(&["restore", "--from", copy], data).output().unwrap();
    refused(&out, &["a hub is running on", "stop it first"]);

    // pairing-code works beside the running hub, and the hub takes its code.
    let printed = support::succeeds(&mut hub(&["pairing-code", "--role", "manager"], data));
    let code: serde_json::Value = serde_json::from_str(&printed).unwrap();
    let api = Api::new(format!("http://{addr}"), None);
    let (status, paired) = api
        .post(
            "/api/devices/pair",
            serde_json::json!({ "code": code["code"] }),
        )
        .await;
    assert_eq!(status, 201, "{paired}");
    let (status, _) = api.get("/healthz").await;
    assert_eq!(status, 200, "the first hub serves on");

    first.kill().unwrap();
    first.wait().unwrap();
    let _ = logs.join();

    // Stopped: the commands run, and a hub starts again.
    support::succeeds(&mut hub(&["wipe-events"], data));
    let (mut again, addr, logs) = serve(data);
    let (status, _) = Api::new(format!("http://{addr}"), None)
        .get("/healthz")
        .await;
    assert_eq!(status, 200);
    again.kill().unwrap();
    again.wait().unwrap();
    let _ = logs.join();
}
