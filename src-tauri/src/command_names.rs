// Every app command, by name: what `specta_builder` (lib.rs) serves. Included
// by build.rs, which registers them in Tauri's app manifest, and by
// access.rs, whose tests check it against the served commands. Tauri then
// generates an `allow-<name>` permission per command (`_` becomes `-`) and
// refuses any command a window's capabilities do not grant.

/// The app's commands, as the UI invokes them.
pub const COMMANDS: &[&str] = &[
    "session",
    "screen",
    "painted",
    "setup",
    "place_order",
    "quote_cart",
    "unlock_cell",
    "wait_estimate",
    "status_qr",
    "advance_order",
    "recall_order",
    "mark_items",
    "set_board_stations",
    "cancel_order",
    "set_sold_out",
    "set_muted",
    "retry",
    "open_board",
    "preferences",
    "set_language",
    "put_setting",
    "add_menu_item",
    "update_menu_item",
    "delete_menu_item",
    "set_choice_sold_out",
    "set_menu_photo",
    "remove_menu_photo",
    "add_cell",
    "charge_cell",
    "devices",
    "revoke_device",
    "create_pairing_code",
    "create_workorder",
    "move_workorder",
    "present_workorder",
    "start_work_session",
    "stop_work_session",
    "send_notice",
    "sign_workorder",
    "set_alert_sounds",
];
