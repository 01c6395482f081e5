//! The accept loop: HTTP/1.1 connections with timeouts, a cap on the
//! connections one address may hold open, and graceful shutdown.
//!
//! Invariants:
//! - A connection that has not sent a whole request head within
//!   `header_read_timeout` (a silent socket, a slowloris, an idle keep-alive
//!   connection) is closed; a request body that stalls for `body_timeout` is
//!   answered `408` and its connection closed (see `router`).
//! - One address holds at most `max_connections_per_address` sockets,
//!   upgraded WebSockets and open SSE streams included: the count is released
//!   when the socket itself is dropped, wherever it went.
//! - A failing `accept` (out of file descriptors) never ends the loop.
//! - `--tls-listen` connections go through the same loop: the same cap and
//!   timeouts (the TLS handshake within `header_read_timeout`), the same
//!   routes and the same graceful stop; each request is marked
//!   [`Secure`] or not, for the plain listener's `426` gate.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::ConnectInfo;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

use crate::tls::Secure;
use crate::Hub;

/// Raises this process's soft limit on open files to its hard limit, so that
/// the hub's connection caps, not the operating system's default of 1,024,
/// decide how many clients it serves. Returns the limit now in force.
pub fn raise_open_files_limit() -> u64 {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => limit,
        Err(e) => {
            tracing::warn!(error = %e, "could not raise the open-file limit");
            rlimit::getrlimit(rlimit::Resource::NOFILE).map_or(0, |(soft, _)| soft)
        }
    }
}

/// Open connections per remote address.
#[derive(Default)]
pub struct ConnectionCounts {
    by_ip: Mutex<HashMap<IpAddr, usize>>,
}

impl ConnectionCounts {
    /// A slot for one more connection from `ip`, or `None` at the cap.
    pub fn acquire(self: &Arc<Self>, ip: IpAddr, cap: usize) -> Option<Slot> {
        let mut map = self.by_ip.lock().unwrap_or_else(|p| p.into_inner());
        let n = map.entry(ip).or_insert(0);
        if *n >= cap {
            return None;
        }
        *n += 1;
        Some(Slot {
            counts: self.clone(),
            ip,
        })
    }

    /// How many connections `ip` holds open.
    pub fn open(&self, ip: IpAddr) -> usize {
        let map = self.by_ip.lock().unwrap_or_else(|p| p.into_inner());
        map.get(&ip).copied().unwrap_or(0)
    }
}

/// One counted connection; dropping it gives the slot back.
pub struct Slot {
    counts: Arc<ConnectionCounts>,
    ip: IpAddr,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut map = self.counts.by_ip.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = map.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                map.remove(&self.ip);
            }
        }
    }
}

/// A TCP stream that holds its address's slot for as long as it lives,
/// through an upgrade to a WebSocket too.
struct CountedStream {
    inner: TcpStream,
    _slot: Slot,
}

impl AsyncRead for CountedStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for CountedStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Accepts connections on `listener` (plain HTTP) and on `tls` (HTTPS),
/// when given, until `shutdown` completes, then lets the open HTTP
/// exchanges finish (streams end through the hub's shutdown token). Both
/// share the per-address cap, the timeouts and the graceful stop; a TLS
/// handshake must end within `header_read_timeout`.
pub async fn accept_loop(
    listener: TcpListener,
    tls: Option<(TcpListener, TlsAcceptor)>,
    hub: Hub,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let app = crate::router(hub.clone());
    // HTTP/1.1 only: every client the hub has speaks it, and a version
    // sniffer would wait for a silent socket's first byte without a timer.
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(hub.config.header_read_timeout)
        .keep_alive(true);
    let tasks = tokio_util::task::TaskTracker::new();
    let counts = hub.connections.clone();
    let cap = hub.config.max_connections_per_address;
    let mut shutdown = std::pin::pin!(shutdown);
    let token = hub.shutdown.clone();
    let (tls_listener, acceptor) = match tls {
        Some((l, a)) => (Some(l), Some(a)),
        None => (None, None),
    };
    let accept_tls = async |l: &Option<TcpListener>| match l {
        Some(l) => l.accept().await,
        None => std::future::pending().await,
    };
    loop {
        let (accepted, secure) = tokio::select! {
            () = shutdown.as_mut() => break,
            () = token.cancelled() => break,
            accepted = listener.accept() => (accepted, false),
            accepted = accept_tls(&tls_listener) => (accepted, true),
        };
        let (tcp, peer) = match accepted {
            Ok(pair) => pair,
            Err(e) => {
                accept_failed(&e).await;
                continue;
            }
        };
        let Some(slot) = counts.acquire(peer.ip(), cap) else {
            hub.metrics
                .connections_refused
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            tracing::debug!(%peer, cap, "connection refused: too many open from this address");
            drop(tcp);
            continue;
        };
        // Events are small frames written as they happen: Nagle's algorithm
        // would hold one back until the previous one is acknowledged.
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "could not set TCP_NODELAY");
        }
        let stream = CountedStream {
            inner: tcp,
            _slot: slot,
        };
        let service = app
            .clone()
            .map_request(move |mut req: axum::extract::Request<_>| {
                req.extensions_mut().insert(ConnectInfo(peer));
                req.extensions_mut().insert(Secure(secure));
                req
            });
        let builder = builder.clone();
        let stop = token.clone();
        let acceptor = acceptor.clone().filter(|_| secure);
        let handshake_timeout = hub.config.header_read_timeout;
        tasks.spawn(async move {
            let result = match acceptor {
                None => serve_connection(&builder, stream, service, &stop).await,
                Some(acceptor) => {
                    let handshake = tokio::select! {
                        () = stop.cancelled() => return,
                        done = tokio::time::timeout(handshake_timeout, acceptor.accept(stream)) => done,
                    };
                    match handshake {
                        Ok(Ok(tls)) => serve_connection(&builder, tls, service, &stop).await,
                        Ok(Err(e)) => {
                            tracing::debug!(error = %e, %peer, "TLS handshake failed");
                            return;
                        }
                        Err(_) => {
                            tracing::debug!(%peer, "TLS handshake timed out");
                            return;
                        }
                    }
                }
            };
            if let Err(e) = result {
                tracing::trace!(error = %e, %peer, "connection ended with an error");
            }
        });
    }
    token.cancel();
    drop(listener);
    drop(tls_listener);
    tasks.close();
    tasks.wait().await;
}

/// Serves HTTP/1.1 (with upgrades) on one connection until it closes, or,
/// once `stop` is cancelled, until the exchange under way is finished.
async fn serve_connection<I, S>(
    builder: &http1::Builder,
    io: I,
    service: S,
    stop: &tokio_util::sync::CancellationToken,
) -> Result<(), hyper::Error>
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    S: tower::Service<
            axum::extract::Request<hyper::body::Incoming>,
            Response = axum::response::Response,
            Error = std::convert::Infallible,
        > + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
{
    let conn = builder
        .serve_connection(TokioIo::new(io), TowerToHyperService::new(service))
        .with_upgrades();
    let mut conn = std::pin::pin!(conn);
    tokio::select! {
        result = conn.as_mut() => result,
        () = stop.cancelled() => {
            // Finish the exchange under way, then close.
            conn.as_mut().graceful_shutdown();
            conn.await
        }
    }
}

/// Running out of file descriptors is the one accept error that lasts; a
/// short pause lets connections close instead of spinning on the error.
async fn accept_failed(e: &io::Error) {
    use io::ErrorKind::*;
    if matches!(
        e.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset | Interrupted
    ) {
        return;
    }
    tracing::warn!(error = %e, "could not accept a connection");
    tokio::time::sleep(Duration::from_millis(50)).await;
}

/// The origins a browser uses for pages the hub serves at `addr`: its
/// address and port, every interface address when it listens on all of
/// them, and `localhost` when it listens on the loopback.
pub fn own_origins(addr: SocketAddr) -> Vec<String> {
    let port = addr.port();
    let mut hosts: Vec<String> = Vec::new();
    let mut add = |ip: IpAddr| {
        let host = match ip {
            IpAddr::V4(v4) => v4.to_string(),
            IpAddr::V6(v6) => format!("[{v6}]"),
        };
        if !hosts.contains(&host) {
            hosts.push(host);
        }
    };
    if addr.ip().is_unspecified() {
        match if_addrs::get_if_addrs() {
            Ok(interfaces) => {
                for interface in interfaces {
                    let ip = interface.ip();
                    if addr.is_ipv6() || ip.is_ipv4() {
                        add(ip);
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "could not list network interfaces"),
        }
        add(IpAddr::V4(std::net::Ipv4Addr::LOCALHOST));
    } else {
        add(addr.ip());
    }
    if addr.ip().is_loopback() || addr.ip().is_unspecified() {
        hosts.push("localhost".to_owned());
    }
    hosts
        .iter()
        .flat_map(|h| [format!("http://{h}:{port}"), format!("https://{h}:{port}")])
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slot_is_given_back_when_dropped_and_the_cap_holds() {
        let counts = Arc::new(ConnectionCounts::default());
        let ip: IpAddr = "10.0.0.7".parse().unwrap();
        let a = counts.acquire(ip, 2).unwrap();
        let _b = counts.acquire(ip, 2).unwrap();
        assert!(counts.acquire(ip, 2).is_none());
        assert!(counts.acquire("10.0.0.8".parse().unwrap(), 2).is_some());
        drop(a);
        assert_eq!(counts.open(ip), 1);
        assert!(counts.acquire(ip, 2).is_some());
    }

    #[test]
    fn own_origins_name_the_listening_address_and_port() {
        let origins = own_origins("192.168.1.20:3001".parse().unwrap());
        assert_eq!(
            origins,
            ["http://192.168.1.20:3001", "https://192.168.1.20:3001"]
        );
        let local = own_origins("127.0.0.1:3001".parse().unwrap());
        assert!(local.contains(&"http://localhost:3001".to_owned()));
        let all = own_origins("0.0.0.0:3001".parse().unwrap());
        assert!(all.contains(&"http://127.0.0.1:3001".to_owned()), "{all:?}");
    }
}
