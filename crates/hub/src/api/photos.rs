//! Menu photos over REST: a manager uploads (the raw body is the picture)
//! or removes one; anyone reads them, revalidated by `ETag` and kept for
//! good when the address names the current version.

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use countertop_protocol::{Action, ErrorCode, MenuItem};
use futures::StreamExt;
use serde::Deserialize;

use crate::auth::Caller;
use crate::error::{body_timed_out, ApiQuery, ApiResult, AppError};
use crate::photos::{self, Size, MAX_UPLOAD_BYTES};
use crate::Hub;

/// How much of an oversized upload is read (and dropped) before the hub
/// answers `413`, so that a client still sending hears the answer instead
/// of a reset connection; beyond it the connection is simply closed.
const MAX_DRAINED_BYTES: usize = 2 * MAX_UPLOAD_BYTES;

/// `PUT /api/menu/{id}/photo`: the role is checked before a byte of the
/// body is read; the body is read here, up to [`MAX_UPLOAD_BYTES`] (this
/// route's own limit, in place of the hub's 256 KiB for JSON bodies).
pub async fn upload(
    State(hub): State<Hub>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Json<MenuItem>> {
    caller.require(Action::SetMenuPhoto)?;
    let format = photos::format_of(
        headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok()),
    )?;
    let upload = read_upload(body).await?;
    Ok(Json(photos::set(&hub, &id, upload, format).await?))
}

/// `DELETE /api/menu/{id}/photo`.
pub async fn remove(
    State(hub): State<Hub>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<MenuItem>> {
    caller.require(Action::SetMenuPhoto)?;
    Ok(Json(photos::remove(&hub, &id).await?))
}

async fn read_upload(body: Body) -> Result<Bytes, AppError> {
    let mut stream = body.into_data_stream();
    let mut upload = Vec::new();
    let mut received = 0usize;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| {
            if body_timed_out(&e) {
                AppError::new(
                    StatusCode::REQUEST_TIMEOUT,
                    ErrorCode::RequestTimeout,
                    "the request body stopped arriving",
                )
            } else {
                AppError::new(
                    StatusCode::BAD_REQUEST,
                    ErrorCode::Validation,
                    "the photo did not arrive whole",
                )
            }
        })?;
        received = received.saturating_add(chunk.len());
        if received > MAX_DRAINED_BYTES {
            break;
        }
        if received <= MAX_UPLOAD_BYTES {
            upload.extend_from_slice(&chunk);
        }
    }
    if received > MAX_UPLOAD_BYTES {
        return Err(AppError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::PayloadTooLarge,
            format!(
                "a photo is at most {} MiB",
                MAX_UPLOAD_BYTES / (1024 * 1024)
            ),
        ));
    }
    if upload.is_empty() {
        return Err(AppError::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::Validation,
            "the body is empty; send the picture itself",
        ));
    }
    Ok(Bytes::from(upload))
}

/// `?v=`: the version the address names.
#[derive(Debug, Deserialize)]
pub struct VersionQuery {
    v: Option<String>,
}

/// `GET /api/menu/{id}/photo`.
pub async fn full(
    State(hub): State<Hub>,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<VersionQuery>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    serve(&hub, &id, Size::Full, q.v.as_deref(), &headers).await
}

/// `GET /api/menu/{id}/photo/thumb`.
pub async fn thumb(
    State(hub): State<Hub>,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<VersionQuery>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    serve(&hub, &id, Size::Thumb, q.v.as_deref(), &headers).await
}

async fn serve(
    hub: &Hub,
    id: &str,
    size: Size,
    asked: Option<&str>,
    headers: &HeaderMap,
) -> ApiResult<Response> {
    let stored = photos::load(hub, id, size).await?;
    let tag = format!("\"{}\"", stored.version);
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .map(str::trim)
                .any(|t| t == "*" || t.strip_prefix("W/").unwrap_or(t) == tag)
        });
    let mut response = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        stored.bytes.into_response()
    };
    let h = response.headers_mut();
    if !fresh {
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static("image/jpeg"));
    }
    // The address of the current version never shows anything else, so it
    // is kept for good; any other address (none, or an old version) is
    // revalidated, since it shows whatever the photo is now.
    let cache = if asked == Some(stored.version.as_str()) {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    if let Ok(value) = HeaderValue::from_str(&tag) {
        h.insert(header::ETAG, value);
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    Ok(response)
}
