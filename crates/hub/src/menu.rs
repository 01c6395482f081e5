//! The menu, the domain: items added and changed (name, category, price,
//! stock, sold out), each change announced on the `menu` topic.

use countertop_protocol::{Event, MenuItem, MenuPatch, MenuSoldOutChanged, NewMenuItem, Topic};

use crate::auth::random_id;
use crate::input::{amount, text, Invalid, Refused};
use crate::log::Routing;
use crate::store;
use crate::Hub;

const MAX_STOCK: i64 = 1_000_000;

/// Why a menu item could not be added or changed.
pub(crate) type MenuError = Refused;

fn check_stock(stock: Option<i64>) -> Result<(), Invalid> {
    match stock {
        Some(s) if !(0..=MAX_STOCK).contains(&s) => {
            Err(Invalid(format!("stock must be between 0 and {MAX_STOCK}")))
        }
        _ => Ok(()),
    }
}

fn slug(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    let out = out.trim_end_matches('-');
    let mut out: String = out.chars().take(40).collect();
    if out.is_empty() {
        out = format!("item-{}", random_id(6));
    }
    out
}

/// Adds an item after the others, its id made from its name.
pub(crate) async fn add(hub: &Hub, new: NewMenuItem) -> Result<MenuItem, MenuError> {
    let name = text("name", &new.name, 80)?;
    let category = text("category", &new.category, 40)?;
    let price = amount("price", new.price, 0)?;
    check_stock(new.stock)?;
    let mut w = hub.log.begin().await?;
    let base = slug(&name);
    let mut id = base.clone();
    let mut n = 2;
    while store::menu::load_menu_item(&mut w.tx, &id).await?.is_some() {
        id = format!("{base}-{n}");
        n += 1;
    }
    let position = store::menu::next_position(&mut w.tx).await?;
    let item = MenuItem {
        id,
        name,
        category,
        price,
        is_sold_out: new.is_sold_out || new.stock == Some(0),
        stock: new.stock,
    };
    store::menu::insert(&mut w.tx, &item, position).await?;
    let now = hub.clock.now();
    w.emit(
        &Event::MenuUpdated(item.clone()),
        Routing::topic(Topic::Menu),
        now,
    )
    .await?;
    w.commit().await?;
    Ok(item)
}

/// Changes item `id` as `patch` says; announces `menu:sold_out_changed` if
/// that changed, and `menu:updated` if anything else did.
pub(crate) async fn change(hub: &Hub, id: &str, patch: MenuPatch) -> Result<MenuItem, MenuError> {
    let mut w = hub.log.begin().await?;
    let before = store::menu::load_menu_item(&mut w.tx, id)
        .await?
        .ok_or_else(|| MenuError::NotFound(format!("no menu item \"{id}\"")))?;
    let mut item = before.clone();
    if let Some(name) = &patch.name {
        item.name = text("name", name, 80)?;
    }
    if let Some(category) = &patch.category {
        item.category = text("category", category, 40)?;
    }
    if let Some(price) = patch.price {
        item.price = amount("price", price, 0)?;
    }
    if let Some(stock) = patch.stock {
        check_stock(stock)?;
        item.stock = stock;
        if patch.is_sold_out.is_none() {
            // Counting down to zero sells an item out; restocking it brings it back.
            match stock {
                Some(0) => item.is_sold_out = true,
                Some(_) if before.stock == Some(0) => item.is_sold_out = false,
                _ => {}
            }
        }
    }
    if let Some(sold_out) = patch.is_sold_out {
        item.is_sold_out = sold_out;
    }
    store::menu::update(&mut w.tx, &item).await?;
    let now = hub.clock.now();
    if item.is_sold_out != before.is_sold_out {
        w.emit(
            &Event::MenuSoldOutChanged(MenuSoldOutChanged {
                menu_id: item.id.clone(),
                menu_name: item.name.clone(),
                is_sold_out: item.is_sold_out,
                updated_at: now,
            }),
            Routing::topic(Topic::Menu),
            now,
        )
        .await?;
    }
    let changed_more = item.name != before.name
        || item.category != before.category
        || item.price != before.price
        || item.stock != before.stock;
    if changed_more {
        w.emit(
            &Event::MenuUpdated(item.clone()),
            Routing::topic(Topic::Menu),
            now,
        )
        .await?;
    }
    w.commit().await?;
    Ok(item)
}
