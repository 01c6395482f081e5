//! The one error every command returns.

use countertop_client::{CacheError, CartError, ClientError};
use serde::Serialize;
use specta::Type;

/// The one error every command returns: a stable snake_case `code` the UI
/// branches on (`sold_out`, `insufficient_balance`, `ordering_paused`, ...)
/// and a sentence for people.
#[derive(Debug, Clone, Serialize, Type, thiserror::Error)]
#[error("{message} ({code})")]
pub struct IpcError {
    pub code: String,
    pub message: String,
}

impl IpcError {
    pub fn new(code: &str, message: impl Into<String>) -> IpcError {
        IpcError {
            code: code.to_owned(),
            message: message.into(),
        }
    }
}

impl From<ClientError> for IpcError {
    fn from(e: ClientError) -> IpcError {
        IpcError::new(e.code(), e.to_string())
    }
}

impl From<CacheError> for IpcError {
    fn from(e: CacheError) -> IpcError {
        IpcError::new("cache", e.to_string())
    }
}

impl From<CartError> for IpcError {
    fn from(e: CartError) -> IpcError {
        IpcError::new(e.code(), e.to_string())
    }
}
