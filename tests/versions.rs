//! Every binary says its release (`--version`), the same one the workspace
//! builds, and CHANGELOG.md tells users what that release changed.

use std::process::Command;

use countertop_e2e::{target_dir, workspace};

const VERSION: &str = env!("CARGO_PKG_VERSION");

#[test]
fn every_binary_prints_the_release_it_is() {
    for name in [
        "countertop",
        "countertop-hub",
        "countertop-cli",
        "countertop-bench",
        "countertop-board-frames",
        "countertop-commit-cost",
    ] {
        let bin = target_dir().join("debug").join(name);
        assert!(
            bin.exists(),
            "{} is missing: cargo build --workspace --bins first, as ./dev.sh test does",
            bin.display()
        );
        // No display, no bus: `--version` must not need a desktop.
        let out = Command::new(&bin)
            .arg("--version")
            .env_remove("DISPLAY")
            .env_remove("WAYLAND_DISPLAY")
            .env_remove("DBUS_SESSION_BUS_ADDRESS")
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", bin.display()));
        assert!(out.status.success(), "{name} --version: {}", out.status);
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            format!("{name} {VERSION}\n"),
            "{name} --version"
        );
    }
}

#[test]
fn the_changelog_tells_of_this_release() {
    let text = std::fs::read_to_string(workspace().join("CHANGELOG.md")).expect("CHANGELOG.md");
    let heading = format!("## {VERSION} ");
    assert!(
        text.lines().any(|l| l.starts_with(&heading)),
        "CHANGELOG.md has no section \"{heading}…\" for this release"
    );
    // The app's bundle takes its version from Cargo.toml (none of its own).
    let conf: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(workspace().join("src-tauri/tauri.conf.json")).unwrap(),
    )
    .unwrap();
    assert!(
        conf.get("version").is_none(),
        "tauri.conf.json names a version of its own: {}",
        conf["version"]
    );
}
