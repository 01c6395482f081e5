//! Start at login (`tauri-plugin-autostart`, over the `auto-launch`
//! crate): the desktop session starts this device, full screen if it is a
//! kiosk or a signature display, with the same data folder and role. On
//! Linux the entry is `~/.config/autostart/<name>.desktop` (auto-launch
//! writes under `$HOME/.config`, whatever `XDG_CONFIG_HOME` says), whose
//! `Exec` is this binary and [`exec_args`].
//!
//! It is turned on and off from the tray (the plugin, in the running app)
//! or, on a computer reached over SSH with no screen, by
//! `countertop --start-at-login on|off` ([`from_command_line`]): that
//! builds the same entry with auto-launch directly, since the plugin needs
//! a running app and so a display.

use std::path::{Path, PathBuf};

use anyhow::Context;
use tauri::{Manager, Runtime};
use tauri_plugin_autostart::ManagerExt as _;

use crate::cli::Args;

/// The entry's name (and its file's, `<name>.desktop`): `Countertop` for
/// the app's default data folder, `Countertop-<key>` for a `--data` folder
/// (each folder is a device of its own, `instance::folder_key`).
pub fn entry_name(data: Option<&Path>) -> String {
    match crate::instance::folder_key(data) {
        Some(key) => format!("Countertop-{key}"),
        None => "Countertop".to_owned(),
    }
}

/// The arguments the entry starts this binary with: the data folder if one
/// was given (absolute) and the role if one was given; never `--windowed`,
/// so a kiosk comes up full screen. Each is quoted for a desktop entry's
/// `Exec` ([`exec_quote`]), since auto-launch joins them as they are.
pub fn exec_args(args: &Args) -> anyhow::Result<Vec<String>> {
    let mut out = Vec::new();
    if let Some(data) = &args.data {
        let data = crate::instance::absolute_data(data);
        let data = data
            .to_str()
            .context("the data folder's path is not UTF-8, which a desktop entry cannot hold")?;
        out.push("--data".to_owned());
        out.push(exec_quote(data)?);
    }
    if let Some(role) = args.role {
        out.push("--role".to_owned());
        out.push(role.as_str().to_owned());
    }
    Ok(out)
}

/// `arg` as one argument of a desktop entry's `Exec` (the Desktop Entry
/// Specification, "The Exec key"): bare if it holds nothing special, else
/// in double quotes with `"`, `` ` ``, `$` and `\` escaped, the string
/// escape of `\` on top; `%` doubled either way. Control characters (a
/// line break would end the key) are refused.
pub fn exec_quote(arg: &str) -> anyhow::Result<String> {
    if arg.chars().any(char::is_control) {
        anyhow::bail!("{arg:?} holds a control character, which a desktop entry cannot hold");
    }
    let plain = !arg.is_empty()
        && arg
            .chars()
            .all(|c| c.is_alphanumeric() || "/._-+,:=@%".contains(c));
    if plain {
        return Ok(arg.replace('%', "%%"));
    }
    let mut quoted = String::from("\"");
    for c in arg.chars() {
        match c {
            // `\"` in the quoting rule, each `\` doubled by the string escape.
            '"' | '`' | '$' => {
                quoted.push_str("\\\\");
                quoted.push(c);
            }
            '\\' => quoted.push_str("\\\\\\\\"),
            '%' => quoted.push_str("%%"),
            c => quoted.push(c),
        }
    }
    quoted.push('"');
    Ok(quoted)
}

/// The entry's `Exec` value as auto-launch writes it: `program` and
/// `args`, each quoted already ([`exec_quote`]), joined by spaces (a
/// space after the program even with no arguments).
pub fn exec_line(program: &str, args: &[String]) -> String {
    format!("{program} {}", args.join(" "))
}

/// The plugin, making the entry for this run's `args`.
pub fn plugin<R: Runtime>(args: &Args) -> tauri::plugin::TauriPlugin<R> {
    let exec = exec_args(args).unwrap_or_else(|e| {
        tracing::warn!(error = %e, "starting at login will start the default data folder");
        Vec::new()
    });
    tauri_plugin_autostart::Builder::new()
        .app_name(entry_name(args.data.as_deref()))
        .args(exec)
        .build()
}

/// Whether this device starts at login (the running app).
pub fn is_on<R: Runtime>(app: &impl Manager<R>) -> anyhow::Result<bool> {
    app.autolaunch()
        .is_enabled()
        .map_err(|e| anyhow::anyhow!("cannot read the start-at-login entry: {e}"))
}

/// Turns starting at login on or off (the running app).
pub fn set<R: Runtime>(app: &impl Manager<R>, on: bool) -> anyhow::Result<()> {
    let manager = app.autolaunch();
    let done = if on {
        manager.enable()
    } else {
        manager.disable()
    };
    done.map_err(|e| anyhow::anyhow!("cannot change the start-at-login entry: {e}"))?;
    tracing::info!(on, "start at login changed");
    Ok(())
}

/// Where auto-launch keeps the entry on Linux.
pub fn entry_file(data: Option<&Path>) -> Option<PathBuf> {
    let home = std::env::var_os("HOME").filter(|h| !h.is_empty())?;
    Some(
        PathBuf::from(home)
            .join(".config/autostart")
            .join(format!("{}.desktop", entry_name(data))),
    )
}

/// `countertop --start-at-login on|off`: writes or removes the entry as the
/// plugin would, without starting the app (no display needed), and says
/// what it did.
pub fn from_command_line(args: &Args, on: bool) -> anyhow::Result<()> {
    let exe = std::env::current_exe().context("finding this program's path")?;
    let exe = exe
        .to_str()
        .context("this program's path is not UTF-8")?
        .to_owned();
    let exec = exec_args(args)?;
    // auto-launch writes `Exec={path} {args}` as it is given them.
    let program = exec_quote(&exe)?;
    let launcher = auto_launch::AutoLaunchBuilder::new()
        .set_app_name(&entry_name(args.data.as_deref()))
        .set_app_path(&program)
        .set_args(&exec)
        .build()
        .context("preparing the start-at-login entry")?;
    let file = entry_file(args.data.as_deref());
    let shown = file.as_ref().map_or_else(
        || "the autostart entry".to_owned(),
        |f| f.display().to_string(),
    );
    if on {
        launcher
            .enable()
            .with_context(|| format!("writing {shown}"))?;
        println!("Countertop starts at login: {shown}");
        println!("Exec={}", exec_line(&program, &exec));
    } else {
        match launcher.disable() {
            Ok(()) => {}
            Err(auto_launch::Error::Io(e)) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e).with_context(|| format!("removing {shown}")),
        }
        println!("Countertop no longer starts at login ({shown} removed)");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exec_arguments_are_quoted_as_desktop_entries_want() {
        assert_eq!(exec_quote("/srv/kiosk-1").unwrap(), "/srv/kiosk-1");
        assert_eq!(exec_quote("/srv/kiosk 1").unwrap(), "\"/srv/kiosk 1\"");
        assert_eq!(exec_quote("/a/100%").unwrap(), "/a/100%%");
        assert_eq!(exec_quote("it's $HOME").unwrap(), "\"it's \\\\$HOME\"");
        assert_eq!(exec_quote("a\\b").unwrap(), "\"a\\\\\\\\b\"");
        assert_eq!(exec_quote("").unwrap(), "\"\"");
        assert!(exec_quote("a\nb").is_err());
    }

    #[test]
    fn a_program_path_with_a_space_is_quoted_in_exec() {
        let program = exec_quote("/opt/Count er/countertop").unwrap();
        assert_eq!(program, "\"/opt/Count er/countertop\"");
        let args = vec!["--data".to_owned(), exec_quote("/srv/kiosk 1").unwrap()];
        assert_eq!(
            exec_line(&program, &args),
            "\"/opt/Count er/countertop\" --data \"/srv/kiosk 1\""
        );
        assert_eq!(
            exec_line(&exec_quote("/usr/bin/countertop").unwrap(), &[]),
            "/usr/bin/countertop "
        );
    }
}
