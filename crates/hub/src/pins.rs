//! Cell PINs: a team's points are spent at a kiosk only with its PIN.
//!
//! A PIN is 4 to 8 digits, stored as an argon2id hash (PHC string, so its
//! parameters travel with it) and never in clear: not in the database, an
//! event, a log line or an error message. Hashing and checking take tens of
//! milliseconds on purpose, so they run on the blocking pool and never
//! while the event log's writer is held.
//!
//! Wrong PINs are limited per cell on the hub's clock: five within ten
//! minutes, and every attempt on that cell is refused (`429`, with
//! `Retry-After`) until the oldest of them is ten minutes old. Like the
//! pairing limiter, an attempt takes its place *before* its PIN is checked,
//! under one lock, so a burst of concurrent guesses cannot get more checked
//! than the budget; a right PIN gives its place back.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use axum::http::StatusCode;
use chrono::{DateTime, Duration, Utc};
use countertop_protocol::{Cell, CellPin, ErrorCode};

use crate::error::AppError;
use crate::store;
use crate::Hub;

/// Wrong PINs one cell takes within [`WINDOW`] before it is locked.
pub(crate) const WRONG_PINS: usize = 5;
/// How long a wrong PIN counts.
const WINDOW: Duration = Duration::minutes(10);

/// Why a PIN was refused, set or not checked.
#[derive(Debug, thiserror::Error)]
pub(crate) enum PinError {
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    NotFound(String),
    /// The cell has no PIN, so a kiosk may not spend its points.
    #[error("this team has no PIN yet; ask the staff")]
    NoPin,
    /// A kiosk paid with a cell and sent no PIN.
    #[error("enter the team's PIN")]
    Missing,
    #[error("wrong PIN")]
    Wrong,
    /// Too many wrong PINs on this cell: wait this many seconds.
    #[error("too many wrong PINs for this team; try again in {} minutes", .0.div_ceil(60))]
    Locked(u64),
    #[error("{0}")]
    Internal(String),
    #[error(transparent)]
    Store(#[from] sqlx::Error),
}

impl From<PinError> for AppError {
    fn from(err: PinError) -> AppError {
        let message = err.to_string();
        match err {
            PinError::Invalid(message) => AppError::validation(message),
            PinError::NotFound(message) => AppError::not_found(message),
            PinError::NoPin | PinError::Missing | PinError::Wrong => {
                AppError::new(StatusCode::FORBIDDEN, ErrorCode::WrongPin, message)
            }
            PinError::Locked(seconds) => AppError::rate_limited(message).retry_after(seconds),
            PinError::Internal(message) => AppError::internal(message),
            PinError::Store(e) => e.into(),
        }
    }
}

/// A PIN as the manager sets it and a kiosk sends it: 4 to 8 digits.
pub(crate) fn well_formed(pin: &str) -> Result<(), PinError> {
    if countertop_protocol::CellPin::is_well_formed(pin) {
        Ok(())
    } else {
        Err(PinError::Invalid("a PIN is 4 to 8 digits".into()))
    }
}

/// The argon2id hash of a well-formed `pin`, made on the blocking pool.
pub(crate) async fn hash(pin: &str) -> Result<String, PinError> {
    well_formed(pin)?;
    let pin = pin.to_owned();
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::encode_b64(&rand::random::<[u8; 16]>())
            .map_err(|e| PinError::Internal(format!("could not salt the PIN: {e}")))?;
        Argon2::default()
            .hash_password(pin.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| PinError::Internal(format!("could not hash the PIN: {e}")))
    })
    .await
    .map_err(|_| PinError::Internal("the PIN could not be hashed".into()))?
}

/// Whether `pin` is the one `stored` is the hash of, checked on the
/// blocking pool with the parameters the hash carries.
pub(crate) async fn matches(pin: &str, stored: String) -> Result<bool, PinError> {
    let pin = pin.to_owned();
    tokio::task::spawn_blocking(move || {
        let parsed = PasswordHash::new(&stored)
            .map_err(|e| PinError::Internal(format!("a stored PIN hash is unreadable: {e}")))?;
        Ok(Argon2::default()
            .verify_password(pin.as_bytes(), &parsed)
            .is_ok())
    })
    .await
    .map_err(|_| PinError::Internal("the PIN could not be checked".into()))?
}

/// Checks `pin` against cell `cell_id`'s, counting a wrong one. `Ok(None)`:
/// there is no such cell (the caller says so in its own words).
async fn check(hub: &Hub, cell_id: &str, pin: Option<&str>) -> Result<Option<()>, PinError> {
    let stored = {
        let mut conn = hub.pool().acquire().await?;
        store::cells::pin_hash(&mut conn, cell_id).await?
    };
    let Some(stored) = stored else {
        return Ok(None);
    };
    let stored = stored.ok_or(PinError::NoPin)?;
    let pin = pin.ok_or(PinError::Missing)?;
    well_formed(pin)?;
    let ticket = begin(hub, cell_id).await?;
    if matches(pin, stored).await? {
        succeeded(hub, ticket).await;
        Ok(Some(()))
    } else {
        tracing::warn!(cell = cell_id, "a wrong cell PIN");
        Err(PinError::Wrong)
    }
}

/// `POST /api/cells/{id}/unlock`: the cell, with its balance, for its PIN.
pub(crate) async fn unlock(hub: &Hub, cell_id: &str, pin: CellPin) -> Result<Cell, PinError> {
    let not_found = || PinError::NotFound(format!("no cell \"{cell_id}\""));
    check(hub, cell_id, Some(&pin.pin))
        .await?
        .ok_or_else(not_found)?;
    let mut conn = hub.pool().acquire().await?;
    store::cells::load_cell(&mut conn, cell_id)
        .await?
        .ok_or_else(not_found)
}

/// The PIN check of an order paid with cell `cell_id` at a kiosk, made
/// before the order's transaction. An unknown cell passes: the order's own
/// checks refuse it.
pub(crate) async fn check_order(
    hub: &Hub,
    cell_id: &str,
    pin: Option<&str>,
) -> Result<(), PinError> {
    check(hub, cell_id, pin).await.map(|_| ())
}

/// Sets (or replaces) cell `cell_id`'s PIN. Its count of wrong PINs starts
/// again, since they were guesses at the old one.
pub(crate) async fn set(hub: &Hub, cell_id: &str, pin: CellPin) -> Result<Cell, PinError> {
    let hashed = hash(&pin.pin).await?;
    store_pin(hub, cell_id, Some(&hashed)).await
}

/// Removes cell `cell_id`'s PIN: a kiosk can no longer pay with it.
pub(crate) async fn remove(hub: &Hub, cell_id: &str) -> Result<Cell, PinError> {
    store_pin(hub, cell_id, None).await
}

async fn store_pin(hub: &Hub, cell_id: &str, hashed: Option<&str>) -> Result<Cell, PinError> {
    let mut conn = hub.pool().acquire().await?;
    if !store::cells::set_pin_hash(&mut conn, cell_id, hashed).await? {
        return Err(PinError::NotFound(format!("no cell \"{cell_id}\"")));
    }
    forget(hub, cell_id).await;
    tracing::info!(
        cell = cell_id,
        has_pin = hashed.is_some(),
        "a cell's PIN changed"
    );
    store::cells::load_cell(&mut conn, cell_id)
        .await?
        .ok_or_else(|| PinError::NotFound(format!("no cell \"{cell_id}\"")))
}

/// Counts an attempt on `cell_id`, or says how long until the cell takes
/// one again: in this hub's memory on SQLite; on PostgreSQL in the
/// database, so that the budget holds across every node.
async fn begin(hub: &Hub, cell_id: &str) -> Result<PinTicket, PinError> {
    begin_in(hub, &hub.pins, "pin", cell_id).await
}

/// Counts an attempt of `kind` on `key` against the budget of wrong PINs
/// ([`WRONG_PINS`] within ten minutes): in `limiter` on SQLite, in the
/// `attempts` table on PostgreSQL.
pub(crate) async fn begin_in(
    hub: &Hub,
    limiter: &PinLimiter,
    kind: &str,
    cell_id: &str,
) -> Result<PinTicket, PinError> {
    use store::attempts::{count, Budget, Counted};
    let now = hub.clock.now();
    let Some(pg) = hub.pool().pg() else {
        return limiter.begin(cell_id, now);
    };
    let mut conn = pg.acquire().await?;
    let budget = Budget {
        limit: WRONG_PINS as i64,
        window_ms: WINDOW.num_milliseconds(),
    };
    let now_ms = now.timestamp_millis();
    match count(&mut conn, kind, cell_id, now_ms, budget, None).await? {
        Counted::Yes { id, .. } => Ok(PinTicket {
            cell_id: cell_id.to_owned(),
            at: now,
            shared: Some(id),
        }),
        Counted::KeyUsed { free_at_ms } => {
            let ms = (free_at_ms - now_ms).max(0) as u64;
            Err(PinError::Locked(ms.div_ceil(1000).max(1)))
        }
        Counted::AllUsed => Err(PinError::Locked(1)),
    }
}

/// The attempt's PIN was right: it does not count.
async fn succeeded(hub: &Hub, ticket: PinTicket) {
    succeeded_in(hub, &hub.pins, ticket).await
}

/// The attempt's PIN was right: it does not count (in `limiter`, or the
/// `attempts` table).
pub(crate) async fn succeeded_in(hub: &Hub, limiter: &PinLimiter, ticket: PinTicket) {
    let (Some(id), Some(pg)) = (ticket.shared, hub.pool().pg()) else {
        limiter.succeeded(ticket);
        return;
    };
    let forgotten = async {
        let mut conn = pg.acquire().await?;
        store::attempts::forget(&mut conn, id).await
    };
    if let Err(e) = forgotten.await {
        tracing::warn!(error = %e, "giving back a right PIN attempt's place");
    }
}

/// Forgets the wrong PINs of `cell_id` (its PIN changed).
async fn forget(hub: &Hub, cell_id: &str) {
    forget_in(hub, &hub.pins, "pin", cell_id).await
}

/// Forgets the wrong PINs of `kind` on `key` (its PIN changed).
pub(crate) async fn forget_in(hub: &Hub, limiter: &PinLimiter, kind: &str, cell_id: &str) {
    let Some(pg) = hub.pool().pg() else {
        limiter.forget(cell_id);
        return;
    };
    let forgotten = async {
        let mut conn = pg.acquire().await?;
        store::attempts::forget_key(&mut conn, kind, cell_id).await
    };
    if let Err(e) = forgotten.await {
        tracing::warn!(error = %e, "forgetting a cell's wrong PINs");
    }
}

/// Wrong PINs per cell over the last [`WINDOW`] of the hub's clock. The
/// table holds only cells that exist (callers look the cell up first) and
/// were tried within the window.
#[derive(Default)]
pub struct PinLimiter {
    wrong: Mutex<HashMap<String, VecDeque<DateTime<Utc>>>>,
}

/// One counted attempt on a cell.
#[derive(Debug)]
pub(crate) struct PinTicket {
    cell_id: String,
    at: DateTime<Utc>,
    /// On PostgreSQL, its row in `attempts`.
    shared: Option<i64>,
}

impl PinLimiter {
    /// Counts an attempt on `cell_id` at `now`, or says how many seconds
    /// until the cell takes one again.
    pub(crate) fn begin(&self, cell_id: &str, now: DateTime<Utc>) -> Result<PinTicket, PinError> {
        let mut wrong = self.wrong.lock().unwrap_or_else(|p| p.into_inner());
        wrong.retain(|_, times| {
            while times.front().is_some_and(|t| now - *t >= WINDOW) {
                times.pop_front();
            }
            !times.is_empty()
        });
        let times = wrong.entry(cell_id.to_owned()).or_default();
        if times.len() >= WRONG_PINS {
            let free_at = times[times.len() - WRONG_PINS] + WINDOW;
            let seconds = (free_at - now).num_milliseconds().max(0) as u64;
            return Err(PinError::Locked(seconds.div_ceil(1000).max(1)));
        }
        times.push_back(now);
        Ok(PinTicket {
            cell_id: cell_id.to_owned(),
            at: now,
            shared: None,
        })
    }

    /// The attempt's PIN was right: it does not count.
    pub(crate) fn succeeded(&self, ticket: PinTicket) {
        let mut wrong = self.wrong.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(times) = wrong.get_mut(&ticket.cell_id) {
            if let Some(i) = times.iter().rposition(|t| *t == ticket.at) {
                times.remove(i);
            }
            if times.is_empty() {
                wrong.remove(&ticket.cell_id);
            }
        }
    }

    /// Forgets the wrong PINs of `cell_id` (its PIN changed).
    pub(crate) fn forget(&self, cell_id: &str) {
        let mut wrong = self.wrong.lock().unwrap_or_else(|p| p.into_inner());
        wrong.remove(cell_id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sixth_attempt_within_ten_minutes_waits_for_the_oldest_to_age() {
        let limiter = PinLimiter::default();
        let t0 = Utc::now();
        let right = limiter.begin("cell-a", t0).unwrap();
        limiter.succeeded(right);
        for minute in 0..5 {
            limiter
                .begin("cell-a", t0 + Duration::minutes(minute))
                .unwrap();
        }
        let at = t0 + Duration::minutes(5);
        match limiter.begin("cell-a", at) {
            Err(PinError::Locked(seconds)) => assert_eq!(seconds, 5 * 60),
            other => panic!("locked, not {other:?}"),
        }
        assert!(limiter.begin("cell-b", at).is_ok(), "per cell");
        // The oldest wrong PIN ages out: one more attempt.
        assert!(limiter.begin("cell-a", t0 + WINDOW).is_ok());
        assert!(limiter.begin("cell-a", t0 + WINDOW).is_err());
        limiter.forget("cell-a");
        assert!(limiter.begin("cell-a", t0 + WINDOW).is_ok());
    }

    #[test]
    fn a_pin_is_four_to_eight_digits() {
        for good in ["1234", "12345678", "0000"] {
            assert!(well_formed(good).is_ok(), "{good}");
        }
        for bad in ["123", "123456789", "12a4", " 1234", "１２３４", ""] {
            assert!(well_formed(bad).is_err(), "{bad:?}");
        }
    }
}
