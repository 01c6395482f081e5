//! Workorders: a manager's board of jobs, presented to a signature display
//! for the customer's approval, then worked in sessions.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use countertop_protocol::Action;
use countertop_protocol::{
    ColumnChange, Event, NewWorkorder, Present, Role, Signature, SignatureSubmission, StopSession,
    WorkSession, Workorder, WorkorderChange, WorkorderStatus, WorkorderUpdated,
};

use super::{amount, load_workorder, load_workorders, text};
use crate::auth::{random_id, Caller};
use crate::error::{ApiJson, ApiResult, AppError};
use crate::log::{Routing, Writer};
use crate::{signature, Hub};

const MAX_LINES: usize = 100;

pub async fn list(State(hub): State<Hub>, caller: Caller) -> ApiResult<Json<Vec<Workorder>>> {
    let device = caller.require(Action::ReadWorkorders)?;
    let own = (device.role == Role::Display).then_some(device.id.as_str());
    let mut conn = hub.pool().acquire().await?;
    Ok(Json(load_workorders(&mut conn, own).await?))
}

async fn load(w: &mut Writer<'_>, id: &str) -> ApiResult<Workorder> {
    load_workorder(&mut w.tx, id)
        .await?
        .ok_or_else(|| AppError::not_found(format!("no workorder \"{id}\"")))
}

/// Stores a workorder and announces it to managers and to the displays in
/// `audience`.
async fn save(
    hub: &Hub,
    mut w: Writer<'_>,
    wo: &mut Workorder,
    change: WorkorderChange,
    mut audience: Vec<String>,
) -> ApiResult<()> {
    let now = hub.clock.now();
    wo.updated_at = now;
    sqlx::query(
        "INSERT INTO workorders (id, body, presented_to, created_ms) VALUES (?, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET body = excluded.body, presented_to = excluded.presented_to",
    )
    .bind(&wo.id)
    .bind(serde_json::to_string(&*wo)?)
    .bind(wo.presented_to.as_deref())
    .bind(wo.created_at.timestamp_millis())
    .execute(&mut *w.tx)
    .await?;
    if let Some(d) = &wo.presented_to {
        if !audience.contains(d) {
            audience.push(d.clone());
        }
    }
    let event = Event::WorkorderUpdated(WorkorderUpdated {
        work_order_id: wo.id.clone(),
        change_type: change,
        work_order: wo.clone(),
    });
    w.emit(&event, Routing::workorder(audience), now).await?;
    w.commit().await?;
    Ok(())
}

pub async fn create(
    State(hub): State<Hub>,
    caller: Caller,
    ApiJson(body): ApiJson<NewWorkorder>,
) -> ApiResult<(StatusCode, Json<Workorder>)> {
    caller.require(Action::CreateWorkorder)?;
    let title = text("title", &body.title, 120)?;
    let customer_name = text("customerName", &body.customer_name, 120)?;
    if body.lines.is_empty() || body.lines.len() > MAX_LINES {
        return Err(AppError::validation(format!(
            "a workorder has 1 to {MAX_LINES} lines"
        )));
    }
    let mut lines = Vec::with_capacity(body.lines.len());
    let mut total: i64 = 0;
    for line in body.lines {
        let description = text("description", &line.description, 200)?;
        let value = amount("amount", line.amount, 0)?;
        total = total
            .checked_add(value)
            .ok_or_else(|| AppError::validation("total overflows"))?;
        lines.push(countertop_protocol::WorkorderLine {
            description,
            amount: value,
        });
    }
    let column = match &body.column {
        Some(c) => text("column", c, 40)?,
        None => "Open".to_owned(),
    };
    let now = hub.clock.now();
    let mut wo = Workorder {
        id: format!("WO-{}", random_id(8).to_uppercase()),
        title,
        customer_name,
        lines,
        total_amount: total,
        status: WorkorderStatus::Open,
        column,
        presented_to: None,
        signature: None,
        sessions: Vec::new(),
        created_at: now,
        updated_at: now,
    };
    let w = hub.log.begin().await?;
    save(&hub, w, &mut wo, WorkorderChange::Created, Vec::new()).await?;
    Ok((StatusCode::CREATED, Json(wo)))
}

pub async fn move_column(
    State(hub): State<Hub>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ColumnChange>,
) -> ApiResult<Json<Workorder>> {
    caller.require(Action::MoveWorkorder)?;
    let column = text("column", &body.column, 40)?;
    let mut w = hub.log.begin().await?;
    let mut wo = load(&mut w, &id).await?;
    wo.column = column;
    save(&hub, w, &mut wo, WorkorderChange::Column, Vec::new()).await?;
    Ok(Json(wo))
}

pub async fn present(
    State(hub): State<Hub>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<Present>,
) -> ApiResult<Json<Workorder>> {
    caller.require(Action::PresentWorkorder)?;
    let device = hub
        .devices
        .get(&body.device_id)
        .ok_or_else(|| AppError::not_found(format!("no device \"{}\"", body.device_id)))?;
    if device.role != Role::Display {
        return Err(AppError::validation(format!(
            "{} is a {} device; workorders are presented to display devices",
            device.name,
            device.role.as_str()
        )));
    }
    let mut w = hub.log.begin().await?;
    let mut wo = load(&mut w, &id).await?;
    if !matches!(
        wo.status,
        WorkorderStatus::Open | WorkorderStatus::AwaitingSignature
    ) {
        return Err(AppError::conflict(
            "invalid_transition",
            format!(
                "a {} workorder cannot be presented for signature",
                wo.status.as_str()
            ),
        ));
    }
    // The display it was shown on before hears that it has gone elsewhere.
    let previous: Vec<String> = wo.presented_to.iter().cloned().collect();
    wo.presented_to = Some(device.id);
    wo.status = WorkorderStatus::AwaitingSignature;
    wo.column = "Awaiting signature".to_owned();
    save(&hub, w, &mut wo, WorkorderChange::Presented, previous).await?;
    Ok(Json(wo))
}

pub async fn start_session(
    State(hub): State<Hub>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<(StatusCode, Json<Workorder>)> {
    caller.require(Action::StartWorkSession)?;
    let mut w = hub.log.begin().await?;
    let mut wo = load(&mut w, &id).await?;
    if !matches!(
        wo.status,
        WorkorderStatus::Approved | WorkorderStatus::InProgress
    ) {
        return Err(AppError::conflict(
            "invalid_transition",
            "work starts on an approved workorder",
        ));
    }
    if wo.sessions.iter().any(|s| s.stopped_at.is_none()) {
        return Err(AppError::conflict(
            "invalid_transition",
            "a work session is already running",
        ));
    }
    wo.sessions.push(WorkSession {
        id: format!("ses-{}", random_id(8)),
        started_at: hub.clock.now(),
        stopped_at: None,
    });
    wo.status = WorkorderStatus::InProgress;
    wo.column = "In progress".to_owned();
    save(&hub, w, &mut wo, WorkorderChange::Session, Vec::new()).await?;
    Ok((StatusCode::CREATED, Json(wo)))
}

pub async fn stop_session(
    State(hub): State<Hub>,
    caller: Caller,
    Path((id, sid)): Path<(String, String)>,
    body: Result<axum::body::Bytes, axum::extract::rejection::BytesRejection>,
) -> ApiResult<Json<Workorder>> {
    caller.require(Action::StopWorkSession)?;
    // A body over the limit answers in the protocol's error shape too.
    let body = body.map_err(|rejection| match rejection.status() {
        _ if crate::error::body_timed_out(&rejection) => AppError::new(
            StatusCode::REQUEST_TIMEOUT,
            "request_timeout",
            "the request body stopped arriving",
        ),
        StatusCode::PAYLOAD_TOO_LARGE => AppError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            "the request body is too large",
        ),
        status => AppError::new(status, "validation", rejection.body_text()),
    })?;
    // The body is optional: none stops the session, `{"done": true}` also
    // finishes the workorder.
    let done = if body.iter().all(u8::is_ascii_whitespace) {
        false
    } else {
        serde_json::from_slice::<StopSession>(&body)
            .map_err(|e| AppError::validation(e.to_string()))?
            .done
    };
    let mut w = hub.log.begin().await?;
    let mut wo = load(&mut w, &id).await?;
    let now = hub.clock.now();
    let session = wo
        .sessions
        .iter_mut()
        .find(|s| s.id == sid)
        .ok_or_else(|| AppError::not_found(format!("no session \"{sid}\"")))?;
    if session.stopped_at.is_some() {
        return Err(AppError::conflict(
            "invalid_transition",
            "that session has already stopped",
        ));
    }
    session.stopped_at = Some(now);
    let change = if done {
        wo.status = WorkorderStatus::Done;
        wo.column = "Done".to_owned();
        WorkorderChange::Status
    } else {
        WorkorderChange::Session
    };
    save(&hub, w, &mut wo, change, Vec::new()).await?;
    Ok(Json(wo))
}

pub async fn sign(
    State(hub): State<Hub>,
    caller: Caller,
    ApiJson(body): ApiJson<SignatureSubmission>,
) -> ApiResult<Json<Workorder>> {
    let device = caller.require(Action::SignWorkorder)?.clone();
    let signer_name = text("signerName", &body.signer_name, 120)?;
    // Only points pass; what is stored and served is the hub's own SVG.
    let drawing = signature::parse(&body.signature_svg).map_err(|e| match e {
        signature::Refused::TooLarge => AppError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            e.to_string(),
        ),
        _ => AppError::validation(e.to_string()),
    })?;
    let mut w = hub.log.begin().await?;
    let mut wo = load(&mut w, &body.work_order_id).await?;
    if wo.presented_to.as_deref() != Some(device.id.as_str()) {
        return Err(AppError::forbidden(
            "this workorder is not presented to this display",
        ));
    }
    if wo.status != WorkorderStatus::AwaitingSignature {
        return Err(AppError::conflict(
            "invalid_transition",
            format!("a {} workorder cannot be signed", wo.status.as_str()),
        ));
    }
    sqlx::query("UPDATE workorders SET strokes = ? WHERE id = ?")
        .bind(serde_json::to_string(&drawing)?)
        .bind(&wo.id)
        .execute(&mut *w.tx)
        .await?;
    wo.signature = Some(Signature {
        signer_name,
        signature_svg: signature::render(&drawing),
        signed_at: hub.clock.now(),
        device_id: device.id,
    });
    wo.status = WorkorderStatus::Approved;
    wo.column = "Approved".to_owned();
    save(&hub, w, &mut wo, WorkorderChange::Signature, Vec::new()).await?;
    Ok(Json(wo))
}

/// Reads every stored signature that a device wrote (before signatures were
/// kept as points) through the allow-list, once: the workorder keeps the
/// strokes and the hub's own SVG, the event log the hub's SVG. A signature
/// that does not pass becomes an empty drawing, with a warning.
pub async fn rewrite_stored_signatures(pool: &sqlx::SqlitePool) -> anyhow::Result<()> {
    use serde_json::Value;
    const DONE: &str = "signatures_rewritten";
    let done: Option<String> = sqlx::query_scalar("SELECT value FROM meta WHERE key = ?")
        .bind(DONE)
        .fetch_optional(pool)
        .await?;
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
    let rows: Vec<(String, String)> =
        sqlx::query_as("SELECT id, body FROM workorders WHERE strokes IS NULL")
            .fetch_all(&mut *tx)
            .await?;
    for (id, body) in rows {
        let mut value: Value = serde_json::from_str(&body)?;
        if let Some(drawing) = rewrite(&mut value, "/signature", &id) {
            sqlx::query("UPDATE workorders SET body = ?, strokes = ? WHERE id = ?")
                .bind(value.to_string())
                .bind(serde_json::to_string(&drawing)?)
                .bind(&id)
                .execute(&mut *tx)
                .await?;
        }
    }
    let events: Vec<(i64, String)> = sqlx::query_as(
        "SELECT seq, data FROM events WHERE name = 'workorder:updated' AND data LIKE '%signatureSvg%'",
    )
    .fetch_all(&mut *tx)
    .await?;
    for (seq, data) in events {
        let mut value: Value = serde_json::from_str(&data)?;
        if rewrite(&mut value, "/workOrder/signature", &format!("event {seq}")).is_some() {
            sqlx::query("UPDATE events SET data = ? WHERE seq = ?")
                .bind(value.to_string())
                .bind(seq)
                .execute(&mut *tx)
                .await?;
        }
    }
    sqlx::query("INSERT INTO meta (key, value) VALUES (?, 'true')")
        .bind(DONE)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}
