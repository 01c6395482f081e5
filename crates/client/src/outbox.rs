//! The outbox: actions taken while the hub may be out of reach, kept in the
//! cache and sent in order, exactly once, when the link is back.
//!
//! Exactly once rests on the hub: an order carries an idempotency key (the
//! same key again answers the same order), and a status change or a cancel
//! that the hub says is no longer possible is checked against the order's
//! current status, so a resend after a lost answer counts as done.

use countertop_protocol::{NewOrder, OrderStatus, SignatureSubmission};
use rand::Rng;
use serde::{Deserialize, Serialize};

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
    },
    Cancel {
        order_id: String,
        reason: String,
    },
    Sign {
        submission: SignatureSubmission,
    },
}

impl OutboxOp {
    /// The key the entry is known by: the order's idempotency key, or a new
    /// random one.
    pub fn key(&self) -> String {
        match self {
            OutboxOp::PlaceOrder { order } => order.idempotency_key.clone(),
            _ => new_key(),
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            OutboxOp::PlaceOrder { .. } => "place_order",
            OutboxOp::ChangeStatus { .. } => "change_status",
            OutboxOp::Cancel { .. } => "cancel",
            OutboxOp::Sign { .. } => "sign",
        }
    }
}

/// A fresh random key, 128 bits in hex.
pub fn new_key() -> String {
    let bits: u128 = rand::thread_rng().gen();
    format!("{bits:032x}")
}
