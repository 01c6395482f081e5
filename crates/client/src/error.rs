//! Error types, one per layer, each saying whether a caller may retry.

use countertop_protocol::{ErrorBody, ErrorCode};

/// What kind of failure, for a caller to branch on: the hub's own error
/// code, or one of the client's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    Hub(ErrorCode),
    Network,
    Timeout,
    Protocol,
    Cache,
    Token,
    NotPaired,
    OrderingPaused,
    Stopped,
    /// The hub's address answered with another key than the pinned one.
    NotYourHub,
}

/// A failure talking to the hub, over HTTP or the WebSocket.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    /// The hub could not be reached or the link broke; worth retrying.
    #[error("network: {0}")]
    Network(String),
    /// The hub did not answer in time; worth retrying.
    #[error("the hub did not answer in time")]
    Timeout,
    /// The device token was refused (expired, forged or revoked). Retrying
    /// with the same token will not help: the device has to be paired again.
    #[error("the hub refused this device's token")]
    Unauthorized,
    /// The hub answered with an error the caller has to branch on.
    #[error("hub answered HTTP {status}: {} ({})", .body.message, .body.code)]
    Hub { status: u16, body: ErrorBody },
    /// The hub sent something this client does not understand.
    #[error("protocol: {0}")]
    Protocol(String),
    /// The hub's address answered with another certificate key than the one
    /// this device pinned when it paired: another machine, or someone in the
    /// middle. Nothing was sent to it.
    #[error("this is not your hub: it shows the key {} where this device paired with {}", .shown.short(), .expected.short())]
    NotYourHub {
        expected: crate::pin::Fingerprint,
        shown: crate::pin::Fingerprint,
    },
}

impl LinkError {
    /// Whether the same request may succeed later without anyone acting.
    pub fn is_transient(&self) -> bool {
        match self {
            LinkError::Network(_) | LinkError::Timeout | LinkError::Protocol(_) => true,
            LinkError::Unauthorized | LinkError::NotYourHub { .. } => false,
            LinkError::Hub { status, .. } => *status >= 500 || *status == 429 || *status == 408,
        }
    }

    pub fn kind(&self) -> ErrorKind {
        match self {
            LinkError::Network(_) => ErrorKind::Network,
            LinkError::Timeout => ErrorKind::Timeout,
            LinkError::Unauthorized => ErrorKind::Hub(ErrorCode::Unauthorized),
            LinkError::Hub { body, .. } => ErrorKind::Hub(ErrorCode::parse(&body.code)),
            LinkError::Protocol(_) => ErrorKind::Protocol,
            LinkError::NotYourHub { .. } => ErrorKind::NotYourHub,
        }
    }

    /// The stable snake_case code of this failure.
    pub fn code(&self) -> &str {
        match self {
            LinkError::Network(_) => "network",
            LinkError::Timeout => "timeout",
            LinkError::Unauthorized => "unauthorized",
            LinkError::Hub { body, .. } => &body.code,
            LinkError::Protocol(_) => "protocol",
            LinkError::NotYourHub { .. } => "not_your_hub",
        }
    }
}

/// A failure of the local cache (SQLite).
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error("cache database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("cache holds malformed JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("cache folder {path}: {source}")]
    Folder {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    /// A file written by a newer release (its schema version is above this
    /// binary's): left as it is, since its outbox may hold unsent work.
    #[error(
        "the cache {path} was made by a newer Countertop (schema version {found}; this one knows \
         {known}); it was left as it is, since it may hold orders not yet sent. Install that \
         version again, or move the file away to start this device afresh"
    )]
    Newer {
        path: std::path::PathBuf,
        found: i64,
        known: i64,
    },
}

/// A failure storing or reading the device token.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("token file {path}: {source}")]
    File {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
}

/// What the client core's API returns to its callers (the app shell, the CLI).
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error(transparent)]
    Link(#[from] LinkError),
    #[error(transparent)]
    Cache(#[from] CacheError),
    #[error(transparent)]
    Token(#[from] TokenError),
    /// This folder has no paired device yet.
    #[error("this device is not paired: run `pair` first")]
    NotPaired,
    /// Kiosk ordering is paused: the hub is out of reach and this site does
    /// not take orders offline.
    #[error("ordering is paused until the hub is back")]
    OrderingPaused,
    /// The hub's `is_kiosk_active` setting is off.
    #[error("the kiosk is switched off by the café")]
    KioskInactive,
    /// This device's role may not do that.
    #[error("a {role} device cannot {action}")]
    NotAllowed {
        role: &'static str,
        action: &'static str,
    },
    /// The connection task has stopped.
    #[error("the connection has stopped")]
    Stopped,
    /// Team points are spent only while the hub is reachable.
    #[error("team points can be used only while the counter is connected")]
    CellNeedsHub,
}

impl ClientError {
    /// `NotAllowed` unless `role` may do `action` (the protocol's role
    /// table): refused before any round trip to the hub.
    pub fn unless_role(
        role: countertop_protocol::Role,
        action: countertop_protocol::Action,
    ) -> Result<(), ClientError> {
        if role.may(action) {
            Ok(())
        } else {
            Err(ClientError::NotAllowed {
                role: role.as_str(),
                action: action.describe(),
            })
        }
    }

    pub fn kind(&self) -> ErrorKind {
        match self {
            ClientError::Link(e) => e.kind(),
            ClientError::Cache(_) => ErrorKind::Cache,
            ClientError::Token(_) => ErrorKind::Token,
            ClientError::NotPaired => ErrorKind::NotPaired,
            ClientError::OrderingPaused => ErrorKind::OrderingPaused,
            ClientError::KioskInactive => ErrorKind::Hub(ErrorCode::KioskInactive),
            ClientError::NotAllowed { .. } => ErrorKind::Hub(ErrorCode::Forbidden),
            ClientError::Stopped => ErrorKind::Stopped,
            ClientError::CellNeedsHub => ErrorKind::OrderingPaused,
        }
    }

    /// The stable snake_case code (the hub's, or the client's own).
    pub fn code(&self) -> &str {
        match self {
            ClientError::Link(e) => e.code(),
            ClientError::Cache(_) => "cache",
            ClientError::Token(_) => "token",
            ClientError::NotPaired => "not_paired",
            ClientError::OrderingPaused => "ordering_paused",
            ClientError::KioskInactive => "kiosk_inactive",
            ClientError::NotAllowed { .. } => "forbidden",
            ClientError::Stopped => "stopped",
            ClientError::CellNeedsHub => "ordering_paused",
        }
    }
}
