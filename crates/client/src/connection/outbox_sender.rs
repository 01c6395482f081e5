//! The outbox's sender: a task beside the actor that sends queued actions,
//! oldest first, one at a time, while the link is live, and records each
//! outcome in the cache.

use std::sync::Arc;
use std::time::Duration;

use countertop_protocol::{Order, Role};
use tokio::sync::{mpsc, watch, Notify};

use super::Command;
use crate::cache::{Cache, Outcome};
use crate::link::{HubLink, Submitted};
use crate::outbox::OutboxOp;
use crate::state::{ConnectionState, CoreEvent, Status};

/// Sends outbox entries, oldest first, one at a time, while the link is live.
pub(super) struct OutboxSender<L> {
    pub(super) link: Arc<L>,
    pub(super) cache: Cache,
    pub(super) status: watch::Receiver<Status>,
    pub(super) wake: Arc<Notify>,
    pub(super) events: mpsc::UnboundedSender<CoreEvent>,
    pub(super) commands: mpsc::UnboundedSender<Command>,
    pub(super) role: Role,
    pub(super) retry: Duration,
}

impl<L: HubLink> OutboxSender<L> {
    pub(super) async fn run(mut self) {
        loop {
            let usable = self
                .status
                .wait_for(|s| s.state.is_live() || s.state == ConnectionState::Stopped)
                .await
                .map(|s| s.state.is_live());
            if !matches!(usable, Ok(true)) {
                return;
            }
            let next = match self.cache.outbox_next() {
                Ok(next) => next,
                Err(e) => {
                    tracing::error!(error = %e, "cannot read the outbox");
                    tokio::time::sleep(self.retry).await;
                    continue;
                }
            };
            let Some(entry) = next else {
                tokio::select! {
                    () = self.wake.notified() => {}
                    _ = self.status.changed() => {}
                }
                continue;
            };
            // Where the cache stood before the hub saw this entry: a placed
            // order's history starts after it.
            let before = self.cache.cursor().map(|c| c.seq).unwrap_or(0);
            let outcome = match self.link.submit(&entry.op).await {
                Ok(Submitted::Done(response)) => Outcome::Sent { response },
                Ok(Submitted::Refused(error)) => Outcome::Refused { error },
                Err(e) => {
                    tracing::info!(key = %entry.key, op = entry.op.name(), error = %e, "outbox entry not sent yet");
                    tokio::time::sleep(self.retry).await;
                    continue;
                }
            };
            if let (OutboxOp::PlaceOrder { .. }, Outcome::Sent { response }) = (&entry.op, &outcome)
            {
                if let Ok(order) = serde_json::from_value::<Order>(response.clone()) {
                    if let Err(e) = self.cache.remember_order(&order) {
                        tracing::error!(error = %e, "cannot cache a placed order");
                    }
                    if self.role == Role::Kiosk {
                        let _ = self.commands.send(Command::Follow {
                            order_id: order.order_id,
                            since: before,
                        });
                    }
                }
            }
            if let Err(e) = self.cache.outbox_finish(entry.id, &entry.key, &outcome) {
                tracing::error!(error = %e, "cannot record an outbox outcome");
                tokio::time::sleep(self.retry).await;
                continue;
            }
            let event = match outcome {
                Outcome::Sent { response } => CoreEvent::OutboxSent {
                    key: entry.key.into_string(),
                    response,
                },
                Outcome::Refused { error } => {
                    tracing::warn!(key = %entry.key, code = %error.code, "the hub refused an outbox entry");
                    CoreEvent::OutboxRefused {
                        key: entry.key.into_string(),
                        error,
                    }
                }
            };
            let _ = self.events.send(event);
            if let Ok(depth) = self.cache.outbox_len() {
                let _ = self.events.send(CoreEvent::OutboxDepth(depth));
            }
        }
    }
}
