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
        // Read from the value in place: most lines are this hub's own.
        Some(value) => match Vec::<LineOption>::deserialize(&value) {
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

/// Why the options chosen on a line cannot be taken. The hub answers
/// `sold_out` for [`OptionError::SoldOut`] and `validation` for the rest.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OptionError {
    #[error("{item} has no option group \"{group}\"")]
    UnknownGroup { item: String, group: String },
    #[error("{group} of {item} has no choice \"{choice}\"")]
    UnknownChoice {
        item: String,
        group: String,
        choice: String,
    },
    #[error("choose {group} for {item}")]
    Missing { item: String, group: String },
    #[error("choose at least {min} of {group} for {item}")]
    TooFew {
        item: String,
        group: String,
        min: u32,
    },
    #[error("choose at most {max} of {group} for {item}")]
    TooMany {
        item: String,
        group: String,
        max: u32,
    },
    #[error("{choice} is sold out for {item}")]
    SoldOut { item: String, choice: String },
    #[error("the price of {item} overflows")]
    Overflow { item: String },
}

impl OptionError {
    pub fn is_sold_out(&self) -> bool {
        matches!(self, OptionError::SoldOut { .. })
    }
}

/// The options of one line, checked and priced.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PricedOptions {
    /// What they add to the item's unit price.
    pub delta: i64,
    /// By name, in the item's group order, then its choice order; a choice
    /// taken twice is here twice.
    pub options: Vec<LineOption>,
}

impl crate::MenuItem {
    /// Checks `chosen` against this item's option groups (every id known,
    /// every group within its min and max, a required group present, no
    /// sold-out choice) and prices them. The one rule, used by the hub that
    /// prices an order and by the kiosk that shows the price.
    pub fn price_options(&self, chosen: &[ChosenOption]) -> Result<PricedOptions, OptionError> {
        for c in chosen {
            let group = self
                .option_groups
                .iter()
                .find(|g| g.id == c.group_id)
                .ok_or_else(|| OptionError::UnknownGroup {
                    item: self.name.clone(),
                    group: c.group_id.clone(),
                })?;
            if !group.choices.iter().any(|x| x.id == c.choice_id) {
                return Err(OptionError::UnknownChoice {
                    item: self.name.clone(),
                    group: group.name.clone(),
                    choice: c.choice_id.clone(),
                });
            }
        }
        let mut priced = PricedOptions::default();
        for group in &self.option_groups {
            let taken = chosen.iter().filter(|c| c.group_id == group.id).count();
            let taken = u32::try_from(taken).unwrap_or(u32::MAX);
            let min = if group.required {
                group.min.max(1)
            } else {
                group.min
            };
            if taken == 0 && min > 0 {
                return Err(OptionError::Missing {
                    item: self.name.clone(),
                    group: group.name.clone(),
                });
            }
            if taken < min {
                return Err(OptionError::TooFew {
                    item: self.name.clone(),
                    group: group.name.clone(),
                    min,
                });
            }
            if taken > group.max {
                return Err(OptionError::TooMany {
                    item: self.name.clone(),
                    group: group.name.clone(),
                    max: group.max,
                });
            }
            for choice in &group.choices {
                let times = chosen
                    .iter()
                    .filter(|c| c.group_id == group.id && c.choice_id == choice.id)
                    .count();
                if times > 0 && choice.is_sold_out {
                    return Err(OptionError::SoldOut {
                        item: self.name.clone(),
                        choice: choice.name.clone(),
                    });
                }
                for _ in 0..times {
                    priced.delta =
                        priced
                            .delta
                            .checked_add(choice.price_delta)
                            .ok_or_else(|| OptionError::Overflow {
                                item: self.name.clone(),
                            })?;
                    priced.options.push(LineOption {
                        group: group.name.clone(),
                        choice: choice.name.clone(),
                        price_delta: choice.price_delta,
                    });
                }
            }
        }
        Ok(priced)
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

    fn americano() -> crate::MenuItem {
        let choice = |id: &str, name: &str, delta: i64| OptionChoice {
            id: id.into(),
            name: name.into(),
            names: Names::new(),
            price_delta: delta,
            is_sold_out: false,
        };
        crate::MenuItem {
            id: "americano".into(),
            name: "Americano".into(),
            category: "Coffee".into(),
            price: 4000,
            is_sold_out: false,
            stock: None,
            option_groups: vec![
                OptionGroup {
                    id: "temperature".into(),
                    name: "Temperature".into(),
                    names: Names::new(),
                    required: true,
                    min: 0,
                    max: 1,
                    choices: vec![choice("hot", "HOT", 0), choice("ice", "ICE", 0)],
                },
                OptionGroup {
                    id: "size".into(),
                    name: "Size".into(),
                    names: Names::new(),
                    required: false,
                    min: 0,
                    max: 1,
                    choices: vec![
                        choice("regular", "Regular", 0),
                        choice("large", "Large", 500),
                    ],
                },
                OptionGroup {
                    id: "extra-shot".into(),
                    name: "Extra shot".into(),
                    names: Names::new(),
                    required: false,
                    min: 0,
                    max: 3,
                    choices: vec![choice("shot", "Extra shot", 500)],
                },
            ],
            station: default_station(),
            names: Names::new(),
            position: 0,
            photo: None,
        }
    }

    fn pick(pairs: &[(&str, &str)]) -> Vec<ChosenOption> {
        pairs
            .iter()
            .map(|(g, c)| ChosenOption {
                group_id: (*g).into(),
                choice_id: (*c).into(),
            })
            .collect()
    }

    #[test]
    fn options_are_checked_against_the_groups_and_priced_in_menu_order() {
        let item = americano();
        let priced = item
            .price_options(&pick(&[
                ("extra-shot", "shot"),
                ("size", "large"),
                ("temperature", "ice"),
                ("extra-shot", "shot"),
            ]))
            .unwrap();
        assert_eq!(priced.delta, 1500);
        let names: Vec<_> = priced.options.iter().map(|o| o.choice.as_str()).collect();
        assert_eq!(names, ["ICE", "Large", "Extra shot", "Extra shot"]);

        let missing = item.price_options(&[]).unwrap_err();
        assert_eq!(missing.to_string(), "choose Temperature for Americano");
        assert!(matches!(
            item.price_options(&pick(&[("temperature", "ice"), ("temperature", "hot")])),
            Err(OptionError::TooMany { max: 1, .. })
        ));
        assert!(matches!(
            item.price_options(&pick(&[("temperature", "warm")])),
            Err(OptionError::UnknownChoice { .. })
        ));
        assert!(matches!(
            item.price_options(&pick(&[("temperature", "ice"), ("syrup", "vanilla")])),
            Err(OptionError::UnknownGroup { .. })
        ));
        let mut no_ice = item.clone();
        no_ice.option_groups[0].choices[1].is_sold_out = true;
        let err = no_ice
            .price_options(&pick(&[("temperature", "ice")]))
            .unwrap_err();
        assert!(err.is_sold_out());
        assert_eq!(err.to_string(), "ICE is sold out for Americano");
        assert!(no_ice
            .price_options(&pick(&[("temperature", "hot")]))
            .is_ok());
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
