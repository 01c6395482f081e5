//! The real desktop backends, once each: a chime through ALSA into a file,
//! a notification to a fake notification server on a private D-Bus, and a
//! token through the kernel keyring. Each test re-runs itself inside the
//! environment it needs (see `support::run_inside`).

mod support;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::mpsc;
use std::time::Duration;

use countertop_client::alerts::{show_notification, Speaker};
use countertop_client::{
    Alert, AlertKind, AlertOutput, DesktopOutput, DeviceToken, Sound, SoundDevice, TokenStore,
    TokenVault,
};

#[test]
fn chime_plays_through_alsa_into_a_file_and_is_not_silent() {
    const NAME: &str = "chime_plays_through_alsa_into_a_file_and_is_not_silent";
    if !support::is_inner(NAME) {
        let dir = tempfile::tempdir().unwrap();
        let raw = dir.path().join("out.raw");
        let conf = dir.path().join("asound.conf");
        std::fs::write(
            &conf,
            format!(
                "</usr/share/alsa/alsa.conf>\npcm.!default {{ type file; slave.pcm \"null\"; file \"{}\"; format \"raw\" }}\n",
                raw.display()
            ),
        )
        .unwrap();
        support::run_inside(
            &[],
            &[
                ("ALSA_CONFIG_PATH", conf.to_str().unwrap()),
                ("CHIME_OUT", raw.to_str().unwrap()),
            ],
            &[],
            NAME,
        );
        return;
    }
    let raw = std::env::var("CHIME_OUT").unwrap();
    let mut speaker = Speaker::default();
    speaker.play(Sound::Chime, 1.0);
    assert!(speaker.is_available(), "the file sink should have opened");
    // The speaker closed the device after the sound, which stops the
    // unthrottled null sink: the file is complete and stays small.
    let bytes = std::fs::read(&raw).unwrap();
    std::fs::remove_file(&raw).unwrap();
    assert!(bytes.len() > 10_000, "only {} bytes written", bytes.len());
    assert!(
        bytes.len() < 200_000_000,
        "{} bytes written: the device stayed open after the sound",
        bytes.len()
    );
    let loud = bytes.iter().filter(|b| **b != 0).count();
    assert!(
        loud * 10 > bytes.len().min(200_000),
        "{loud} non-zero bytes of {}: the chime is silent",
        bytes.len()
    );
}

/// Points ALSA's default device at `dir/out.raw` for the inner run.
fn alsa_file_sink(dir: &std::path::Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let raw = dir.join("out.raw");
    let conf = dir.join("asound.conf");
    std::fs::write(
        &conf,
        format!(
            "</usr/share/alsa/alsa.conf>\npcm.!default {{ type file; slave.pcm \"null\"; file \"{}\"; format \"raw\" }}\n",
            raw.display()
        ),
    )
    .unwrap();
    (raw, conf)
}

/// The bytes from the first to the last non-zero one: how long the sound
/// in a raw capture lasts (the null sink's silence around it is zeros).
fn sounding_span(bytes: &[u8]) -> usize {
    match (
        bytes.iter().position(|b| *b != 0),
        bytes.iter().rposition(|b| *b != 0),
    ) {
        (Some(first), Some(last)) => last - first + 1,
        _ => 0,
    }
}

fn new_order(n: u32) -> Alert {
    Alert {
        kind: AlertKind::NewOrder,
        key: format!("order:ORD-{n}"),
        title: format!("Order #{n}"),
        body: "1× Latte".into(),
        sound: Some(Sound::Chime),
        notify: false,
        daily_num: Some(n),
    }
}

#[test]
fn a_burst_of_five_orders_plays_one_chime_through_alsa() {
    const NAME: &str = "a_burst_of_five_orders_plays_one_chime_through_alsa";
    if !support::is_inner(NAME) {
        let dir = tempfile::tempdir().unwrap();
        let (raw, conf) = alsa_file_sink(dir.path());
        support::run_inside(
            &[],
            &[
                ("ALSA_CONFIG_PATH", conf.to_str().unwrap()),
                ("CHIME_OUT", raw.to_str().unwrap()),
            ],
            &[],
            NAME,
        );
        return;
    }
    let raw = std::path::PathBuf::from(std::env::var("CHIME_OUT").unwrap());
    let take = || {
        let bytes = std::fs::read(&raw).unwrap_or_default();
        let _ = std::fs::remove_file(&raw);
        bytes
    };
    // One chime on its own, as the measure.
    let mut speaker = Speaker::default();
    speaker.play(Sound::Chime, 1.0);
    assert!(speaker.is_available(), "the file sink should have opened");
    let one = sounding_span(&take());
    assert!(one > 10_000, "one chime sounds for only {one} bytes");

    // Five orders 200 ms apart, as at a rush: one burst, one chime.
    let output = DesktopOutput::start("Countertop");
    let mut bursts = output.new_order_bursts();
    let device = output.sound_device();
    assert!(
        output.flush(Duration::from_secs(20)),
        "the alert thread answers"
    );
    assert_eq!(*device.borrow(), SoundDevice::Ready, "probed at start");
    let _ = take(); // the probe's silence
    for n in 12..=16 {
        output.deliver(&new_order(n), 1.0);
        // Spaced like orders at a rush, not waiting for anything.
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(output.flush(Duration::from_secs(20)), "the burst played");
    let burst = bursts.try_recv().expect("the burst was told");
    assert_eq!(burst.count, 5);
    assert_eq!(burst.numbers, [12, 13, 14, 15, 16]);
    assert!(bursts.try_recv().is_err(), "one burst, not more");
    let bytes = take();
    let span = sounding_span(&bytes);
    assert!(
        span * 100 >= one * 95 && span * 100 <= one * 105,
        "the burst sounded for {span} bytes, one chime for {one}"
    );
    let loud = bytes.iter().filter(|b| **b != 0).count();
    assert!(
        loud * 2 > span,
        "{loud} non-zero bytes in {span}: mostly silence"
    );
}

#[test]
fn without_a_sound_device_the_speaker_stays_quiet_and_carries_on() {
    const NAME: &str = "without_a_sound_device_the_speaker_stays_quiet_and_carries_on";
    if !support::is_inner(NAME) {
        let dir = tempfile::tempdir().unwrap();
        let conf = dir.path().join("asound.conf");
        std::fs::write(&conf, "pcm.!default { type hw; card 99 }\n").unwrap();
        support::run_inside(
            &[],
            &[("ALSA_CONFIG_PATH", conf.to_str().unwrap())],
            &[],
            NAME,
        );
        return;
    }
    let mut speaker = Speaker::default();
    speaker.play(Sound::Chime, 1.0);
    speaker.play(Sound::Cancel, 1.0);
    assert!(!speaker.is_available());
    assert_eq!(speaker.state(), SoundDevice::Missing);

    // The desktop output says so to the screen, and a Test carries on too.
    let output = DesktopOutput::start("Countertop");
    let device = output.sound_device();
    output.test_chime(0.8);
    assert!(output.flush(Duration::from_secs(20)));
    assert_eq!(*device.borrow(), SoundDevice::Missing);
}

struct FakeNotifications {
    received: mpsc::Sender<(String, String, String)>,
}

#[zbus::interface(name = "org.freedesktop.Notifications")]
impl FakeNotifications {
    #[allow(clippy::too_many_arguments)]
    fn notify(
        &self,
        app_name: String,
        _replaces_id: u32,
        _app_icon: String,
        summary: String,
        body: String,
        _actions: Vec<String>,
        _hints: HashMap<String, zbus::zvariant::OwnedValue>,
        _expire_timeout: i32,
    ) -> u32 {
        let _ = self.received.send((app_name, summary, body));
        1
    }

    fn get_capabilities(&self) -> Vec<String> {
        vec!["body".into()]
    }

    fn get_server_information(&self) -> (String, String, String, String) {
        ("fake".into(), "countertop".into(), "1".into(), "1.2".into())
    }

    fn close_notification(&self, _id: u32) {}
}

#[test]
fn new_order_notification_reaches_a_notification_server_on_a_private_bus() {
    const NAME: &str = "new_order_notification_reaches_a_notification_server_on_a_private_bus";
    if !support::is_inner(NAME) {
        support::run_inside(&["dbus-run-session", "--"], &[], &[], NAME);
        return;
    }
    // First no server at all: the core reports it and carries on.
    assert!(show_notification("Countertop", "nobody", "listens").is_err());

    let (tx, rx) = mpsc::channel();
    let _server = zbus::blocking::connection::Builder::session()
        .unwrap()
        .name("org.freedesktop.Notifications")
        .unwrap()
        .serve_at(
            "/org/freedesktop/Notifications",
            FakeNotifications { received: tx },
        )
        .unwrap()
        .build()
        .unwrap();
    let output = DesktopOutput::start("Countertop");
    output.deliver(
        &Alert {
            kind: AlertKind::NewOrder,
            key: "order:ORD-1".into(),
            title: "Order #5".into(),
            body: "2× Americano, 1× Latte".into(),
            sound: None,
            notify: true,
            daily_num: Some(5),
        },
        0.5,
    );
    let (app, summary, body) = rx
        .recv_timeout(Duration::from_secs(20))
        .expect("no notification arrived");
    assert_eq!(app, "Countertop");
    assert_eq!(summary, "Order #5");
    assert_eq!(body, "2× Americano, 1× Latte");
}

#[test]
fn a_token_outlives_a_restart_where_only_the_kernel_keyring_works() {
    const NAME: &str = "a_token_outlives_a_restart_where_only_the_kernel_keyring_works";
    const DIR: &str = "COUNTERTOP_TEST_TOKEN_DIR";
    const PHASE: &str = "COUNTERTOP_TEST_TOKEN_PHASE";
    if !support::is_inner(NAME) {
        // Each phase in a fresh session keyring (what a new login or a
        // reboot gives) and with no session bus, so no Secret Service: a
        // kiosk's bare X session.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().to_str().unwrap();
        for phase in ["save", "after-restart"] {
            support::run_inside(
                &["keyctl", "session", "-"],
                &[(DIR, path), (PHASE, phase)],
                &["DBUS_SESSION_BUS_ADDRESS"],
                NAME,
            );
        }
        return;
    }
    let dir = PathBuf::from(std::env::var(DIR).unwrap());
    let phase = std::env::var(PHASE).unwrap();
    let vault = TokenVault::for_folder(&dir);
    let token = DeviceToken::new("eyJhbGciOiJIUzI1NiJ9.test.sig".into());
    // The kernel keyring works here (the entry an earlier version made).
    let account = std::path::absolute(&dir).unwrap().display().to_string();
    let keyring: std::sync::Arc<keyring_core::CredentialStore> =
        linux_keyutils_keyring_store::Store::new().unwrap();
    let old_entry = keyring.build("countertop", &account, None).unwrap();
    if phase == "save" {
        // A token an earlier version kept in the kernel keyring is moved to
        // the file when read, and gone from the keyring.
        old_entry.set_password("an.older.token").unwrap();
        let (found, store) = vault.load().unwrap().unwrap();
        assert_eq!(
            (found.expose(), store),
            ("an.older.token", TokenStore::File)
        );
        assert!(matches!(
            old_entry.get_password(),
            Err(keyring_core::Error::NoEntry)
        ));
        // A new token goes to the file, readable by this user only.
        assert_eq!(vault.save(&token).unwrap(), TokenStore::File);
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.join("device-token"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        assert!(
            !dir.join("device-token.new").exists(),
            "written whole, then renamed"
        );
        assert!(matches!(
            old_entry.get_password(),
            Err(keyring_core::Error::NoEntry)
        ));
    } else {
        // A new session keyring: the kernel keyring has nothing, the token
        // is still there.
        assert!(matches!(
            old_entry.get_password(),
            Err(keyring_core::Error::NoEntry)
        ));
        let (back, store) = vault.load().unwrap().unwrap();
        assert_eq!((back, store), (token.clone(), TokenStore::File));
        // Another folder is another device.
        let other = tempfile::tempdir().unwrap();
        assert!(TokenVault::for_folder(other.path())
            .load()
            .unwrap()
            .is_none());
        vault.clear().unwrap();
        assert!(vault.load().unwrap().is_none());
        assert!(!dir.join("device-token").exists());
        assert_eq!(format!("{token:?}"), "DeviceToken(…)");
    }
}

#[test]
fn token_falls_back_to_a_private_file_where_no_store_works() {
    const NAME: &str = "token_falls_back_to_a_private_file_where_no_store_works";
    if !support::is_inner(NAME) {
        // No session keyring (a fresh, empty one is joined by nothing) and no bus.
        support::run_inside(&[], &[], &["DBUS_SESSION_BUS_ADDRESS"], NAME);
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let vault = TokenVault::for_folder(dir.path());
    let token = DeviceToken::new("t0ken".into());
    let store = vault.save(&token).unwrap();
    if store == TokenStore::File {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("device-token"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    assert_eq!(vault.load().unwrap().unwrap().0, token);
    vault.clear().unwrap();
}
