//! The hub's own web pages: `/status` (a customer follows an order by its
//! number, on a phone) and `/board` (the now-serving board on a screen above
//! the counter). Plain HTML, CSS and JavaScript embedded in the binary, no
//! build step and nothing from outside the hub; the pages read the public
//! REST calls and the anonymous WebSocket like any other client.
//!
//! Each page is rendered once per language (English, Korean, Dutch, German)
//! from its template: the language `Accept-Language` asks for fills the
//! page's text and `<html lang>`, and every language's strings travel along
//! as JSON, so the page's switch changes language without a round trip.

use std::sync::OnceLock;

use axum::http::header::{self, HeaderMap, HeaderName, HeaderValue};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::Value;

const STATUS_HTML: &str = include_str!("status.html");
const BOARD_HTML: &str = include_str!("board.html");
const APP_JS: &str = include_str!("app.js");
const STYLE_CSS: &str = include_str!("style.css");
const ICON_SVG: &str = include_str!("icon.svg");
/// Every text of the pages, by language and key.
pub(crate) const STRINGS_JSON: &str = include_str!("strings.json");

/// The pages' languages; the first is the default.
pub(crate) const LANGUAGES: [&str; 4] = ["en", "ko", "nl", "de"];

/// Scripts, styles and connections from the hub itself only; no inline
/// script or style, no frames, no plugins. `connect-src 'self'` covers the
/// same-origin `ws://` and `wss://` (CSP Level 3, which browsers follow).
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; connect-src 'self'; img-src 'self' data:; \
     base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// A page: rendered per language, never cached without asking again (its
/// language follows the request's `Accept-Language`).
struct Page {
    template: &'static str,
    rendered: OnceLock<Vec<String>>,
}

static STATUS: Page = Page {
    template: STATUS_HTML,
    rendered: OnceLock::new(),
};
static BOARD: Page = Page {
    template: BOARD_HTML,
    rendered: OnceLock::new(),
};

impl Page {
    fn html(&self, language: usize) -> &str {
        let rendered = self
            .rendered
            .get_or_init(|| LANGUAGES.iter().map(|l| render(self.template, l)).collect());
        &rendered[language]
    }
}

/// `GET /status` (and `/status?n=N`, which the page's script follows).
pub async fn status(headers: HeaderMap) -> Response {
    page(&STATUS, &headers)
}

/// `GET /board`.
pub async fn board(headers: HeaderMap) -> Response {
    page(&BOARD, &headers)
}

/// `GET /pages/app.js`.
pub async fn app_js(headers: HeaderMap) -> Response {
    asset(&headers, APP_JS, "text/javascript; charset=utf-8")
}

/// `GET /pages/style.css`.
pub async fn style_css(headers: HeaderMap) -> Response {
    asset(&headers, STYLE_CSS, "text/css; charset=utf-8")
}

/// `GET /pages/icon.svg`.
pub async fn icon_svg(headers: HeaderMap) -> Response {
    asset(&headers, ICON_SVG, "image/svg+xml")
}

fn page(page: &Page, headers: &HeaderMap) -> Response {
    let language = preferred_language(headers);
    let mut response = page.html(language).to_owned().into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(header::VARY, HeaderValue::from_static("Accept-Language"));
    protect(h);
    response
}

/// An embedded file: revalidated on each use by its `ETag`, so a phone keeps
/// it and a new hub version is picked up at once.
fn asset(headers: &HeaderMap, body: &'static str, content_type: &'static str) -> Response {
    let tag = etag(body);
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == tag || t.trim() == "*"));
    let mut response = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        body.into_response()
    };
    let h = response.headers_mut();
    if !fresh {
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if let Ok(value) = HeaderValue::from_str(&tag) {
        h.insert(header::ETAG, value);
    }
    protect(h);
    response
}

/// The headers every page and asset carries.
fn protect(h: &mut HeaderMap) {
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        HeaderName::from_static("cross-origin-opener-policy"),
        HeaderValue::from_static("same-origin"),
    );
}

/// A strong validator of an embedded file: the start of its SHA-256.
fn etag(body: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(body.as_bytes());
    let hex: String = digest[..12].iter().map(|b| format!("{b:02x}")).collect();
    format!("\"{hex}\"")
}

/// The index in [`LANGUAGES`] of the language `Accept-Language` prefers:
/// the highest `q` among ours (by primary subtag, `ko-KR` is `ko`), the
/// first listed on a tie, English when none is ours.
pub(crate) fn preferred_language(headers: &HeaderMap) -> usize {
    let Some(header) = headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
    else {
        return 0;
    };
    let mut best: Option<(usize, f32)> = None;
    // A header is at most hyper's limit; a few dozen ranges are plenty.
    for range in header.split(',').take(32) {
        let mut parts = range.split(';');
        let tag = parts.next().unwrap_or("").trim();
        let primary = tag.split('-').next().unwrap_or("");
        let Some(index) = LANGUAGES
            .iter()
            .position(|l| l.eq_ignore_ascii_case(primary))
        else {
            continue;
        };
        let q = parts
            .find_map(|p| p.trim().strip_prefix("q="))
            .map_or(Some(1.0), |q| q.trim().parse::<f32>().ok())
            .filter(|q| q.is_finite() && *q > 0.0 && *q <= 1.0);
        let Some(q) = q else { continue };
        if best.is_none_or(|(_, b)| q > b) {
            best = Some((index, q));
        }
    }
    best.map_or(0, |(index, _)| index)
}

fn strings() -> &'static Value {
    static STRINGS: OnceLock<Value> = OnceLock::new();
    STRINGS.get_or_init(|| {
        // Embedded at build time; the tests read it, so this cannot fail at run time.
        serde_json::from_str(STRINGS_JSON).unwrap_or(Value::Null)
    })
}

/// A page's text in `language`, by key (the tests check every key the
/// templates name has one in each language).
pub(crate) fn text(language: &str, key: &str) -> Option<&'static str> {
    strings()
        .get(language)
        .and_then(|l| l.get(key))
        .and_then(Value::as_str)
}

/// Fills a template: `{{lang}}` the language, `{{t:key}}` a text (escaped),
/// `{{strings}}` every language's texts as JSON safe inside `<script>`.
pub(crate) fn render(template: &str, language: &str) -> String {
    let mut out = String::with_capacity(template.len() + STRINGS_JSON.len());
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            rest = &rest[start..];
            break;
        };
        let name = &after[..end];
        match name {
            "lang" => out.push_str(language),
            // `<` escaped, so no `</script>` or `<!--` can end the block early.
            "strings" => out.push_str(&strings().to_string().replace('<', "\\u003c")),
            _ => {
                let key = name.strip_prefix("t:").unwrap_or(name);
                escape_into(&mut out, text(language, key).unwrap_or(key));
            }
        }
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    out
}

fn escape_into(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(accept: &str) -> usize {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::ACCEPT_LANGUAGE,
            HeaderValue::from_str(accept).unwrap(),
        );
        preferred_language(&headers)
    }

    #[test]
    fn accept_language_picks_the_best_of_ours() {
        assert_eq!(LANGUAGES[preferred_language(&HeaderMap::new())], "en");
        assert_eq!(LANGUAGES[with("ko-KR,ko;q=0.9,en-US;q=0.8,en;q=0.7")], "ko");
        assert_eq!(LANGUAGES[with("fr-FR,fr;q=0.9,nl;q=0.5,de;q=0.8")], "de");
        assert_eq!(LANGUAGES[with("NL-be")], "nl");
        assert_eq!(LANGUAGES[with("fr, ja;q=0.5, *;q=0.1")], "en");
        assert_eq!(
            LANGUAGES[with("de;q=0, nl;q=0.2")],
            "nl",
            "q=0 means not this one"
        );
        assert_eq!(
            LANGUAGES[with("de;q=abc, ko;q=0.3")],
            "ko",
            "a bad q is ignored"
        );
        assert_eq!(
            LANGUAGES[with("nl;q=0.5, de;q=0.5")],
            "nl",
            "the first on a tie"
        );
    }

    #[test]
    fn every_placeholder_of_every_page_is_filled_in_every_language() {
        for template in [STATUS_HTML, BOARD_HTML] {
            for language in LANGUAGES {
                let html = render(template, language);
                assert!(!html.contains("{{"), "{language}: {html}");
                assert!(html.contains(&format!("<html lang=\"{language}\">")));
            }
            let mut rest = template;
            while let Some(start) = rest.find("{{t:") {
                let after = &rest[start + 4..];
                let end = after.find("}}").expect("a placeholder closes");
                for language in LANGUAGES {
                    assert!(
                        text(language, &after[..end]).is_some(),
                        "{language} lacks {}",
                        &after[..end]
                    );
                }
                rest = &after[end..];
            }
        }
    }

    #[test]
    fn texts_are_escaped_and_the_strings_cannot_close_their_script() {
        let mut out = String::new();
        escape_into(&mut out, "<b>\"Tom\" & 'Jerry'</b>");
        assert_eq!(
            out,
            "&lt;b&gt;&quot;Tom&quot; &amp; &#39;Jerry&#39;&lt;/b&gt;"
        );
        let html = render("<script>{{strings}}</script>", "en");
        assert_eq!(html.matches("</script>").count(), 1);
        assert!(html.contains("\"Ready!\""));
    }
}
