//! Alerts: which events chime or show a notification, and the desktop
//! backends (rodio for sound, notify-rust for notifications).
//!
//! Deciding is pure ([`alert_for`]); deduplication happens in the cache, in
//! the same transaction that applies the event, so an order alerts at most
//! once even across restarts; playing happens on a thread of its own so a
//! slow sound device or D-Bus never holds up the connection.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use countertop_protocol::{Event, NotificationLevel, OrderLine, Role};
use serde::{Deserialize, Serialize};

/// What kind of thing happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    NewOrder,
    Cancelled,
    /// A `system:notification` of level warning or error.
    Notice,
}

/// Which sound to play.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sound {
    /// Two rising tones: a new order.
    Chime,
    /// Two falling low tones: a cancellation.
    Cancel,
}

/// One alert, decided and deduplicated.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Alert {
    pub kind: AlertKind,
    /// What makes it unique (`order:ORD-…`, `cancel:ORD-…`, `notice:ID`).
    pub key: String,
    pub title: String,
    pub body: String,
    pub sound: Option<Sound>,
    pub notify: bool,
}

/// Per-device alert settings. Defaults depend on the role.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AlertSettings {
    pub new_order_sound: bool,
    pub new_order_notify: bool,
    pub cancel_sound: bool,
    pub cancel_notify: bool,
    pub notices: bool,
    pub mute: bool,
    /// 0.0 to 1.0.
    pub volume: f32,
    /// A replayed event older than this does not alert (it happened while
    /// the device was off; chiming for it now would only confuse).
    #[serde(with = "secs")]
    pub replay_max_age: Duration,
}

mod secs {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_secs())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        u64::deserialize(d).map(Duration::from_secs)
    }
}

impl AlertSettings {
    /// Baristas hear and see orders; managers see orders and notices; kiosks
    /// and signature displays stay quiet.
    pub fn for_role(role: Role) -> AlertSettings {
        let quiet = AlertSettings {
            new_order_sound: false,
            new_order_notify: false,
            cancel_sound: false,
            cancel_notify: false,
            notices: false,
            mute: false,
            volume: 0.6,
            replay_max_age: Duration::from_secs(10 * 60),
        };
        match role {
            Role::Barista => AlertSettings {
                new_order_sound: true,
                new_order_notify: true,
                cancel_sound: true,
                cancel_notify: true,
                ..quiet
            },
            Role::Manager => AlertSettings {
                new_order_notify: true,
                cancel_notify: true,
                notices: true,
                ..quiet
            },
            Role::Kiosk | Role::Display => quiet,
        }
    }
}

/// "2× Americano, 1× Latte".
pub fn describe_items(items: &[OrderLine]) -> String {
    items
        .iter()
        .map(|l| format!("{}× {}", l.quantity, l.menu_name))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Decides whether `event` alerts. `replayed` events (sent on resume, not
/// live) alert only while younger than `replay_max_age` at `now`. Mute
/// silences sounds but keeps notifications.
pub fn alert_for(
    event: &Event,
    settings: &AlertSettings,
    replayed: bool,
    now: DateTime<Utc>,
) -> Option<Alert> {
    let fresh = |at: DateTime<Utc>| {
        !replayed
            || now
                .signed_duration_since(at)
                .to_std()
                .map_or(true, |age| age <= settings.replay_max_age)
    };
    let sound = |wanted: bool, sound: Sound| (wanted && !settings.mute).then_some(sound);
    match event {
        Event::OrderCreated(o) => {
            let wanted = settings.new_order_sound || settings.new_order_notify;
            (wanted && fresh(o.created_at)).then(|| Alert {
                kind: AlertKind::NewOrder,
                key: format!("order:{}", o.order_id),
                title: format!("Order #{}", o.daily_num),
                body: describe_items(&o.items),
                sound: sound(settings.new_order_sound, Sound::Chime),
                notify: settings.new_order_notify,
            })
        }
        Event::OrderCancelled(c) => {
            let wanted = settings.cancel_sound || settings.cancel_notify;
            (wanted && fresh(c.cancelled_at)).then(|| Alert {
                kind: AlertKind::Cancelled,
                key: format!("cancel:{}", c.order_id),
                title: format!("Order #{} cancelled", c.daily_num),
                body: c.reason.clone(),
                sound: sound(settings.cancel_sound, Sound::Cancel),
                notify: settings.cancel_notify,
            })
        }
        Event::SystemNotification(n) => {
            let serious = matches!(
                n.level,
                NotificationLevel::Warning | NotificationLevel::Error
            );
            (settings.notices && serious && fresh(n.timestamp)).then(|| Alert {
                kind: AlertKind::Notice,
                key: format!("notice:{}", n.id),
                title: n.title.clone(),
                body: n.message.clone(),
                sound: None,
                notify: true,
            })
        }
        _ => None,
    }
}

/// Where decided alerts go to be heard and seen.
pub trait AlertOutput: Send + Sync + 'static {
    fn deliver(&self, alert: &Alert, volume: f32);
}

/// Plays nothing and shows nothing (kiosks, tests, `--quiet`).
#[derive(Debug, Default, Clone, Copy)]
pub struct SilentOutput;

impl AlertOutput for SilentOutput {
    fn deliver(&self, _alert: &Alert, _volume: f32) {}
}

/// Sound through the default audio device and native notifications, on a
/// thread of their own. Without a sound device or a notification server the
/// app carries on; each missing backend is logged once.
pub struct DesktopOutput {
    jobs: mpsc::Sender<(Alert, f32)>,
}

impl DesktopOutput {
    pub fn start(app_name: &str) -> DesktopOutput {
        let (jobs, rx) = mpsc::channel::<(Alert, f32)>();
        let app_name = app_name.to_owned();
        let spawned = std::thread::Builder::new()
            .name("countertop-alerts".into())
            .spawn(move || {
                let mut speaker = Speaker::default();
                let notify_failed = AtomicBool::new(false);
                while let Ok(first) = rx.recv() {
                    // A burst (a replay after an outage) plays each sound
                    // once and sums up many notifications in one.
                    let mut batch = vec![first];
                    batch.extend(rx.try_iter());
                    let volume = batch.last().map_or(0.0, |(_, v)| *v);
                    let alerts: Vec<Alert> = batch.into_iter().map(|(a, _)| a).collect();
                    for sound in [Sound::Chime, Sound::Cancel] {
                        if alerts.iter().any(|a| a.sound == Some(sound)) {
                            speaker.play(sound, volume);
                        }
                    }
                    for (title, body) in notifications(&alerts) {
                        if let Err(e) = show_notification(&app_name, &title, &body) {
                            if !notify_failed.swap(true, Ordering::Relaxed) {
                                tracing::warn!(error = %e, "cannot show notifications; carrying on without them");
                            }
                        }
                    }
                }
            });
        if let Err(e) = spawned {
            tracing::warn!(error = %e, "cannot start the alert thread; alerts will be silent");
        }
        DesktopOutput { jobs }
    }
}

impl AlertOutput for DesktopOutput {
    fn deliver(&self, alert: &Alert, volume: f32) {
        // A send fails only if the alert thread could not start; that was logged.
        let _ = self.jobs.send((alert.clone(), volume));
    }
}

/// The most notifications one burst of alerts shows one by one.
const NOTIFICATIONS_PER_BURST: usize = 3;

/// What to show for a burst of alerts: each one, or, past a few, the first
/// few and a summary of the rest.
pub fn notifications(alerts: &[Alert]) -> Vec<(String, String)> {
    let wanted: Vec<&Alert> = alerts.iter().filter(|a| a.notify).collect();
    if wanted.len() <= NOTIFICATIONS_PER_BURST {
        return wanted
            .iter()
            .map(|a| (a.title.clone(), a.body.clone()))
            .collect();
    }
    let (shown, rest) = wanted.split_at(NOTIFICATIONS_PER_BURST - 1);
    let mut out: Vec<(String, String)> = shown
        .iter()
        .map(|a| (a.title.clone(), a.body.clone()))
        .collect();
    let titles: Vec<&str> = rest.iter().map(|a| a.title.as_str()).collect();
    out.push((format!("{} more alerts", rest.len()), titles.join(", ")));
    out
}

/// Shows one native notification.
pub fn show_notification(
    app_name: &str,
    title: &str,
    body: &str,
) -> Result<(), notify_rust::error::Error> {
    notify_rust::Notification::new()
        .appname(app_name)
        .summary(title)
        .body(body)
        .show()
        .map(|_| ())
}

/// The tones of a sound: (frequency in Hz, milliseconds).
pub fn tones(sound: Sound) -> &'static [(f32, u64)] {
    match sound {
        Sound::Chime => &[(880.0, 140), (1318.5, 220)],
        Sound::Cancel => &[(392.0, 180), (261.6, 260)],
    }
}

/// How long the device stays open after a sound, so the sound card plays
/// what it has buffered before the device closes.
const DRAIN: Duration = Duration::from_millis(150);

/// Opens the audio device for each sound and closes it after, so the app
/// holds no audio device between alerts. If opening fails the speaker
/// stays quiet and says so once.
#[derive(Default)]
pub struct Speaker {
    opened: bool,
    failed: bool,
}

impl Speaker {
    /// Whether the sound device opened for the last sound (false before
    /// the first sound and after opening failed).
    pub fn is_available(&self) -> bool {
        self.opened && !self.failed
    }

    /// Plays `sound` to its end (blocking this thread).
    pub fn play(&mut self, sound: Sound, volume: f32) {
        use rodio::Source;
        if self.failed {
            return;
        }
        let mut device = match rodio::DeviceSinkBuilder::open_default_sink() {
            Ok(device) => device,
            Err(e) => {
                self.failed = true;
                tracing::warn!(error = %e, "no sound device; alerts will be silent");
                return;
            }
        };
        device.log_on_drop(false);
        self.opened = true;
        let player = rodio::Player::connect_new(device.mixer());
        for &(hz, ms) in tones(sound) {
            let tone = rodio::source::SineWave::new(hz)
                .take_duration(Duration::from_millis(ms))
                .fade_in(Duration::from_millis(8))
                .amplify(volume.clamp(0.0, 1.0) * 0.8);
            player.append(tone);
        }
        player.sleep_until_end();
        std::thread::sleep(DRAIN);
        drop(device);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use countertop_protocol::{OrderCreated, OrderStatus, PayType};

    fn order(created_at: DateTime<Utc>) -> Event {
        Event::OrderCreated(OrderCreated {
            order_id: "ORD-1-a".into(),
            daily_num: 5,
            pay_type: PayType::Card,
            cell_info: None,
            items: vec![
                OrderLine {
                    menu_id: "americano".into(),
                    menu_name: "Americano".into(),
                    quantity: 2,
                    unit_price: 3000,
                    total_price: 6000,
                    options: Vec::new(),
                },
                OrderLine {
                    menu_id: "latte".into(),
                    menu_name: "Latte".into(),
                    quantity: 1,
                    unit_price: 3500,
                    total_price: 3500,
                    options: Vec::new(),
                },
            ],
            total_amount: 9500,
            status: OrderStatus::Pending,
            created_at,
            fulfilment: Default::default(),
            placed_at: None,
            reference: None,
        })
    }

    #[test]
    fn new_order_reads_like_a_ticket() {
        let now = Utc::now();
        let alert = alert_for(
            &order(now),
            &AlertSettings::for_role(Role::Barista),
            false,
            now,
        )
        .unwrap();
        assert_eq!(alert.title, "Order #5");
        assert_eq!(alert.body, "2× Americano, 1× Latte");
        assert_eq!(alert.sound, Some(Sound::Chime));
        assert_eq!(alert.key, "order:ORD-1-a");
    }

    #[test]
    fn replayed_orders_alert_only_while_young_and_live_ones_always() {
        let settings = AlertSettings::for_role(Role::Barista);
        let now = Utc::now();
        let old = now - chrono::Duration::minutes(11);
        let young = now - chrono::Duration::minutes(9);
        assert!(alert_for(&order(old), &settings, true, now).is_none());
        assert!(alert_for(&order(young), &settings, true, now).is_some());
        assert!(alert_for(&order(old), &settings, false, now).is_some());
    }

    #[test]
    fn a_burst_of_alerts_is_summed_up() {
        let now = Utc::now();
        let settings = AlertSettings::for_role(Role::Barista);
        let one = alert_for(&order(now), &settings, false, now).unwrap();
        let burst = vec![one.clone(); 5];
        let shown = notifications(&burst);
        assert_eq!(shown.len(), 3);
        assert_eq!(shown[2].0, "3 more alerts");
        assert_eq!(notifications(&burst[..2]).len(), 2);
    }

    #[test]
    fn kiosks_stay_quiet_and_mute_keeps_notifications() {
        let now = Utc::now();
        assert!(alert_for(
            &order(now),
            &AlertSettings::for_role(Role::Kiosk),
            false,
            now
        )
        .is_none());
        let muted = AlertSettings {
            mute: true,
            ..AlertSettings::for_role(Role::Barista)
        };
        let alert = alert_for(&order(now), &muted, false, now).unwrap();
        assert_eq!(alert.sound, None);
        assert!(alert.notify);
    }
}
