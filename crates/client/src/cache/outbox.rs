//! The outbox's store: queued actions, oldest first, and how each ended. An
//! entry leaves the queue in the same transaction that records its outcome.

use countertop_protocol::ErrorBody;
use rusqlite::{params, OptionalExtension};
use serde::{Deserialize, Serialize};

use super::{get_json, now_text, Cache};
use crate::error::CacheError;
use crate::outbox::{OutboxKey, OutboxOp};

/// An entry waiting in the outbox.
#[derive(Debug, Clone, PartialEq)]
pub struct Queued {
    pub id: i64,
    pub key: OutboxKey,
    pub op: OutboxOp,
}

/// How an outbox entry ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    Sent { response: serde_json::Value },
    Refused { error: ErrorBody },
}

impl Cache {
    /// Queues an action; queuing the same key twice keeps the first.
    pub fn enqueue(&self, key: &OutboxKey, op: &OutboxOp) -> Result<(), CacheError> {
        let conn = self.lock();
        conn.execute(
            "INSERT OR IGNORE INTO outbox (key, op, queued_at) VALUES (?1, ?2, ?3)",
            params![key.as_str(), serde_json::to_string(op)?, now_text()],
        )?;
        Ok(())
    }

    /// The oldest waiting entry.
    pub fn outbox_next(&self) -> Result<Option<Queued>, CacheError> {
        let conn = self.lock();
        let row: Option<(i64, String, String)> = conn
            .query_row(
                "SELECT id, key, op FROM outbox ORDER BY id LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        match row {
            Some((id, key, op)) => Ok(Some(Queued {
                id,
                key: OutboxKey::from(key),
                op: serde_json::from_str(&op)?,
            })),
            None => Ok(None),
        }
    }

    pub fn outbox_len(&self) -> Result<usize, CacheError> {
        let conn = self.lock();
        let n: i64 = conn.query_row("SELECT COUNT(*) FROM outbox", [], |r| r.get(0))?;
        Ok(usize::try_from(n).unwrap_or(0))
    }

    /// Removes an entry and records how it ended, in one transaction.
    pub fn outbox_finish(
        &self,
        id: i64,
        key: &OutboxKey,
        outcome: &Outcome,
    ) -> Result<(), CacheError> {
        let mut conn = self.lock();
        let tx = conn.transaction()?;
        tx.execute("DELETE FROM outbox WHERE id = ?1", [id])?;
        tx.execute(
            "INSERT INTO outbox_outcomes (key, ok, body, at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (key) DO UPDATE SET ok = excluded.ok, body = excluded.body, at = excluded.at",
            params![
                key.as_str(),
                matches!(outcome, Outcome::Sent { .. }),
                serde_json::to_string(outcome)?,
                now_text()
            ],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// How the entry with `key` ended, if it has. Takes the key as the
    /// handle and [`crate::CoreEvent`] name it, or as an [`OutboxKey`].
    pub fn outcome(&self, key: impl AsRef<str>) -> Result<Option<Outcome>, CacheError> {
        let conn = self.lock();
        get_json(
            &conn,
            "SELECT body FROM outbox_outcomes WHERE key = ?1",
            key.as_ref(),
        )
    }
}
