//! Helpers shared by the integration tests.
#![allow(dead_code)]

pub mod api;
pub mod chaos;
pub mod device;
pub mod hub;
pub mod proxy;

use std::process::Command;

/// Name of the variable that tells a re-run test it is the inner run.
const INNER: &str = "COUNTERTOP_TEST_INNER";

/// Whether this is the inner run of `test` (see [`run_inside`]).
pub fn is_inner(test: &str) -> bool {
    std::env::var(INNER).ok().as_deref() == Some(test)
}

/// Runs the test named `test` of this test binary again, inside `wrapper`
/// (say `keyctl session -` or `dbus-run-session --`) and with `env`, and
/// fails unless exactly that test ran and passed there. This lets a plain
/// `cargo test` exercise real backends that need a fresh session keyring, a
/// private D-Bus or an ALSA configuration of their own.
pub fn run_inside(wrapper: &[&str], env: &[(&str, &str)], remove_env: &[&str], test: &str) {
    let exe = std::env::current_exe().expect("the test binary's path");
    let (program, args) = match wrapper.split_first() {
        Some((program, args)) => (program.to_string(), args.to_vec()),
        None => (exe.display().to_string(), vec![]),
    };
    let mut command = Command::new(&program);
    command.args(args);
    if !wrapper.is_empty() {
        command.arg(&exe);
    }
    command
        .args(["--exact", test, "--nocapture", "--test-threads", "1"])
        .env(INNER, test);
    for (key, value) in env {
        command.env(key, value);
    }
    for key in remove_env {
        command.env_remove(key);
    }
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program} (is it installed?): {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && stdout.contains("1 passed"),
        "inner run of {test} under {wrapper:?} failed ({}):\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        output.status
    );
}
