//! Wall-clock time, injected so tests can move the hub's day and age its log.

use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, Duration, Local, NaiveDate, SubsecRound, Utc};

/// The hub's clock: the system time plus an offset that only tests change.
#[derive(Debug, Default)]
pub struct Clock {
    offset_ms: AtomicI64,
}

impl Clock {
    pub fn system() -> Clock {
        Clock::default()
    }

    /// Now, to the millisecond (timestamps on the wire carry milliseconds).
    pub fn now(&self) -> DateTime<Utc> {
        let offset = Duration::milliseconds(self.offset_ms.load(Ordering::Relaxed));
        (Utc::now() + offset).trunc_subsecs(3)
    }

    /// The hub's local day for an instant ("local day means the hub's time zone").
    pub fn local_date(&self, at: DateTime<Utc>) -> NaiveDate {
        at.with_timezone(&Local).date_naive()
    }

    pub fn today(&self) -> NaiveDate {
        self.local_date(self.now())
    }

    /// Moves this clock forward (tests only: a day passing, a log ageing).
    pub fn advance(&self, by: Duration) {
        self.offset_ms
            .fetch_add(by.num_milliseconds(), Ordering::Relaxed);
    }
}
