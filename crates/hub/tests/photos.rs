//! Menu photos over REST: a manager uploads a JPEG, PNG or WebP; the hub
//! bounds and decodes it, re-encodes it without its metadata, serves it with
//! an ETag, and announces it on the menu.

mod support;

use std::io::Cursor;
use std::time::{Duration, Instant};

use image::{DynamicImage, ImageFormat, Rgb, RgbImage, Rgba, RgbaImage};
use reqwest::StatusCode;
use serde_json::Value;
use support::{assert_error, ok, Api, Cafe};

/// An upload of `bytes` as `content_type` (none if empty) through `api`.
async fn upload(
    cafe: &Cafe,
    api: &Api,
    path: &str,
    content_type: &str,
    bytes: Vec<u8>,
) -> (StatusCode, Value) {
    let mut req = api.client().put(cafe.hub.url(path)).body(bytes);
    if !content_type.is_empty() {
        req = req.header("content-type", content_type);
    }
    api.raw(req).await
}

fn encode(picture: &DynamicImage, format: ImageFormat) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    match format {
        ImageFormat::WebP => picture
            .write_with_encoder(image::codecs::webp::WebPEncoder::new_lossless(&mut out))
            .unwrap(),
        _ => picture.write_to(&mut out, format).unwrap(),
    }
    out.into_inner()
}

/// A 64×48 JPEG whose APP1 segment carries EXIF: a description, the
/// orientation "rotate 90° clockwise" and a GPS position.
fn jpeg_with_exif() -> Vec<u8> {
    let picture = RgbImage::from_fn(64, 48, |x, y| Rgb([(x * 4) as u8, (y * 5) as u8, 90]));
    let jpeg = encode(&DynamicImage::ImageRgb8(picture), ImageFormat::Jpeg);

    // TIFF, little-endian: IFD0 at 8 (3 entries, ends at 50), the
    // description at 50 (14 bytes), the GPS IFD at 64 (2 entries, ends at
    // 94), the latitude's three rationals at 94.
    let mut tiff: Vec<u8> = b"II*\0".to_vec();
    tiff.extend(8u32.to_le_bytes());
    let entry = |tiff: &mut Vec<u8>, tag: u16, kind: u16, count: u32, value: [u8; 4]| {
        tiff.extend(tag.to_le_bytes());
        tiff.extend(kind.to_le_bytes());
        tiff.extend(count.to_le_bytes());
        tiff.extend(value);
    };
    tiff.extend(3u16.to_le_bytes());
    entry(&mut tiff, 0x010e, 2, 14, 50u32.to_le_bytes()); // ImageDescription
    entry(&mut tiff, 0x0112, 3, 1, [6, 0, 0, 0]); // Orientation: 90° clockwise
    entry(&mut tiff, 0x8825, 4, 1, 64u32.to_le_bytes()); // the GPS IFD
    tiff.extend(0u32.to_le_bytes());
    tiff.extend(b"Kims kitchen!\0");
    assert_eq!(tiff.len(), 64);
    tiff.extend(2u16.to_le_bytes());
    entry(&mut tiff, 0x0001, 2, 2, *b"N\0\0\0"); // GPSLatitudeRef
    entry(&mut tiff, 0x0002, 5, 3, 94u32.to_le_bytes()); // GPSLatitude
    tiff.extend(0u32.to_le_bytes());
    assert_eq!(tiff.len(), 94);
    for (n, d) in [(37u32, 1u32), (33, 1), (1234, 100)] {
        tiff.extend(n.to_le_bytes());
        tiff.extend(d.to_le_bytes());
    }

    let mut app1 = vec![0xff, 0xe1];
    app1.extend(u16::try_from(2 + 6 + tiff.len()).unwrap().to_be_bytes());
    app1.extend(b"Exif\0\0");
    app1.extend(tiff);
    let mut out = jpeg[..2].to_vec(); // SOI
    out.extend(app1);
    out.extend(&jpeg[2..]);
    out
}

/// A PNG whose left half is opaque blue and right half fully transparent.
fn png_with_alpha() -> Vec<u8> {
    let picture = RgbaImage::from_fn(40, 30, |x, _| {
        if x < 20 {
            Rgba([0, 0, 255, 255])
        } else {
            Rgba([0, 0, 0, 0])
        }
    });
    encode(&DynamicImage::ImageRgba8(picture), ImageFormat::Png)
}

fn webp() -> Vec<u8> {
    let picture = RgbImage::from_fn(30, 20, |_, _| Rgb([200, 30, 30]));
    encode(&DynamicImage::ImageRgb8(picture), ImageFormat::WebP)
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn png_chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend(u32::try_from(data.len()).unwrap().to_be_bytes());
    let mut body = kind.to_vec();
    body.extend(data);
    out.extend(&body);
    out.extend(crc32(&body).to_be_bytes());
}

/// A decompression bomb: a valid PNG header claiming 100000 × 100000 RGBA
/// pixels (40 GB decoded), in a few hundred bytes.
fn png_bomb() -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend(100_000u32.to_be_bytes());
    ihdr.extend(100_000u32.to_be_bytes());
    ihdr.extend([8, 6, 0, 0, 0]);
    png_chunk(&mut out, b"IHDR", &ihdr);
    // A zlib stream of nothing but zeros would go on for ever; a stub is
    // enough, since the header alone must be refused.
    png_chunk(
        &mut out,
        b"IDAT",
        &[0x78, 0x9c, 0x63, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01],
    );
    png_chunk(&mut out, b"IEND", &[]);
    assert!(out.len() < 300);
    out
}

/// GETs `path` anonymously with an optional `If-None-Match`.
async fn fetch(cafe: &Cafe, path: &str, if_none_match: Option<&str>) -> reqwest::Response {
    let mut req = reqwest::Client::new().get(cafe.hub.url(path));
    if let Some(tag) = if_none_match {
        req = req.header("if-none-match", tag);
    }
    req.send().await.expect("request")
}

fn header<'a>(res: &'a reqwest::Response, name: &str) -> &'a str {
    res.headers()
        .get(name)
        .unwrap_or_else(|| panic!("{name} in {:?}", res.headers()))
        .to_str()
        .unwrap()
}

/// The photo served at `url`, checked as the hub serves photos, decoded.
async fn served(cafe: &Cafe, url: &str) -> (Vec<u8>, DynamicImage) {
    let res = fetch(cafe, url, None).await;
    assert_eq!(res.status(), 200, "{url}");
    assert_eq!(header(&res, "content-type"), "image/jpeg");
    assert_eq!(header(&res, "x-content-type-options"), "nosniff");
    let bytes = res.bytes().await.unwrap().to_vec();
    let picture = image::load_from_memory_with_format(&bytes, ImageFormat::Jpeg).unwrap();
    (bytes, picture)
}

#[tokio::test]
async fn a_jpeg_loses_its_metadata_but_keeps_its_orientation() {
    let cafe = Cafe::open().await;
    let jpeg = jpeg_with_exif();
    assert!(jpeg.windows(4).any(|w| w == b"Exif"));
    let item = ok(
        upload(
            &cafe,
            &cafe.manager.api,
            "/api/menu/latte/photo",
            "image/jpeg",
            jpeg,
        )
        .await,
        200,
    );
    assert_eq!(item["id"], "latte");
    let url = item["photo"]["url"].as_str().unwrap().to_owned();
    let thumb_url = item["photo"]["thumbUrl"].as_str().unwrap().to_owned();
    let version = url.strip_prefix("/api/menu/latte/photo?v=").unwrap();
    assert!(!version.is_empty());
    assert_eq!(
        thumb_url,
        format!("/api/menu/latte/photo/thumb?v={version}")
    );

    for address in [&url, &thumb_url] {
        let (bytes, picture) = served(&cafe, address).await;
        for secret in [&b"Exif"[..], b"Kims kitchen", &[0xff, 0xe1]] {
            assert!(
                !bytes.windows(secret.len()).any(|w| w == secret),
                "{address} keeps {secret:?}"
            );
        }
        // Turned as the orientation said: 64×48 stood up is 48×64.
        assert_eq!((picture.width(), picture.height()), (48, 64), "{address}");
    }
}

#[tokio::test]
async fn a_png_with_alpha_is_flattened_on_white_and_a_webp_is_taken() {
    let cafe = Cafe::open().await;
    let item = ok(
        upload(
            &cafe,
            &cafe.manager.api,
            "/api/menu/americano/photo",
            "image/png",
            png_with_alpha(),
        )
        .await,
        200,
    );
    let (_, picture) = served(&cafe, item["photo"]["url"].as_str().unwrap()).await;
    let picture = picture.to_rgb8();
    assert_eq!(picture.dimensions(), (40, 30));
    let [r, g, b] = picture.get_pixel(5, 15).0;
    assert!(
        r < 40 && g < 40 && b > 200,
        "opaque blue stays: {r} {g} {b}"
    );
    let [r, g, b] = picture.get_pixel(35, 15).0;
    assert!(
        r > 230 && g > 230 && b > 230,
        "transparent is white: {r} {g} {b}"
    );

    let item = ok(
        upload(
            &cafe,
            &cafe.manager.api,
            "/api/menu/espresso/photo",
            "image/webp; charset=binary",
            webp(),
        )
        .await,
        200,
    );
    let (_, picture) = served(&cafe, item["photo"]["thumbUrl"].as_str().unwrap()).await;
    let [r, g, b] = picture.to_rgb8().get_pixel(15, 10).0;
    assert!(r > 170 && g < 70 && b < 70, "red: {r} {g} {b}");
}

#[tokio::test]
async fn a_large_picture_is_shrunk_to_1024_and_its_thumbnail_to_320() {
    let cafe = Cafe::open().await;
    let picture = RgbImage::from_fn(2000, 1500, |x, y| {
        Rgb([(x % 256) as u8, (y % 256) as u8, ((x + y) % 256) as u8])
    });
    let png = encode(&DynamicImage::ImageRgb8(picture), ImageFormat::Png);
    let item = ok(
        upload(
            &cafe,
            &cafe.manager.api,
            "/api/menu/latte/photo",
            "image/png",
            png,
        )
        .await,
        200,
    );
    let (full_bytes, full) = served(&cafe, item["photo"]["url"].as_str().unwrap()).await;
    assert_eq!((full.width(), full.height()), (1024, 768));
    let (thumb_bytes, thumb) = served(&cafe, item["photo"]["thumbUrl"].as_str().unwrap()).await;
    assert_eq!((thumb.width(), thumb.height()), (320, 240));
    assert!(thumb_bytes.len() < full_bytes.len());
    let stored: i64 = cafe
        .count(
            "SELECT CAST(length(\"full\") AS BIGINT) FROM menu_photos WHERE menu_id = $1",
            &["latte"],
        )
        .await;
    assert_eq!(stored, i64::try_from(full_bytes.len()).unwrap());
}

#[tokio::test]
async fn what_is_not_a_photo_is_refused_and_changes_nothing() {
    let cafe = Cafe::open().await;
    let api = &cafe.manager.api;
    let path = "/api/menu/latte/photo";

    let over = vec![0u8; 8 * 1024 * 1024 + 1];
    assert_error(
        &upload(&cafe, api, path, "image/jpeg", over).await,
        413,
        "payload_too_large",
    );
    assert_error(
        &upload(
            &cafe,
            api,
            path,
            "image/png",
            b"hello, not a picture".to_vec(),
        )
        .await,
        400,
        "validation",
    );
    // A JPEG sent as a PNG.
    assert_error(
        &upload(&cafe, api, path, "image/png", jpeg_with_exif()).await,
        400,
        "validation",
    );
    // A truncated picture.
    let mut cut = png_with_alpha();
    cut.truncate(cut.len() / 2);
    assert_error(
        &upload(&cafe, api, path, "image/png", cut).await,
        400,
        "validation",
    );
    assert_error(
        &upload(&cafe, api, path, "image/png", Vec::new()).await,
        400,
        "validation",
    );
    for kind in ["text/plain", "image/gif", "image/svg+xml", ""] {
        let answer = upload(&cafe, api, path, kind, png_with_alpha()).await;
        assert_error(&answer, 415, "validation");
        assert!(
            answer.1["error"]["message"]
                .as_str()
                .unwrap()
                .contains("image/jpeg, image/png or image/webp"),
            "{answer:?}"
        );
    }

    let started = Instant::now();
    let answer = upload(&cafe, api, path, "image/png", png_bomb()).await;
    assert_error(&answer, 400, "validation");
    assert!(
        answer.1["error"]["message"]
            .as_str()
            .unwrap()
            .contains("6000"),
        "{answer:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "a bomb is refused from its header, not decoded"
    );

    assert_error(
        &upload(
            &cafe,
            api,
            "/api/menu/no-such-item/photo",
            "image/png",
            png_with_alpha(),
        )
        .await,
        404,
        "not_found",
    );
    assert_eq!(cafe.seq().await, cafe.opened_at_seq, "nothing announced");
    assert_eq!(cafe.count("SELECT COUNT(*) FROM menu_photos", &[]).await, 0);
    assert!(cafe.menu_item("latte").await.get("photo").is_none());
}

#[tokio::test]
async fn only_a_manager_changes_photos_and_anyone_reads_them() {
    let cafe = Cafe::open().await;
    for device in [&cafe.kiosk, &cafe.barista, &cafe.display] {
        let path = "/api/menu/latte/photo";
        assert_error(
            &upload(&cafe, &device.api, path, "image/png", png_with_alpha()).await,
            403,
            "forbidden",
        );
        assert_error(&device.api.delete(path).await, 403, "forbidden");
    }
    assert_error(
        &upload(
            &cafe,
            &cafe.anonymous(),
            "/api/menu/latte/photo",
            "image/png",
            png_with_alpha(),
        )
        .await,
        401,
        "unauthorized",
    );
    assert_eq!(cafe.count("SELECT COUNT(*) FROM menu_photos", &[]).await, 0);

    let res = fetch(&cafe, "/api/menu/latte/photo", None).await;
    assert_eq!(res.status(), 404);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "not_found");
}

#[tokio::test]
async fn a_photo_is_served_with_its_etag_and_kept_for_good_at_its_address() {
    let cafe = Cafe::open().await;
    let item = ok(
        upload(
            &cafe,
            &cafe.manager.api,
            "/api/menu/latte/photo",
            "image/png",
            png_with_alpha(),
        )
        .await,
        200,
    );
    let url = item["photo"]["url"].as_str().unwrap();
    let version = url.split("?v=").nth(1).unwrap();
    let etag = format!("\"{version}\"");

    let res = fetch(&cafe, url, None).await;
    assert_eq!(res.status(), 200);
    assert_eq!(header(&res, "etag"), etag);
    assert_eq!(
        header(&res, "cache-control"),
        "public, max-age=31536000, immutable"
    );

    let res = fetch(&cafe, url, Some(&etag)).await;
    assert_eq!(res.status(), 304);
    assert_eq!(header(&res, "etag"), etag);
    assert!(res.bytes().await.unwrap().is_empty());
    let res = fetch(&cafe, url, Some(&format!("\"other\", W/{etag}"))).await;
    assert_eq!(res.status(), 304);
    let res = fetch(&cafe, url, Some("\"other\"")).await;
    assert_eq!(res.status(), 200);

    // An address without the version (or with an old one) shows the photo
    // as it is now, so it is revalidated.
    let res = fetch(&cafe, "/api/menu/latte/photo/thumb", None).await;
    assert_eq!(res.status(), 200);
    assert_eq!(header(&res, "cache-control"), "no-cache");
    assert_eq!(header(&res, "etag"), etag, "one version names both sizes");

    // A new photo is a new version.
    let again = ok(
        upload(
            &cafe,
            &cafe.manager.api,
            "/api/menu/latte/photo",
            "image/webp",
            webp(),
        )
        .await,
        200,
    );
    assert_ne!(again["photo"]["url"], item["photo"]["url"]);
    let res = fetch(&cafe, url, Some(&etag)).await;
    assert_eq!(res.status(), 200, "the old tag no longer matches");
    assert_eq!(header(&res, "cache-control"), "no-cache");
}

#[tokio::test]
async fn a_photo_is_on_the_menu_in_the_snapshot_and_announced() {
    let cafe = Cafe::open().await;
    let mut ws = cafe.hub.connect_with(None, "topics=menu").await;
    ws.next_event("welcome").await;

    let item = ok(
        upload(
            &cafe,
            &cafe.manager.api,
            "/api/menu/latte/photo",
            "image/png",
            png_with_alpha(),
        )
        .await,
        200,
    );
    let photo = item["photo"].clone();
    assert!(photo["url"].is_string() && photo["thumbUrl"].is_string());
    let frame = ws.next_event("menu:updated").await;
    assert_eq!(frame["data"]["id"], "latte");
    assert_eq!(frame["data"]["photo"], photo);
    assert_eq!(frame["data"]["price"], item["price"]);

    assert_eq!(cafe.menu_item("latte").await["photo"], photo);
    let snapshot = ok(cafe.anonymous().get("/api/snapshot").await, 200);
    let latte = snapshot["menu"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == "latte")
        .unwrap();
    assert_eq!(latte["photo"], photo);
    assert!(cafe.menu_item("americano").await.get("photo").is_none());

    // Changing the item keeps its photo in what is announced.
    ok(
        cafe.manager
            .api
            .patch("/api/menu/latte", serde_json::json!({"price": 4700}))
            .await,
        200,
    );
    let frame = ws.next_event("menu:updated").await;
    assert_eq!(frame["data"]["photo"], photo);

    let removed = ok(cafe.manager.api.delete("/api/menu/latte/photo").await, 200);
    assert!(removed.get("photo").is_none());
    let frame = ws.next_event("menu:updated").await;
    assert_eq!(frame["data"]["id"], "latte");
    assert!(frame["data"].get("photo").is_none(), "{frame}");
    let res = fetch(&cafe, photo["url"].as_str().unwrap(), None).await;
    assert_eq!(res.status(), 404);
    // Removing what is not there changes and announces nothing.
    let seq = cafe.seq().await;
    ok(cafe.manager.api.delete("/api/menu/latte/photo").await, 200);
    assert_eq!(cafe.seq().await, seq);
}

#[tokio::test]
async fn deleting_an_item_deletes_its_photo() {
    let cafe = Cafe::open().await;
    ok(
        upload(
            &cafe,
            &cafe.manager.api,
            "/api/menu/cheesecake/photo",
            "image/png",
            png_with_alpha(),
        )
        .await,
        200,
    );
    assert_eq!(cafe.count("SELECT COUNT(*) FROM menu_photos", &[]).await, 1);
    let (status, body) = cafe.manager.api.delete("/api/menu/cheesecake").await;
    assert!(status.is_success(), "{status} {body}");
    assert_eq!(cafe.count("SELECT COUNT(*) FROM menu_photos", &[]).await, 0);
}
