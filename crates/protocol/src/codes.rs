//! The protocol's closed vocabularies as types: error codes, setting keys
//! and dashboard widgets. Each is written on the wire as its snake_case name.

use serde::{Deserialize, Serialize};

/// The stable `code` of every error the hub answers with, over HTTP and in
/// `error` events. Clients branch on it; a code this build does not know
/// reads as [`ErrorCode::Other`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    SoldOut,
    InsufficientBalance,
    KioskInactive,
    InvalidTransition,
    Forbidden,
    Unauthorized,
    NotFound,
    Validation,
    RateLimited,
    PayloadTooLarge,
    RequestTimeout,
    /// A `subscribe` with `since` named a topic the connection reads already.
    AlreadySubscribed,
    /// A cell's PIN was missing or wrong (or the cell has none, at a kiosk).
    WrongPin,
    /// A token or a pairing code sent over plain HTTP from beyond the
    /// hub's own machine (`426`): send it over HTTPS.
    TlsRequired,
    /// A typed-code pairing (PAKE) did not confirm: a wrong code, an
    /// expired session, or a certificate swapped on the way (`401`).
    PairingFailed,
    /// The hub node cannot reach its database now (`503`, with
    /// `Retry-After`): try again, here or on another node.
    DatabaseUnavailable,
    Internal,
    #[serde(other)]
    Other,
}

impl ErrorCode {
    pub const ALL: [ErrorCode; 18] = [
        ErrorCode::SoldOut,
        ErrorCode::InsufficientBalance,
        ErrorCode::KioskInactive,
        ErrorCode::InvalidTransition,
        ErrorCode::Forbidden,
        ErrorCode::Unauthorized,
        ErrorCode::NotFound,
        ErrorCode::Validation,
        ErrorCode::RateLimited,
        ErrorCode::PayloadTooLarge,
        ErrorCode::RequestTimeout,
        ErrorCode::AlreadySubscribed,
        ErrorCode::WrongPin,
        ErrorCode::TlsRequired,
        ErrorCode::PairingFailed,
        ErrorCode::DatabaseUnavailable,
        ErrorCode::Internal,
        ErrorCode::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::SoldOut => "sold_out",
            ErrorCode::InsufficientBalance => "insufficient_balance",
            ErrorCode::KioskInactive => "kiosk_inactive",
            ErrorCode::InvalidTransition => "invalid_transition",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::Unauthorized => "unauthorized",
            ErrorCode::NotFound => "not_found",
            ErrorCode::Validation => "validation",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::PayloadTooLarge => "payload_too_large",
            ErrorCode::RequestTimeout => "request_timeout",
            ErrorCode::AlreadySubscribed => "already_subscribed",
            ErrorCode::WrongPin => "wrong_pin",
            ErrorCode::TlsRequired => "tls_required",
            ErrorCode::PairingFailed => "pairing_failed",
            ErrorCode::DatabaseUnavailable => "database_unavailable",
            ErrorCode::Internal => "internal",
            ErrorCode::Other => "other",
        }
    }

    pub fn parse(s: &str) -> ErrorCode {
        ErrorCode::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .unwrap_or(ErrorCode::Other)
    }
}

/// A code equals its wire name: `code == "sold_out"`.
impl PartialEq<&str> for ErrorCode {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The settings every hub has (`GET /api/settings`), with their defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SettingKey {
    /// `"true"`/`"false"`: off puts every kiosk on its maintenance screen.
    IsKioskActive,
    /// ISO 4217.
    Currency,
    CafeName,
    /// Minutes after which an order's timer turns amber, then red.
    TimerAmberMinutes,
    TimerRedMinutes,
    /// `"true"`: kiosks take orders while the hub is out of reach.
    OfflineOrdering,
    /// The café's language (a device may pick its own).
    Language,
    /// Seconds without a touch before a kiosk asks "Still there?" and then
    /// starts afresh for the next customer.
    KioskIdleSeconds,
    /// `"0"` to `"100"`: how loud every device's alert sounds play (a
    /// device's own mute still wins).
    ChimeVolume,
}

impl SettingKey {
    pub const ALL: [SettingKey; 9] = [
        SettingKey::IsKioskActive,
        SettingKey::Currency,
        SettingKey::CafeName,
        SettingKey::TimerAmberMinutes,
        SettingKey::TimerRedMinutes,
        SettingKey::OfflineOrdering,
        SettingKey::Language,
        SettingKey::KioskIdleSeconds,
        SettingKey::ChimeVolume,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SettingKey::IsKioskActive => "is_kiosk_active",
            SettingKey::Currency => "currency",
            SettingKey::CafeName => "cafe_name",
            SettingKey::TimerAmberMinutes => "timer_amber_minutes",
            SettingKey::TimerRedMinutes => "timer_red_minutes",
            SettingKey::OfflineOrdering => "offline_ordering",
            SettingKey::Language => "language",
            SettingKey::KioskIdleSeconds => "kiosk_idle_seconds",
            SettingKey::ChimeVolume => "chime_volume",
        }
    }

    pub fn parse(s: &str) -> Option<SettingKey> {
        SettingKey::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// The value a new hub starts with.
    pub fn default_value(self) -> &'static str {
        match self {
            SettingKey::IsKioskActive => "true",
            SettingKey::Currency => "KRW",
            SettingKey::CafeName => "Countertop Café",
            SettingKey::TimerAmberMinutes => "5",
            SettingKey::TimerRedMinutes => "10",
            SettingKey::OfflineOrdering => "false",
            SettingKey::Language => "en",
            SettingKey::KioskIdleSeconds => "60",
            SettingKey::ChimeVolume => "80",
        }
    }
}

/// The dashboard figures the hub keeps current (`dashboard:update`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Widget {
    OrdersToday,
    RevenueToday,
    OpenOrders,
    AvgPrepSeconds,
}

impl Widget {
    pub const ALL: [Widget; 4] = [
        Widget::OrdersToday,
        Widget::RevenueToday,
        Widget::OpenOrders,
        Widget::AvgPrepSeconds,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Widget::OrdersToday => "orders_today",
            Widget::RevenueToday => "revenue_today",
            Widget::OpenOrders => "open_orders",
            Widget::AvgPrepSeconds => "avg_prep_seconds",
        }
    }

    pub fn parse(s: &str) -> Option<Widget> {
        Widget::ALL.into_iter().find(|w| w.as_str() == s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_name_is_its_wire_form_and_reads_back() {
        for code in ErrorCode::ALL {
            let json = serde_json::to_string(&code).unwrap();
            assert_eq!(json, format!("\"{}\"", code.as_str()));
            assert_eq!(serde_json::from_str::<ErrorCode>(&json).unwrap(), code);
            assert_eq!(ErrorCode::parse(code.as_str()), code);
        }
        assert_eq!(
            serde_json::from_str::<ErrorCode>("\"something_new\"").unwrap(),
            ErrorCode::Other
        );
        for key in SettingKey::ALL {
            let json = serde_json::to_string(&key).unwrap();
            assert_eq!(json, format!("\"{}\"", key.as_str()));
            assert_eq!(SettingKey::parse(key.as_str()), Some(key));
        }
        for widget in Widget::ALL {
            let json = serde_json::to_string(&widget).unwrap();
            assert_eq!(json, format!("\"{}\"", widget.as_str()));
            assert_eq!(Widget::parse(widget.as_str()), Some(widget));
        }
    }
}
