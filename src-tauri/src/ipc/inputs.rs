//! What the UI sends with a command, beyond plain strings and numbers.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use specta::Type;

use super::views::{OptionGroupEntry, RoleName, WorkorderLineEntry};

/// The first-run choice: host the hub here, or join one.
#[derive(Debug, Clone, Serialize, Deserialize, Type)]
#[serde(tag = "mode", rename_all = "camelCase")]
pub enum SetupChoice {
    Host {
        role: RoleName,
        /// Other devices will join this one: serve the LAN over TLS.
        #[serde(default)]
        lan: bool,
    },
    #[serde(rename_all = "camelCase")]
    Join { hub_url: String, code: String },
}

/// One line of the kiosk's cart.
#[derive(Debug, Clone, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct CartLine {
    pub menu_id: String,
    pub quantity: u32,
    /// One entry per choice chosen (an extra shot taken twice is here twice).
    pub options: Vec<ChosenOptionInput>,
}

#[derive(Debug, Clone, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct ChosenOptionInput {
    pub group_id: String,
    pub choice_id: String,
}

impl From<CartLine> for countertop_protocol::NewOrderItem {
    fn from(l: CartLine) -> countertop_protocol::NewOrderItem {
        countertop_protocol::NewOrderItem {
            menu_id: l.menu_id,
            quantity: l.quantity,
            options: l
                .options
                .into_iter()
                .map(|o| countertop_protocol::ChosenOption {
                    group_id: o.group_id,
                    choice_id: o.choice_id,
                })
                .collect(),
        }
    }
}

/// A new menu item, from the manager's menu editor.
#[derive(Debug, Clone, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct NewMenuInput {
    pub name: String,
    pub category: String,
    pub price: f64,
    pub stock: Option<f64>,
}

/// A change to a menu item; `null` fields stay as they are, `clearStock`
/// stops counting its stock.
#[derive(Debug, Clone, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct MenuPatchInput {
    pub name: Option<String>,
    pub category: Option<String>,
    pub price: Option<f64>,
    pub stock: Option<f64>,
    pub clear_stock: bool,
    pub is_sold_out: Option<bool>,
    /// Every option group of the item: they replace the old ones.
    #[serde(default)]
    pub option_groups: Option<Vec<OptionGroupEntry>>,
    /// The station that makes it, a free word (`bar`, `kitchen`).
    #[serde(default)]
    pub station: Option<String>,
    /// Its names in other languages, all of them (an empty name is left out).
    #[serde(default)]
    pub names: Option<BTreeMap<String, String>>,
    /// Its new place in the menu, 0 first.
    #[serde(default)]
    pub position: Option<f64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct NewWorkorderInput {
    pub title: String,
    pub customer_name: String,
    pub lines: Vec<WorkorderLineEntry>,
}
