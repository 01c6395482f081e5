//! The committed TypeScript bindings (`ui/src/bindings.ts`) must match what
//! the Rust commands, views and events generate. Run with
//! `UPDATE_BINDINGS=1` to rewrite them after changing the IPC.

use std::path::Path;

#[test]
fn typescript_bindings_are_up_to_date() {
    let generated = countertop_app::typescript().expect("bindings generate");
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../ui/src/bindings.ts");
    if std::env::var_os("UPDATE_BINDINGS").is_some() {
        std::fs::write(&path, &generated).expect("bindings written");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "ui/src/bindings.ts is stale: run `UPDATE_BINDINGS=1 cargo test -p countertop-app --test bindings` and commit it"
    );
}

#[test]
fn commands_are_exported_by_name() {
    // The UI calls commands only through these generated wrappers.
    let generated = countertop_app::typescript().expect("bindings generate");
    for name in [
        "placeOrder",
        "advanceOrder",
        "cancelOrder",
        "setSoldOut",
        "screen",
    ] {
        assert!(
            generated.contains(&format!("async {name}(")),
            "{name} missing"
        );
    }
    assert!(
        generated.contains("coreUpdate"),
        "the core update event is missing"
    );
}
