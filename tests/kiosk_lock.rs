//! A kiosk that starts itself and is left only with the café's exit PIN
//! (issue 19), through the real app under Xvfb: `--start-at-login on`
//! writes the autostart entry, a joined kiosk runs full screen without
//! window controls, a real close request (WM_DELETE_WINDOW, as Alt+F4 or a
//! window manager's close sends it) leaves it running with the exit PIN pad
//! shown, Escape keeps it full screen, a wrong PIN keeps it, the right one
//! (checked by the hub) ends the process; a second launch on the same data
//! folder exits at once and brings the first forward, one on another folder
//! runs; and the autostart entry's own Exec line starts the kiosk again,
//! full screen. A kiosk chosen on the first-run screen is locked at once;
//! without a session bus a second launch on one data folder still exits
//! (the folder's `instance.lock`). Run under a display and a private D-Bus, as `./dev.sh test`
//! does: `dbus-run-session -- xvfb-run -a -s "-screen 0 1280x800x24" cargo
//! test -p countertop-e2e --test kiosk_lock`.
//!
//! The X side (the window's size, its Motif decorations hint, the close
//! request) goes through python3-xlib (Debian's `python3-xlib`, run by the
//! system's `/usr/bin/python3`), since this workspace forbids unsafe code.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{ensure, Context, Result};
use countertop_e2e::*;
use fantoccini::Client;

/// The demo café's kiosk exit PIN (README).
const EXIT_PIN: &str = "1234";

/// One test of this file at a time: they fill the one screen with real
/// windows, and a window mapped over a held corner (another test's) sends
/// it a real pointer leave, which lets the hold go.
static SCREEN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// What the X server says of a process's top-level windows, and a close
/// request sent to them, as a window manager sends it: `windows PID`
/// prints one JSON line per mapped window (size, whether its Motif hints
/// turn decorations off, whether its state asks for full screen); `close PID` sends WM_DELETE_WINDOW and prints how
/// many windows it went to.
const XTOOL: &str = r#"
import json, sys
from Xlib import X, display, protocol
mode, pid = sys.argv[1], int(sys.argv[2])
d = display.Display()
root = d.screen().root
PID = d.intern_atom("_NET_WM_PID")
MOTIF = d.intern_atom("_MOTIF_WM_HINTS")
STATE = d.intern_atom("_NET_WM_STATE")
FULLSCREEN = d.intern_atom("_NET_WM_STATE_FULLSCREEN")
PROTOCOLS = d.intern_atom("WM_PROTOCOLS")
DELETE = d.intern_atom("WM_DELETE_WINDOW")
found = []
for w in root.query_tree().children:
    try:
        p = w.get_full_property(PID, X.AnyPropertyType)
        if not p or p.value[0] != pid or w.get_attributes().map_state != X.IsViewable:
            continue
        found.append(w)
    except Exception:
        pass
if mode == "windows":
    for w in found:
        g = w.get_geometry()
        hints = w.get_full_property(MOTIF, X.AnyPropertyType)
        # flags bit 1: the decorations field is set; 0 there: none.
        undecorated = bool(hints) and (hints.value[0] & 2) != 0 and hints.value[2] == 0
        state = w.get_full_property(STATE, X.AnyPropertyType)
        fullscreen = bool(state) and FULLSCREEN in state.value
        print(json.dumps({"width": g.width, "height": g.height, "undecorated": undecorated,
                          "fullscreen": fullscreen}))
else:
    sent = 0
    for w in found:
        if DELETE in (w.get_wm_protocols() or []):
            w.send_event(protocol.event.ClientMessage(
                window=w, client_type=PROTOCOLS, data=(32, [DELETE, X.CurrentTime, 0, 0, 0])),
                event_mask=X.NoEventMask)
            sent += 1
    d.flush()
    print(sent)
"#;

fn xtool(mode: &str, pid: u32) -> Result<String> {
    let out = Command::new("/usr/bin/python3")
        .args(["-c", XTOOL, mode, &pid.to_string()])
        .output()
        .context("running /usr/bin/python3 (apt-get install python3-xlib; ./dev.sh setup does)")?;
    ensure!(
        out.status.success(),
        "python3-xlib failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The process of the app running on data folder `data` (its command line
/// names the folder), if any.
fn app_pid(data: &Path) -> Option<u32> {
    let want = data.as_os_str().as_encoded_bytes();
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let args: Vec<&[u8]> = cmdline.split(|b| *b == 0).collect();
        let is_app = args
            .first()
            .is_some_and(|exe| exe.ends_with(b"/countertop"));
        if is_app && args.windows(2).any(|w| w[0] == b"--data" && w[1] == want) {
            return Some(pid);
        }
    }
    None
}

fn alive(pid: u32) -> bool {
    // A zombie has exited: only its parent has not read its status yet.
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|stat| {
            !stat
                .rsplit(')')
                .next()
                .unwrap_or("")
                .trim_start()
                .starts_with('Z')
        })
        .unwrap_or(false)
}

/// The window of `pid` once it fills the 1280×800 screen with no
/// decorations.
async fn locked_full_screen(pid: u32) -> Result<()> {
    let seen = std::sync::Mutex::new(String::new());
    let filled = until(
        "the kiosk's window to fill the screen with no decorations",
        || async {
            let windows = xtool("windows", pid)?;
            let full = windows.lines().any(|line| {
                line.contains(
                    r#""width": 1280, "height": 800, "undecorated": true, "fullscreen": true"#,
                )
            });
            *seen.lock().unwrap() = windows;
            Ok(full)
        },
    )
    .await;
    filled.with_context(|| format!("its windows: {}", seen.lock().unwrap()))
}

/// Everything the app on `data` logged so far.
fn app_log(data: &Path) -> String {
    let mut text = String::new();
    if let Ok(entries) = std::fs::read_dir(data.join("logs")) {
        for entry in entries.flatten() {
            text.push_str(&std::fs::read_to_string(entry.path()).unwrap_or_default());
        }
    }
    text
}

/// Runs `countertop ARGS` as a person would at a shell (HOME for the
/// autostart entry); its status and what it printed.
fn countertop(home: &Path, args: &[&str]) -> Result<(std::process::ExitStatus, String)> {
    let out = Command::new(app_binary())
        .args(args)
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .stdin(Stdio::null())
        .output()
        .context("running countertop")?;
    Ok((
        out.status,
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    ))
}

/// The arguments of a desktop entry's `Exec` line, unquoted as the Desktop
/// Entry Specification says (the string escape, then the quoting rule).
fn exec_args(exec: &str) -> Vec<String> {
    let text = exec.replace("\\\\", "\\").replace("%%", "%");
    let mut args = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    let mut started = false;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                quoted = !quoted;
                started = true;
            }
            '\\' if quoted => current.extend(chars.next()),
            ' ' if !quoted => {
                if started {
                    args.push(std::mem::take(&mut current));
                    started = false;
                }
            }
            c => {
                current.push(c);
                started = true;
            }
        }
    }
    if started {
        args.push(current);
    }
    args
}

/// Types `pin` on the exit pad and presses OK.
async fn enter_pin(client: &Client, pin: &str) -> Result<()> {
    for digit in pin.chars() {
        click(
            client,
            &format!("[data-testid=exit-pin-pad] [data-testid=pin-{digit}]"),
        )
        .await?;
    }
    click(client, "[data-testid=exit-pin-pad] [data-testid=pin-enter]").await
}

#[tokio::test]
async fn a_kiosk_starts_at_login_and_is_left_only_with_the_exit_pin() -> Result<()> {
    let _screen = SCREEN.lock().await;
    let dir = tempfile::tempdir()?;
    let home = dir.path().join("home");
    // A folder with a space: the entry's Exec must quote it.
    let data: PathBuf = dir.path().join("kiosk data");
    let data_arg = data.to_str().context("utf-8 temp path")?.to_owned();
    std::fs::create_dir_all(&home)?;

    // Start at login, set up over a shell with no window.
    let (status, said) = countertop(&home, &["--start-at-login", "on", "--data", &data_arg])?;
    ensure!(status.success(), "--start-at-login on failed: {said}");
    let autostart = home.join(".config/autostart");
    let entries: Vec<PathBuf> = std::fs::read_dir(&autostart)?
        .map(|e| e.map(|e| e.path()))
        .collect::<std::io::Result<_>>()?;
    ensure!(entries.len() == 1, "one autostart entry, not {entries:?}");
    let entry = &entries[0];
    let name = entry.file_name().unwrap().to_string_lossy().into_owned();
    ensure!(
        name.starts_with("Countertop-") && name.ends_with(".desktop"),
        "{name}"
    );
    let desktop = std::fs::read_to_string(entry)?;
    let exec = desktop
        .lines()
        .find_map(|l| l.strip_prefix("Exec="))
        .with_context(|| format!("no Exec in {desktop}"))?;
    let bin = app_binary();
    ensure!(
        exec == format!("{} --data \"{data_arg}\"", bin.display()),
        "the entry starts this binary on this data folder, full screen (no --windowed): {exec}"
    );
    ensure!(said.contains(exec), "it says what it wrote: {said}");
    let login = exec_args(exec);
    ensure!(
        login == [bin.to_str().unwrap(), "--data", &data_arg],
        "{login:?}"
    );

    // The kiosk joins a demo hub (exit PIN 1234): full screen, locked.
    let hub_data = dir.path().join("hub");
    let hub = HubProcess::start(&hub_data, free_port())?;
    hub.healthy().await?;
    let code = pairing_code(&hub_data, "kiosk")?;
    let driver = Driver::start()?;
    let client = open_joined(&driver, &hub.url, &code, &data).await?;
    switch_to(&client, "kiosk").await?;
    wait_for(&client, "[data-testid=link-status][data-state=live]").await?;
    wait_for(&client, "[data-testid=start-order]").await?;
    let pid = app_pid(&data).context("the kiosk's process")?;
    locked_full_screen(pid).await?;

    // A close request, as Alt+F4 or a window manager's close sends it:
    // the kiosk stays and asks for the exit PIN.
    ensure!(xtool("close", pid)?.trim() == "1", "a close request sent");
    wait_for(&client, "[data-testid=exit-pin-pad]")
        .await
        .context("the pad after a close request")?;
    ensure!(alive(pid), "a close request does not close the kiosk");
    ensure!(app_log(&data).contains("leaving the kiosk asks for the exit PIN"));
    screenshot(&client, "kiosk-exit-pin").await?;

    // Escape closes the pad, not the kiosk nor its full screen.
    client
        .active_element()
        .await?
        .send_keys(&fantoccini::key::Key::Escape.to_string())
        .await?;
    until("the pad to close on Escape", || async {
        Ok(!css_present(&client, "[data-testid=exit-pin-pad]").await?)
    })
    .await?;
    locked_full_screen(pid).await?;
    ensure!(alive(pid));

    // A second launch on the same folder exits at once and brings this
    // one forward; one on another folder is another device and runs.
    let (status, said) = countertop(&home, &["--data", &data_arg])?;
    ensure!(status.success(), "the second launch exits with 0: {said}");
    ensure!(
        said.contains(&format!("Countertop is already running for {data_arg}"))
            && said.contains("brought forward"),
        "{said}"
    );
    until("the first kiosk to hear of the second launch", || async {
        Ok(app_log(&data).contains("launched again on this data folder"))
    })
    .await?;
    ensure!(alive(pid), "the first kiosk runs on");
    let other = dir.path().join("other device");
    let mut second = Command::new(app_binary())
        .args(["--windowed", "--data"])
        .arg(&other)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    until("the other device to start", || async {
        Ok(app_log(&other).contains("Countertop starting"))
    })
    .await?;
    // It keeps running (its first-run screen) while the kiosk does too.
    until("the other device's window", || async {
        Ok(!xtool("windows", second.id())?.trim().is_empty())
    })
    .await?;
    ensure!(second.try_wait()?.is_none(), "another data folder runs");
    let _ = second.kill();
    let _ = second.wait();

    // The corner held for three seconds opens the pad too; a wrong PIN
    // keeps the kiosk, the right one (the hub's) ends it.
    hold_corner(&client).await?;
    wait_for(&client, "[data-testid=exit-pin-pad]")
        .await
        .context("the pad after the corner was held")?;
    enter_pin(&client, "9999").await?;
    let problem = text_of(
        &client,
        "[data-testid=exit-pin-pad] [data-testid=pin-problem]",
    )
    .await?;
    ensure!(problem.contains("Wrong PIN"), "{problem}");
    ensure!(alive(pid), "a wrong PIN keeps the kiosk");
    locked_full_screen(pid).await?;
    enter_pin(&client, EXIT_PIN).await?;
    until_within("the kiosk to quit", Duration::from_secs(20), || async {
        Ok(!alive(pid))
    })
    .await?;
    ensure!(app_log(&data).contains("the kiosk was left with the exit PIN"));
    drop(client);
    drop(driver);

    // What the desktop session runs at login: the entry's Exec line starts
    // the same kiosk, paired, full screen and locked.
    let driver = Driver::start()?;
    let args: Vec<&str> = login[1..].iter().map(String::as_str).collect();
    let client = open_app(&driver, &args).await?;
    switch_to(&client, "kiosk").await?;
    wait_for(&client, "[data-testid=link-status][data-state=live]").await?;
    wait_for(&client, "[data-testid=start-order]").await?;
    let pid = app_pid(&data).context("the kiosk started at login")?;
    locked_full_screen(pid).await?;
    ensure!(xtool("close", pid)?.trim() == "1");
    wait_for(&client, "[data-testid=exit-pin-pad]")
        .await
        .context("the pad after a close request at login")?;
    enter_pin(&client, EXIT_PIN).await?;
    until("the kiosk to quit", || async { Ok(!alive(pid)) }).await?;
    drop(client);
    drop(driver);

    let (status, said) = countertop(&home, &["--start-at-login", "off", "--data", &data_arg])?;
    ensure!(status.success(), "--start-at-login off failed: {said}");
    ensure!(!entry.exists(), "the entry is gone");
    Ok(())
}

/// A kiosk chosen on the first-run screen (joining the hub there) is
/// locked at once, as one launched with its role is: full screen with no
/// decorations, and a close request opens the exit PIN pad.
#[tokio::test]
async fn a_kiosk_set_up_on_the_first_run_screen_is_locked_at_once() -> Result<()> {
    let _screen = SCREEN.lock().await;
    let dir = tempfile::tempdir()?;
    let home = dir.path().join("home");
    std::fs::create_dir_all(&home)?;
    let data = dir.path().join("kiosk");
    let data_arg = data.to_str().context("utf-8 temp path")?.to_owned();
    let hub_data = dir.path().join("hub");
    let hub = HubProcess::start(&hub_data, free_port())?;
    hub.healthy().await?;
    let code = pairing_code(&hub_data, "kiosk")?;

    let driver = Driver::start_with_home(&home)?;
    let client = open_app(&driver, &["--data", &data_arg]).await?;
    let result = async {
        switch_to(&client, "setup").await?;
        let pid = app_pid(&data).context("the app's process")?;
        ensure!(
            !xtool("windows", pid)?.contains(r#""undecorated": true"#),
            "the first-run screen is an ordinary window"
        );
        // Join the hub, with a kiosk's pairing code.
        click(&client, ".setup .choice button:nth-child(2)").await?;
        let hub_field = "[data-testid=setup-hub]";
        client
            .find(fantoccini::Locator::Css(hub_field))
            .await?
            .clear()
            .await?;
        type_into(&client, hub_field, &hub.url).await?;
        type_into(&client, "[data-testid=setup-code]", &code).await?;
        click(&client, "[data-testid=setup-start]").await?;
        switch_to(&client, "kiosk").await?;
        wait_for(&client, "[data-testid=start-order]").await?;
        locked_full_screen(pid).await?;

        // The keys that close or unfullscreen a window elsewhere do
        // nothing here (the window manager's Alt+F4 is the close request
        // below); the app still answers it afterwards, full screen.
        use fantoccini::key::Key;
        for keys in [
            format!("{}w{}", Key::Control, Key::Null),
            format!("{}q{}", Key::Control, Key::Null),
            format!("{}{}{}", Key::Alt, Key::F4, Key::Null),
            Key::F11.to_string(),
            Key::Escape.to_string(),
        ] {
            client.active_element().await?.send_keys(&keys).await?;
        }
        ensure!(xtool("close", pid)?.trim() == "1", "a close request sent");
        wait_for(&client, "[data-testid=exit-pin-pad]")
            .await
            .context("the pad after a close request on the set-up kiosk")?;
        ensure!(alive(pid), "a close request does not close the kiosk");
        locked_full_screen(pid).await?;
        enter_pin(&client, EXIT_PIN).await?;
        until("the kiosk to quit", || async { Ok(!alive(pid)) }).await?;
        anyhow::Ok(())
    }
    .await;
    let _ = client.close().await;
    result
}

/// Starts `countertop ARGS` with no session bus; what it prints is kept
/// for [`exited`] if `read`, else dropped.
fn spawn_without_bus(args: &[&str], read: bool) -> Result<std::process::Child> {
    let out = || if read { Stdio::piped() } else { Stdio::null() };
    Command::new(app_binary())
        .args(args)
        .env_remove("DBUS_SESSION_BUS_ADDRESS")
        .stdin(Stdio::null())
        .stdout(out())
        .stderr(out())
        .spawn()
        .context("starting countertop")
}

/// Waits for `child` to exit; its status and what it printed.
async fn exited(child: std::process::Child) -> Result<(std::process::ExitStatus, String)> {
    let pid = child.id();
    let waiting = tokio::task::spawn_blocking(move || child.wait_with_output());
    let out = tokio::time::timeout(DEADLINE, waiting)
        .await
        .with_context(|| format!("process {pid} did not exit"))???;
    Ok((
        out.status,
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    ))
}

/// One instance per data folder holds without D-Bus: a lock in the folder.
/// A second launch exits at once, with 0 and a message, whether it has a
/// session bus or not; once the first has gone, the folder starts again.
#[tokio::test]
async fn one_instance_per_data_folder_without_a_session_bus() -> Result<()> {
    let _screen = SCREEN.lock().await;
    let dir = tempfile::tempdir()?;
    let data = dir.path().join("till");
    let data_arg = data.to_str().context("utf-8 temp path")?.to_owned();
    let starts = || app_log(&data).matches("Countertop starting").count();

    let mut first = spawn_without_bus(&["--windowed", "--data", &data_arg], false)?;
    until("the first launch to start", || async { Ok(starts() == 1) }).await?;
    until("its window", || async {
        Ok(!xtool("windows", first.id())?.trim().is_empty())
    })
    .await?;
    let refused = format!("Countertop is already running for {data_arg}");

    let second = spawn_without_bus(&["--windowed", "--data", &data_arg], true)?;
    let (status, said) = exited(second).await?;
    ensure!(status.success(), "the second launch exits with 0: {said}");
    ensure!(said.contains(&refused), "it says why: {said}");
    ensure!(
        !said.contains("brought forward"),
        "no bus to ask on: {said}"
    );

    // With a session bus the second launch finds no one there to ask (the
    // first has none), and still goes no further.
    let mut with_bus = Command::new(app_binary());
    with_bus
        .args(["--windowed", "--data", &data_arg])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let (status, said) = exited(with_bus.spawn()?).await?;
    ensure!(status.success(), "{said}");
    ensure!(said.contains(&refused), "{said}");

    ensure!(first.try_wait()?.is_none(), "the first launch runs on");
    ensure!(starts() == 1, "only the first launch started");

    // The lock goes with the process, however it ends.
    first.kill()?;
    first.wait()?;
    let mut again = spawn_without_bus(&["--windowed", "--data", &data_arg], false)?;
    let started = until("the folder to start again", || async { Ok(starts() == 2) }).await;
    let _ = again.kill();
    let _ = again.wait();
    started
}

/// Presses and holds the kiosk's top-left corner for three seconds.
async fn hold_corner(client: &Client) -> Result<()> {
    use fantoccini::actions::{InputSource, MouseActions, PointerAction, MOUSE_BUTTON_LEFT};
    let corner = wait_for(client, "[data-testid=exit-corner]").await?;
    let hold = MouseActions::new("finger".to_owned())
        .then(PointerAction::MoveToElement {
            element: corner,
            duration: None,
            x: 0.0,
            y: 0.0,
        })
        .then(PointerAction::Down {
            button: MOUSE_BUTTON_LEFT,
        })
        .then(PointerAction::Pause {
            duration: Duration::from_millis(3300),
        })
        .then(PointerAction::Up {
            button: MOUSE_BUTTON_LEFT,
        });
    client.perform_actions(hold).await?;
    if !css_present(client, "[data-testid=exit-pin-pad]").await? {
        // The pad may open a moment after the pointer is up.
        wait_for(client, "[data-testid=exit-pin-pad]")
            .await
            .context("the pad a moment after the corner")?;
    }
    Ok(())
}
