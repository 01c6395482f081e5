//! Device tokens (issue 17): 30 days long, refreshed by the device, and the
//! signing secret rotated by a manager. After a rotation a token of the old
//! secret is refused everywhere except `POST /api/devices/refresh`, which
//! takes it only if this hub issued it to a device still paired. Pairings,
//! refreshes and rotations are told to the managers' notices. Real sockets,
//! the real SQLite file.

mod support;

use countertop_protocol::{Claims, Role};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde_json::{json, Value};
use support::{assert_error, ok, Cafe, Device, Ws};

fn claims_of(token: &str, secret: &[u8]) -> Claims {
    let mut validation = Validation::new(Algorithm::HS256);
    validation.leeway = 0;
    jsonwebtoken::decode::<Claims>(token, &DecodingKey::from_secret(secret), &validation)
        .expect("a token this secret signed")
        .claims
}

/// The hub's notices whose title is `title`, newest last.
async fn notices(cafe: &Cafe, title: &str) -> Vec<Value> {
    let rows: Vec<(String,)> = countertop_hub::on_pool!(cafe.hub.hub.pool(), |ex| sqlx::query_as(
        "SELECT data FROM events WHERE name = 'system:notification' ORDER BY seq"
    )
    .fetch_all(ex)
    .await)
    .unwrap();
    rows.into_iter()
        .map(|(data,)| serde_json::from_str::<Value>(&data).unwrap())
        .filter(|n| n["title"] == title)
        .collect()
}

/// The secrets in `secret.key.prev`, newest first (each line: the secret,
/// then until when it counts).
fn previous_secrets(cafe: &Cafe) -> Vec<Vec<u8>> {
    std::fs::read_to_string(cafe.hub.dir.path().join("secret.key.prev"))
        .unwrap()
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .map(|secret| secret.as_bytes().to_vec())
        .collect()
}

async fn rotate(cafe: &Cafe) -> Value {
    ok(
        cafe.manager
            .api
            .post("/api/devices/rotate-secret", json!({}))
            .await,
        200,
    )
}

async fn refresh(cafe: &Cafe, token: &str) -> (reqwest::StatusCode, Value) {
    cafe.anonymous()
        .with_token(token)
        .post("/api/devices/refresh", json!({}))
        .await
}

/// The status a WebSocket upgrade with `token` gets (101 when it opens).
async fn upgrade_status(cafe: &Cafe, token: &str) -> u16 {
    match Ws::connect(&cafe.hub.ws_url(), Some(token), None).await {
        Ok(_) => 101,
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => response.status().as_u16(),
        Err(e) => panic!("the upgrade failed otherwise: {e}"),
    }
}

#[tokio::test]
async fn tokens_last_30_days_and_a_refresh_gives_a_new_one_told_as_info() {
    let cafe = Cafe::open().await;
    let secret = cafe.secret();
    for device in [&cafe.kiosk, &cafe.barista, &cafe.display, &cafe.manager] {
        let claims = claims_of(&device.token, &secret);
        assert_eq!(claims.exp - claims.iat, 30 * 24 * 3600, "{:?}", device.role);
    }
    // The issued tokens are recorded, one per device.
    assert_eq!(
        cafe.count("SELECT COUNT(*) FROM issued_tokens", &[]).await,
        4
    );

    let fresh = ok(refresh(&cafe, &cafe.kiosk.token).await, 200);
    let token = fresh["token"].as_str().unwrap();
    assert_ne!(token, cafe.kiosk.token);
    let claims = claims_of(token, &secret);
    assert_eq!(claims.exp - claims.iat, 30 * 24 * 3600);
    assert_eq!(claims.sub, cafe.kiosk.id);
    let expires: chrono::DateTime<chrono::Utc> =
        fresh["expiresAt"].as_str().unwrap().parse().unwrap();
    assert_eq!(expires.timestamp(), claims.exp);
    ok(
        cafe.anonymous().with_token(token).get("/api/cells").await,
        200,
    );
    // The old token stops working (only a refresh within a short grace
    // takes it: `a_lost_refresh_answer_does_not_lock_the_device_out`); it
    // is recorded as replaced, the new one as current.
    assert_error(
        &cafe
            .anonymous()
            .with_token(&cafe.kiosk.token)
            .get("/api/cells")
            .await,
        401,
        "unauthorized",
    );
    assert_eq!(
        cafe.count(
            "SELECT COUNT(*) FROM issued_tokens WHERE device_id = $1 AND replaced_ms IS NULL",
            &[&cafe.kiosk.id]
        )
        .await,
        1
    );

    let paired = notices(&cafe, "Device paired").await;
    assert_eq!(paired.len(), 4, "one notice per pairing: {paired:?}");
    assert_eq!(paired[0]["level"], "warning");
    let first = paired[0]["message"].as_str().unwrap();
    assert!(
        first.contains("\"test kiosk\"") && first.contains("kiosk"),
        "{first}"
    );
    assert!(
        first.contains(&cafe.kiosk.id) && first.contains("127.0.0.1"),
        "{first}"
    );
    let refreshed = notices(&cafe, "Device token refreshed").await;
    assert_eq!(refreshed.len(), 1, "{refreshed:?}");
    assert_eq!(refreshed[0]["level"], "info");
    let message = refreshed[0]["message"].as_str().unwrap();
    assert!(
        message.contains(&cafe.kiosk.id) && message.contains("from 127.0.0.1"),
        "{message}"
    );
}

#[tokio::test]
async fn after_a_rotation_an_old_token_only_refreshes_and_its_new_token_works() {
    let cafe = Cafe::open().await;
    let old_secret = cafe.secret();
    // A device's socket and an anonymous board are open when it happens.
    let mut barista_ws = cafe.hub.connect_with(Some(&cafe.barista), "").await;
    barista_ws.next_event("welcome").await;
    let mut board = cafe.hub.connect_with(None, "").await;
    board.next_event("welcome").await;

    let rotated = rotate(&cafe).await;
    let new_secret = cafe.secret();
    assert_ne!(new_secret, old_secret);
    assert!(
        rotated["closedConnections"].as_u64().unwrap() >= 1,
        "{rotated}"
    );
    let at: chrono::DateTime<chrono::Utc> = rotated["rotatedAt"].as_str().unwrap().parse().unwrap();
    let until: chrono::DateTime<chrono::Utc> = rotated["previousValidUntil"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        ((until - at) - chrono::Duration::days(30))
            .num_seconds()
            .abs()
            < 5,
        "{rotated}"
    );
    // The previous secret is kept beside the new one (the first field of
    // the file's first line, the newest), the owner's only.
    let previous = cafe.hub.dir.path().join("secret.key.prev");
    assert_eq!(previous_secrets(&cafe), vec![old_secret.clone()]);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&previous).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    // The device's socket is closed with 4002 (refresh and come back); the
    // anonymous board stays.
    assert_eq!(barista_ws.closed().await, 4002);
    board.drain().await;

    // The old token: 401 where a role is needed, on an open endpoint, on
    // the socket.
    let old = &cafe.barista.token;
    let api = cafe.anonymous().with_token(old);
    assert_error(&api.get("/api/orders").await, 401, "unauthorized");
    assert_error(&api.get("/api/menu").await, 401, "unauthorized");
    assert_eq!(upgrade_status(&cafe, old).await, 401);

    // ... but it refreshes, once, into a token of the new secret that works.
    let fresh = ok(refresh(&cafe, old).await, 200);
    let token = fresh["token"].as_str().unwrap();
    assert_eq!(claims_of(token, &new_secret).sub, cafe.barista.id);
    ok(
        cafe.anonymous().with_token(token).get("/api/orders").await,
        200,
    );
    assert_eq!(upgrade_status(&cafe, token).await, 101);

    let told = notices(&cafe, "Device token refreshed").await;
    let message = told.last().unwrap()["message"].as_str().unwrap();
    assert!(message.contains("previous signing secret"), "{message}");
    // Once the device has refreshed the new token too, the old one is
    // done, grace or not.
    ok(refresh(&cafe, token).await, 200);
    assert_error(&refresh(&cafe, old).await, 401, "unauthorized");
    let rotations = notices(&cafe, "Signing secret rotated").await;
    assert_eq!(rotations.len(), 1);
    assert_eq!(rotations[0]["level"], "warning");
    let message = rotations[0]["message"].as_str().unwrap();
    assert!(
        message.contains(&cafe.manager.id) && message.contains("127.0.0.1"),
        "{message}"
    );
}

#[tokio::test]
async fn only_a_manager_rotates_and_open_pairing_codes_die_with_the_old_secret() {
    let cafe = Cafe::open().await;
    for device in [&cafe.kiosk, &cafe.barista, &cafe.display] {
        assert_error(
            &device
                .api
                .post("/api/devices/rotate-secret", json!({}))
                .await,
            403,
            "forbidden",
        );
    }
    assert_error(
        &cafe
            .anonymous()
            .post("/api/devices/rotate-secret", json!({}))
            .await,
        401,
        "unauthorized",
    );
    assert!(notices(&cafe, "Signing secret rotated").await.is_empty());

    let code = cafe
        .hub
        .hub
        .create_pairing_code(Role::Kiosk, "late")
        .await
        .unwrap();
    rotate(&cafe).await;
    assert_error(
        &cafe
            .anonymous()
            .post("/api/devices/pair", json!({"code": code.code}))
            .await,
        401,
        "unauthorized",
    );
    // A code made after the rotation pairs, with a token of the new secret.
    let device = cafe.hub.pair(Role::Kiosk).await;
    assert_eq!(claims_of(&device.token, &cafe.secret()).sub, device.id);
}

/// A token signed with the leaked old secret, for a real device, but with a
/// `jti` the hub never issued.
fn forge(device: &Device, secret: &[u8]) -> String {
    let now = chrono::Utc::now();
    let claims = Claims {
        sub: device.id.clone(),
        role: device.role,
        name: "forged".into(),
        iat: now.timestamp(),
        exp: (now + chrono::Duration::days(30)).timestamp(),
        jti: support::rand_suffix(),
    };
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(secret),
    )
    .unwrap()
}

#[tokio::test]
async fn a_token_forged_with_the_old_secret_cannot_refresh() {
    let cafe = Cafe::open().await;
    let old_secret = cafe.secret();
    // Before the rotation such a token is as good as a real one (that is
    // what a leaked secret means) ...
    let forged_before = forge(&cafe.manager, &old_secret);
    ok(
        cafe.anonymous()
            .with_token(&forged_before)
            .get("/api/devices")
            .await,
        200,
    );
    rotate(&cafe).await;
    // ... after it, neither it nor a new forgery is anything: the hub never
    // issued their `jti`.
    for token in [forged_before, forge(&cafe.manager, &old_secret)] {
        assert_error(&refresh(&cafe, &token).await, 401, "unauthorized");
        assert_error(
            &cafe
                .anonymous()
                .with_token(&token)
                .get("/api/devices")
                .await,
            401,
            "unauthorized",
        );
    }
    // The real token of the same device still refreshes.
    ok(refresh(&cafe, &cafe.manager.token).await, 200);
}

#[tokio::test]
async fn a_revoked_device_cannot_refresh_before_or_after_a_rotation() {
    let cafe = Cafe::open().await;
    let doomed = cafe.hub.pair(Role::Kiosk).await;
    let also_doomed = cafe.hub.pair(Role::Barista).await;
    let mut ws = cafe.hub.connect_with(Some(&also_doomed), "").await;
    ws.next_event("welcome").await;

    // Revoked, then the secret rotates: its old-secret token is refused.
    assert_eq!(
        cafe.manager
            .api
            .delete(&format!("/api/devices/{}", doomed.id))
            .await
            .0,
        204
    );
    assert_error(&refresh(&cafe, &doomed.token).await, 401, "unauthorized");
    let rotated = rotate(&cafe).await;
    assert_error(&refresh(&cafe, &doomed.token).await, 401, "unauthorized");
    assert_eq!(ws.closed().await, 4002, "{rotated}");

    // Rotated, then revoked: the same, and its connection closes with 4001.
    let manager = ok(refresh(&cafe, &cafe.manager.token).await, 200);
    let manager = cafe
        .anonymous()
        .with_token(manager["token"].as_str().unwrap());
    let fresh = ok(refresh(&cafe, &also_doomed.token).await, 200);
    let fresh = fresh["token"].as_str().unwrap().to_owned();
    let mut ws = Ws::connect(&cafe.hub.ws_url(), Some(&fresh), None)
        .await
        .unwrap();
    ws.next_event("welcome").await;
    assert_eq!(
        manager
            .delete(&format!("/api/devices/{}", also_doomed.id))
            .await
            .0,
        204
    );
    assert_eq!(ws.closed().await, 4001);
    assert_error(&refresh(&cafe, &fresh).await, 401, "unauthorized");
    assert_eq!(
        cafe.count(
            "SELECT COUNT(*) FROM issued_tokens WHERE device_id IN ($1, $2)",
            &[&doomed.id, &also_doomed.id]
        )
        .await,
        0
    );
}

/// The token a refresh answered, and its `jti`.
fn token_of(answer: &Value, secret: &[u8]) -> (String, String) {
    let token = answer["token"].as_str().unwrap().to_owned();
    let jti = claims_of(&token, secret).jti;
    (token, jti)
}

#[tokio::test]
async fn a_lost_refresh_answer_does_not_lock_the_device_out() {
    let cafe = Cafe::open().await;
    let secret = cafe.secret();
    let old = cafe.kiosk.token.clone();
    // The device refreshes; the answer never reaches it (a timeout).
    let (lost, lost_jti) = token_of(&ok(refresh(&cafe, &old).await, 200), &secret);
    // Its old token is refused everywhere ...
    let api = cafe.anonymous().with_token(&old);
    assert_error(&api.get("/api/cells").await, 401, "unauthorized");
    assert_eq!(upgrade_status(&cafe, &old).await, 401);
    // ... but its next refresh with it, within the grace, is answered with
    // a fresh token that works, and the old one is replaced again.
    let (again, again_jti) = token_of(&ok(refresh(&cafe, &old).await, 200), &secret);
    assert_ne!(again_jti, lost_jti);
    ok(
        cafe.anonymous().with_token(&again).get("/api/cells").await,
        200,
    );
    assert_eq!(upgrade_status(&cafe, &again).await, 101);
    assert_error(&api.get("/api/cells").await, 401, "unauthorized");
    let old_jti = claims_of(&old, &secret).jti;
    assert_eq!(
        cafe.count(
            "SELECT COUNT(*) FROM issued_tokens WHERE parent = $1",
            &[&old_jti]
        )
        .await,
        2,
        "both answers were replacements of the old token"
    );
    // Once a token it was replaced by is refreshed in turn (the device has
    // shown that it holds one), the old token is done.
    ok(refresh(&cafe, &again).await, 200);
    assert_error(&refresh(&cafe, &old).await, 401, "unauthorized");
    // The token whose answer was lost did nothing wrong: it still works
    // until it expires, as any token the hub issued.
    ok(
        cafe.anonymous().with_token(&lost).get("/api/cells").await,
        200,
    );
}

#[tokio::test]
async fn the_grace_of_a_replaced_token_ends_after_ten_minutes_and_with_its_device() {
    let cafe = Cafe::open().await;
    let secret = cafe.secret();
    // Ten minutes after its replacement (on the hub's clock), a replaced
    // token is refused as before.
    let old = cafe.barista.token.clone();
    let (fresh, _) = token_of(&ok(refresh(&cafe, &old).await, 200), &secret);
    cafe.hub.hub.clock.advance(chrono::Duration::minutes(9));
    ok(refresh(&cafe, &old).await, 200);
    cafe.hub.hub.clock.advance(chrono::Duration::minutes(2));
    assert_error(&refresh(&cafe, &old).await, 401, "unauthorized");
    ok(refresh(&cafe, &fresh).await, 200);

    // A revoked device's replaced token never refreshes, grace or not.
    let doomed = cafe.hub.pair(Role::Kiosk).await;
    let (fresh, _) = token_of(&ok(refresh(&cafe, &doomed.token).await, 200), &secret);
    assert_eq!(
        cafe.manager
            .api
            .delete(&format!("/api/devices/{}", doomed.id))
            .await
            .0,
        204
    );
    assert_error(&refresh(&cafe, &doomed.token).await, 401, "unauthorized");
    assert_error(&refresh(&cafe, &fresh).await, 401, "unauthorized");

    // A token signed with the real secret that the hub holds no record of
    // (every token of release 0.1.0, which kept none; a forgery is only
    // possible with the secret, which signs anything) is replaced as any
    // other: its refresh is answered again within the grace, until its
    // replacement is refreshed in turn.
    let forged = forge(&cafe.display, &secret);
    let (fresh, _) = token_of(&ok(refresh(&cafe, &forged).await, 200), &secret);
    ok(refresh(&cafe, &forged).await, 200);
    ok(refresh(&cafe, &fresh).await, 200);
    assert_error(&refresh(&cafe, &forged).await, 401, "unauthorized");
}

#[tokio::test]
async fn a_second_rotation_keeps_the_first_secret_for_refreshes() {
    let cafe = Cafe::open().await;
    let original = cafe.secret();
    rotate(&cafe).await;
    let second = cafe.secret();
    // The barista refreshes between the two rotations: its token is then
    // of the second secret; the others keep tokens of the original one.
    let (barista, _) = token_of(&ok(refresh(&cafe, &cafe.barista.token).await, 200), &second);
    // A manager paired since rotates again (the first one's token is of the
    // original secret, good for a refresh only).
    let manager = cafe.hub.pair(Role::Manager).await;
    ok(
        manager
            .api
            .post("/api/devices/rotate-secret", json!({}))
            .await,
        200,
    );
    let third = cafe.secret();
    // Both secrets rotated away are kept, newest first, at mode 600.
    assert_eq!(previous_secrets(&cafe), vec![second, original.clone()]);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let path = cafe.hub.dir.path().join("secret.key.prev");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // A device that has not refreshed since before the first rotation
    // still refreshes, into a token of the newest secret; so does one that
    // refreshed between the two.
    let (kiosk, _) = token_of(&ok(refresh(&cafe, &cafe.kiosk.token).await, 200), &third);
    ok(
        cafe.anonymous().with_token(&kiosk).get("/api/cells").await,
        200,
    );
    let (barista, _) = token_of(&ok(refresh(&cafe, &barista).await, 200), &third);
    ok(
        cafe.anonymous()
            .with_token(&barista)
            .get("/api/orders")
            .await,
        200,
    );
    // A token of the original secret is refused everywhere else, and one
    // the hub never issued does not refresh.
    assert_error(
        &cafe
            .anonymous()
            .with_token(&cafe.manager.token)
            .get("/api/devices")
            .await,
        401,
        "unauthorized",
    );
    assert_error(
        &refresh(&cafe, &forge(&cafe.manager, &original)).await,
        401,
        "unauthorized",
    );
    // After a restart too: the kept secrets are read back.
    let manager = cafe.manager.token.clone();
    let dir = cafe.hub.stop().await;
    let hub = support::TestHub::start_in(dir, |_| {}).await;
    let (status, answer) = hub
        .anonymous()
        .with_token(&manager)
        .post("/api/devices/refresh", json!({}))
        .await;
    assert_eq!(status, 200, "{answer}");
}
