//! `GET /api/snapshot`: what a client loads first and after `resync`, read in
//! one transaction together with the seq it is current as of (`snapshot`).

use axum::extract::State;
use axum::Json;
use countertop_protocol::Snapshot;

use crate::auth::Caller;
use crate::error::ApiResult;
use crate::{snapshot, Hub};

pub async fn get_snapshot(State(hub): State<Hub>, caller: Caller) -> ApiResult<Json<Snapshot>> {
    Ok(Json(
        snapshot::read(&hub, caller.role(), caller.device_id()).await?,
    ))
}
