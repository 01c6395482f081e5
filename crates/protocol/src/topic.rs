//! Topic names and the role table that says who may read them.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The longest order id a topic name may carry.
const MAX_ORDER_ID_LEN: usize = 64;

/// A topic a connection can subscribe to.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Topic {
    Orders,
    Order(String),
    Board,
    /// `board:{n}`: the board's view of today's order with daily number `n`.
    BoardNumber(u32),
    Menu,
    Settings,
    Cells,
    Workorders,
    System,
    /// `notices`: a manager's notices (`system:notification`) for the
    /// counter's screens; a `system` reader reads them through `system`.
    Notices,
    Dashboard,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown topic \"{0}\"")]
pub struct TopicError(pub String);

impl Topic {
    /// Parses a topic name as clients send it.
    pub fn parse(name: &str) -> Result<Topic, TopicError> {
        Ok(match name {
            "orders" => Topic::Orders,
            "board" => Topic::Board,
            "menu" => Topic::Menu,
            "settings" => Topic::Settings,
            "cells" => Topic::Cells,
            "workorders" => Topic::Workorders,
            "system" => Topic::System,
            "notices" => Topic::Notices,
            "dashboard" => Topic::Dashboard,
            other => match (other.strip_prefix("order:"), other.strip_prefix("board:")) {
                (Some(id), _) if is_valid_order_id(id) => Topic::Order(id.to_owned()),
                (_, Some(n)) if is_daily_number(n) => Topic::BoardNumber(n.parse().unwrap_or(0)),
                _ => {
                    let shown: String = name.chars().take(80).collect();
                    return Err(TopicError(shown));
                }
            },
        })
    }

    /// The wider topic whose readers also read this one's events: a
    /// notice is announced once, on `notices`, and a manager reads it
    /// through `system` as well (and once, whichever of them it holds).
    pub fn also_read_through(&self) -> Option<Topic> {
        match self {
            Topic::Notices => Some(Topic::System),
            _ => None,
        }
    }

    /// Topics every role (and anonymous) may read.
    pub fn is_public(&self) -> bool {
        matches!(
            self,
            Topic::Board | Topic::BoardNumber(_) | Topic::Menu | Topic::Settings
        )
    }
}

/// The largest daily number a topic may name.
pub const MAX_DAILY_NUMBER: u32 = 999_999;

/// `1` to `999999`, digits only, no leading zero.
fn is_daily_number(n: &str) -> bool {
    !n.is_empty() && n.len() <= 6 && !n.starts_with('0') && n.bytes().all(|b| b.is_ascii_digit())
}

/// Order ids are `ORD-<millis>-<suffix>`; anything printable and short is
/// accepted here, the hub checks existence.
pub fn is_valid_order_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_ORDER_ID_LEN
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

impl fmt::Display for Topic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Topic::Orders => f.write_str("orders"),
            Topic::Order(id) => write!(f, "order:{id}"),
            Topic::Board => f.write_str("board"),
            Topic::BoardNumber(n) => write!(f, "board:{n}"),
            Topic::Menu => f.write_str("menu"),
            Topic::Settings => f.write_str("settings"),
            Topic::Cells => f.write_str("cells"),
            Topic::Workorders => f.write_str("workorders"),
            Topic::System => f.write_str("system"),
            Topic::Notices => f.write_str("notices"),
            Topic::Dashboard => f.write_str("dashboard"),
        }
    }
}

impl Serialize for Topic {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Topic {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Topic::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for name in [
            "orders",
            "order:ORD-1737005400000-abc123",
            "board",
            "board:42",
            "menu",
            "settings",
            "cells",
            "workorders",
            "system",
            "notices",
            "dashboard",
        ] {
            assert_eq!(Topic::parse(name).unwrap().to_string(), name);
        }
        assert!(Topic::parse("order:").is_err());
        assert!(Topic::parse("order:a b").is_err());
        assert!(Topic::parse("everything").is_err());
        for bad in [
            "board:",
            "board:0",
            "board:007",
            "board:-1",
            "board:1234567",
            "board:x",
        ] {
            assert!(Topic::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            Topic::parse("board:999999"),
            Ok(Topic::BoardNumber(MAX_DAILY_NUMBER))
        );
    }
}
