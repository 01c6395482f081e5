//! Devices, pairing and bearer tokens.
//!
//! Tokens are HS256 JWTs with the algorithm pinned on verification. A token
//! is accepted only while its device is known and not revoked; that check is
//! made on every request against an in-memory table the hub keeps in step
//! with the `devices` table. Tokens are never logged: the request span logs
//! the path and a redacted query (see `lib.rs`).
//!
//! - `tokens`: the signing secret (`Keys`), minting and verifying tokens.
//! - `devices`: the paired devices in memory and the refreshed tokens' `jti`.
//! - `caller`: who is calling (`Caller`), read from the bearer token.
//! - `pairing`: pairing codes and the limiter of wrong ones.
//! - `audit`: pairings, refreshes and rotations told to the managers' notices.
//! - `pake`: pairing by a typed code over SPAKE2, bound to the hub's
//!   certificate (docs/protocol.md).

mod audit;
mod caller;
mod devices;
mod pairing;
mod pake;
mod rotation;
mod tokens;

use rand::Rng;

use crate::error::AppError;

pub(crate) use caller::{bearer_token, Caller};
pub(crate) use devices::{device_view, DeviceRecord, Devices, MAX_NAME_LEN};
pub use pairing::HUB_WIDE_PAIRING_FAILURES;
pub(crate) use pairing::{create_pairing_code, default_name, PairingLimiter};
pub use pake::CODE_ATTEMPTS;
pub(crate) use pake::{PakeError, PakeSessions};
pub(crate) use rotation::{follow as follow_rotation, secret_id};
pub(crate) use tokens::SECRET_FILE;
pub use tokens::{Keys, PREVIOUS_SECRET_FILE, TOKEN_LIFETIME_DAYS};

/// Why a device could not be paired, revoked or given a new token.
#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    /// Too many wrong pairing codes, from this address or hub-wide.
    #[error("{0}")]
    RateLimited(&'static str),
    #[error("unknown, expired or already used pairing code")]
    WrongCode,
    #[error("{0}")]
    NotFound(String),
    /// A refresh without a valid token to replace.
    #[error("this call needs a device token")]
    NoToken,
    /// A refresh with a token that is forged, expired, revoked, or signed
    /// with the previous secret but never issued by this hub.
    #[error("the device token is invalid, expired or revoked")]
    InvalidToken,
    #[error("{0}")]
    Internal(String),
    /// Something this hub cannot do as it is set up.
    #[error("{0}")]
    Unsupported(&'static str),
    #[error(transparent)]
    Store(#[from] sqlx::Error),
}

impl From<DeviceError> for AppError {
    fn from(err: DeviceError) -> AppError {
        match err {
            DeviceError::RateLimited(message) => AppError::rate_limited(message),
            DeviceError::WrongCode => {
                AppError::unauthorized("unknown, expired or already used pairing code")
            }
            DeviceError::NotFound(message) => AppError::not_found(message),
            DeviceError::NoToken => AppError::unauthorized("this call needs a device token"),
            DeviceError::InvalidToken => {
                AppError::unauthorized("the device token is invalid, expired or revoked")
            }
            DeviceError::Internal(message) => AppError::internal(message),
            DeviceError::Unsupported(message) => {
                AppError::conflict(countertop_protocol::ErrorCode::Validation, message)
            }
            DeviceError::Store(e) => e.into(),
        }
    }
}

/// A random lowercase alphanumeric id of `len` characters.
pub fn random_id(len: usize) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::thread_rng();
    (0..len)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect()
}
