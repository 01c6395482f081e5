//! CORS on `/api` against a real hub: a page of an origin on the allow-list
//! (`--allow-origin`, the app's, the hub's own) reads every answer, errors
//! included, and its preflights are approved before authentication; any
//! other origin gets no CORS headers and no approval.

mod support;

use countertop_protocol::Role;
use reqwest::header::{HeaderMap, HeaderValue};
use reqwest::{Method, StatusCode};
use serde_json::json;
use support::{Device, TestHub, WAIT};
use tokio::time::timeout;

const POS: &str = "https://pos.example.com";

async fn hub() -> TestHub {
    TestHub::start_with(|c| c.allowed_origins = vec![POS.into()]).await
}

/// Sends `method path` with `Origin: origin`, an optional bearer token and
/// extra headers; the status and the headers of the answer.
async fn send(
    hub: &TestHub,
    method: Method,
    path: &str,
    origin: &str,
    token: Option<&Device>,
    headers: &[(&str, &str)],
) -> (StatusCode, HeaderMap) {
    let mut req = reqwest::Client::new()
        .request(method.clone(), hub.url(path))
        .header("origin", origin);
    if let Some(device) = token {
        req = req.bearer_auth(&device.token);
    }
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    if method == Method::POST || method == Method::PATCH {
        req = req.json(&json!({}));
    }
    let res = timeout(WAIT, req.send())
        .await
        .expect("answer in time")
        .expect("request");
    (res.status(), res.headers().clone())
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).map(|v| v.to_str().expect("readable"))
}

/// The comma-separated values of `name`, lowercased.
fn list(headers: &HeaderMap, name: &str) -> Vec<String> {
    headers
        .get_all(name)
        .iter()
        .flat_map(|v: &HeaderValue| v.to_str().unwrap().split(','))
        .map(|v| v.trim().to_ascii_lowercase())
        .filter(|v| !v.is_empty())
        .collect()
}

#[track_caller]
fn assert_cors_for(origin: &str, what: &str, headers: &HeaderMap) {
    assert_eq!(
        header(headers, "access-control-allow-origin"),
        Some(origin),
        "{what}: {headers:?}"
    );
    assert!(
        list(headers, "vary").contains(&"origin".to_owned()),
        "{what}: Vary: Origin in {headers:?}"
    );
}

#[track_caller]
fn assert_no_cors(what: &str, headers: &HeaderMap) {
    let cors: Vec<_> = headers
        .keys()
        .filter(|name| name.as_str().starts_with("access-control-"))
        .collect();
    assert!(cors.is_empty(), "{what}: no CORS headers, got {headers:?}");
}

#[tokio::test]
async fn an_allowed_origin_reads_every_api_answer_errors_and_streams_included() {
    let hub = hub().await;
    let kiosk = hub.pair(Role::Kiosk).await;
    let barista = hub.pair(Role::Barista).await;
    let own = format!("http://{}", hub.addr);
    for origin in [POS, "tauri://localhost", "http://tauri.localhost", &own] {
        let (status, headers) = send(&hub, Method::GET, "/api/menu", origin, None, &[]).await;
        assert_eq!(status, 200);
        assert_cors_for(origin, "GET /api/menu", &headers);
    }

    let garbage = Device {
        token: "garbage".into(),
        ..hub.pair(Role::Kiosk).await
    };
    let answers = [
        // Refused by the authentication middleware.
        ("bad token", Method::GET, "/api/menu", Some(&garbage), 401),
        // Refused by the handlers.
        ("no token", Method::GET, "/api/orders", None, 401),
        (
            "wrong role",
            Method::GET,
            "/api/ws/stats",
            Some(&barista),
            403,
        ),
        (
            "invalid body",
            Method::POST,
            "/api/orders",
            Some(&kiosk),
            422,
        ),
        (
            "unknown order",
            Method::GET,
            "/api/orders/ORD-1-x",
            Some(&barista),
            404,
        ),
        ("no such endpoint", Method::GET, "/api/nothing", None, 404),
    ];
    for (what, method, path, token, expected) in answers {
        let (status, headers) = send(&hub, method, path, POS, token, &[]).await;
        assert_eq!(status.as_u16(), expected, "{what}");
        assert_cors_for(POS, what, &headers);
    }

    let (code, order) = kiosk.api.order(&[("americano", 1)], "CARD").await;
    assert_eq!(code, 201, "{order}");
    let id = order["orderId"].as_str().unwrap();
    barista.api.set_status(id, "MAKING").await;
    let (status, headers) = send(
        &hub,
        Method::PATCH,
        &format!("/api/orders/{id}/status"),
        POS,
        Some(&barista),
        &[],
    )
    .await;
    assert_eq!(status, 422, "a body without status");
    assert_cors_for(POS, "PATCH status", &headers);

    // A stream's answer carries them when it opens.
    let res = timeout(
        WAIT,
        reqwest::Client::new()
            .get(hub.url("/api/stream?topics=board"))
            .header("origin", POS)
            .send(),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(res.status(), 200);
    assert_cors_for(POS, "SSE", res.headers());
}

#[tokio::test]
async fn a_preflight_from_an_allowed_origin_is_approved_before_authentication() {
    let hub = hub().await;
    for (path, method, asked) in [
        ("/api/orders", "POST", "authorization, content-type"),
        (
            "/api/orders/ORD-1-x/status",
            "PATCH",
            "authorization,content-type",
        ),
        (
            "/api/settings/cafe_name",
            "PUT",
            "Authorization, Content-Type",
        ),
        ("/api/devices/dev-1", "DELETE", "authorization"),
        ("/api/workorders/stream", "GET", "last-event-id"),
        // A token the middleware would refuse: a preflight never reaches it.
        ("/api/orders?token=garbage", "POST", "content-type"),
    ] {
        let (status, headers) = send(
            &hub,
            Method::OPTIONS,
            path,
            POS,
            None,
            &[
                ("access-control-request-method", method),
                ("access-control-request-headers", asked),
            ],
        )
        .await;
        assert!(status.is_success(), "{path}: {status}");
        assert_cors_for(POS, path, &headers);
        let methods = list(&headers, "access-control-allow-methods");
        for m in ["get", "post", "put", "patch", "delete"] {
            assert!(methods.contains(&m.to_owned()), "{path}: {methods:?}");
        }
        let allowed = list(&headers, "access-control-allow-headers");
        for h in ["authorization", "content-type", "last-event-id"] {
            assert!(allowed.contains(&h.to_owned()), "{path}: {allowed:?}");
        }
    }
}

#[tokio::test]
async fn only_allowed_origins_get_cors_headers_others_none_and_no_preflight_approval() {
    let hub = hub().await;
    let barista = hub.pair(Role::Barista).await;
    let preflight = [
        ("access-control-request-method", "POST"),
        ("access-control-request-headers", "authorization"),
    ];
    // The same requests from the allowed origin, for contrast.
    let (_, headers) = send(&hub, Method::GET, "/api/orders", POS, Some(&barista), &[]).await;
    assert_cors_for(POS, "GET /api/orders", &headers);
    let (status, headers) = send(&hub, Method::OPTIONS, "/api/orders", POS, None, &preflight).await;
    assert!(status.is_success(), "{status}");
    assert_cors_for(POS, "preflight", &headers);
    // A name that resolves to the hub (DNS rebinding) sends an Origin equal
    // to its Host: that is not enough.
    let rebound = format!("rebound.example:{}", hub.addr.port());
    let rebound_origin = format!("http://{rebound}");
    for (origin, host) in [
        ("https://evil.example", None),
        ("https://pos.example.com.evil.example", None),
        ("http://pos.example.com", None),
        ("null", None),
        (rebound_origin.as_str(), Some(rebound.as_str())),
    ] {
        let host: Vec<(&str, &str)> = host.map(|h| ("host", h)).into_iter().collect();
        let (status, headers) = send(&hub, Method::GET, "/api/menu", origin, None, &host).await;
        assert_eq!(status, 200, "CORS only tells the browser; the hub answers");
        assert_no_cors(origin, &headers);
        let (status, headers) = send(
            &hub,
            Method::GET,
            "/api/orders",
            origin,
            Some(&barista),
            &host,
        )
        .await;
        assert_eq!(status, 200);
        assert_no_cors(origin, &headers);
        let mut preflight = preflight.to_vec();
        preflight.extend(host.iter().copied());
        let (status, headers) = send(
            &hub,
            Method::OPTIONS,
            "/api/orders",
            origin,
            None,
            &preflight,
        )
        .await;
        assert!(
            !status.is_success(),
            "{origin}: a preflight is not approved: {status}"
        );
        assert_no_cors(origin, &headers);
    }
}
