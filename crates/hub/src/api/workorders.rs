//! Workorders over REST: list, create, move, present to a display, sign,
//! work sessions, each a call into the `workorders` domain.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use countertop_protocol::Action;
use countertop_protocol::ErrorCode;
use countertop_protocol::{
    ColumnChange, NewWorkorder, Present, Role, SignatureSubmission, StopSession, Workorder,
};

use crate::auth::Caller;
use crate::error::{ApiJson, ApiResult, AppError};
use crate::store::workorders::load_workorders;
use crate::{workorders, Hub};

pub async fn list(State(hub): State<Hub>, caller: Caller) -> ApiResult<Json<Vec<Workorder>>> {
    let device = caller.require(Action::ReadWorkorders)?;
    let own = (device.role == Role::Display).then_some(device.id.as_str());
    let mut conn = hub.pool().acquire().await?;
    Ok(Json(load_workorders(&mut conn, own).await?))
}

pub async fn create(
    State(hub): State<Hub>,
    caller: Caller,
    ApiJson(body): ApiJson<NewWorkorder>,
) -> ApiResult<(StatusCode, Json<Workorder>)> {
    caller.require(Action::CreateWorkorder)?;
    Ok((
        StatusCode::CREATED,
        Json(workorders::create(&hub, body).await?),
    ))
}

pub async fn move_column(
    State(hub): State<Hub>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ColumnChange>,
) -> ApiResult<Json<Workorder>> {
    caller.require(Action::MoveWorkorder)?;
    Ok(Json(
        workorders::move_column(&hub, &id, &body.column).await?,
    ))
}

pub async fn present(
    State(hub): State<Hub>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<Present>,
) -> ApiResult<Json<Workorder>> {
    caller.require(Action::PresentWorkorder)?;
    Ok(Json(workorders::present(&hub, &id, &body.device_id).await?))
}

pub async fn start_session(
    State(hub): State<Hub>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<(StatusCode, Json<Workorder>)> {
    caller.require(Action::StartWorkSession)?;
    Ok((
        StatusCode::CREATED,
        Json(workorders::start_session(&hub, &id).await?),
    ))
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
            ErrorCode::RequestTimeout,
            "the request body stopped arriving",
        ),
        StatusCode::PAYLOAD_TOO_LARGE => AppError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::PayloadTooLarge,
            "the request body is too large",
        ),
        status => AppError::new(status, ErrorCode::Validation, rejection.body_text()),
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
    Ok(Json(workorders::stop_session(&hub, &id, &sid, done).await?))
}

pub async fn sign(
    State(hub): State<Hub>,
    caller: Caller,
    ApiJson(body): ApiJson<SignatureSubmission>,
) -> ApiResult<Json<Workorder>> {
    let device = caller.require(Action::SignWorkorder)?.clone();
    Ok(Json(workorders::sign(&hub, device, body).await?))
}
