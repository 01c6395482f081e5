//! Pairing by a typed code over SPAKE2 (`/api/devices/pake/start` and
//! `/finish`): answered only over TLS, or to a peer on the hub's own
//! machine; from the LAN over plain HTTP, `426 tls_required` before the
//! body is read ([`require_tls`], the two routes' layer), since the
//! exchange binds the certificate TLS shows.

use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use countertop_protocol::{ErrorCode, Paired, PakeFinish, PakeOffers, PakeStart};

use crate::auth::PakeError;
use crate::error::{ApiResult, AppError};
use crate::tls::Secure;
use crate::Hub;

/// The largest body either call takes: a 33-byte message or a 32-byte
/// confirmation in base64, and a session id, with room for JSON's quoting.
const MAX_BODY: usize = 1024;
/// The longest session id looked up.
const MAX_SESSION_LEN: usize = 64;
/// The longest base64 field read (64 bytes decoded).
const MAX_FIELD_LEN: usize = 88;

impl From<PakeError> for AppError {
    fn from(err: PakeError) -> AppError {
        match err {
            PakeError::RateLimited(message) => AppError::rate_limited(message).retry_after(60),
            PakeError::Invalid(message) => AppError::validation(message),
            PakeError::Failed(message) => {
                AppError::new(StatusCode::UNAUTHORIZED, ErrorCode::PairingFailed, message)
            }
            PakeError::Device(e) => e.into(),
            PakeError::Store(e) => e.into(),
        }
    }
}

pub async fn start(
    State(hub): State<Hub>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    body: Bytes,
) -> ApiResult<Json<PakeOffers>> {
    let body: PakeStart = parse(&body)?;
    let msg = decode("msg", &body.msg)?;
    Ok(Json(hub.pake_start(peer.ip(), &msg).await?))
}

pub async fn finish(
    State(hub): State<Hub>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<Paired>)> {
    let body: PakeFinish = parse(&body)?;
    if body.session.is_empty() || body.session.len() > MAX_SESSION_LEN {
        return Err(AppError::validation("session is not a session id"));
    }
    let confirm = decode("confirm", &body.confirm)?;
    let paired = hub.pake_finish(peer.ip(), &body.session, &confirm).await?;
    Ok((StatusCode::CREATED, Json(paired)))
}

/// The two routes' layer: over plain HTTP only a peer on the hub's own
/// machine may pair this way (elsewhere the fingerprint it binds would be
/// no one's). It runs before the handler's extractors, so a refused
/// request's body is never read, whatever its size. A request without a
/// peer address goes on to the handler, which needs one.
pub async fn require_tls(State(hub): State<Hub>, req: Request, next: Next) -> Response {
    let secure = req.extensions().get::<Secure>().is_some_and(|s| s.0);
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    match peer {
        Some(ip) if !secure && !hub.config.local_peers.contains(ip) => {
            tracing::info!(%ip, path = %req.uri().path(), "pairing by a typed code refused over plain HTTP");
            AppError::new(
                StatusCode::UPGRADE_REQUIRED,
                ErrorCode::TlsRequired,
                "pairing by a typed code runs over HTTPS only (the hub's --tls-listen address)",
            )
            .into_response()
        }
        _ => next.run(req).await,
    }
}

fn parse<T: serde::de::DeserializeOwned>(body: &Bytes) -> Result<T, AppError> {
    if body.len() > MAX_BODY {
        return Err(AppError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::PayloadTooLarge,
            format!("a pairing message is at most {MAX_BODY} bytes"),
        ));
    }
    serde_json::from_slice(body).map_err(|e| {
        // As the other calls answer: 400 for what is not JSON, 422 for
        // JSON of the wrong shape.
        let status = if e.is_syntax() || e.is_eof() {
            StatusCode::BAD_REQUEST
        } else {
            StatusCode::UNPROCESSABLE_ENTITY
        };
        AppError::new(status, ErrorCode::Validation, format!("the body: {e}"))
    })
}

fn decode(field: &str, text: &str) -> Result<Vec<u8>, AppError> {
    if text.len() > MAX_FIELD_LEN {
        return Err(AppError::validation(format!("{field} is too long")));
    }
    BASE64
        .decode(text)
        .map_err(|_| AppError::validation(format!("{field} is not base64")))
}
