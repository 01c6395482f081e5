//! `GET /api/snapshot`: what each role may read in one answer.

mod support;

use countertop_protocol::Role;
use serde_json::json;
use support::{ids, ok, Cafe};

#[tokio::test]
async fn the_snapshot_holds_what_each_role_may_read() {
    let cafe = Cafe::open().await;
    let other_kiosk = cafe.hub.pair(Role::Kiosk).await;
    let other_display = cafe.hub.pair(Role::Display).await;
    let mine = cafe.order(&cafe.kiosk.api, &[("americano", 1)]).await;
    let theirs = cafe.order(&other_kiosk.api, &[("latte", 1)]).await;
    let shown = cafe.workorder().await;
    let elsewhere = cafe.workorder().await;
    cafe.present(&shown, &cafe.display).await;
    cafe.present(&elsewhere, &other_display).await;
    let unpresented = cafe.workorder().await;
    let seq = cafe.seq().await;
    let epoch = ok(cafe.anonymous().get("/healthz").await, 200)["epoch"].clone();
    let mine_id = mine["orderId"].as_str().unwrap().to_owned();
    let theirs_id = theirs["orderId"].as_str().unwrap().to_owned();

    let anon = ok(cafe.anonymous().get("/api/snapshot").await, 200);
    assert_eq!(anon["seq"], seq);
    assert_eq!(anon["epoch"], epoch);
    assert_eq!(anon["menu"].as_array().unwrap().len(), 12);
    assert_eq!(anon["settings"]["currency"], "KRW");
    assert_eq!(anon["orders"], json!([]));
    assert!(anon.get("cells").is_none(), "{anon}");
    assert!(anon.get("workorders").is_none(), "{anon}");

    let kiosk = ok(cafe.kiosk.api.get("/api/snapshot").await, 200);
    assert_eq!(ids(&kiosk["orders"]), vec![mine_id.clone()]);
    assert_eq!(kiosk["cells"].as_array().unwrap().len(), 3);
    assert!(kiosk.get("workorders").is_none(), "{kiosk}");

    let display = ok(cafe.display.api.get("/api/snapshot").await, 200);
    assert_eq!(ids(&display["workorders"]), vec![shown.clone()]);
    assert_eq!(display["orders"], json!([]));
    assert!(display.get("cells").is_none(), "{display}");

    let barista = ok(cafe.barista.api.get("/api/snapshot").await, 200);
    let mut seen = ids(&barista["orders"]);
    seen.sort();
    let mut both = vec![mine_id.clone(), theirs_id.clone()];
    both.sort();
    assert_eq!(seen, both);
    assert_eq!(barista["cells"].as_array().unwrap().len(), 3);
    assert!(barista.get("workorders").is_none(), "{barista}");

    let manager = ok(cafe.manager.api.get("/api/snapshot").await, 200);
    let mut seen = ids(&manager["orders"]);
    seen.sort();
    assert_eq!(seen, both);
    assert_eq!(manager["cells"].as_array().unwrap().len(), 3);
    let mut seen = ids(&manager["workorders"]);
    seen.sort();
    let mut every = vec![shown, elsewhere, unpresented];
    every.sort();
    assert_eq!(seen, every);
    assert_eq!(manager["seq"], seq);
}
