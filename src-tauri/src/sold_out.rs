//! Sold-out toggles. The client core has no call for `PATCH /api/menu/{id}`
//! yet, so this small adapter makes it with the device's own token; the
//! change comes back to every screen as `menu:sold_out_changed`.

use std::time::Duration;

use countertop_client::TokenVault;
use countertop_protocol::{ErrorResponse, MenuPatch};

use crate::ipc::IpcError;
use crate::station::Device;

pub async fn set(device: &Device, menu_id: &str, sold_out: bool) -> Result<(), IpcError> {
    let vault = TokenVault::for_folder(&device.data_dir);
    let token = tokio::task::spawn_blocking(move || vault.load())
        .await
        .map_err(|e| IpcError::new("token", e.to_string()))?
        .map_err(|e| IpcError::new("token", e.to_string()))?
        .ok_or_else(|| IpcError::new("not_paired", "this device has no token"))?
        .0;
    let patch = MenuPatch {
        is_sold_out: Some(sold_out),
        ..MenuPatch::default()
    };
    let response = reqwest::Client::new()
        .patch(format!(
            "{}/api/menu/{menu_id}",
            device.hub.trim_end_matches('/')
        ))
        .bearer_auth(token.expose())
        .timeout(Duration::from_secs(10))
        .json(&patch)
        .send()
        .await
        .map_err(|e| IpcError::new("network", format!("cannot reach the hub: {e}")))?;
    if response.status().is_success() {
        return Ok(());
    }
    let status = response.status();
    match response.json::<ErrorResponse>().await {
        Ok(body) => Err(IpcError::new(&body.error.code, body.error.message)),
        Err(_) => Err(IpcError::new(
            "network",
            format!("the hub answered {status}"),
        )),
    }
}
