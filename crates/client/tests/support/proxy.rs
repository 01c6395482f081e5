//! A fault-injecting TCP proxy between devices and the hub: it can cut or
//! reset every open connection, stall them, delay them, or refuse new ones.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kill {
    None,
    Cut,
    Reset,
}

#[derive(Debug, Clone, Copy, Default)]
struct Faults {
    stalled: bool,
    refusing: bool,
    delay: Duration,
}

pub struct FaultProxy {
    pub addr: SocketAddr,
    kills: watch::Sender<(u64, Kill)>,
    faults: watch::Sender<Faults>,
    upstream: Arc<Mutex<SocketAddr>>,
}

impl FaultProxy {
    pub async fn start(upstream: SocketAddr) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (kills, _) = watch::channel((0u64, Kill::None));
        let (faults, _) = watch::channel(Faults::default());
        let upstream = Arc::new(Mutex::new(upstream));
        let proxy = FaultProxy {
            addr,
            kills: kills.clone(),
            faults: faults.clone(),
            upstream: upstream.clone(),
        };
        tokio::spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    continue;
                };
                if faults.borrow().refusing {
                    let _ = client.set_zero_linger();
                    drop(client);
                    continue;
                }
                let to = *upstream.lock().unwrap_or_else(PoisonError::into_inner);
                let kills = kills.subscribe();
                let faults = faults.subscribe();
                tokio::spawn(relay(client, to, kills, faults));
            }
        });
        proxy
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Closes every open connection (FIN).
    pub fn cut(&self) {
        self.kills.send_modify(|k| *k = (k.0 + 1, Kill::Cut));
    }

    /// Resets every open connection (RST).
    pub fn reset(&self) {
        self.kills.send_modify(|k| *k = (k.0 + 1, Kill::Reset));
    }

    /// Holds every byte in both directions until unstalled.
    pub fn stall(&self, on: bool) {
        self.faults.send_modify(|f| f.stalled = on);
    }

    /// Refuses (resets) new connections.
    pub fn refuse(&self, on: bool) {
        self.faults.send_modify(|f| f.refusing = on);
    }

    /// Delays every chunk forwarded.
    pub fn delay(&self, by: Duration) {
        self.faults.send_modify(|f| f.delay = by);
    }

    pub fn heal(&self) {
        self.faults.send_modify(|f| *f = Faults::default());
    }
}

async fn relay(
    client: TcpStream,
    to: SocketAddr,
    kills: watch::Receiver<(u64, Kill)>,
    faults: watch::Receiver<Faults>,
) {
    let Ok(server) = TcpStream::connect(to).await else {
        let _ = client.set_zero_linger();
        return;
    };
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (client_read, client_write) = client.into_split();
    let (server_read, server_write) = server.into_split();
    let generation = kills.borrow().0;
    let up = pump(
        client_read,
        server_write,
        kills.clone(),
        faults.clone(),
        generation,
    );
    let down = pump(server_read, client_write, kills, faults, generation);
    // Either side ending ends both.
    tokio::select! {
        _ = up => {}
        _ = down => {}
    }
}

async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    mut kills: watch::Receiver<(u64, Kill)>,
    mut faults: watch::Receiver<Faults>,
    generation: u64,
) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = tokio::select! {
            read = from.read(&mut buf) => match read {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            },
            _ = kills.changed() => {
                let (g, kill) = *kills.borrow();
                if g != generation {
                    if kill == Kill::Reset {
                        // Closing with linger 0 sends RST instead of FIN.
                        let _ = from.as_ref().set_zero_linger();
                        let _ = to.as_ref().set_zero_linger();
                    }
                    return;
                }
                continue;
            }
        };
        // Hold the bytes while stalled.
        loop {
            let f = *faults.borrow_and_update();
            if !f.stalled {
                if !f.delay.is_zero() {
                    tokio::time::sleep(f.delay).await;
                }
                break;
            }
            tokio::select! {
                _ = faults.changed() => {}
                _ = kills.changed() => {
                    if kills.borrow().0 != generation {
                        return;
                    }
                }
            }
        }
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}
