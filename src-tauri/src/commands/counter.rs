//! The flow of service at the counter: the kiosk's orders and the status
//! link it shows for them, a barista's moves and cancels, sold-out marks, the
//! now-serving board, a customer's signature on a display.

use countertop_client::{cart, status_link, Checkout};
use countertop_protocol::{NewOrderItem, Order, OrderStatus, PayType, SignatureSubmission};
use tauri::{AppHandle, State, WebviewWindow};

use crate::ipc::{
    CartLine, CartQuote, CellEntry, IpcError, IpcErrorCode, Pay, PlacedOrder, Serve, StatusQr,
    WaitEstimate,
};
use crate::station::{RunningDevice, Station};
use crate::windows;

/// The kiosk's cart priced with its options, each line checked against the
/// cached menu: what the customer sees as the cart changes.
#[tauri::command]
#[specta::specta]
pub fn quote_cart(
    window: WebviewWindow,
    station: State<'_, Station>,
    lines: Vec<CartLine>,
) -> Result<CartQuote, IpcError> {
    let device = station.device_for(window.label())?;
    let items: Vec<NewOrderItem> = lines.into_iter().map(Into::into).collect();
    Ok(cart::quote(&items, &device.handle.cache().menu()?).into())
}

/// Places an order from the kiosk's cart; returns the outbox key the
/// outcome (`sent` or `refused`) will name, and the order's provisional
/// reference.
#[tauri::command]
#[specta::specta]
pub fn place_order(
    window: WebviewWindow,
    station: State<'_, Station>,
    lines: Vec<CartLine>,
    pay: Pay,
    cell_id: Option<String>,
    cell_pin: Option<String>,
    fulfilment: Serve,
) -> Result<PlacedOrder, IpcError> {
    let device = station.device_for(window.label())?;
    let cache = device.handle.cache();
    let items: Vec<NewOrderItem> = lines.into_iter().map(Into::into).collect();
    // Refuse at once what the hub would refuse, so the customer hears it
    // before the order leaves the kiosk. A team's balance is the hub's to
    // check once its PIN is in.
    let pay = PayType::from(pay);
    let (cell_id, cell_pin) = match pay {
        PayType::Cell => (cell_id, cell_pin),
        _ => (None, None),
    };
    cart::check(
        &items,
        pay,
        cell_id.as_deref(),
        &cache.menu()?,
        &cache.cells()?,
    )?;
    let checkout = Checkout {
        pay_type: pay,
        cell_id,
        cell_pin,
        fulfilment: fulfilment.into(),
    };
    let queued = device.handle.place(items, checkout)?;
    Ok(PlacedOrder {
        key: queued.key,
        reference: queued.reference,
    })
}

/// A team's balance, once the customer has typed its PIN (kiosk). A wrong
/// PIN answers `wrong_pin`; too many wrong ones, `rate_limited`.
#[tauri::command]
#[specta::specta]
pub async fn unlock_cell(
    window: WebviewWindow,
    station: State<'_, Station>,
    cell_id: String,
    pin: String,
) -> Result<CellEntry, IpcError> {
    let device = station.device_for(window.label())?;
    let pin = pin.trim();
    if !countertop_protocol::CellPin::is_well_formed(pin) {
        return Err(IpcError::new(
            IpcErrorCode::WrongPin,
            "a PIN is 4 to 8 digits",
        ));
    }
    let api = device.handle.api()?.clone();
    Ok(api.unlock_cell(&cell_id, pin).await?.into())
}

/// Minutes of making a counter spends on one order, for a customer's
/// estimate of the wait.
const MINUTES_PER_ORDER: u32 = 2;

/// How long order `daily_num` will take, about: the open orders ahead of it
/// on the board, and its own.
#[tauri::command]
#[specta::specta]
pub fn wait_estimate(
    window: WebviewWindow,
    station: State<'_, Station>,
    daily_num: u32,
) -> Result<WaitEstimate, IpcError> {
    let device = station.device_for(window.label())?;
    let ahead = device.handle.cache().orders_ahead(daily_num)?;
    Ok(WaitEstimate {
        ahead,
        minutes: (ahead + 1) * MINUTES_PER_ORDER,
    })
}

/// The kiosk's confirmation: the hub's status page of order `daily_num` for a
/// customer's phone, and its QR code; none when no phone could reach the hub
/// (a hub hosted here with no LAN address, or one on this machine's loopback).
#[tauri::command]
#[specta::specta]
pub fn status_qr(
    window: WebviewWindow,
    station: State<'_, Station>,
    daily_num: u32,
) -> Result<Option<StatusQr>, IpcError> {
    let device = station.device_for(window.label())?;
    // A hub hosted here listens on every interface; the devices use 127.0.0.1.
    let hosted = station.hub_url().as_deref() == Some(device.hub.as_str());
    let addresses = if hosted {
        status_link::machine_addresses()
    } else {
        Vec::new()
    };
    Ok(status_link::status_link(&device.hub, hosted, &addresses, daily_num).map(StatusQr::from))
}

/// The calling window's device and order `order_id` as its cache has it.
fn cached_order(
    window: &WebviewWindow,
    station: &Station,
    order_id: &str,
) -> Result<(RunningDevice, Order), IpcError> {
    let device = station.device_for(window.label())?;
    let order = device
        .handle
        .cache()
        .order(order_id)?
        .ok_or_else(|| IpcError::new(IpcErrorCode::Other, "no such order"))?;
    Ok((device, order))
}

/// Moves an order one step on: PENDING → MAKING → READY → COMPLETED, from
/// the status it has on this screen (the hub refuses the move if another
/// station moved the order meanwhile).
#[tauri::command]
#[specta::specta]
pub fn advance_order(
    window: WebviewWindow,
    station: State<'_, Station>,
    order_id: String,
) -> Result<(), IpcError> {
    let (device, order) = cached_order(&window, &station, &order_id)?;
    let next = order
        .status
        .next()
        .ok_or_else(|| IpcError::new(IpcErrorCode::Other, "this order cannot move on any more"))?;
    device.handle.change_status(&order_id, order.status, next)?;
    Ok(())
}

/// Takes an order one step back (recall): READY → MAKING, or COMPLETED →
/// READY within 30 minutes of its completion. Its timer keeps the time it
/// was placed.
#[tauri::command]
#[specta::specta]
pub fn recall_order(
    window: WebviewWindow,
    station: State<'_, Station>,
    order_id: String,
) -> Result<(), IpcError> {
    let (device, order) = cached_order(&window, &station, &order_id)?;
    let back = match order.status {
        OrderStatus::Ready => OrderStatus::Making,
        OrderStatus::Completed => OrderStatus::Ready,
        other => {
            return Err(IpcError::new(
                IpcErrorCode::Validation,
                format!("a {} order cannot be recalled", other.as_str()),
            ))
        }
    };
    device.handle.change_status(&order_id, order.status, back)?;
    Ok(())
}

/// Marks lines `lines` (indexes into the order's items) of an order done
/// or undone: a station bumping what it made. The order turns READY when
/// its last line is done.
#[tauri::command]
#[specta::specta]
pub fn mark_items(
    window: WebviewWindow,
    station: State<'_, Station>,
    order_id: String,
    lines: Vec<u32>,
    done: bool,
) -> Result<(), IpcError> {
    let (device, order) = cached_order(&window, &station, &order_id)?;
    if lines.is_empty() || lines.iter().any(|&i| i as usize >= order.items.len()) {
        return Err(IpcError::new(
            IpcErrorCode::Validation,
            "those lines are not this order's",
        ));
    }
    device.handle.mark_items(&order_id, lines, done)?;
    Ok(())
}

/// Chooses the stations this board shows (empty: all, the expo view);
/// answers the choice as kept.
#[tauri::command]
#[specta::specta]
pub fn set_board_stations(
    window: WebviewWindow,
    station: State<'_, Station>,
    stations: Vec<String>,
) -> Result<Vec<String>, IpcError> {
    let device = station.device_for(window.label())?;
    crate::stations::choose(device.handle.cache(), stations)
}

/// Cancels an open order, saying why.
#[tauri::command]
#[specta::specta]
pub fn cancel_order(
    window: WebviewWindow,
    station: State<'_, Station>,
    order_id: String,
    reason: String,
) -> Result<(), IpcError> {
    let device = station.device_for(window.label())?;
    if reason.trim().is_empty() {
        return Err(IpcError::new(
            IpcErrorCode::Validation,
            "say why the order is cancelled",
        ));
    }
    device.handle.cancel(&order_id, reason.trim())?;
    Ok(())
}

/// Marks a menu item sold out (or back in stock).
#[tauri::command]
#[specta::specta]
pub async fn set_sold_out(
    window: WebviewWindow,
    station: State<'_, Station>,
    menu_id: String,
    sold_out: bool,
) -> Result<(), IpcError> {
    let device = station.device_for(window.label())?;
    device
        .handle
        .api()?
        .set_sold_out(&menu_id, sold_out)
        .await?;
    Ok(())
}

/// Opens the "now serving" board in a window of its own.
#[tauri::command]
#[specta::specta]
pub fn open_board(app: AppHandle, station: State<'_, Station>) -> Result<(), IpcError> {
    let device = station.order_reader().ok_or_else(|| {
        IpcError::new(
            IpcErrorCode::Forbidden,
            "only a barista or manager station can show the board",
        )
    })?;
    windows::open_board(&app, &station, &device)
        .map_err(|e| IpcError::new(IpcErrorCode::Other, e.to_string()))
}

/// Largest signature the hub takes (plain SVG).
const SIGNATURE_MAX_BYTES: usize = 200 * 1024;

/// Queues a customer's signature for a workorder (display); returns the
/// outbox key its outcome (`sent` or `refused`) will name. Queued, so an
/// outage loses nothing.
#[tauri::command]
#[specta::specta]
pub fn sign_workorder(
    window: WebviewWindow,
    station: State<'_, Station>,
    workorder_id: String,
    signer_name: String,
    signature_svg: String,
) -> Result<String, IpcError> {
    let device = station.device_for(window.label())?;
    if signer_name.trim().is_empty() {
        return Err(IpcError::new(
            IpcErrorCode::Validation,
            "write your name to sign",
        ));
    }
    if signature_svg.len() > SIGNATURE_MAX_BYTES {
        return Err(IpcError::new(
            IpcErrorCode::Validation,
            "the signature is too large: clear it and sign again",
        ));
    }
    let submission = SignatureSubmission {
        work_order_id: workorder_id,
        signer_name: signer_name.trim().to_owned(),
        signature_svg,
    };
    Ok(device.handle.sign(submission)?)
}
