//! The real WebSocket adapter against an in-process WebSocket server: the
//! bearer header, resuming with `?topics=…&since=…&epoch=…` in the address
//! (and no `subscribe`), applying a replayed event, and
//! what a revoked token (close 4001) and a refused upgrade (401) look like.
// tungstenite fixes the callback's error type; its size is not ours to choose.
#![allow(clippy::result_large_err)]

use std::sync::Arc;
use std::time::Duration;

use countertop_client::{
    spawn, Cache, ConnectionConfig, ConnectionState, CoreEvent, DeviceToken, HttpHub, SilentOutput,
    SystemClock,
};
use countertop_protocol::{ClientMessage, Role, Snapshot};
use futures::{SinkExt, StreamExt};
use tokio::net::TcpListener;
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::{
    handshake::server::{ErrorResponse, Request, Response},
    protocol::{frame::coding::CloseCode, CloseFrame},
    Message,
};

fn seeded_cache(dir: &std::path::Path) -> Cache {
    let cache = Cache::open(dir).unwrap();
    let snapshot = Snapshot {
        epoch: "e1".into(),
        seq: 5,
        menu: vec![],
        settings: Default::default(),
        orders: vec![],
        cells: None,
        workorders: None,
        board: vec![],
    };
    cache.load_snapshot(&snapshot, |_| None).unwrap();
    cache
}

async fn until(
    events: &mut tokio::sync::mpsc::UnboundedReceiver<CoreEvent>,
    want: impl Fn(&CoreEvent) -> bool,
) -> CoreEvent {
    timeout(Duration::from_secs(20), async {
        loop {
            let event = events.recv().await.expect("events");
            if want(&event) {
                return event;
            }
        }
    })
    .await
    .expect("the event in time")
}

#[tokio::test]
async fn resumes_with_bearer_token_applies_events_and_stops_when_revoked() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let mut bearer = None;
        let mut query = Vec::new();
        let mut ws = tokio_tungstenite::accept_hdr_async(tcp, |req: &Request, resp: Response| {
            bearer = req
                .headers()
                .get("authorization")
                .map(|v| v.to_str().unwrap().to_owned());
            assert_eq!(req.uri().path(), "/ws");
            let url = reqwest::Url::parse(&format!("http://hub{}", req.uri())).unwrap();
            query = url.query_pairs().into_owned().collect::<Vec<_>>();
            Ok(resp)
        })
        .await
        .unwrap();
        // A version 2 hub: the welcome lists the address's topics, the replay
        // from `since` follows unasked, then `replayed`.
        ws.send(Message::text(
            r#"{"event":"welcome","data":{"connectionId":"c","deviceId":"d","role":"barista","epoch":"e1","seq":6,"topics":["orders","board","menu","settings","cells"]}}"#,
        ))
        .await
        .unwrap();
        ws.send(Message::text(
            r#"{"event":"order:created","seq":6,"data":{"orderId":"ORD-1-a","dailyNum":1,"payType":"CASH","items":[{"menuId":"latte","menuName":"Latte","quantity":2,"unitPrice":3500,"totalPrice":7000}],"totalAmount":7000,"status":"PENDING","createdAt":"2026-11-23T10:00:00Z"}}"#,
        ))
        .await
        .unwrap();
        ws.send(Message::text(
            r#"{"event":"replayed","data":{"from":5,"to":6,"count":1}}"#,
        ))
        .await
        .unwrap();
        // Then the device is revoked.
        ws.send(Message::Close(Some(CloseFrame {
            code: CloseCode::from(4001),
            reason: "revoked".into(),
        })))
        .await
        .unwrap();
        // Everything the client said until the socket closed.
        let mut said = Vec::new();
        while let Some(Ok(message)) = ws.next().await {
            if let Message::Text(text) = message {
                said.push(serde_json::from_str::<ClientMessage>(text.as_str()).unwrap());
            }
        }
        (bearer, query, said)
    });

    let dir = tempfile::tempdir().unwrap();
    let cache = seeded_cache(dir.path());
    let link = HttpHub::new(
        &url,
        Some(DeviceToken::new("secret-token".into())),
        Duration::from_secs(5),
    )
    .unwrap();
    let config = ConnectionConfig::for_role(Role::Barista, Arc::new(SystemClock));
    let (handle, mut events) = spawn(Arc::new(link), cache, config, Arc::new(SilentOutput));

    let applied = until(&mut events, |e| matches!(e, CoreEvent::Applied { .. })).await;
    let CoreEvent::Applied {
        seq,
        event,
        replayed,
    } = applied
    else {
        unreachable!()
    };
    assert_eq!((seq, event.name(), replayed), (6, "order:created", true));
    let rejected = until(
        &mut events,
        |e| matches!(e, CoreEvent::State(s) if s.state.name() == "rejected"),
    )
    .await;
    let CoreEvent::State(status) = rejected else {
        unreachable!()
    };
    assert!(
        matches!(status.state, ConnectionState::Rejected { ref code, .. } if code == "unauthorized")
    );

    let (bearer, query, said) = server.await.unwrap();
    assert_eq!(bearer.as_deref(), Some("Bearer secret-token"));
    let pair = |k: &str, v: &str| (k.to_owned(), v.to_owned());
    assert_eq!(
        query,
        vec![
            pair("topics", "orders,board,menu,settings,cells,notices"),
            pair("since", "5"),
            pair("epoch", "e1"),
        ]
    );
    assert!(
        !said
            .iter()
            .any(|m| matches!(m, ClientMessage::Subscribe { .. })),
        "nothing is subscribed after connecting: {said:?}"
    );
    assert_eq!(handle.cache().cursor().unwrap().seq, 6);
    assert_eq!(handle.cache().orders().unwrap().len(), 1);
    handle.shutdown();
}

/// Answers one plain HTTP request with `401`; returns its request line and
/// `Authorization` header.
async fn refuse_one_request(listener: &TcpListener) -> (String, Option<String>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (mut tcp, _) = listener.accept().await.unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") && head.len() < 16 * 1024 {
        tcp.read_exact(&mut byte).await.unwrap();
        head.push(byte[0]);
    }
    let head = String::from_utf8(head).unwrap();
    let body = r#"{"error":{"code":"unauthorized","message":"revoked"}}"#;
    let answer = format!(
        "HTTP/1.1 401 Unauthorized\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    tcp.write_all(answer.as_bytes()).await.unwrap();
    let line = head.lines().next().unwrap_or_default().to_owned();
    let bearer = head
        .lines()
        .find_map(|l| {
            l.strip_prefix("authorization: ")
                .or_else(|| l.strip_prefix("Authorization: "))
        })
        .map(str::to_owned);
    (line, bearer)
}

#[tokio::test]
async fn a_refused_upgrade_is_a_rejection_not_a_retry_loop() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let hub = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let _ = tokio_tungstenite::accept_hdr_async(tcp, |_: &Request, _: Response| {
            let mut refusal = ErrorResponse::new(Some(
                r#"{"error":{"code":"unauthorized","message":"revoked"}}"#.into(),
            ));
            *refusal.status_mut() = tokio_tungstenite::tungstenite::http::StatusCode::UNAUTHORIZED;
            Err(refusal)
        })
        .await;
        // The device tries one refresh of its token (the hub may have
        // rotated its secret); this hub refuses that too.
        refuse_one_request(&listener).await
    });
    let dir = tempfile::tempdir().unwrap();
    let link = HttpHub::new(
        &url,
        Some(DeviceToken::new("old".into())),
        Duration::from_secs(5),
    )
    .unwrap();
    let config = ConnectionConfig::for_role(Role::Barista, Arc::new(SystemClock));
    let (handle, mut events) = spawn(
        Arc::new(link),
        seeded_cache(dir.path()),
        config,
        Arc::new(SilentOutput),
    );
    until(
        &mut events,
        |e| matches!(e, CoreEvent::State(s) if s.state.name() == "rejected"),
    )
    .await;
    assert_eq!(handle.status().state.name(), "rejected");
    let (request, bearer) = hub.await.unwrap();
    assert_eq!(request, "POST /api/devices/refresh HTTP/1.1");
    assert_eq!(bearer.as_deref(), Some("Bearer old"));
    handle.shutdown();
    until(
        &mut events,
        |e| matches!(e, CoreEvent::State(s) if s.state.name() == "stopped"),
    )
    .await;
}
