//! This instance's own preferences (the screen language), kept in
//! `preferences.json` in the data folder. The café's settings live in the
//! hub; these belong to the computer the screen runs on.

use std::path::{Path, PathBuf};

use crate::ipc::{IpcError, IpcErrorCode, Preferences};
use crate::station::RunningDevice;

/// Where a device keeps its own language (a local setting of its cache).
pub const DEVICE_LANGUAGE_KEY: &str = "language";

/// The languages the UI is translated into.
pub const LANGUAGES: [&str; 4] = ["en", "ko", "nl", "de"];

fn file(data_dir: &Path) -> PathBuf {
    data_dir.join("preferences.json")
}

/// The stored preferences with the system's language filled in.
pub fn load(data_dir: &Path) -> Preferences {
    let mut prefs: Preferences = std::fs::read_to_string(file(data_dir))
        .ok()
        .and_then(|text| match serde_json::from_str(&text) {
            Ok(p) => Some(p),
            Err(e) => {
                tracing::warn!(error = %e, "ignoring an unreadable preferences.json");
                None
            }
        })
        .unwrap_or_default();
    prefs.language = prefs.language.filter(|l| LANGUAGES.contains(&l.as_str()));
    prefs.system_language = system_language(|name| std::env::var(name).ok());
    prefs
}

/// The instance's preferences with device `device`'s own language, if it
/// chose one, in place of the instance's.
pub fn for_device(data_dir: &Path, device: Option<&RunningDevice>) -> Preferences {
    let mut prefs = load(data_dir);
    if let Some(device) = device {
        match device.handle.cache().local_setting(DEVICE_LANGUAGE_KEY) {
            Ok(Some(language)) if LANGUAGES.contains(&language.as_str()) => {
                prefs.language = Some(language);
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "cannot read the device's language"),
        }
    }
    prefs
}

/// The language a device's texts are in: its choice, else the instance's,
/// else the system's.
pub fn language(prefs: &Preferences) -> &str {
    prefs.language.as_deref().unwrap_or(&prefs.system_language)
}

/// Stores the language; `None` follows the system.
pub fn set_language(data_dir: &Path, language: Option<String>) -> Result<Preferences, IpcError> {
    check_language(language.as_deref())?;
    let mut prefs = load(data_dir);
    prefs.language = language;
    let text = serde_json::to_string_pretty(&prefs)
        .map_err(|e| IpcError::new(IpcErrorCode::Other, e.to_string()))?;
    std::fs::write(file(data_dir), text)
        .map_err(|e| IpcError::new(IpcErrorCode::Other, format!("cannot save preferences: {e}")))?;
    Ok(prefs)
}

/// Refuses a language the UI is not translated into.
pub fn check_language(language: Option<&str>) -> Result<(), IpcError> {
    match language {
        Some(l) if !LANGUAGES.contains(&l) => Err(IpcError::new(
            IpcErrorCode::Validation,
            format!("{l:?} is not a language of this app (en, ko, nl, de)"),
        )),
        _ => Ok(()),
    }
}

/// The system's language from the POSIX locale variables, in their order of
/// precedence (`LC_ALL`, `LC_MESSAGES`, `LANG`; `LANGUAGE` lists
/// preferences), as one of [`LANGUAGES`]; English otherwise.
pub fn system_language(var: impl Fn(&str) -> Option<String>) -> String {
    let candidates = ["LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"]
        .into_iter()
        .filter_map(&var)
        .flat_map(|value| {
            value
                .split(':')
                .map(|part| part.to_owned())
                .collect::<Vec<_>>()
        });
    for locale in candidates {
        let code: String = locale
            .chars()
            .take_while(|c| c.is_ascii_alphabetic())
            .collect::<String>()
            .to_ascii_lowercase();
        if LANGUAGES.contains(&code.as_str()) {
            return code;
        }
    }
    "en".to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    #[test]
    fn system_language_follows_the_locale_and_falls_back_to_english() {
        assert_eq!(system_language(env(&[("LANG", "de_DE.UTF-8")])), "de");
        assert_eq!(system_language(env(&[("LANG", "ko_KR.UTF-8")])), "ko");
        assert_eq!(
            system_language(env(&[("LANG", "en_US.UTF-8"), ("LC_ALL", "nl_NL.UTF-8")])),
            "nl"
        );
        assert_eq!(
            system_language(env(&[("LANGUAGE", "fr:de"), ("LANG", "fr_FR.UTF-8")])),
            "de"
        );
        assert_eq!(system_language(env(&[("LANG", "C.UTF-8")])), "en");
        assert_eq!(system_language(env(&[])), "en");
    }

    #[test]
    fn a_language_is_stored_and_an_unknown_one_refused() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(load(dir.path()).language, None);
        set_language(dir.path(), Some("ko".into())).unwrap();
        assert_eq!(load(dir.path()).language.as_deref(), Some("ko"));
        let err = set_language(dir.path(), Some("xx".into())).unwrap_err();
        assert_eq!(err.code, "validation");
        assert_eq!(load(dir.path()).language.as_deref(), Some("ko"));
        set_language(dir.path(), None).unwrap();
        assert_eq!(load(dir.path()).language, None);
    }
}
