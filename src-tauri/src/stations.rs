//! Which stations a barista board shows: every station the menu and the
//! open orders name, and this device's choice among them (kept in its
//! cache; none chosen is the expo view, which shows all).

use std::collections::{BTreeSet, HashMap};

use countertop_client::Cache;
use countertop_protocol::{MenuItem, DEFAULT_STATION};

use crate::ipc::{IpcError, IpcErrorCode, OrderEntry};

/// The device's local setting that holds its chosen stations, comma-separated.
const BOARD_STATIONS_KEY: &str = "board_stations";

/// At most this many stations are chosen at once.
const MAX_CHOSEN: usize = 16;
/// A station's name: 1 to 20 of `a-z`, `0-9` and `-`, as the hub takes it.
const MAX_STATION_LEN: usize = 20;

/// Gives each order line that names no station of its own (every line a
/// hub of today sends: the contract's line has none) its menu item's
/// station, or the default one for an item gone from the menu.
pub fn route(menu: &[MenuItem], orders: &mut [OrderEntry]) {
    let by_item: HashMap<&str, &str> = menu
        .iter()
        .map(|m| (m.id.as_str(), m.station.as_str()))
        .collect();
    for line in orders.iter_mut().flat_map(|o| o.items.iter_mut()) {
        if line.station.is_empty() {
            line.station = by_item
                .get(line.menu_id.as_str())
                .copied()
                .unwrap_or(DEFAULT_STATION)
                .to_owned();
        }
    }
}

/// Every station named by the menu or by an order on the board, sorted.
pub fn known(menu: &[MenuItem], orders: &[OrderEntry]) -> Vec<String> {
    let mut all: BTreeSet<String> = menu.iter().map(|m| m.station.clone()).collect();
    for order in orders {
        all.extend(order.items.iter().map(|l| l.station.clone()));
    }
    all.into_iter().collect()
}

/// The stations this device's board shows; empty: all.
pub fn chosen(cache: &Cache) -> Result<Vec<String>, IpcError> {
    Ok(cache
        .local_setting(BOARD_STATIONS_KEY)?
        .map(|text| parse(&text))
        .unwrap_or_default())
}

/// Keeps the stations this device's board shows (empty: all), refusing a
/// name no station could have.
pub fn choose(cache: &Cache, stations: Vec<String>) -> Result<Vec<String>, IpcError> {
    let mut set = BTreeSet::new();
    for station in stations {
        let station = station.trim().to_lowercase();
        if !is_station(&station) {
            return Err(IpcError::new(
                IpcErrorCode::Validation,
                format!(
                    "{station:?} is not a station's name (1 to {MAX_STATION_LEN} of a-z, 0-9, -)"
                ),
            ));
        }
        set.insert(station);
    }
    if set.len() > MAX_CHOSEN {
        return Err(IpcError::new(
            IpcErrorCode::Validation,
            format!("choose at most {MAX_CHOSEN} stations"),
        ));
    }
    let chosen: Vec<String> = set.into_iter().collect();
    cache.set_local_setting(BOARD_STATIONS_KEY, &chosen.join(","))?;
    Ok(chosen)
}

fn is_station(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_STATION_LEN
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

fn parse(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|s| is_station(s))
        .map(str::to_owned)
        .take(MAX_CHOSEN)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_choice_is_kept_normalised_and_a_bad_name_refused() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::open(dir.path()).unwrap();
        assert!(chosen(&cache).unwrap().is_empty());
        let kept = choose(&cache, vec!["Kitchen ".into(), "bar".into(), "bar".into()]).unwrap();
        assert_eq!(kept, ["bar", "kitchen"]);
        assert_eq!(chosen(&cache).unwrap(), ["bar", "kitchen"]);
        let err = choose(&cache, vec!["bar,kitchen".into()]).unwrap_err();
        assert_eq!(err.code, "validation");
        assert_eq!(chosen(&cache).unwrap(), ["bar", "kitchen"]);
        choose(&cache, Vec::new()).unwrap();
        assert!(chosen(&cache).unwrap().is_empty());
    }
}
