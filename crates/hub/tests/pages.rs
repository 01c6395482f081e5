//! The hub's own web pages, `/status` and `/board`, over real HTTP: what they
//! answer, the headers that keep them to the hub's own resources, their four
//! languages, and the snapshot's `board` the now-serving board starts from.
//! (What the pages do in a browser is tested in headless Chromium by the
//! end-to-end crate.)

mod support;

use std::collections::{BTreeMap, BTreeSet};

use chrono::Duration;
use reqwest::header::{self, HeaderMap};
use reqwest::StatusCode;
use serde_json::{json, Value};
use support::{ok, Cafe, TestHub, Ws};

const LANGUAGES: [&str; 4] = ["en", "ko", "nl", "de"];
const PAGES: [&str; 2] = ["/status", "/board"];
const ASSETS: [(&str, &str); 3] = [
    ("/pages/app.js", "text/javascript"),
    ("/pages/style.css", "text/css"),
    ("/pages/icon.svg", "image/svg+xml"),
];

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

async fn fetch(hub: &TestHub, path: &str, headers: &[(&str, &str)]) -> Answer {
    let mut req = reqwest::Client::new().get(hub.url(path));
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    let res = req.send().await.expect("request");
    Answer {
        status: res.status(),
        headers: res.headers().clone(),
        body: res.text().await.expect("body"),
    }
}

fn header(answer: &Answer, name: header::HeaderName) -> &str {
    answer
        .headers
        .get(&name)
        .unwrap_or_else(|| panic!("no {name} header"))
        .to_str()
        .expect("a text header")
}

/// The strings JSON a page embeds for its language switch.
fn embedded_strings(html: &str) -> Value {
    let open = r#"<script type="application/json" id="strings">"#;
    let start = html.find(open).expect("the page embeds its strings") + open.len();
    let end = start + html[start..].find("</script>").expect("the block ends");
    serde_json::from_str(&html[start..end]).expect("the strings are JSON")
}

/// The values of every `name="…"` attribute in `html`.
fn attributes<'a>(html: &'a str, name: &str) -> Vec<&'a str> {
    let needle = format!(" {name}=\"");
    html.match_indices(&needle)
        .map(|(i, _)| {
            let rest = &html[i + needle.len()..];
            &rest[..rest.find('"').expect("the attribute closes")]
        })
        .collect()
}

/// The keys of the script's `t("…")` calls (not `set("…")` and the like).
fn text_calls(script: &str) -> Vec<&str> {
    script
        .match_indices("t(\"")
        .filter(|(i, _)| {
            script[..*i]
                .chars()
                .next_back()
                .is_none_or(|c| !(c.is_alphanumeric() || c == '_' || c == '.'))
        })
        .filter_map(|(i, _)| script[i + 3..].split('"').next())
        .collect()
}

#[tokio::test]
async fn both_pages_are_html_under_a_strict_policy() {
    let hub = TestHub::start().await;
    for path in PAGES {
        let answer = fetch(&hub, path, &[]).await;
        assert_eq!(answer.status, 200, "{path}");
        assert_eq!(
            header(&answer, header::CONTENT_TYPE),
            "text/html; charset=utf-8"
        );
        let csp = header(&answer, header::CONTENT_SECURITY_POLICY);
        for directive in [
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            "connect-src 'self'",
            "img-src 'self' data:",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ] {
            assert!(
                csp.split(';').any(|d| d.trim() == directive),
                "{path}: {directive} missing from {csp}"
            );
        }
        assert!(
            !csp.contains("unsafe") && !csp.contains('*'),
            "{path}: {csp}"
        );
        assert_eq!(header(&answer, header::X_CONTENT_TYPE_OPTIONS), "nosniff");
        assert_eq!(header(&answer, header::REFERRER_POLICY), "no-referrer");
        assert_eq!(header(&answer, header::CACHE_CONTROL), "no-cache");
        assert_eq!(header(&answer, header::VARY), "Accept-Language");
        assert!(answer.body.starts_with("<!doctype html>"), "{path}");
    }
    // A page opened from a QR code carries the number in its query.
    let followed = fetch(&hub, "/status?n=42", &[]).await;
    assert_eq!(followed.status, 200);
    // Pages need no token, but a bad one is refused as everywhere else.
    let forged = fetch(&hub, "/board", &[("authorization", "Bearer not.a.token")]).await;
    assert_eq!(forged.status, 401);
}

#[tokio::test]
async fn each_asset_is_served_with_its_type_and_revalidated() {
    let hub = TestHub::start().await;
    for (path, kind) in ASSETS {
        let answer = fetch(&hub, path, &[]).await;
        assert_eq!(answer.status, 200, "{path}");
        let content_type = header(&answer, header::CONTENT_TYPE);
        assert_eq!(
            content_type.split(';').next(),
            Some(kind),
            "{path}: {content_type}"
        );
        assert!(!answer.body.is_empty(), "{path}");
        assert_eq!(header(&answer, header::X_CONTENT_TYPE_OPTIONS), "nosniff");
        assert_eq!(header(&answer, header::CACHE_CONTROL), "no-cache");
        let tag = header(&answer, header::ETAG).to_owned();
        assert!(tag.starts_with('"') && tag.ends_with('"'), "{tag}");
        let again = fetch(&hub, path, &[("if-none-match", &tag)]).await;
        assert_eq!(again.status, 304, "{path}");
        assert!(again.body.is_empty());
        let changed = fetch(&hub, path, &[("if-none-match", "\"something-else\"")]).await;
        assert_eq!(changed.status, 200, "{path}");
        assert_eq!(changed.body, answer.body);
    }
    let missing = fetch(&hub, "/pages/other.js", &[]).await;
    assert_eq!(missing.status, 404);
}

#[tokio::test]
async fn nothing_loads_from_outside_the_hub() {
    let hub = TestHub::start().await;
    let mut referenced = BTreeSet::new();
    for path in PAGES {
        let html = fetch(&hub, path, &[]).await.body;
        for scheme in ["http://", "https://", "ws://", "wss://"] {
            assert!(!html.contains(scheme), "{path} names {scheme}");
        }
        for name in ["src", "href", "action"] {
            for url in attributes(&html, name) {
                assert!(
                    url.starts_with('/') && !url.starts_with("//"),
                    "{path}: {name}=\"{url}\" is not the hub's own"
                );
                referenced.insert(url.split('?').next().unwrap_or(url).to_owned());
            }
        }
    }
    // Every file a page names is one the hub serves.
    for url in &referenced {
        let answer = fetch(&hub, url, &[]).await;
        assert_eq!(answer.status, 200, "{url}");
    }
    let script = fetch(&hub, "/pages/app.js", &[]).await.body;
    for scheme in ["http://", "https://", "ws://", "wss://"] {
        assert!(!script.contains(scheme), "app.js names {scheme}");
    }
    assert!(
        script.contains("${location.host}/ws?"),
        "the socket is the hub's own"
    );
    let style = fetch(&hub, "/pages/style.css", &[]).await.body;
    assert!(!style.contains("url(") && !style.contains("@import"));
}

#[tokio::test]
async fn every_text_exists_in_all_four_languages() {
    let hub = TestHub::start().await;
    let script = fetch(&hub, "/pages/app.js", &[]).await.body;
    let calls = text_calls(&script);
    assert!(calls.contains(&"status.invalid"), "{calls:?}");
    assert!(!calls.contains(&"n"), "{calls:?}");
    for path in PAGES {
        let html = fetch(&hub, path, &[]).await.body;
        let strings = embedded_strings(&html);
        let keys = |lang: &str| -> BTreeMap<String, String> {
            serde_json::from_value(strings[lang].clone())
                .unwrap_or_else(|e| panic!("{lang} strings: {e}"))
        };
        let english = keys("en");
        assert!(english.len() >= 20, "{english:?}");
        for lang in LANGUAGES {
            let texts = keys(lang);
            assert_eq!(
                texts.keys().collect::<Vec<_>>(),
                english.keys().collect::<Vec<_>>(),
                "{lang} has other keys than English"
            );
            for (key, text) in &texts {
                assert!(!text.trim().is_empty(), "{lang} {key} is empty");
                // A placeholder is kept in every translation.
                assert_eq!(
                    text.contains("{n}"),
                    english[key].contains("{n}"),
                    "{lang} {key} keeps its placeholder"
                );
            }
        }
        // Every key the page and its script name is there.
        let mut named: Vec<&str> = attributes(&html, "data-i18n");
        named.extend(text_calls(&script));
        for status in [
            "PENDING",
            "MAKING",
            "READY",
            "COMPLETED",
            "CANCELLED",
            "not_found",
        ] {
            assert!(english.contains_key(&format!("status.{status}")));
            assert!(english.contains_key(&format!("status.{status}.hint")));
        }
        for key in named {
            assert!(english.contains_key(key), "{path}: {key} has no text");
        }
    }
}

#[tokio::test]
async fn the_page_speaks_the_language_the_browser_asks_for() {
    let hub = TestHub::start().await;
    let cases = [
        (None, "en", "Order number"),
        (Some("ko-KR,ko;q=0.9,en-US;q=0.8"), "ko", "주문 번호"),
        (
            Some("fr-FR,fr;q=0.9,nl;q=0.5,de;q=0.8"),
            "de",
            "Bestellnummer",
        ),
        (Some("nl-BE"), "nl", "Bestelnummer"),
        (Some("ja, fr;q=0.8"), "en", "Order number"),
    ];
    for (accept, lang, text) in cases {
        let headers: Vec<(&str, &str)> =
            accept.map(|a| ("accept-language", a)).into_iter().collect();
        let html = fetch(&hub, "/status", &headers).await.body;
        assert!(
            html.contains(&format!("<html lang=\"{lang}\">")),
            "{accept:?}"
        );
        let label_start = html
            .find("<label for=\"number\"")
            .expect("the number's label");
        assert!(
            html[label_start..].starts_with(&format!(
                "<label for=\"number\" data-i18n=\"status.prompt\">{text}</label>"
            )),
            "{accept:?}: {}",
            &html[label_start..label_start + 80]
        );
    }
    let board = fetch(&hub, "/board", &[("accept-language", "ko")])
        .await
        .body;
    assert!(board.contains("<html lang=\"ko\">"));
    assert!(board.contains(">준비 완료<"), "the ready column in Korean");
    assert!(
        board.contains(">준비 중<"),
        "the preparing column in Korean"
    );
}

#[tokio::test]
async fn the_pages_keep_the_dom_contract() {
    let hub = TestHub::start().await;
    let status = fetch(&hub, "/status", &[]).await.body;
    for part in [
        "<form id=\"lookup\"",
        "<input id=\"number\"",
        "<button id=\"follow\"",
        "id=\"status\" data-status=\"none\"",
        "id=\"followed\"",
        "id=\"live\" data-state=",
        "<select id=\"lang\">",
    ] {
        assert!(status.contains(part), "/status lacks {part}");
    }
    let board = fetch(&hub, "/board", &[]).await.body;
    for part in [
        "<ul id=\"preparing\"",
        "<ul id=\"ready\"",
        "id=\"live\" data-state=",
        "<select id=\"lang\">",
    ] {
        assert!(board.contains(part), "/board lacks {part}");
    }
    for html in [&status, &board] {
        let options = attributes(html, "value");
        assert_eq!(options, LANGUAGES, "the language switch's options");
    }
}

#[tokio::test]
async fn the_snapshot_holds_todays_open_orders_for_every_caller() {
    let cafe = Cafe::open().await;
    // Yesterday's open order is not on today's board.
    let old = cafe.order_id().await;
    cafe.hub.hub.clock.advance(Duration::days(1));
    let mut ids = Vec::new();
    for _ in 0..5 {
        ids.push(cafe.order_id().await);
    }
    cafe.move_to(&ids[1], "MAKING").await;
    cafe.move_to(&ids[2], "MAKING").await;
    cafe.move_to(&ids[2], "READY").await;
    cafe.move_to(&ids[3], "MAKING").await;
    cafe.move_to(&ids[3], "READY").await;
    cafe.move_to(&ids[3], "COMPLETED").await;
    ok(
        cafe.barista
            .api
            .post(
                &format!("/api/orders/{}/cancel", ids[4]),
                json!({"reason": "changed mind"}),
            )
            .await,
        200,
    );
    let seq = cafe.seq().await;

    let want = json!([
        {"orderId": ids[0], "dailyNum": 1, "status": "PENDING"},
        {"orderId": ids[1], "dailyNum": 2, "status": "MAKING"},
        {"orderId": ids[2], "dailyNum": 3, "status": "READY"},
    ]);
    let anonymous = ok(cafe.anonymous().get("/api/snapshot").await, 200);
    assert_eq!(anonymous["board"], want);
    assert_eq!(anonymous["seq"], seq);
    assert_eq!(anonymous["orders"], json!([]), "no orders for anonymous");
    for device in [&cafe.kiosk, &cafe.barista, &cafe.display, &cafe.manager] {
        let snapshot = ok(device.api.get("/api/snapshot").await, 200);
        assert_eq!(snapshot["board"], want, "{:?}", device.role);
    }
    // The other fields are as they were: a barista still sees yesterday's
    // open order among its orders.
    let barista = ok(cafe.barista.api.get("/api/snapshot").await, 200);
    assert!(
        barista["orders"]
            .as_array()
            .unwrap()
            .iter()
            .any(|o| o["orderId"] == old.as_str()),
        "{barista}"
    );
}

#[tokio::test]
async fn a_board_that_starts_from_the_snapshot_misses_nothing() {
    let cafe = Cafe::open().await;
    let first = cafe.order_id().await;
    cafe.move_to(&first, "MAKING").await;
    let snapshot = ok(cafe.anonymous().get("/api/snapshot").await, 200);
    assert_eq!(
        snapshot["board"],
        json!([{"orderId": first, "dailyNum": 1, "status": "MAKING"}])
    );
    let seq = snapshot["seq"].as_u64().unwrap();
    let epoch = snapshot["epoch"].as_str().unwrap();

    // Changes after the snapshot, before the board connects.
    cafe.move_to(&first, "READY").await;
    let second = cafe.order_id().await;
    cafe.move_to(&second, "MAKING").await;

    let url = format!(
        "{}?topics=board&since={seq}&epoch={epoch}",
        cafe.hub.ws_url()
    );
    let mut board = Ws::connect(&url, None, None)
        .await
        .expect("anonymous board");
    let welcome = board.next().await;
    assert_eq!(welcome["event"], "welcome", "{welcome}");
    assert_eq!(welcome["data"]["topics"], json!(["board"]));
    let mut seen = Vec::new();
    loop {
        let frame = board.next().await;
        if frame["event"] == "replayed" {
            assert_eq!(frame["data"]["from"], seq);
            assert_eq!(frame["data"]["count"], 3);
            break;
        }
        assert_eq!(frame["event"], "order:status_changed", "{frame}");
        assert!(frame["seq"].as_u64().unwrap() > seq);
        seen.push(frame["data"].clone());
    }
    assert_eq!(
        seen,
        [
            json!({"orderId": first, "dailyNum": 1, "status": "READY"}),
            json!({"orderId": second, "dailyNum": 2, "status": "PENDING"}),
            json!({"orderId": second, "dailyNum": 2, "status": "MAKING"}),
        ]
    );
    // Then live.
    cafe.move_to(&first, "COMPLETED").await;
    let live = board.next_event("order:status_changed").await;
    assert_eq!(
        live["data"],
        json!({"orderId": first, "dailyNum": 1, "status": "COMPLETED"})
    );
}
