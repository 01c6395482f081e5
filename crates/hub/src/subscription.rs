//! What one connection (WebSocket or SSE) reads: its topics, its place in the
//! live stream, and replay.
//!
//! Invariants, per connection:
//! - `cursor` is the newest seq this connection has looked at; every event up
//!   to it has been delivered or deliberately skipped, and none after it has.
//! - A topic added with a replay is replayed up to the live `seq` read at that
//!   moment and then joins the live stream, so replay comes strictly before
//!   live events of that topic and nothing is sent twice.
//! - An event that reaches the connection through several topics is sent once.

use std::collections::HashMap;
use std::sync::Arc;

use countertop_protocol::{Access, Replayed, ResyncReason, Role, Topic};
use tokio::sync::broadcast::{self, error::RecvError, error::TryRecvError};

use crate::auth::Caller;
use crate::error::AppError;
use crate::log::{Commit, Published, Rendition, ReplayRead};
use crate::Hub;

/// One event to send, in the form this connection reads it.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub event: Arc<Published>,
    pub board_only: bool,
}

impl Outgoing {
    pub fn rendition(&self) -> &Rendition {
        match (&self.event.board, self.board_only) {
            (Some(board), true) => board,
            _ => &self.event.full,
        }
    }
}

/// The answer to a subscribe: events of the old topics that were still on
/// their way, then the replay (or resync) of the new ones.
pub struct SubscribeOutcome {
    pub before: Vec<Outgoing>,
    pub replay: Option<ReplayOutcome>,
}

pub enum ReplayOutcome {
    Events(Vec<Outgoing>, Replayed),
    Resync(ResyncReason),
}

pub struct Subscription {
    hub: Hub,
    caller: Caller,
    /// Each topic with the cursor at the moment it was added.
    topics: HashMap<Topic, u64>,
    /// The orders followed by daily number (`board:{n}`), resolved to their
    /// ids when subscribed: a number names today's order, and tomorrow's
    /// order of the same number is another one.
    numbers: HashMap<String, u32>,
    cursor: u64,
    rx: broadcast::Receiver<Commit>,
}

/// At most this many commits already waiting are taken together with the
/// one that woke the connection, so that one write carries them all while a
/// busy connection still yields now and then.
const COMMITS_PER_WAKE: usize = 64;

impl Subscription {
    pub fn new(hub: Hub, caller: Caller) -> Subscription {
        let rx = hub.log.subscribe();
        let cursor = hub.log.seq();
        Subscription {
            hub,
            caller,
            topics: HashMap::new(),
            numbers: HashMap::new(),
            cursor,
            rx,
        }
    }

    /// The newest seq this connection has looked at.
    pub fn cursor(&self) -> u64 {
        self.cursor
    }

    pub fn topic_count(&self) -> usize {
        self.topics.len()
    }

    /// How many of `topics` this connection does not read yet.
    pub fn new_topics(&self, topics: &[Topic]) -> usize {
        let mut seen = std::collections::HashSet::new();
        topics
            .iter()
            .filter(|t| !self.topics.contains_key(t) && seen.insert(*t))
            .count()
    }

    pub fn topic_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.topics.keys().map(Topic::to_string).collect();
        names.sort();
        names
    }

    /// Waits for the next live commit. Cancel-safe: use it in `select!` and
    /// hand the result to [`Self::accept`].
    pub async fn recv(&mut self) -> Result<Commit, RecvError> {
        self.rx.recv().await
    }

    /// Turns a received live commit (or a lag), and the commits already
    /// waiting behind it, into what this connection should be sent, reading
    /// the log for anything the channel dropped.
    pub async fn accept(
        &mut self,
        received: Result<Commit, RecvError>,
    ) -> Result<Vec<Outgoing>, sqlx::Error> {
        let mut out = Vec::new();
        match received {
            Ok(commit) => self.take_commit(&commit, &mut out).await?,
            Err(RecvError::Lagged(_)) => self.fill_gap(self.hub.log.seq(), &mut out).await?,
            Err(RecvError::Closed) => return Ok(out),
        }
        for _ in 0..COMMITS_PER_WAKE {
            match self.rx.try_recv() {
                Ok(commit) => self.take_commit(&commit, &mut out).await?,
                Err(TryRecvError::Lagged(_)) => self.fill_gap(self.hub.log.seq(), &mut out).await?,
                Err(TryRecvError::Empty | TryRecvError::Closed) => break,
            }
        }
        Ok(out)
    }

    /// Takes one commit's events, first reading from the log whatever this
    /// connection missed before them.
    async fn take_commit(
        &mut self,
        commit: &Commit,
        out: &mut Vec<Outgoing>,
    ) -> Result<(), sqlx::Error> {
        if let Some(first) = commit.first() {
            if first.seq > self.cursor + 1 {
                self.fill_gap(first.seq - 1, out).await?;
            }
        }
        for event in commit.iter() {
            self.take(event.clone(), out);
        }
        Ok(())
    }

    /// Delivers everything already published, so the cursor reaches the
    /// live `seq` as of now.
    async fn catch_up(&mut self) -> Result<Vec<Outgoing>, sqlx::Error> {
        let target = self.hub.log.seq();
        let mut out = Vec::new();
        while self.cursor < target {
            match self.rx.try_recv() {
                Ok(commit) => self.take_commit(&commit, &mut out).await?,
                Err(TryRecvError::Lagged(_)) => continue,
                Err(TryRecvError::Empty | TryRecvError::Closed) => {
                    self.fill_gap(target, &mut out).await?;
                }
            }
        }
        Ok(out)
    }

    async fn fill_gap(&mut self, upto: u64, out: &mut Vec<Outgoing>) -> Result<(), sqlx::Error> {
        if upto <= self.cursor {
            return Ok(());
        }
        let missed = self.hub.log.range(self.cursor, upto).await?;
        for event in missed {
            self.take(event, out);
        }
        // Whatever the log no longer has is gone for good; move past it.
        self.cursor = self.cursor.max(upto);
        Ok(())
    }

    fn take(&mut self, event: Arc<Published>, out: &mut Vec<Outgoing>) {
        if event.seq <= self.cursor {
            return;
        }
        self.cursor = event.seq;
        if let Some(board_only) = self.reads(&event, |_, _| true) {
            out.push(Outgoing { event, board_only });
        }
    }

    /// Whether this connection reads `event` through one of the topics that
    /// `include` admits: `Some(false)` in full, `Some(true)` as the board
    /// projection only, `None` not at all.
    fn reads(&self, event: &Published, include: impl Fn(&Topic, u64) -> bool) -> Option<bool> {
        let routing = &event.routing;
        let has = |t: &Topic| self.topics.get(t).is_some_and(|floor| include(t, *floor));
        let audience_ok = match (&routing.audience, self.caller.role()) {
            (Some(audience), Some(Role::Display)) => self
                .caller
                .device_id()
                .is_some_and(|id| audience.iter().any(|a| a == id)),
            _ => true,
        };
        // A notice goes out on `notices`; a `system` reader reads it too.
        let by_base = (has(&routing.topic)
            || routing
                .topic
                .also_read_through()
                .is_some_and(|wider| has(&wider)))
            && audience_ok;
        // Only looked up when needed: building the order's topic allocates.
        let by_order = !by_base
            && routing
                .order_id
                .as_ref()
                .is_some_and(|id| has(&Topic::Order(id.clone())));
        if by_base || by_order {
            Some(false)
        } else if event.board.is_some()
            && (has(&Topic::Board)
                || routing
                    .order_id
                    .as_ref()
                    .and_then(|id| self.numbers.get(id))
                    .is_some_and(|n| has(&Topic::BoardNumber(*n))))
        {
            Some(true)
        } else {
            None
        }
    }

    /// Adds topics, replaying from `since` when asked. Topics already
    /// subscribed stay as they are (they are live already).
    pub async fn subscribe(
        &mut self,
        topics: Vec<Topic>,
        since: Option<u64>,
        epoch: Option<&str>,
    ) -> Result<SubscribeOutcome, sqlx::Error> {
        // On PostgreSQL this node may be behind the log the other nodes
        // write (its tail wakes on their NOTIFY): a device that resumes
        // from further on, having moved here from another node, is first
        // brought what the log holds (if the database is away, this fails
        // and the device tries again: never a resync it does not need).
        let shared = self.hub.pool().pg().is_some();
        let same_epoch = epoch.is_none_or(|e| e == self.hub.log.epoch());
        let ahead = |since: Option<u64>, now: u64| same_epoch && since.is_some_and(|s| s > now);
        if shared && ahead(since, self.hub.log.seq()) {
            self.hub.log.catch_up().await?;
        }
        let before = self.catch_up().await?;
        let now = self.cursor;
        let fresh: Vec<Topic> = topics
            .into_iter()
            .filter(|t| !self.topics.contains_key(t))
            .collect();
        let old = self.topics.clone();
        for topic in &fresh {
            if let Topic::BoardNumber(n) = topic {
                if let Some(id) = self.hub.order_of_today(*n).await? {
                    self.numbers.insert(id, *n);
                }
            }
            self.topics.insert(topic.clone(), now);
        }
        let Some(since) = since else {
            return Ok(SubscribeOutcome {
                before,
                replay: None,
            });
        };
        if epoch.is_some_and(|e| e != self.hub.log.epoch()) || since > now {
            return Ok(SubscribeOutcome {
                before,
                replay: Some(ReplayOutcome::Resync(ResyncReason::EpochChanged)),
            });
        }
        // Read a page at a time and keep only what this connection reads, so
        // a replay of the whole log never holds the whole log.
        let mut sent = Vec::new();
        let mut from = since;
        while from < now {
            let upto = now.min(from + crate::log::REPLAY_PAGE);
            let events = match self.hub.log.replay(from, upto).await? {
                ReplayRead::Expired => {
                    return Ok(SubscribeOutcome {
                        before,
                        replay: Some(ReplayOutcome::Resync(ResyncReason::HistoryExpired)),
                    })
                }
                ReplayRead::Events(events) => events,
            };
            for event in events {
                // Already delivered live through a topic held before this call?
                // A board projection does not count when the new topics read
                // the event in full.
                let delivered =
                    self.reads(&event, |t, floor| old.contains_key(t) && event.seq > floor);
                match (delivered, self.reads(&event, |t, _| fresh.contains(t))) {
                    (Some(false), _) | (Some(true), Some(true)) | (_, None) => {}
                    (_, Some(board_only)) => sent.push(Outgoing { event, board_only }),
                }
            }
            from = upto;
        }
        let replayed = Replayed {
            from: since,
            to: now,
            count: sent.len() as u64,
        };
        self.hub.metrics.record_replay(replayed.count);
        Ok(SubscribeOutcome {
            before,
            replay: Some(ReplayOutcome::Events(sent, replayed)),
        })
    }

    pub fn unsubscribe(&mut self, topics: &[Topic]) {
        for topic in topics {
            self.topics.remove(topic);
            if let Topic::BoardNumber(n) = topic {
                self.numbers.retain(|_, number| number != n);
            }
        }
    }

    /// Whether this connection reads `topic` already.
    pub fn reads_topic(&self, topic: &Topic) -> bool {
        self.topics.contains_key(topic)
    }
}

impl Hub {
    /// The id of today's order with daily number `n`, if there is one.
    pub async fn order_of_today(&self, n: u32) -> Result<Option<String>, sqlx::Error> {
        let mut conn = self.log.pool().acquire().await?;
        let found = crate::store::orders::by_daily_num(&mut conn, self.clock.today(), n).await?;
        Ok(found.map(|(id, _)| id))
    }

    /// Whether `caller` may read `topic` (the protocol's role table).
    pub async fn authorize_topic(&self, caller: &Caller, topic: &Topic) -> Result<(), AppError> {
        let role = caller.role();
        let allowed = match (countertop_protocol::may_read(role, topic), topic) {
            (Access::Yes, Topic::Order(id)) => {
                // Only orders that exist: a topic per made-up id would let a
                // connection hold topics without end.
                if !crate::store::orders::exists(self.log.pool(), id).await? {
                    return Err(AppError::not_found(format!("no order \"{id}\"")));
                }
                true
            }
            (Access::Yes, Topic::BoardNumber(n)) => {
                if self.order_of_today(*n).await?.is_none() {
                    return Err(AppError::not_found(format!("no order number {n} today")));
                }
                true
            }
            (Access::Yes, _) => true,
            (Access::OwnOrder, Topic::Order(id)) => {
                let owner = crate::store::orders::placed_by(self.log.pool(), id).await?;
                owner.as_deref() == caller.device_id()
            }
            (Access::OwnOrder | Access::No, _) => false,
        };
        if allowed {
            Ok(())
        } else if role.is_none() {
            Err(AppError::unauthorized(format!(
                "topic \"{topic}\" needs a device token"
            )))
        } else {
            Err(AppError::forbidden(format!(
                "this device may not read topic \"{topic}\""
            )))
        }
    }
}
