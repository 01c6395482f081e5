//! The Origin allow-list, one rule for every transport and for CORS: the
//! app's own origins, the ones given with `--allow-origin`, and the hub's own
//! (the addresses it listens on). An `Origin` that merely equals the `Host`
//! header proves nothing: a page on an attacker's name that resolves to the
//! hub (DNS rebinding) sends both alike.

use axum::http::{header, HeaderMap};

use crate::error::AppError;
use crate::{Hub, APP_ORIGINS};

/// Whether a page of `origin` may talk to the hub.
pub fn is_allowed(hub: &Hub, origin: &str) -> bool {
    let origin = origin.trim_end_matches('/');
    APP_ORIGINS.contains(&origin)
        || hub
            .config
            .allowed_origins
            .iter()
            .any(|o| o.trim_end_matches('/').eq_ignore_ascii_case(origin))
        || hub
            .own_origins
            .get()
            .is_some_and(|own| own.iter().any(|o| o.eq_ignore_ascii_case(origin)))
}

/// A request without `Origin` is a native client and allowed; otherwise the
/// origin must be on the allow-list.
pub fn check(hub: &Hub, headers: &HeaderMap) -> Result<(), AppError> {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return Ok(());
    };
    let origin = origin
        .to_str()
        .map_err(|_| AppError::forbidden("unreadable Origin"))?
        .trim_end_matches('/');
    if is_allowed(hub, origin) {
        return Ok(());
    }
    Err(AppError::forbidden(format!(
        "origin {origin} is not allowed; start the hub with --allow-origin {origin}"
    )))
}
