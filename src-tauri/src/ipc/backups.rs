//! The hub's backups as the manager's screen shows them: the newest one's
//! age, and whether to worry.

use chrono::{DateTime, Utc};
use countertop_protocol::BackupState;
use serde::Serialize;
use specta::Type;

/// A backup older than this is a warning on the manager's screen.
const STALE_AFTER_HOURS: i64 = 24;

#[derive(Debug, Clone, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct BackupView {
    /// RFC 3339: when the newest backup was made; none yet.
    pub last_at: Option<String>,
    /// Seconds since then.
    pub age_seconds: Option<f64>,
    pub last_file: Option<String>,
    /// Why the last attempt failed, until one succeeds.
    pub last_error: Option<String>,
    pub hourly: u32,
    pub daily: u32,
    pub copy_to: Option<String>,
    pub copy_error: Option<String>,
    /// Whether the manager should act: no backup, one over a day old, or a
    /// failure (of the backup or of its copy).
    pub warning: bool,
}

impl BackupView {
    pub fn new(state: BackupState, now: DateTime<Utc>) -> BackupView {
        let age = state.last_at.map(|at| (now - at).num_seconds().max(0));
        let stale = age.is_none_or(|s| s > STALE_AFTER_HOURS * 3600);
        BackupView {
            warning: stale || state.last_error.is_some() || state.copy_error.is_some(),
            last_at: state.last_at.map(|at| at.to_rfc3339()),
            age_seconds: age.map(|s| s as f64),
            last_file: state.last_file,
            last_error: state.last_error,
            hourly: state.hourly,
            daily: state.daily,
            copy_to: state.copy_to,
            copy_error: state.copy_error,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_backup_over_a_day_old_a_failure_or_none_at_all_warns() {
        let now = Utc::now();
        let fresh = BackupState {
            last_at: Some(now - chrono::Duration::minutes(20)),
            hourly: 3,
            daily: 1,
            ..BackupState::default()
        };
        let view = BackupView::new(fresh.clone(), now);
        assert!(!view.warning);
        assert_eq!(view.age_seconds, Some(1200.0));
        let old = BackupState {
            last_at: Some(now - chrono::Duration::hours(25)),
            ..fresh.clone()
        };
        assert!(BackupView::new(old, now).warning);
        let failing = BackupState {
            last_error: Some("disk full".into()),
            ..fresh.clone()
        };
        assert!(BackupView::new(failing, now).warning);
        assert!(BackupView::new(BackupState::default(), now).warning);
    }
}
