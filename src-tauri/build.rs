// The app's commands (src/command_names.rs) go into Tauri's app manifest:
// each gets an `allow-<command>` permission, and a window may invoke only
// the commands its capabilities (capabilities/*.json, src/access.rs) grant.
include!("src/command_names.rs");

fn main() {
    let attributes = tauri_build::Attributes::new()
        .app_manifest(tauri_build::AppManifest::new().commands(COMMANDS));
    if let Err(e) = tauri_build::try_build(attributes) {
        panic!("tauri-build: {e:#}");
    }
}
