//! The manager's dashboard figures. The hub's `dashboard:update` figures win
//! when they are from today; until one arrives, the figures are counted from
//! the cached orders (a manager reads every order). Orders per hour are
//! always counted from the cache.

use std::collections::BTreeMap;

use chrono::{DateTime, Local, Timelike, Utc};
use countertop_protocol::{Order, OrderStatus, Widget};

/// The hub's newest figures as the cache keeps them: widget name to value
/// and when the hub sent it.
pub type Figures = BTreeMap<String, (serde_json::Value, DateTime<Utc>)>;

/// The dashboard of one local day.
#[derive(Debug, Clone, PartialEq)]
pub struct Dashboard {
    pub orders_today: f64,
    pub revenue_today: f64,
    pub open_orders: f64,
    pub avg_prep_seconds: Option<f64>,
    /// Today's orders by local hour (index 0 to 23).
    pub orders_per_hour: [u32; 24],
    /// When the hub last sent a figure.
    pub updated_at: Option<DateTime<Utc>>,
}

impl Dashboard {
    /// Builds the dashboard from the cached orders and the hub's newest
    /// figures, for the local day of `now`.
    pub fn build(orders: &[Order], figures: &Figures, now: DateTime<Local>) -> Dashboard {
        let today = now.date_naive();
        let todays: Vec<&Order> = orders
            .iter()
            .filter(|o| o.created_at.with_timezone(&Local).date_naive() == today)
            .collect();
        let mut per_hour = [0u32; 24];
        for o in &todays {
            let hour = o.created_at.with_timezone(&Local).hour() as usize;
            per_hour[hour] += 1;
        }
        let counted_revenue: i64 = todays
            .iter()
            .filter(|o| o.status != OrderStatus::Cancelled)
            .map(|o| o.total_amount)
            .sum();
        let counted_open = orders.iter().filter(|o| o.status.is_open()).count();
        let hub = |widget: Widget| {
            figures
                .get(widget.as_str())
                .filter(|(_, at)| at.with_timezone(&Local).date_naive() == today)
                .and_then(|(value, _)| value.as_f64())
        };
        Dashboard {
            orders_today: hub(Widget::OrdersToday).unwrap_or(todays.len() as f64),
            revenue_today: hub(Widget::RevenueToday).unwrap_or(counted_revenue as f64),
            open_orders: hub(Widget::OpenOrders).unwrap_or(counted_open as f64),
            avg_prep_seconds: hub(Widget::AvgPrepSeconds),
            orders_per_hour: per_hour,
            updated_at: figures.values().map(|(_, at)| *at).max(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone};
    use countertop_protocol::PayType;

    fn order(id: &str, created_at: DateTime<Utc>, total: i64, status: OrderStatus) -> Order {
        Order {
            order_id: id.to_owned(),
            daily_num: 1,
            pay_type: PayType::Card,
            cell_info: None,
            items: Vec::new(),
            total_amount: total,
            status,
            created_at,
            updated_at: created_at,
            cancel_reason: None,
            fulfilment: Default::default(),
            placed_at: None,
            reference: None,
        }
    }

    fn noon() -> DateTime<Local> {
        Local
            .with_ymd_and_hms(2026, 3, 4, 12, 30, 0)
            .single()
            .expect("a local noon")
    }

    #[test]
    fn without_the_hubs_figures_it_counts_todays_orders_from_the_cache() {
        let now = noon();
        let at = now.with_timezone(&Utc);
        let orders = [
            order("a", at, 300, OrderStatus::Pending),
            order("b", at - Duration::hours(1), 500, OrderStatus::Completed),
            order("c", at, 700, OrderStatus::Cancelled),
            order("d", at - Duration::days(1), 900, OrderStatus::Making),
        ];
        let view = Dashboard::build(&orders, &Figures::new(), now);
        assert_eq!(view.orders_today, 3.0);
        assert_eq!(view.revenue_today, 800.0);
        // Open orders count every cached open order, yesterday's too.
        assert_eq!(view.open_orders, 2.0);
        assert_eq!(view.avg_prep_seconds, None);
        assert_eq!(view.orders_per_hour[12], 2);
        assert_eq!(view.orders_per_hour[11], 1);
        assert_eq!(view.orders_per_hour.iter().sum::<u32>(), 3);
        assert_eq!(view.updated_at, None);
    }

    #[test]
    fn the_hubs_figures_of_today_win_and_yesterdays_do_not() {
        let now = noon();
        let at = now.with_timezone(&Utc);
        let orders = [order("a", at, 300, OrderStatus::Pending)];
        let mut figures = Figures::new();
        figures.insert("orders_today".to_owned(), (serde_json::json!(42), at));
        figures.insert("avg_prep_seconds".to_owned(), (serde_json::json!(95.5), at));
        let yesterday = at - Duration::days(1);
        figures.insert(
            "revenue_today".to_owned(),
            (serde_json::json!(99999), yesterday),
        );
        let view = Dashboard::build(&orders, &figures, now);
        assert_eq!(view.orders_today, 42.0);
        assert_eq!(view.avg_prep_seconds, Some(95.5));
        assert_eq!(view.revenue_today, 300.0);
        assert_eq!(view.open_orders, 1.0);
        // Orders per hour are always the cache's.
        assert_eq!(view.orders_per_hour[12], 1);
        assert_eq!(view.updated_at, Some(at));
    }
}
