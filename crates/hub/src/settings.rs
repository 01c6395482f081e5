//! Settings, the domain: string keys to string values, checked for the
//! keys the hub and the apps read; `is_kiosk_active` switches kiosks.

use countertop_protocol::{Event, Setting, SettingsChanged, Topic, UpdatedBy};

use crate::auth::DeviceRecord;
use crate::input::{Invalid, Refused};
use crate::log::Routing;
use crate::store;
use crate::Hub;

const MAX_VALUE_LEN: usize = 1024;

/// Why a setting could not be written.
pub(crate) type SettingsError = Refused;

/// Checks a key and, for the settings the hub and apps read, its value.
fn validate(key: &str, value: &str) -> Result<(), Invalid> {
    let key_ok = !key.is_empty()
        && key.len() <= 64
        && key
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if !key_ok {
        return Err(Invalid(
            "a setting key is 1 to 64 characters of a-z, 0-9 and _".into(),
        ));
    }
    if value.len() > MAX_VALUE_LEN || value.chars().any(char::is_control) {
        return Err(Invalid(format!(
            "a setting value is at most {MAX_VALUE_LEN} bytes of printable text"
        )));
    }
    use countertop_protocol::SettingKey::*;
    let ok = match countertop_protocol::SettingKey::parse(key) {
        Some(IsKioskActive | OfflineOrdering) => value == "true" || value == "false",
        Some(Currency) => value.len() == 3 && value.bytes().all(|b| b.is_ascii_uppercase()),
        Some(TimerAmberMinutes | TimerRedMinutes) => {
            value.parse::<u32>().is_ok_and(|m| (1..=240).contains(&m))
        }
        Some(KioskIdleSeconds) => value.parse::<u32>().is_ok_and(|s| (15..=600).contains(&s)),
        // "0" to "100", written plainly (no sign, no leading zero).
        Some(ChimeVolume) => value
            .parse::<u8>()
            .is_ok_and(|v| v <= 100 && v.to_string() == value),
        Some(CafeName | Language) | None => true,
    };
    if ok {
        Ok(())
    } else {
        Err(Invalid(format!(
            "\"{value}\" is not a valid value for {key}"
        )))
    }
}

/// Sets `key` to `value` for `device`, announcing who changed it.
pub(crate) async fn put(
    hub: &Hub,
    device: &DeviceRecord,
    key: String,
    value: String,
) -> Result<Setting, SettingsError> {
    validate(&key, &value)?;
    let mut w = hub.log.begin().await?;
    store::settings::put(&mut w.tx, &key, &value).await?;
    let now = hub.clock.now();
    w.emit(
        &Event::SettingsChanged(SettingsChanged {
            key: key.clone(),
            value: value.clone(),
            updated_by: UpdatedBy {
                id: device.id.clone(),
                name: device.name.clone(),
            },
            updated_at: now,
        }),
        Routing::topic(Topic::Settings),
        now,
    )
    .await?;
    w.commit().await?;
    Ok(Setting { key, value })
}
