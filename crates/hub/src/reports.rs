//! The day's numbers (`GET /api/reports/daily`): one local day's orders,
//! revenue by pay type, cancellations, points, recalls and preparation
//! times, read in one transaction from tables nothing prunes.

use chrono::NaiveDate;
use countertop_protocol::{DailyReport, PrepSeconds, RevenueByPayType};

use crate::error::AppError;
use crate::input::Invalid;
use crate::store::{self, StoreError};
use crate::Hub;

/// Why a report could not be made.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ReportError {
    #[error(transparent)]
    Invalid(#[from] Invalid),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for ReportError {
    fn from(err: sqlx::Error) -> ReportError {
        ReportError::Store(err.into())
    }
}

impl From<ReportError> for AppError {
    fn from(err: ReportError) -> AppError {
        match err {
            ReportError::Invalid(e) => e.into(),
            ReportError::Store(e) => e.into(),
        }
    }
}

/// A date exactly as `YYYY-MM-DD` (chrono alone would take `2026-1-5`).
fn parse_date(text: &str) -> Result<NaiveDate, Invalid> {
    let bad = || Invalid("date must be a day as YYYY-MM-DD".into());
    let shaped = text.len() == 10
        && text.bytes().enumerate().all(|(i, b)| match i {
            4 | 7 => b == b'-',
            _ => b.is_ascii_digit(),
        });
    if !shaped {
        return Err(bad());
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| bad())
}

/// The `p` quantile (0 to 1) of `sorted`, interpolated between the nearest
/// two values; `sorted` must not be empty.
fn quantile(sorted: &[i64], p: f64) -> f64 {
    let rank = p * (sorted.len() - 1) as f64;
    let (below, above) = (rank.floor() as usize, rank.ceil() as usize);
    let (low, high) = (sorted[below] as f64, sorted[above] as f64);
    low + (high - low) * (rank - below as f64)
}

/// Median and 90th percentile of times in milliseconds, in seconds to the
/// millisecond; `None` for no times.
fn prep_seconds(mut millis: Vec<i64>) -> Option<PrepSeconds> {
    if millis.is_empty() {
        return None;
    }
    millis.sort_unstable();
    let seconds = |p| quantile(&millis, p).round() / 1000.0;
    Some(PrepSeconds {
        median: seconds(0.5),
        p90: seconds(0.9),
    })
}

/// The report of local day `date` (`YYYY-MM-DD`; today, by the hub's clock,
/// when absent or empty).
pub(crate) async fn daily(hub: &Hub, date: Option<&str>) -> Result<DailyReport, ReportError> {
    let date = match date.filter(|d| !d.is_empty()) {
        None => hub.clock.today(),
        Some(text) => parse_date(text)?,
    };
    // One read transaction: the sums and the times are of the same moment.
    let mut tx = hub.pool().begin().await?;
    let sums = store::reports::day_sums(&mut tx, date).await?;
    let millis = store::reports::prep_millis(&mut tx, date).await?;
    tx.commit().await?;
    let count = |n: i64| u64::try_from(n).unwrap_or(0);
    Ok(DailyReport {
        date: date.to_string(),
        orders: count(sums.orders),
        revenue_by_pay_type: RevenueByPayType {
            card: sums.card,
            cash: sums.cash,
            cell: sums.cell,
        },
        cancellations: count(sums.cancellations),
        points_used: sums.cell,
        points_charged: sums.points_charged,
        recalls: count(sums.recalls),
        prep_seconds: prep_seconds(millis),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_date_is_taken_only_as_yyyy_mm_dd() {
        assert_eq!(
            parse_date("2026-12-03").unwrap(),
            NaiveDate::from_ymd_opt(2026, 12, 3).unwrap()
        );
        for bad in [
            "2026-1-05",
            "2026-02-30",
            "26-12-03",
            "2026/12/03",
            "+2026-12-0",
            "2026-12-03T00",
            "today",
        ] {
            assert!(parse_date(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn quantiles_interpolate_between_the_nearest_two_times() {
        assert_eq!(prep_seconds(Vec::new()), None);
        let one = prep_seconds(vec![61_500]).unwrap();
        assert_eq!((one.median, one.p90), (61.5, 61.5));
        // 60, 120, 180, 240 s: the median halfway between 120 and 180, the
        // 90th percentile at 2.7 of 3 steps, 70% from 180 to 240.
        let four = prep_seconds(vec![240_000, 60_000, 180_000, 120_000]).unwrap();
        assert_eq!((four.median, four.p90), (150.0, 222.0));
    }
}
