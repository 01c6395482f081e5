//! The signing secret and the tokens it signs: HS256 JWTs, the algorithm
//! pinned on verification, checked against the paired devices; the
//! previous secret after a rotation, which only a refresh accepts.

use std::net::IpAddr;
use std::path::Path;
use std::sync::{Arc, Mutex, RwLock};

use chrono::{DateTime, Duration, Utc};
use countertop_protocol::{Action, Claims, Paired, Role, SecretRotated};
use hmac::{Hmac, Mac};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::Rng;
use sha2::Sha256;

use super::{random_id, DeviceError, DeviceRecord};
use crate::error::AppError;
use crate::store;
use crate::Hub;

/// Device tokens last 30 days (issue 17; the contract said 365): a bearer
/// token read off a shared Wi-Fi is good for a month at most. The app
/// refreshes its token long before (`countertop_client`'s device).
pub const TOKEN_LIFETIME_DAYS: i64 = 30;
/// The longest token the hub will look at.
const MAX_TOKEN_LEN: usize = 4096;

/// The signing secret's file in the data folder.
pub const SECRET_FILE: &str = "secret.key";
/// The secret before the last rotation, kept (mode 600) for one token
/// lifetime: a token it signed may only be refreshed.
pub const PREVIOUS_SECRET_FILE: &str = "secret.key.prev";

/// One signing secret: the keys made from it.
struct Secret {
    text: String,
    encoding: EncodingKey,
    decoding: DecodingKey,
    codes: Hmac<Sha256>,
}

impl Secret {
    fn new(text: &str) -> Secret {
        let bytes = text.as_bytes();
        Secret {
            text: text.to_owned(),
            encoding: EncodingKey::from_secret(bytes),
            decoding: DecodingKey::from_secret(bytes),
            codes: <Hmac<Sha256> as Mac>::new_from_slice(bytes)
                .expect("HMAC takes a key of any length"),
        }
    }

    fn verify(&self, token: &str) -> Option<Claims> {
        if token.len() > MAX_TOKEN_LEN {
            return None;
        }
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp", "iat", "sub", "jti"]);
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation)
            .ok()
            .map(|data| data.claims)
    }
}

/// The secret in use and, after a rotation, the one before it with the
/// time it stops counting.
struct Signing {
    current: Secret,
    previous: Option<(Secret, DateTime<Utc>)>,
}

/// The signing secret, made on first start and kept beside the database.
/// It also keys the hash under which pairing codes are stored. A rotation
/// (`Keys::rotate`) swaps it while the hub runs.
pub struct Keys {
    signing: RwLock<Arc<Signing>>,
    /// Held while a rotation writes its files.
    rotating: Mutex<()>,
}

impl Keys {
    /// Loads `secret.key` from the data folder, creating it (mode 600) if
    /// absent, and `secret.key.prev` while it counts (it is deleted once a
    /// token lifetime has passed since the rotation that wrote it).
    /// (`db::check_folder` has refused a folder that holds a hub but lost it.)
    pub fn load_or_create(data_dir: &Path) -> anyhow::Result<Keys> {
        use anyhow::Context;
        let path = data_dir.join(SECRET_FILE);
        let secret = match std::fs::read_to_string(&path) {
            Ok(text) => text.trim().to_owned(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let hex = new_secret();
                crate::private::write_new(&path, &hex)
                    .with_context(|| format!("creating the signing secret {}", path.display()))?;
                hex
            }
            Err(e) => {
                return Err(e)
                    .with_context(|| format!("reading the signing secret {}", path.display()))
            }
        };
        anyhow::ensure!(
            secret.len() >= 32,
            "the signing secret in {} is too short",
            path.display()
        );
        let previous = load_previous(data_dir)?;
        Ok(Keys::with(Signing {
            current: Secret::new(&secret),
            previous,
        }))
    }

    /// Replaces the signing secret (mode 600) and forgets the previous one:
    /// every token signed with either stops working, refresh included.
    pub fn replace(data_dir: &Path) -> anyhow::Result<()> {
        use anyhow::Context;
        write_replacing(data_dir, SECRET_FILE, &new_secret())?;
        let previous = data_dir.join(PREVIOUS_SECRET_FILE);
        match std::fs::remove_file(&previous) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(e).with_context(|| format!("removing {}", previous.display()))
            }
            _ => Ok(()),
        }
    }

    pub fn from_secret(secret: &[u8]) -> Keys {
        Keys::with(Signing {
            current: Secret::new(&String::from_utf8_lossy(secret)),
            previous: None,
        })
    }

    fn with(signing: Signing) -> Keys {
        Keys {
            signing: RwLock::new(Arc::new(signing)),
            rotating: Mutex::new(()),
        }
    }

    fn signing(&self) -> Arc<Signing> {
        self.signing
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Makes a new signing secret for `data_dir` and keeps the one in use as
    /// the previous one (`secret.key.prev`, mode 600) until `now` plus a
    /// token lifetime; answers that time. Blocking (files, synced).
    pub fn rotate(&self, data_dir: &Path, now: DateTime<Utc>) -> anyhow::Result<DateTime<Utc>> {
        let _one_at_a_time = self.rotating.lock().unwrap_or_else(|p| p.into_inner());
        let before = self.signing();
        let fresh = new_secret();
        // The old secret is kept first: a crash between the two leaves the
        // hub on its old secret, with itself as the previous one.
        write_replacing(data_dir, PREVIOUS_SECRET_FILE, &before.current.text)?;
        write_replacing(data_dir, SECRET_FILE, &fresh)?;
        let until = now + Duration::days(TOKEN_LIFETIME_DAYS);
        let next = Signing {
            current: Secret::new(&fresh),
            previous: Some((Secret::new(&before.current.text), until)),
        };
        *self.signing.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(next);
        Ok(until)
    }

    /// How a pairing code is stored: HMAC-SHA256 under the secret, in hex,
    /// so that a copy of the database (or its WAL) does not give codes away.
    pub fn code_hash(&self, code: &str) -> String {
        let mut mac = self.signing().current.codes.clone();
        mac.update(b"pairing-code:");
        mac.update(code.as_bytes());
        mac.finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    pub fn mint(&self, claims: &Claims) -> Result<String, DeviceError> {
        jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            claims,
            &self.signing().current.encoding,
        )
        .map_err(|e| DeviceError::Internal(format!("could not sign a token: {e}")))
    }

    /// Verifies signature (HS256 only, the current secret), expiry and the
    /// required claims.
    pub fn verify(&self, token: &str) -> Option<Claims> {
        self.signing().current.verify(token)
    }

    /// [`Keys::verify`] with the previous secret, while it counts: for a
    /// refresh only.
    pub fn verify_previous(&self, token: &str) -> Option<Claims> {
        let signing = self.signing();
        let (secret, until) = signing.previous.as_ref()?;
        (Utc::now() < *until)
            .then(|| secret.verify(token))
            .flatten()
    }
}

/// `secret.key.prev`, if it was written less than a token lifetime ago;
/// an older one is deleted.
fn load_previous(data_dir: &Path) -> anyhow::Result<Option<(Secret, DateTime<Utc>)>> {
    use anyhow::Context;
    let path = data_dir.join(PREVIOUS_SECRET_FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text.trim().to_owned(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    let written: DateTime<Utc> = std::fs::metadata(&path)
        .and_then(|m| m.modified())
        .with_context(|| format!("reading the time of {}", path.display()))?
        .into();
    let until = written + Duration::days(TOKEN_LIFETIME_DAYS);
    if until <= Utc::now() || text.len() < 32 {
        std::fs::remove_file(&path).with_context(|| format!("removing {}", path.display()))?;
        tracing::info!("the previous signing secret has run out and was deleted");
        return Ok(None);
    }
    Ok(Some((Secret::new(&text), until)))
}

/// Writes `text` as `name` in `data_dir` (mode 600, synced) through a new
/// file renamed over the old one.
fn write_replacing(data_dir: &Path, name: &str, text: &str) -> anyhow::Result<()> {
    use anyhow::Context;
    let path = data_dir.join(name);
    let fresh = data_dir.join(format!("{name}.new"));
    let _ = std::fs::remove_file(&fresh);
    crate::private::write_new(&fresh, text)
        .with_context(|| format!("writing {}", fresh.display()))?;
    std::fs::rename(&fresh, &path).with_context(|| format!("replacing {}", path.display()))
}

fn new_secret() -> String {
    let bytes: [u8; 32] = rand::thread_rng().gen();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Which secret signed the token a refresh was called with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignedWith {
    Current,
    Previous,
}

impl Hub {
    /// Checks a token: signature (the current secret), expiry and that its
    /// device is still paired.
    pub fn authenticate(&self, token: &str) -> Result<DeviceRecord, AppError> {
        let invalid = || AppError::unauthorized("the device token is invalid, expired or revoked");
        let claims = self.keys.verify(token).ok_or_else(invalid)?;
        self.device_of(&claims).ok_or_else(invalid)
    }

    /// The paired device `claims` name, if the token is not revoked and its
    /// role is the device's.
    fn device_of(&self, claims: &Claims) -> Option<DeviceRecord> {
        if self.devices.is_token_revoked(&claims.jti) {
            return None;
        }
        self.devices
            .get(&claims.sub)
            .filter(|device| device.role == claims.role)
    }

    fn sign_for(&self, device: &DeviceRecord) -> Result<(Paired, Claims), DeviceError> {
        let now = Utc::now();
        let exp = now + Duration::days(TOKEN_LIFETIME_DAYS);
        let claims = Claims {
            sub: device.id.clone(),
            role: device.role,
            name: device.name.clone(),
            iat: now.timestamp(),
            exp: exp.timestamp(),
            jti: random_id(16),
        };
        let paired = Paired {
            device_id: device.id.clone(),
            role: device.role,
            name: device.name.clone(),
            token: self.keys.mint(&claims)?,
            expires_at: exp,
        };
        Ok((paired, claims))
    }

    /// Signs a token for `device` and records it as issued, on `conn`.
    pub(crate) async fn issue_token(
        &self,
        conn: &mut sqlx::SqliteConnection,
        device: &DeviceRecord,
    ) -> Result<Paired, DeviceError> {
        let (paired, claims) = self.sign_for(device)?;
        store::tokens::record(
            conn,
            &claims.jti,
            &device.id,
            claims.exp.saturating_mul(1000),
            claims.iat.saturating_mul(1000),
        )
        .await?;
        Ok(paired)
    }

    /// Admits a new device of `role` named `name`, paired from `peer`, in the
    /// transaction that used up its code: stores it, gives it its token,
    /// commits, and tells the managers. Every way of pairing ends here.
    pub(crate) async fn admit_device(
        &self,
        mut tx: sqlx::Transaction<'_, sqlx::Sqlite>,
        role: Role,
        name: String,
        peer: IpAddr,
    ) -> Result<Paired, DeviceError> {
        let now = self.clock.now();
        let device = DeviceRecord {
            id: format!("dev_{}", random_id(12)),
            role,
            name,
            paired_at: now,
            last_seen_at: Some(now),
        };
        store::devices::insert(&mut tx, &device.id, role.as_str(), &device.name, now).await?;
        let paired = self.issue_token(&mut tx, &device).await?;
        tx.commit().await?;
        self.devices.insert(device.clone());
        tracing::info!(device = %paired.device_id, role = role.as_str(), "device paired");
        self.tell_paired(&device, peer).await;
        Ok(paired)
    }

    /// A new token for the device whose `token` this is; the old one stops
    /// working. A token signed with the current secret refreshes as any
    /// call is authenticated. One signed with the previous secret (after a
    /// rotation) refreshes only if the hub issued it to that device, which
    /// is still paired: a leaked old secret mints nothing that refreshes.
    pub(crate) async fn refresh_token(
        &self,
        token: Option<String>,
        peer: IpAddr,
    ) -> Result<Paired, DeviceError> {
        let token = token.ok_or(DeviceError::NoToken)?;
        let (claims, via) = match self.keys.verify(&token) {
            Some(claims) => (claims, SignedWith::Current),
            None => (
                self.keys
                    .verify_previous(&token)
                    .ok_or(DeviceError::InvalidToken)?,
                SignedWith::Previous,
            ),
        };
        let device = self.device_of(&claims).ok_or(DeviceError::InvalidToken)?;
        if !device.role.may(Action::RefreshToken) {
            return Err(DeviceError::InvalidToken);
        }
        let mut tx = self.pool().begin().await?;
        if via == SignedWith::Previous
            && !store::tokens::issued_to(&mut tx, &claims.jti, &device.id).await?
        {
            tracing::warn!(device = %device.id, "a token signed with the previous secret that this hub never issued was refused");
            return Err(DeviceError::InvalidToken);
        }
        let paired = self.issue_token(&mut tx, &device).await?;
        store::tokens::forget(&mut tx, &claims.jti).await?;
        tx.commit().await?;
        store::devices::revoke_token(self.pool(), &claims.jti, claims.exp.saturating_mul(1000))
            .await?;
        self.devices.revoke_token(claims.jti, claims.exp);
        self.devices.touch(&device.id, self.clock.now());
        tracing::info!(device = %device.id, ?via, "device token refreshed; the old one is revoked");
        self.tell_refreshed(&device, peer, via).await;
        Ok(paired)
    }

    /// Rotates the signing secret at a manager's request (`by`, from
    /// `peer`): new tokens are signed with a new secret; the old one is
    /// kept for a token lifetime, for refreshes only. Open pairing codes
    /// (stored under the old secret) are cancelled and every device's open
    /// connection is closed with 4002, so each comes back with a refreshed
    /// token.
    pub(crate) async fn rotate_secret(
        &self,
        by: &DeviceRecord,
        peer: IpAddr,
    ) -> Result<SecretRotated, DeviceError> {
        let now = self.clock.now();
        let hub = self.clone();
        let until =
            tokio::task::spawn_blocking(move || hub.keys.rotate(&hub.config.data_dir, Utc::now()))
                .await
                .map_err(|e| DeviceError::Internal(format!("rotating the secret stopped: {e}")))?
                .map_err(|e| {
                    DeviceError::Internal(format!("could not rotate the signing secret: {e:#}"))
                })?;
        store::devices::delete_all_codes(self.pool()).await?;
        let closed = self.registry.secret_rotated() as u64;
        tracing::warn!(by = %by.id, closed, "signing secret rotated");
        self.tell_rotated(by, peer, closed).await;
        Ok(SecretRotated {
            rotated_at: now,
            previous_valid_until: until,
            closed_connections: closed,
        })
    }
}

#[cfg(test)]
mod tests {
    use countertop_protocol::Role;

    use super::*;

    fn claims(exp: i64) -> Claims {
        Claims {
            sub: "dev_1".into(),
            role: Role::Kiosk,
            name: "Kiosk".into(),
            iat: 0,
            exp,
            jti: "j".into(),
        }
    }

    #[test]
    fn tokens_verify_only_with_their_secret_and_algorithm() {
        let keys = Keys::from_secret(b"0123456789abcdef0123456789abcdef");
        let future = Utc::now().timestamp() + 3600;
        let token = keys.mint(&claims(future)).unwrap();
        assert_eq!(keys.verify(&token).unwrap().sub, "dev_1");

        let other = Keys::from_secret(b"fedcba9876543210fedcba9876543210");
        assert!(other.verify(&token).is_none(), "forged");

        let past = Utc::now().timestamp() - 10;
        assert!(
            keys.verify(&keys.mint(&claims(past)).unwrap()).is_none(),
            "expired"
        );

        let hs512 = jsonwebtoken::encode(
            &Header::new(Algorithm::HS512),
            &claims(future),
            &EncodingKey::from_secret(b"0123456789abcdef0123456789abcdef"),
        )
        .unwrap();
        assert!(keys.verify(&hs512).is_none(), "algorithm is pinned");
        assert!(keys.verify("not.a.token").is_none());
    }

    #[test]
    fn a_rotation_keeps_the_old_secret_for_verify_previous_only_and_on_disk_at_600() {
        let dir = tempfile::tempdir().unwrap();
        let keys = Keys::load_or_create(dir.path()).unwrap();
        let future = Utc::now().timestamp() + 3600;
        let old = keys.mint(&claims(future)).unwrap();
        let old_hash = keys.code_hash("123456");
        let until = keys.rotate(dir.path(), Utc::now()).unwrap();
        assert!(
            (until - Utc::now() - Duration::days(TOKEN_LIFETIME_DAYS))
                .num_seconds()
                .abs()
                < 5
        );

        assert!(
            keys.verify(&old).is_none(),
            "the old secret no longer verifies"
        );
        assert_eq!(keys.verify_previous(&old).unwrap().sub, "dev_1");
        let new = keys.mint(&claims(future)).unwrap();
        assert!(keys.verify(&new).is_some());
        assert!(keys.verify_previous(&new).is_none());
        assert_ne!(
            keys.code_hash("123456"),
            old_hash,
            "codes are keyed by the new secret"
        );

        // Both files are the owner's only, and a restart reads both back.
        #[cfg(unix)]
        for name in [SECRET_FILE, PREVIOUS_SECRET_FILE] {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(name))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "{name}");
        }
        let again = Keys::load_or_create(dir.path()).unwrap();
        assert!(again.verify(&new).is_some());
        assert!(again.verify_previous(&old).is_some());

        // A second rotation forgets the first secret; a new secret (the
        // command line's) forgets the previous one.
        keys.rotate(dir.path(), Utc::now()).unwrap();
        assert!(keys.verify_previous(&old).is_none());
        assert!(keys.verify_previous(&new).is_some());
        Keys::replace(dir.path()).unwrap();
        assert!(!dir.path().join(PREVIOUS_SECRET_FILE).exists());
        let replaced = Keys::load_or_create(dir.path()).unwrap();
        assert!(replaced.verify(&new).is_none() && replaced.verify_previous(&new).is_none());
    }

    #[test]
    fn a_previous_secret_older_than_a_token_lifetime_is_deleted_on_load() {
        let dir = tempfile::tempdir().unwrap();
        let keys = Keys::load_or_create(dir.path()).unwrap();
        keys.rotate(dir.path(), Utc::now()).unwrap();
        let path = dir.path().join(PREVIOUS_SECRET_FILE);
        let long_ago = std::time::SystemTime::now()
            - std::time::Duration::from_secs(60 * 60 * 24 * (TOKEN_LIFETIME_DAYS as u64 + 1));
        std::fs::File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_modified(long_ago)
            .unwrap();
        let loaded = Keys::load_or_create(dir.path()).unwrap();
        assert!(loaded.signing().previous.is_none());
        assert!(!path.exists());
    }

    #[test]
    fn codes_are_stored_as_a_keyed_hash() {
        let keys = Keys::from_secret(b"0123456789abcdef0123456789abcdef");
        let other = Keys::from_secret(b"fedcba9876543210fedcba9876543210");
        let hash = keys.code_hash("123456");
        assert_eq!(hash.len(), 64);
        assert!(!hash.contains("123456"));
        assert_eq!(hash, keys.code_hash("123456"));
        assert_ne!(hash, other.code_hash("123456"));
    }
}
