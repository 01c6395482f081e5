//! The report screen's views: one day's numbers in full, a cell's history,
//! where a report's CSV was saved. Converted from the protocol's types.

use countertop_protocol::{BalanceChangeType, CellLedgerEntry, DailyReportDetail};
use serde::Serialize;
use specta::Type;

/// One local day's numbers (`daily_report`). Amounts in minor units,
/// times in seconds (`null` when nothing was timed).
#[derive(Debug, Clone, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct ReportView {
    /// `YYYY-MM-DD`.
    pub date: String,
    pub orders: f64,
    pub revenue_card: f64,
    pub revenue_cash: f64,
    pub revenue_cell: f64,
    pub revenue_total: f64,
    pub points_used: f64,
    pub points_charged: f64,
    pub prep_median: Option<f64>,
    pub prep_p90: Option<f64>,
    pub cancellations: Vec<CancellationRow>,
    pub recalls: Vec<RecallRow>,
    pub items: Vec<ItemRow>,
    pub stations: Vec<StationRow>,
    pub hours: Vec<HourRow>,
}

#[derive(Debug, Clone, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct CancellationRow {
    pub order_id: String,
    pub daily_num: u32,
    pub reason: String,
    pub at: String,
    pub amount: f64,
}

#[derive(Debug, Clone, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct RecallRow {
    pub order_id: String,
    pub daily_num: Option<u32>,
    pub from: String,
    pub to: String,
    pub at: String,
}

#[derive(Debug, Clone, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct ItemRow {
    pub menu_id: String,
    pub name: String,
    pub station: String,
    pub count: f64,
    pub revenue: f64,
    pub median: Option<f64>,
    pub p90: Option<f64>,
}

#[derive(Debug, Clone, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct StationRow {
    pub station: String,
    pub count: f64,
    pub median: Option<f64>,
    pub p90: Option<f64>,
}

#[derive(Debug, Clone, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct HourRow {
    /// 0 to 23, the hub's local time.
    pub hour: u32,
    pub orders: f64,
    pub revenue: f64,
    /// Orders timed.
    pub count: f64,
    pub median: Option<f64>,
    pub p90: Option<f64>,
}

impl From<DailyReportDetail> for ReportView {
    fn from(r: DailyReportDetail) -> ReportView {
        let pay = r.revenue_by_pay_type;
        ReportView {
            date: r.date,
            orders: r.orders as f64,
            revenue_card: pay.card as f64,
            revenue_cash: pay.cash as f64,
            revenue_cell: pay.cell as f64,
            revenue_total: (pay.card + pay.cash + pay.cell) as f64,
            points_used: r.points_used as f64,
            points_charged: r.points_charged as f64,
            prep_median: r.prep_seconds.map(|p| p.median),
            prep_p90: r.prep_seconds.map(|p| p.p90),
            cancellations: r
                .cancellations
                .into_iter()
                .map(|c| CancellationRow {
                    order_id: c.order_id,
                    daily_num: c.daily_num,
                    reason: c.reason,
                    at: c.at.to_rfc3339(),
                    amount: c.amount as f64,
                })
                .collect(),
            recalls: r
                .recalls
                .into_iter()
                .map(|c| RecallRow {
                    order_id: c.order_id,
                    daily_num: c.daily_num,
                    from: c.from.as_str().to_owned(),
                    to: c.to.as_str().to_owned(),
                    at: c.at.to_rfc3339(),
                })
                .collect(),
            items: r
                .prep_by_item
                .into_iter()
                .map(|i| ItemRow {
                    menu_id: i.menu_id,
                    name: i.name,
                    station: i.station,
                    count: i.count as f64,
                    revenue: i.revenue as f64,
                    median: i.median,
                    p90: i.p90,
                })
                .collect(),
            stations: r
                .prep_by_station
                .into_iter()
                .map(|s| StationRow {
                    station: s.station,
                    count: s.count as f64,
                    median: s.median,
                    p90: s.p90,
                })
                .collect(),
            hours: r
                .prep_by_hour
                .into_iter()
                .map(|h| HourRow {
                    hour: u32::from(h.hour),
                    orders: h.orders as f64,
                    revenue: h.revenue as f64,
                    count: h.count as f64,
                    median: h.median,
                    p90: h.p90,
                })
                .collect(),
        }
    }
}

/// One change of a cell's balance (`cell_history`), newest first.
#[derive(Debug, Clone, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct CellHistoryEntry {
    pub id: f64,
    /// `CHARGE`, `ORDER`, `REFUND` or `CORRECTION`.
    pub kind: String,
    /// Signed, in points.
    pub amount: f64,
    pub balance_after: f64,
    pub reason: Option<String>,
    pub order_id: Option<String>,
    pub daily_num: Option<u32>,
    pub at: String,
}

impl From<CellLedgerEntry> for CellHistoryEntry {
    fn from(e: CellLedgerEntry) -> CellHistoryEntry {
        CellHistoryEntry {
            id: e.id as f64,
            kind: match e.kind {
                BalanceChangeType::Charge => "CHARGE",
                BalanceChangeType::Order => "ORDER",
                BalanceChangeType::Refund => "REFUND",
                BalanceChangeType::Correction => "CORRECTION",
            }
            .to_owned(),
            amount: e.amount as f64,
            balance_after: e.balance_after as f64,
            reason: e.reason,
            order_id: e.order_id,
            daily_num: e.daily_num,
            at: e.at.to_rfc3339(),
        }
    }
}

/// Where `save_report_csv` wrote the day's CSV.
#[derive(Debug, Clone, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct SavedReport {
    pub path: String,
}
