//! Logs go to the terminal and to a daily-rotated file in the log folder.

use std::path::Path;
use std::sync::LazyLock;
use std::time::{Duration, Instant};

use tracing_appender::non_blocking::WorkerGuard;
use tracing_appender::rolling::{Builder, Rotation};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{fmt, EnvFilter};

/// How many daily log files are kept.
const KEEP_FILES: usize = 7;

/// Sets up logging; keep the guard alive, or the file stops receiving lines.
pub fn init(log_dir: &Path) -> anyhow::Result<WorkerGuard> {
    std::fs::create_dir_all(log_dir)?;
    let appender = Builder::new()
        .rotation(Rotation::DAILY)
        .filename_prefix("countertop")
        .filename_suffix("log")
        .max_log_files(KEEP_FILES)
        .build(log_dir)?;
    let (file, guard) = tracing_appender::non_blocking(appender);
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,tao=warn,wry=warn"));
    tracing_subscriber::registry()
        .with(filter)
        .with(fmt::layer().with_writer(std::io::stderr))
        .with(fmt::layer().with_ansi(false).with_writer(file))
        .try_init()?;
    Ok(guard)
}

static LAUNCHED: LazyLock<Instant> = LazyLock::new(Instant::now);

/// Notes the moment of launch; `main` calls it first.
pub fn mark_launch() {
    LazyLock::force(&LAUNCHED);
}

/// Time since [`mark_launch`], which the log lines of a first paint carry.
pub fn since_launch() -> Duration {
    LAUNCHED.elapsed()
}
