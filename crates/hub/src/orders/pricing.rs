//! An order's lines priced from the menu, their options checked against
//! the item's option groups and priced (`MenuItem::price_options`, the rule
//! the kiosk's cart uses too), its stock checked, and the stock taken once
//! the order is stored.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use countertop_protocol::{Event, MenuItem, MenuSoldOutChanged, NewOrderItem, OrderLine, Topic};

use super::OrderError;
use crate::log::{Routing, Writer};
use crate::store;

/// An order's lines priced from the menu as it stands in the transaction.
pub(super) struct Priced {
    pub lines: Vec<OrderLine>,
    pub total: i64,
    /// The quantity wanted of each menu item, over all lines.
    wanted: BTreeMap<String, i64>,
    /// Each item as read, for its stock.
    stocked: BTreeMap<String, MenuItem>,
}

/// Prices `items` from the menu: every item must exist and not be sold out,
/// its options must be ones it offers (none sold out), the total must not
/// overflow, and items with a stock must have enough. Two lines of one item
/// stay two lines, whatever their options.
pub(super) async fn price(
    conn: &mut impl crate::store::Exec,
    items: &[NewOrderItem],
) -> Result<Priced, OrderError> {
    let mut lines = Vec::with_capacity(items.len());
    let mut wanted: BTreeMap<String, i64> = BTreeMap::new();
    let mut total: i64 = 0;
    let mut stocked = BTreeMap::new();
    for item in items {
        let menu = store::menu::load_menu_item(&mut *conn, &item.menu_id)
            .await?
            .ok_or_else(|| {
                OrderError::Invalid(format!("unknown menu item \"{}\"", item.menu_id))
            })?;
        if menu.is_sold_out {
            return Err(OrderError::SoldOut(format!("{} is sold out", menu.name)));
        }
        let options = menu.price_options(&item.options).map_err(|e| {
            if e.is_sold_out() {
                OrderError::SoldOut(e.to_string())
            } else {
                OrderError::Invalid(e.to_string())
            }
        })?;
        let overflow = || OrderError::Invalid("total overflows".into());
        let qty = i64::from(item.quantity);
        *wanted.entry(menu.id.clone()).or_default() += qty;
        let unit_price = menu.price.checked_add(options.delta).ok_or_else(overflow)?;
        let line_total = unit_price.checked_mul(qty).ok_or_else(overflow)?;
        total = total.checked_add(line_total).ok_or_else(overflow)?;
        lines.push(OrderLine {
            menu_id: menu.id.clone(),
            menu_name: menu.name.clone(),
            quantity: item.quantity,
            unit_price,
            total_price: line_total,
            options: options.options,
            // Not on the wire: the contract's line shape stays as it was;
            // devices and reports route a line by its menu item's station.
            station: None,
            done: false,
            done_at: None,
        });
        stocked.insert(menu.id.clone(), menu);
    }
    for (id, qty) in &wanted {
        let menu = &stocked[id];
        if let Some(stock) = menu.stock {
            if stock < *qty {
                return Err(OrderError::SoldOut(format!(
                    "only {stock} {} left",
                    menu.name
                )));
            }
        }
    }
    Ok(Priced {
        lines,
        total,
        wanted,
        stocked,
    })
}

/// Takes the priced quantities from the items with a stock, announcing each
/// item's new state, and that it is sold out when its stock reaches zero.
pub(super) async fn take_stock(
    w: &mut Writer<'_>,
    priced: &Priced,
    now: DateTime<Utc>,
) -> Result<(), OrderError> {
    for (id, qty) in &priced.wanted {
        let menu = &priced.stocked[id];
        let Some(stock) = menu.stock else { continue };
        let left = stock - qty;
        let sold_out = left == 0;
        store::menu::set_stock(&mut w.tx, id, left, sold_out).await?;
        let mut updated = menu.clone();
        updated.stock = Some(left);
        updated.is_sold_out = sold_out;
        if sold_out {
            w.emit(
                &Event::MenuSoldOutChanged(MenuSoldOutChanged {
                    menu_id: id.clone(),
                    menu_name: menu.name.clone(),
                    is_sold_out: true,
                    updated_at: now,
                }),
                Routing::topic(Topic::Menu),
                now,
            )
            .await?;
        }
        w.emit(
            &Event::MenuUpdated(updated),
            Routing::topic(Topic::Menu),
            now,
        )
        .await?;
    }
    Ok(())
}
