//! The menu, the domain: items added, changed (name, category, price,
//! stock, sold out, option groups, station, names, place in the menu) and
//! deleted, each change announced on the `menu` topic.

use std::collections::BTreeSet;

use countertop_protocol::{
    Event, MenuDeleted, MenuItem, MenuPatch, MenuSoldOutChanged, Names, NewMenuItem, OptionChoice,
    OptionGroup, Topic, DEFAULT_STATION,
};

use crate::auth::random_id;
use crate::input::{amount, text, Invalid, Refused};
use crate::log::{Routing, Writer};
use crate::store;
use crate::Hub;

const MAX_STOCK: i64 = 1_000_000;
const MAX_GROUPS: usize = 8;
const MAX_CHOICES: usize = 12;
/// The most choices a group may allow on one line.
const MAX_PER_GROUP: u32 = 10;
/// The most options one order line can carry: every group at its most.
pub(crate) const MAX_CHOSEN_PER_LINE: usize = MAX_GROUPS * MAX_PER_GROUP as usize;
/// A choice adds at most this much to the unit price. Deltas are never
/// negative, so no choice can price a line below zero: a smaller size is
/// the item's own price, and the larger one adds to it.
const MAX_DELTA: i64 = 1_000_000;
const MAX_OPTION_ID_LEN: usize = 32;
const MAX_OPTION_NAME_LEN: usize = 40;
const MAX_STATION_LEN: usize = 20;
const MAX_LANGUAGES: usize = 8;
const MAX_ITEM_NAME_LEN: usize = 80;

/// Why a menu item could not be added, changed or deleted.
pub(crate) type MenuError = Refused;

fn check_stock(stock: Option<i64>) -> Result<(), Invalid> {
    match stock {
        Some(s) if !(0..=MAX_STOCK).contains(&s) => {
            Err(Invalid(format!("stock must be between 0 and {MAX_STOCK}")))
        }
        _ => Ok(()),
    }
}

/// A word of the hub's own: 1 to `max` characters of `a-z`, `0-9` and `-`.
fn word(field: &str, value: &str, max: usize) -> Result<String, Invalid> {
    let ok = !value.is_empty()
        && value.len() <= max
        && value
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if ok {
        Ok(value.to_owned())
    } else {
        Err(Invalid(format!(
            "{field} must be 1 to {max} characters of a-z, 0-9 and -"
        )))
    }
}

/// The station that makes an item, lowercased; `bar` when not given.
fn station(value: Option<&str>) -> Result<String, Invalid> {
    match value {
        None => Ok(DEFAULT_STATION.to_owned()),
        Some(s) => word("station", &s.trim().to_lowercase(), MAX_STATION_LEN),
    }
}

/// Names by language: at most 8 languages, each code 2 to 5 characters of
/// `a-z` and `-` (`ko`, `en`, `zh-tw`), each name checked as `text`.
fn names(field: &str, names: &Names, max: usize) -> Result<Names, Invalid> {
    if names.len() > MAX_LANGUAGES {
        return Err(Invalid(format!(
            "{field} has names in at most {MAX_LANGUAGES} languages"
        )));
    }
    names
        .iter()
        .map(|(lang, name)| {
            let code_ok = (2..=5).contains(&lang.len())
                && lang.bytes().all(|b| b.is_ascii_lowercase() || b == b'-');
            if !code_ok {
                return Err(Invalid(format!(
                    "{field}: a language code is 2 to 5 characters of a-z and -"
                )));
            }
            Ok((lang.clone(), text(&format!("{field}.{lang}"), name, max)?))
        })
        .collect()
}

/// Checks an item's option groups, and normalises them: a required group
/// needs at least one choice (`min` 1 at least), and a group with a `min`
/// is required.
fn option_groups(groups: &[OptionGroup]) -> Result<Vec<OptionGroup>, Invalid> {
    if groups.len() > MAX_GROUPS {
        return Err(Invalid(format!(
            "an item has at most {MAX_GROUPS} option groups"
        )));
    }
    let mut ids = BTreeSet::new();
    groups
        .iter()
        .map(|g| {
            let id = word("an option group's id", &g.id, MAX_OPTION_ID_LEN)?;
            if !ids.insert(id.clone()) {
                return Err(Invalid(format!("option group \"{id}\" is there twice")));
            }
            let field = format!("option group \"{id}\"");
            let name = text(&format!("{field}'s name"), &g.name, MAX_OPTION_NAME_LEN)?;
            if g.choices.is_empty() || g.choices.len() > MAX_CHOICES {
                return Err(Invalid(format!("{field} has 1 to {MAX_CHOICES} choices")));
            }
            let min = if g.required { g.min.max(1) } else { g.min };
            if g.max == 0 || g.max > MAX_PER_GROUP || min > g.max {
                return Err(Invalid(format!(
                    "{field}: max must be 1 to {MAX_PER_GROUP}, and min at most max"
                )));
            }
            Ok(OptionGroup {
                names: names(&field, &g.names, MAX_OPTION_NAME_LEN)?,
                choices: choices(&field, &g.choices)?,
                id,
                name,
                required: min > 0,
                min,
                max: g.max,
            })
        })
        .collect()
}

fn choices(group: &str, choices: &[OptionChoice]) -> Result<Vec<OptionChoice>, Invalid> {
    let mut ids = BTreeSet::new();
    choices
        .iter()
        .map(|c| {
            let id = word(
                &format!("a choice's id in {group}"),
                &c.id,
                MAX_OPTION_ID_LEN,
            )?;
            if !ids.insert(id.clone()) {
                return Err(Invalid(format!("choice \"{id}\" is in {group} twice")));
            }
            let field = format!("choice \"{id}\" of {group}");
            if !(0..=MAX_DELTA).contains(&c.price_delta) {
                return Err(Invalid(format!(
                    "{field}: priceDelta must be between 0 and {MAX_DELTA}"
                )));
            }
            Ok(OptionChoice {
                name: text(&format!("{field}'s name"), &c.name, MAX_OPTION_NAME_LEN)?,
                names: names(&field, &c.names, MAX_OPTION_NAME_LEN)?,
                id,
                price_delta: c.price_delta,
                is_sold_out: c.is_sold_out,
            })
        })
        .collect()
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

async fn announce(
    w: &mut Writer<'_>,
    event: Event,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), sqlx::Error> {
    w.emit(&event, Routing::topic(Topic::Menu), now).await?;
    Ok(())
}

/// Adds an item after the others, its id made from its name.
pub(crate) async fn add(hub: &Hub, new: NewMenuItem) -> Result<MenuItem, MenuError> {
    let name = text("name", &new.name, MAX_ITEM_NAME_LEN)?;
    let category = text("category", &new.category, 40)?;
    let price = amount("price", new.price, 0)?;
    check_stock(new.stock)?;
    let option_groups = option_groups(&new.option_groups)?;
    let station = station(new.station.as_deref())?;
    let names = names("names", &new.names, MAX_ITEM_NAME_LEN)?;
    let mut w = hub.log.begin().await?;
    let base = slug(&name);
    let mut id = base.clone();
    let mut n = 2;
    while store::menu::load_menu_item(&mut w.tx, &id).await?.is_some() {
        id = format!("{base}-{n}");
        n += 1;
    }
    let item = MenuItem {
        id,
        name,
        category,
        price,
        is_sold_out: new.is_sold_out || new.stock == Some(0),
        stock: new.stock,
        option_groups,
        station,
        names,
        position: store::menu::next_position(&mut w.tx).await?,
        photo: None,
    };
    store::menu::insert(&mut w.tx, &item).await?;
    announce(&mut w, Event::MenuUpdated(item.clone()), hub.clock.now()).await?;
    w.commit().await?;
    Ok(item)
}

/// Changes item `id` as `patch` says; announces `menu:sold_out_changed` if
/// that changed, and `menu:updated` if anything else did. A new `position`
/// moves the item there (0 is first, clamped to the menu) and renumbers the
/// menu 0, 1, 2, ...: every item whose position changed is announced.
pub(crate) async fn change(hub: &Hub, id: &str, patch: MenuPatch) -> Result<MenuItem, MenuError> {
    // Every field is checked before the writer is taken.
    let name = patch
        .name
        .as_deref()
        .map(|n| text("name", n, MAX_ITEM_NAME_LEN))
        .transpose()?;
    let category = patch
        .category
        .as_deref()
        .map(|c| text("category", c, 40))
        .transpose()?;
    let price = patch.price.map(|p| amount("price", p, 0)).transpose()?;
    if let Some(stock) = patch.stock {
        check_stock(stock)?;
    }
    let groups = patch
        .option_groups
        .as_deref()
        .map(option_groups)
        .transpose()?;
    let new_station = match &patch.station {
        Some(s) => Some(station(Some(s))?),
        None => None,
    };
    let new_names = patch
        .names
        .as_ref()
        .map(|n| names("names", n, MAX_ITEM_NAME_LEN))
        .transpose()?;

    let mut w = hub.log.begin().await?;
    let before = store::menu::load_menu_item(&mut w.tx, id)
        .await?
        .ok_or_else(|| MenuError::NotFound(format!("no menu item \"{id}\"")))?;
    let mut item = before.clone();
    if let Some(name) = name {
        item.name = name;
    }
    if let Some(category) = category {
        item.category = category;
    }
    if let Some(price) = price {
        item.price = price;
    }
    if let Some(stock) = patch.stock {
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
    if let Some(groups) = groups {
        item.option_groups = groups;
    }
    if let Some(station) = new_station {
        item.station = station;
    }
    if let Some(names) = new_names {
        item.names = names;
    }
    store::menu::update(&mut w.tx, &item).await?;
    let now = hub.clock.now();
    if item.is_sold_out != before.is_sold_out {
        let event = Event::MenuSoldOutChanged(MenuSoldOutChanged {
            menu_id: item.id.clone(),
            menu_name: item.name.clone(),
            is_sold_out: item.is_sold_out,
            updated_at: now,
        });
        announce(&mut w, event, now).await?;
    }
    let moved = match patch.position {
        Some(to) => move_to(&mut w, &item.id, to).await?,
        None => Vec::new(),
    };
    if let Some(position) = moved.iter().find(|m| m.id == item.id).map(|m| m.position) {
        item.position = position;
    }
    let changed_more = item.name != before.name
        || item.category != before.category
        || item.price != before.price
        || item.stock != before.stock
        || item.option_groups != before.option_groups
        || item.station != before.station
        || item.names != before.names
        || item.position != before.position;
    if changed_more {
        announce(&mut w, Event::MenuUpdated(item.clone()), now).await?;
    }
    for other in moved.into_iter().filter(|m| m.id != item.id) {
        announce(&mut w, Event::MenuUpdated(other), now).await?;
    }
    w.commit().await?;
    Ok(item)
}

/// Puts item `id` at place `to` of the menu (clamped) and numbers the
/// items 0, 1, 2, ... in their order; the items whose position changed, as
/// they now are.
async fn move_to(w: &mut Writer<'_>, id: &str, to: i64) -> Result<Vec<MenuItem>, sqlx::Error> {
    let mut menu = store::menu::load_menu(&mut w.tx).await?;
    let Some(from) = menu.iter().position(|m| m.id == id) else {
        return Ok(Vec::new());
    };
    let item = menu.remove(from);
    let to = usize::try_from(to.max(0))
        .unwrap_or(usize::MAX)
        .min(menu.len());
    menu.insert(to, item);
    let mut moved = Vec::new();
    for (position, mut item) in (0_i64..).zip(menu) {
        if item.position != position {
            store::menu::set_position(&mut w.tx, &item.id, position).await?;
            item.position = position;
            moved.push(item);
        }
    }
    Ok(moved)
}

/// Deletes item `id` (and its photo), announcing `menu:deleted`. Past
/// orders keep their lines: a line names its item.
pub(crate) async fn delete(hub: &Hub, id: &str) -> Result<MenuDeleted, MenuError> {
    let mut w = hub.log.begin().await?;
    let item = store::menu::load_menu_item(&mut w.tx, id)
        .await?
        .ok_or_else(|| MenuError::NotFound(format!("no menu item \"{id}\"")))?;
    store::menu::delete(&mut w.tx, id).await?;
    let now = hub.clock.now();
    let deleted = MenuDeleted {
        menu_id: item.id,
        menu_name: item.name,
        deleted_at: now,
    };
    announce(&mut w, Event::MenuDeleted(deleted.clone()), now).await?;
    w.commit().await?;
    tracing::info!(menu = %deleted.menu_id, "menu item deleted");
    Ok(deleted)
}
