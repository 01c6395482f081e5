//! The kiosk exit PIN: a locked kiosk (full screen, no window controls) is
//! left only with it, checked here so that one PIN, set by a manager, holds
//! for every kiosk of the café.
//!
//! It is kept as cell PINs are (`pins`): 4 to 8 digits, stored only as an
//! argon2id hash, in `meta` and never in `settings` (which every kiosk
//! reads), never in an event, a log line or an error. Wrong ones share one
//! budget for the whole hub, as one cell's: five within ten minutes, then
//! every attempt is refused (`429`, `Retry-After`) until the oldest is ten
//! minutes old; a right one gives its place back. With no PIN set the way
//! out is open: a fresh install must not trap its owner.

use countertop_protocol::{KioskExitPin, KioskExitPinState};

use crate::pins::{self, PinError};
use crate::store;
use crate::Hub;

/// The kind of the exit PIN's attempts in the `attempts` table
/// (PostgreSQL), and its one key: the budget is the hub's.
const KIND: &str = "kiosk_exit";
const KEY: &str = "hub";

/// Whether the hub has a kiosk exit PIN.
pub(crate) async fn state(hub: &Hub) -> Result<KioskExitPinState, PinError> {
    let mut conn = hub.pool().acquire().await?;
    let is_set = store::kiosk::exit_pin_hash(&mut conn).await?.is_some();
    Ok(KioskExitPinState { is_set })
}

/// Sets (or replaces) the exit PIN; the count of wrong ones starts again.
pub(crate) async fn set(hub: &Hub, pin: KioskExitPin) -> Result<KioskExitPinState, PinError> {
    let hashed = pins::hash(&pin.pin).await?;
    store_hash(hub, Some(&hashed)).await
}

/// Removes the exit PIN: kiosks may be left freely again.
pub(crate) async fn remove(hub: &Hub) -> Result<KioskExitPinState, PinError> {
    store_hash(hub, None).await
}

async fn store_hash(hub: &Hub, hashed: Option<&str>) -> Result<KioskExitPinState, PinError> {
    {
        let mut conn = hub.pool().acquire().await?;
        store::kiosk::set_exit_pin_hash(&mut conn, hashed).await?;
    }
    pins::forget_in(hub, &hub.kiosk_exit, KIND, KEY).await;
    tracing::info!(has_pin = hashed.is_some(), "the kiosk exit PIN changed");
    Ok(KioskExitPinState {
        is_set: hashed.is_some(),
    })
}

/// Checks `pin` for device `device` leaving a kiosk: `Ok` when it is the
/// exit PIN, or when none is set.
pub(crate) async fn check(hub: &Hub, device: &str, pin: KioskExitPin) -> Result<(), PinError> {
    let stored = {
        let mut conn = hub.pool().acquire().await?;
        store::kiosk::exit_pin_hash(&mut conn).await?
    };
    let Some(stored) = stored else {
        tracing::info!(device, "a kiosk was left (no exit PIN is set)");
        return Ok(());
    };
    pins::well_formed(&pin.pin)?;
    let ticket = pins::begin_in(hub, &hub.kiosk_exit, KIND, KEY).await?;
    if pins::matches(&pin.pin, stored).await? {
        pins::succeeded_in(hub, &hub.kiosk_exit, ticket).await;
        tracing::info!(device, "a kiosk was left with the exit PIN");
        Ok(())
    } else {
        tracing::warn!(device, "a wrong kiosk exit PIN");
        Err(PinError::Wrong)
    }
}
