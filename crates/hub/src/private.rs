//! Files and folders only the hub's user may read: the data folder's
//! secrets (`secret.key`, `tls.key`), certificates and backups.

use std::path::Path;

/// Creates `dir` and its missing parents, new ones owner-only (0700). An
/// existing folder is left as it is (a USB stick's may not take modes).
pub fn create_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// Writes `text` into a new file (never over one) readable by its owner
/// only (0600), on disk before this returns.
pub fn write_new(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()
}
