//! The actor: one task that owns the link and runs one session (`session`)
//! after another, waiting between them as the reconnect policy says, until
//! it is shut down.

use std::sync::Arc;

use rand::{rngs::StdRng, Rng};
use tokio::sync::{mpsc, watch};
use tokio::time::{sleep_until, Instant};

use super::session::{Session, SessionEnd};
use super::{Command, ConnectionConfig};
use crate::alerts::AlertOutput;
use crate::cache::Cache;
use crate::error::LinkError;
use crate::link::HubLink;
use crate::state::{ConnectionState, CoreEvent, Status};

pub(super) struct Actor<L> {
    pub(super) link: Arc<L>,
    pub(super) cache: Cache,
    pub(super) config: ConnectionConfig,
    pub(super) events: mpsc::UnboundedSender<CoreEvent>,
    pub(super) status: watch::Sender<Status>,
    pub(super) commands: mpsc::UnboundedReceiver<Command>,
    pub(super) output: Arc<dyn AlertOutput>,
    pub(super) rng: StdRng,
}

impl<L: HubLink> Actor<L> {
    pub(super) fn emit(&self, event: CoreEvent) {
        // The receiver may be gone (a CLI that stopped reading); the
        // connection keeps the cache current all the same.
        let _ = self.events.send(event);
    }

    pub(super) fn set_state(&self, state: ConnectionState) {
        let changed = self.status.send_if_modified(|s| {
            if s.state == state {
                false
            } else {
                s.state = state.clone();
                true
            }
        });
        if changed {
            let status = self.status.borrow().clone();
            tracing::info!(state = status.state.name(), "connection state");
            self.emit(CoreEvent::State(status));
        }
    }

    pub(super) async fn run(mut self) {
        let quick = self.config.policy.quick_attempts;
        let mut failures: u32 = 0;
        let mut suspended_since = None;
        // A refused token is renewed once until a session goes live again.
        let mut renewed = false;
        loop {
            self.set_state(ConnectionState::Connecting { attempt: failures });
            let mut session = Session::default();
            let mut end = self.session(&mut session).await;
            if session.live {
                renewed = false;
            }
            let refused = matches!(end, SessionEnd::Rejected(LinkError::Unauthorized));
            if refused && !session.revoked && !renewed {
                // A `401`: after the hub rotated its signing secret the old
                // token still refreshes; carry on with the new one, no
                // pairing. (A close with 4001 says the device is revoked.)
                renewed = true;
                match self.link.renew_token().await {
                    Ok(()) => {
                        tracing::info!("the hub refused the token; renewed it, connecting again");
                        continue;
                    }
                    Err(e) if e.is_transient() => {
                        renewed = false;
                        end = SessionEnd::Lost(format!("renewing the token: {e}"));
                    }
                    Err(e) => tracing::info!(error = %e, "the token cannot be renewed"),
                }
            }
            match end {
                SessionEnd::Shutdown => break,
                SessionEnd::Rejected(e) => {
                    tracing::warn!(error = %e, "the hub refused this device");
                    self.set_state(ConnectionState::Rejected {
                        code: e.code().to_owned(),
                        message: e.to_string(),
                    });
                    if !self.wait_for_retry(None).await {
                        break;
                    }
                    renewed = false;
                    failures = 0;
                    suspended_since = None;
                    continue;
                }
                SessionEnd::Lost(reason) => {
                    tracing::info!(%reason, "link lost");
                    if session.live {
                        failures = 0;
                        suspended_since = None;
                    }
                    failures += 1;
                }
            }
            let wait = if failures <= quick {
                let wait = self
                    .config
                    .policy
                    .quick_delay(failures, self.rng.gen::<f64>());
                self.set_state(ConnectionState::Reconnecting {
                    attempt: failures,
                    of: quick,
                    next_try_in: wait,
                });
                wait
            } else {
                let now = self.config.clock.now();
                let since = *suspended_since.get_or_insert(now);
                let wait = self.config.policy.suspended_interval;
                self.set_state(ConnectionState::Suspended {
                    since,
                    next_try_at: now
                        + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::zero()),
                });
                wait
            };
            if !self.wait_for_retry(Some(Instant::now() + wait)).await {
                break;
            }
        }
        self.set_state(ConnectionState::Stopped);
    }

    /// Waits until `deadline` or a retry request; false on shutdown.
    async fn wait_for_retry(&mut self, deadline: Option<Instant>) -> bool {
        loop {
            let command = match deadline {
                Some(deadline) => tokio::select! {
                    () = sleep_until(deadline) => return true,
                    command = self.commands.recv() => command,
                },
                None => self.commands.recv().await,
            };
            match command {
                Some(Command::Retry) => return true,
                Some(Command::Shutdown) | None => return false,
                Some(Command::SetAlerts(settings)) => self.config.alerts = settings,
                // Followed orders are in the cache; the next connection names them.
                Some(Command::Follow { .. }) => {}
            }
        }
    }
}
