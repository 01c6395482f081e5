//! What a menu item offers beyond its price: option groups and their
//! choices, the station that makes it, its names in other languages and its
//! photo; and what an order line says of the options chosen.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

/// The station a menu item goes to when nobody said.
pub const DEFAULT_STATION: &str = "bar";

pub fn default_station() -> String {
    DEFAULT_STATION.to_owned()
}

/// A language code (`en`, `ko`, `nl`, `de`) to a name in that language.
pub type Names = BTreeMap<String, String>;

/// One group of options of a menu item, e.g. *Temperature* (HOT or ICE, one
/// required) or *Extra shot* (+500, up to 3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OptionGroup {
    /// Unique within its item.
    pub id: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub names: Names,
    /// A required group needs at least `max(min, 1)` choices.
    pub required: bool,
    /// The fewest choices of this group on a line.
    pub min: u32,
    /// The most choices of this group on a line; a choice may be taken more
    /// than once (three extra shots are the same choice three times).
    pub max: u32,
    pub choices: Vec<OptionChoice>,
}

/// One choice of an option group, with what it adds to the unit price.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OptionChoice {
    /// Unique within its group.
    pub id: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub names: Names,
    #[serde(default)]
    pub price_delta: i64,
    #[serde(default)]
    pub is_sold_out: bool,
}

/// Where a menu item's photo is served: both addresses change when the
/// photo does, so a device may cache them for good.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Photo {
    /// `/api/menu/{id}/photo?v={version}`: at most 1024 px a side, JPEG.
    pub url: String,
    /// `/api/menu/{id}/photo/thumb?v={version}`: at most 320 px a side, JPEG.
    pub thumb_url: String,
}

/// One choice a device sends on an order line: `{groupId, choiceId}`, once
/// per time it is chosen. Nothing else is taken: the hub names and prices it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ChosenOption {
    pub group_id: String,
    pub choice_id: String,
}

/// One option of an order line as the hub priced it, by name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LineOption {
    pub group: String,
    pub choice: String,
    pub price_delta: i64,
}

/// Reads an order line's `options` as this hub writes them, and keeps what
/// an older hub stored there (free text or any JSON) as one option of the
/// group `""`, so that no old order or event stops reading.
pub fn lenient_options<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<LineOption>, D::Error> {
    let value = Option::<Value>::deserialize(d)?;
    Ok(match value {
        None | Some(Value::Null) => Vec::new(),
        Some(value) => match serde_json::from_value::<Vec<LineOption>>(value.clone()) {
            Ok(options) => options,
            Err(_) => vec![LineOption {
                group: String::new(),
                choice: match value {
                    Value::String(s) => s,
                    other => other.to_string(),
                },
                price_delta: 0,
            }],
        },
    })
}

/// Dine in or take out (매장/포장).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Fulfilment {
    #[default]
    DineIn,
    TakeOut,
}

impl Fulfilment {
    pub fn as_str(self) -> &'static str {
        match self {
            Fulfilment::DineIn => "DINE_IN",
            Fulfilment::TakeOut => "TAKE_OUT",
        }
    }

    pub fn parse(s: &str) -> Option<Fulfilment> {
        match s {
            "DINE_IN" => Some(Fulfilment::DineIn),
            "TAKE_OUT" => Some(Fulfilment::TakeOut),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::OrderLine;

    #[test]
    fn a_line_reads_new_options_and_keeps_an_old_hubs_free_text() {
        let new: OrderLine = serde_json::from_str(
            r#"{"menuId":"americano","menuName":"Americano","quantity":1,"unitPrice":5000,"totalPrice":5000,
                "options":[{"group":"Temperature","choice":"ICE","priceDelta":0},{"group":"Extra shot","choice":"Shot","priceDelta":500}]}"#,
        )
        .unwrap();
        assert_eq!(new.options.len(), 2);
        assert_eq!(new.options[1].price_delta, 500);

        let old: OrderLine = serde_json::from_str(
            r#"{"menuId":"green-tea","menuName":"Green Tea","quantity":1,"unitPrice":4000,"totalPrice":4000,"options":"shots: 2"}"#,
        )
        .unwrap();
        assert_eq!(
            old.options,
            vec![LineOption {
                group: String::new(),
                choice: "shots: 2".into(),
                price_delta: 0
            }]
        );
        let object: OrderLine = serde_json::from_str(
            r#"{"menuId":"x","menuName":"X","quantity":1,"unitPrice":1,"totalPrice":1,"options":{"size":"L"}}"#,
        )
        .unwrap();
        assert_eq!(object.options[0].choice, r#"{"size":"L"}"#);

        let bare: OrderLine = serde_json::from_str(
            r#"{"menuId":"x","menuName":"X","quantity":1,"unitPrice":1,"totalPrice":1}"#,
        )
        .unwrap();
        assert!(bare.options.is_empty());
        assert!(
            !serde_json::to_string(&bare).unwrap().contains("options"),
            "a line without options is written as before"
        );
    }

    #[test]
    fn a_chosen_option_takes_ids_and_nothing_else() {
        let ok: ChosenOption =
            serde_json::from_str(r#"{"groupId":"temperature","choiceId":"ice"}"#).unwrap();
        assert_eq!(ok.choice_id, "ice");
        assert!(serde_json::from_str::<ChosenOption>(r#""shots: 2""#).is_err());
        assert!(serde_json::from_str::<ChosenOption>(
            r#"{"groupId":"temperature","choiceId":"ice","priceDelta":0}"#
        )
        .is_err());
    }

    #[test]
    fn fulfilment_is_dine_in_unless_said() {
        assert_eq!(Fulfilment::default(), Fulfilment::DineIn);
        assert_eq!(
            serde_json::to_string(&Fulfilment::TakeOut).unwrap(),
            r#""TAKE_OUT""#
        );
        for f in [Fulfilment::DineIn, Fulfilment::TakeOut] {
            assert_eq!(Fulfilment::parse(f.as_str()), Some(f));
        }
    }
}
