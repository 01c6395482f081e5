//! The role table, once: what each role may do over REST ([`Role::may`]),
//! which topics it reads when it names none ([`Role::default_topics`]) and
//! which it may read at all ([`may_read`]). The hub checks every call and
//! every subscription against it (`Caller::require`, `authorize_topic`); the
//! client core checks it before a round trip (`allow`).

use crate::{Role, Topic};

/// Everything a device may be allowed to do, one variant per kind of call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    PlaceOrder,
    /// A kiosk reads only the orders it placed; the hub filters.
    ReadOrders,
    ChangeOrderStatus,
    CancelOrder,
    SetSoldOut,
    EditMenu,
    /// Delete a menu item (`DELETE /api/menu/{id}`).
    DeleteMenuItem,
    ReadCells,
    AddCell,
    ChargeCell,
    /// Set or remove a cell's PIN.
    SetCellPin,
    /// Read a cell's balance with its PIN (`POST /api/cells/{id}/unlock`).
    UnlockCell,
    /// Upload or remove a menu item's photo.
    SetMenuPhoto,
    ChangeSettings,
    /// A display reads only the workorders presented to it.
    ReadWorkorders,
    CreateWorkorder,
    MoveWorkorder,
    PresentWorkorder,
    StartWorkSession,
    StopWorkSession,
    SignWorkorder,
    SendNotification,
    ListDevices,
    RevokeDevice,
    MakePairingCode,
    RefreshToken,
    /// Rotate the hub's signing secret (`POST /api/devices/rotate-secret`).
    RotateSecret,
    ReadStats,
    /// Read a day's figures (`GET /api/reports/daily`).
    ReadReports,
    /// Read a cell's history (`GET /api/cells/{id}/history`).
    ReadCellHistory,
    /// Correct a cell's balance with a reason.
    CorrectCell,
    /// Check the kiosk exit PIN, to leave a locked kiosk
    /// (`POST /api/kiosk/exit`, `GET /api/kiosk/exit-pin`).
    ExitKiosk,
    /// Set or remove the kiosk exit PIN (`PUT`/`DELETE /api/kiosk/exit-pin`).
    SetKioskExitPin,
}

impl Action {
    pub const ALL: [Action; 33] = [
        Action::PlaceOrder,
        Action::ReadOrders,
        Action::ChangeOrderStatus,
        Action::CancelOrder,
        Action::SetSoldOut,
        Action::EditMenu,
        Action::DeleteMenuItem,
        Action::ReadCells,
        Action::AddCell,
        Action::ChargeCell,
        Action::SetCellPin,
        Action::UnlockCell,
        Action::SetMenuPhoto,
        Action::ChangeSettings,
        Action::ReadWorkorders,
        Action::CreateWorkorder,
        Action::MoveWorkorder,
        Action::PresentWorkorder,
        Action::StartWorkSession,
        Action::StopWorkSession,
        Action::SignWorkorder,
        Action::SendNotification,
        Action::ListDevices,
        Action::RevokeDevice,
        Action::MakePairingCode,
        Action::RefreshToken,
        Action::RotateSecret,
        Action::ReadStats,
        Action::ReadReports,
        Action::ReadCellHistory,
        Action::CorrectCell,
        Action::ExitKiosk,
        Action::SetKioskExitPin,
    ];

    /// The action in words, as in "a kiosk device may not charge cells".
    pub fn describe(self) -> &'static str {
        match self {
            Action::PlaceOrder => "place orders",
            Action::ReadOrders => "read orders",
            Action::ChangeOrderStatus => "change order status",
            Action::CancelOrder => "cancel orders",
            Action::SetSoldOut => "mark items sold out",
            Action::EditMenu => "edit the menu",
            Action::DeleteMenuItem => "delete menu items",
            Action::ReadCells => "read cells",
            Action::AddCell => "add cells",
            Action::ChargeCell => "charge cells",
            Action::SetCellPin => "set cell PINs",
            Action::UnlockCell => "unlock cells with their PIN",
            Action::SetMenuPhoto => "change menu photos",
            Action::ChangeSettings => "change settings",
            Action::ReadWorkorders => "read workorders",
            Action::CreateWorkorder => "create workorders",
            Action::MoveWorkorder => "move workorders",
            Action::PresentWorkorder => "present workorders",
            Action::StartWorkSession => "start work sessions",
            Action::StopWorkSession => "stop work sessions",
            Action::SignWorkorder => "sign workorders",
            Action::SendNotification => "send notifications",
            Action::ListDevices => "list devices",
            Action::RevokeDevice => "revoke devices",
            Action::MakePairingCode => "make pairing codes",
            Action::RefreshToken => "refresh its token",
            Action::RotateSecret => "rotate the hub's signing secret",
            Action::ReadStats => "read connection stats",
            Action::ReadReports => "read reports",
            Action::ReadCellHistory => "read cell histories",
            Action::CorrectCell => "correct cell balances",
            Action::ExitKiosk => "leave a kiosk with the exit PIN",
            Action::SetKioskExitPin => "set the kiosk exit PIN",
        }
    }
}

/// Whether a topic may be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Yes,
    /// Only an order the device placed itself (a kiosk's `order:{id}`).
    OwnOrder,
    No,
}

impl Role {
    /// Whether this role may do `action`.
    pub fn may(self, action: Action) -> bool {
        use Action::*;
        use Role::*;
        match action {
            RefreshToken => true,
            PlaceOrder | UnlockCell | ExitKiosk => matches!(self, Kiosk | Manager),
            ReadOrders | ReadCells => matches!(self, Kiosk | Barista | Manager),
            ChangeOrderStatus | CancelOrder | SetSoldOut => matches!(self, Barista | Manager),
            ReadWorkorders => matches!(self, Display | Manager),
            SignWorkorder => self == Display,
            EditMenu | DeleteMenuItem | AddCell | ChargeCell | SetCellPin | SetMenuPhoto
            | ChangeSettings | CreateWorkorder | MoveWorkorder | PresentWorkorder
            | StartWorkSession | StopWorkSession | SendNotification | ListDevices
            | RevokeDevice | MakePairingCode | RotateSecret | ReadStats | ReadReports
            | ReadCellHistory | CorrectCell | SetKioskExitPin => self == Manager,
        }
    }

    /// The topics a device of this role reads (a kiosk adds the orders it
    /// follows).
    pub fn default_topics(self) -> Vec<Topic> {
        use Topic::*;
        match self {
            Role::Kiosk => vec![Menu, Settings, Cells, Board],
            Role::Barista => vec![Orders, Board, Menu, Settings, Cells],
            Role::Display => vec![Workorders, Settings],
            Role::Manager => vec![
                Orders, Board, Menu, Settings, Cells, Workorders, System, Dashboard,
            ],
        }
    }

    /// Whether this role may read `topic`.
    pub fn may_read(self, topic: &Topic) -> Access {
        may_read(Some(self), topic)
    }
}

/// The topics a connection of `role` (`None`: anonymous) reads when it
/// names none.
pub fn default_topics(role: Option<Role>) -> Vec<Topic> {
    match role {
        Some(role) => role.default_topics(),
        None => vec![Topic::Board, Topic::Menu, Topic::Settings],
    }
}

/// Whether a device of `role` (`None`: anonymous) may read `topic`.
pub fn may_read(role: Option<Role>, topic: &Topic) -> Access {
    use Role::*;
    let yes = |allowed: bool| if allowed { Access::Yes } else { Access::No };
    match topic {
        Topic::Board | Topic::BoardNumber(_) | Topic::Menu | Topic::Settings => Access::Yes,
        Topic::Orders => yes(matches!(role, Some(Barista | Manager))),
        Topic::Cells => yes(matches!(role, Some(Kiosk | Barista | Manager))),
        Topic::Workorders => yes(matches!(role, Some(Manager | Display))),
        Topic::System | Topic::Dashboard => yes(role == Some(Manager)),
        Topic::Notices => yes(matches!(role, Some(Barista | Manager))),
        Topic::Order(_) => match role {
            Some(Barista | Manager) => Access::Yes,
            Some(Kiosk) => Access::OwnOrder,
            _ => Access::No,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The whole table, pinned: one row per action, the roles that may.
    #[test]
    fn the_role_table() {
        use Action::*;
        let table: [(Action, &str); 33] = [
            (PlaceOrder, "kiosk manager"),
            (ReadOrders, "kiosk barista manager"),
            (ChangeOrderStatus, "barista manager"),
            (CancelOrder, "barista manager"),
            (SetSoldOut, "barista manager"),
            (EditMenu, "manager"),
            (DeleteMenuItem, "manager"),
            (ReadCells, "kiosk barista manager"),
            (AddCell, "manager"),
            (ChargeCell, "manager"),
            (SetCellPin, "manager"),
            (UnlockCell, "kiosk manager"),
            (SetMenuPhoto, "manager"),
            (ChangeSettings, "manager"),
            (ReadWorkorders, "display manager"),
            (CreateWorkorder, "manager"),
            (MoveWorkorder, "manager"),
            (PresentWorkorder, "manager"),
            (StartWorkSession, "manager"),
            (StopWorkSession, "manager"),
            (SignWorkorder, "display"),
            (SendNotification, "manager"),
            (ListDevices, "manager"),
            (RevokeDevice, "manager"),
            (MakePairingCode, "manager"),
            (RefreshToken, "kiosk barista display manager"),
            (RotateSecret, "manager"),
            (ReadStats, "manager"),
            (ReadReports, "manager"),
            (ReadCellHistory, "manager"),
            (CorrectCell, "manager"),
            (ExitKiosk, "kiosk manager"),
            (SetKioskExitPin, "manager"),
        ];
        assert_eq!(table.map(|(a, _)| a), Action::ALL, "every action, once");
        for (action, roles) in table {
            let may: Vec<&str> = Role::ALL
                .into_iter()
                .filter(|r| r.may(action))
                .map(Role::as_str)
                .collect();
            assert_eq!(may.join(" "), roles, "{action:?}");
        }

        let topics = [
            ("orders", "- - barista - manager"),
            ("order:ORD-1-a", "- own barista - manager"),
            ("board", "anonymous kiosk barista display manager"),
            ("board:7", "anonymous kiosk barista display manager"),
            ("menu", "anonymous kiosk barista display manager"),
            ("settings", "anonymous kiosk barista display manager"),
            ("cells", "- kiosk barista - manager"),
            ("workorders", "- - - display manager"),
            ("system", "- - - - manager"),
            ("notices", "- - barista - manager"),
            ("dashboard", "- - - - manager"),
        ];
        for (name, expected) in topics {
            let topic = Topic::parse(name).unwrap();
            let row: Vec<&str> = [None]
                .into_iter()
                .chain(Role::ALL.map(Some))
                .map(|role| match may_read(role, &topic) {
                    Access::Yes => role.map_or("anonymous", Role::as_str),
                    Access::OwnOrder => "own",
                    Access::No => "-",
                })
                .collect();
            assert_eq!(row.join(" "), expected, "{name}");
        }

        for role in [None].into_iter().chain(Role::ALL.map(Some)) {
            for topic in default_topics(role) {
                assert_eq!(may_read(role, &topic), Access::Yes, "{role:?} {topic}");
            }
        }
        let defaults = |role| {
            default_topics(role)
                .iter()
                .map(Topic::to_string)
                .collect::<Vec<_>>()
                .join(" ")
        };
        assert_eq!(defaults(None), "board menu settings");
        assert_eq!(defaults(Some(Role::Kiosk)), "menu settings cells board");
        assert_eq!(
            defaults(Some(Role::Barista)),
            "orders board menu settings cells"
        );
        assert_eq!(defaults(Some(Role::Display)), "workorders settings");
        assert_eq!(
            defaults(Some(Role::Manager)),
            "orders board menu settings cells workorders system dashboard",
            "a manager reads every topic but order:{{id}} and board:{{n}}"
        );
    }
}
