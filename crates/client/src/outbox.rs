//! The outbox: actions taken while the hub may be out of reach, kept in the
//! cache and sent in order, exactly once, when the link is back.
//!
//! Exactly once rests on the hub: an order carries an idempotency key (the
//! same key again answers the same order), and a status change or a cancel
//! that the hub says is no longer possible is checked against the order's
//! current status, so a resend after a lost answer counts as done.

use std::fmt;

use countertop_protocol::{NewOrder, OrderStatus, SignatureSubmission};
use rand::Rng;
use serde::{Deserialize, Serialize};

/// The key an outbox entry is known by, from queuing to its outcome: an
/// order's idempotency key, or a fresh random one. [`crate::CoreEvent`]'s
/// outbox events and the handle's queuing calls carry it as a `String`
/// (`OutboxKey::into_string`, `OutboxKey::from`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct OutboxKey(String);

impl OutboxKey {
    /// A fresh random key, 128 bits in hex.
    pub fn random() -> OutboxKey {
        let bits: u128 = rand::thread_rng().gen();
        OutboxKey(format!("{bits:032x}"))
    }

    /// A short reference for people (`Q-7F3A`): the key's first four
    /// letters or digits, upper case. Shown to a customer whose order waits
    /// in the outbox, and carried by the order, so that the counter can
    /// find it once it arrives.
    pub fn reference(&self) -> String {
        let head: String = self
            .0
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .take(4)
            .collect();
        format!("Q-{}", head.to_ascii_uppercase())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl From<String> for OutboxKey {
    fn from(key: String) -> OutboxKey {
        OutboxKey(key)
    }
}

impl From<&str> for OutboxKey {
    fn from(key: &str) -> OutboxKey {
        OutboxKey(key.to_owned())
    }
}

impl From<OutboxKey> for String {
    fn from(key: OutboxKey) -> String {
        key.0
    }
}

impl AsRef<str> for OutboxKey {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for OutboxKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One queued action.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum OutboxOp {
    PlaceOrder {
        order: NewOrder,
    },
    ChangeStatus {
        order_id: String,
        status: OrderStatus,
        /// The status the order had on this device's screen when the change
        /// was made: the hub refuses the change if the order has moved on
        /// since, so a late resend cannot land as a recall. Entries queued
        /// by an older build have none, and are sent without it.
        #[serde(default)]
        from: Option<OrderStatus>,
    },
    Cancel {
        order_id: String,
        reason: String,
    },
    /// Lines of an order marked done or undone by this station. Marking a
    /// line as it already is changes nothing at the hub, so a resend after
    /// a lost answer is harmless.
    MarkItems {
        order_id: String,
        lines: Vec<u32>,
        done: bool,
    },
    Sign {
        submission: SignatureSubmission,
    },
}

impl OutboxOp {
    /// The key the entry is known by: the order's idempotency key, or a new
    /// random one.
    pub fn key(&self) -> OutboxKey {
        match self {
            OutboxOp::PlaceOrder { order } => OutboxKey::from(order.idempotency_key.clone()),
            _ => OutboxKey::random(),
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            OutboxOp::PlaceOrder { .. } => "place_order",
            OutboxOp::ChangeStatus { .. } => "change_status",
            OutboxOp::Cancel { .. } => "cancel",
            OutboxOp::MarkItems { .. } => "mark_items",
            OutboxOp::Sign { .. } => "sign",
        }
    }
}
