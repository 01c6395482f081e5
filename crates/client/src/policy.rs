//! The reconnect and heartbeat policies, as plain values so tests can check them.

use std::time::Duration;

/// How the connection retries after losing the hub.
///
/// After a loss it makes `quick_attempts` attempts, waiting `base` before the
/// first and doubling the wait each time up to `cap`, each wait moved by a
/// random factor within ±`jitter` (so that a room full of devices does not
/// reconnect in step after the hub restarts). After that it is *suspended*:
/// it tries every `suspended_interval` for as long as it takes, and at once
/// whenever the user asks.
#[derive(Debug, Clone, PartialEq)]
pub struct ReconnectPolicy {
    pub base: Duration,
    pub cap: Duration,
    pub quick_attempts: u32,
    /// 0.5 means ±50 %.
    pub jitter: f64,
    pub suspended_interval: Duration,
}

impl Default for ReconnectPolicy {
    fn default() -> Self {
        ReconnectPolicy {
            base: Duration::from_secs(1),
            cap: Duration::from_secs(16),
            quick_attempts: 5,
            jitter: 0.5,
            suspended_interval: Duration::from_secs(30),
        }
    }
}

impl ReconnectPolicy {
    /// The wait before quick attempt `attempt` (1-based), given `unit`, a
    /// random number in `[0, 1)`: 0 gives the shortest wait, 1 the longest.
    pub fn quick_delay(&self, attempt: u32, unit: f64) -> Duration {
        let doublings = attempt.saturating_sub(1).min(30);
        let nominal = self
            .base
            .saturating_mul(1u32 << doublings)
            .min(self.cap)
            .as_secs_f64();
        let factor = 1.0 - self.jitter + 2.0 * self.jitter * unit.clamp(0.0, 1.0);
        Duration::from_secs_f64(nominal * factor)
    }
}

/// How the connection notices a dead link that no error reports (a stalled
/// proxy, a pulled cable): it pings every `ping_every`, and a link that sends
/// no frame at all for `answer_within` after a ping is dead.
#[derive(Debug, Clone, PartialEq)]
pub struct Heartbeat {
    pub ping_every: Duration,
    pub answer_within: Duration,
    /// How long opening the socket and the first frames may take.
    pub connect_within: Duration,
}

impl Default for Heartbeat {
    fn default() -> Self {
        Heartbeat {
            ping_every: Duration::from_secs(15),
            answer_within: Duration::from_secs(10),
            connect_within: Duration::from_secs(10),
        }
    }
}
