// No console window on Windows release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

use clap::Parser;

fn main() -> anyhow::Result<()> {
    countertop_app::mark_launch();
    let args = countertop_app::cli::Args::parse();
    // `--start-at-login on|off` changes the autostart entry and exits,
    // before GTK, so that it needs no display.
    if let Some(on) = &args.start_at_login {
        return countertop_app::autostart::from_command_line(&args, on == "on");
    }
    // WebKitGTK's accelerated compositing costs about 100 MiB of memory and
    // a tenth to a third of a second of first paint where there is no GPU,
    // as on most counter PCs (BENCHMARKS.md, "Desktop app footprint"); our
    // screens draw fine without it. A WEBKIT_DISABLE_COMPOSITING_MODE
    // already in the environment (`0` turns compositing back on) is left as
    // it is. This runs first in main, before any other thread exists.
    #[cfg(target_os = "linux")]
    if std::env::var_os("WEBKIT_DISABLE_COMPOSITING_MODE").is_none() {
        std::env::set_var("WEBKIT_DISABLE_COMPOSITING_MODE", "1");
        // Then this process's GTK needs no OpenGL either: GDK_GL=disable
        // skips its GLX probe, 30–100 ms of start. GTK reads it once, in
        // its init, so it is set for that and gone again before WebKit
        // starts its processes: inherited by them, it stalls their start
        // by 0.5 s in a third of launches (BENCHMARKS.md). Tauri's own
        // GTK init later finds GTK initialised.
        if std::env::var_os("GDK_GL").is_none() {
            std::env::set_var("GDK_GL", "disable");
            let _ = gtk::init();
            std::env::remove_var("GDK_GL");
        }
    }
    countertop_app::run(args)
}
