//! Pairing codes: six digits, single use, stored as a keyed hash; and the
//! limiter that keeps wrong codes from being swept.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Instant;

use chrono::{DateTime, Duration, Utc};
use countertop_protocol::{Paired, PairingCode, Role};
use rand::Rng;

use super::{DeviceError, Keys};
use crate::store;
use crate::Hub;

/// Pairing codes are valid ten minutes.
pub const PAIRING_CODE_MINUTES: i64 = 10;
/// Wrong pairing codes one address may try within a minute before `429`.
const PAIRING_FAILURES_PER_MINUTE: usize = 5;

impl Hub {
    /// Pairs a new device with `code`, tried from `ip`: a wrong code counts
    /// against the limiter, a right one gives the device its token.
    pub(crate) async fn pair(&self, ip: IpAddr, code: &str) -> Result<Paired, DeviceError> {
        let ticket = self.pairing_attempt(ip).await?.map_err(|blocked| match blocked {
            PairingBlocked::Address => {
                DeviceError::RateLimited("too many wrong pairing codes; wait a minute")
            }
            PairingBlocked::HubWide => DeviceError::RateLimited(
                "too many wrong pairing codes were tried on this hub; pairing is paused for up to ten minutes and the open codes were cancelled",
            ),
        })?;
        let code = code.trim();
        if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(self.wrong_code(ticket).await);
        }
        let now = self.clock.now();
        let mut tx = self.pool().begin().await?;
        let row = store::devices::redeem_code(
            &mut tx,
            &self.keys.code_hash(code),
            now.timestamp_millis(),
            super::pake::CODE_ATTEMPTS,
        )
        .await?;
        let Some((role, name)) = row else {
            drop(tx);
            return Err(self.wrong_code(ticket).await);
        };
        self.pairing_succeeded(ticket).await;
        let role = Role::parse(&role)
            .ok_or_else(|| DeviceError::Internal("a pairing code has an unknown role".into()))?;
        self.admit_device(tx, role, name, ip).await
    }

    /// A wrong code: it stays counted, and the attempt that used up the
    /// hub-wide budget cancels every outstanding code.
    async fn wrong_code(&self, ticket: PairingTicket) -> DeviceError {
        self.metrics
            .pairing_failures
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if ticket.exhausts_budget {
            match store::devices::cancel_open_codes(self.pool()).await {
                Ok(cancelled) => tracing::warn!(
                    cancelled,
                    "too many wrong pairing codes on this hub: every open code was cancelled"
                ),
                Err(e) => tracing::error!(error = %e, "could not cancel the open pairing codes"),
            }
        }
        DeviceError::WrongCode
    }

    /// Counts a pairing attempt from `ip` before its code is checked, or
    /// says why it may not be made: in this hub's memory on SQLite; on
    /// PostgreSQL in the database, so that the budgets hold across every
    /// node (`store::attempts`).
    pub(crate) async fn pairing_attempt(
        &self,
        ip: IpAddr,
    ) -> Result<Result<PairingTicket, PairingBlocked>, sqlx::Error> {
        use store::attempts::{count, Budget, Counted};
        // This node's own count first, on PostgreSQL too: a flood that this
        // node alone has seen enough of costs the database nothing. A place
        // taken here stays taken when the database refuses the attempt.
        let local = match self.pairing.begin(ip) {
            Ok(local) => local,
            Err(blocked) => return Ok(Err(blocked)),
        };
        let Some(pg) = self.pool().pg() else {
            return Ok(Ok(local));
        };
        let mut conn = pg.acquire().await?;
        let counted = count(
            &mut conn,
            "pairing",
            &ip.to_string(),
            self.clock.now().timestamp_millis(),
            Budget {
                limit: PAIRING_FAILURES_PER_MINUTE as i64,
                window_ms: PER_ADDRESS_WINDOW.as_millis() as i64,
            },
            Some(Budget {
                limit: HUB_WIDE_PAIRING_FAILURES as i64,
                window_ms: HUB_WIDE_WINDOW.as_millis() as i64,
            }),
        )
        .await?;
        Ok(match counted {
            Counted::Yes { id, last_place } => Ok(PairingTicket {
                exhausts_budget: last_place,
                shared: Some(id),
                ..local
            }),
            Counted::AllUsed => Err(PairingBlocked::HubWide),
            Counted::KeyUsed { .. } => Err(PairingBlocked::Address),
        })
    }

    /// The attempt's code was right: it does not count.
    pub(crate) async fn pairing_succeeded(&self, ticket: PairingTicket) {
        let shared = ticket.shared;
        self.pairing.succeeded(ticket);
        let (Some(id), Some(pg)) = (shared, self.pool().pg()) else {
            return;
        };
        let forgotten = async {
            let mut conn = pg.acquire().await?;
            store::attempts::forget(&mut conn, id).await
        };
        if let Err(e) = forgotten.await {
            // It stays counted until it ages out of the window.
            tracing::warn!(error = %e, "giving back a right pairing attempt's place");
        }
    }

    /// A pairing code for a new device of `role`, named `name`.
    pub async fn create_pairing_code(
        &self,
        role: Role,
        name: &str,
    ) -> Result<PairingCode, sqlx::Error> {
        create_pairing_code(self.pool(), &self.keys, role, name, self.clock.now()).await
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
    /// On PostgreSQL, its row in `attempts`.
    shared: Option<i64>,
}

impl PairingTicket {
    /// On PostgreSQL, the row in `attempts` that counts it.
    pub(crate) fn shared_id(&self) -> Option<i64> {
        self.shared
    }

    /// The attempt counted by row `id` (PostgreSQL), as a finish on any
    /// node finds it.
    pub(crate) fn from_shared(ip: IpAddr, id: i64) -> PairingTicket {
        PairingTicket {
            ip,
            at: Instant::now(),
            exhausts_budget: false,
            shared: Some(id),
        }
    }
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
            shared: None,
        })
    }

    /// The attempt's code was right: it does not count. (A ticket made on
    /// another node, a typed-code pairing whose finish came here, gives
    /// back this address's newest place, if it has one here.)
    pub fn succeeded(&self, ticket: PairingTicket) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let mut at = Some(ticket.at);
        if let Some(mine) = state.by_ip.get_mut(&ticket.ip) {
            match mine.iter().position(|t| *t == ticket.at) {
                Some(i) => {
                    mine.remove(i);
                }
                None if ticket.shared.is_some() => at = mine.pop_back(),
                None => {}
            }
            if mine.is_empty() {
                state.by_ip.remove(&ticket.ip);
            }
        }
        if let Some(i) = state.hub_wide.iter().position(|t| Some(*t) == at) {
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

/// The name of a device of `role` when its pairing code gives none.
pub fn default_name(role: Role) -> String {
    match role {
        Role::Kiosk => "Kiosk",
        Role::Barista => "Barista display",
        Role::Display => "Signature display",
        Role::Manager => "Manager",
    }
    .to_owned()
}

/// Creates a six-digit, single-use pairing code valid for ten minutes. Works
/// from the command line too, while a server uses the same database.
pub async fn create_pairing_code(
    pool: &crate::store::Db,
    keys: &Keys,
    role: Role,
    name: &str,
    now: DateTime<Utc>,
) -> Result<PairingCode, sqlx::Error> {
    let expires_at = now + Duration::minutes(PAIRING_CODE_MINUTES);
    store::devices::delete_expired_codes(pool, now.timestamp_millis()).await?;
    loop {
        let code = format!("{:06}", rand::thread_rng().gen_range(0..1_000_000u32));
        let hash = keys.code_hash(&code);
        let stored = store::devices::insert_code(
            pool,
            &hash,
            &super::pake::seal(keys, &hash, &code),
            role.as_str(),
            name,
            expires_at.timestamp_millis(),
        )
        .await?;
        if stored {
            return Ok(PairingCode { code, expires_at });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
