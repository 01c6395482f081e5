//! One connected session: load a snapshot when the cache has none, open the
//! socket with the topics and the cache's cursor in its address (protocol
//! v2: `?topics=…&since=…&epoch=…`, no `subscribe`), read `welcome`, apply
//! the replay up to `replayed` (or reload the snapshot on `resync`) and then
//! live events, follow a kiosk's new orders, and keep the heartbeat, until
//! the link is lost, the hub refuses the device, or the connection is shut
//! down.

use std::collections::HashSet;
use std::time::Duration;

use countertop_protocol::{
    ClientMessage, Event, Frame, Order, OrderStatus, Role, SettingKey, Topic, CLOSE_REVOKED,
    MAX_TOPICS_PER_MESSAGE,
};
use futures::{SinkExt, StreamExt};
use tokio::time::{sleep_until, timeout, timeout_at, Instant};

use super::actor::Actor;
use super::{topics_for, Command};
use crate::alerts::{alert_for, volume_from_setting, Alert};
use crate::cache::{Applied, Cache};
use crate::error::LinkError;
use crate::link::{ConnectQuery, HubLink, Incoming, Outgoing};
use crate::state::{ConnectionState, CoreEvent, SnapshotReason};

/// How many of its open orders a kiosk keeps following after a restart
/// (with the base topics, within the `MAX_TOPICS_PER_MESSAGE` a connection
/// may name when it opens).
const KIOSK_FOLLOWS_AT_MOST: usize = 50;

/// How long a kiosk gathers newly placed orders before following them.
const FOLLOW_BATCHING: Duration = Duration::from_millis(250);

fn followed_orders(cache: &Cache) -> Vec<String> {
    let mut open: Vec<Order> = cache
        .orders()
        .unwrap_or_default()
        .into_iter()
        .filter(|o| o.status.is_open())
        .collect();
    open.sort_by_key(|o| std::cmp::Reverse(o.created_at));
    open.into_iter()
        .take(KIOSK_FOLLOWS_AT_MOST)
        .map(|o| o.order_id)
        .collect()
}

/// Why a session ended.
pub(super) enum SessionEnd {
    Lost(String),
    Rejected(LinkError),
    Shutdown,
}

/// What a session is doing with the stream of frames.
#[derive(Default)]
pub(super) struct Session {
    /// Between the welcome of a connection opened with `since` and
    /// `replayed` (or `resync`).
    pub(super) replaying: bool,
    pub(super) live: bool,
    /// The hub closed the socket with `4001`: this device is revoked, and
    /// no refresh of its token can help.
    pub(super) revoked: bool,
    /// What the connection reads: the welcome's topics and the orders
    /// followed since.
    pub(super) topics: HashSet<String>,
}

impl<L: HubLink> Actor<L> {
    /// What this device reads from the first frame on, resumed from the
    /// cache's committed cursor. A cache without an epoch loads the snapshot
    /// over REST first, so the replay starts where the snapshot ends.
    async fn connect_query(&mut self) -> Result<ConnectQuery, SessionEnd> {
        let cursor = self
            .cache
            .cursor()
            .map_err(|e| SessionEnd::Lost(format!("cache: {e}")))?;
        let cursor = if cursor.epoch.is_none() {
            self.load_snapshot(SnapshotReason::Initial).await?;
            self.cache
                .cursor()
                .map_err(|e| SessionEnd::Lost(format!("cache: {e}")))?
        } else {
            cursor
        };
        let followed = if self.config.role == Role::Kiosk {
            followed_orders(&self.cache)
        } else {
            Vec::new()
        };
        Ok(ConnectQuery {
            topics: topics_for(self.config.role, &followed),
            since: Some(cursor.seq),
            epoch: cursor.epoch,
        })
    }

    pub(super) async fn session(&mut self, session: &mut Session) -> SessionEnd {
        let heartbeat = self.config.heartbeat.clone();
        let query = match self.connect_query().await {
            Ok(query) => query,
            Err(end) => return end,
        };
        let socket = match timeout(heartbeat.connect_within, self.link.open(&query)).await {
            Err(_) => return SessionEnd::Lost("opening the socket timed out".into()),
            Ok(Err(e)) if e.is_transient() => return SessionEnd::Lost(e.to_string()),
            Ok(Err(e)) => return SessionEnd::Rejected(e),
            Ok(Ok(socket)) => socket,
        };
        let mut outgoing = socket.outgoing;
        let mut incoming = socket.incoming;

        // The hub speaks first (a WebSocket ping may come before it). The
        // replay asked for in the query follows the welcome.
        let welcome_by = Instant::now() + heartbeat.connect_within;
        let welcome = loop {
            match timeout_at(welcome_by, incoming.next()).await {
                Err(_) => return SessionEnd::Lost("no welcome from the hub".into()),
                Ok(None) => return SessionEnd::Lost("closed before welcome".into()),
                Ok(Some(Err(e))) => return SessionEnd::Lost(e.to_string()),
                Ok(Some(Ok(Incoming::Control))) => continue,
                Ok(Some(Ok(Incoming::Closed {
                    code: Some(CLOSE_REVOKED),
                }))) => {
                    session.revoked = true;
                    return SessionEnd::Rejected(LinkError::Unauthorized);
                }
                Ok(Some(Ok(Incoming::Closed { code }))) => {
                    return SessionEnd::Lost(format!("closed before welcome ({code:?})"))
                }
                Ok(Some(Ok(Incoming::Text(text)))) => match serde_json::from_str::<Frame>(&text) {
                    Ok(Frame {
                        event: Event::Welcome(welcome),
                        ..
                    }) => break welcome,
                    _ => {
                        return SessionEnd::Lost(format!(
                            "expected welcome, got {}",
                            shorten(&text)
                        ))
                    }
                },
            }
        };
        session.topics = welcome.topics.into_iter().collect();
        session.replaying = query.since.is_some();
        if !session.replaying {
            self.go_live(session);
        }

        let mut next_ping = Instant::now() + heartbeat.ping_every;
        let mut answer_by: Option<Instant> = None;
        let mut follows: Vec<String> = Vec::new();
        let mut follow_at: Option<Instant> = None;
        let mut follow_since: Option<u64> = None;
        loop {
            let dead_at = answer_by.unwrap_or(next_ping + heartbeat.ping_every);
            tokio::select! {
                command = self.commands.recv() => match command {
                    Some(Command::Shutdown) | None => {
                        let _ = timeout(Duration::from_secs(1), outgoing.close()).await;
                        return SessionEnd::Shutdown;
                    }
                    Some(Command::Retry) => {}
                    Some(Command::SetAlerts(settings)) => self.config.alerts = settings,
                    Some(Command::Follow { order_id, since }) => {
                        // An order placed just before this session opened may
                        // be among the topics it opened with already; a
                        // `subscribe` with `since` naming it would be refused
                        // whole (`already_subscribed`).
                        let topic = Topic::Order(order_id).to_string();
                        if session.topics.insert(topic.clone()) {
                            follows.push(topic);
                            follow_since = Some(follow_since.map_or(since, |s| s.min(since)));
                            follow_at.get_or_insert(Instant::now() + FOLLOW_BATCHING);
                        }
                    }
                },
                () = sleep_until(follow_at.unwrap_or(dead_at)), if follow_at.is_some() => {
                    follow_at = None;
                    let since = follow_since.take();
                    let epoch = self.cache.cursor().ok().and_then(|c| c.epoch);
                    // One message for many orders: the hub rate-limits messages.
                    for topics in std::mem::take(&mut follows).chunks(MAX_TOPICS_PER_MESSAGE) {
                        let follow = ClientMessage::Subscribe {
                            topics: topics.to_vec(),
                            since,
                            epoch: epoch.clone(),
                        };
                        if let Err(end) = send(&mut outgoing, &follow, heartbeat.answer_within).await {
                            return end;
                        }
                    }
                }
                item = incoming.next() => {
                    answer_by = None;
                    match item {
                        None => return SessionEnd::Lost("the hub closed the socket".into()),
                        Some(Err(e)) => return SessionEnd::Lost(e.to_string()),
                        Some(Ok(Incoming::Closed { code: Some(CLOSE_REVOKED) })) => {
                            session.revoked = true;
                            return SessionEnd::Rejected(LinkError::Unauthorized)
                        }
                        Some(Ok(Incoming::Closed { code })) => {
                            return SessionEnd::Lost(format!("the hub closed the socket ({code:?})"))
                        }
                        Some(Ok(Incoming::Control)) => {}
                        Some(Ok(Incoming::Text(text))) => {
                            if let Err(end) = self.on_text(&text, session).await {
                                return end;
                            }
                        }
                    }
                }
                () = sleep_until(next_ping) => {
                    if let Err(end) = send(&mut outgoing, &ClientMessage::Ping, heartbeat.answer_within).await {
                        return end;
                    }
                    next_ping = Instant::now() + heartbeat.ping_every;
                    if answer_by.is_none() {
                        answer_by = Some(Instant::now() + heartbeat.answer_within);
                    }
                }
                () = sleep_until(dead_at), if answer_by.is_some() => {
                    return SessionEnd::Lost(format!(
                        "no frame within {:?} of a ping",
                        heartbeat.answer_within
                    ));
                }
            }
        }
    }

    async fn on_text(&mut self, text: &str, session: &mut Session) -> Result<(), SessionEnd> {
        let frame: Frame = match serde_json::from_str(text) {
            Ok(frame) => frame,
            Err(e) => {
                // A newer hub may send events this client does not know yet.
                tracing::debug!(error = %e, frame = %shorten(text), "ignoring a frame");
                return Ok(());
            }
        };
        match frame.event {
            Event::Subscribed(_) => self.go_live(session),
            Event::Replayed(replayed) => {
                session.replaying = false;
                self.cache
                    .advance(replayed.to)
                    .map_err(|e| SessionEnd::Lost(format!("cache: {e}")))?;
                self.go_live(session);
            }
            Event::Resync(resync) => {
                tracing::info!(reason = ?resync.reason, "the hub asks for a resync");
                session.replaying = false;
                self.load_snapshot(SnapshotReason::Resync).await?;
                self.go_live(session);
            }
            Event::Error(body) => {
                tracing::warn!(code = %body.code, message = %body.message, "the hub reported an error");
                self.emit(CoreEvent::HubError(body));
            }
            Event::Welcome(_) | Event::Pong | Event::Unsubscribed(_) => {}
            event => match frame.seq {
                Some(seq) => self.apply(seq, event, session.replaying)?,
                None => tracing::debug!(event = event.name(), "durable event without seq; ignored"),
            },
        }
        Ok(())
    }

    /// The cache has caught up with the hub: what arrives from now on is live.
    fn go_live(&self, session: &mut Session) {
        if !session.live {
            session.live = true;
            self.set_state(ConnectionState::Live {
                since: self.config.clock.now(),
            });
        }
    }

    fn apply(&mut self, seq: u64, event: Event, replayed: bool) -> Result<(), SessionEnd> {
        let now = self.config.clock.now();
        let alert = alert_for(&event, &self.config.alerts, replayed, now);
        let applied = self
            .cache
            .apply(seq, &event, alert)
            .map_err(|e| SessionEnd::Lost(format!("cache: {e}")))?;
        if let Applied::Committed { alert } = applied {
            self.status.send_if_modified(|s| {
                s.newest_event_at = Some(now);
                false
            });
            self.emit(CoreEvent::Applied {
                seq,
                event: Box::new(event),
                replayed,
            });
            if let Some(alert) = alert {
                self.deliver(alert);
            }
        }
        Ok(())
    }

    fn deliver(&self, alert: Alert) {
        // The hub's `chime_volume` sets every device's volume.
        let volume = self
            .cache
            .settings()
            .ok()
            .and_then(|s| {
                volume_from_setting(s.get(SettingKey::ChimeVolume.as_str()).map(String::as_str))
            })
            .unwrap_or(self.config.alerts.volume);
        self.output.deliver(&alert, volume);
        self.emit(CoreEvent::Alert(alert));
    }

    async fn load_snapshot(&mut self, reason: SnapshotReason) -> Result<(), SessionEnd> {
        let snapshot =
            match timeout(self.config.heartbeat.connect_within, self.link.snapshot()).await {
                Err(_) => return Err(SessionEnd::Lost("snapshot timed out".into())),
                Ok(Err(e)) if e.is_transient() => {
                    return Err(SessionEnd::Lost(format!("snapshot: {e}")))
                }
                Ok(Err(e)) => return Err(SessionEnd::Rejected(e)),
                Ok(Ok(snapshot)) => snapshot,
            };
        let now = self.config.clock.now();
        let settings = self.config.alerts.clone();
        // After a resync, orders that arrived while the device was away
        // alert like replayed ones; the first load only fills the screen.
        let alerts = self
            .cache
            .load_snapshot(&snapshot, |order| {
                (reason == SnapshotReason::Resync && order.status == OrderStatus::Pending)
                    .then(|| {
                        alert_for(
                            &Event::OrderCreated(order.created_event()),
                            &settings,
                            true,
                            now,
                        )
                    })
                    .flatten()
            })
            .map_err(|e| SessionEnd::Lost(format!("cache: {e}")))?;
        self.status.send_if_modified(|s| {
            s.newest_event_at = Some(now);
            false
        });
        self.emit(CoreEvent::Snapshot {
            seq: snapshot.seq,
            epoch: snapshot.epoch.clone(),
            reason,
            orders: snapshot.orders,
        });
        for alert in alerts {
            self.deliver(alert);
        }
        Ok(())
    }
}

async fn send(
    outgoing: &mut Outgoing,
    message: &ClientMessage,
    within: Duration,
) -> Result<(), SessionEnd> {
    let text = serde_json::to_string(message).map_err(|e| SessionEnd::Lost(e.to_string()))?;
    match timeout(within, outgoing.send(text)).await {
        Err(_) => Err(SessionEnd::Lost("sending timed out".into())),
        Ok(Err(e)) => Err(SessionEnd::Lost(e.to_string())),
        Ok(Ok(())) => Ok(()),
    }
}

fn shorten(text: &str) -> String {
    text.chars().take(120).collect()
}
