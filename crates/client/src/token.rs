//! The device token: in the OS credential store where there is a lasting
//! one, in a plain file (mode 0600, logged loudly) where there is none.
//!
//! A token must outlive a restart: a kiosk that finds no token at boot is a
//! kiosk nobody can order on until someone pairs it again. The Secret
//! Service, the macOS Keychain and the Windows Credential Manager keep it on
//! disk. The Linux kernel keyring does not (a session keyring dies with the
//! login session, every keyring with a reboot), so a computer without a
//! Secret Service (a kiosk's bare X session, a server) keeps its token in
//! the file. A token that an earlier version put in the kernel keyring is
//! read from there once and moved to a lasting store.
//!
//! Each data folder is its own device, so the entry is keyed by the
//! folder's absolute path. The token itself is never logged or printed.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use keyring_core::{CredentialStore, Entry};

use crate::error::TokenError;

const SERVICE: &str = "countertop";
const FALLBACK_FILE: &str = "device-token";

/// A bearer token whose `Debug` and `Display` never show it.
#[derive(Clone, PartialEq, Eq)]
pub struct DeviceToken(String);

impl DeviceToken {
    pub fn new(token: String) -> DeviceToken {
        DeviceToken(token)
    }

    /// The secret itself, for the `Authorization` header only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for DeviceToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DeviceToken(…)")
    }
}

/// Where a token ended up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenStore {
    /// The Secret Service (GNOME Keyring, KWallet) over D-Bus.
    SecretService,
    /// The Linux kernel keyring (keyutils): read only, for tokens an earlier
    /// version kept there; never written, since it forgets at a restart.
    KernelKeyring,
    /// The macOS Keychain.
    Keychain,
    /// The Windows Credential Manager.
    CredentialManager,
    /// A plain file in the data folder.
    File,
}

/// The token of the device whose data lives in one folder.
pub struct TokenVault {
    account: String,
    fallback: PathBuf,
}

impl TokenStore {
    /// Whether a token kept here is still there after a restart.
    pub fn is_lasting(self) -> bool {
        !matches!(self, TokenStore::KernelKeyring)
    }
}

/// The credential stores that work here, lasting ones first.
fn credential_stores() -> Vec<(TokenStore, Arc<CredentialStore>)> {
    let mut stores: Vec<(TokenStore, keyring_core::Result<Arc<CredentialStore>>)> = Vec::new();
    #[cfg(target_os = "linux")]
    {
        stores.push((
            TokenStore::SecretService,
            zbus_secret_service_keyring_store::Store::new().map(|s| s as Arc<CredentialStore>),
        ));
        stores.push((
            TokenStore::KernelKeyring,
            linux_keyutils_keyring_store::Store::new().map(|s| s as Arc<CredentialStore>),
        ));
    }
    #[cfg(target_os = "macos")]
    stores.push((
        TokenStore::Keychain,
        apple_native_keyring_store::keychain::Store::new().map(|s| s as Arc<CredentialStore>),
    ));
    #[cfg(target_os = "windows")]
    stores.push((
        TokenStore::CredentialManager,
        windows_native_keyring_store::Store::new().map(|s| s as Arc<CredentialStore>),
    ));
    stores
        .into_iter()
        .filter_map(|(kind, store)| match store {
            Ok(store) => Some((kind, store)),
            Err(e) => {
                tracing::debug!(store = ?kind, error = %e, "credential store unavailable");
                None
            }
        })
        .collect()
}

impl TokenVault {
    /// The vault of the device whose data lives in `data_dir`.
    pub fn for_folder(data_dir: &Path) -> TokenVault {
        let absolute = std::path::absolute(data_dir).unwrap_or_else(|_| data_dir.to_owned());
        TokenVault {
            account: absolute.display().to_string(),
            fallback: data_dir.join(FALLBACK_FILE),
        }
    }

    fn entries(&self) -> Vec<(TokenStore, Entry)> {
        credential_stores()
            .into_iter()
            .filter_map(|(kind, store)| match store.build(SERVICE, &self.account, None) {
                Ok(entry) => Some((kind, entry)),
                Err(e) => {
                    tracing::debug!(store = ?kind, error = %e, "cannot make a credential entry");
                    None
                }
            })
            .collect()
    }

    /// Stores `token` in the first lasting credential store that keeps it
    /// (checked by reading it back), or else in the fallback file; then
    /// removes it from everywhere else, so no stale copy outlives it.
    pub fn save(&self, token: &DeviceToken) -> Result<TokenStore, TokenError> {
        let entries = self.entries();
        for (kind, entry) in entries.iter().filter(|(kind, _)| kind.is_lasting()) {
            let kept = entry
                .set_password(token.expose())
                .and_then(|()| entry.get_password())
                .map(|back| back == token.expose());
            match kept {
                Ok(true) => {
                    self.remove_file()?;
                    forget_in(&entries, |other| other != *kind);
                    tracing::info!(store = ?kind, "device token stored in the credential store");
                    return Ok(*kind);
                }
                Ok(false) => {
                    tracing::debug!(store = ?kind, "credential store gave back another value")
                }
                Err(e) => {
                    tracing::debug!(store = ?kind, error = %e, "credential store refused the token")
                }
            }
        }
        tracing::warn!(
            file = %self.fallback.display(),
            "no lasting credential store here (no Secret Service): the device token is kept in a plain file readable by this user only"
        );
        write_private(&self.fallback, token.expose()).map_err(|source| TokenError::File {
            path: self.fallback.clone(),
            source,
        })?;
        forget_in(&entries, |_| true);
        Ok(TokenStore::File)
    }

    /// The stored token, from wherever it is. One found only where it would
    /// not outlive a restart is moved to a lasting store first.
    pub fn load(&self) -> Result<Option<(DeviceToken, TokenStore)>, TokenError> {
        for (kind, entry) in self.entries() {
            match entry.get_password() {
                Ok(token) if kind.is_lasting() => return Ok(Some((DeviceToken(token), kind))),
                Ok(token) => {
                    let token = DeviceToken(token);
                    tracing::info!(from = ?kind, "moving the device token to a store that outlives a restart");
                    // The token was read: a failed move is told, not fatal.
                    let kept = self.save(&token).unwrap_or_else(|e| {
                        tracing::warn!(error = %e, "cannot move the device token; it may be gone after a restart");
                        kind
                    });
                    return Ok(Some((token, kept)));
                }
                Err(keyring_core::Error::NoEntry) => {}
                Err(e) => {
                    tracing::debug!(store = ?kind, error = %e, "cannot read the credential store")
                }
            }
        }
        match std::fs::read_to_string(&self.fallback) {
            Ok(text) => {
                tracing::warn!(file = %self.fallback.display(), "device token read from a plain file");
                Ok(Some((
                    DeviceToken(text.trim().to_owned()),
                    TokenStore::File,
                )))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(TokenError::File {
                path: self.fallback.clone(),
                source,
            }),
        }
    }

    /// Forgets the token everywhere.
    pub fn clear(&self) -> Result<(), TokenError> {
        forget_in(&self.entries(), |_| true);
        self.remove_file()
    }

    fn remove_file(&self) -> Result<(), TokenError> {
        match std::fs::remove_file(&self.fallback) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(TokenError::File {
                path: self.fallback.clone(),
                source,
            }),
        }
    }
}

/// Deletes the entries of the stores `which` names (a missing one is fine).
fn forget_in(entries: &[(TokenStore, Entry)], which: impl Fn(TokenStore) -> bool) {
    for (kind, entry) in entries.iter().filter(|(kind, _)| which(*kind)) {
        match entry.delete_credential() {
            Ok(()) | Err(keyring_core::Error::NoEntry) => {}
            Err(e) => {
                tracing::debug!(store = ?kind, error = %e, "cannot delete from the credential store")
            }
        }
    }
}

/// Writes `text` to `path` (mode 0600) so that a power cut leaves either
/// the old file or the new one, never a torn or empty one: a temporary file
/// beside it, synced, renamed over it, then the folder synced. Tokens are
/// renewed in the background, so this runs while the kiosk is in use.
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(".new");
    let temporary = PathBuf::from(temporary);
    // One a crash left behind may have another mode: made anew, it is 0600.
    match std::fs::remove_file(&temporary) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(&temporary)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(&temporary, path)?;
    #[cfg(unix)]
    std::fs::File::open(dir)?.sync_all()?;
    Ok(())
}
