//! Devices: pairing codes, pairing, token refresh, listing and revoking.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Path, State};
use axum::http::StatusCode;
use axum::Json;
use countertop_protocol::Action;
use countertop_protocol::{Device, PairRequest, Paired, PairingCode, PairingCodeRequest, Role};

use super::{text, ts};
use crate::auth::{
    device_view, random_id, Caller, DeviceRecord, PairingBlocked, PairingTicket, MAX_NAME_LEN,
};
use crate::error::{ApiJson, ApiResult, AppError};
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
    let now = hub.clock.now();
    let updated =
        sqlx::query("UPDATE devices SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL")
            .bind(ts(now))
            .bind(&id)
            .execute(hub.pool())
            .await?
            .rows_affected();
    if updated == 0 || hub.devices.remove(&id).is_none() {
        return Err(AppError::not_found(format!("no paired device \"{id}\"")));
    }
    let closed = hub.registry.revoke(&id);
    tracing::info!(device = %id, closed, "device revoked");
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

pub fn default_name(role: Role) -> String {
    match role {
        Role::Kiosk => "Kiosk",
        Role::Barista => "Barista display",
        Role::Display => "Signature display",
        Role::Manager => "Manager",
    }
    .to_owned()
}

pub async fn pair(
    State(hub): State<Hub>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    ApiJson(body): ApiJson<PairRequest>,
) -> ApiResult<(StatusCode, Json<Paired>)> {
    let ticket = hub.pairing.begin(peer.ip()).map_err(|blocked| match blocked {
        PairingBlocked::Address => {
            AppError::rate_limited("too many wrong pairing codes; wait a minute")
        }
        PairingBlocked::HubWide => AppError::rate_limited(
            "too many wrong pairing codes were tried on this hub; pairing is paused for up to ten minutes and the open codes were cancelled",
        ),
    })?;
    let code = body.code.trim();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(wrong_code(&hub, ticket).await);
    }
    let now = hub.clock.now();
    let mut tx = hub.pool().begin().await?;
    let row: Option<(String, String)> = sqlx::query_as(
        "UPDATE pairing_codes SET used_ms = ? WHERE code = ? AND used_ms IS NULL AND expires_ms >= ?
         RETURNING role, name",
    )
    .bind(now.timestamp_millis())
    .bind(hub.keys.code_hash(code))
    .bind(now.timestamp_millis())
    .fetch_optional(&mut *tx)
    .await?;
    let Some((role, name)) = row else {
        drop(tx);
        return Err(wrong_code(&hub, ticket).await);
    };
    hub.pairing.succeeded(ticket);
    let role = Role::parse(&role)
        .ok_or_else(|| AppError::internal("a pairing code has an unknown role"))?;
    let device = DeviceRecord {
        id: format!("dev_{}", random_id(12)),
        role,
        name,
        paired_at: now,
        last_seen_at: Some(now),
    };
    sqlx::query(
        "INSERT INTO devices (id, role, name, paired_at, last_seen_at) VALUES (?, ?, ?, ?, ?)",
    )
    .bind(&device.id)
    .bind(role.as_str())
    .bind(&device.name)
    .bind(ts(now))
    .bind(ts(now))
    .execute(&mut *tx)
    .await?;
    let paired = hub.mint_token(&device)?;
    tx.commit().await?;
    hub.devices.insert(device);
    tracing::info!(device = %paired.device_id, role = role.as_str(), "device paired");
    Ok((StatusCode::CREATED, Json(paired)))
}

/// A wrong code: it stays counted, and the attempt that used up the
/// hub-wide budget cancels every outstanding code.
async fn wrong_code(hub: &Hub, ticket: PairingTicket) -> AppError {
    hub.metrics
        .pairing_failures
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    if ticket.exhausts_budget {
        match sqlx::query("DELETE FROM pairing_codes WHERE used_ms IS NULL")
            .execute(hub.pool())
            .await
        {
            Ok(done) => tracing::warn!(
                cancelled = done.rows_affected(),
                "too many wrong pairing codes on this hub: every open code was cancelled"
            ),
            Err(e) => tracing::error!(error = %e, "could not cancel the open pairing codes"),
        }
    }
    AppError::unauthorized("unknown, expired or already used pairing code")
}

/// A new token for the calling device; the one it called with stops working.
pub async fn refresh(
    State(hub): State<Hub>,
    caller: Caller,
    parts: axum::http::request::Parts,
) -> ApiResult<Json<Paired>> {
    let device = caller.require(Action::RefreshToken)?;
    let old = crate::auth::bearer_token(&parts)?
        .and_then(|token| hub.keys.verify(&token))
        .ok_or_else(|| AppError::unauthorized("this call needs a device token"))?;
    let paired = hub.mint_token(device)?;
    sqlx::query(
        "INSERT INTO revoked_tokens (jti, expires_ms) VALUES (?, ?) ON CONFLICT DO NOTHING",
    )
    .bind(&old.jti)
    .bind(old.exp.saturating_mul(1000))
    .execute(hub.pool())
    .await?;
    hub.devices.revoke_token(old.jti, old.exp);
    tracing::info!(device = %device.id, "device token refreshed; the old one is revoked");
    Ok(Json(paired))
}
