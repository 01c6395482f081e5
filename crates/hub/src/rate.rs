//! The message rate limit of a client connection, one rule for `/ws` and
//! Socket.IO: 20 messages a second sustained, bursts of 40, and three
//! seconds of flooding close the connection.

use std::time::Duration;

use tokio::time::Instant;

const RATE_PER_SEC: f64 = 20.0;
const RATE_BURST: f64 = 40.0;
const FLOOD_CLOSE_AFTER: Duration = Duration::from_secs(3);
/// A pause this long in refusals ends a flood.
const FLOOD_QUIET: Duration = Duration::from_secs(1);

pub struct RateLimit {
    tokens: f64,
    refilled: Instant,
    flood_since: Option<Instant>,
    last_refusal: Option<Instant>,
}

pub enum Verdict {
    Accept,
    Refuse,
    Close,
}

impl RateLimit {
    pub fn new(now: Instant) -> RateLimit {
        RateLimit {
            tokens: RATE_BURST,
            refilled: now,
            flood_since: None,
            last_refusal: None,
        }
    }

    pub fn check(&mut self, now: Instant) -> Verdict {
        let elapsed = now.duration_since(self.refilled).as_secs_f64();
        self.tokens = (self.tokens + elapsed * RATE_PER_SEC).min(RATE_BURST);
        self.refilled = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            if self
                .last_refusal
                .is_some_and(|t| now.duration_since(t) > FLOOD_QUIET)
            {
                self.flood_since = None;
            }
            return Verdict::Accept;
        }
        self.last_refusal = Some(now);
        let since = *self.flood_since.get_or_insert(now);
        if now.duration_since(since) >= FLOOD_CLOSE_AFTER {
            Verdict::Close
        } else {
            Verdict::Refuse
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_burst_of_forty_passes_and_a_sustained_flood_closes_after_three_seconds() {
        let start = Instant::now();
        let mut limit = RateLimit::new(start);
        for _ in 0..40 {
            assert!(matches!(limit.check(Instant::now()), Verdict::Accept));
        }
        assert!(matches!(limit.check(Instant::now()), Verdict::Refuse));
        // 100 messages a second: some pass as tokens refill, the rest are
        // refused, and after three seconds the connection is closed.
        let mut closed_at = None;
        for i in 0..400 {
            tokio::time::advance(Duration::from_millis(10)).await;
            if matches!(limit.check(Instant::now()), Verdict::Close) {
                closed_at = Some(i);
                break;
            }
        }
        let closed_at = closed_at.expect("a sustained flood is closed");
        assert!(
            (295..=310).contains(&closed_at),
            "closed after {closed_at} ticks"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn twenty_a_second_is_never_refused() {
        let mut limit = RateLimit::new(Instant::now());
        for _ in 0..200 {
            tokio::time::advance(Duration::from_millis(50)).await;
            assert!(matches!(limit.check(Instant::now()), Verdict::Accept));
        }
    }
}
