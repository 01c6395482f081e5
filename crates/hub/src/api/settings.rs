//! Settings: string keys to string values; `is_kiosk_active` switches kiosks.

use axum::extract::{Path, State};
use axum::Json;
use countertop_protocol::Action;
use countertop_protocol::{
    Event, Setting, SettingValue, Settings, SettingsChanged, Topic, UpdatedBy,
};

use super::load_settings;
use crate::auth::Caller;
use crate::error::{ApiJson, ApiResult, AppError};
use crate::log::Routing;
use crate::Hub;

const MAX_VALUE_LEN: usize = 1024;

pub async fn list(State(hub): State<Hub>) -> ApiResult<Json<Settings>> {
    let mut conn = hub.pool().acquire().await?;
    Ok(Json(load_settings(&mut conn).await?))
}

/// Checks a key and, for the settings the hub and apps read, its value.
fn validate(key: &str, value: &str) -> Result<(), AppError> {
    let key_ok = !key.is_empty()
        && key.len() <= 64
        && key
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if !key_ok {
        return Err(AppError::validation(
            "a setting key is 1 to 64 characters of a-z, 0-9 and _",
        ));
    }
    if value.len() > MAX_VALUE_LEN || value.chars().any(char::is_control) {
        return Err(AppError::validation(format!(
            "a setting value is at most {MAX_VALUE_LEN} bytes of printable text"
        )));
    }
    let ok = match key {
        "is_kiosk_active" | "offline_ordering" => value == "true" || value == "false",
        "currency" => value.len() == 3 && value.bytes().all(|b| b.is_ascii_uppercase()),
        "timer_amber_minutes" | "timer_red_minutes" => {
            value.parse::<u32>().is_ok_and(|m| (1..=240).contains(&m))
        }
        _ => true,
    };
    if ok {
        Ok(())
    } else {
        Err(AppError::validation(format!(
            "\"{value}\" is not a valid value for {key}"
        )))
    }
}

pub async fn put(
    State(hub): State<Hub>,
    caller: Caller,
    Path(key): Path<String>,
    ApiJson(body): ApiJson<SettingValue>,
) -> ApiResult<Json<Setting>> {
    let device = caller.require(Action::ChangeSettings)?.clone();
    validate(&key, &body.value)?;
    let mut w = hub.log.begin().await?;
    sqlx::query(
        "INSERT INTO settings (key, value) VALUES (?, ?)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    )
    .bind(&key)
    .bind(&body.value)
    .execute(&mut *w.tx)
    .await?;
    let now = hub.clock.now();
    w.emit(
        &Event::SettingsChanged(SettingsChanged {
            key: key.clone(),
            value: body.value.clone(),
            updated_by: UpdatedBy {
                id: device.id,
                name: device.name,
            },
            updated_at: now,
        }),
        Routing::topic(Topic::Settings),
        now,
    )
    .await?;
    w.commit().await?;
    Ok(Json(Setting {
        key,
        value: body.value,
    }))
}
