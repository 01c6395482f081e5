//! Which commands a window may invoke: Tauri's access control, per window.
//!
//! build.rs registers every command of [`COMMANDS`] in the app manifest, so
//! Tauri refuses any command that no capability of the calling window
//! grants. Each screen has a capability file in `capabilities/` listing its
//! commands. A window's label tells its screen where the screen is known
//! when the window is made: the demo's `kiosk`, `barista`, `display` and
//! `manager` windows and the `board` are granted their file statically. The
//! window of a single-device instance, [`MAIN`], shows whatever role its
//! device has (remembered, paired with a code, or chosen on the first run):
//! it starts with `capabilities/setup.json` only, and [`grant`] adds its
//! screen's file for it at runtime when it is first bound to a device.
//!
//! Capabilities can be added at runtime but not taken away, so a window
//! never changes screen: pairing a window's device again with a code of
//! another role is refused (see `commands::setup`).

use tauri::utils::acl::capability::CapabilityFile;
use tauri::{AppHandle, Manager as _, Runtime};

use crate::ipc::{IpcError, IpcErrorCode, ScreenKind};
use crate::station::Station;

include!("command_names.rs");

/// The window of an instance that runs one device (not the demo).
pub const MAIN: &str = "main";

/// The "now serving" board's window.
pub const BOARD: &str = "board";

/// The capability file of each screen.
fn capability_file(screen: ScreenKind) -> &'static str {
    match screen {
        ScreenKind::Setup => include_str!("../capabilities/setup.json"),
        ScreenKind::Kiosk => include_str!("../capabilities/kiosk.json"),
        ScreenKind::Barista => include_str!("../capabilities/barista.json"),
        ScreenKind::Board => include_str!("../capabilities/board.json"),
        ScreenKind::Display => include_str!("../capabilities/display.json"),
        ScreenKind::Manager => include_str!("../capabilities/manager.json"),
    }
}

/// The screen a window's label was made for, when the label says it: the
/// demo names a device's window after its role (`launch::start_demo`).
pub fn screen_of_label(label: &str) -> Option<ScreenKind> {
    match label {
        "kiosk" => Some(ScreenKind::Kiosk),
        "barista" => Some(ScreenKind::Barista),
        "display" => Some(ScreenKind::Display),
        "manager" => Some(ScreenKind::Manager),
        BOARD => Some(ScreenKind::Board),
        _ => None,
    }
}

/// Lets window `label` invoke the commands of `screen` (its capability
/// file, for this window). Does nothing if the window has them already;
/// refuses if it was made for, or granted, another screen.
pub fn grant<R: Runtime>(
    app: &AppHandle<R>,
    station: &Station,
    label: &str,
    screen: ScreenKind,
) -> Result<(), IpcError> {
    if let Some(made_for) = screen_of_label(label) {
        return same_screen(made_for, screen);
    }
    if let Err(granted) = station.claim_screen(label, screen) {
        return same_screen(granted, screen);
    }
    let capability = capability_for(label, screen)?;
    app.add_capability(capability)
        .map_err(|e| IpcError::new(IpcErrorCode::Other, e.to_string()))?;
    tracing::info!(window = label, screen = ?screen, "granted the screen's commands");
    Ok(())
}

fn same_screen(has: ScreenKind, wants: ScreenKind) -> Result<(), IpcError> {
    if has == wants {
        return Ok(());
    }
    Err(IpcError::new(
        IpcErrorCode::Forbidden,
        format!(
            "this window shows the {} screen and cannot become a {} screen: \
             pair it with a {} code, or restart Countertop",
            name(has),
            name(wants),
            name(has)
        ),
    ))
}

fn name(screen: ScreenKind) -> &'static str {
    match screen {
        ScreenKind::Setup => "setup",
        ScreenKind::Kiosk => "kiosk",
        ScreenKind::Barista => "barista",
        ScreenKind::Board => "now-serving board",
        ScreenKind::Display => "signature display",
        ScreenKind::Manager => "manager",
    }
}

/// `screen`'s capability file for window `label` alone, as JSON.
fn capability_for(label: &str, screen: ScreenKind) -> Result<String, IpcError> {
    let invalid = |e: String| {
        IpcError::new(
            IpcErrorCode::Other,
            format!("capability of {screen:?}: {e}"),
        )
    };
    let mut capability: serde_json::Value =
        serde_json::from_str(capability_file(screen)).map_err(|e| invalid(e.to_string()))?;
    let identifier = capability["identifier"]
        .as_str()
        .ok_or_else(|| invalid("no identifier".into()))?;
    capability["identifier"] = format!("{identifier}-{label}").into();
    capability["windows"] = serde_json::json!([label]);
    let text = capability.to_string();
    // Tauri's add_capability panics on a file it cannot read: check first.
    text.parse::<CapabilityFile>()
        .map_err(|e| invalid(e.to_string()))?;
    Ok(text)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    const SCREENS: [ScreenKind; 6] = [
        ScreenKind::Setup,
        ScreenKind::Kiosk,
        ScreenKind::Barista,
        ScreenKind::Board,
        ScreenKind::Display,
        ScreenKind::Manager,
    ];

    fn file(screen: ScreenKind) -> serde_json::Value {
        serde_json::from_str(capability_file(screen)).expect("a capability file is JSON")
    }

    fn strings(value: &serde_json::Value) -> Vec<String> {
        value
            .as_array()
            .expect("an array")
            .iter()
            .map(|v| v.as_str().expect("a string").to_owned())
            .collect()
    }

    /// The commands a screen's file grants.
    fn commands_of(screen: ScreenKind) -> BTreeSet<String> {
        strings(&file(screen)["permissions"])
            .into_iter()
            .filter_map(|p| p.strip_prefix("allow-").map(|c| c.replace('-', "_")))
            .collect()
    }

    #[test]
    fn the_manifest_lists_exactly_the_commands_served() {
        // The generated bindings invoke every command the app serves.
        let typescript = crate::typescript().expect("bindings generate");
        let served: BTreeSet<&str> = typescript
            .split("TAURI_INVOKE(\"")
            .skip(1)
            .filter_map(|rest| rest.split('"').next())
            .collect();
        let listed: BTreeSet<&str> = COMMANDS.iter().copied().collect();
        assert_eq!(listed.len(), COMMANDS.len(), "a command is listed twice");
        assert_eq!(served, listed);
    }

    #[test]
    fn each_file_grants_its_labels_and_known_commands_only() {
        let listed: BTreeSet<String> = COMMANDS.iter().map(|c| (*c).to_owned()).collect();
        for screen in SCREENS {
            let cap = file(screen);
            let windows = strings(&cap["windows"]);
            let want: Vec<String> = match screen {
                ScreenKind::Setup => vec![MAIN.to_owned()],
                s => ["kiosk", "barista", "display", "manager", BOARD]
                    .into_iter()
                    .filter(|l| screen_of_label(l) == Some(s))
                    .map(str::to_owned)
                    .collect(),
            };
            assert_eq!(windows, want, "windows of {screen:?}");
            for permission in strings(&cap["permissions"]) {
                let known = permission == "core:event:allow-listen"
                    || permission == "core:event:allow-unlisten"
                    || permission
                        .strip_prefix("allow-")
                        .is_some_and(|c| listed.contains(&c.replace('-', "_")));
                assert!(known, "{screen:?} grants {permission}");
            }
        }
    }

    #[test]
    fn customer_screens_reach_no_staff_command() {
        let staff = [
            "charge_cell",
            "correct_cell",
            "cell_history",
            "daily_report",
            "save_report_csv",
            "revoke_device",
            "rotate_secret",
            "put_setting",
            "create_pairing_code",
            "host_pairing_code",
            "set_lan",
            "hub_info",
            "add_cell",
            "devices",
            "send_notice",
            "advance_order",
            "recall_order",
            "mark_items",
            "set_board_stations",
            "cancel_order",
            "set_sold_out",
            "open_board",
        ];
        for screen in [
            ScreenKind::Setup,
            ScreenKind::Kiosk,
            ScreenKind::Display,
            ScreenKind::Board,
        ] {
            let granted = commands_of(screen);
            for command in staff {
                assert!(!granted.contains(command), "{screen:?} may {command}");
            }
        }
        assert!(commands_of(ScreenKind::Manager).contains("charge_cell"));
        assert!(!commands_of(ScreenKind::Barista).contains("revoke_device"));
    }

    #[test]
    fn only_the_kiosk_shows_a_status_link() {
        for screen in SCREENS {
            assert_eq!(
                commands_of(screen).contains("status_qr"),
                screen == ScreenKind::Kiosk,
                "{screen:?}"
            );
        }
    }

    #[test]
    fn every_device_screen_can_read_itself_and_pair_again() {
        for screen in SCREENS {
            let granted = commands_of(screen);
            for command in ["session", "preferences", "set_language", "setup"] {
                assert!(granted.contains(command), "{screen:?} lacks {command}");
            }
            if screen != ScreenKind::Setup {
                for command in ["screen", "painted", "retry"] {
                    assert!(granted.contains(command), "{screen:?} lacks {command}");
                }
            }
        }
    }

    #[test]
    fn a_runtime_grant_names_the_window_alone() {
        let text = capability_for(MAIN, ScreenKind::Kiosk).expect("a capability");
        let cap: serde_json::Value = serde_json::from_str(&text).expect("JSON");
        assert_eq!(cap["identifier"], "kiosk-main");
        assert_eq!(cap["windows"], serde_json::json!(["main"]));
        assert_eq!(cap["permissions"], file(ScreenKind::Kiosk)["permissions"]);
    }
}
