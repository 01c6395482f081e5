//! Events and orders for the unit tests of the cache and the connection.

use chrono::{DateTime, Utc};
use countertop_protocol::{Event, OrderCreated, OrderLine, OrderStatus, PayType};

/// `order:created` for one latte paid by card.
pub(crate) fn created(id: &str, daily_num: u32, at: DateTime<Utc>) -> Event {
    Event::OrderCreated(OrderCreated {
        order_id: id.into(),
        daily_num,
        pay_type: PayType::Card,
        cell_info: None,
        items: vec![OrderLine {
            menu_id: "latte".into(),
            menu_name: "Latte".into(),
            quantity: 1,
            unit_price: 3500,
            total_price: 3500,
            options: Vec::new(),
            station: None,
            done: false,
            done_at: None,
        }],
        total_amount: 3500,
        status: OrderStatus::Pending,
        created_at: at,
        fulfilment: Default::default(),
        placed_at: None,
        reference: None,
    })
}
