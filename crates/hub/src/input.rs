//! Checks of the values a caller sends, shared by every domain: what is
//! wrong comes back as [`Invalid`], which answers as a `validation` error.

use crate::error::AppError;

/// A value a caller sent that the hub does not take, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub(crate) struct Invalid(pub String);

impl From<Invalid> for AppError {
    fn from(err: Invalid) -> AppError {
        AppError::validation(err.0)
    }
}

/// Why a plain change (a menu item, a cell, a setting, a notice) was
/// refused; each of those domains names it (`MenuError`, `CellError`, ...).
#[derive(Debug, thiserror::Error)]
pub(crate) enum Refused {
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    NotFound(String),
    #[error(transparent)]
    Store(#[from] sqlx::Error),
}

impl From<Invalid> for Refused {
    fn from(err: Invalid) -> Refused {
        Refused::Invalid(err.0)
    }
}

impl From<Refused> for AppError {
    fn from(err: Refused) -> AppError {
        match err {
            Refused::Invalid(message) => AppError::validation(message),
            Refused::NotFound(message) => AppError::not_found(message),
            Refused::Store(e) => e.into(),
        }
    }
}

/// A required text field: trimmed, non-empty, at most `max` characters, no
/// control characters.
pub(crate) fn text(field: &str, value: &str, max: usize) -> Result<String, Invalid> {
    let value = value.trim();
    if value.is_empty() {
        return Err(Invalid(format!("{field} must not be empty")));
    }
    if value.chars().count() > max {
        return Err(Invalid(format!("{field} is longer than {max} characters")));
    }
    if value.chars().any(|c| c.is_control() && c != '\n') {
        return Err(Invalid(format!("{field} contains control characters")));
    }
    Ok(value.to_owned())
}

/// An amount of money in minor units, within sane bounds.
pub(crate) fn amount(field: &str, value: i64, min: i64) -> Result<i64, Invalid> {
    const MAX: i64 = 1_000_000_000_000;
    if value < min || value > MAX {
        return Err(Invalid(format!("{field} must be between {min} and {MAX}")));
    }
    Ok(value)
}
