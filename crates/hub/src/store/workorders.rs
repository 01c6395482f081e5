//! The `workorders` table: each workorder stored as its JSON body.

use countertop_protocol::Workorder;

use super::StoreError;
use crate::signature;

pub async fn load_workorder(
    conn: &mut impl crate::store::Exec,
    id: &str,
) -> Result<Option<Workorder>, StoreError> {
    let body: Option<String> = crate::on!(conn, |ex| sqlx::query_scalar(
        "SELECT body FROM workorders WHERE id = $1"
    )
    .bind(id)
    .fetch_optional(ex)
    .await)?;
    Ok(match body {
        Some(b) => Some(serde_json::from_str(&b)?),
        None => None,
    })
}

pub async fn load_workorders(
    conn: &mut impl crate::store::Exec,
    presented_to: Option<&str>,
) -> Result<Vec<Workorder>, StoreError> {
    let bodies: Vec<String> = match presented_to {
        Some(device) => crate::on!(conn, |ex| sqlx::query_scalar(
            "SELECT body FROM workorders WHERE presented_to = $1 ORDER BY created_ms, id",
        )
        .bind(device)
        .fetch_all(ex)
        .await)?,
        None => crate::on!(conn, |ex| sqlx::query_scalar(
            "SELECT body FROM workorders ORDER BY created_ms, id"
        )
        .fetch_all(ex)
        .await)?,
    };
    bodies
        .iter()
        .map(|b| serde_json::from_str(b).map_err(StoreError::from))
        .collect()
}

/// Stores a workorder, new or changed, with the display it is presented to.
pub async fn save(conn: &mut impl crate::store::Exec, wo: &Workorder) -> Result<(), StoreError> {
    crate::on!(conn, |ex| sqlx::query(
        "INSERT INTO workorders (id, body, presented_to, created_ms) VALUES ($1, $2, $3, $4)
         ON CONFLICT (id) DO UPDATE SET body = excluded.body, presented_to = excluded.presented_to",
    )
    .bind(&wo.id)
    .bind(serde_json::to_string(wo)?)
    .bind(wo.presented_to.as_deref())
    .bind(wo.created_at.timestamp_millis())
    .execute(ex)
    .await
    .map(|done| done.rows_affected()))?;
    Ok(())
}

/// Keeps the points of a workorder's signature.
pub async fn set_strokes(
    conn: &mut impl crate::store::Exec,
    id: &str,
    drawing: &signature::Drawing,
) -> Result<(), StoreError> {
    crate::on!(conn, |ex| sqlx::query(
        "UPDATE workorders SET strokes = $1 WHERE id = $2"
    )
    .bind(serde_json::to_string(drawing)?)
    .bind(id)
    .execute(ex)
    .await
    .map(|done| done.rows_affected()))?;
    Ok(())
}

/// Reads every stored signature that a device wrote (before signatures were
/// kept as points) through the allow-list, once: the workorder keeps the
/// strokes and the hub's own SVG, the event log the hub's SVG. A signature
/// that does not pass becomes an empty drawing, with a warning.
pub async fn rewrite_stored_signatures(pool: &crate::store::Db) -> anyhow::Result<()> {
    use serde_json::Value;
    const DONE: &str = "signatures_rewritten";
    let done: Option<String> = crate::on_pool!(pool, |ex| sqlx::query_scalar(
        "SELECT value FROM meta WHERE key = $1"
    )
    .bind(DONE)
    .fetch_optional(ex)
    .await)?;
    if done.is_some() {
        return Ok(());
    }
    fn rewrite(value: &mut Value, pointer: &str, what: &str) -> Option<signature::Drawing> {
        let sig = value.pointer_mut(pointer)?;
        let svg = sig.get("signatureSvg")?.as_str()?;
        let drawing = signature::parse(svg).unwrap_or_else(|e| {
            tracing::warn!(%what, error = %e, "a stored signature did not pass the allow-list; it is kept as an empty drawing");
            signature::Drawing::blank()
        });
        sig["signatureSvg"] = Value::String(signature::render(&drawing));
        Some(drawing)
    }
    let mut tx = pool.begin().await?;
    let rows: Vec<(String, String)> = crate::on!(tx, |ex| sqlx::query_as(
        "SELECT id, body FROM workorders WHERE strokes IS NULL"
    )
    .fetch_all(ex)
    .await)?;
    for (id, body) in rows {
        let mut value: Value = serde_json::from_str(&body)?;
        if let Some(drawing) = rewrite(&mut value, "/signature", &id) {
            crate::on!(tx, |ex| sqlx::query(
                "UPDATE workorders SET body = $1, strokes = $2 WHERE id = $3"
            )
            .bind(value.to_string())
            .bind(serde_json::to_string(&drawing)?)
            .bind(&id)
            .execute(ex)
            .await
            .map(|done| done.rows_affected()))?;
        }
    }
    let events: Vec<(i64, String)> = crate::on!(tx, |ex| {
        sqlx::query_as(
        "SELECT seq, data FROM events WHERE name = 'workorder:updated' AND data LIKE '%signatureSvg%'",
    )
    .fetch_all(ex)
    .await
    })?;
    for (seq, data) in events {
        let mut value: Value = serde_json::from_str(&data)?;
        if rewrite(&mut value, "/workOrder/signature", &format!("event {seq}")).is_some() {
            crate::on!(tx, |ex| sqlx::query(
                "UPDATE events SET data = $1 WHERE seq = $2"
            )
            .bind(value.to_string())
            .bind(seq)
            .execute(ex)
            .await
            .map(|done| done.rows_affected()))?;
        }
    }
    crate::on!(tx, |ex| sqlx::query(
        "INSERT INTO meta (key, value) VALUES ($1, 'true')"
    )
    .bind(DONE)
    .execute(ex)
    .await
    .map(|done| done.rows_affected()))?;
    tx.commit().await?;
    Ok(())
}
