//! Devices over REST: pairing codes, pairing, token refresh, listing,
//! revoking and rotating the signing secret, each a call into `auth`.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Path, State};
use axum::http::StatusCode;
use axum::Json;
use countertop_protocol::Action;
use countertop_protocol::{
    Device, PairRequest, Paired, PairingCode, PairingCodeRequest, SecretRotated,
};

use crate::auth::{default_name, device_view, Caller, MAX_NAME_LEN};
use crate::error::{ApiJson, ApiResult};
use crate::input::text;
use crate::Hub;

pub async fn list(State(hub): State<Hub>, caller: Caller) -> ApiResult<Json<Vec<Device>>> {
    caller.require(Action::ListDevices)?;
    let connected = hub.registry.connected_devices();
    Ok(Json(
        hub.devices
            .list()
            .iter()
            .map(|d| device_view(d, connected.contains(&d.id)))
            .collect(),
    ))
}

pub async fn revoke(
    State(hub): State<Hub>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    caller.require(Action::RevokeDevice)?;
    hub.revoke_device(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn pairing_code(
    State(hub): State<Hub>,
    caller: Caller,
    ApiJson(body): ApiJson<PairingCodeRequest>,
) -> ApiResult<(StatusCode, Json<PairingCode>)> {
    caller.require(Action::MakePairingCode)?;
    let name = match &body.name {
        Some(n) => text("name", n, MAX_NAME_LEN)?,
        None => default_name(body.role),
    };
    let code = hub.create_pairing_code(body.role, &name).await?;
    Ok((StatusCode::CREATED, Json(code)))
}

pub async fn pair(
    State(hub): State<Hub>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    ApiJson(body): ApiJson<PairRequest>,
) -> ApiResult<(StatusCode, Json<Paired>)> {
    let paired = hub.pair(peer.ip(), &body.code).await?;
    Ok((StatusCode::CREATED, Json(paired)))
}

/// A new token for the calling device; the one it called with stops working.
/// The authentication layer lets this path through unchecked: a token of
/// the previous signing secret is accepted here, and only here
/// (`Hub::refresh_token`).
pub async fn refresh(
    State(hub): State<Hub>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    parts: axum::http::request::Parts,
) -> ApiResult<Json<Paired>> {
    let token = crate::auth::bearer_token(&parts)?;
    Ok(Json(hub.refresh_token(token, peer.ip()).await?))
}

/// Rotates the hub's signing secret (manager): every device refreshes its
/// token through the previous one and comes back.
pub async fn rotate_secret(
    State(hub): State<Hub>,
    caller: Caller,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
) -> ApiResult<Json<SecretRotated>> {
    let manager = caller.require(Action::RotateSecret)?;
    Ok(Json(hub.rotate_secret(manager, peer.ip()).await?))
}
