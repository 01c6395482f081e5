//! Devices over REST: pairing codes, pairing, listing and revoking devices,
//! and the tokens they get (forged, expired, revoked, refreshed).

mod support;

use chrono::Duration;
use countertop_protocol::{Claims, Role};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::json;
use support::{assert_error, ids, ok, Cafe, Device};

fn claims_for(device: &Device, role: Role, exp: chrono::DateTime<chrono::Utc>) -> Claims {
    Claims {
        sub: device.id.clone(),
        role,
        name: "test device".into(),
        iat: (exp - Duration::days(30)).timestamp(),
        exp: exp.timestamp(),
        jti: support::rand_suffix(),
    }
}

fn sign_token(claims: &Claims, algorithm: Algorithm, secret: &[u8]) -> String {
    jsonwebtoken::encode(
        &Header::new(algorithm),
        claims,
        &EncodingKey::from_secret(secret),
    )
    .unwrap()
}

// ---------------------------------------------------------------- tokens

/// The anonymous endpoints a bad token is tried on.
const OPEN_PATHS: [&str; 6] = [
    "/api/menu",
    "/api/settings",
    "/api/snapshot",
    "/api/orders/lookup?dailyNum=1",
    "/healthz",
    "/metrics",
];

async fn assert_refused_everywhere(cafe: &Cafe, token: &str) {
    let api = cafe.anonymous().with_token(token);
    for path in OPEN_PATHS {
        assert_error(&api.get(path).await, 401, "unauthorized");
    }
    assert_error(&api.get("/api/cells").await, 401, "unauthorized");
    assert_error(
        &api.post("/api/devices/refresh", json!({})).await,
        401,
        "unauthorized",
    );
}

#[tokio::test]
async fn anonymous_endpoints_answer_without_a_token() {
    let cafe = Cafe::open().await;
    cafe.order(&cafe.kiosk.api, &[("americano", 1)]).await;
    for path in OPEN_PATHS {
        let (status, body) = cafe.anonymous().get(path).await;
        assert_eq!(status, 200, "{path}: {body}");
    }
}

#[tokio::test]
async fn a_malformed_token_is_refused_even_on_anonymous_endpoints() {
    let cafe = Cafe::open().await;
    assert_refused_everywhere(&cafe, "not-a-jwt").await;
    assert_refused_everywhere(&cafe, "a.b.c").await;

    let (status, body) = cafe
        .anonymous()
        .raw(
            cafe.anonymous()
                .client()
                .get(cafe.hub.url("/api/menu"))
                .header("authorization", "Basic dXNlcjpwYXNz"),
        )
        .await;
    assert_error(&(status, body), 401, "unauthorized");
}

#[tokio::test]
async fn a_token_signed_with_another_secret_is_refused_even_on_anonymous_endpoints() {
    let cafe = Cafe::open().await;
    let future = chrono::Utc::now() + Duration::days(30);
    let claims = claims_for(&cafe.kiosk, Role::Kiosk, future);

    // The same claims signed with the hub's own secret work, so what the
    // forged token lacks is only the right signature.
    let genuine = sign_token(&claims, Algorithm::HS256, &cafe.secret());
    ok(
        cafe.anonymous()
            .with_token(&genuine)
            .get("/api/cells")
            .await,
        200,
    );

    let forged = sign_token(
        &claims,
        Algorithm::HS256,
        b"0000000000000000000000000000000000000000000000000000000000000000",
    );
    assert_refused_everywhere(&cafe, &forged).await;
}

#[tokio::test]
async fn an_expired_token_is_refused_even_on_anonymous_endpoints() {
    let cafe = Cafe::open().await;
    let secret = cafe.secret();
    let live = sign_token(
        &claims_for(
            &cafe.kiosk,
            Role::Kiosk,
            chrono::Utc::now() + Duration::minutes(5),
        ),
        Algorithm::HS256,
        &secret,
    );
    ok(
        cafe.anonymous().with_token(&live).get("/api/cells").await,
        200,
    );

    let expired = sign_token(
        &claims_for(
            &cafe.kiosk,
            Role::Kiosk,
            chrono::Utc::now() - Duration::minutes(5),
        ),
        Algorithm::HS256,
        &secret,
    );
    assert_refused_everywhere(&cafe, &expired).await;
}

#[tokio::test]
async fn a_token_signed_with_another_algorithm_is_refused() {
    let cafe = Cafe::open().await;
    let claims = claims_for(
        &cafe.kiosk,
        Role::Kiosk,
        chrono::Utc::now() + Duration::days(1),
    );
    let hs512 = sign_token(&claims, Algorithm::HS512, &cafe.secret());
    assert_refused_everywhere(&cafe, &hs512).await;
}

#[tokio::test]
async fn a_token_claiming_a_role_its_device_does_not_have_is_refused() {
    let cafe = Cafe::open().await;
    let claims = claims_for(
        &cafe.kiosk,
        Role::Manager,
        chrono::Utc::now() + Duration::days(1),
    );
    let promoted = sign_token(&claims, Algorithm::HS256, &cafe.secret());
    assert_refused_everywhere(&cafe, &promoted).await;
}

#[tokio::test]
async fn a_revoked_token_stops_working_at_once_even_on_anonymous_endpoints() {
    let cafe = Cafe::open().await;
    ok(cafe.kiosk.api.get("/api/menu").await, 200);
    ok(cafe.kiosk.api.get("/healthz").await, 200);

    let (status, _) = cafe
        .manager
        .api
        .delete(&format!("/api/devices/{}", cafe.kiosk.id))
        .await;
    assert_eq!(status, 204);

    assert_refused_everywhere(&cafe, &cafe.kiosk.token).await;
    let devices = ok(cafe.manager.api.get("/api/devices").await, 200);
    assert!(!ids(&devices).contains(&cafe.kiosk.id), "{devices}");
    assert_error(
        &cafe
            .manager
            .api
            .delete(&format!("/api/devices/{}", cafe.kiosk.id))
            .await,
        404,
        "not_found",
    );
    // The other devices are untouched.
    ok(cafe.barista.api.get("/api/orders").await, 200);
}

#[tokio::test]
async fn a_token_in_the_query_string_is_checked_like_the_header() {
    let cafe = Cafe::open().await;
    let anonymous = cafe.anonymous();
    let url = cafe
        .hub
        .url(&format!("/api/cells?token={}", cafe.kiosk.token));
    ok(anonymous.raw(anonymous.client().get(url)).await, 200);
    let url = cafe.hub.url("/api/menu?token=not-a-jwt");
    assert_error(
        &anonymous.raw(anonymous.client().get(url)).await,
        401,
        "unauthorized",
    );
}

#[tokio::test]
async fn refreshing_a_token_gives_a_fresh_30_day_token_for_the_same_device() {
    let cafe = Cafe::open().await;
    for device in [&cafe.kiosk, &cafe.barista, &cafe.display, &cafe.manager] {
        let fresh = ok(
            device.api.post("/api/devices/refresh", json!({})).await,
            200,
        );
        assert_eq!(fresh["deviceId"], device.id.as_str());
        assert_eq!(fresh["role"], device.role.as_str());
        let token = fresh["token"].as_str().unwrap();
        assert_ne!(token, device.token);
        let expires: chrono::DateTime<chrono::Utc> =
            fresh["expiresAt"].as_str().unwrap().parse().unwrap();
        let days = (expires - chrono::Utc::now()).num_days();
        assert!((29..=30).contains(&days), "{fresh}");
        ok(
            cafe.anonymous()
                .with_token(token)
                .get("/api/snapshot")
                .await,
            200,
        );
    }
    assert_error(
        &cafe
            .anonymous()
            .post("/api/devices/refresh", json!({}))
            .await,
        401,
        "unauthorized",
    );
}

// --------------------------------------------------------------- pairing

#[tokio::test]
async fn a_pairing_code_pairs_exactly_one_device() {
    let cafe = Cafe::open().await;
    let code = ok(
        cafe.manager
            .api
            .post(
                "/api/devices/pairing-codes",
                json!({"role": "barista", "name": "Bar 2"}),
            )
            .await,
        201,
    );
    let digits = code["code"].as_str().unwrap();
    assert!(
        digits.len() == 6 && digits.bytes().all(|b| b.is_ascii_digit()),
        "{code}"
    );
    let expires: chrono::DateTime<chrono::Utc> =
        code["expiresAt"].as_str().unwrap().parse().unwrap();
    let minutes = (expires - chrono::Utc::now()).num_minutes();
    assert!((9..=10).contains(&minutes), "{code}");

    let paired = ok(
        cafe.anonymous()
            .post("/api/devices/pair", json!({ "code": digits }))
            .await,
        201,
    );
    assert_eq!(paired["role"], "barista");
    assert_eq!(paired["name"], "Bar 2");
    let device_id = paired["deviceId"].as_str().unwrap();
    let bar2 = cafe
        .anonymous()
        .with_token(paired["token"].as_str().unwrap());
    ok(bar2.get("/api/orders").await, 200);

    let devices = ok(cafe.manager.api.get("/api/devices").await, 200);
    let listed = devices
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["id"] == device_id)
        .unwrap_or_else(|| panic!("{device_id} in {devices}"));
    assert_eq!(listed["role"], "barista");
    assert_eq!(listed["connected"], false);

    assert_error(
        &cafe
            .anonymous()
            .post("/api/devices/pair", json!({ "code": digits }))
            .await,
        401,
        "unauthorized",
    );
}

#[tokio::test]
async fn the_sixth_wrong_pairing_code_within_a_minute_is_rate_limited() {
    let cafe = Cafe::open().await;
    let good = ok(
        cafe.manager
            .api
            .post("/api/devices/pairing-codes", json!({"role": "kiosk"}))
            .await,
        201,
    );
    // Five wrong codes are told they are wrong: one is not six digits, one
    // was used already, three are near the right one but not it.
    let right: u32 = good["code"].as_str().unwrap().parse().unwrap();
    let near = |n: u32| format!("{:06}", (right + n) % 1_000_000);
    let used = cafe
        .hub
        .hub
        .create_pairing_code(Role::Kiosk, "spent")
        .await
        .unwrap()
        .code;
    ok(
        cafe.anonymous()
            .post("/api/devices/pair", json!({ "code": used }))
            .await,
        201,
    );
    for wrong in ["12345".to_owned(), used, near(1), near(2), near(3)] {
        assert_error(
            &cafe
                .anonymous()
                .post("/api/devices/pair", json!({ "code": wrong }))
                .await,
            401,
            "unauthorized",
        );
    }
    assert_error(
        &cafe
            .anonymous()
            .post("/api/devices/pair", json!({ "code": near(4) }))
            .await,
        429,
        "rate_limited",
    );
    // Within the minute even a right code waits.
    assert_error(
        &cafe
            .anonymous()
            .post("/api/devices/pair", json!({ "code": good["code"] }))
            .await,
        429,
        "rate_limited",
    );
}

#[tokio::test]
async fn a_pairing_code_expires_after_ten_minutes() {
    let cafe = Cafe::open().await;
    let code = ok(
        cafe.manager
            .api
            .post("/api/devices/pairing-codes", json!({"role": "kiosk"}))
            .await,
        201,
    );
    cafe.hub.hub.clock.advance(Duration::minutes(11));
    assert_error(
        &cafe
            .anonymous()
            .post("/api/devices/pair", json!({ "code": code["code"] }))
            .await,
        401,
        "unauthorized",
    );
}

#[tokio::test]
async fn only_a_manager_makes_pairing_codes_and_lists_or_revokes_devices() {
    let cafe = Cafe::open().await;
    for device in [&cafe.kiosk, &cafe.barista, &cafe.display] {
        assert_error(
            &device
                .api
                .post("/api/devices/pairing-codes", json!({"role": "manager"}))
                .await,
            403,
            "forbidden",
        );
        assert_error(&device.api.get("/api/devices").await, 403, "forbidden");
        assert_error(
            &device
                .api
                .delete(&format!("/api/devices/{}", cafe.display.id))
                .await,
            403,
            "forbidden",
        );
    }
    assert_error(
        &cafe
            .anonymous()
            .post("/api/devices/pairing-codes", json!({"role": "manager"}))
            .await,
        401,
        "unauthorized",
    );
    // Nobody was revoked by the refused calls.
    ok(cafe.display.api.get("/api/workorders").await, 200);
    assert_error(
        &cafe
            .manager
            .api
            .post("/api/devices/pairing-codes", json!({"role": "chef"}))
            .await,
        422,
        "validation",
    );
}
