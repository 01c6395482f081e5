//! The kiosk's cart: each line priced with its options and checked against
//! the cached menu (the same rule the hub prices by), so the customer sees
//! the price and hears a refusal before the order leaves the kiosk.

use std::collections::BTreeMap;

use countertop_protocol::{Cell, LineOption, MenuItem, NewOrderItem, OptionError, PayType};

/// Why a cart cannot be ordered; [`CartError::code`] is the code the hub
/// would answer with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CartError {
    #[error("the cart is empty")]
    Empty,
    #[error("that item is no longer on the menu")]
    NotOnMenu,
    #[error("{0} is sold out")]
    SoldOut(String),
    /// Fewer left than the cart holds.
    #[error("only {left} {name} left")]
    OnlyLeft { name: String, left: i64 },
    #[error(transparent)]
    Options(OptionError),
    #[error("choose a team to pay with")]
    NoCell,
    #[error("that team does not exist")]
    UnknownCell,
    #[error("{0} has not enough points for this order")]
    InsufficientBalance(String),
}

impl CartError {
    /// The hub's code for the same refusal.
    pub fn error_code(&self) -> countertop_protocol::ErrorCode {
        use countertop_protocol::ErrorCode;
        match self {
            CartError::Empty | CartError::NoCell => ErrorCode::Validation,
            CartError::Options(e) if e.is_sold_out() => ErrorCode::SoldOut,
            CartError::Options(_) => ErrorCode::Validation,
            CartError::NotOnMenu | CartError::UnknownCell => ErrorCode::NotFound,
            CartError::SoldOut(_) | CartError::OnlyLeft { .. } => ErrorCode::SoldOut,
            CartError::InsufficientBalance(_) => ErrorCode::InsufficientBalance,
        }
    }

    pub fn kind(&self) -> crate::ErrorKind {
        crate::ErrorKind::Hub(self.error_code())
    }

    pub fn code(&self) -> &'static str {
        self.error_code().as_str()
    }
}

/// One line of the cart as the hub would price it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuotedLine {
    pub menu_id: String,
    pub quantity: u32,
    /// The options by name, in the menu's order.
    pub options: Vec<LineOption>,
    /// The item's price plus its options' deltas.
    pub unit_price: i64,
    pub total_price: i64,
    /// What the hub would refuse of this line, if anything.
    pub problem: Option<CartError>,
}

/// The cart priced: every line, the total, and whether it may be ordered.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Quote {
    pub lines: Vec<QuotedLine>,
    pub total: i64,
}

impl Quote {
    /// The first refusal, if any line has one.
    pub fn problem(&self) -> Option<&CartError> {
        self.lines.iter().find_map(|l| l.problem.as_ref())
    }
}

/// Prices `lines` from the cached menu: each line's options checked and
/// priced, sold-out items and choices flagged, and items with a stock
/// flagged on every line of theirs when the cart wants more than are left.
pub fn quote(lines: &[NewOrderItem], menu: &[MenuItem]) -> Quote {
    let mut quote = Quote::default();
    let mut wanted: BTreeMap<&str, i64> = BTreeMap::new();
    for line in lines {
        *wanted.entry(line.menu_id.as_str()).or_default() += i64::from(line.quantity);
    }
    for line in lines {
        let mut quoted = QuotedLine {
            menu_id: line.menu_id.clone(),
            quantity: line.quantity,
            options: Vec::new(),
            unit_price: 0,
            total_price: 0,
            problem: None,
        };
        match menu.iter().find(|m| m.id == line.menu_id) {
            None => quoted.problem = Some(CartError::NotOnMenu),
            Some(item) => {
                match item.price_options(&line.options) {
                    Ok(priced) => {
                        quoted.options = priced.options;
                        quoted.unit_price = item.price.saturating_add(priced.delta);
                    }
                    Err(e) => {
                        quoted.unit_price = item.price;
                        quoted.problem = Some(CartError::Options(e));
                    }
                }
                quoted.total_price = quoted.unit_price.saturating_mul(i64::from(line.quantity));
                let left = item.stock.unwrap_or(i64::MAX);
                if item.is_sold_out || left <= 0 {
                    quoted.problem = Some(CartError::SoldOut(item.name.clone()));
                } else if wanted.get(item.id.as_str()).copied().unwrap_or(0) > left {
                    quoted.problem = Some(CartError::OnlyLeft {
                        name: item.name.clone(),
                        left,
                    });
                }
            }
        }
        quote.total = quote.total.saturating_add(quoted.total_price);
        quote.lines.push(quoted);
    }
    quote
}

/// Checks a cart against the cached menu and cells: every line is on the
/// menu, its options are valid and in stock, there is stock enough, and a
/// cell payment names a cell with points enough for the total.
pub fn check(
    lines: &[NewOrderItem],
    pay: PayType,
    cell_id: Option<&str>,
    menu: &[MenuItem],
    cells: &[Cell],
) -> Result<Quote, CartError> {
    if lines.is_empty() {
        return Err(CartError::Empty);
    }
    let quote = quote(lines, menu);
    if let Some(problem) = quote.problem() {
        return Err(problem.clone());
    }
    if pay == PayType::Cell {
        let id = cell_id.ok_or(CartError::NoCell)?;
        let cell = cells
            .iter()
            .find(|c| c.id == id)
            .ok_or(CartError::UnknownCell)?;
        if cell.balance < quote.total {
            return Err(CartError::InsufficientBalance(cell.name.clone()));
        }
    }
    Ok(quote)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(id: &str, price: i64, sold_out: bool) -> MenuItem {
        MenuItem {
            id: id.to_owned(),
            name: format!("item {id}"),
            category: "coffee".to_owned(),
            price,
            is_sold_out: sold_out,
            stock: None,
            option_groups: Vec::new(),
            station: countertop_protocol::DEFAULT_STATION.to_owned(),
            names: Default::default(),
            position: 0,
            photo: None,
        }
    }

    fn line(menu_id: &str, quantity: u32) -> NewOrderItem {
        NewOrderItem {
            menu_id: menu_id.to_owned(),
            quantity,
            options: Vec::new(),
        }
    }

    fn cell(balance: i64) -> Cell {
        Cell {
            id: "c1".to_owned(),
            name: "Team A".to_owned(),
            balance,
            has_pin: true,
        }
    }

    #[test]
    fn an_empty_cart_is_refused() {
        let err = check(&[], PayType::Card, None, &[item("m1", 300, false)], &[]).unwrap_err();
        assert_eq!(
            (err.code(), err.to_string().as_str()),
            ("validation", "the cart is empty")
        );
    }

    #[test]
    fn an_item_off_the_menu_or_sold_out_is_refused() {
        let menu = [item("m1", 300, false), item("m2", 400, true)];
        let err = check(&[line("gone", 1)], PayType::Cash, None, &menu, &[]).unwrap_err();
        assert_eq!(err.code(), "not_found");
        let err = check(
            &[line("m1", 1), line("m2", 1)],
            PayType::Cash,
            None,
            &menu,
            &[],
        )
        .unwrap_err();
        assert_eq!(err, CartError::SoldOut("item m2".to_owned()));
        assert_eq!(
            (err.code(), err.to_string().as_str()),
            ("sold_out", "item m2 is sold out")
        );
    }

    #[test]
    fn a_cell_payment_needs_a_known_cell_with_points_for_the_total() {
        let menu = [item("m1", 300, false)];
        let cart = [line("m1", 2)];
        let err = check(&cart, PayType::Cell, None, &menu, &[cell(600)]).unwrap_err();
        assert_eq!(err, CartError::NoCell);
        assert_eq!(err.code(), "validation");
        let err = check(&cart, PayType::Cell, Some("c9"), &menu, &[cell(600)]).unwrap_err();
        assert_eq!((err.code(), err), ("not_found", CartError::UnknownCell));
        let err = check(&cart, PayType::Cell, Some("c1"), &menu, &[cell(599)]).unwrap_err();
        assert_eq!(err.code(), "insufficient_balance");
        assert_eq!(
            err.to_string(),
            "Team A has not enough points for this order"
        );
        assert_eq!(
            check(&cart, PayType::Cell, Some("c1"), &menu, &[cell(600)]).map(|q| q.total),
            Ok(600)
        );
    }

    #[test]
    fn card_and_cash_carts_of_menu_items_pass() {
        let menu = [item("m1", 300, false)];
        assert_eq!(
            check(&[line("m1", 3)], PayType::Card, None, &menu, &[]).map(|q| q.total),
            Ok(900)
        );
        // A cell that is not used is not looked at.
        assert!(check(&[line("m1", 3)], PayType::Cash, Some("c9"), &menu, &[]).is_ok());
    }

    fn americano() -> MenuItem {
        let mut m = item("americano", 4000, false);
        m.name = "Americano".into();
        m.option_groups = serde_json::from_str(
            r#"[{"id":"temperature","name":"Temperature","required":true,"min":1,"max":1,
                 "choices":[{"id":"hot","name":"HOT"},{"id":"ice","name":"ICE"}]},
                {"id":"extra-shot","name":"Extra shot","required":false,"min":0,"max":3,
                 "choices":[{"id":"shot","name":"Extra shot","priceDelta":500}]}]"#,
        )
        .unwrap();
        m
    }

    fn with(menu_id: &str, quantity: u32, options: &[(&str, &str)]) -> NewOrderItem {
        NewOrderItem {
            menu_id: menu_id.to_owned(),
            quantity,
            options: options
                .iter()
                .map(|(g, c)| countertop_protocol::ChosenOption {
                    group_id: (*g).into(),
                    choice_id: (*c).into(),
                })
                .collect(),
        }
    }

    #[test]
    fn a_line_is_priced_with_its_options_and_flagged_when_they_are_wrong() {
        let menu = [americano()];
        let q = quote(
            &[with(
                "americano",
                2,
                &[
                    ("temperature", "ice"),
                    ("extra-shot", "shot"),
                    ("extra-shot", "shot"),
                ],
            )],
            &menu,
        );
        assert_eq!(q.lines[0].unit_price, 5000);
        assert_eq!(q.total, 10000);
        assert_eq!(q.problem(), None);
        let q = quote(&[with("americano", 1, &[("extra-shot", "shot")])], &menu);
        let err = q.problem().unwrap();
        assert_eq!(err.code(), "validation");
        assert_eq!(err.to_string(), "choose Temperature for Americano");
    }

    #[test]
    fn a_stock_shorter_than_the_cart_flags_every_line_of_that_item() {
        let mut cake = item("cheesecake", 5500, false);
        cake.name = "Cheesecake".into();
        cake.stock = Some(1);
        let menu = [cake, item("m1", 300, false)];
        let q = quote(
            &[line("cheesecake", 1), line("m1", 1), line("cheesecake", 1)],
            &menu,
        );
        let flagged: Vec<bool> = q.lines.iter().map(|l| l.problem.is_some()).collect();
        assert_eq!(flagged, [true, false, true]);
        let err = q.problem().unwrap();
        assert_eq!(
            (err.code(), err.to_string().as_str()),
            ("sold_out", "only 1 Cheesecake left")
        );
        assert!(quote(&[line("cheesecake", 1)], &menu).problem().is_none());
    }
}
