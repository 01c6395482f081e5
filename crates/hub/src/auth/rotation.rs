//! A signing secret rotated on one node, taken by the others (nodes on one
//! PostgreSQL database).
//!
//! The node where a manager rotates writes the new secret to the database
//! sealed under the secret it replaces (XOR a mask only that secret gives),
//! with the ids of both (`meta.secret_rotation`, and `meta.node_secret_id`
//! the new one's), then NOTIFYs. Every node still on the replaced secret
//! unseals it and rotates to it as the manager's node did (the old one kept
//! for refreshes), and closes its devices' connections with 4002; a node
//! that was down meanwhile does so when it starts. A node rotates only from
//! the secret the database names as current, under that row's lock, so two
//! rotations at once cannot leave the nodes on different secrets.

use std::path::Path;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{random_id, DeviceError, Keys};
use crate::store::Db;
use crate::Hub;

/// The `meta` key of the newest rotation.
const ROTATION: &str = "secret_rotation";
/// The `meta` key of the current secret's id.
const CURRENT: &str = "node_secret_id";
/// The label whose keyed hash names a secret.
pub(crate) const SECRET_ID_LABEL: &str = "countertop node secret id";

/// The newest rotation, as stored.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Rotation {
    generation: String,
    /// The id of the secret it replaced, and of the new one.
    from: String,
    to: String,
    /// The new secret, sealed under the one it replaced (hex).
    sealed: String,
    at: DateTime<Utc>,
}

/// The id of `keys`' current secret: a keyed hash of a fixed label, which
/// says nothing of the secret.
pub(crate) fn secret_id(keys: &Keys) -> String {
    keys.code_hash(SECRET_ID_LABEL)
}

/// The mask a new secret is sealed with under `keys`: 64 bytes of keyed
/// hashes of labels no pairing code can be.
fn mask(keys: &Keys, generation: &str) -> Vec<u8> {
    (0..2)
        .flat_map(|half| {
            let hash = keys.code_hash(&format!("secret-rotation:{generation}:{half}"));
            (0..hash.len())
                .step_by(2)
                .filter_map(|i| u8::from_str_radix(hash.get(i..i + 2)?, 16).ok())
                .collect::<Vec<u8>>()
        })
        .collect()
}

fn seal(keys: &Keys, generation: &str, secret: &str) -> String {
    secret
        .bytes()
        .zip(mask(keys, generation).iter().cycle())
        .map(|(s, m)| format!("{:02x}", s ^ m))
        .collect()
}

fn unseal(keys: &Keys, generation: &str, sealed: &str) -> Option<String> {
    let bytes: Option<Vec<u8>> = (0..sealed.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(sealed.get(i..i + 2)?, 16).ok())
        .collect();
    let plain: Vec<u8> = bytes?
        .iter()
        .zip(mask(keys, generation).iter().cycle())
        .map(|(s, m)| s ^ m)
        .collect();
    String::from_utf8(plain).ok()
}

/// Rotates `keys` (and the files in `data_dir`) to the secret the newest
/// rotation in the database names, if they are still on the secret it
/// replaced. Answers until when the replaced one refreshes tokens, if it
/// did.
pub(crate) async fn follow(
    db: &Db,
    keys: &Keys,
    data_dir: &Path,
) -> anyhow::Result<Option<DateTime<Utc>>> {
    let Some(pg) = db.pg() else {
        return Ok(None);
    };
    let stored: Option<String> = sqlx::query_scalar("SELECT value FROM meta WHERE key = $1")
        .bind(ROTATION)
        .fetch_optional(pg)
        .await?;
    let Some(rotation) = stored.and_then(|s| serde_json::from_str::<Rotation>(&s).ok()) else {
        return Ok(None);
    };
    if rotation.from != secret_id(keys) {
        return Ok(None);
    }
    let fresh = unseal(keys, &rotation.generation, &rotation.sealed)
        .filter(|fresh| secret_id(&Keys::from_secret(fresh.as_bytes())) == rotation.to)
        .ok_or_else(|| anyhow::anyhow!("the rotated secret in the database does not unseal"))?;
    let until = keys.rotate_to(data_dir, &fresh, rotation.at)?;
    tracing::warn!("the signing secret was rotated; this node took it");
    Ok(Some(until))
}

impl Hub {
    /// Rotates the signing secret of every node on the database: here, then
    /// the others through the database (see the module). Answers until when
    /// the old secret still refreshes tokens.
    pub(crate) async fn rotate_shared(
        &self,
        now: DateTime<Utc>,
    ) -> Result<DateTime<Utc>, DeviceError> {
        let pg = self
            .pool()
            .pg()
            .ok_or_else(|| DeviceError::Internal("not on PostgreSQL".into()))?;
        let fresh = super::tokens::new_secret();
        let generation = random_id(16);
        let from = secret_id(&self.keys);
        let to = secret_id(&Keys::from_secret(fresh.as_bytes()));
        let rotation = Rotation {
            generation: generation.clone(),
            from: from.clone(),
            to: to.clone(),
            sealed: seal(&self.keys, &generation, &fresh),
            at: now,
        };
        let mut tx = pg.begin().await?;
        let current: Option<String> =
            sqlx::query_scalar("SELECT value FROM meta WHERE key = $1 FOR UPDATE")
                .bind(CURRENT)
                .fetch_optional(&mut *tx)
                .await?;
        if current.as_deref() != Some(from.as_str()) {
            return Err(DeviceError::Unsupported(
                "another node rotated the signing secret a moment ago; this one takes it within seconds",
            ));
        }
        let text =
            serde_json::to_string(&rotation).map_err(|e| DeviceError::Internal(e.to_string()))?;
        for (key, value) in [(ROTATION, text.as_str()), (CURRENT, rotation.to.as_str())] {
            sqlx::query(
                "INSERT INTO meta (key, value) VALUES ($1, $2)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            )
            .bind(key)
            .bind(value)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        self.tell_nodes().await;
        // Committed: this node takes it as every other node does (if its
        // files cannot be written now, its tail tries again).
        let taken = follow(self.pool(), &self.keys, &self.config.data_dir)
            .await
            .map_err(|e| {
                DeviceError::Internal(format!("could not rotate the signing secret: {e:#}"))
            })?;
        match taken {
            Some(until) => Ok(until),
            // This node's tail, woken by the notification, took it first.
            None if secret_id(&self.keys) == to => {
                Ok(now + chrono::Duration::days(super::TOKEN_LIFETIME_DAYS))
            }
            None => Err(DeviceError::Internal("the rotation was not taken".into())),
        }
    }

    /// Takes a rotation another node made (see the module), closing the
    /// devices' connections here with 4002 when it does.
    pub(crate) async fn follow_rotation(&self) -> anyhow::Result<()> {
        let hub = self.clone();
        let took = follow(self.pool(), &self.keys, &self.config.data_dir).await?;
        if took.is_some() {
            let closed = hub.registry.secret_rotated();
            tracing::info!(
                closed,
                "connections closed after the secret was rotated elsewhere"
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_secret_reads_back_only_under_the_secret_it_replaced() {
        let old = Keys::from_secret(b"0123456789abcdef0123456789abcdef-old");
        let other = Keys::from_secret(b"0123456789abcdef0123456789abcdef-other");
        let fresh = "f".repeat(64);
        let sealed = seal(&old, "gen1", &fresh);
        assert_ne!(sealed, fresh);
        assert_eq!(
            unseal(&old, "gen1", &sealed).as_deref(),
            Some(fresh.as_str())
        );
        assert_ne!(
            unseal(&other, "gen1", &sealed).as_deref(),
            Some(fresh.as_str())
        );
        assert_ne!(
            unseal(&old, "gen2", &sealed).as_deref(),
            Some(fresh.as_str())
        );
    }
}
