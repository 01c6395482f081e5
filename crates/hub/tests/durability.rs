//! What the hub confirms is on disk: every order answered `201` survives a
//! SIGKILL in the middle of a burst (on either database), and SQLite's
//! write-ahead log is synced before the answer leaves (seen with strace).

mod support;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

use serde_json::{json, Value};
use support::{line, rand_suffix, Api};

struct Server {
    child: Child,
    base: String,
}

/// Starts the hub binary on `data`, under `wrapper` (e.g. strace) if given.
fn start(data: &Path, wrapper: &[&str]) -> Server {
    let hub = env!("CARGO_BIN_EXE_countertop-hub");
    let mut command = match wrapper.split_first() {
        Some((program, args)) => {
            let mut c = Command::new(program);
            c.args(args).arg(hub);
            c
        }
        None => Command::new(hub),
    };
    let mut child = command
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(data)
        .envs(support::hub_env(data))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("hub starts");
    let mut first = String::new();
    BufReader::new(child.stdout.as_mut().unwrap())
        .read_line(&mut first)
        .expect("hub prints its address");
    let addr = first
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
        .to_owned();
    Server {
        child,
        base: format!("http://{addr}"),
    }
}

/// Pairs a device of `role` through the command line's pairing code.
async fn pair(server: &Server, data: &Path, role: &str) -> Api {
    let out = Command::new(env!("CARGO_BIN_EXE_countertop-hub"))
        .args(["pairing-code", "--role", role, "--data"])
        .arg(data)
        .envs(support::hub_env(data))
        .output()
        .unwrap();
    assert!(out.status.success());
    let code: Value = serde_json::from_slice(&out.stdout).unwrap();
    let anonymous = Api::new(server.base.clone(), None);
    let (status, paired) = anonymous
        .post("/api/devices/pair", json!({"code": code["code"]}))
        .await;
    assert_eq!(status, 201, "{paired}");
    anonymous.with_token(paired["token"].as_str().unwrap())
}

fn order_body() -> Value {
    json!({
        "idempotencyKey": format!("key-{}", rand_suffix()),
        "items": [line("americano", 1), line("latte", 2)],
        "payType": "CASH",
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_order_the_hub_confirmed_survives_a_sigkill_in_the_middle_of_a_burst() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = start(dir.path(), &[]);
    let kiosk = pair(&server, dir.path(), "kiosk").await;
    let confirmed = Arc::new(Mutex::new(Vec::<String>::new()));
    let (enough_tx, enough) = tokio::sync::watch::channel(false);
    let stopped = Arc::new(Mutex::new(Vec::<String>::new()));
    let mut senders = Vec::new();
    for _ in 0..4 {
        let kiosk = kiosk.clone();
        let confirmed = confirmed.clone();
        let enough_tx = enough_tx.clone();
        let stopped = stopped.clone();
        let base = server.base.clone();
        senders.push(tokio::spawn(async move {
            loop {
                let sent = kiosk
                    .client()
                    .post(format!("{base}/api/orders"))
                    .bearer_auth(kiosk.token().unwrap())
                    .json(&order_body())
                    .send()
                    .await;
                let answer = match sent {
                    Ok(res) if res.status() == 201 => res.json::<Value>().await,
                    Ok(res) => {
                        stopped.lock().unwrap().push(res.status().to_string());
                        return;
                    }
                    // The hub is gone: the burst is over for this sender.
                    Err(_) => return,
                };
                // An answer cut off by the kill was never a confirmation.
                let Ok(order) = answer else { return };
                let mut list = confirmed.lock().unwrap();
                list.push(order["orderId"].as_str().unwrap().to_owned());
                if list.len() >= 60 {
                    let _ = enough_tx.send(true);
                }
            }
        }));
    }
    // Only the senders hold the sender now: if they all stop early, the
    // wait ends with an error instead of hanging.
    drop(enough_tx);
    let mut enough = enough;
    let reached = enough.wait_for(|&e| e).await.is_ok();
    assert!(
        reached,
        "the burst stopped early: {:?}",
        stopped.lock().unwrap()
    );
    // SIGKILL, with orders still in flight.
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    for sender in senders {
        sender.await.unwrap();
    }
    let confirmed = confirmed.lock().unwrap().clone();
    assert!(confirmed.len() >= 60);

    let server = start(dir.path(), &[]);
    let manager = pair(&server, dir.path(), "manager").await;
    let (status, orders) = manager.get("/api/orders?limit=5000").await;
    assert_eq!(status, 200);
    let stored: std::collections::HashSet<&str> = orders
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["orderId"].as_str().unwrap())
        .collect();
    let lost: Vec<&String> = confirmed
        .iter()
        .filter(|id| !stored.contains(id.as_str()))
        .collect();
    assert!(lost.is_empty(), "confirmed but lost: {lost:?}");
    let mut server = server;
    server.child.kill().unwrap();
    server.child.wait().unwrap();
}

/// One syscall line of `strace -f -yy`: its thread, and its text without
/// the `[pid N]` prefix.
fn split_pid(line: &str) -> (String, &str) {
    match line.strip_prefix("[pid ") {
        Some(rest) => {
            let (pid, text) = rest.split_once("] ").unwrap_or((rest, ""));
            (pid.trim().to_owned(), text)
        }
        None => {
            // strace pads a short pid ("9972  fsync(…"): the call starts
            // after the spaces.
            let (pid, text) = line.split_once(' ').unwrap_or(("", line));
            (pid.to_owned(), text.trim_start())
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_write_ahead_log_is_synced_before_an_order_is_confirmed() {
    if support::sqlite_only("the fsync of hub.db-wal, seen with strace") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let trace = dir.path().join("strace.txt");
    let data = dir.path().join("hub");
    let mut server = start(
        &data,
        &[
            "strace",
            "-f",
            "-yy",
            "-s",
            "48",
            "-e",
            "trace=fsync,fdatasync,recvfrom,read,write,writev,sendto,sendmsg",
            "-o",
            trace.to_str().unwrap(),
        ],
    );
    let kiosk = pair(&server, &data, "kiosk").await;
    let (status, order) = kiosk.post("/api/orders", order_body()).await;
    assert_eq!(status, 201, "{order}");
    // strace killed lets its tracee go on: the hub is killed first.
    let strace = server.child.id();
    let hub = std::fs::read_to_string(format!("/proc/{strace}/task/{strace}/children"))
        .unwrap()
        .split_whitespace()
        .next()
        .expect("strace runs the hub")
        .to_owned();
    assert!(std::process::Command::new("kill")
        .args(["-KILL", &hub])
        .status()
        .unwrap()
        .success());
    server.child.wait().unwrap();

    let text = std::fs::read_to_string(&trace).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    // The order's request arriving, and the answer leaving.
    let request = lines
        .iter()
        .position(|l| l.contains("POST /api/orders"))
        .expect("the request in the trace");
    let answer = lines
        .iter()
        .enumerate()
        .skip(request)
        .position(|(_, l)| l.contains("HTTP/1.1 201"))
        .map(|i| i + request)
        .expect("the answer in the trace");
    // A sync of the write-ahead log that completes in between: either on
    // one line, or `<unfinished ...>` then its thread's `resumed>` line.
    let mut pending: Vec<String> = Vec::new();
    let mut synced = None;
    for (i, l) in lines.iter().enumerate().take(answer).skip(request) {
        let (pid, call) = split_pid(l);
        let is_sync = call.starts_with("fsync(") || call.starts_with("fdatasync(");
        if is_sync && call.contains("hub.db-wal") {
            if call.contains("<unfinished") {
                pending.push(pid);
            } else if call.contains("= 0") {
                synced = Some(i);
            }
        } else if call.contains("sync resumed>") && call.contains("= 0") && pending.contains(&pid) {
            synced = Some(i);
        }
    }
    assert!(
        synced.is_some(),
        "no completed fsync of hub.db-wal between the request (line {request}) and the answer \
         (line {answer}):\n{}",
        lines[request..=answer].join("\n")
    );
}
