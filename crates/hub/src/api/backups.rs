//! `GET /api/backups`: what the hub knows of its backups (manager), for
//! the manager's screen to show their age and warn.

use axum::extract::State;
use axum::Json;
use countertop_protocol::{Action, BackupState};

use crate::auth::Caller;
use crate::error::ApiResult;
use crate::Hub;

pub async fn state(State(hub): State<Hub>, caller: Caller) -> ApiResult<Json<BackupState>> {
    caller.require(Action::ReadStats)?;
    Ok(Json(hub.backups.state()))
}
