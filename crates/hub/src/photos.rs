//! Menu photos, the domain: an uploaded JPEG, PNG or WebP decoded within
//! limits, re-encoded as two JPEGs (the photo and its thumbnail) that keep
//! none of the upload's metadata, stored and announced as `menu:updated`.
//!
//! Nothing of the upload is kept: re-encoding from pixels drops EXIF (GPS
//! included), XMP, ICC profiles and comments, and anything hidden after the
//! image data. A decompression bomb (huge dimensions in a small file) is
//! refused from its header, before any pixel is decoded.

use std::io::Cursor;

use countertop_protocol::{Event, MenuItem, Photo, Topic};
use image::error::{ImageError, LimitErrorKind};
use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits};
use sha2::{Digest, Sha256};
use tokio::sync::Semaphore;

use crate::error::AppError;
use crate::log::Routing;
use crate::store::{self, photos::Stored};
use crate::Hub;

/// The largest upload taken, in bytes.
pub(crate) const MAX_UPLOAD_BYTES: usize = 8 * 1024 * 1024;
/// The widest and tallest picture decoded.
const MAX_DECODED_SIDE: u32 = 6000;
/// The most memory one decode may take.
const MAX_DECODE_ALLOC: u64 = 200 * 1024 * 1024;
/// The photo's longest side, at most.
const FULL_SIDE: u32 = 1024;
/// The thumbnail's longest side, at most.
const THUMB_SIDE: u32 = 320;
const JPEG_QUALITY: u8 = 85;

/// Decodes at once: each may take up to [`MAX_DECODE_ALLOC`].
static DECODING: Semaphore = Semaphore::const_new(2);

/// The two sizes a photo is served in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Size {
    Full,
    Thumb,
}

/// Where the photo of `menu_id` at `version` is served. Menu ids are slugs
/// (`a-z`, `0-9`, `-`), safe in a path as they are.
pub(crate) fn addresses(menu_id: &str, version: &str) -> Photo {
    Photo {
        url: format!("/api/menu/{menu_id}/photo?v={version}"),
        thumb_url: format!("/api/menu/{menu_id}/photo/thumb?v={version}"),
    }
}

/// Why a photo could not be stored, removed or served.
#[derive(Debug, thiserror::Error)]
pub(crate) enum PhotoError {
    /// The `Content-Type` is not one of the three the hub decodes.
    #[error("{0}")]
    UnsupportedType(String),
    /// The body is not a picture of the type it claims, or not one the hub
    /// will decode (too large, damaged).
    #[error("{0}")]
    Unreadable(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Internal(String),
    #[error(transparent)]
    Store(#[from] sqlx::Error),
}

impl From<PhotoError> for AppError {
    fn from(err: PhotoError) -> AppError {
        use axum::http::StatusCode;
        use countertop_protocol::ErrorCode;
        match err {
            PhotoError::UnsupportedType(message) => AppError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                ErrorCode::Validation,
                message,
            ),
            PhotoError::Unreadable(message) => {
                AppError::new(StatusCode::BAD_REQUEST, ErrorCode::Validation, message)
            }
            PhotoError::NotFound(message) => AppError::not_found(message),
            PhotoError::Internal(message) => AppError::internal(message),
            PhotoError::Store(e) => e.into(),
        }
    }
}

/// The picture format a `Content-Type` names: `image/jpeg`, `image/png` or
/// `image/webp` (parameters and case ignored).
pub(crate) fn format_of(content_type: Option<&str>) -> Result<ImageFormat, PhotoError> {
    let essence = content_type
        .and_then(|t| t.split(';').next())
        .map(|t| t.trim().to_ascii_lowercase());
    match essence.as_deref() {
        Some("image/jpeg") => Ok(ImageFormat::Jpeg),
        Some("image/png") => Ok(ImageFormat::Png),
        Some("image/webp") => Ok(ImageFormat::WebP),
        Some(other) => Err(PhotoError::UnsupportedType(format!(
            "a photo is sent as image/jpeg, image/png or image/webp, not {other}"
        ))),
        None => Err(PhotoError::UnsupportedType(
            "a photo is sent with Content-Type image/jpeg, image/png or image/webp".into(),
        )),
    }
}

/// A photo as the hub stores it.
pub(crate) struct Encoded {
    /// A short hash of `full`.
    pub version: String,
    pub full: Vec<u8>,
    pub thumb: Vec<u8>,
}

fn name_of(format: ImageFormat) -> &'static str {
    match format {
        ImageFormat::Jpeg => "JPEG",
        ImageFormat::Png => "PNG",
        ImageFormat::WebP => "WebP",
        _ => "picture",
    }
}

fn refused(format: ImageFormat, err: ImageError) -> PhotoError {
    PhotoError::Unreadable(match err {
        ImageError::Limits(limit) => match limit.kind() {
            LimitErrorKind::DimensionError => {
                format!("the picture is larger than {MAX_DECODED_SIDE} × {MAX_DECODED_SIDE} pixels")
            }
            _ => format!(
                "the picture would take more than {} MiB to decode",
                MAX_DECODE_ALLOC / (1024 * 1024)
            ),
        },
        other => format!(
            "the body is not a readable {} image: {other}",
            name_of(format)
        ),
    })
}

/// Decodes `bytes` as a picture of `format` within the limits and encodes
/// the photo and its thumbnail. Takes CPU time: call it off the runtime.
pub(crate) fn encode(bytes: &[u8], format: ImageFormat) -> Result<Encoded, PhotoError> {
    if image::guess_format(bytes).ok() != Some(format) {
        return Err(PhotoError::Unreadable(format!(
            "the body is not a {} image",
            name_of(format)
        )));
    }
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_DECODED_SIDE);
    limits.max_image_height = Some(MAX_DECODED_SIDE);
    limits.max_alloc = Some(MAX_DECODE_ALLOC);
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    reader.limits(limits.clone());
    // The decoder reads the header only; the limits refuse its dimensions
    // before a pixel is decoded.
    let mut decoder = reader.into_decoder().map_err(|e| refused(format, e))?;
    limits
        .reserve(decoder.total_bytes())
        .map_err(|e| refused(format, e))?;
    // The orientation is the one piece of metadata that changes how the
    // picture looks; it is applied to the pixels, since it is not kept.
    let orientation = decoder
        .orientation()
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    let mut picture = DynamicImage::from_decoder(decoder).map_err(|e| refused(format, e))?;
    picture.apply_orientation(orientation);

    let full = fit(flatten(picture), FULL_SIDE);
    let thumb = fit(full.clone(), THUMB_SIDE);
    let full = jpeg(&full)?;
    let thumb = jpeg(&thumb)?;
    let digest = Sha256::digest(&full);
    let version = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    Ok(Encoded {
        version,
        full,
        thumb,
    })
}

/// The picture on white: transparent parts become white, as on the kiosk.
fn flatten(picture: DynamicImage) -> DynamicImage {
    if !picture.color().has_alpha() {
        return DynamicImage::ImageRgb8(picture.into_rgb8());
    }
    let mut rgba = picture.into_rgba8();
    for pixel in rgba.pixels_mut() {
        let [r, g, b, a] = pixel.0;
        let a = u32::from(a);
        let on_white = |c: u8| ((u32::from(c) * a + 255 * (255 - a) + 127) / 255) as u8;
        pixel.0 = [on_white(r), on_white(g), on_white(b), 255];
    }
    DynamicImage::ImageRgb8(DynamicImage::ImageRgba8(rgba).into_rgb8())
}

/// The picture shrunk (never enlarged) to at most `side` pixels a side.
fn fit(picture: DynamicImage, side: u32) -> DynamicImage {
    if picture.width() <= side && picture.height() <= side {
        picture
    } else {
        picture.thumbnail(side, side)
    }
}

fn jpeg(picture: &DynamicImage) -> Result<Vec<u8>, PhotoError> {
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, JPEG_QUALITY)
        .encode_image(picture)
        .map_err(|e| PhotoError::Internal(format!("could not encode the photo: {e}")))?;
    Ok(out)
}

/// Sets the photo of menu item `menu_id` from an upload of `format`, and
/// announces the item (`menu:updated`) with its new addresses.
pub(crate) async fn set(
    hub: &Hub,
    menu_id: &str,
    upload: axum::body::Bytes,
    format: ImageFormat,
) -> Result<MenuItem, PhotoError> {
    let encoded = {
        let _permit = DECODING
            .acquire()
            .await
            .map_err(|_| PhotoError::Internal("the hub is shutting down".into()))?;
        tokio::task::spawn_blocking(move || encode(&upload, format))
            .await
            .map_err(|_| PhotoError::Internal("the photo could not be decoded".into()))??
    };
    let mut w = hub.log.begin().await?;
    if store::menu::load_menu_item(&mut w.tx, menu_id)
        .await?
        .is_none()
    {
        return Err(PhotoError::NotFound(format!("no menu item \"{menu_id}\"")));
    }
    let now = hub.clock.now();
    store::photos::put(
        &mut w.tx,
        menu_id,
        &encoded.version,
        &encoded.full,
        &encoded.thumb,
        &store::ts(now),
    )
    .await?;
    let item = announce(&mut w, menu_id, now).await?;
    w.commit().await?;
    tracing::info!(menu = menu_id, version = %encoded.version, bytes = encoded.full.len(), "menu photo set");
    Ok(item)
}

/// Removes the photo of menu item `menu_id`, announcing the item without
/// one; an item that has none is answered as it is.
pub(crate) async fn remove(hub: &Hub, menu_id: &str) -> Result<MenuItem, PhotoError> {
    let mut w = hub.log.begin().await?;
    let item = store::menu::load_menu_item(&mut w.tx, menu_id)
        .await?
        .ok_or_else(|| PhotoError::NotFound(format!("no menu item \"{menu_id}\"")))?;
    if !store::photos::delete(&mut w.tx, menu_id).await? {
        return Ok(item);
    }
    let item = announce(&mut w, menu_id, hub.clock.now()).await?;
    w.commit().await?;
    Ok(item)
}

/// Announces menu item `menu_id` as it now is, in the writer's transaction.
async fn announce(
    w: &mut crate::log::Writer<'_>,
    menu_id: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<MenuItem, PhotoError> {
    let item = store::menu::load_menu_item(&mut w.tx, menu_id)
        .await?
        .ok_or_else(|| PhotoError::NotFound(format!("no menu item \"{menu_id}\"")))?;
    w.emit(
        &Event::MenuUpdated(item.clone()),
        Routing::topic(Topic::Menu),
        now,
    )
    .await?;
    Ok(item)
}

/// One size of the photo of `menu_id`.
pub(crate) async fn load(hub: &Hub, menu_id: &str, size: Size) -> Result<Stored, PhotoError> {
    let mut conn = hub.pool().acquire().await?;
    store::photos::load(&mut conn, menu_id, size)
        .await?
        .ok_or_else(|| PhotoError::NotFound(format!("menu item \"{menu_id}\" has no photo")))
}
