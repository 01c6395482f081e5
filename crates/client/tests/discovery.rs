//! Finding the hub on the LAN: the real hub binary announces itself over
//! mDNS (DNS-SD) and the client's `browse`, `find` and `Browser` find it,
//! here over loopback (multicast on `lo` works in Linux without its
//! MULTICAST flag), and see it go when it stops.
//!
//! They need `target/<profile>/countertop-hub`: `cargo build -p countertop-hub`.

mod support;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use countertop_client::discovery::{self, Browser};
use countertop_client::Fingerprint;
use support::hub::hub_binary;

/// A hub child process, killed when dropped.
struct Announcing {
    child: Child,
    tls_port: u16,
    fingerprint: Fingerprint,
}

impl Drop for Announcing {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn fingerprint(data: &Path) -> Fingerprint {
    let out = Command::new(hub_binary())
        .args(["fingerprint", "--data"])
        .arg(data)
        .output()
        .expect("run countertop-hub fingerprint");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .trim()
        .parse()
        .expect("a fingerprint")
}

/// Starts the hub with plain HTTP on loopback and TLS on `tls_ip`, plus
/// `extra` arguments; waits for its TLS line.
fn start_hub(data: &Path, tls_ip: &str, extra: &[&str]) -> Announcing {
    let fingerprint = fingerprint(data);
    let mut child = Command::new(hub_binary())
        .args(["serve", "--no-demo", "--listen", "127.0.0.1:0"])
        .args(["--tls-listen", &format!("{tls_ip}:0"), "--data"])
        .arg(data)
        .args(extra)
        .env_remove("COUNTERTOP_NO_ANNOUNCE")
        .env(
            "RUST_LOG",
            std::env::var("HUB_LOG").unwrap_or_else(|_| "warn".into()),
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn the hub");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            let _ = tx.send(line);
        }
    });
    let tls_port = loop {
        let line = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("the hub prints its TLS address");
        if let Some(addr) = line.trim().strip_prefix("listening (tls) on ") {
            break addr.rsplit(':').next().unwrap().parse().unwrap();
        }
    };
    Announcing {
        child,
        tls_port,
        fingerprint,
    }
}

/// SIGTERM: the hub stops gracefully, saying goodbye on mDNS.
fn terminate(hub: &mut Announcing) {
    let status = Command::new("kill")
        .args(["-TERM", &hub.child.id().to_string()])
        .status()
        .expect("run kill");
    assert!(status.success());
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while hub.child.try_wait().unwrap().is_none() {
        assert!(std::time::Instant::now() < deadline, "the hub did not stop");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hub_serving_tls_on_the_lan_is_found_by_its_fingerprint_and_goes_when_it_stops() {
    let dir = tempfile::tempdir().unwrap();
    let mut hub = start_hub(dir.path(), "0.0.0.0", &[]);
    let fp = hub.fingerprint;

    // Listed by browse, with its key, its TLS port and no plain port (the
    // plain listener is on loopback only).
    let found = discovery::browse(Duration::from_secs(3)).await;
    let listed = found
        .iter()
        .find(|h| h.fingerprint == Some(fp))
        .unwrap_or_else(|| panic!("the hub is not among {found:?}"));
    assert_eq!(listed.name, "Countertop Café");
    assert_eq!(listed.tls_port, Some(hub.tls_port));
    assert_eq!(listed.http_port, None);
    assert!(!listed.addresses.is_empty());
    assert_eq!(
        listed.url(),
        format!("https://{}:{}", listed.addresses[0], hub.tls_port)
    );

    // Found again by its key alone.
    let again = discovery::find(fp, Duration::from_secs(10))
        .await
        .expect("find(fingerprint) finds the hub");
    assert_eq!(again.tls_port, Some(hub.tls_port));

    // Another key is not this hub.
    let other: Fingerprint = "00".repeat(32).parse().unwrap();
    assert!(discovery::find(other, Duration::from_millis(1500))
        .await
        .is_none());

    // A browser that sees it sees it go as soon as it stops (its goodbye),
    // not when the records would expire (minutes later).
    let browser = Browser::start().expect("mDNS starts");
    let mut seen = browser.watch();
    tokio::time::timeout(
        Duration::from_secs(10),
        seen.wait_for(|hubs| hubs.iter().any(|h| h.fingerprint == Some(fp))),
    )
    .await
    .expect("the browser finds the hub")
    .unwrap();
    tokio::task::block_in_place(|| terminate(&mut hub));
    tokio::time::timeout(
        Duration::from_secs(5),
        seen.wait_for(|hubs| !hubs.iter().any(|h| h.fingerprint == Some(fp))),
    )
    .await
    .expect("the hub's goodbye removes it at once")
    .unwrap();
    browser.stop().await;

    // And nothing answers for it any more.
    assert!(discovery::find(fp, Duration::from_secs(2)).await.is_none());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hub_on_loopback_only_or_told_not_to_stays_quiet() {
    let local_dir = tempfile::tempdir().unwrap();
    let quiet_dir = tempfile::tempdir().unwrap();
    let loud_dir = tempfile::tempdir().unwrap();
    let local = start_hub(local_dir.path(), "127.0.0.1", &[]);
    let quiet = start_hub(quiet_dir.path(), "0.0.0.0", &["--no-announce"]);
    // The control: a hub that does announce, found in the same window.
    let loud = start_hub(loud_dir.path(), "0.0.0.0", &[]);
    let found = discovery::browse(Duration::from_secs(3)).await;
    let has = |fp: Fingerprint| found.iter().any(|h| h.fingerprint == Some(fp));
    assert!(
        has(loud.fingerprint),
        "the control hub is not among {found:?}"
    );
    assert!(
        !has(local.fingerprint),
        "a loopback-only hub announced itself"
    );
    assert!(!has(quiet.fingerprint), "--no-announce announced anyway");
}
