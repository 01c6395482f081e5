//! Calls that need the hub's answer at once and make no sense offline:
//! managing the menu (its photos, a choice sold out on every item that
//! offers it), settings, cells, devices and workorders, and marking items
//! sold out. Unlike the outbox, nothing here is queued: a failure is
//! returned to the person who asked, who can try again.
//!
//! Each call checks the device's role first, so a kiosk asking to revoke a
//! device hears "not allowed" without a round trip.

use countertop_protocol::Action;
use countertop_protocol::{
    BackupState, Cell, CellCorrection, CellLedgerEntry, CellPin, Charge, ColumnChange,
    DailyReportDetail, Device, Health, MenuItem, MenuPatch, NewCell, NewMenuItem, NewNotification,
    NewWorkorder, PairingCode, PairingCodeRequest, Present, Role, SecretRotated, Setting,
    SettingValue, StopSession, Workorder,
};
use countertop_protocol::{KioskExitPin, KioskExitPinState};
use reqwest::Method;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::{ClientError, LinkError};
use crate::link::HttpHub;

/// Direct REST calls with this device's token.
#[derive(Clone, Debug)]
pub struct HubApi {
    link: HttpHub,
    role: Role,
}

impl HubApi {
    pub fn new(link: HttpHub, role: Role) -> HubApi {
        HubApi { link, role }
    }

    fn allow(&self, action: Action) -> Result<(), ClientError> {
        ClientError::unless_role(self.role, action)
    }

    async fn send<B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
    ) -> Result<T, ClientError> {
        let value = self.link.call(method, path, body).await?;
        serde_json::from_value(value)
            .map_err(|e| LinkError::Protocol(format!("{path}: {e}")).into())
    }

    /// `PATCH /api/menu/{id}` with `isSoldOut` (barista, manager).
    pub async fn set_sold_out(
        &self,
        menu_id: &str,
        sold_out: bool,
    ) -> Result<MenuItem, ClientError> {
        self.allow(Action::SetSoldOut)?;
        let patch = MenuPatch {
            is_sold_out: Some(sold_out),
            ..MenuPatch::default()
        };
        self.update_menu_item_unchecked(menu_id, &patch).await
    }

    /// `PATCH /api/menu/{id}` (manager).
    pub async fn update_menu_item(
        &self,
        menu_id: &str,
        patch: &MenuPatch,
    ) -> Result<MenuItem, ClientError> {
        self.allow(Action::EditMenu)?;
        self.update_menu_item_unchecked(menu_id, patch).await
    }

    async fn update_menu_item_unchecked(
        &self,
        menu_id: &str,
        patch: &MenuPatch,
    ) -> Result<MenuItem, ClientError> {
        let path = format!("/api/menu/{}", segment(menu_id)?);
        self.send(Method::PATCH, &path, Some(patch)).await
    }

    /// `POST /api/menu` (manager).
    pub async fn add_menu_item(&self, item: &NewMenuItem) -> Result<MenuItem, ClientError> {
        self.allow(Action::EditMenu)?;
        self.send(Method::POST, "/api/menu", Some(item)).await
    }

    /// `DELETE /api/menu/{id}` (manager).
    pub async fn delete_menu_item(&self, menu_id: &str) -> Result<(), ClientError> {
        self.allow(Action::DeleteMenuItem)?;
        let path = format!("/api/menu/{}", segment(menu_id)?);
        self.link.call::<()>(Method::DELETE, &path, None).await?;
        Ok(())
    }

    /// Marks one choice (ICE of the group `temperature`) sold out, or back,
    /// on each of `items` that offers it, in one `PATCH` of its option
    /// groups each (manager): the ice machine is down for every drink at
    /// once. Returns the items as the hub changed them; items without the
    /// choice, or already so, are left alone.
    pub async fn set_choice_sold_out(
        &self,
        items: &[MenuItem],
        group_id: &str,
        choice_id: &str,
        sold_out: bool,
    ) -> Result<Vec<MenuItem>, ClientError> {
        self.allow(Action::EditMenu)?;
        let mut changed = Vec::new();
        for item in items {
            let Some(groups) = with_choice_sold_out(item, group_id, choice_id, sold_out) else {
                continue;
            };
            let patch = MenuPatch {
                option_groups: Some(groups),
                ..MenuPatch::default()
            };
            changed.push(self.update_menu_item_unchecked(&item.id, &patch).await?);
        }
        Ok(changed)
    }

    /// `PUT /api/menu/{id}/photo` (manager): a JPEG, PNG or WebP picture of
    /// at most [`MAX_PHOTO_UPLOAD_BYTES`], sent with the type its first
    /// bytes show. The hub decodes it and makes its own JPEGs.
    pub async fn set_menu_photo(
        &self,
        menu_id: &str,
        picture: Vec<u8>,
    ) -> Result<MenuItem, ClientError> {
        self.allow(Action::SetMenuPhoto)?;
        let path = format!("/api/menu/{}/photo", segment(menu_id)?);
        if picture.len() > MAX_PHOTO_UPLOAD_BYTES {
            return Err(invalid(format!(
                "a photo is at most {} MiB; this one is {:.1} MiB",
                MAX_PHOTO_UPLOAD_BYTES / (1024 * 1024),
                picture.len() as f64 / (1024.0 * 1024.0)
            )));
        }
        let content_type = picture_type(&picture)
            .ok_or_else(|| invalid("a photo must be a JPEG, PNG or WebP picture".to_owned()))?;
        let value = self
            .link
            .call_bytes(Method::PUT, &path, content_type, picture)
            .await?;
        serde_json::from_value(value)
            .map_err(|e| LinkError::Protocol(format!("{path}: {e}")).into())
    }

    /// `DELETE /api/menu/{id}/photo` (manager).
    pub async fn remove_menu_photo(&self, menu_id: &str) -> Result<MenuItem, ClientError> {
        self.allow(Action::SetMenuPhoto)?;
        let path = format!("/api/menu/{}/photo", segment(menu_id)?);
        self.send::<(), _>(Method::DELETE, &path, None).await
    }

    /// `PUT /api/settings/{key}` (manager).
    pub async fn put_setting(&self, key: &str, value: &str) -> Result<Setting, ClientError> {
        self.allow(Action::ChangeSettings)?;
        let path = format!("/api/settings/{}", segment(key)?);
        let body = SettingValue {
            value: value.to_owned(),
        };
        self.send(Method::PUT, &path, Some(&body)).await
    }

    /// `POST /api/cells` (manager).
    pub async fn add_cell(&self, name: &str) -> Result<Cell, ClientError> {
        self.allow(Action::AddCell)?;
        let body = NewCell {
            name: name.to_owned(),
            balance: 0,
            pin: None,
        };
        self.send(Method::POST, "/api/cells", Some(&body)).await
    }

    /// `POST /api/cells/{id}/unlock` (kiosk, manager): the team with its
    /// balance, once its PIN is right. The PIN goes to the hub and nowhere
    /// else.
    pub async fn unlock_cell(&self, cell_id: &str, pin: &str) -> Result<Cell, ClientError> {
        self.allow(Action::UnlockCell)?;
        let path = format!("/api/cells/{}/unlock", segment(cell_id)?);
        let body = CellPin {
            pin: pin.to_owned(),
        };
        self.send(Method::POST, &path, Some(&body)).await
    }

    /// `GET /api/kiosk/exit-pin` (kiosk, manager): whether the hub has a
    /// kiosk exit PIN.
    pub async fn kiosk_exit_pin(&self) -> Result<KioskExitPinState, ClientError> {
        self.allow(Action::ExitKiosk)?;
        self.send::<(), _>(Method::GET, "/api/kiosk/exit-pin", None)
            .await
    }

    /// `POST /api/kiosk/exit` (kiosk, manager): `Ok` once the hub took the
    /// exit PIN (or has none). The PIN goes to the hub and nowhere else.
    pub async fn exit_kiosk(&self, pin: &str) -> Result<(), ClientError> {
        self.allow(Action::ExitKiosk)?;
        let body = KioskExitPin {
            pin: pin.to_owned(),
        };
        self.link
            .call(Method::POST, "/api/kiosk/exit", Some(&body))
            .await?;
        Ok(())
    }

    /// `PUT /api/kiosk/exit-pin` (manager), or `DELETE` with `None`.
    pub async fn set_kiosk_exit_pin(
        &self,
        pin: Option<&str>,
    ) -> Result<KioskExitPinState, ClientError> {
        self.allow(Action::SetKioskExitPin)?;
        match pin {
            Some(pin) => {
                let body = KioskExitPin {
                    pin: pin.to_owned(),
                };
                self.send(Method::PUT, "/api/kiosk/exit-pin", Some(&body))
                    .await
            }
            None => {
                self.send::<(), _>(Method::DELETE, "/api/kiosk/exit-pin", None)
                    .await
            }
        }
    }

    /// `POST /api/cells/{id}/charge` (manager).
    pub async fn charge_cell(&self, cell_id: &str, amount: i64) -> Result<Cell, ClientError> {
        self.allow(Action::ChargeCell)?;
        let path = format!("/api/cells/{}/charge", segment(cell_id)?);
        self.send(Method::POST, &path, Some(&Charge { amount }))
            .await
    }

    /// `POST /api/cells/{id}/corrections` (manager): a signed change of
    /// the balance with a reason; never below 0.
    pub async fn correct_cell(
        &self,
        cell_id: &str,
        amount: i64,
        reason: &str,
    ) -> Result<Cell, ClientError> {
        self.allow(Action::CorrectCell)?;
        let path = format!("/api/cells/{}/corrections", segment(cell_id)?);
        let body = CellCorrection {
            amount,
            reason: reason.to_owned(),
        };
        self.send(Method::POST, &path, Some(&body)).await
    }

    /// `GET /api/cells/{id}/history?limit=` (manager): newest first.
    pub async fn cell_history(
        &self,
        cell_id: &str,
        limit: u32,
    ) -> Result<Vec<CellLedgerEntry>, ClientError> {
        self.allow(Action::ReadCellHistory)?;
        let path = format!("/api/cells/{}/history?limit={limit}", segment(cell_id)?);
        self.send::<(), _>(Method::GET, &path, None).await
    }

    /// `GET /api/reports/daily/detail?date=` (manager): the local day
    /// `date` (`YYYY-MM-DD`) in full, today's when `None`.
    pub async fn daily_report(&self, date: Option<&str>) -> Result<DailyReportDetail, ClientError> {
        self.allow(Action::ReadReports)?;
        let path = format!("/api/reports/daily/detail{}", date_query(date)?);
        self.send::<(), _>(Method::GET, &path, None).await
    }

    /// `GET /api/reports/daily.csv?date=` (manager): the same day as CSV.
    pub async fn daily_report_csv(&self, date: Option<&str>) -> Result<String, ClientError> {
        self.allow(Action::ReadReports)?;
        let path = format!("/api/reports/daily.csv{}", date_query(date)?);
        Ok(self.link.get_text(&path, MAX_REPORT_CSV_BYTES).await?)
    }

    /// `GET /api/devices` (manager).
    pub async fn devices(&self) -> Result<Vec<Device>, ClientError> {
        self.allow(Action::ListDevices)?;
        self.send::<(), _>(Method::GET, "/api/devices", None).await
    }

    /// `GET /healthz` (anyone): the hub's state and release.
    pub async fn health(&self) -> Result<Health, ClientError> {
        self.send::<(), _>(Method::GET, "/healthz", None).await
    }

    /// `GET /api/backups` (manager): the hub's backups of its database.
    pub async fn backups(&self) -> Result<BackupState, ClientError> {
        self.allow(Action::ReadStats)?;
        self.send::<(), _>(Method::GET, "/api/backups", None).await
    }

    /// `DELETE /api/devices/{id}` (manager).
    pub async fn revoke_device(&self, device_id: &str) -> Result<(), ClientError> {
        self.allow(Action::RevokeDevice)?;
        let path = format!("/api/devices/{}", segment(device_id)?);
        self.link.call::<()>(Method::DELETE, &path, None).await?;
        Ok(())
    }

    /// `POST /api/devices/rotate-secret` (manager): the hub signs with a new
    /// secret; every device, this one too, refreshes its token and carries
    /// on.
    pub async fn rotate_secret(&self) -> Result<SecretRotated, ClientError> {
        self.allow(Action::RotateSecret)?;
        self.send::<(), _>(Method::POST, "/api/devices/rotate-secret", None)
            .await
    }

    /// `POST /api/devices/pairing-codes` (manager).
    pub async fn create_pairing_code(
        &self,
        role: Role,
        name: &str,
    ) -> Result<PairingCode, ClientError> {
        self.allow(Action::MakePairingCode)?;
        let body = PairingCodeRequest {
            role,
            name: Some(name.to_owned()).filter(|n| !n.trim().is_empty()),
        };
        self.send(Method::POST, "/api/devices/pairing-codes", Some(&body))
            .await
    }

    /// `POST /api/workorders` (manager).
    pub async fn create_workorder(&self, new: &NewWorkorder) -> Result<Workorder, ClientError> {
        self.allow(Action::CreateWorkorder)?;
        self.send(Method::POST, "/api/workorders", Some(new)).await
    }

    /// `PATCH /api/workorders/{id}/column` (manager).
    pub async fn move_workorder(&self, id: &str, column: &str) -> Result<Workorder, ClientError> {
        self.allow(Action::MoveWorkorder)?;
        let path = format!("/api/workorders/{}/column", segment(id)?);
        let body = ColumnChange {
            column: column.to_owned(),
        };
        self.send(Method::PATCH, &path, Some(&body)).await
    }

    /// `POST /api/workorders/{id}/present` (manager): show it on a display.
    pub async fn present_workorder(
        &self,
        id: &str,
        device_id: &str,
    ) -> Result<Workorder, ClientError> {
        self.allow(Action::PresentWorkorder)?;
        let path = format!("/api/workorders/{}/present", segment(id)?);
        let body = Present {
            device_id: device_id.to_owned(),
        };
        self.send(Method::POST, &path, Some(&body)).await
    }

    /// `POST /api/workorders/{id}/sessions` (manager): start a work session.
    pub async fn start_work_session(&self, id: &str) -> Result<Workorder, ClientError> {
        self.allow(Action::StartWorkSession)?;
        let path = format!("/api/workorders/{}/sessions", segment(id)?);
        self.send::<(), _>(Method::POST, &path, None).await
    }

    /// `PATCH /api/workorders/{id}/sessions/{sid}` (manager): stop it;
    /// `done` also finishes the workorder.
    pub async fn stop_work_session(
        &self,
        id: &str,
        session_id: &str,
        done: bool,
    ) -> Result<Workorder, ClientError> {
        self.allow(Action::StopWorkSession)?;
        let path = format!(
            "/api/workorders/{}/sessions/{}",
            segment(id)?,
            segment(session_id)?
        );
        self.send(Method::PATCH, &path, Some(&StopSession { done }))
            .await
    }

    /// `POST /api/notifications` (manager): a `system:notification`.
    pub async fn send_notice(&self, notice: &NewNotification) -> Result<(), ClientError> {
        self.allow(Action::SendNotification)?;
        self.link
            .call(Method::POST, "/api/notifications", Some(notice))
            .await?;
        Ok(())
    }
}

/// The largest report CSV read (a day of a busy café is far smaller).
pub const MAX_REPORT_CSV_BYTES: usize = 16 * 1024 * 1024;

/// `?date=YYYY-MM-DD`, or nothing for today; anything else is refused
/// before the round trip.
fn date_query(date: Option<&str>) -> Result<String, ClientError> {
    match date.map(str::trim).filter(|d| !d.is_empty()) {
        None => Ok(String::new()),
        Some(d) if d.len() == 10 && d.bytes().all(|b| b.is_ascii_digit() || b == b'-') => {
            Ok(format!("?date={d}"))
        }
        Some(d) => Err(invalid(format!("{d:?} is not a day as YYYY-MM-DD"))),
    }
}

/// The largest picture the hub takes for a menu photo (its own limit,
/// checked here too so that a large file is refused before it is sent).
pub const MAX_PHOTO_UPLOAD_BYTES: usize = 8 * 1024 * 1024;

/// The content type a picture's first bytes show: JPEG, PNG or WebP.
pub fn picture_type(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some("image/webp")
    } else {
        None
    }
}

/// `item`'s option groups with choice `choice_id` of group `group_id`
/// marked `sold_out`; `None` when it has no such choice or it is so already.
fn with_choice_sold_out(
    item: &MenuItem,
    group_id: &str,
    choice_id: &str,
    sold_out: bool,
) -> Option<Vec<countertop_protocol::OptionGroup>> {
    let mut groups = item.option_groups.clone();
    let choice = groups
        .iter_mut()
        .filter(|g| g.id == group_id)
        .flat_map(|g| g.choices.iter_mut())
        .find(|c| c.id == choice_id)?;
    if choice.is_sold_out == sold_out {
        return None;
    }
    choice.is_sold_out = sold_out;
    Some(groups)
}

/// A refusal before the round trip, in the hub's own shape (`validation`).
fn invalid(message: String) -> ClientError {
    LinkError::Hub {
        status: 422,
        body: countertop_protocol::ErrorBody {
            code: "validation".to_owned(),
            message,
        },
    }
    .into()
}

/// An id as one path segment. Ids come from the hub, but a UI could pass
/// anything: refuse what would change the path rather than escape it.
fn segment(id: &str) -> Result<&str, ClientError> {
    let ok = !id.is_empty()
        && id.len() <= 200
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b));
    if ok && id != "." && id != ".." {
        Ok(id)
    } else {
        Err(invalid(format!("{id:?} is not a valid id")))
    }
}

#[cfg(test)]
mod tests {
    use super::{picture_type, segment, with_choice_sold_out};
    use countertop_protocol::{MenuItem, OptionChoice, OptionGroup};

    #[test]
    fn a_picture_is_known_by_its_first_bytes_not_its_name() {
        assert_eq!(
            picture_type(&[0xFF, 0xD8, 0xFF, 0xE0, 0]),
            Some("image/jpeg")
        );
        assert_eq!(
            picture_type(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"),
            Some("image/png")
        );
        assert_eq!(picture_type(b"RIFF\x10\0\0\0WEBPVP8 "), Some("image/webp"));
        for other in [
            &b"GIF89a"[..],
            b"<svg xmlns",
            b"RIFF\0\0\0\0WAVE",
            b"",
            b"\xFF\xD8",
        ] {
            assert_eq!(picture_type(other), None, "{other:?}");
        }
    }

    fn iced_coffee(ice_sold_out: bool) -> MenuItem {
        let choice = |id: &str, sold_out| OptionChoice {
            id: id.into(),
            name: id.to_uppercase(),
            names: Default::default(),
            price_delta: 0,
            is_sold_out: sold_out,
        };
        serde_json::from_value::<MenuItem>(serde_json::json!({
            "id": "americano", "name": "Americano", "category": "Coffee",
            "price": 4000, "isSoldOut": false
        }))
        .map(|mut item| {
            item.option_groups = vec![OptionGroup {
                id: "temperature".into(),
                name: "Temperature".into(),
                names: Default::default(),
                required: true,
                min: 1,
                max: 1,
                choices: vec![choice("hot", false), choice("ice", ice_sold_out)],
            }];
            item
        })
        .unwrap()
    }

    #[test]
    fn a_choice_sold_out_changes_only_that_choice_and_only_when_it_differs() {
        let groups = with_choice_sold_out(&iced_coffee(false), "temperature", "ice", true).unwrap();
        let sold: Vec<_> = groups[0].choices.iter().map(|c| c.is_sold_out).collect();
        assert_eq!(sold, [false, true]);
        assert!(with_choice_sold_out(&iced_coffee(true), "temperature", "ice", true).is_none());
        assert!(with_choice_sold_out(&iced_coffee(false), "temperature", "warm", true).is_none());
        assert!(with_choice_sold_out(&iced_coffee(false), "size", "ice", true).is_none());
        let back = with_choice_sold_out(&iced_coffee(true), "temperature", "ice", false).unwrap();
        assert!(back[0].choices.iter().all(|c| !c.is_sold_out));
    }

    #[test]
    fn ids_that_would_change_the_path_are_refused() {
        for bad in ["", "..", "a/b", "a?b", "a b", "%2e", "x#y"] {
            assert!(segment(bad).is_err(), "{bad:?} should be refused");
        }
        for good in [
            "americano",
            "WO-1A2B3C4D",
            "ses-abc",
            "cell-design",
            "is_kiosk_active",
        ] {
            assert_eq!(segment(good).unwrap(), good);
        }
    }
}
