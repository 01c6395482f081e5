//! The day's numbers (`GET /api/reports/daily`): one local day's orders,
//! revenue by pay type, cancellations, points, recalls and preparation
//! times, read in one transaction from tables nothing prunes. The same day
//! in full (`/api/reports/daily/detail`: lists, and times per item, station
//! and hour), and as CSV (`/api/reports/daily.csv`).

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Local, NaiveDate, Timelike, Utc};
use countertop_protocol::{
    Cancellation, DailyReport, DailyReportDetail, HourFigures, ItemFigures, OrderStatus,
    PrepSeconds, Recall, RevenueByPayType, StationFigures,
};

use crate::error::AppError;
use crate::input::Invalid;
use crate::store::reports::DayOrder;
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

/// The local day `date` names (`YYYY-MM-DD`; today, by the hub's clock,
/// when absent or empty).
fn day_of(hub: &Hub, date: Option<&str>) -> Result<NaiveDate, Invalid> {
    match date.filter(|d| !d.is_empty()) {
        None => Ok(hub.clock.today()),
        Some(text) => parse_date(text),
    }
}

/// The report of local day `date` (`YYYY-MM-DD`; today, by the hub's clock,
/// when absent or empty).
pub(crate) async fn daily(hub: &Hub, date: Option<&str>) -> Result<DailyReport, ReportError> {
    let date = day_of(hub, date)?;
    // One read transaction: the sums and the times are of the same moment.
    let mut tx = hub.pool().begin_snapshot().await?;
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

/// The report of local day `date` in full (`YYYY-MM-DD`; today when absent
/// or empty), read in one transaction.
pub(crate) async fn detail(
    hub: &Hub,
    date: Option<&str>,
) -> Result<DailyReportDetail, ReportError> {
    let date = day_of(hub, date)?;
    let mut tx = hub.pool().begin_snapshot().await?;
    let sums = store::reports::day_sums(&mut tx, date).await?;
    let orders = store::reports::day_orders(&mut tx, date).await?;
    let recalls = store::reports::day_recalls(&mut tx, date).await?;
    let stations = store::reports::menu_stations(&mut tx).await?;
    tx.commit().await?;
    Ok(assemble(date, &sums, &orders, recalls, &stations))
}

/// Preparation time of an order that reached `READY`, in milliseconds.
fn prep_of(order: &DayOrder) -> Option<i64> {
    // A device's clock may run ahead of the hub's.
    order
        .ready
        .map(|ready| (ready - order.placed).num_milliseconds().max(0))
}

/// Median and p90 as two optional numbers.
fn split(times: Vec<i64>) -> (Option<f64>, Option<f64>) {
    match prep_seconds(times) {
        Some(p) => (Some(p.median), Some(p.p90)),
        None => (None, None),
    }
}

#[derive(Default)]
struct ItemSum {
    name: String,
    station: String,
    count: u64,
    revenue: i64,
    times: Vec<i64>,
}

#[derive(Default)]
struct HourSum {
    orders: u64,
    revenue: i64,
    times: Vec<i64>,
}

/// The full report from what was read. Counts and revenue are of the
/// orders not cancelled; times are of every order that reached `READY`, as
/// in the daily report, one per order for each of its items, stations and
/// its hour.
fn assemble(
    date: NaiveDate,
    sums: &store::reports::DaySums,
    orders: &[DayOrder],
    recalls: Vec<store::reports::DayRecall>,
    stations: &HashMap<String, String>,
) -> DailyReportDetail {
    let station_of = |line: &countertop_protocol::OrderLine| -> String {
        line.station
            .clone()
            .or_else(|| stations.get(&line.menu_id).cloned())
            .unwrap_or_else(|| countertop_protocol::menu::DEFAULT_STATION.to_owned())
    };
    let mut items: BTreeMap<String, ItemSum> = BTreeMap::new();
    let mut by_station: BTreeMap<String, (u64, Vec<i64>)> = BTreeMap::new();
    let mut hours: BTreeMap<u8, HourSum> = BTreeMap::new();
    let mut all_times = Vec::new();
    let mut cancellations = Vec::new();
    for order in orders {
        let cancelled = order.status == OrderStatus::Cancelled;
        let prep = prep_of(order);
        let hour = order.placed.with_timezone(&Local).hour() as u8;
        let in_hour = hours.entry(hour).or_default();
        if cancelled {
            cancellations.push(Cancellation {
                order_id: order.id.clone(),
                daily_num: order.daily_num,
                reason: order.cancel_reason.clone().unwrap_or_default(),
                at: order.updated,
                amount: order.total,
            });
        } else {
            in_hour.orders += 1;
            in_hour.revenue += order.total;
        }
        if let Some(ms) = prep {
            in_hour.times.push(ms);
            all_times.push(ms);
        }
        let mut timed_items = HashSet::new();
        let mut timed_stations = HashSet::new();
        for line in &order.lines {
            let station = station_of(line);
            let item = items.entry(line.menu_id.clone()).or_default();
            // The newest order's name and station win.
            item.name = line.menu_name.clone();
            item.station = station.clone();
            let at_station = by_station.entry(station.clone()).or_default();
            if !cancelled {
                item.count += u64::from(line.quantity);
                item.revenue += line.total_price;
                at_station.0 += u64::from(line.quantity);
            }
            if let Some(ms) = prep {
                if timed_items.insert(line.menu_id.clone()) {
                    item.times.push(ms);
                }
                if timed_stations.insert(station) {
                    at_station.1.push(ms);
                }
            }
        }
    }
    cancellations.sort_by(|a, b| a.at.cmp(&b.at).then(a.daily_num.cmp(&b.daily_num)));

    let mut prep_by_item: Vec<ItemFigures> = items
        .into_iter()
        .filter(|(_, sum)| sum.count > 0 || !sum.times.is_empty())
        .map(|(menu_id, sum)| {
            let timed = sum.times.len() as u64;
            let (median, p90) = split(sum.times);
            ItemFigures {
                menu_id,
                name: sum.name,
                station: sum.station,
                count: sum.count,
                revenue: sum.revenue,
                timed,
                median,
                p90,
            }
        })
        .collect();
    prep_by_item.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.name.cmp(&b.name)));
    let prep_by_station = by_station
        .into_iter()
        .filter(|(_, (count, times))| *count > 0 || !times.is_empty())
        .map(|(station, (count, times))| {
            let timed = times.len() as u64;
            let (median, p90) = split(times);
            StationFigures {
                station,
                count,
                timed,
                median,
                p90,
            }
        })
        .collect();
    let prep_by_hour = hours
        .into_iter()
        .map(|(hour, sum)| {
            let count = sum.times.len() as u64;
            let (median, p90) = split(sum.times);
            HourFigures {
                hour,
                orders: sum.orders,
                revenue: sum.revenue,
                count,
                median,
                p90,
            }
        })
        .collect();
    DailyReportDetail {
        date: date.to_string(),
        orders: u64::try_from(sums.orders).unwrap_or(0),
        revenue_by_pay_type: RevenueByPayType {
            card: sums.card,
            cash: sums.cash,
            cell: sums.cell,
        },
        cancellations,
        points_used: sums.cell,
        points_charged: sums.points_charged,
        recalls: recalls
            .into_iter()
            .map(|r| Recall {
                order_id: r.order_id,
                daily_num: r.daily_num,
                from: r.from,
                to: r.to,
                at: r.at,
            })
            .collect(),
        prep_seconds: prep_seconds(all_times),
        prep_by_item,
        prep_by_station,
        prep_by_hour,
    }
}

/// One CSV field: quoted when it holds a comma, a quote or a line break;
/// a text a spreadsheet would take for a formula (`=`, `+`, `-`, `@`, a
/// tab or a carriage return first) is prefixed with `'`.
fn field(text: &str) -> String {
    let text = if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_owned()
    };
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}

/// A number as a CSV field (negative numbers are numbers, not formulas).
fn num(n: impl ToString) -> String {
    n.to_string()
}

fn opt(n: Option<f64>) -> String {
    n.map(num).unwrap_or_default()
}

/// A time in the hub's local zone, as spreadsheets read it.
fn local(at: DateTime<Utc>) -> String {
    at.with_timezone(&Local)
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

/// The full report as CSV, in sections a spreadsheet reads one under the
/// other: the summary, then per item, per station, per hour, the
/// cancellations and the recalls, each with its own header row. Amounts
/// are in the currency's minor units, times in seconds.
pub(crate) fn csv(report: &DailyReportDetail, currency: &str) -> String {
    let mut rows: Vec<Vec<String>> = Vec::new();
    let mut row = |cells: Vec<String>| rows.push(cells);
    let s = |t: &str| field(t);
    let prep = report.prep_seconds;
    row(vec![s("Countertop daily report"), s(&report.date)]);
    row(vec![s("currency (minor units)"), s(currency)]);
    row(vec![s("orders"), num(report.orders)]);
    row(vec![
        s("revenue CARD"),
        num(report.revenue_by_pay_type.card),
    ]);
    row(vec![
        s("revenue CASH"),
        num(report.revenue_by_pay_type.cash),
    ]);
    row(vec![
        s("revenue CELL"),
        num(report.revenue_by_pay_type.cell),
    ]);
    let total = report.revenue_by_pay_type.card
        + report.revenue_by_pay_type.cash
        + report.revenue_by_pay_type.cell;
    row(vec![s("revenue total"), num(total)]);
    row(vec![s("cancellations"), num(report.cancellations.len())]);
    row(vec![s("points used"), num(report.points_used)]);
    row(vec![s("points charged"), num(report.points_charged)]);
    row(vec![s("recalls"), num(report.recalls.len())]);
    row(vec![s("prep median (s)"), opt(prep.map(|p| p.median))]);
    row(vec![s("prep p90 (s)"), opt(prep.map(|p| p.p90))]);
    row(vec![]);
    row([
        "item",
        "menu id",
        "station",
        "sold",
        "revenue",
        "timed",
        "prep median (s)",
        "prep p90 (s)",
    ]
    .map(s)
    .to_vec());
    for item in &report.prep_by_item {
        row(vec![
            s(&item.name),
            s(&item.menu_id),
            s(&item.station),
            num(item.count),
            num(item.revenue),
            num(item.timed),
            opt(item.median),
            opt(item.p90),
        ]);
    }
    row(vec![]);
    row([
        "station",
        "sold",
        "timed",
        "prep median (s)",
        "prep p90 (s)",
    ]
    .map(s)
    .to_vec());
    for station in &report.prep_by_station {
        row(vec![
            s(&station.station),
            num(station.count),
            num(station.timed),
            opt(station.median),
            opt(station.p90),
        ]);
    }
    row(vec![]);
    row([
        "hour",
        "orders",
        "revenue",
        "timed",
        "prep median (s)",
        "prep p90 (s)",
    ]
    .map(s)
    .to_vec());
    for hour in &report.prep_by_hour {
        row(vec![
            s(&format!("{:02}:00", hour.hour)),
            num(hour.orders),
            num(hour.revenue),
            num(hour.count),
            opt(hour.median),
            opt(hour.p90),
        ]);
    }
    row(vec![]);
    row(["cancelled order", "order id", "at", "amount", "reason"]
        .map(s)
        .to_vec());
    for c in &report.cancellations {
        row(vec![
            num(c.daily_num),
            s(&c.order_id),
            s(&local(c.at)),
            num(c.amount),
            s(&c.reason),
        ]);
    }
    row(vec![]);
    row(["recalled order", "order id", "at", "from", "to"]
        .map(s)
        .to_vec());
    for r in &report.recalls {
        row(vec![
            r.daily_num.map(num).unwrap_or_default(),
            s(&r.order_id),
            s(&local(r.at)),
            s(r.from.as_str()),
            s(r.to.as_str()),
        ]);
    }
    // CRLF, as RFC 4180 writes it; a BOM so spreadsheets read UTF-8.
    let mut out = String::from("\u{feff}");
    for cells in rows {
        out.push_str(&cells.join(","));
        out.push_str("\r\n");
    }
    out
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

    #[test]
    fn a_csv_field_is_quoted_when_it_must_be_and_never_a_formula() {
        assert_eq!(field("Latte"), "Latte");
        assert_eq!(field("a, b"), "\"a, b\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(field("two\nlines"), "\"two\nlines\"");
        for formula in ["=1+1", "+1", "-1", "@SUM(A1)", "\tx"] {
            assert_eq!(field(formula), format!("'{formula}"));
        }
        assert_eq!(field("=A1,B1"), "\"'=A1,B1\"");
        // Numbers are written apart, as numbers.
        assert_eq!(num(-500), "-500");
    }
}
