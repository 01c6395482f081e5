//! Devices, pairing and bearer tokens.
//!
//! Tokens are HS256 JWTs with the algorithm pinned on verification. A token
//! is accepted only while its device is known and not revoked; that check is
//! made on every request against an in-memory table the hub keeps in step
//! with the `devices` table. Tokens are never logged: the request span logs
//! the path and a redacted query (see `lib.rs`).

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::path::Path;
use std::sync::{Mutex, RwLock};
use std::time::Instant;

use axum::extract::{FromRequestParts, Query};
use axum::http::request::Parts;
use chrono::{DateTime, Duration, Utc};
use countertop_protocol::{Claims, Device, Paired, PairingCode, Role};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::Rng;
use serde::Deserialize;
use sqlx::SqlitePool;

use crate::error::AppError;
use crate::Hub;

/// Device tokens last a year.
pub const TOKEN_LIFETIME_DAYS: i64 = 365;
/// Pairing codes are valid ten minutes.
pub const PAIRING_CODE_MINUTES: i64 = 10;
/// Wrong pairing codes one address may try within a minute before `429`.
const PAIRING_FAILURES_PER_MINUTE: usize = 5;
/// The longest token the hub will look at.
const MAX_TOKEN_LEN: usize = 4096;
/// The longest device name.
pub const MAX_NAME_LEN: usize = 64;

/// The signing secret, made on first start and kept beside the database.
pub struct Keys {
    encoding: EncodingKey,
    decoding: DecodingKey,
}

impl Keys {
    /// Loads `secret.key` from the data folder, creating it (mode 600) if absent.
    pub fn load_or_create(data_dir: &Path) -> anyhow::Result<Keys> {
        use anyhow::Context;
        let path = data_dir.join("secret.key");
        let secret = match std::fs::read_to_string(&path) {
            Ok(text) => text.trim().to_owned(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let bytes: [u8; 32] = rand::thread_rng().gen();
                let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
                write_private(&path, &hex)
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
        Ok(Keys::from_secret(secret.as_bytes()))
    }

    pub fn from_secret(secret: &[u8]) -> Keys {
        Keys {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
        }
    }

    pub fn mint(&self, claims: &Claims) -> Result<String, AppError> {
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &self.encoding)
            .map_err(|e| AppError::internal(format!("could not sign a token: {e}")))
    }

    /// Verifies signature (HS256 only), expiry and the required claims.
    pub fn verify(&self, token: &str) -> Option<Claims> {
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

#[cfg(unix)]
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()
}

#[cfg(not(unix))]
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    std::fs::write(path, text)
}

/// A paired device as the hub keeps it in memory.
#[derive(Debug, Clone)]
pub struct DeviceRecord {
    pub id: String,
    pub role: Role,
    pub name: String,
    pub paired_at: DateTime<Utc>,
    pub last_seen_at: Option<DateTime<Utc>>,
}

/// The paired, unrevoked devices.
#[derive(Default)]
pub struct Devices {
    by_id: RwLock<HashMap<String, DeviceRecord>>,
}

impl Devices {
    pub async fn load(pool: &SqlitePool) -> Result<Devices, sqlx::Error> {
        let rows: Vec<(String, String, String, String, Option<String>)> = sqlx::query_as(
            "SELECT id, role, name, paired_at, last_seen_at FROM devices WHERE revoked_at IS NULL",
        )
        .fetch_all(pool)
        .await?;
        let mut by_id = HashMap::new();
        for (id, role, name, paired_at, last_seen_at) in rows {
            let Some(role) = Role::parse(&role) else {
                continue;
            };
            let record = DeviceRecord {
                id: id.clone(),
                role,
                name,
                paired_at: parse_ts(&paired_at).unwrap_or_default(),
                last_seen_at: last_seen_at.as_deref().and_then(parse_ts),
            };
            by_id.insert(id, record);
        }
        Ok(Devices {
            by_id: RwLock::new(by_id),
        })
    }

    pub fn get(&self, id: &str) -> Option<DeviceRecord> {
        read(&self.by_id).get(id).cloned()
    }

    pub fn insert(&self, record: DeviceRecord) {
        write(&self.by_id).insert(record.id.clone(), record);
    }

    pub fn remove(&self, id: &str) -> Option<DeviceRecord> {
        write(&self.by_id).remove(id)
    }

    pub fn touch(&self, id: &str, at: DateTime<Utc>) {
        if let Some(d) = write(&self.by_id).get_mut(id) {
            d.last_seen_at = Some(at);
        }
    }

    pub fn list(&self) -> Vec<DeviceRecord> {
        let mut all: Vec<_> = read(&self.by_id).values().cloned().collect();
        all.sort_by(|a, b| a.paired_at.cmp(&b.paired_at).then(a.id.cmp(&b.id)));
        all
    }
}

fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

pub fn parse_ts(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|d| d.with_timezone(&Utc))
}

pub fn device_view(record: &DeviceRecord, connected: bool) -> Device {
    Device {
        id: record.id.clone(),
        role: record.role,
        name: record.name.clone(),
        paired_at: record.paired_at,
        last_seen_at: record.last_seen_at,
        connected,
    }
}

/// Who is calling: a paired device, or nobody (anonymous).
#[derive(Debug, Clone, Default)]
pub struct Caller {
    pub device: Option<DeviceRecord>,
}

impl Caller {
    pub fn role(&self) -> Option<Role> {
        self.device.as_ref().map(|d| d.role)
    }

    pub fn device_id(&self) -> Option<&str> {
        self.device.as_ref().map(|d| d.id.as_str())
    }

    pub fn is(&self, role: Role) -> bool {
        self.role() == Some(role)
    }

    /// The caller's device if its role is one of `roles`: no token is `401`,
    /// another role `403`.
    pub fn require(&self, roles: &[Role]) -> Result<&DeviceRecord, AppError> {
        match &self.device {
            None => Err(AppError::unauthorized("this call needs a device token")),
            Some(d) if roles.contains(&d.role) => Ok(d),
            Some(d) => Err(AppError::forbidden(format!(
                "a {} device may not do this",
                d.role.as_str()
            ))),
        }
    }

    pub fn require_manager(&self) -> Result<&DeviceRecord, AppError> {
        self.require(&[Role::Manager])
    }
}

#[derive(Deserialize)]
struct TokenQuery {
    token: Option<String>,
}

/// The bearer token of a request: `Authorization: Bearer …` or `?token=…`.
pub fn bearer_token(parts: &Parts) -> Result<Option<String>, AppError> {
    if let Some(value) = parts.headers.get(axum::http::header::AUTHORIZATION) {
        let value = value
            .to_str()
            .map_err(|_| AppError::unauthorized("the Authorization header is not readable"))?;
        let token = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
            .ok_or_else(|| {
                AppError::unauthorized("the Authorization header is not a Bearer token")
            })?;
        return Ok(Some(token.trim().to_owned()));
    }
    let query: Query<TokenQuery> =
        Query::try_from_uri(&parts.uri).unwrap_or(Query(TokenQuery { token: None }));
    Ok(query.0.token.filter(|t| !t.is_empty()))
}

impl FromRequestParts<Hub> for Caller {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, hub: &Hub) -> Result<Self, Self::Rejection> {
        // The authentication middleware has usually done this already.
        if let Some(caller) = parts.extensions.get::<Caller>() {
            return Ok(caller.clone());
        }
        let Some(token) = bearer_token(parts)? else {
            return Ok(Caller::default());
        };
        hub.authenticate(&token).map(|device| Caller {
            device: Some(device),
        })
    }
}

impl Hub {
    /// Checks a token: signature, expiry and that its device is still paired.
    pub fn authenticate(&self, token: &str) -> Result<DeviceRecord, AppError> {
        let invalid = || AppError::unauthorized("the device token is invalid, expired or revoked");
        let claims = self.keys.verify(token).ok_or_else(invalid)?;
        let device = self.devices.get(&claims.sub).ok_or_else(invalid)?;
        if device.role != claims.role {
            return Err(invalid());
        }
        Ok(device)
    }

    pub fn mint_token(&self, device: &DeviceRecord) -> Result<Paired, AppError> {
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
        Ok(Paired {
            device_id: device.id.clone(),
            role: device.role,
            name: device.name.clone(),
            token: self.keys.mint(&claims)?,
            expires_at: exp,
        })
    }
}

/// Counts wrong pairing codes per address over the last minute.
#[derive(Default)]
pub struct PairingLimiter {
    failures: Mutex<HashMap<IpAddr, VecDeque<Instant>>>,
}

impl PairingLimiter {
    /// Whether `ip` has used up its wrong attempts for this minute.
    pub fn is_blocked(&self, ip: IpAddr) -> bool {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let Some(times) = map.get_mut(&ip) else {
            return false;
        };
        let minute_ago = Instant::now() - std::time::Duration::from_secs(60);
        while times.front().is_some_and(|t| *t < minute_ago) {
            times.pop_front();
        }
        if times.is_empty() {
            map.remove(&ip);
            return false;
        }
        times.len() >= PAIRING_FAILURES_PER_MINUTE
    }

    pub fn record_failure(&self, ip: IpAddr) {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        // Bound the table: an address flood cannot grow it without limit.
        if map.len() > 10_000 {
            map.clear();
        }
        map.entry(ip).or_default().push_back(Instant::now());
    }
}

/// Creates a six-digit, single-use pairing code valid for ten minutes. Works
/// from the command line too, while a server uses the same database.
pub async fn create_pairing_code(
    pool: &SqlitePool,
    role: Role,
    name: &str,
    now: DateTime<Utc>,
) -> Result<PairingCode, sqlx::Error> {
    let expires_at = now + Duration::minutes(PAIRING_CODE_MINUTES);
    sqlx::query("DELETE FROM pairing_codes WHERE expires_ms < ?")
        .bind(now.timestamp_millis())
        .execute(pool)
        .await?;
    loop {
        let code = format!("{:06}", rand::thread_rng().gen_range(0..1_000_000u32));
        let inserted = sqlx::query(
            "INSERT INTO pairing_codes (code, role, name, expires_ms) VALUES (?, ?, ?, ?)
             ON CONFLICT (code) DO NOTHING",
        )
        .bind(&code)
        .bind(role.as_str())
        .bind(name)
        .bind(expires_at.timestamp_millis())
        .execute(pool)
        .await?
        .rows_affected();
        if inserted == 1 {
            return Ok(PairingCode { code, expires_at });
        }
    }
}

/// A random lowercase alphanumeric id of `len` characters.
pub fn random_id(len: usize) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::thread_rng();
    (0..len)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect()
}

#[cfg(test)]
mod tests {
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
    fn sixth_wrong_code_is_blocked() {
        let limiter = PairingLimiter::default();
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        for _ in 0..5 {
            assert!(!limiter.is_blocked(ip));
            limiter.record_failure(ip);
        }
        assert!(limiter.is_blocked(ip));
        assert!(!limiter.is_blocked("10.0.0.2".parse().unwrap()));
    }
}
