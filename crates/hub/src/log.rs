//! The durable event log and its fan-out.
//!
//! Invariants:
//! - Every change and the events that announce it are written in one
//!   transaction through a [`Writer`]; `seq` is assigned inside that
//!   transaction, so it is gap-free and survives restarts.
//! - Writers are serialised by one async mutex per node and, on PostgreSQL,
//!   across nodes by a row lock on the log's head (`meta.last_seq`, locked
//!   first in every write): the next `seq` is read under that lock, so nodes
//!   never share one and commit in `seq` order.
//! - Events are published to the live channel in `seq` order with no gap,
//!   one path for all ([`EventLog::publish`]): a writer publishes its own
//!   after its commit; on PostgreSQL, events other nodes committed are read
//!   from the log by cursor (`tail.rs`, woken by NOTIFY and a timer). A
//!   commit's events travel the live channel as one message ([`Commit`]).
//! - An event is serialised once ([`Published`]); every subscriber shares
//!   those bytes.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use axum::extract::ws::Utf8Bytes;
use chrono::{DateTime, Duration, Utc};
use countertop_protocol::{Event, OrderStatus, Topic};
use serde_json::{json, Value};
use sqlx::QueryBuilder;
use tokio::sync::{broadcast, Mutex, OwnedMutexGuard};

use crate::metrics::Metrics;
use crate::store::{Backend, Db, Tx};

/// How many commits the live channel buffers per subscriber before a slow
/// subscriber falls back to reading the log.
const LIVE_CHANNEL_CAPACITY: usize = 4096;

/// How many of the newest published events are kept in memory, so that a
/// replay or a lagging subscriber within them shares their serialised
/// frames instead of reading and serialising them again from the database. About
/// 1 KB each for an order event; a resume storm of 500 orders is ~2,000.
const RECENT_EVENTS: usize = 4096;

/// Event rows per INSERT statement at commit (7 parameters each, far below
/// SQLite's limit on parameters).
const EVENTS_PER_INSERT: usize = 64;

/// The events of one commit, in `seq` order with no gap: the unit of the
/// live channel. One order is several events (the order, dashboard figures,
/// stock); sending them as one message wakes each subscriber once.
pub type Commit = Arc<[Arc<Published>]>;

/// Where an event goes: its base topic, and for order events the order's own
/// topic; for workorder events the display devices that may read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Routing {
    pub topic: Topic,
    pub order_id: Option<String>,
    pub audience: Option<Vec<String>>,
}

impl Routing {
    pub fn topic(topic: Topic) -> Routing {
        Routing {
            topic,
            order_id: None,
            audience: None,
        }
    }

    pub fn order(order_id: &str) -> Routing {
        Routing {
            topic: Topic::Orders,
            order_id: Some(order_id.to_owned()),
            audience: None,
        }
    }

    pub fn workorder(audience: Vec<String>) -> Routing {
        Routing {
            topic: Topic::Workorders,
            order_id: None,
            audience: Some(audience),
        }
    }
}

/// A serialised form of an event: the WebSocket frame in each dialect and
/// the SSE data, each made once for every reader.
#[derive(Debug)]
pub struct Rendition {
    pub name: String,
    pub frame: Utf8Bytes,
    /// The frame keyed by `type` (`?format=type`).
    pub typed_frame: Utf8Bytes,
    pub data: Arc<str>,
}

impl Rendition {
    fn new(seq: u64, name: &str, data: &str) -> Rendition {
        let frame = format!(r#"{{"event":"{name}","seq":{seq},"data":{data}}}"#);
        let typed = countertop_protocol::dialect::durable_frame(seq, name, data);
        Rendition {
            name: name.to_owned(),
            frame: Utf8Bytes::from(frame),
            typed_frame: Utf8Bytes::from(typed),
            data: Arc::from(data),
        }
    }

    /// The WebSocket frame in `format`.
    pub fn frame(&self, format: Format) -> &Utf8Bytes {
        match format {
            Format::Event => &self.frame,
            Format::Type => &self.typed_frame,
        }
    }
}

/// The two WebSocket dialects: frames keyed by `event` (the protocol's own)
/// or by `type` (`?format=type`, for the pizzeria's and the console's code).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    #[default]
    Event,
    Type,
}

/// A committed durable event, serialised once for all its readers.
#[derive(Debug)]
pub struct Published {
    pub seq: u64,
    pub routing: Routing,
    pub full: Rendition,
    /// What the public `board` topic sees of it, if anything.
    pub board: Option<Rendition>,
    /// The workshop stream's `data:` (seed 001's shape), made by the first
    /// `/api/workorders/stream` that sends the event and shared by the rest.
    pub workshop: std::sync::OnceLock<Arc<str>>,
}

impl Published {
    pub fn new(seq: u64, name: &str, data: &str, routing: Routing) -> Published {
        let board = board_projection(name, data).map(|(n, d)| Rendition::new(seq, n, &d));
        Published {
            seq,
            routing,
            full: Rendition::new(seq, name, data),
            board,
            workshop: std::sync::OnceLock::new(),
        }
    }
}

/// The `board` topic hears of new orders, status changes and cancellations
/// as `order:status_changed` with `orderId`, `dailyNum` and `status` only: a
/// new order comes as one whose status is `PENDING`, so a board shows it at
/// once and a kiosk can count the orders ahead of its own.
fn board_projection(name: &str, data: &str) -> Option<(&'static str, String)> {
    if !matches!(
        name,
        "order:created" | "order:status_changed" | "order:cancelled"
    ) {
        return None;
    }
    let value: Value = serde_json::from_str(data).ok()?;
    let status = if name == "order:cancelled" {
        Value::from(OrderStatus::Cancelled.as_str())
    } else {
        value.get("status")?.clone()
    };
    let projected = json!({
        "orderId": value.get("orderId")?,
        "dailyNum": value.get("dailyNum")?,
        "status": status,
    });
    Some(("order:status_changed", projected.to_string()))
}

/// What the writer mutex guards: the newest assigned seq and the dashboard
/// values last announced.
#[derive(Debug, Default)]
pub struct WriterState {
    last_seq: u64,
    pub dashboard: HashMap<String, Value>,
}

/// What a replay read found.
pub enum ReplayRead {
    /// Events between `since` and the oldest retained one were pruned.
    Expired,
    Events(Vec<Arc<Published>>),
}

/// The event log: table `events`, the writer lock and the live channel.
pub struct EventLog {
    pool: Db,
    epoch: String,
    writer: Arc<Mutex<WriterState>>,
    live: broadcast::Sender<Commit>,
    published_seq: AtomicU64,
    pruned_through: AtomicU64,
    /// The newest published events, in `seq` order with no gap (empty after
    /// a start: it fills as events are published).
    recent: std::sync::Mutex<VecDeque<Arc<Published>>>,
    /// Held while events are published: the writers' own and, on
    /// PostgreSQL, those read from the log, one batch at a time in order.
    publisher: Mutex<()>,
    /// Replays that read the database take turns: a crowd of `since=0`
    /// subscribers costs one core at most, not the whole machine.
    db_replays: tokio::sync::Semaphore,
    metrics: Arc<Metrics>,
}

/// A replay reads the log this many events at a time.
pub const REPLAY_PAGE: u64 = 1_000;

impl EventLog {
    /// Opens the log, creating its epoch on first start.
    pub async fn open(pool: Db, metrics: Arc<Metrics>) -> Result<EventLog, sqlx::Error> {
        let mut tx = pool.begin().await?;
        let epoch = match meta_get(&mut tx, "epoch").await? {
            Some(epoch) => epoch,
            None => {
                // Nodes starting at once on one database: the first epoch
                // written is everyone's.
                meta_add(&mut tx, "epoch", &new_epoch()).await?;
                meta_get(&mut tx, "epoch")
                    .await?
                    .ok_or_else(|| sqlx::Error::Protocol("the log's epoch was not kept".into()))?
            }
        };
        let last_seq = meta_u64(&mut tx, "last_seq").await?;
        let pruned_through = meta_u64(&mut tx, "pruned_through").await?;
        tx.commit().await?;
        let (live, _) = broadcast::channel(LIVE_CHANNEL_CAPACITY);
        Ok(EventLog {
            pool,
            epoch,
            writer: Arc::new(Mutex::new(WriterState {
                last_seq,
                dashboard: HashMap::new(),
            })),
            live,
            published_seq: AtomicU64::new(last_seq),
            pruned_through: AtomicU64::new(pruned_through),
            recent: std::sync::Mutex::new(VecDeque::with_capacity(RECENT_EVENTS)),
            publisher: Mutex::new(()),
            db_replays: tokio::sync::Semaphore::new(1),
            metrics,
        })
    }

    /// Deletes every event and names a new epoch. The hub must be stopped.
    pub async fn wipe(pool: &Db) -> Result<String, sqlx::Error> {
        let mut tx = pool.begin().await?;
        crate::on!(tx, |ex| sqlx::query("DELETE FROM events")
            .execute(ex)
            .await
            .map(|done| done.rows_affected()))?;
        let epoch = new_epoch();
        meta_set(&mut tx, "epoch", &epoch).await?;
        meta_set(&mut tx, "last_seq", "0").await?;
        meta_set(&mut tx, "pruned_through", "0").await?;
        tx.commit().await?;
        Ok(epoch)
    }

    /// Names a new epoch and keeps the events: after a restore, whose log
    /// is behind what the devices saw, so that each reloads its state
    /// instead of trusting sequence numbers the log will reach again. The
    /// hub must be stopped.
    pub async fn renew_epoch(pool: &Db) -> Result<String, sqlx::Error> {
        let mut tx = pool.begin().await?;
        let epoch = new_epoch();
        meta_set(&mut tx, "epoch", &epoch).await?;
        tx.commit().await?;
        Ok(epoch)
    }

    pub fn epoch(&self) -> &str {
        &self.epoch
    }

    /// The newest seq that live subscribers have been sent.
    pub fn seq(&self) -> u64 {
        self.published_seq.load(Ordering::Acquire)
    }

    pub fn pool(&self) -> &Db {
        &self.pool
    }

    /// A receiver of live events. Subscribe before reading [`Self::seq`] so
    /// that nothing falls between the two.
    pub fn subscribe(&self) -> broadcast::Receiver<Commit> {
        self.live.subscribe()
    }

    /// Starts a write: takes the writer lock and opens a transaction. On
    /// PostgreSQL its first statement locks the log's head row, which every
    /// node's writes take in turn, and reads the newest `seq` and the
    /// dashboard figures last announced (by any node) there.
    pub async fn begin(&self) -> Result<Writer<'_>, sqlx::Error> {
        let mut guard = self.writer.clone().lock_owned().await;
        let mut tx = self.pool.begin().await?;
        let mut shared_dashboard = None;
        if let Tx::Pg(pg) = &mut tx {
            let head: Vec<(String, String)> = sqlx::query_as(
                "SELECT key, value FROM meta WHERE key IN ('last_seq', 'dashboard')
                 ORDER BY key FOR UPDATE",
            )
            .fetch_all(&mut **pg)
            .await?;
            let mut last_seq = None;
            for (key, value) in head {
                if key == "last_seq" {
                    last_seq = value.parse().ok();
                } else {
                    guard.dashboard = serde_json::from_str(&value).unwrap_or_default();
                }
            }
            guard.last_seq = last_seq
                .ok_or_else(|| sqlx::Error::Protocol("the log's head row is missing".into()))?;
            shared_dashboard = Some(guard.dashboard.clone());
        }
        let next_seq = guard.last_seq + 1;
        Ok(Writer {
            log: self,
            guard,
            tx,
            next_seq,
            pending: Vec::new(),
            shared_dashboard,
        })
    }

    /// Publishes `events` (one commit's, or a page read from the log) to
    /// the live channel, past those already published: whatever lies
    /// between is read from the log first, so subscribers get `seq` order
    /// with no gap. Never fails a write whose commit is done: a read that
    /// fails leaves the rest to the next publish or to the tail's timer.
    pub(crate) async fn publish(&self, events: Vec<Arc<Published>>) {
        let _turn = self.publisher.lock().await;
        let published = self.seq();
        let Some(last) = events.last().map(|e| e.seq) else {
            return;
        };
        if last <= published {
            return;
        }
        let mut events = events;
        events.retain(|e| e.seq > published);
        if events.first().map(|e| e.seq) != Some(published + 1) {
            let read = async {
                let mut conn = self.pool.acquire().await?;
                read_range(&mut conn, published, last).await
            };
            match read.await {
                Ok(read) if read.first().map(|e| e.seq) == Some(published + 1) => events = read,
                Ok(_) => {
                    // The log no longer has them (pruned): move past.
                }
                Err(e) => {
                    tracing::warn!(error = %e, "reading the log to publish in order; the tail will");
                    return;
                }
            }
        }
        self.deliver(events);
    }

    /// Publishes the events committed (by any node) since the last one
    /// published here, a page at a time. Answers how many.
    pub(crate) async fn catch_up(&self) -> Result<u64, sqlx::Error> {
        let mut total = 0;
        loop {
            let _turn = self.publisher.lock().await;
            let published = self.seq();
            let mut conn = self.pool.acquire().await?;
            let events = read_after(&mut conn, published, REPLAY_PAGE).await?;
            drop(conn);
            let n = events.len() as u64;
            if n == 0 {
                return Ok(total);
            }
            total += n;
            self.deliver(events);
            if n < REPLAY_PAGE {
                return Ok(total);
            }
        }
    }

    /// Hands `events` (in order, the first right after the newest
    /// published) to the live channel and the recent window. Call with the
    /// publisher lock held.
    fn deliver(&self, events: Vec<Arc<Published>>) {
        let Some(last) = events.last().map(|e| e.seq) else {
            return;
        };
        let count = events.len() as u64;
        {
            let mut recent = self.recent.lock().unwrap_or_else(|p| p.into_inner());
            // Still gap-free: a commit's first seq follows the newest kept.
            if recent.back().is_some_and(|e| e.seq + 1 != events[0].seq) {
                recent.clear();
            }
            recent.extend(events.iter().cloned());
            let excess = recent.len().saturating_sub(RECENT_EVENTS);
            recent.drain(..excess);
        }
        // No receivers is fine: nobody is listening right now.
        let _ = self.live.send(Commit::from(events));
        self.published_seq.store(last, Ordering::Release);
        self.metrics
            .events_published
            .fetch_add(count, Ordering::Relaxed);
    }

    /// Reads the events with `since < seq <= upto` for a replay, or says the
    /// history is gone.
    pub async fn replay(&self, since: u64, upto: u64) -> Result<ReplayRead, sqlx::Error> {
        if since >= upto {
            // Nothing to read: a client that resumes up to date (most of a
            // reconnect storm) costs no query.
            return Ok(ReplayRead::Events(Vec::new()));
        }
        if since >= self.pruned_through.load(Ordering::Acquire) {
            if let Some(events) = self.recent_range(since, upto) {
                return Ok(ReplayRead::Events(events));
            }
        }
        let _turn = self.db_replays.acquire().await;
        let mut tx = self.pool.begin_snapshot().await?;
        let pruned = meta_u64(&mut tx, "pruned_through").await?;
        if since < pruned {
            return Ok(ReplayRead::Expired);
        }
        let events = read_range(&mut tx, since, upto).await?;
        tx.commit().await?;
        Ok(ReplayRead::Events(events))
    }

    /// Reads the events with `from < seq <= upto` (a lagging subscriber).
    pub async fn range(&self, from: u64, upto: u64) -> Result<Vec<Arc<Published>>, sqlx::Error> {
        if let Some(events) = self.recent_range(from, upto) {
            return Ok(events);
        }
        let mut conn = self.pool.acquire().await?;
        read_range(&mut conn, from, upto).await
    }

    /// The events with `from < seq <= upto` if all of them are among the
    /// recent ones in memory.
    fn recent_range(&self, from: u64, upto: u64) -> Option<Vec<Arc<Published>>> {
        if upto <= from {
            return Some(Vec::new());
        }
        let recent = self.recent.lock().unwrap_or_else(|p| p.into_inner());
        let first = recent.front()?.seq;
        let last = recent.back()?.seq;
        if from + 1 < first || upto > last {
            return None;
        }
        // Gap-free, so the index of a seq is its distance from the first.
        let start = usize::try_from(from + 1 - first).ok()?;
        let end = usize::try_from(upto + 1 - first).ok()?;
        Some(recent.range(start..end).cloned().collect())
    }

    /// How many events the log holds now.
    pub async fn retained(&self) -> Result<u64, sqlx::Error> {
        let n: i64 = crate::on_pool!(self.pool, |ex| sqlx::query_scalar(
            "SELECT COUNT(*) FROM events"
        )
        .fetch_one(ex)
        .await)?;
        Ok(n.max(0) as u64)
    }

    /// Deletes events that are both older than `min_age` and not among the
    /// newest `min_events`. Returns how many were deleted.
    pub async fn prune(
        &self,
        now: DateTime<Utc>,
        min_events: u64,
        min_age: Duration,
    ) -> Result<u64, sqlx::Error> {
        let newest = self.seq();
        let by_count = newest.saturating_sub(min_events);
        if by_count == 0 {
            return Ok(0);
        }
        let cutoff_ms = (now - min_age).timestamp_millis();
        let mut tx = self.pool.begin().await?;
        let upto: Option<i64> = crate::on!(tx, |ex| sqlx::query_scalar(
            "SELECT MAX(seq) FROM events WHERE seq <= $1 AND created_ms < $2"
        )
        .bind(by_count as i64)
        .bind(cutoff_ms)
        .fetch_one(ex)
        .await)?;
        let Some(upto) = upto else {
            return Ok(0);
        };
        let deleted = crate::on!(tx, |ex| sqlx::query("DELETE FROM events WHERE seq <= $1")
            .bind(upto)
            .execute(ex)
            .await
            .map(|done| done.rows_affected()))?;
        // Never lower it: another node may have pruned further meanwhile.
        let lock = match tx.backend() {
            Backend::Sqlite => "",
            Backend::Postgres => " FOR UPDATE",
        };
        let sql = format!("SELECT value FROM meta WHERE key = 'pruned_through'{lock}");
        let stored: Option<String> =
            crate::on!(tx, |ex| sqlx::query_scalar(&sql).fetch_optional(ex).await)?;
        let stored = stored.and_then(|v| v.parse().ok()).unwrap_or(0);
        let pruned = self
            .pruned_through
            .load(Ordering::Acquire)
            .max(stored)
            .max(upto as u64);
        meta_set(&mut tx, "pruned_through", &pruned.to_string()).await?;
        tx.commit().await?;
        self.pruned_through.store(pruned, Ordering::Release);
        Ok(deleted)
    }
}

/// An open write: a transaction holding the writer lock. Events emitted here
/// are committed with the change and published after the commit.
pub struct Writer<'a> {
    log: &'a EventLog,
    guard: OwnedMutexGuard<WriterState>,
    pub tx: Tx,
    next_seq: u64,
    /// Events emitted so far, with their creation time (unix millis).
    pending: Vec<(Arc<Published>, i64)>,
    /// On PostgreSQL, the dashboard figures as read from the head row: they
    /// are written back at commit when this write changed them.
    shared_dashboard: Option<HashMap<String, Value>>,
}

impl Writer<'_> {
    /// Appends a durable event to the log within this transaction.
    pub async fn emit(
        &mut self,
        event: &Event,
        routing: Routing,
        now: DateTime<Utc>,
    ) -> Result<u64, sqlx::Error> {
        debug_assert!(event.is_durable());
        let seq = self.next_seq;
        let name = event.name();
        let data = serde_json::to_string(&event.data_json())
            .map_err(|e| sqlx::Error::Protocol(e.to_string()))?;
        // The row is written at commit, with the transaction's other events
        // in one statement.
        self.pending.push((
            Arc::new(Published::new(seq, name, &data, routing)),
            now.timestamp_millis(),
        ));
        self.next_seq += 1;
        Ok(seq)
    }

    /// The dashboard values last announced (guarded by the writer lock).
    pub fn dashboard(&mut self) -> &mut HashMap<String, Value> {
        &mut self.guard.dashboard
    }

    /// Commits the change with its events, then publishes them.
    pub async fn commit(mut self) -> Result<(), sqlx::Error> {
        let last = self.next_seq - 1;
        if !self.pending.is_empty() {
            for chunk in self.pending.chunks(EVENTS_PER_INSERT) {
                crate::on!(self.tx, |ex| insert_events(chunk)
                    .build()
                    .execute(ex)
                    .await
                    .map(|_| ()))?;
            }
            meta_set(&mut self.tx, "last_seq", &last.to_string()).await?;
        }
        if let Some(read) = &self.shared_dashboard {
            if *read != self.guard.dashboard {
                let figures = serde_json::to_string(&self.guard.dashboard)
                    .map_err(|e| sqlx::Error::Protocol(e.to_string()))?;
                meta_set(&mut self.tx, "dashboard", &figures).await?;
            }
        }
        if let (Tx::Pg(pg), false) = (&mut self.tx, self.pending.is_empty()) {
            // Delivered at commit, in commit order: wakes the other nodes'
            // tails (tail.rs), which read the log from their cursor.
            sqlx::query("SELECT pg_notify($1, $2)")
                .bind(crate::tail::EVENTS_CHANNEL)
                .bind(last.to_string())
                .execute(&mut **pg)
                .await?;
        }
        self.tx.commit().await?;
        self.guard.last_seq = last;
        if !self.pending.is_empty() {
            let events: Vec<Arc<Published>> =
                self.pending.into_iter().map(|(event, _)| event).collect();
            self.log.publish(events).await;
        }
        Ok(())
    }
}

/// One statement inserting `chunk`, built for the backend `DB`.
fn insert_events<'a, DB>(chunk: &'a [(Arc<Published>, i64)]) -> QueryBuilder<'a, DB>
where
    DB: sqlx::Database,
    i64: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    &'a str: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    String: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    Option<&'a str>: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    Option<String>: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
{
    let mut insert = QueryBuilder::<DB>::new(
        "INSERT INTO events (seq, name, data, topic, order_id, audience, created_ms) ",
    );
    insert.push_values(chunk, |mut row, (event, created_ms)| {
        row.push_bind(event.seq as i64)
            .push_bind(event.full.name.as_str())
            .push_bind(&*event.full.data)
            .push_bind(event.routing.topic.to_string())
            .push_bind(event.routing.order_id.as_deref())
            .push_bind(event.routing.audience.as_ref().map(|a| a.join(",")))
            .push_bind(*created_ms);
    });
    insert
}

#[derive(sqlx::FromRow)]
struct EventRow {
    seq: i64,
    name: String,
    data: String,
    topic: String,
    order_id: Option<String>,
    audience: Option<String>,
}

/// Up to `limit` events after `from`, in order.
async fn read_after(
    conn: &mut impl crate::store::Exec,
    from: u64,
    limit: u64,
) -> Result<Vec<Arc<Published>>, sqlx::Error> {
    let rows: Vec<EventRow> = crate::on!(conn, |ex| sqlx::query_as(
        "SELECT seq, name, data, topic, order_id, audience FROM events
         WHERE seq > $1 ORDER BY seq LIMIT $2",
    )
    .bind(from as i64)
    .bind(limit as i64)
    .fetch_all(ex)
    .await)?;
    published_rows(rows)
}

async fn read_range(
    conn: &mut impl crate::store::Exec,
    from: u64,
    upto: u64,
) -> Result<Vec<Arc<Published>>, sqlx::Error> {
    let rows: Vec<EventRow> = crate::on!(conn, |ex| sqlx::query_as(
        "SELECT seq, name, data, topic, order_id, audience FROM events
         WHERE seq > $1 AND seq <= $2 ORDER BY seq",
    )
    .bind(from as i64)
    .bind(upto as i64)
    .fetch_all(ex)
    .await)?;
    published_rows(rows)
}

fn published_rows(rows: Vec<EventRow>) -> Result<Vec<Arc<Published>>, sqlx::Error> {
    let mut out = Vec::with_capacity(rows.len());
    for EventRow {
        seq,
        name,
        data,
        topic,
        order_id,
        audience,
    } in rows
    {
        let topic = Topic::parse(&topic).map_err(|e| sqlx::Error::Protocol(e.to_string()))?;
        let routing = Routing {
            topic,
            order_id,
            audience: audience.map(|a| {
                a.split(',')
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect()
            }),
        };
        out.push(Arc::new(Published::new(seq as u64, &name, &data, routing)));
    }
    Ok(out)
}

fn new_epoch() -> String {
    use rand::Rng;
    let n: u64 = rand::thread_rng().gen();
    format!("{n:016x}")
}

pub async fn meta_get(
    conn: &mut impl crate::store::Exec,
    key: &str,
) -> Result<Option<String>, sqlx::Error> {
    crate::on!(conn, |ex| sqlx::query_scalar(
        "SELECT value FROM meta WHERE key = $1"
    )
    .bind(key)
    .fetch_optional(ex)
    .await)
}

async fn meta_u64(conn: &mut impl crate::store::Exec, key: &str) -> Result<u64, sqlx::Error> {
    Ok(meta_get(conn, key)
        .await?
        .and_then(|v| v.parse().ok())
        .unwrap_or(0))
}

/// Writes `key` unless it is there already.
async fn meta_add(
    conn: &mut impl crate::store::Exec,
    key: &str,
    value: &str,
) -> Result<(), sqlx::Error> {
    crate::on!(conn, |ex| sqlx::query(
        "INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING",
    )
    .bind(key)
    .bind(value)
    .execute(ex)
    .await
    .map(|_| ()))
}

pub async fn meta_set(
    conn: &mut impl crate::store::Exec,
    key: &str,
    value: &str,
) -> Result<(), sqlx::Error> {
    crate::on!(conn, |ex| sqlx::query(
        "INSERT INTO meta (key, value) VALUES ($1, $2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    )
    .bind(key)
    .bind(value)
    .execute(ex)
    .await
    .map(|done| done.rows_affected()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn board_sees_only_number_and_status() {
        let data = r#"{"orderId":"ORD-1-a","dailyNum":4,"status":"READY","previousStatus":"MAKING","updatedAt":"2026-11-23T10:00:00Z"}"#;
        let (name, projected) = board_projection("order:status_changed", data).unwrap();
        assert_eq!(name, "order:status_changed");
        assert_eq!(
            serde_json::from_str::<Value>(&projected).unwrap(),
            json!({"orderId":"ORD-1-a","dailyNum":4,"status":"READY"})
        );
        let cancelled = r#"{"orderId":"ORD-1-a","dailyNum":4,"reason":"x","cancelledAt":"2026-11-23T10:00:00Z"}"#;
        let (_, projected) = board_projection("order:cancelled", cancelled).unwrap();
        assert_eq!(
            serde_json::from_str::<Value>(&projected).unwrap()["status"],
            "CANCELLED"
        );
        let created = r#"{"orderId":"ORD-1-b","dailyNum":5,"payType":"CARD","items":[],"totalAmount":0,"status":"PENDING","createdAt":"2026-11-23T10:00:00Z"}"#;
        let (name, projected) = board_projection("order:created", created).unwrap();
        assert_eq!(name, "order:status_changed");
        assert_eq!(
            serde_json::from_str::<Value>(&projected).unwrap(),
            json!({"orderId":"ORD-1-b","dailyNum":5,"status":"PENDING"})
        );
        assert!(board_projection("menu:updated", data).is_none());
    }

    #[test]
    fn frame_puts_seq_between_event_and_data() {
        let r = Rendition::new(9, "menu:updated", r#"{"id":"x"}"#);
        assert_eq!(
            r.frame.as_str(),
            r#"{"event":"menu:updated","seq":9,"data":{"id":"x"}}"#
        );
    }
}
