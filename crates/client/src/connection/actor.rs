//! The actor: one task that owns the link and runs one session (`session`)
//! after another, waiting between them as the reconnect policy says, until
//! it is shut down.
//!
//! A link that knows several hub nodes (one café, one database, one log)
//! moves to the next after every lost session. A session that never went
//! live (the node is unreachable) is followed at once by a try of the next
//! node, until every node was tried; only then does the reconnect policy
//! wait. The cursor and its epoch are the same on every node, so the next
//! session resumes exactly where the last one stopped.

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

    /// Sets the state, with the node the link uses now; tells the UI when
    /// either changed.
    pub(super) fn set_state(&self, state: ConnectionState) {
        let node = self.link.node();
        let changed = self.status.send_if_modified(|s| {
            if s.state == state && s.node == node {
                false
            } else {
                s.state = state.clone();
                s.node = node.clone();
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
        // How many nodes were tried at once, one after another, since the
        // last wait or the last live session.
        let nodes = self.link.node().map_or(1, |n| n.of);
        let mut tried: u32 = 0;
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
                // One node showing another key than the pinned one (its
                // address now leads elsewhere) is as good as unreachable
                // while other nodes are left to try.
                SessionEnd::Rejected(LinkError::NotYourHub { .. })
                    if tried + 1 < nodes && self.move_on() =>
                {
                    tried += 1;
                    continue;
                }
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
                        tried = 0;
                    }
                    // The next try goes to the next node; at once if this
                    // one was never reached and some node is still untried.
                    if self.move_on() {
                        tried += 1;
                        if !session.live && tried < nodes {
                            continue;
                        }
                    }
                    tried = 0;
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

    /// Moves the link to its next node, if it knows another; says so.
    fn move_on(&self) -> bool {
        let moved = self.link.next_node();
        if moved {
            if let Some(node) = self.link.node() {
                tracing::info!(
                    node = %node.url,
                    number = node.number,
                    of = node.of,
                    "moving to the next hub node"
                );
            }
        }
        moved
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
