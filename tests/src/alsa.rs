//! An ALSA sink that writes what the app plays to a file, and the
//! environment of the processes the app started.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use anyhow::Result;

/// An ALSA configuration whose default device writes what is played, raw,
/// to a file (through the `null` device, which runs unthrottled). Give the
/// app `ALSA_CONFIG_PATH` from [`FileSink::env`]; the folder is removed when
/// dropped.
pub struct FileSink {
    dir: tempfile::TempDir,
}

impl FileSink {
    pub fn new() -> Result<FileSink> {
        let dir = tempfile::Builder::new()
            .prefix("countertop-alsa")
            .tempdir()?;
        let out = dir.path().join("out.raw");
        let config = format!(
            "</usr/share/alsa/alsa.conf>\n\
             pcm.!default {{\n  type file\n  slave.pcm \"null\"\n  file \"{}\"\n  format \"raw\"\n}}\n",
            out.display()
        );
        std::fs::write(dir.path().join("asound.conf"), config)?;
        Ok(FileSink { dir })
    }

    pub fn config(&self) -> PathBuf {
        self.dir.path().join("asound.conf")
    }

    pub fn output(&self) -> PathBuf {
        self.dir.path().join("out.raw")
    }

    /// The environment that points ALSA at this sink.
    pub fn env(&self) -> (&'static str, OsString) {
        ("ALSA_CONFIG_PATH", self.config().into_os_string())
    }

    /// How many bytes of the written audio are not zero. Silence is all
    /// zero bytes in the signed and float formats a sound server picks, so
    /// this counts what was actually sounded.
    pub fn sounded_bytes(&self) -> usize {
        std::fs::read(self.output())
            .map(|raw| raw.iter().filter(|&&b| b != 0).count())
            .unwrap_or(0)
    }
}

/// The values of the environment variable `name` in the running processes
/// of `binary` (read from `/proc`), to check what a process started through
/// tauri-driver and WebKitWebDriver actually received.
pub fn env_of_processes(binary: &Path, name: &str) -> Vec<OsString> {
    use std::os::unix::ffi::OsStringExt;
    let binary = binary.canonicalize().unwrap_or_else(|_| binary.to_owned());
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let prefix = format!("{name}=");
    let mut values = Vec::new();
    for entry in procs.flatten() {
        let Ok(exe) = std::fs::read_link(entry.path().join("exe")) else {
            continue;
        };
        if exe != binary {
            continue;
        }
        let Ok(environ) = std::fs::read(entry.path().join("environ")) else {
            continue;
        };
        for var in environ.split(|&b| b == 0) {
            if let Some(value) = var.strip_prefix(prefix.as_bytes()) {
                values.push(OsString::from_vec(value.to_vec()));
            }
        }
    }
    values
}
