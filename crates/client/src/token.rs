//! The device token: in the OS credential store where there is one, in a
//! plain file (mode 0600, logged loudly) where there is none.
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
    /// The Linux kernel keyring (keyutils).
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

    /// Stores `token` in the first credential store that keeps it (checked by
    /// reading it back), or else in the fallback file.
    pub fn save(&self, token: &DeviceToken) -> Result<TokenStore, TokenError> {
        for (kind, entry) in self.entries() {
            let kept = entry
                .set_password(token.expose())
                .and_then(|()| entry.get_password())
                .map(|back| back == token.expose());
            match kept {
                Ok(true) => {
                    self.remove_file()?;
                    tracing::info!(store = ?kind, "device token stored in the credential store");
                    return Ok(kind);
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
            "no credential store works here: the device token is kept in a plain file readable by this user only"
        );
        write_private(&self.fallback, token.expose()).map_err(|source| TokenError::File {
            path: self.fallback.clone(),
            source,
        })?;
        Ok(TokenStore::File)
    }

    /// The stored token, from wherever it is.
    pub fn load(&self) -> Result<Option<(DeviceToken, TokenStore)>, TokenError> {
        for (kind, entry) in self.entries() {
            match entry.get_password() {
                Ok(token) => return Ok(Some((DeviceToken(token), kind))),
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
        for (kind, entry) in self.entries() {
            match entry.delete_credential() {
                Ok(()) | Err(keyring_core::Error::NoEntry) => {}
                Err(e) => {
                    tracing::debug!(store = ?kind, error = %e, "cannot delete from the credential store")
                }
            }
        }
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

fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()
}
