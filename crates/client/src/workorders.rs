//! Which workorders a device's screen shows.

use countertop_protocol::{Role, Workorder};

/// The workorders a device of `role` (hub id `device_id`) is shown: a
/// display sees only what is presented to it, whatever its cache kept from
/// before; other roles see every cached one.
pub fn shown_to(role: Role, device_id: &str, workorders: Vec<Workorder>) -> Vec<Workorder> {
    workorders
        .into_iter()
        .filter(|w| role != Role::Display || w.presented_to.as_deref() == Some(device_id))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use countertop_protocol::WorkorderStatus;

    fn workorder(id: &str, presented_to: Option<&str>) -> Workorder {
        let at = chrono::Utc::now();
        Workorder {
            id: id.to_owned(),
            title: "Repair".to_owned(),
            customer_name: "Kim".to_owned(),
            lines: Vec::new(),
            total_amount: 0,
            status: WorkorderStatus::Open,
            column: "todo".to_owned(),
            presented_to: presented_to.map(str::to_owned),
            signature: None,
            sessions: Vec::new(),
            created_at: at,
            updated_at: at,
        }
    }

    fn ids(list: Vec<Workorder>) -> Vec<String> {
        list.into_iter().map(|w| w.id).collect()
    }

    #[test]
    fn a_display_sees_only_what_is_presented_to_it() {
        let all = vec![
            workorder("w1", Some("d1")),
            workorder("w2", Some("d2")),
            workorder("w3", None),
        ];
        assert_eq!(ids(shown_to(Role::Display, "d1", all.clone())), ["w1"]);
        assert!(shown_to(Role::Display, "", all).is_empty());
    }

    #[test]
    fn other_roles_see_every_workorder() {
        let all = vec![workorder("w1", Some("d1")), workorder("w2", None)];
        assert_eq!(ids(shown_to(Role::Manager, "m1", all)), ["w1", "w2"]);
    }
}
