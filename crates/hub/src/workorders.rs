//! Workorders, the domain: a manager's board of jobs, presented to a
//! signature display for the customer's approval, then worked in sessions.
//! Each change is stored whole and announced to managers and to the
//! displays concerned.

use countertop_protocol::ErrorCode;
use countertop_protocol::{
    Event, NewWorkorder, Role, Signature, SignatureSubmission, WorkSession, Workorder,
    WorkorderChange, WorkorderStatus, WorkorderUpdated,
};

use crate::auth::{random_id, DeviceRecord};
use crate::error::AppError;
use crate::input::{amount, text, Invalid};
use crate::log::{Routing, Writer};
use crate::store::{self, StoreError};
use crate::{signature, Hub};

const MAX_LINES: usize = 100;

/// Why a workorder could not be created, moved, presented, signed or worked.
#[derive(Debug, thiserror::Error)]
pub(crate) enum WorkorderError {
    #[error("{0}")]
    Invalid(String),
    /// A signature over the size limit.
    #[error("{0}")]
    TooLarge(String),
    #[error("{0}")]
    NotFound(String),
    /// A display signing a workorder not presented to it.
    #[error("this workorder is not presented to this display")]
    NotPresented,
    #[error("{0}")]
    InvalidTransition(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for WorkorderError {
    fn from(err: sqlx::Error) -> WorkorderError {
        WorkorderError::Store(err.into())
    }
}

impl From<Invalid> for WorkorderError {
    fn from(err: Invalid) -> WorkorderError {
        WorkorderError::Invalid(err.0)
    }
}

impl From<WorkorderError> for AppError {
    fn from(err: WorkorderError) -> AppError {
        match err {
            WorkorderError::Invalid(message) => AppError::validation(message),
            WorkorderError::TooLarge(message) => AppError::new(
                axum::http::StatusCode::PAYLOAD_TOO_LARGE,
                ErrorCode::PayloadTooLarge,
                message,
            ),
            WorkorderError::NotFound(message) => AppError::not_found(message),
            WorkorderError::NotPresented => {
                AppError::forbidden("this workorder is not presented to this display")
            }
            WorkorderError::InvalidTransition(message) => {
                AppError::conflict(ErrorCode::InvalidTransition, message)
            }
            WorkorderError::Store(e) => e.into(),
        }
    }
}

async fn load(w: &mut Writer<'_>, id: &str) -> Result<Workorder, WorkorderError> {
    store::workorders::load_workorder(&mut w.tx, id)
        .await?
        .ok_or_else(|| WorkorderError::NotFound(format!("no workorder \"{id}\"")))
}

/// Stores a workorder and announces it to managers and to the displays in
/// `audience`.
async fn save(
    hub: &Hub,
    mut w: Writer<'_>,
    wo: &mut Workorder,
    change: WorkorderChange,
    mut audience: Vec<String>,
) -> Result<(), WorkorderError> {
    let now = hub.clock.now();
    wo.updated_at = now;
    store::workorders::save(&mut w.tx, wo).await?;
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

/// Creates a workorder in its column (`Open` if none is given).
pub(crate) async fn create(hub: &Hub, new: NewWorkorder) -> Result<Workorder, WorkorderError> {
    let title = text("title", &new.title, 120)?;
    let customer_name = text("customerName", &new.customer_name, 120)?;
    if new.lines.is_empty() || new.lines.len() > MAX_LINES {
        return Err(WorkorderError::Invalid(format!(
            "a workorder has 1 to {MAX_LINES} lines"
        )));
    }
    let mut lines = Vec::with_capacity(new.lines.len());
    let mut total: i64 = 0;
    for line in new.lines {
        let description = text("description", &line.description, 200)?;
        let value = amount("amount", line.amount, 0)?;
        total = total
            .checked_add(value)
            .ok_or_else(|| WorkorderError::Invalid("total overflows".into()))?;
        lines.push(countertop_protocol::WorkorderLine {
            description,
            amount: value,
        });
    }
    let column = match &new.column {
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
    save(hub, w, &mut wo, WorkorderChange::Created, Vec::new()).await?;
    Ok(wo)
}

/// Moves workorder `id` to another column of the board.
pub(crate) async fn move_column(
    hub: &Hub,
    id: &str,
    column: &str,
) -> Result<Workorder, WorkorderError> {
    let column = text("column", column, 40)?;
    let mut w = hub.log.begin().await?;
    let mut wo = load(&mut w, id).await?;
    wo.column = column;
    save(hub, w, &mut wo, WorkorderChange::Column, Vec::new()).await?;
    Ok(wo)
}

/// Presents workorder `id` for signature on display `device_id`.
pub(crate) async fn present(
    hub: &Hub,
    id: &str,
    device_id: &str,
) -> Result<Workorder, WorkorderError> {
    let device = hub
        .devices
        .get(device_id)
        .ok_or_else(|| WorkorderError::NotFound(format!("no device \"{device_id}\"")))?;
    if device.role != Role::Display {
        return Err(WorkorderError::Invalid(format!(
            "{} is a {} device; workorders are presented to display devices",
            device.name,
            device.role.as_str()
        )));
    }
    let mut w = hub.log.begin().await?;
    let mut wo = load(&mut w, id).await?;
    if !matches!(
        wo.status,
        WorkorderStatus::Open | WorkorderStatus::AwaitingSignature
    ) {
        return Err(WorkorderError::InvalidTransition(format!(
            "a {} workorder cannot be presented for signature",
            wo.status.as_str()
        )));
    }
    // The display it was shown on before hears that it has gone elsewhere.
    let previous: Vec<String> = wo.presented_to.iter().cloned().collect();
    wo.presented_to = Some(device.id);
    wo.status = WorkorderStatus::AwaitingSignature;
    wo.column = "Awaiting signature".to_owned();
    save(hub, w, &mut wo, WorkorderChange::Presented, previous).await?;
    Ok(wo)
}

/// Starts a work session on an approved workorder.
pub(crate) async fn start_session(hub: &Hub, id: &str) -> Result<Workorder, WorkorderError> {
    let mut w = hub.log.begin().await?;
    let mut wo = load(&mut w, id).await?;
    if !matches!(
        wo.status,
        WorkorderStatus::Approved | WorkorderStatus::InProgress
    ) {
        return Err(WorkorderError::InvalidTransition(
            "work starts on an approved workorder".into(),
        ));
    }
    if wo.sessions.iter().any(|s| s.stopped_at.is_none()) {
        return Err(WorkorderError::InvalidTransition(
            "a work session is already running".into(),
        ));
    }
    wo.sessions.push(WorkSession {
        id: format!("ses-{}", random_id(8)),
        started_at: hub.clock.now(),
        stopped_at: None,
    });
    wo.status = WorkorderStatus::InProgress;
    wo.column = "In progress".to_owned();
    save(hub, w, &mut wo, WorkorderChange::Session, Vec::new()).await?;
    Ok(wo)
}

/// Stops session `sid` of workorder `id`; `done` also finishes the workorder.
pub(crate) async fn stop_session(
    hub: &Hub,
    id: &str,
    sid: &str,
    done: bool,
) -> Result<Workorder, WorkorderError> {
    let mut w = hub.log.begin().await?;
    let mut wo = load(&mut w, id).await?;
    let now = hub.clock.now();
    let session = wo
        .sessions
        .iter_mut()
        .find(|s| s.id == sid)
        .ok_or_else(|| WorkorderError::NotFound(format!("no session \"{sid}\"")))?;
    if session.stopped_at.is_some() {
        return Err(WorkorderError::InvalidTransition(
            "that session has already stopped".into(),
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
    save(hub, w, &mut wo, change, Vec::new()).await?;
    Ok(wo)
}

/// A display signs the workorder presented to it: only the points of the
/// submitted SVG pass, and what is stored and served is the hub's own SVG.
pub(crate) async fn sign(
    hub: &Hub,
    device: DeviceRecord,
    submission: SignatureSubmission,
) -> Result<Workorder, WorkorderError> {
    let signer_name = text("signerName", &submission.signer_name, 120)?;
    let drawing = signature::parse(&submission.signature_svg).map_err(|e| match e {
        signature::Refused::TooLarge => WorkorderError::TooLarge(e.to_string()),
        _ => WorkorderError::Invalid(e.to_string()),
    })?;
    let mut w = hub.log.begin().await?;
    let mut wo = load(&mut w, &submission.work_order_id).await?;
    if wo.presented_to.as_deref() != Some(device.id.as_str()) {
        return Err(WorkorderError::NotPresented);
    }
    if wo.status != WorkorderStatus::AwaitingSignature {
        return Err(WorkorderError::InvalidTransition(format!(
            "a {} workorder cannot be signed",
            wo.status.as_str()
        )));
    }
    store::workorders::set_strokes(&mut w.tx, &wo.id, &drawing).await?;
    wo.signature = Some(Signature {
        signer_name,
        signature_svg: signature::render(&drawing),
        signed_at: hub.clock.now(),
        device_id: device.id,
    });
    wo.status = WorkorderStatus::Approved;
    wo.column = "Approved".to_owned();
    save(hub, w, &mut wo, WorkorderChange::Signature, Vec::new()).await?;
    Ok(wo)
}
