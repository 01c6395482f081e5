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

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use chrono::{DateTime, Duration, Utc};
use countertop_protocol::{Action, Claims, Device, Paired, PairingCode, Role};
use hmac::{Hmac, Mac};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::Rng;
use sha2::Sha256;
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

/// The signing secret's file in the data folder.
pub const SECRET_FILE: &str = "secret.key";

/// The signing secret, made on first start and kept beside the database.
/// It also keys the hash under which pairing codes are stored.
pub struct Keys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    codes: Hmac<Sha256>,
}

impl Keys {
    /// Loads `secret.key` from the data folder, creating it (mode 600) if absent.
    /// (`db::check_folder` has refused a folder that holds a hub but lost it.)
    pub fn load_or_create(data_dir: &Path) -> anyhow::Result<Keys> {
        use anyhow::Context;
        let path = data_dir.join(SECRET_FILE);
        let secret = match std::fs::read_to_string(&path) {
            Ok(text) => text.trim().to_owned(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let hex = new_secret();
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

    /// Replaces the signing secret (mode 600): every token signed with the
    /// old one stops working.
    pub fn replace(data_dir: &Path) -> anyhow::Result<()> {
        use anyhow::Context;
        let path = data_dir.join(SECRET_FILE);
        let fresh = data_dir.join("secret.key.new");
        let _ = std::fs::remove_file(&fresh);
        write_private(&fresh, &new_secret())
            .with_context(|| format!("writing {}", fresh.display()))?;
        std::fs::rename(&fresh, &path).with_context(|| format!("replacing {}", path.display()))
    }

    pub fn from_secret(secret: &[u8]) -> Keys {
        let codes =
            <Hmac<Sha256> as Mac>::new_from_slice(secret).expect("HMAC takes a key of any length");
        Keys {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            codes,
        }
    }

    /// How a pairing code is stored: HMAC-SHA256 under the secret, in hex,
    /// so that a copy of the database (or its WAL) does not give codes away.
    pub fn code_hash(&self, code: &str) -> String {
        let mut mac = self.codes.clone();
        mac.update(b"pairing-code:");
        mac.update(code.as_bytes());
        mac.finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
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

fn new_secret() -> String {
    let bytes: [u8; 32] = rand::thread_rng().gen();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
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

/// The paired, unrevoked devices, and the tokens replaced by a refresh.
#[derive(Default)]
pub struct Devices {
    by_id: RwLock<HashMap<String, DeviceRecord>>,
    /// `jti` → expiry (Unix seconds) of tokens that no longer count.
    revoked_tokens: RwLock<HashMap<String, i64>>,
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
        let now_ms = Utc::now().timestamp_millis();
        sqlx::query("DELETE FROM revoked_tokens WHERE expires_ms < ?")
            .bind(now_ms)
            .execute(pool)
            .await?;
        let revoked: Vec<(String, i64)> =
            sqlx::query_as("SELECT jti, expires_ms FROM revoked_tokens")
                .fetch_all(pool)
                .await?;
        Ok(Devices {
            by_id: RwLock::new(by_id),
            revoked_tokens: RwLock::new(
                revoked
                    .into_iter()
                    .map(|(jti, ms)| (jti, ms.div_euclid(1000)))
                    .collect(),
            ),
        })
    }

    pub fn is_token_revoked(&self, jti: &str) -> bool {
        read(&self.revoked_tokens).contains_key(jti)
    }

    /// Records a replaced token (already in the database), forgetting those
    /// that have expired anyway.
    pub fn revoke_token(&self, jti: String, exp: i64) {
        let now = Utc::now().timestamp();
        let mut revoked = write(&self.revoked_tokens);
        revoked.retain(|_, e| *e >= now);
        revoked.insert(jti, exp);
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

    /// The caller's device if its role may do `action` (the role table in
    /// `countertop_protocol::roles`): no token is `401`, another role `403`.
    pub fn require(&self, action: Action) -> Result<&DeviceRecord, AppError> {
        match &self.device {
            None => Err(AppError::unauthorized("this call needs a device token")),
            Some(d) if d.role.may(action) => Ok(d),
            Some(d) => Err(AppError::forbidden(format!(
                "a {} device may not {}",
                d.role.as_str(),
                action.describe()
            ))),
        }
    }
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
    // Read as the extractors read a query: keys percent-decoded. A token
    // given twice is refused rather than guessed at.
    let query = parts.uri.query().unwrap_or("");
    let mut tokens = form_urlencoded::parse(query.as_bytes())
        .filter(|(key, _)| key.eq_ignore_ascii_case("token"))
        .map(|(_, value)| value);
    let first = tokens.next();
    if tokens.next().is_some() {
        return Err(AppError::unauthorized(
            "the request has more than one token",
        ));
    }
    Ok(first.filter(|t| !t.is_empty()).map(|t| t.into_owned()))
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
    /// A pairing code for a new device of `role`, named `name`.
    pub async fn create_pairing_code(
        &self,
        role: Role,
        name: &str,
    ) -> Result<PairingCode, sqlx::Error> {
        create_pairing_code(self.pool(), &self.keys, role, name, self.clock.now()).await
    }

    /// Checks a token: signature, expiry and that its device is still paired.
    pub fn authenticate(&self, token: &str) -> Result<DeviceRecord, AppError> {
        let invalid = || AppError::unauthorized("the device token is invalid, expired or revoked");
        let claims = self.keys.verify(token).ok_or_else(invalid)?;
        if self.devices.is_token_revoked(&claims.jti) {
            return Err(invalid());
        }
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

/// Wrong pairing codes, per address over the last minute and hub-wide over
/// ten minutes.
///
/// Each attempt takes its place in both counts *before* its code is
/// checked, under one lock, so a concurrent burst cannot get more codes
/// checked than the budget; a right code gives its place back. When the
/// hub-wide budget is used up, every outstanding code is cancelled (see
/// `pair`), so a sweep from many addresses checks at most that many guesses
/// against any one code. The per-address table only holds addresses with a
/// counted attempt, which the hub-wide budget bounds.
#[derive(Default)]
pub struct PairingLimiter {
    state: Mutex<LimiterState>,
}

#[derive(Default)]
struct LimiterState {
    by_ip: HashMap<IpAddr, VecDeque<Instant>>,
    hub_wide: VecDeque<Instant>,
}

/// Wrong codes the whole hub takes within [`HUB_WIDE_WINDOW`].
pub const HUB_WIDE_PAIRING_FAILURES: usize = 30;
const HUB_WIDE_WINDOW: std::time::Duration = std::time::Duration::from_secs(600);
const PER_ADDRESS_WINDOW: std::time::Duration = std::time::Duration::from_secs(60);

/// Why an attempt may not be made.
#[derive(Debug, PartialEq, Eq)]
pub enum PairingBlocked {
    Address,
    HubWide,
}

/// One counted attempt.
#[derive(Debug)]
pub struct PairingTicket {
    ip: IpAddr,
    at: Instant,
    /// This attempt took the last place in the hub-wide budget.
    pub exhausts_budget: bool,
}

impl PairingLimiter {
    /// Counts an attempt from `ip`, or says why it may not be made.
    pub fn begin(&self, ip: IpAddr) -> Result<PairingTicket, PairingBlocked> {
        let now = Instant::now();
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        state.prune(now);
        if state.hub_wide.len() >= HUB_WIDE_PAIRING_FAILURES {
            return Err(PairingBlocked::HubWide);
        }
        let mine = state.by_ip.entry(ip).or_default();
        if mine.len() >= PAIRING_FAILURES_PER_MINUTE {
            return Err(PairingBlocked::Address);
        }
        mine.push_back(now);
        state.hub_wide.push_back(now);
        Ok(PairingTicket {
            ip,
            at: now,
            exhausts_budget: state.hub_wide.len() == HUB_WIDE_PAIRING_FAILURES,
        })
    }

    /// The attempt's code was right: it does not count.
    pub fn succeeded(&self, ticket: PairingTicket) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(mine) = state.by_ip.get_mut(&ticket.ip) {
            if let Some(i) = mine.iter().position(|t| *t == ticket.at) {
                mine.remove(i);
            }
            if mine.is_empty() {
                state.by_ip.remove(&ticket.ip);
            }
        }
        if let Some(i) = state.hub_wide.iter().position(|t| *t == ticket.at) {
            state.hub_wide.remove(i);
        }
    }

    /// Addresses with a counted attempt (for tests and metrics).
    pub fn addresses(&self) -> usize {
        let state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        state.by_ip.len()
    }
}

impl LimiterState {
    fn prune(&mut self, now: Instant) {
        while self
            .hub_wide
            .front()
            .is_some_and(|t| now.duration_since(*t) >= HUB_WIDE_WINDOW)
        {
            self.hub_wide.pop_front();
        }
        self.by_ip.retain(|_, times| {
            while times
                .front()
                .is_some_and(|t| now.duration_since(*t) >= PER_ADDRESS_WINDOW)
            {
                times.pop_front();
            }
            !times.is_empty()
        });
    }
}

/// Creates a six-digit, single-use pairing code valid for ten minutes. Works
/// from the command line too, while a server uses the same database.
pub async fn create_pairing_code(
    pool: &SqlitePool,
    keys: &Keys,
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
        .bind(keys.code_hash(&code))
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
    fn sixth_wrong_code_is_blocked_and_right_codes_do_not_count() {
        let limiter = PairingLimiter::default();
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        let right = limiter.begin(ip).unwrap();
        limiter.succeeded(right);
        for _ in 0..5 {
            limiter.begin(ip).unwrap();
        }
        assert_eq!(limiter.begin(ip).unwrap_err(), PairingBlocked::Address);
        assert!(limiter.begin("10.0.0.2".parse().unwrap()).is_ok());
    }

    #[test]
    fn the_hub_wide_budget_holds_across_addresses() {
        let limiter = PairingLimiter::default();
        let mut exhausted = 0;
        let mut blocked = 0;
        for i in 0..200u32 {
            let ip = IpAddr::from([10, 1, (i / 250) as u8, (i % 250) as u8]);
            match limiter.begin(ip) {
                Ok(t) => exhausted += usize::from(t.exhausts_budget),
                Err(PairingBlocked::HubWide) => blocked += 1,
                Err(PairingBlocked::Address) => unreachable!(),
            }
        }
        assert_eq!(exhausted, 1);
        assert_eq!(blocked, 200 - HUB_WIDE_PAIRING_FAILURES);
        assert_eq!(limiter.addresses(), HUB_WIDE_PAIRING_FAILURES);
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
