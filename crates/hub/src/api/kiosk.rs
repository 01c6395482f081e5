//! The kiosk exit PIN over REST (`kiosk_exit`): a kiosk (or a manager)
//! checks it to leave a locked kiosk; a manager sets or removes it.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use countertop_protocol::{Action, KioskExitPin, KioskExitPinState};

use crate::auth::Caller;
use crate::error::{ApiJson, ApiResult};
use crate::kiosk_exit;
use crate::Hub;

/// `POST /api/kiosk/exit` (kiosk, manager): `204` for the right PIN (or
/// when none is set), `403 wrong_pin` for a wrong one.
pub async fn exit(
    State(hub): State<Hub>,
    caller: Caller,
    ApiJson(body): ApiJson<KioskExitPin>,
) -> ApiResult<StatusCode> {
    let device = caller.require(Action::ExitKiosk)?;
    kiosk_exit::check(&hub, &device.id, body).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/kiosk/exit-pin` (kiosk, manager): whether one is set.
pub async fn pin_state(
    State(hub): State<Hub>,
    caller: Caller,
) -> ApiResult<Json<KioskExitPinState>> {
    caller.require(Action::ExitKiosk)?;
    Ok(Json(kiosk_exit::state(&hub).await?))
}

/// `PUT /api/kiosk/exit-pin` (manager).
pub async fn set_pin(
    State(hub): State<Hub>,
    caller: Caller,
    ApiJson(body): ApiJson<KioskExitPin>,
) -> ApiResult<Json<KioskExitPinState>> {
    caller.require(Action::SetKioskExitPin)?;
    Ok(Json(kiosk_exit::set(&hub, body).await?))
}

/// `DELETE /api/kiosk/exit-pin` (manager).
pub async fn remove_pin(
    State(hub): State<Hub>,
    caller: Caller,
) -> ApiResult<Json<KioskExitPinState>> {
    caller.require(Action::SetKioskExitPin)?;
    Ok(Json(kiosk_exit::remove(&hub).await?))
}
