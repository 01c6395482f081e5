//! Settings over REST: read by anyone, written by a manager through the
//! `settings` domain.

use axum::extract::{Path, State};
use axum::Json;
use countertop_protocol::Action;
use countertop_protocol::{Setting, SettingValue, Settings};

use crate::auth::Caller;
use crate::error::{ApiJson, ApiResult};
use crate::store::settings::load_settings;
use crate::{settings, Hub};

pub async fn list(State(hub): State<Hub>) -> ApiResult<Json<Settings>> {
    let mut conn = hub.pool().acquire().await?;
    Ok(Json(load_settings(&mut conn).await?))
}

pub async fn put(
    State(hub): State<Hub>,
    caller: Caller,
    Path(key): Path<String>,
    ApiJson(body): ApiJson<SettingValue>,
) -> ApiResult<Json<Setting>> {
    let device = caller.require(Action::ChangeSettings)?;
    Ok(Json(settings::put(&hub, device, key, body.value).await?))
}
