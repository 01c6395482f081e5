//! A manager's direct calls to the hub (menu and its photos, settings,
//! cells, devices, workorders, notices): they answer now or fail with a
//! reason.

use base64::Engine;
use countertop_client::admin::MAX_PHOTO_UPLOAD_BYTES;
use countertop_client::HubApi;
use countertop_protocol::{
    MenuPatch, NewMenuItem, NewNotification, NewWorkorder, OptionChoice, OptionGroup, WorkorderLine,
};
use tauri::{State, WebviewWindow};

use crate::ipc::{
    CellEntry, DeviceEntry, IpcError, IpcErrorCode, MenuEntry, MenuPatchInput, NewMenuInput,
    NewWorkorderInput, NoticeLevel, OptionGroupEntry, PairingCodeView, RoleName, WorkorderEntry,
};
use crate::station::{RunningDevice, Station};

/// An amount of money from the UI, in the currency's minor unit.
fn minor_units(what: &str, amount: f64) -> Result<i64, IpcError> {
    if !amount.is_finite() || amount.fract() != 0.0 || amount.abs() > 1e12 {
        return Err(IpcError::new(
            IpcErrorCode::Validation,
            format!("{what} must be a whole number of the currency's smallest unit"),
        ));
    }
    Ok(amount as i64)
}

/// The calling window's device and its direct hub calls.
fn api_of(window: &WebviewWindow, station: &Station) -> Result<(RunningDevice, HubApi), IpcError> {
    let device = station.device_for(window.label())?;
    let api = device.handle.api()?.clone();
    Ok((device, api))
}

/// Changes one of the café's settings (manager).
#[tauri::command]
#[specta::specta]
pub async fn put_setting(
    window: WebviewWindow,
    station: State<'_, Station>,
    key: String,
    value: String,
) -> Result<(), IpcError> {
    let (_, api) = api_of(&window, &station)?;
    api.put_setting(&key, &value).await?;
    Ok(())
}

/// Adds an item to the menu (manager).
#[tauri::command]
#[specta::specta]
pub async fn add_menu_item(
    window: WebviewWindow,
    station: State<'_, Station>,
    item: NewMenuInput,
) -> Result<MenuEntry, IpcError> {
    let (_, api) = api_of(&window, &station)?;
    let new = NewMenuItem {
        name: item.name.trim().to_owned(),
        category: item.category.trim().to_owned(),
        price: minor_units("the price", item.price)?,
        is_sold_out: false,
        stock: item
            .stock
            .map(|s| minor_units("the stock", s))
            .transpose()?,
        option_groups: Vec::new(),
        station: None,
        names: Default::default(),
    };
    Ok(MenuEntry::new(api.add_menu_item(&new).await?))
}

/// Changes a menu item: name, category, price, stock, sold-out mark, option
/// groups, station, names by language, place in the menu (manager).
#[tauri::command]
#[specta::specta]
pub async fn update_menu_item(
    window: WebviewWindow,
    station: State<'_, Station>,
    menu_id: String,
    patch: MenuPatchInput,
) -> Result<MenuEntry, IpcError> {
    let (_, api) = api_of(&window, &station)?;
    let stock = if patch.clear_stock {
        Some(None)
    } else {
        patch
            .stock
            .map(|s| minor_units("the stock", s).map(Some))
            .transpose()?
    };
    let change = MenuPatch {
        name: patch.name.map(|n| n.trim().to_owned()),
        category: patch.category.map(|c| c.trim().to_owned()),
        price: patch
            .price
            .map(|p| minor_units("the price", p))
            .transpose()?,
        is_sold_out: patch.is_sold_out,
        stock,
        option_groups: patch.option_groups.map(option_groups).transpose()?,
        station: patch.station.map(|s| s.trim().to_lowercase()),
        names: patch.names.map(|names| {
            names
                .into_iter()
                .map(|(lang, name)| (lang, name.trim().to_owned()))
                .filter(|(_, name)| !name.is_empty())
                .collect()
        }),
        position: patch
            .position
            .map(|p| minor_units("the position", p))
            .transpose()?,
    };
    Ok(MenuEntry::new(
        api.update_menu_item(&menu_id, &change).await?,
    ))
}

/// Option groups from the editor, their names trimmed and each price
/// delta a whole amount; the hub checks the rest.
fn option_groups(groups: Vec<OptionGroupEntry>) -> Result<Vec<OptionGroup>, IpcError> {
    groups
        .into_iter()
        .map(|g| {
            Ok(OptionGroup {
                id: g.id,
                name: g.name.trim().to_owned(),
                names: g.names,
                required: g.required,
                min: g.min,
                max: g.max,
                choices: g
                    .choices
                    .into_iter()
                    .map(|c| {
                        Ok(OptionChoice {
                            price_delta: minor_units("a choice's price", c.price_delta)?,
                            id: c.id,
                            name: c.name.trim().to_owned(),
                            names: c.names,
                            is_sold_out: c.is_sold_out,
                        })
                    })
                    .collect::<Result<_, IpcError>>()?,
            })
        })
        .collect()
}

/// Deletes a menu item, its photo with it (manager).
#[tauri::command]
#[specta::specta]
pub async fn delete_menu_item(
    window: WebviewWindow,
    station: State<'_, Station>,
    menu_id: String,
) -> Result<(), IpcError> {
    let (_, api) = api_of(&window, &station)?;
    api.delete_menu_item(&menu_id).await?;
    Ok(())
}

/// Marks one choice (say ICE of Temperature) sold out, or back, on item
/// `menuId`, or with `menuId` null on every item that offers it: one tap
/// when the ice machine is down (manager). Returns the items changed.
#[tauri::command]
#[specta::specta]
pub async fn set_choice_sold_out(
    window: WebviewWindow,
    station: State<'_, Station>,
    menu_id: Option<String>,
    group_id: String,
    choice_id: String,
    sold_out: bool,
) -> Result<Vec<MenuEntry>, IpcError> {
    let (device, api) = api_of(&window, &station)?;
    let items: Vec<_> = device
        .handle
        .cache()
        .menu()?
        .into_iter()
        .filter(|m| menu_id.as_ref().is_none_or(|id| *id == m.id))
        .collect();
    Ok(api
        .set_choice_sold_out(&items, &group_id, &choice_id, sold_out)
        .await?
        .into_iter()
        .map(MenuEntry::new)
        .collect())
}

/// The longest base64 text of a picture the hub takes.
const MAX_PICTURE_BASE64: usize = MAX_PHOTO_UPLOAD_BYTES.div_ceil(3) * 4;

/// Uploads an item's photo: `picture` is the file's bytes in base64, a
/// JPEG, PNG or WebP of at most 8 MiB, known by its bytes (manager).
#[tauri::command]
#[specta::specta]
pub async fn set_menu_photo(
    window: WebviewWindow,
    station: State<'_, Station>,
    menu_id: String,
    picture: String,
) -> Result<MenuEntry, IpcError> {
    let (_, api) = api_of(&window, &station)?;
    let too_large = || {
        IpcError::new(
            IpcErrorCode::Validation,
            format!(
                "a photo is at most {} MiB",
                MAX_PHOTO_UPLOAD_BYTES / (1024 * 1024)
            ),
        )
    };
    if picture.len() > MAX_PICTURE_BASE64 {
        return Err(too_large());
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(picture.as_bytes())
        .map_err(|_| IpcError::new(IpcErrorCode::Validation, "the picture did not arrive whole"))?;
    if bytes.len() > MAX_PHOTO_UPLOAD_BYTES {
        return Err(too_large());
    }
    Ok(MenuEntry::new(api.set_menu_photo(&menu_id, bytes).await?))
}

/// Removes an item's photo (manager).
#[tauri::command]
#[specta::specta]
pub async fn remove_menu_photo(
    window: WebviewWindow,
    station: State<'_, Station>,
    menu_id: String,
) -> Result<MenuEntry, IpcError> {
    let (_, api) = api_of(&window, &station)?;
    Ok(MenuEntry::new(api.remove_menu_photo(&menu_id).await?))
}

/// Opens a new cell (group account) with no points (manager).
#[tauri::command]
#[specta::specta]
pub async fn add_cell(
    window: WebviewWindow,
    station: State<'_, Station>,
    name: String,
) -> Result<CellEntry, IpcError> {
    let (_, api) = api_of(&window, &station)?;
    Ok(api.add_cell(name.trim()).await?.into())
}

/// Adds points to a cell (manager).
#[tauri::command]
#[specta::specta]
pub async fn charge_cell(
    window: WebviewWindow,
    station: State<'_, Station>,
    cell_id: String,
    amount: f64,
) -> Result<CellEntry, IpcError> {
    let (_, api) = api_of(&window, &station)?;
    let amount = minor_units("the amount", amount)?;
    Ok(api.charge_cell(&cell_id, amount).await?.into())
}

/// The devices paired with the hub (manager).
#[tauri::command]
#[specta::specta]
pub async fn devices(
    window: WebviewWindow,
    station: State<'_, Station>,
) -> Result<Vec<DeviceEntry>, IpcError> {
    let (device, api) = api_of(&window, &station)?;
    let this = device
        .handle
        .cache()
        .device()?
        .map(|d| d.device_id)
        .unwrap_or_default();
    Ok(api
        .devices()
        .await?
        .into_iter()
        .map(|d| DeviceEntry::new(d, &this))
        .collect())
}

/// Revokes a device: its token stops working at once (manager).
#[tauri::command]
#[specta::specta]
pub async fn revoke_device(
    window: WebviewWindow,
    station: State<'_, Station>,
    device_id: String,
) -> Result<(), IpcError> {
    let (_, api) = api_of(&window, &station)?;
    api.revoke_device(&device_id).await?;
    Ok(())
}

/// Rotates the hub's signing secret (manager): every device refreshes its
/// token and carries on; answers how many open connections were closed.
#[tauri::command]
#[specta::specta]
pub async fn rotate_secret(
    window: WebviewWindow,
    station: State<'_, Station>,
) -> Result<u32, IpcError> {
    let (_, api) = api_of(&window, &station)?;
    let rotated = api.rotate_secret().await?;
    Ok(u32::try_from(rotated.closed_connections).unwrap_or(u32::MAX))
}

/// A six-digit pairing code for a new device (manager).
#[tauri::command]
#[specta::specta]
pub async fn create_pairing_code(
    window: WebviewWindow,
    station: State<'_, Station>,
    role: RoleName,
    name: String,
) -> Result<PairingCodeView, IpcError> {
    let (device, api) = api_of(&window, &station)?;
    let code = api.create_pairing_code(role.into(), name.trim()).await?;
    let join = super::hub::join_view(&station, &device, &code.code);
    Ok(PairingCodeView::new(code, role, name.trim().to_owned()).with_join(join))
}

/// Creates a workorder (manager).
#[tauri::command]
#[specta::specta]
pub async fn create_workorder(
    window: WebviewWindow,
    station: State<'_, Station>,
    input: NewWorkorderInput,
) -> Result<WorkorderEntry, IpcError> {
    let (_, api) = api_of(&window, &station)?;
    let lines = input
        .lines
        .into_iter()
        .map(|l| {
            Ok(WorkorderLine {
                description: l.description.trim().to_owned(),
                amount: minor_units("a line's amount", l.amount)?,
            })
        })
        .collect::<Result<Vec<_>, IpcError>>()?;
    let new = NewWorkorder {
        title: input.title.trim().to_owned(),
        customer_name: input.customer_name.trim().to_owned(),
        lines,
        column: None,
    };
    Ok(api.create_workorder(&new).await?.into())
}

/// Moves a workorder to another column of the board (manager).
#[tauri::command]
#[specta::specta]
pub async fn move_workorder(
    window: WebviewWindow,
    station: State<'_, Station>,
    workorder_id: String,
    column: String,
) -> Result<WorkorderEntry, IpcError> {
    let (_, api) = api_of(&window, &station)?;
    Ok(api.move_workorder(&workorder_id, &column).await?.into())
}

/// Shows a workorder on a signature display for the customer to sign (manager).
#[tauri::command]
#[specta::specta]
pub async fn present_workorder(
    window: WebviewWindow,
    station: State<'_, Station>,
    workorder_id: String,
    device_id: String,
) -> Result<WorkorderEntry, IpcError> {
    let (_, api) = api_of(&window, &station)?;
    Ok(api
        .present_workorder(&workorder_id, &device_id)
        .await?
        .into())
}

/// Starts a work session on a workorder (manager).
#[tauri::command]
#[specta::specta]
pub async fn start_work_session(
    window: WebviewWindow,
    station: State<'_, Station>,
    workorder_id: String,
) -> Result<WorkorderEntry, IpcError> {
    let (_, api) = api_of(&window, &station)?;
    Ok(api.start_work_session(&workorder_id).await?.into())
}

/// Stops a work session; `done` also finishes the workorder (manager).
#[tauri::command]
#[specta::specta]
pub async fn stop_work_session(
    window: WebviewWindow,
    station: State<'_, Station>,
    workorder_id: String,
    session_id: String,
    done: bool,
) -> Result<WorkorderEntry, IpcError> {
    let (_, api) = api_of(&window, &station)?;
    Ok(api
        .stop_work_session(&workorder_id, &session_id, done)
        .await?
        .into())
}

/// Sends a notice (`system:notification`) to every manager (manager).
#[tauri::command]
#[specta::specta]
pub async fn send_notice(
    window: WebviewWindow,
    station: State<'_, Station>,
    level: NoticeLevel,
    title: String,
    message: String,
) -> Result<(), IpcError> {
    let (_, api) = api_of(&window, &station)?;
    let notice = NewNotification {
        level: level.into(),
        title: title.trim().to_owned(),
        message: message.trim().to_owned(),
    };
    api.send_notice(&notice).await?;
    Ok(())
}
