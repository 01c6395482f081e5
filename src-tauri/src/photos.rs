//! The `photo://` scheme: the menu's photos served to a window from its
//! device's photo store (crates/client's `Photos`), so a kiosk shows them
//! while the hub is out of reach. The address's path and query are the
//! hub's (`/api/menu/{id}/photo/thumb?v={version}`); anything else is 404.

use tauri::http::{header, Request, Response, StatusCode};
use tauri::{Manager, Runtime, UriSchemeContext, UriSchemeResponder};

use crate::station::Station;

/// Answers one request of the `photo` scheme, off the webview's thread.
pub fn serve<R: Runtime>(
    ctx: UriSchemeContext<'_, R>,
    request: Request<Vec<u8>>,
    responder: UriSchemeResponder,
) {
    let device = ctx
        .app_handle()
        .try_state::<Station>()
        .and_then(|station| station.device_for(ctx.webview_label()).ok());
    let address = request
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_default();
    tauri::async_runtime::spawn(async move {
        let photo = match device.as_ref().map(|d| d.handle.photos()) {
            Some(Ok(photos)) => photos.get(&address).await.unwrap_or_else(|e| {
                tracing::warn!(error = %e, "cannot read the photo store");
                None
            }),
            _ => None,
        };
        responder.respond(answer(photo));
    });
}

fn answer(photo: Option<Vec<u8>>) -> Response<Vec<u8>> {
    let built = match photo {
        // The address names the photo's version: it never shows another.
        Some(bytes) => Response::builder()
            .status(StatusCode::OK)
            .header(header::CONTENT_TYPE, "image/jpeg")
            .header(header::CACHE_CONTROL, "max-age=31536000, immutable")
            .header(header::X_CONTENT_TYPE_OPTIONS, "nosniff")
            .body(bytes),
        None => Response::builder()
            .status(StatusCode::NOT_FOUND)
            .header(header::CONTENT_TYPE, "text/plain")
            .body(b"no such photo".to_vec()),
    };
    built.unwrap_or_else(|_| Response::new(Vec::new()))
}
