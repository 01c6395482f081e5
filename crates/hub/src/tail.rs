//! The tail of the shared log (PostgreSQL only): publishes to this node's
//! subscribers the events other nodes committed.
//!
//! NOTIFY is only the wake-up. The log is read by cursor (the newest `seq`
//! published here), so a notification lost while the listener reconnects
//! costs a short delay, never an event: the tail reads again on every
//! reconnect and on a timer. Devices paired, refreshed or revoked on
//! another node are read again the same way (`Hub::sync_devices`).

use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::PgListener;
use sqlx::PgPool;
use tokio::sync::Notify;

use crate::Hub;

/// The channel a commit's NOTIFY goes to (`log.rs`).
pub const EVENTS_CHANNEL: &str = "countertop_events";

/// The channel a pairing, a refresh or a revocation notifies: the other
/// nodes read the devices again (`Hub::sync_devices`).
pub const DEVICES_CHANNEL: &str = "countertop_devices";

/// A node that has not reached its database for this long closes its
/// connections (1013), so that devices move to a node that has.
const CUT_OFF: Duration = Duration::from_secs(5);

/// How often the tail reads the log without being woken.
pub const POLL: Duration = Duration::from_millis(500);

/// Starts the listener and the reader; they end when the hub shuts down.
pub fn start(hub: &Hub, pool: PgPool) {
    let wake = Arc::new(Wake::default());
    tokio::spawn(listen(pool, wake.clone(), hub.shutdown.clone()));
    tokio::spawn(read(hub.clone(), wake.clone()));
    tokio::spawn(devices(hub.clone(), wake));
}

/// What the listener wakes: the log's reader, and the devices' reader.
#[derive(Default)]
struct Wake {
    events: Notify,
    devices: Notify,
}

/// How often the devices are read again without being woken.
const DEVICES_POLL: Duration = Duration::from_secs(2);

/// Turns every notification, and every reconnect of the listener, into a
/// wake-up of the reader.
async fn listen(pool: PgPool, wake: Arc<Wake>, shutdown: tokio_util::sync::CancellationToken) {
    let mut retry = Duration::from_millis(100);
    loop {
        let connected = async {
            let mut listener = PgListener::connect_with(&pool).await?;
            listener
                .listen_all([EVENTS_CHANNEL, DEVICES_CHANNEL])
                .await?;
            Ok::<_, sqlx::Error>(listener)
        };
        let mut listener = tokio::select! {
            () = shutdown.cancelled() => return,
            connected = connected => match connected {
                Ok(listener) => listener,
                Err(e) => {
                    tracing::warn!(error = %e, "listening for other nodes' commits; retrying");
                    tokio::select! {
                        () = shutdown.cancelled() => return,
                        () = tokio::time::sleep(retry) => {}
                    }
                    retry = (retry * 2).min(Duration::from_secs(5));
                    continue;
                }
            },
        };
        retry = Duration::from_millis(100);
        // Whatever was committed before the listener was ready.
        wake.events.notify_one();
        wake.devices.notify_one();
        loop {
            // `try_recv`, not `recv`: it answers `None` when the connection
            // was lost (and what was sent meanwhile with it), which wakes
            // the reader; the next call reconnects.
            let received = tokio::select! {
                () = shutdown.cancelled() => return,
                received = listener.try_recv() => received,
            };
            match received {
                Ok(Some(n)) if n.channel() == DEVICES_CHANNEL => wake.devices.notify_one(),
                Ok(Some(_)) => wake.events.notify_one(),
                Ok(None) => {
                    wake.events.notify_one();
                    wake.devices.notify_one();
                }
                Err(e) => {
                    tracing::warn!(error = %e, "the listener for other nodes' commits failed; reconnecting");
                    wake.events.notify_one();
                    wake.devices.notify_one();
                    break;
                }
            }
        }
    }
}

/// Reads the log from the cursor whenever woken, and every [`POLL`].
async fn read(hub: Hub, wake: Arc<Wake>) {
    let mut failing = Failing::default();
    let mut last_read = std::time::Instant::now();
    let mut timer = tokio::time::interval(POLL);
    timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = hub.shutdown.cancelled() => return,
            () = wake.events.notified() => {}
            _ = timer.tick() => {}
        }
        let read = hub.log.catch_up().await;
        if read.is_ok() {
            last_read = std::time::Instant::now();
        }
        failing.note(read.err(), "reading other nodes' events from the log");
        if failing.is_failing() && last_read.elapsed() >= CUT_OFF {
            // Its subscribers get nothing meanwhile: let them go, to
            // another node or back here later.
            let closed = hub.registry.database_lost();
            if closed > 0 {
                tracing::warn!(
                    closed,
                    "cut off from the database: connections closed (1013)"
                );
            }
        }
    }
}

/// Reads the devices again whenever woken, and every [`DEVICES_POLL`]:
/// devices paired, tokens refreshed and devices revoked on other nodes.
async fn devices(hub: Hub, wake: Arc<Wake>) {
    let mut failing = Failing::default();
    let mut timer = tokio::time::interval(DEVICES_POLL);
    timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = hub.shutdown.cancelled() => return,
            () = wake.devices.notified() => {}
            _ = timer.tick() => {}
        }
        let rotation = hub.follow_rotation().await.err();
        let read = hub.sync_devices().await;
        failing.note(read.err(), "reading devices other nodes changed");
        if let (Some(e), false) = (rotation, failing.is_failing()) {
            tracing::warn!(error = %e, "taking a secret rotated on another node");
        }
    }
}

/// Whether a loop's reads are failing: said once when they start failing
/// and once when they work again, not every turn while the database is
/// away.
#[derive(Default)]
struct Failing(bool);

impl Failing {
    fn note(&mut self, error: Option<sqlx::Error>, what: &str) {
        match (error, self.0) {
            (Some(e), false) => {
                tracing::warn!(error = %e, "{what}: failing; retrying quietly");
                self.0 = true;
            }
            (None, true) => {
                tracing::info!("{what}: working again");
                self.0 = false;
            }
            _ => {}
        }
    }

    fn is_failing(&self) -> bool {
        self.0
    }
}
