//! Alerts: which events chime or show a notification, and the desktop
//! backends (rodio for sound, notify-rust for notifications).
//!
//! Deciding is pure ([`alert_for`]); deduplication happens in the cache, in
//! the same transaction that applies the event, so an order alerts at most
//! once even across restarts; playing happens on a thread of its own so a
//! slow sound device or D-Bus never holds up the connection. Alerts that
//! arrive close together (a replay after an outage, a rush at the kiosks)
//! are gathered into one [`Burst`]: one chime, one "5 new orders"
//! notification. The speaker says whether a sound device opened
//! ([`SoundDevice`]), so a screen can tell the truth about its sound.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use tokio::sync::{broadcast, watch};

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
    /// Three bright rising notes: a new order.
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
    /// The order's daily number (new orders and cancellations).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub daily_num: Option<u32>,
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
    /// 0.0 to 1.0, used only where the hub's `chime_volume` setting is
    /// unknown (an older hub): that setting sets every device's volume.
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
    /// Baristas hear and see orders and see serious notices; managers see
    /// orders and notices; kiosks and signature displays stay quiet.
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
                notices: true,
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
                daily_num: Some(o.daily_num),
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
                daily_num: Some(c.daily_num),
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
                // A notice does not chime: a chime at the counter means an
                // order. It stays on the board until dismissed instead.
                sound: None,
                notify: true,
                daily_num: None,
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

/// The hub's `chime_volume` setting ("0" to "100") as a volume from 0.0 to
/// 1.0; `None` when it is missing or not a number in range.
pub fn volume_from_setting(value: Option<&str>) -> Option<f32> {
    let percent = value?.trim().parse::<u8>().ok().filter(|v| *v <= 100)?;
    Some(f32::from(percent) / 100.0)
}

/// How alerts that arrive close together are gathered into one burst: it
/// closes once `quiet` passes without another alert, and at the latest
/// `longest` after its first. A single order waits `quiet` for its chime.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BurstWindow {
    pub quiet: Duration,
    pub longest: Duration,
}

impl Default for BurstWindow {
    fn default() -> BurstWindow {
        BurstWindow {
            quiet: Duration::from_millis(400),
            longest: Duration::from_millis(1500),
        }
    }
}

/// Alerts being gathered into a burst (pure: the caller says what time it is).
#[derive(Debug, Clone)]
pub struct Gathering {
    first: Instant,
    last: Instant,
    alerts: Vec<Alert>,
}

impl Gathering {
    pub fn new(alert: Alert, now: Instant) -> Gathering {
        Gathering {
            first: now,
            last: now,
            alerts: vec![alert],
        }
    }

    pub fn push(&mut self, alert: Alert, now: Instant) {
        self.last = self.last.max(now);
        self.alerts.push(alert);
    }

    /// When the burst closes if nothing else arrives.
    pub fn closes_at(&self, window: BurstWindow) -> Instant {
        (self.last + window.quiet).min(self.first + window.longest)
    }

    /// Whether an alert arriving at `now` still belongs to this burst.
    pub fn is_open(&self, window: BurstWindow, now: Instant) -> bool {
        now < self.closes_at(window)
    }

    pub fn into_alerts(self) -> Vec<Alert> {
        self.alerts
    }
}

/// What one burst of alerts plays and shows.
#[derive(Debug, Clone, PartialEq)]
pub struct Burst {
    /// Each sound once, in the order of their first alert.
    pub sounds: Vec<Sound>,
    /// (title, body) of each notification to show.
    pub notifications: Vec<(String, String)>,
    /// The daily numbers of the burst's new orders, in arrival order.
    pub new_orders: Vec<u32>,
}

/// The most order numbers one "N new orders" notification names.
const NUMBERS_NAMED: usize = 12;

impl Burst {
    /// One chime for however many orders, and one "5 new orders"
    /// notification naming them (#12, #13, …) where there are several.
    pub fn of(alerts: &[Alert]) -> Burst {
        let mut sounds = Vec::new();
        for sound in alerts.iter().filter_map(|a| a.sound) {
            if !sounds.contains(&sound) {
                sounds.push(sound);
            }
        }
        let new_orders: Vec<u32> = alerts
            .iter()
            .filter(|a| a.kind == AlertKind::NewOrder)
            .filter_map(|a| a.daily_num)
            .collect();
        let orders_shown: Vec<&Alert> = alerts
            .iter()
            .filter(|a| a.kind == AlertKind::NewOrder && a.notify)
            .collect();
        let others: Vec<Alert> = alerts
            .iter()
            .filter(|a| a.kind != AlertKind::NewOrder)
            .cloned()
            .collect();
        let mut shown = Vec::new();
        match orders_shown.as_slice() {
            [] => {}
            [one] => shown.push((one.title.clone(), one.body.clone())),
            many => shown.push(new_orders_notification(many)),
        }
        shown.extend(notifications(&others));
        Burst {
            sounds,
            notifications: shown,
            new_orders,
        }
    }
}

/// "5 new orders", "#12, #13, #14, #15, #16".
fn new_orders_notification(orders: &[&Alert]) -> (String, String) {
    let mut numbers: Vec<String> = orders
        .iter()
        .take(NUMBERS_NAMED)
        .map(|a| match a.daily_num {
            Some(n) => format!("#{n}"),
            None => a.title.clone(),
        })
        .collect();
    if orders.len() > NUMBERS_NAMED {
        numbers.push("…".into());
    }
    (format!("{} new orders", orders.len()), numbers.join(", "))
}

/// What a desktop output reports of a burst that brought new orders, for a
/// board to show "5 new orders" beside its one chime.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NewOrdersBurst {
    pub count: u32,
    /// Their daily numbers, in arrival order.
    pub numbers: Vec<u32>,
}

enum Job {
    Alert(Alert, f32),
    /// A chime at this volume now, whatever the mute (a Test button); it
    /// tries the sound device again however recently it failed.
    Test(f32),
    /// Answered once everything sent before it has played and shown.
    Flush(mpsc::Sender<()>),
}

/// Sound through the default audio device and native notifications, on a
/// thread of their own. Without a sound device or a notification server the
/// app carries on; each missing backend is logged once, and the sound
/// device's state is told through [`DesktopOutput::sound_device`].
pub struct DesktopOutput {
    jobs: mpsc::Sender<Job>,
    device: watch::Receiver<SoundDevice>,
    bursts: broadcast::Sender<NewOrdersBurst>,
}

impl DesktopOutput {
    pub fn start(app_name: &str) -> DesktopOutput {
        DesktopOutput::start_with(app_name, BurstWindow::default())
    }

    pub fn start_with(app_name: &str, window: BurstWindow) -> DesktopOutput {
        let (jobs, rx) = mpsc::channel::<Job>();
        let (device_tx, device) = watch::channel(SoundDevice::Unknown);
        let (bursts, _) = broadcast::channel(16);
        let app_name = app_name.to_owned();
        let bursts_tx = bursts.clone();
        let spawned = std::thread::Builder::new()
            .name("countertop-alerts".into())
            .spawn(move || {
                let mut worker = Worker {
                    speaker: Speaker::reporting(device_tx),
                    app_name,
                    notify_failed: AtomicBool::new(false),
                    bursts: bursts_tx,
                };
                worker.run(rx, window);
            });
        if let Err(e) = spawned {
            tracing::warn!(error = %e, "cannot start the alert thread; alerts will be silent");
        }
        DesktopOutput {
            jobs,
            device,
            bursts,
        }
    }

    /// The sound device as the speaker last found it; changes as it appears
    /// and disappears.
    pub fn sound_device(&self) -> watch::Receiver<SoundDevice> {
        self.device.clone()
    }

    /// Each burst that brought new orders, as it closes (before its chime).
    pub fn new_order_bursts(&self) -> broadcast::Receiver<NewOrdersBurst> {
        self.bursts.subscribe()
    }

    /// Plays the new-order chime at `volume` now (a Test button), trying the
    /// sound device again.
    pub fn test_chime(&self, volume: f32) {
        let _ = self.jobs.send(Job::Test(volume));
    }

    /// Waits (at most `within`) until everything delivered so far has
    /// played and shown; false if it did not in time.
    pub fn flush(&self, within: Duration) -> bool {
        let (tx, rx) = mpsc::channel();
        if self.jobs.send(Job::Flush(tx)).is_err() {
            return false;
        }
        rx.recv_timeout(within).is_ok()
    }
}

impl AlertOutput for DesktopOutput {
    fn deliver(&self, alert: &Alert, volume: f32) {
        // A send fails only if the alert thread could not start; that was logged.
        let _ = self.jobs.send(Job::Alert(alert.clone(), volume));
    }
}

/// The alert thread's state.
struct Worker {
    speaker: Speaker,
    app_name: String,
    notify_failed: AtomicBool,
    bursts: broadcast::Sender<NewOrdersBurst>,
}

impl Worker {
    fn run(&mut self, rx: mpsc::Receiver<Job>, window: BurstWindow) {
        // At once, so a screen can say whether it will be heard.
        self.speaker.probe(true);
        let mut gathering: Option<(Gathering, f32)> = None;
        loop {
            let wait = match &gathering {
                Some((g, _)) => g
                    .closes_at(window)
                    .saturating_duration_since(Instant::now()),
                None => RETRY_EVERY,
            };
            match rx.recv_timeout(wait) {
                Ok(Job::Alert(alert, volume)) => {
                    let now = Instant::now();
                    match &mut gathering {
                        Some((g, v)) if g.is_open(window, now) => {
                            g.push(alert, now);
                            *v = volume;
                        }
                        _ => {
                            if let Some((g, v)) = gathering.take() {
                                self.finish(g, v);
                            }
                            gathering = Some((Gathering::new(alert, now), volume));
                        }
                    }
                }
                Ok(Job::Test(volume)) => {
                    if let Some((g, v)) = gathering.take() {
                        self.finish(g, v);
                    }
                    self.speaker.probe(true);
                    self.speaker.play(Sound::Chime, volume);
                }
                Ok(Job::Flush(done)) => {
                    if let Some((g, v)) = gathering.take() {
                        self.finish(g, v);
                    }
                    let _ = done.send(());
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    if gathering.is_none() && self.speaker.state() != SoundDevice::Ready {
                        // Has a device appeared? (Every RETRY_EVERY while none.)
                        self.speaker.probe(false);
                    }
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    if let Some((g, v)) = gathering.take() {
                        self.finish(g, v);
                    }
                    return;
                }
            }
            if let Some((g, _)) = &gathering {
                if !g.is_open(window, Instant::now()) {
                    if let Some((g, v)) = gathering.take() {
                        self.finish(g, v);
                    }
                }
            }
        }
    }

    /// Tells, plays and shows one closed burst.
    fn finish(&mut self, gathering: Gathering, volume: f32) {
        let burst = Burst::of(&gathering.into_alerts());
        if !burst.new_orders.is_empty() {
            let _ = self.bursts.send(NewOrdersBurst {
                count: u32::try_from(burst.new_orders.len()).unwrap_or(u32::MAX),
                numbers: burst.new_orders.clone(),
            });
        }
        for sound in &burst.sounds {
            self.speaker.play(*sound, volume);
        }
        for (title, body) in &burst.notifications {
            if let Err(e) = show_notification(&self.app_name, title, body) {
                if !self.notify_failed.swap(true, Ordering::Relaxed) {
                    tracing::warn!(error = %e, "cannot show notifications; carrying on without them");
                }
            }
        }
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

/// One note of a sound: when it starts and its pitch.
struct Note {
    start_ms: u32,
    hz: f32,
}

/// The notes of a sound and how long each rings.
fn notes(sound: Sound) -> (&'static [Note], u32) {
    match sound {
        // A bright rising major arpeggio (E6, G#6, B6), each note struck
        // 110 ms after the last: unlike any till beep or phone ring.
        Sound::Chime => (
            &[
                Note {
                    start_ms: 0,
                    hz: 1318.5,
                },
                Note {
                    start_ms: 110,
                    hz: 1661.2,
                },
                Note {
                    start_ms: 220,
                    hz: 1975.5,
                },
            ],
            260,
        ),
        // Two falling low notes (G4, C4): something was taken away.
        Sound::Cancel => (
            &[
                Note {
                    start_ms: 0,
                    hz: 392.0,
                },
                Note {
                    start_ms: 200,
                    hz: 261.6,
                },
            ],
            280,
        ),
    }
}

/// The sample rate sounds are made at (rodio converts to the device's).
pub const SOUND_RATE: u32 = 48_000;

/// How far below full scale a sound peaks before the volume is applied.
pub const SOUND_PEAK: f32 = 0.95;

/// Attack of each note: short enough to cut through a noisy room, long
/// enough not to click.
const ATTACK_MS: f32 = 4.0;

/// The samples of `sound` (mono, [`SOUND_RATE`]), peaking at
/// [`SOUND_PEAK`]: each note a sine with a little of its octave for
/// brightness, a short attack and an exponential decay, the notes
/// overlapping like struck bars.
pub fn samples(sound: Sound) -> Vec<f32> {
    let (notes, ring_ms) = notes(sound);
    let rate = SOUND_RATE as f32;
    let end_ms = notes.iter().map(|n| n.start_ms).max().unwrap_or(0) + ring_ms;
    let len = (end_ms as usize * SOUND_RATE as usize) / 1000;
    let mut out = vec![0.0f32; len];
    let attack = ATTACK_MS * rate / 1000.0;
    let ring = ring_ms as f32 * rate / 1000.0;
    for note in notes {
        let from = (note.start_ms as usize * SOUND_RATE as usize) / 1000;
        let w = std::f32::consts::TAU * note.hz / rate;
        for (i, sample) in out[from..].iter_mut().enumerate().take(ring as usize) {
            let t = i as f32;
            let envelope = if t < attack {
                t / attack
            } else {
                // -40 dB by the end of the ring, then a short fade to zero.
                let decay = (-4.6 * (t - attack) / ring).exp();
                let tail = ((ring - t) / attack).clamp(0.0, 1.0);
                decay * tail
            };
            *sample += envelope * ((w * t).sin() + 0.3 * (2.0 * w * t).sin());
        }
    }
    let peak = out.iter().fold(0.0f32, |m, s| m.max(s.abs()));
    if peak > 0.0 {
        let gain = SOUND_PEAK / peak;
        for sample in &mut out {
            *sample *= gain;
        }
    }
    out
}

/// How long `sound` plays.
pub fn duration(sound: Sound) -> Duration {
    let (notes, ring_ms) = notes(sound);
    let end_ms = notes.iter().map(|n| n.start_ms).max().unwrap_or(0) + ring_ms;
    Duration::from_millis(u64::from(end_ms))
}

/// How long the device stays open after a sound, so the sound card plays
/// what it has buffered before the device closes.
const DRAIN: Duration = Duration::from_millis(150);

/// How often a missing sound device is looked for again: at most this
/// often when a sound should play, and this often while idle.
pub const RETRY_EVERY: Duration = Duration::from_secs(30);

/// What the speaker knows of the sound device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum SoundDevice {
    /// Not tried yet.
    Unknown,
    /// The default output opened the last time it was tried.
    Ready,
    /// It did not: sounds are silent until it opens again.
    Missing,
}

/// Opens the audio device for each sound and closes it after, so the app
/// holds no audio device between alerts. If opening fails the speaker
/// stays quiet, says so once, and tries again at most every
/// [`RETRY_EVERY`] (or when told to, by a Test button).
pub struct Speaker {
    state: SoundDevice,
    tried: Option<Instant>,
    report: Option<watch::Sender<SoundDevice>>,
}

impl Default for Speaker {
    fn default() -> Speaker {
        Speaker {
            state: SoundDevice::Unknown,
            tried: None,
            report: None,
        }
    }
}

impl Speaker {
    /// A speaker that tells `report` each change of the device's state.
    pub fn reporting(report: watch::Sender<SoundDevice>) -> Speaker {
        Speaker {
            report: Some(report),
            ..Speaker::default()
        }
    }

    /// Whether the sound device opened the last time it was tried.
    pub fn is_available(&self) -> bool {
        self.state == SoundDevice::Ready
    }

    pub fn state(&self) -> SoundDevice {
        self.state
    }

    fn set(&mut self, state: SoundDevice) {
        if state == self.state {
            return;
        }
        match state {
            SoundDevice::Ready => tracing::info!("sound device opened; alerts are heard"),
            SoundDevice::Missing => {}
            SoundDevice::Unknown => {}
        }
        self.state = state;
        if let Some(report) = &self.report {
            report.send_replace(state);
        }
    }

    /// Opens the default output, unless it failed less than
    /// [`RETRY_EVERY`] ago and `force` is false.
    fn open(&mut self, force: bool) -> Option<rodio::MixerDeviceSink> {
        let recently = self.tried.is_some_and(|t| t.elapsed() < RETRY_EVERY);
        if self.state == SoundDevice::Missing && recently && !force {
            return None;
        }
        self.tried = Some(Instant::now());
        match rodio::DeviceSinkBuilder::open_default_sink() {
            Ok(mut device) => {
                device.log_on_drop(false);
                self.set(SoundDevice::Ready);
                Some(device)
            }
            Err(e) => {
                if self.state != SoundDevice::Missing {
                    tracing::warn!(error = %e, "no sound device; alerts will be silent until one opens");
                }
                self.set(SoundDevice::Missing);
                None
            }
        }
    }

    /// Tries the device (opens and closes it at once) and returns its state.
    pub fn probe(&mut self, force: bool) -> SoundDevice {
        drop(self.open(force));
        self.state
    }

    /// Plays `sound` to its end (blocking this thread).
    pub fn play(&mut self, sound: Sound, volume: f32) {
        let Some(device) = self.open(false) else {
            return;
        };
        let gain = volume.clamp(0.0, 1.0);
        let data: Vec<f32> = samples(sound).into_iter().map(|s| s * gain).collect();
        let player = rodio::Player::connect_new(device.mixer());
        player.append(rodio::buffer::SamplesBuffer::new(
            std::num::NonZero::<u16>::MIN,
            std::num::NonZero::new(SOUND_RATE).unwrap_or(std::num::NonZero::<u32>::MIN),
            data,
        ));
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
                    station: None,
                    done: false,
                    done_at: None,
                },
                OrderLine {
                    menu_id: "latte".into(),
                    menu_name: "Latte".into(),
                    quantity: 1,
                    unit_price: 3500,
                    total_price: 3500,
                    options: Vec::new(),
                    station: None,
                    done: false,
                    done_at: None,
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

    fn new_order(n: u32) -> Alert {
        Alert {
            kind: AlertKind::NewOrder,
            key: format!("order:ORD-{n}"),
            title: format!("Order #{n}"),
            body: "1× Latte".into(),
            sound: Some(Sound::Chime),
            notify: true,
            daily_num: Some(n),
        }
    }

    /// Feeds alerts arriving at the given milliseconds through the same
    /// rule as the alert thread; returns the bursts as daily numbers.
    fn gather(arrivals: &[(u64, u32)], window: BurstWindow) -> Vec<Vec<u32>> {
        let start = Instant::now();
        let mut bursts = Vec::new();
        let mut open: Option<Gathering> = None;
        for &(ms, n) in arrivals {
            let now = start + Duration::from_millis(ms);
            match &mut open {
                Some(g) if g.is_open(window, now) => g.push(new_order(n), now),
                _ => {
                    if let Some(g) = open.take() {
                        bursts.push(Burst::of(&g.into_alerts()).new_orders);
                    }
                    open = Some(Gathering::new(new_order(n), now));
                }
            }
        }
        if let Some(g) = open {
            bursts.push(Burst::of(&g.into_alerts()).new_orders);
        }
        bursts
    }

    #[test]
    fn alerts_close_together_make_one_burst_and_a_pause_starts_another() {
        let window = BurstWindow::default();
        // A replay: five at once.
        assert_eq!(
            gather(&[(0, 12), (1, 13), (1, 14), (2, 15), (3, 16)], window),
            [vec![12, 13, 14, 15, 16]]
        );
        // Five within 1.5 s, 300 ms apart.
        assert_eq!(
            gather(&[(0, 1), (300, 2), (600, 3), (900, 4), (1200, 5)], window),
            [vec![1, 2, 3, 4, 5]]
        );
        // Two orders half a minute apart chime twice.
        assert_eq!(gather(&[(0, 1), (30_000, 2)], window), [vec![1], vec![2]]);
        // A quiet gap closes a burst.
        assert_eq!(
            gather(&[(0, 1), (100, 2), (600, 3)], window),
            [vec![1, 2], vec![3]]
        );
        // A steady stream is cut at the longest a burst lasts.
        let stream: Vec<(u64, u32)> = (0..10).map(|i| (i * 300, i as u32 + 1)).collect();
        assert_eq!(
            gather(&stream, window),
            [vec![1, 2, 3, 4, 5], vec![6, 7, 8, 9, 10]]
        );
        // When a burst closes: after the quiet, at most after the longest.
        let start = Instant::now();
        let mut g = Gathering::new(new_order(1), start);
        assert_eq!(g.closes_at(window), start + window.quiet);
        g.push(new_order(2), start + Duration::from_millis(1300));
        assert_eq!(g.closes_at(window), start + window.longest);
    }

    #[test]
    fn a_burst_chimes_once_and_names_its_orders_in_one_notification() {
        let alerts: Vec<Alert> = (12..=16).map(new_order).collect();
        let burst = Burst::of(&alerts);
        assert_eq!(burst.sounds, [Sound::Chime]);
        assert_eq!(burst.new_orders, [12, 13, 14, 15, 16]);
        assert_eq!(
            burst.notifications,
            [(
                "5 new orders".to_owned(),
                "#12, #13, #14, #15, #16".to_owned()
            )]
        );
        // One order reads as before.
        let one = Burst::of(&alerts[..1]);
        assert_eq!(
            one.notifications,
            [("Order #12".to_owned(), "1× Latte".to_owned())]
        );
        // A cancellation in the same burst is its own sound and notification.
        let cancel = Alert {
            kind: AlertKind::Cancelled,
            key: "cancel:ORD-12".into(),
            title: "Order #12 cancelled".into(),
            body: "customer left".into(),
            sound: Some(Sound::Cancel),
            notify: true,
            daily_num: Some(12),
        };
        let mut mixed = alerts.clone();
        mixed.push(cancel);
        let burst = Burst::of(&mixed);
        assert_eq!(burst.sounds, [Sound::Chime, Sound::Cancel]);
        assert_eq!(burst.new_orders.len(), 5);
        assert_eq!(burst.notifications.len(), 2);
        assert_eq!(burst.notifications[1].0, "Order #12 cancelled");
        // Muted: no sound, the count still shown.
        let muted: Vec<Alert> = alerts
            .iter()
            .cloned()
            .map(|a| Alert { sound: None, ..a })
            .collect();
        let burst = Burst::of(&muted);
        assert!(burst.sounds.is_empty());
        assert_eq!(burst.notifications[0].0, "5 new orders");
        // Forty orders name the first twelve.
        let many: Vec<Alert> = (1..=40).map(new_order).collect();
        let (title, body) = &Burst::of(&many).notifications[0];
        assert_eq!(title, "40 new orders");
        assert!(
            body.starts_with("#1, #2,") && body.ends_with("#12, …"),
            "{body}"
        );
    }

    #[test]
    fn the_chime_is_three_notes_near_full_scale_without_clipping() {
        for sound in [Sound::Chime, Sound::Cancel] {
            let samples = samples(sound);
            let peak = samples.iter().fold(0.0f32, |m, s| m.max(s.abs()));
            assert!(
                (peak - SOUND_PEAK).abs() < 1e-4,
                "{sound:?} peaks at {peak}"
            );
            let expected = duration(sound).as_millis() as usize * SOUND_RATE as usize / 1000;
            assert_eq!(samples.len(), expected);
            assert!(
                samples.last().unwrap().abs() < 1e-3,
                "{sound:?} ends in a click"
            );
        }
        let chime = samples(Sound::Chime);
        assert!((300..=600).contains(&duration(Sound::Chime).as_millis()));
        // A clear attack: within 5 ms of each note's start the level is up.
        for start_ms in [0usize, 110, 220] {
            let at = start_ms * SOUND_RATE as usize / 1000;
            let window = &chime[at + 200..at + 480];
            let level = window.iter().fold(0.0f32, |m, s| m.max(s.abs()));
            assert!(level > 0.4, "note at {start_ms} ms reaches only {level}");
        }
        // Loud overall: RMS over the first 300 ms.
        let head = &chime[..SOUND_RATE as usize * 3 / 10];
        let rms = (head.iter().map(|s| s * s).sum::<f32>() / head.len() as f32).sqrt();
        assert!(rms > 0.2, "rms {rms}");
    }

    #[test]
    fn chime_volume_setting_reads_as_a_fraction() {
        assert_eq!(volume_from_setting(Some("80")), Some(0.8));
        assert_eq!(volume_from_setting(Some("0")), Some(0.0));
        assert_eq!(volume_from_setting(Some("100")), Some(1.0));
        assert_eq!(volume_from_setting(Some("101")), None);
        assert_eq!(volume_from_setting(Some("loud")), None);
        assert_eq!(volume_from_setting(None), None);
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
