//! The tail of the shared log (PostgreSQL only): publishes to this node's
//! subscribers the events other nodes committed.
//!
//! NOTIFY is only the wake-up. The log is read by cursor (the newest `seq`
//! published here), so a notification lost while the listener reconnects
//! costs a short delay, never an event: the tail reads again on every
//! reconnect and on a timer.

use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::PgListener;
use sqlx::PgPool;
use tokio::sync::Notify;

use crate::Hub;

/// The channel a commit's NOTIFY goes to (`log.rs`).
pub const EVENTS_CHANNEL: &str = "countertop_events";

/// How often the tail reads the log without being woken.
pub const POLL: Duration = Duration::from_millis(500);

/// Starts the listener and the reader; they end when the hub shuts down.
pub fn start(hub: &Hub, pool: PgPool) {
    let wake = Arc::new(Notify::new());
    tokio::spawn(listen(pool, wake.clone(), hub.shutdown.clone()));
    tokio::spawn(read(hub.clone(), wake));
}

/// Turns every notification, and every reconnect of the listener, into a
/// wake-up of the reader.
async fn listen(pool: PgPool, wake: Arc<Notify>, shutdown: tokio_util::sync::CancellationToken) {
    let mut retry = Duration::from_millis(100);
    loop {
        let connected = async {
            let mut listener = PgListener::connect_with(&pool).await?;
            listener.listen(EVENTS_CHANNEL).await?;
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
        wake.notify_one();
        loop {
            // `try_recv`, not `recv`: it answers `None` when the connection
            // was lost (and what was sent meanwhile with it), which wakes
            // the reader; the next call reconnects.
            let received = tokio::select! {
                () = shutdown.cancelled() => return,
                received = listener.try_recv() => received,
            };
            match received {
                Ok(Some(_)) | Ok(None) => wake.notify_one(),
                Err(e) => {
                    tracing::warn!(error = %e, "the listener for other nodes' commits failed; reconnecting");
                    wake.notify_one();
                    break;
                }
            }
        }
    }
}

/// Reads the log from the cursor whenever woken, and every [`POLL`].
async fn read(hub: Hub, wake: Arc<Notify>) {
    let mut timer = tokio::time::interval(POLL);
    timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = hub.shutdown.cancelled() => return,
            () = wake.notified() => {}
            _ = timer.tick() => {}
        }
        if let Err(e) = hub.log.catch_up().await {
            tracing::warn!(error = %e, "reading other nodes' events from the log");
        }
    }
}
