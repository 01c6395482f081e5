//! The one error every command returns.

use countertop_client::{CacheError, CartError, ClientError, ErrorKind};
use countertop_protocol::ErrorCode;
use serde::Serialize;
use specta::Type;

/// The one error every command returns: a `code` the UI branches on and a
/// sentence for people.
#[derive(Debug, Clone, Serialize, Type, thiserror::Error)]
#[error("{message} ({code:?})")]
pub struct IpcError {
    pub code: IpcErrorCode,
    pub message: String,
}

/// What the UI tells apart; everything else is `other`, shown by its
/// message. A variant is added only where a screen branches on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Type)]
#[serde(rename_all = "snake_case")]
pub enum IpcErrorCode {
    /// The kiosk's refusals, each with its own text.
    SoldOut,
    InsufficientBalance,
    KioskInactive,
    OrderingPaused,
    /// A team's PIN was wrong (or the team has none).
    WrongPin,
    /// Too many tries: wait a little.
    RateLimited,
    /// The hub did not answer: the change may not have been made.
    Network,
    /// This window or device may not do that.
    Forbidden,
    /// What was typed or chosen is not acceptable; the message says why.
    Validation,
    Other,
}

/// A code equals its wire name: `code == "forbidden"`.
impl PartialEq<&str> for IpcErrorCode {
    fn eq(&self, other: &&str) -> bool {
        serde_json::to_value(self).is_ok_and(|v| v == *other)
    }
}

impl From<ErrorKind> for IpcErrorCode {
    fn from(kind: ErrorKind) -> IpcErrorCode {
        match kind {
            ErrorKind::Hub(ErrorCode::SoldOut) => IpcErrorCode::SoldOut,
            ErrorKind::Hub(ErrorCode::InsufficientBalance) => IpcErrorCode::InsufficientBalance,
            ErrorKind::Hub(ErrorCode::KioskInactive) => IpcErrorCode::KioskInactive,
            ErrorKind::Hub(ErrorCode::Forbidden) => IpcErrorCode::Forbidden,
            ErrorKind::Hub(ErrorCode::Validation) => IpcErrorCode::Validation,
            ErrorKind::Hub(ErrorCode::WrongPin) => IpcErrorCode::WrongPin,
            ErrorKind::Hub(ErrorCode::RateLimited) => IpcErrorCode::RateLimited,
            ErrorKind::OrderingPaused => IpcErrorCode::OrderingPaused,
            ErrorKind::Network => IpcErrorCode::Network,
            _ => IpcErrorCode::Other,
        }
    }
}

impl IpcError {
    pub fn new(code: IpcErrorCode, message: impl Into<String>) -> IpcError {
        IpcError {
            code,
            message: message.into(),
        }
    }
}

impl From<ClientError> for IpcError {
    fn from(e: ClientError) -> IpcError {
        IpcError::new(e.kind().into(), e.to_string())
    }
}

impl From<CacheError> for IpcError {
    fn from(e: CacheError) -> IpcError {
        IpcError::new(IpcErrorCode::Other, e.to_string())
    }
}

impl From<CartError> for IpcError {
    fn from(e: CartError) -> IpcError {
        IpcError::new(e.kind().into(), e.to_string())
    }
}
