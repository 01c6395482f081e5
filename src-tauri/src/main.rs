// No console window on Windows release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

use clap::Parser;

fn main() -> anyhow::Result<()> {
    countertop_app::mark_launch();
    // WebKitGTK's accelerated compositing costs about 100 MiB of memory and
    // a tenth to a third of a second of first paint where there is no GPU,
    // as on most counter PCs (BENCHMARKS.md, "Desktop app footprint"); our
    // screens draw fine without it. A WEBKIT_DISABLE_COMPOSITING_MODE
    // already in the environment (`0` turns compositing back on) is left as
    // it is. (Turning GTK's OpenGL off as well, GDK_GL=disable, saves 30 ms
    // of start but stalls WebKit's start by 0.5 s in a third of launches:
    // BENCHMARKS.md.) This runs first in main, before any other thread exists.
    #[cfg(target_os = "linux")]
    if std::env::var_os("WEBKIT_DISABLE_COMPOSITING_MODE").is_none() {
        std::env::set_var("WEBKIT_DISABLE_COMPOSITING_MODE", "1");
    }
    countertop_app::run(countertop_app::cli::Args::parse())
}
