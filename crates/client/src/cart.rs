//! The kiosk's cart check: what the hub would refuse in an order, refused
//! at once from the cache, so the customer hears it before the order
//! leaves the kiosk.

use countertop_protocol::{Cell, MenuItem, NewOrderItem, PayType};

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
    #[error("choose a cell to pay with")]
    NoCell,
    #[error("that cell does not exist")]
    UnknownCell,
    #[error("{0} has not enough points for this order")]
    InsufficientBalance(String),
}

impl CartError {
    /// The stable code, as the hub spells it.
    /// The hub's code for the same refusal.
    pub fn error_code(&self) -> countertop_protocol::ErrorCode {
        use countertop_protocol::ErrorCode;
        match self {
            CartError::Empty | CartError::NoCell => ErrorCode::Validation,
            CartError::NotOnMenu | CartError::UnknownCell => ErrorCode::NotFound,
            CartError::SoldOut(_) => ErrorCode::SoldOut,
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

/// Checks a cart against the cached menu and cells: every line is on the
/// menu and not sold out, and a cell payment names a cell with points
/// enough for the total.
pub fn check(
    lines: &[NewOrderItem],
    pay: PayType,
    cell_id: Option<&str>,
    menu: &[MenuItem],
    cells: &[Cell],
) -> Result<(), CartError> {
    if lines.is_empty() {
        return Err(CartError::Empty);
    }
    let mut total = 0i64;
    for line in lines {
        let item = menu
            .iter()
            .find(|m| m.id == line.menu_id)
            .ok_or(CartError::NotOnMenu)?;
        if item.is_sold_out {
            return Err(CartError::SoldOut(item.name.clone()));
        }
        total += item.price * i64::from(line.quantity);
    }
    if pay == PayType::Cell {
        let id = cell_id.ok_or(CartError::NoCell)?;
        let cell = cells
            .iter()
            .find(|c| c.id == id)
            .ok_or(CartError::UnknownCell)?;
        if cell.balance < total {
            return Err(CartError::InsufficientBalance(cell.name.clone()));
        }
    }
    Ok(())
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
        }
    }

    fn line(menu_id: &str, quantity: u32) -> NewOrderItem {
        NewOrderItem {
            menu_id: menu_id.to_owned(),
            quantity,
            options: None,
        }
    }

    fn cell(balance: i64) -> Cell {
        Cell {
            id: "c1".to_owned(),
            name: "Team A".to_owned(),
            balance,
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
            check(&cart, PayType::Cell, Some("c1"), &menu, &[cell(600)]),
            Ok(())
        );
    }

    #[test]
    fn card_and_cash_carts_of_menu_items_pass() {
        let menu = [item("m1", 300, false)];
        assert_eq!(
            check(&[line("m1", 3)], PayType::Card, None, &menu, &[]),
            Ok(())
        );
        // A cell that is not used is not looked at.
        assert_eq!(
            check(&[line("m1", 3)], PayType::Cash, Some("c9"), &menu, &[]),
            Ok(())
        );
    }
}
