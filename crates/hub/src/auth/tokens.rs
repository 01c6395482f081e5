//! The signing secret and the tokens it signs: HS256 JWTs, the algorithm
//! pinned on verification, checked against the paired devices; the
//! secrets rotated away in the last token lifetime, which only a refresh
//! accepts; a replaced token's short grace for a refresh whose answer was
//! lost.

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
/// The secrets rotated away, each kept (mode 600) for one token lifetime
/// after its rotation: a token one of them signed may only be refreshed.
/// One line each, newest first: the secret in hex, a space, and until when
/// it counts (unix seconds). A line of the secret alone (a hub before this
/// format) counts until a token lifetime after the file's time.
pub const PREVIOUS_SECRET_FILE: &str = "secret.key.prev";
/// The most secrets rotated away that are kept: a manager who rotates more
/// often than that within a token lifetime loses the oldest first.
pub const MAX_PREVIOUS_SECRETS: usize = 64;
/// How long after its replacement a token may refresh once more: a device
/// whose refresh answer was lost (a timeout) retries with the token it
/// still holds.
pub const REFRESH_GRACE_MINUTES: i64 = 10;

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

/// The secret in use and, after rotations, the ones before it (newest
/// first), each with the time it stops counting.
struct Signing {
    current: Secret,
    previous: Vec<(Secret, DateTime<Utc>)>,
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
    /// absent, and the secrets of `secret.key.prev` that still count (those
    /// rotated away more than a token lifetime ago are dropped from it, and
    /// the file deleted when none is left).
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

    /// Replaces the signing secret (mode 600) and forgets the previous ones:
    /// every token signed with any of them stops working, refresh included.
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
            previous: Vec::new(),
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

    /// Makes a new signing secret for `data_dir` and keeps the one in use,
    /// in front of the others rotated away that still count
    /// (`secret.key.prev`, mode 600), until `now` plus a token lifetime;
    /// answers that time. Blocking (files, synced).
    pub fn rotate(&self, data_dir: &Path, now: DateTime<Utc>) -> anyhow::Result<DateTime<Utc>> {
        self.rotate_to(data_dir, &new_secret(), now)
    }

    /// [`Self::rotate`] to the secret `fresh` (hex): another node's
    /// (`auth::rotation`).
    pub(crate) fn rotate_to(
        &self,
        data_dir: &Path,
        fresh: &str,
        now: DateTime<Utc>,
    ) -> anyhow::Result<DateTime<Utc>> {
        let _one_at_a_time = self.rotating.lock().unwrap_or_else(|p| p.into_inner());
        let before = self.signing();
        let until = now + Duration::days(TOKEN_LIFETIME_DAYS);
        let mut previous = vec![(Secret::new(&before.current.text), until)];
        previous.extend(
            before
                .previous
                .iter()
                .filter(|(_, until)| now < *until)
                .map(|(secret, until)| (Secret::new(&secret.text), *until)),
        );
        previous.truncate(MAX_PREVIOUS_SECRETS);
        // The old secrets are kept first: a crash between the two leaves
        // the hub on its old secret, with itself as the newest previous one.
        write_replacing(data_dir, PREVIOUS_SECRET_FILE, &previous_file(&previous))?;
        write_replacing(data_dir, SECRET_FILE, fresh)?;
        let next = Signing {
            current: Secret::new(fresh),
            previous,
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

    /// [`Keys::verify`] with the secrets rotated away, each while it
    /// counts: for a refresh only.
    pub fn verify_previous(&self, token: &str) -> Option<Claims> {
        let now = Utc::now();
        self.signing()
            .previous
            .iter()
            .filter(|(_, until)| now < *until)
            .find_map(|(secret, _)| secret.verify(token))
    }
}

/// `secret.key.prev`'s text: one line per secret, newest first.
fn previous_file(previous: &[(Secret, DateTime<Utc>)]) -> String {
    previous
        .iter()
        .map(|(secret, until)| format!("{} {}\n", secret.text, until.timestamp()))
        .collect()
}

/// The secrets of `secret.key.prev` that still count, newest first. Those
/// that ran out (or do not read) are dropped from the file, which is
/// deleted when none is left.
fn load_previous(data_dir: &Path) -> anyhow::Result<Vec<(Secret, DateTime<Utc>)>> {
    use anyhow::Context;
    let path = data_dir.join(PREVIOUS_SECRET_FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    let written: DateTime<Utc> = std::fs::metadata(&path)
        .and_then(|m| m.modified())
        .with_context(|| format!("reading the time of {}", path.display()))?
        .into();
    let now = Utc::now();
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let mut kept = Vec::new();
    for line in &lines {
        let mut fields = line.split_whitespace();
        let secret = fields.next().unwrap_or("");
        let until = match fields.next() {
            // A hub before this format kept one secret, from the file's time.
            None => Some(written + Duration::days(TOKEN_LIFETIME_DAYS)),
            Some(at) => at
                .parse::<i64>()
                .ok()
                .and_then(|at| DateTime::from_timestamp(at, 0)),
        };
        match until {
            Some(until) if now < until && secret.len() >= 32 => {
                kept.push((Secret::new(secret), until));
            }
            _ => {}
        }
    }
    kept.truncate(MAX_PREVIOUS_SECRETS);
    if kept.is_empty() {
        std::fs::remove_file(&path).with_context(|| format!("removing {}", path.display()))?;
        tracing::info!("the previous signing secrets have run out and were deleted");
    } else if kept.len() < lines.len() {
        write_replacing(data_dir, PREVIOUS_SECRET_FILE, &previous_file(&kept))?;
        tracing::info!(
            dropped = lines.len() - kept.len(),
            "previous signing secrets that ran out were deleted"
        );
    }
    Ok(kept)
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

pub(super) fn new_secret() -> String {
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
    ///
    /// On PostgreSQL a device this node does not know may have paired on
    /// another node a moment ago: a token with a good signature and no
    /// device here reads the devices again before it is refused.
    pub async fn authenticate(&self, token: &str) -> Result<DeviceRecord, AppError> {
        let invalid = || AppError::unauthorized("the device token is invalid, expired or revoked");
        let found = self.keys.verify(token).and_then(|c| self.device_of(&c));
        if let Some(device) = found {
            return Ok(device);
        }
        if !self.catch_up_with_nodes().await? {
            return Err(invalid());
        }
        let claims = self.keys.verify(token).ok_or_else(invalid)?;
        self.device_of(&claims).ok_or_else(invalid)
    }

    /// On PostgreSQL, before a token is refused: takes a secret rotated on
    /// another node and reads the devices again (one paired or refreshed
    /// there a moment ago), at most ten times a second. Answers whether it
    /// did (never on SQLite).
    async fn catch_up_with_nodes(&self) -> Result<bool, sqlx::Error> {
        if self.pool().pg().is_none() || !self.devices.may_sync() {
            return Ok(false);
        }
        if let Err(e) = self.follow_rotation().await {
            tracing::warn!(error = %e, "taking a secret rotated on another node");
        }
        self.sync_devices().await?;
        Ok(true)
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
            hubs: self.config.public_urls.clone(),
        };
        Ok((paired, claims))
    }

    /// Signs a token for `device` and records it as issued, replacing the
    /// token `parent` (a refresh) or none (a pairing), on `conn`.
    pub(crate) async fn issue_token(
        &self,
        conn: &mut impl crate::store::Exec,
        device: &DeviceRecord,
        parent: Option<&str>,
    ) -> Result<Paired, DeviceError> {
        let (paired, claims) = self.sign_for(device)?;
        let now_ms = self.clock.now().timestamp_millis();
        store::tokens::record(
            conn,
            &claims.jti,
            &device.id,
            parent,
            claims.exp.saturating_mul(1000),
            now_ms,
            now_ms - Duration::minutes(REFRESH_GRACE_MINUTES).num_milliseconds(),
        )
        .await?;
        Ok(paired)
    }

    /// Admits a new device of `role` named `name`, paired from `peer`, in the
    /// transaction that used up its code: stores it, gives it its token,
    /// commits, and tells the managers. Every way of pairing ends here.
    pub(crate) async fn admit_device(
        &self,
        mut tx: store::Tx,
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
        let paired = self.issue_token(&mut tx, &device, None).await?;
        tx.commit().await?;
        self.devices.insert(device.clone());
        self.tell_nodes().await;
        tracing::info!(device = %paired.device_id, role = role.as_str(), "device paired");
        self.tell_paired(&device, peer).await;
        Ok(paired)
    }

    /// A new token for the device whose `token` this is; the old one stops
    /// working. A token signed with the current secret refreshes as any
    /// call is authenticated. One signed with a secret rotated away (in the
    /// last token lifetime) refreshes only if the hub issued it to that
    /// device, which is still paired: a leaked old secret mints nothing
    /// that refreshes.
    ///
    /// A token a refresh already replaced refreshes once more, and again,
    /// within [`REFRESH_GRACE_MINUTES`] of its first replacement, if the
    /// hub has its record (so not after its device was revoked) and none of
    /// the tokens it was replaced by has been refreshed in turn: the device
    /// whose answer was lost is not locked out. Each answer is recorded as
    /// one more replacement of it; the tokens it answered before keep
    /// working (the hub cannot tell which one the device received).
    pub(crate) async fn refresh_token(
        &self,
        token: Option<String>,
        peer: IpAddr,
    ) -> Result<Paired, DeviceError> {
        let token = token.ok_or(DeviceError::NoToken)?;
        let known = |hub: &Hub| {
            let (claims, via) = match hub.keys.verify(&token) {
                Some(claims) => (claims, SignedWith::Current),
                None => (hub.keys.verify_previous(&token)?, SignedWith::Previous),
            };
            // Paired, in the token's role (a replaced token is judged below).
            let device = hub
                .devices
                .get(&claims.sub)
                .filter(|device| device.role == claims.role)?;
            Some((claims, via, device))
        };
        let found = match known(self) {
            Some(found) => Some(found),
            None if self.catch_up_with_nodes().await? => known(self),
            None => None,
        };
        let (claims, via, device) = found.ok_or(DeviceError::InvalidToken)?;
        if !device.role.may(Action::RefreshToken) {
            return Err(DeviceError::InvalidToken);
        }
        let now_ms = self.clock.now().timestamp_millis();
        let mut tx = self.pool().begin().await?;
        let issued = store::tokens::issued(&mut tx, &claims.jti)
            .await?
            .filter(|issued| issued.device_id == device.id);
        let replaced_at = issued.as_ref().and_then(|issued| issued.replaced_ms);
        let again = self.devices.is_token_revoked(&claims.jti) || replaced_at.is_some();
        if again {
            let grace = Duration::minutes(REFRESH_GRACE_MINUTES).num_milliseconds();
            let within = replaced_at.is_some_and(|at| now_ms - at <= grace);
            if !within || store::tokens::replacement_refreshed(&mut tx, &claims.jti).await? {
                return Err(DeviceError::InvalidToken);
            }
        } else if via == SignedWith::Previous && issued.is_none() {
            tracing::warn!(device = %device.id, "a token signed with a previous secret that this hub never issued was refused");
            return Err(DeviceError::InvalidToken);
        }
        let paired = self
            .issue_token(&mut tx, &device, Some(&claims.jti))
            .await?;
        if !again {
            let expires_ms = claims.exp.saturating_mul(1000);
            store::tokens::mark_replaced(&mut tx, &claims.jti, &device.id, expires_ms, now_ms)
                .await?;
            store::devices::revoke_token(&mut tx, &claims.jti, expires_ms).await?;
        }
        tx.commit().await?;
        if !again {
            self.devices.revoke_token(claims.jti, claims.exp);
            self.tell_nodes().await;
        }
        self.devices.touch(&device.id, self.clock.now());
        tracing::info!(device = %device.id, ?via, again, "device token refreshed; the old one is replaced");
        self.tell_refreshed(&device, peer, via).await;
        Ok(paired)
    }

    /// Rotates the signing secret at a manager's request (`by`, from
    /// `peer`): new tokens are signed with a new secret; the old one is
    /// kept for a token lifetime (beside those rotated away before it that
    /// still count), for refreshes only. Open pairing codes
    /// (stored under the old secret) are cancelled and every device's open
    /// connection is closed with 4002, so each comes back with a refreshed
    /// token.
    pub(crate) async fn rotate_secret(
        &self,
        by: &DeviceRecord,
        peer: IpAddr,
    ) -> Result<SecretRotated, DeviceError> {
        let now = self.clock.now();
        let until = if self.pool().pg().is_some() {
            self.rotate_shared(Utc::now()).await?
        } else {
            let hub = self.clone();
            tokio::task::spawn_blocking(move || hub.keys.rotate(&hub.config.data_dir, Utc::now()))
                .await
                .map_err(|e| DeviceError::Internal(format!("rotating the secret stopped: {e}")))?
                .map_err(|e| {
                    DeviceError::Internal(format!("could not rotate the signing secret: {e:#}"))
                })?
        };
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

        // A second rotation keeps the first secret too, newest first, also
        // across a restart; a new secret (the command line's) forgets them.
        keys.rotate(dir.path(), Utc::now()).unwrap();
        assert!(keys.verify_previous(&old).is_some());
        assert!(keys.verify_previous(&new).is_some());
        let file = std::fs::read_to_string(dir.path().join(PREVIOUS_SECRET_FILE)).unwrap();
        assert_eq!(file.lines().count(), 2, "{file}");
        let again = Keys::load_or_create(dir.path()).unwrap();
        assert!(again.verify_previous(&old).is_some() && again.verify_previous(&new).is_some());
        Keys::replace(dir.path()).unwrap();
        assert!(!dir.path().join(PREVIOUS_SECRET_FILE).exists());
        let replaced = Keys::load_or_create(dir.path()).unwrap();
        assert!(replaced.verify(&new).is_none() && replaced.verify_previous(&new).is_none());
    }

    #[test]
    fn secrets_rotated_away_more_than_a_token_lifetime_ago_are_dropped_on_load() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(PREVIOUS_SECRET_FILE);
        let keys = Keys::load_or_create(dir.path()).unwrap();
        let future = Utc::now().timestamp() + 3600;
        let oldest = keys.mint(&claims(future)).unwrap();
        let long_ago = Utc::now() - Duration::days(TOKEN_LIFETIME_DAYS + 1);
        keys.rotate(dir.path(), long_ago).unwrap();
        assert!(keys.verify_previous(&oldest).is_none(), "ran out at once");
        let middle = keys.mint(&claims(future)).unwrap();
        keys.rotate(dir.path(), Utc::now()).unwrap();
        assert!(keys.verify_previous(&middle).is_some());
        // The rotation left out the secret that ran out.
        assert_eq!(std::fs::read_to_string(&path).unwrap().lines().count(), 1);

        // One that runs out while the hub is stopped is dropped at start, and
        // the file goes when none is left.
        keys.rotate(dir.path(), long_ago).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap().lines().count(), 2);
        let loaded = Keys::load_or_create(dir.path()).unwrap();
        assert_eq!(loaded.signing().previous.len(), 1);
        assert!(loaded.verify_previous(&middle).is_some());
        assert_eq!(std::fs::read_to_string(&path).unwrap().lines().count(), 1);
        let text = format!("{} {}\n", "ab".repeat(32), long_ago.timestamp());
        std::fs::write(&path, text).unwrap();
        let loaded = Keys::load_or_create(dir.path()).unwrap();
        assert!(loaded.signing().previous.is_empty());
        assert!(!path.exists());
    }

    #[test]
    fn a_previous_secret_of_the_one_line_format_counts_from_the_files_time() {
        let dir = tempfile::tempdir().unwrap();
        let keys = Keys::load_or_create(dir.path()).unwrap();
        let future = Utc::now().timestamp() + 3600;
        let old = keys.mint(&claims(future)).unwrap();
        keys.rotate(dir.path(), Utc::now()).unwrap();
        // As a hub before this format wrote it: the secret alone.
        let path = dir.path().join(PREVIOUS_SECRET_FILE);
        let first = std::fs::read_to_string(&path).unwrap();
        let secret = first.split_whitespace().next().unwrap().to_owned();
        std::fs::write(&path, format!("{secret}\n")).unwrap();
        let loaded = Keys::load_or_create(dir.path()).unwrap();
        assert!(loaded.verify_previous(&old).is_some());
        let long_ago = std::time::SystemTime::now()
            - std::time::Duration::from_secs(60 * 60 * 24 * (TOKEN_LIFETIME_DAYS as u64 + 1));
        std::fs::File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_modified(long_ago)
            .unwrap();
        let loaded = Keys::load_or_create(dir.path()).unwrap();
        assert!(loaded.signing().previous.is_empty());
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
