//! The day's numbers in full (`GET /api/reports/daily/detail`), and a
//! cell's history and corrections (`GET /api/cells/{id}/history`,
//! `POST /api/cells/{id}/corrections`). Additions to the version 2
//! contract, documented in `docs/protocol.md`.

use serde::{Deserialize, Serialize};

use crate::{
    BalanceChangeType, DailyReport, OrderStatus, PrepSeconds, RevenueByPayType, Timestamp,
};

/// `GET /api/reports/daily/detail?date=YYYY-MM-DD`: the figures of
/// [`DailyReport`], with the cancellations and recalls listed and the
/// preparation times per item, per station and per hour.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DailyReportDetail {
    /// The local day, `YYYY-MM-DD`.
    pub date: String,
    /// The day's orders that were not cancelled.
    pub orders: u64,
    /// Their revenue, in minor units, by how they were paid.
    pub revenue_by_pay_type: RevenueByPayType,
    /// The day's cancelled orders, in the order they were cancelled.
    pub cancellations: Vec<Cancellation>,
    /// Points paid for the day's orders that were not cancelled.
    pub points_used: i64,
    /// Points charged to cells that day.
    pub points_charged: i64,
    /// Status moves back that day, in the order they happened.
    pub recalls: Vec<Recall>,
    /// From placement to `READY`, over the day's orders that reached it.
    pub prep_seconds: Option<PrepSeconds>,
    /// Per menu item sold that day, by most sold.
    pub prep_by_item: Vec<ItemFigures>,
    /// Per station, by name.
    pub prep_by_station: Vec<StationFigures>,
    /// Per local hour of placement that had orders, earliest first.
    pub prep_by_hour: Vec<HourFigures>,
}

impl DailyReportDetail {
    /// The same day as `GET /api/reports/daily` answers it.
    pub fn summary(&self) -> DailyReport {
        DailyReport {
            date: self.date.clone(),
            orders: self.orders,
            revenue_by_pay_type: self.revenue_by_pay_type,
            cancellations: self.cancellations.len() as u64,
            points_used: self.points_used,
            points_charged: self.points_charged,
            recalls: self.recalls.len() as u64,
            prep_seconds: self.prep_seconds,
        }
    }
}

/// A cancelled order of the day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Cancellation {
    pub order_id: String,
    pub daily_num: u32,
    pub reason: String,
    /// When it was cancelled.
    pub at: Timestamp,
    /// The order's total, in minor units.
    pub amount: i64,
}

/// A status move back (`READY → MAKING`, `COMPLETED → READY`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Recall {
    pub order_id: String,
    /// `null` when the order is no longer stored.
    pub daily_num: Option<u32>,
    pub from: OrderStatus,
    pub to: OrderStatus,
    pub at: Timestamp,
}

/// One menu item of the day: how many were sold (orders not cancelled),
/// for how much, and how long the orders holding it took to be `READY`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemFigures {
    pub menu_id: String,
    /// Its name on the day's newest order line.
    pub name: String,
    pub station: String,
    /// Items sold (the lines' quantities).
    pub count: u64,
    /// Their revenue, in minor units.
    pub revenue: i64,
    /// Order lines timed (lines of orders that reached `READY`).
    pub timed: u64,
    /// `null` when none was timed.
    pub median: Option<f64>,
    pub p90: Option<f64>,
}

/// One station of the day.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StationFigures {
    pub station: String,
    /// Items sold at this station.
    pub count: u64,
    /// Orders with a line of this station that reached `READY`.
    pub timed: u64,
    pub median: Option<f64>,
    pub p90: Option<f64>,
}

/// One local hour of the day, by when orders were placed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HourFigures {
    /// 0 to 23, the hub's local time.
    pub hour: u8,
    /// Orders placed in it that were not cancelled.
    pub orders: u64,
    /// Their revenue, in minor units.
    pub revenue: i64,
    /// Orders placed in it that reached `READY`.
    pub count: u64,
    pub median: Option<f64>,
    pub p90: Option<f64>,
}

/// One change of a cell's balance, as its history lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CellLedgerEntry {
    pub id: i64,
    pub cell_id: String,
    #[serde(rename = "type")]
    pub kind: BalanceChangeType,
    /// Signed: what the balance changed by.
    pub amount: i64,
    pub balance_after: i64,
    /// A correction's reason, an order's cancel reason.
    pub reason: Option<String>,
    pub order_id: Option<String>,
    /// The order's daily number, when the order is stored.
    pub daily_num: Option<u32>,
    /// The device that made the change, when known.
    pub device_id: Option<String>,
    pub at: Timestamp,
}

/// `POST /api/cells/{id}/corrections`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CellCorrection {
    /// Signed, not 0.
    pub amount: i64,
    /// 1 to 200 characters.
    pub reason: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ledger_entry_is_camel_case_with_its_type() {
        let entry = CellLedgerEntry {
            id: 3,
            cell_id: "cell-a".into(),
            kind: BalanceChangeType::Correction,
            amount: -500,
            balance_after: 1500,
            reason: Some("miscounted".into()),
            order_id: None,
            daily_num: None,
            device_id: Some("dev-1".into()),
            at: "2026-12-03T10:00:00Z".parse().unwrap(),
        };
        let text = serde_json::to_string(&entry).unwrap();
        assert!(text.contains(r#""type":"CORRECTION""#), "{text}");
        assert!(text.contains(r#""balanceAfter":1500"#), "{text}");
        assert_eq!(
            serde_json::from_str::<CellLedgerEntry>(&text).unwrap(),
            entry
        );
    }

    #[test]
    fn a_correction_carries_its_reason_and_other_changes_keep_the_contracts_shape() {
        let text = r#"{"cellId":"cell-design","cellName":"Design Team","balanceBefore":36000,"balanceAfter":35500,"changeAmount":-500,"type":"CORRECTION","updatedAt":"2026-12-03T09:12:40.031Z","reason":"charged twice"}"#;
        let change: crate::CellBalanceChanged = serde_json::from_str(text).unwrap();
        assert_eq!(change.kind, BalanceChangeType::Correction);
        assert_eq!(change.reason.as_deref(), Some("charged twice"));
        assert_eq!(serde_json::to_string(&change).unwrap(), text);
        let charge = crate::CellBalanceChanged {
            kind: BalanceChangeType::Charge,
            reason: None,
            ..change
        };
        let plain = serde_json::to_value(&charge).unwrap();
        let keys: Vec<&String> = plain.as_object().unwrap().keys().collect();
        assert_eq!(
            keys,
            [
                "balanceAfter",
                "balanceBefore",
                "cellId",
                "cellName",
                "changeAmount",
                "type",
                "updatedAt"
            ]
        );
    }
}
