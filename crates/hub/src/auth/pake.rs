//! Pairing by a typed code without trusting the certificate first: SPAKE2
//! over the six digits, with confirmations bound to the hub's certificate
//! fingerprint (docs/protocol.md, "Pairing by a typed code").
//!
//! Invariants:
//! - A start counts one attempt against every code it is offered, in the
//!   database, before the offers leave the hub: whoever started learns one
//!   guess per code, and no more than [`CODE_ATTEMPTS`] starts in all, from
//!   any address, are ever offered the same code without a pairing between.
//!   A start that pairs (its finish verified, its own code used) gives its
//!   attempt back to the other codes it was offered, in the transaction
//!   that uses its code: a right guess at one code says nothing of the
//!   others, and five devices pairing in turn leave the other codes alive.
//! - The hub's confirm covers its own fingerprint, and the device's confirm
//!   is checked against that same fingerprint, so a device behind a relay
//!   that shows another key finds no offer that verifies, and a device that
//!   ignores that cannot finish.
//! - A session is used once: a finish takes it out, right or wrong. On
//!   PostgreSQL sessions live in the database (`pake_sessions`, their keys
//!   sealed under the signing secret), so the finish may reach any node;
//!   taking one out is one `DELETE … RETURNING`.
//! - The code is stored sealed, not in clear: XOR a mask that only the
//!   signing secret gives (see [`seal`]).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use countertop_protocol::{Paired, PakeOffer, PakeOffers, Role};
use hmac::{Hmac, Mac};
use rand::seq::SliceRandom;
use sha2::Sha256;
use spake2::{Ed25519Group, Identity, Password, Spake2};

use super::pairing::{PairingBlocked, PairingTicket};
use super::{random_id, DeviceError, Keys};
use crate::store;
use crate::Hub;

/// A code offered to this many PAKE starts is offered no more, and `pair`
/// refuses it too.
pub const CODE_ATTEMPTS: i64 = 5;
/// A session lives this long after its start.
pub const SESSION_LIFETIME: Duration = Duration::from_secs(60);
/// Sessions under way at once, across every address.
const MAX_SESSIONS: usize = 32;
/// Offers in one start: the newest open code only. Each offer a device
/// tries is one guess at its code for whoever made the offers, so one offer
/// keeps a machine in the middle at one guess per attempt. An older open
/// code pairs by its pairing link (QR), or by typing once the newer ones
/// are used.
const MAX_OFFERS: i64 = 1;
/// The SPAKE2 identities of the two sides.
pub const DEVICE_IDENTITY: &[u8] = b"countertop device";
pub const HUB_IDENTITY: &[u8] = b"countertop hub";
/// The labels of the two confirmations.
pub const HUB_CONFIRM: &[u8] = b"countertop hub confirm";
pub const DEVICE_CONFIRM: &[u8] = b"countertop device confirm";
/// An Ed25519 SPAKE2 message: its side byte and a 32-byte point.
const MESSAGE_LEN: usize = 33;
/// An HMAC-SHA256.
const CONFIRM_LEN: usize = 32;

/// Why a PAKE start or finish was refused.
#[derive(Debug, thiserror::Error)]
pub enum PakeError {
    /// Too many attempts from this address or hub-wide, or too many
    /// sessions under way.
    #[error("{0}")]
    RateLimited(&'static str),
    /// A message or confirmation that is not what SPAKE2 sends.
    #[error("{0}")]
    Invalid(&'static str),
    /// No offer's key verifies the confirmation, or the session is unknown
    /// or over, or its code was used meanwhile.
    #[error("{0}")]
    Failed(&'static str),
    #[error(transparent)]
    Device(#[from] DeviceError),
    #[error(transparent)]
    Store(#[from] sqlx::Error),
}

/// One offered code: its hash (the row's key), the hub's message for it
/// and the key SPAKE2 agreed on with it.
struct Offered {
    hash: String,
    msg_b: Vec<u8>,
    key: Vec<u8>,
}

struct Session {
    started: Instant,
    msg_a: Vec<u8>,
    offers: Vec<Offered>,
    /// The start's place in the limiter, given back if it pairs.
    ticket: PairingTicket,
}

/// The sessions under way, in memory only: a restart ends them, and a
/// device starts again (its attempts stay counted with the codes).
#[derive(Default)]
pub struct PakeSessions {
    sessions: Mutex<HashMap<String, Session>>,
}

impl PakeSessions {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Session>> {
        let mut sessions = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        sessions.retain(|_, s| now.duration_since(s.started) < SESSION_LIFETIME);
        sessions
    }

    /// Sessions under way (for tests).
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Hub {
    /// Answers a device's SPAKE2 message `msg_a` from `ip` with one offer
    /// per open code, each counted as one attempt against its code.
    pub(crate) async fn pake_start(
        &self,
        ip: IpAddr,
        msg_a: &[u8],
    ) -> Result<PakeOffers, PakeError> {
        check_message(msg_a)?;
        if self.sessions_under_way().await? >= MAX_SESSIONS {
            return Err(PakeError::RateLimited(
                "too many pairings are under way; wait a minute",
            ));
        }
        let ticket = self.pairing_attempt(ip).await?.map_err(|blocked| match blocked {
            PairingBlocked::Address => {
                PakeError::RateLimited("too many pairing attempts; wait a minute")
            }
            PairingBlocked::HubWide => PakeError::RateLimited(
                "too many pairing attempts on this hub; pairing is paused for up to ten minutes and the open codes were cancelled",
            ),
        })?;
        if ticket.exhausts_budget {
            let cancelled = store::devices::cancel_open_codes(self.pool()).await?;
            tracing::warn!(
                cancelled,
                "too many pairing attempts on this hub: every open code was cancelled"
            );
        }
        let now_ms = self.clock.now().timestamp_millis();
        let mut tx = self.pool().begin().await?;
        let rows = store::devices::offer_codes(&mut tx, now_ms, CODE_ATTEMPTS, MAX_OFFERS).await?;
        tx.commit().await?;
        let fingerprint = self.fingerprint_bytes();
        let mut offers = Vec::with_capacity(rows.len());
        for (hash, sealed) in rows {
            let Some(code) = unseal(&self.keys, &hash, &sealed) else {
                tracing::warn!(
                    "a pairing code does not unseal (a new signing secret?): not offered"
                );
                continue;
            };
            let (state, msg_b) = Spake2::<Ed25519Group>::start_b(
                &Password::new(code.as_bytes()),
                &Identity::new(DEVICE_IDENTITY),
                &Identity::new(HUB_IDENTITY),
            );
            let key = state
                .finish(msg_a)
                .map_err(|_| PakeError::Invalid("msg is not a SPAKE2 message"))?;
            offers.push(Offered { hash, msg_b, key });
        }
        offers.shuffle(&mut rand::thread_rng());
        let answer = PakeOffers {
            session: random_id(24),
            offers: offers
                .iter()
                .map(|o| PakeOffer {
                    msg: BASE64.encode(&o.msg_b),
                    confirm: BASE64.encode(confirm(
                        &o.key,
                        HUB_CONFIRM,
                        &fingerprint,
                        msg_a,
                        &o.msg_b,
                    )),
                })
                .collect(),
        };
        if offers.is_empty() {
            // Nothing to finish: no session is kept (its finish fails as
            // an unknown one).
            return Ok(answer);
        }
        let session = Session {
            started: Instant::now(),
            msg_a: msg_a.to_vec(),
            offers,
            ticket,
        };
        if !self.keep_session(&answer.session, session).await? {
            return Err(PakeError::RateLimited(
                "too many pairings are under way; wait a minute",
            ));
        }
        Ok(answer)
    }

    /// Typed-code pairings under way: in this hub's memory, or across every
    /// node on PostgreSQL.
    async fn sessions_under_way(&self) -> Result<usize, sqlx::Error> {
        let Some(pg) = self.pool().pg() else {
            return Ok(self.pake.lock().len());
        };
        let since = self.clock.now().timestamp_millis() - SESSION_LIFETIME.as_millis() as i64;
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM pake_sessions WHERE started_ms > $1")
            .bind(since)
            .fetch_one(pg)
            .await?;
        Ok(n.max(0) as usize)
    }

    /// Keeps `session` under `id` until its finish, unless
    /// [`MAX_SESSIONS`] are under way (answers false then).
    async fn keep_session(&self, id: &str, session: Session) -> Result<bool, PakeError> {
        let Some(pg) = self.pool().pg() else {
            let mut sessions = self.pake.lock();
            if sessions.len() >= MAX_SESSIONS {
                return Ok(false);
            }
            sessions.insert(id.to_owned(), session);
            return Ok(true);
        };
        let now_ms = self.clock.now().timestamp_millis();
        let since = now_ms - SESSION_LIFETIME.as_millis() as i64;
        let offers: Vec<serde_json::Value> = session
            .offers
            .iter()
            .map(|o| {
                serde_json::json!({
                    "hash": o.hash,
                    "msgB": hex(&o.msg_b),
                    "key": hex(&seal_key(&self.keys, id, &o.hash, &o.key)),
                })
            })
            .collect();
        let mut tx = pg.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock(hashtext('pake_sessions'))")
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM pake_sessions WHERE started_ms <= $1")
            .bind(since)
            .execute(&mut *tx)
            .await?;
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM pake_sessions")
            .fetch_one(&mut *tx)
            .await?;
        if n as usize >= MAX_SESSIONS {
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO pake_sessions (id, started_ms, msg_a, offers, attempt) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(id)
        .bind(now_ms)
        .bind(&session.msg_a)
        .bind(serde_json::Value::Array(offers).to_string())
        .bind(session.ticket.shared_id())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Takes session `id` out, if it is under way: used once, right or
    /// wrong, on whichever node its finish reaches.
    async fn take_session(&self, id: &str, peer: IpAddr) -> Result<Option<Session>, sqlx::Error> {
        let Some(pg) = self.pool().pg() else {
            return Ok(self.pake.lock().remove(id));
        };
        let since = self.clock.now().timestamp_millis() - SESSION_LIFETIME.as_millis() as i64;
        let row: Option<(Vec<u8>, String, Option<i64>)> = sqlx::query_as(
            "DELETE FROM pake_sessions WHERE id = $1 AND started_ms > $2
             RETURNING msg_a, offers, attempt",
        )
        .bind(id)
        .bind(since)
        .fetch_optional(pg)
        .await?;
        let Some((msg_a, offers, attempt)) = row else {
            return Ok(None);
        };
        let offers: Vec<serde_json::Value> = serde_json::from_str(&offers).unwrap_or_default();
        let offers = offers
            .iter()
            .filter_map(|o| {
                let hash = o["hash"].as_str()?.to_owned();
                let msg_b = from_hex(o["msgB"].as_str()?)?;
                let sealed = from_hex(o["key"].as_str()?)?;
                let key = seal_key(&self.keys, id, &hash, &sealed);
                Some(Offered { hash, msg_b, key })
            })
            .collect();
        let ticket = match attempt {
            Some(attempt) => PairingTicket::from_shared(peer, attempt),
            // Counted nowhere (cannot happen on PostgreSQL): nothing to
            // give back.
            None => PairingTicket::from_shared(peer, -1),
        };
        Ok(Some(Session {
            started: Instant::now(),
            msg_a,
            offers,
            ticket,
        }))
    }

    /// Pairs the device whose `confirm` verifies under one of `session`'s
    /// keys, bound to this hub's own fingerprint; the session ends either way.
    pub(crate) async fn pake_finish(
        &self,
        peer: IpAddr,
        session: &str,
        device_confirm: &[u8],
    ) -> Result<Paired, PakeError> {
        if device_confirm.len() != CONFIRM_LEN {
            return Err(PakeError::Invalid("confirm is not an HMAC-SHA256"));
        }
        let Some(session) = self.take_session(session, peer).await? else {
            return Err(PakeError::Failed(
                "no such pairing is under way (it may have expired): start again",
            ));
        };
        let fingerprint = self.fingerprint_bytes();
        // Every offer is checked, each in constant time.
        let verified = session.offers.iter().fold(None, |found, offer| {
            let ok = confirm_mac(
                &offer.key,
                DEVICE_CONFIRM,
                &fingerprint,
                &session.msg_a,
                &offer.msg_b,
            )
            .verify_slice(device_confirm)
            .is_ok();
            found.or(ok.then_some(offer))
        });
        let failed = || {
            self.metrics
                .pairing_failures
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            PakeError::Failed(
                "the pairing did not confirm: a wrong code, or the device does not see this hub's certificate",
            )
        };
        let Some(offer) = verified else {
            return Err(failed());
        };
        let now = self.clock.now();
        let mut tx = self.pool().begin().await?;
        let Some((role, name)) =
            store::devices::redeem_offered_code(&mut tx, &offer.hash, now.timestamp_millis())
                .await?
        else {
            return Err(PakeError::Failed(
                "this pairing code was used or has expired meanwhile",
            ));
        };
        let role = Role::parse(&role)
            .ok_or_else(|| DeviceError::Internal("a pairing code has an unknown role".into()))?;
        // The start that paired was one guess at each of the other codes
        // too, but a right one: their attempts are given back, so that
        // devices pairing one after another do not use up the codes still
        // open.
        let others: Vec<&str> = session
            .offers
            .iter()
            .filter(|o| o.hash != offer.hash)
            .map(|o| o.hash.as_str())
            .collect();
        store::devices::give_back_attempts(&mut tx, &others).await?;
        self.pairing_succeeded(session.ticket).await;
        // Stored, its token issued and recorded, and told to the managers,
        // as every way of pairing is.
        Ok(self.admit_device(tx, role, name, peer).await?)
    }

    /// The 32 bytes of the hub's fingerprint (SHA-256 of its certificate's
    /// public key).
    fn fingerprint_bytes(&self) -> Vec<u8> {
        from_hex(&self.tls.fingerprint).unwrap_or_default()
    }
}

/// A device's SPAKE2 message: side `A` and one point.
fn check_message(msg: &[u8]) -> Result<(), PakeError> {
    if msg.len() != MESSAGE_LEN || msg[0] != b'A' {
        return Err(PakeError::Invalid(
            "msg is not a SPAKE2 message of side A (33 bytes)",
        ));
    }
    // A point that does not decode fails here, before any code is counted.
    let (probe, _) = Spake2::<Ed25519Group>::start_b(
        &Password::new(b"000000"),
        &Identity::new(DEVICE_IDENTITY),
        &Identity::new(HUB_IDENTITY),
    );
    probe
        .finish(msg)
        .map(drop)
        .map_err(|_| PakeError::Invalid("msg is not a SPAKE2 message"))
}

fn confirm_mac(
    key: &[u8],
    label: &[u8],
    fingerprint: &[u8],
    msg_a: &[u8],
    msg_b: &[u8],
) -> Hmac<Sha256> {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes any key");
    mac.update(label);
    mac.update(fingerprint);
    mac.update(msg_a);
    mac.update(msg_b);
    mac
}

/// `HMAC-SHA256(key, label || fingerprint || msg_a || msg_b)`.
pub fn confirm(
    key: &[u8],
    label: &[u8],
    fingerprint: &[u8],
    msg_a: &[u8],
    msg_b: &[u8],
) -> Vec<u8> {
    confirm_mac(key, label, fingerprint, msg_a, msg_b)
        .finalize()
        .into_bytes()
        .to_vec()
}

/// The mask a code is sealed with: the first six bytes of the keyed hash
/// (HMAC under the signing secret) of a text no code can be.
fn mask(keys: &Keys, hash: &str) -> Vec<u8> {
    from_hex(&keys.code_hash(&format!("pake-seal:{hash}")))
        .unwrap_or_default()
        .into_iter()
        .take(6)
        .collect()
}

/// A session's agreed key sealed for the database (or read back: XOR is
/// its own inverse) under a mask that only the signing secret gives, one
/// per session and code.
fn seal_key(keys: &Keys, session: &str, hash: &str, key: &[u8]) -> Vec<u8> {
    let mask =
        from_hex(&keys.code_hash(&format!("pake-session:{session}:{hash}"))).unwrap_or_default();
    key.iter()
        .zip(mask.iter().cycle())
        .map(|(k, m)| k ^ m)
        .collect()
}

/// A code as it is stored for PAKE (hex), under its `hash`: as safe in a
/// copy of the database as the hash is, and read back only with the secret.
pub(crate) fn seal(keys: &Keys, hash: &str, code: &str) -> String {
    let sealed: Vec<u8> = code
        .bytes()
        .zip(mask(keys, hash))
        .map(|(c, m)| c ^ m)
        .collect();
    hex(&sealed)
}

/// The code sealed under `hash`, if it reads back as the code of that hash.
fn unseal(keys: &Keys, hash: &str, sealed: &str) -> Option<String> {
    let bytes = from_hex(sealed)?;
    let code: Vec<u8> = bytes
        .iter()
        .zip(mask(keys, hash))
        .map(|(c, m)| c ^ m)
        .collect();
    let code = String::from_utf8(code).ok()?;
    (code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()) && keys.code_hash(&code) == hash)
        .then_some(code)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn from_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_code_reads_back_only_with_its_secret_and_hash() {
        let keys = Keys::from_secret(&[7; 32]);
        let hash = keys.code_hash("042917");
        let sealed = seal(&keys, &hash, "042917");
        assert_eq!(sealed.len(), 12);
        assert!(!sealed.contains("042917"));
        assert_eq!(unseal(&keys, &hash, &sealed).as_deref(), Some("042917"));
        let other = Keys::from_secret(&[8; 32]);
        assert_eq!(unseal(&other, &hash, &sealed), None);
        assert_eq!(unseal(&keys, &keys.code_hash("042918"), &sealed), None);
        assert_eq!(unseal(&keys, &hash, "zz"), None);
    }

    #[test]
    fn only_a_side_a_point_is_a_start() {
        let (_, msg_a) = Spake2::<Ed25519Group>::start_a(
            &Password::new(b"123456"),
            &Identity::new(DEVICE_IDENTITY),
            &Identity::new(HUB_IDENTITY),
        );
        assert!(check_message(&msg_a).is_ok());
        let mut side_b = msg_a.clone();
        side_b[0] = b'B';
        assert!(check_message(&side_b).is_err());
        assert!(check_message(&msg_a[..32]).is_err());
    }
}
