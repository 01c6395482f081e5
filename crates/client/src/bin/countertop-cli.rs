//! `countertop-cli`: a terminal device on the client core. Operators use it
//! to see exactly what a display sees (`watch`), to pair a folder as a
//! device (`pair`), and to place an order through the outbox (`order`).
//! Each `--data` folder is its own device: token, cache and outbox.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand};
use countertop_client::{
    connect, pair, AlertOutput, AlertSettings, ConnectOptions, ConnectionHandle, CoreEvent,
    DesktopOutput, HubNode, SilentOutput,
};
use countertop_protocol::{ChosenOption, NewOrderItem, PayType};
use serde_json::{json, Value};
use tokio::sync::mpsc::UnboundedReceiver;

#[derive(Parser)]
#[command(
    name = "countertop-cli",
    version,
    about = "A terminal Countertop device"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Pair the data folder as a device, with a code from the hub.
    Pair {
        #[arg(long)]
        hub: String,
        #[arg(long)]
        code: String,
        #[arg(long)]
        data: Option<PathBuf>,
    },
    /// Show or change this device's local settings.
    Config {
        #[arg(long)]
        data: Option<PathBuf>,
        /// Let a kiosk take orders while the hub is out of reach.
        #[arg(long)]
        offline_ordering: Option<bool>,
        /// Silence alert sounds (notifications stay).
        #[arg(long)]
        mute: Option<bool>,
        /// Alert volume, 0.0 to 1.0.
        #[arg(long)]
        volume: Option<f32>,
    },
    /// Show the connection state and every applied event.
    Watch {
        #[command(flatten)]
        common: Common,
    },
    /// Place an order through the outbox.
    Order {
        #[command(flatten)]
        common: Common,
        /// MENU_ID:QTY[:GROUP=CHOICE,...], repeatable (`americano:1:temperature=hot`).
        #[arg(long = "item", required = true, value_parser = parse_item)]
        items: Vec<NewOrderItem>,
        #[arg(long, default_value = "CARD", value_parser = parse_pay)]
        pay: PayType,
        #[arg(long)]
        cell: Option<String>,
        /// Queue the order even while the hub is out of reach.
        #[arg(long)]
        offline_ok: bool,
        /// Queue and exit; a later run sends it.
        #[arg(long)]
        no_wait: bool,
        /// How long to wait for the hub before giving up (seconds).
        #[arg(long, default_value_t = 30)]
        wait: u64,
    },
}

#[derive(Args, Clone)]
struct Common {
    /// The hub's address (defaults to the one the folder was paired with,
    /// and the nodes its pairing named). Repeatable: the café's hub nodes,
    /// tried in this order; the device moves to the next when one is
    /// unreachable.
    #[arg(long)]
    hub: Vec<String>,
    #[arg(long)]
    data: Option<PathBuf>,
    /// One JSON object a line.
    #[arg(long)]
    json: bool,
    /// No sound and no desktop notifications (alerts are still printed).
    #[arg(long)]
    quiet: bool,
    /// Replayed orders older than this do not alert (seconds).
    #[arg(long)]
    alert_max_age: Option<u64>,
    /// Reconnect timing for tests and labs (milliseconds).
    #[arg(long, hide = true)]
    backoff_ms: Option<u64>,
    #[arg(long, hide = true)]
    suspend_ms: Option<u64>,
    #[arg(long, hide = true)]
    ping_ms: Option<u64>,
    #[arg(long, hide = true)]
    answer_ms: Option<u64>,
    #[arg(long, hide = true)]
    request_timeout_ms: Option<u64>,
}

fn parse_item(text: &str) -> Result<NewOrderItem, String> {
    // MENU_ID:QTY, then any options as GROUP=CHOICE, comma-separated:
    // `americano:2:temperature=ice,extra-shot=shot,extra-shot=shot`.
    let mut parts = text.splitn(3, ':');
    let menu_id = parts.next().unwrap_or_default();
    let quantity = parts
        .next()
        .ok_or_else(|| format!("expected MENU_ID:QTY[:GROUP=CHOICE,...], got {text}"))?;
    let quantity: u32 = quantity
        .parse()
        .map_err(|_| format!("quantity must be a whole number in {text}"))?;
    if menu_id.is_empty() || quantity == 0 {
        return Err(format!("expected MENU_ID:QTY with QTY ≥ 1, got {text}"));
    }
    let options = match parts.next() {
        None => Vec::new(),
        Some(list) => list
            .split(',')
            .map(|pair| {
                let (group, choice) = pair
                    .split_once('=')
                    .filter(|(g, c)| !g.is_empty() && !c.is_empty())
                    .ok_or_else(|| format!("expected GROUP=CHOICE, got {pair:?} in {text}"))?;
                Ok(ChosenOption {
                    group_id: group.to_owned(),
                    choice_id: choice.to_owned(),
                })
            })
            .collect::<Result<_, String>>()?,
    };
    Ok(NewOrderItem {
        menu_id: menu_id.to_owned(),
        quantity,
        options,
    })
}

fn parse_pay(text: &str) -> Result<PayType, String> {
    PayType::parse(&text.to_ascii_uppercase())
        .ok_or_else(|| format!("pay must be CARD, CASH or CELL, not {text}"))
}

fn data_dir(data: Option<PathBuf>) -> PathBuf {
    data.unwrap_or_else(|| {
        let base = std::env::var_os("XDG_DATA_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
            .unwrap_or_else(|| PathBuf::from("."));
        base.join("countertop-cli")
    })
}

fn options(common: &Common) -> ConnectOptions {
    let mut options = ConnectOptions::new(&data_dir(common.data.clone()));
    options.hubs = common.hub.clone();
    let ms = Duration::from_millis;
    if let Some(v) = common.backoff_ms {
        options.policy.base = ms(v);
        options.policy.cap = ms(v * 8);
        options.outbox_retry = ms(v.max(50));
    }
    if let Some(v) = common.suspend_ms {
        options.policy.suspended_interval = ms(v);
    }
    if let Some(v) = common.ping_ms {
        options.heartbeat.ping_every = ms(v);
    }
    if let Some(v) = common.answer_ms {
        options.heartbeat.answer_within = ms(v);
        options.heartbeat.connect_within = ms(v.max(1000));
    }
    if let Some(v) = common.request_timeout_ms {
        options.request_timeout = ms(v);
    }
    options.output = if common.quiet {
        Arc::new(SilentOutput) as Arc<dyn AlertOutput>
    } else {
        Arc::new(DesktopOutput::start("Countertop"))
    };
    options
}

/// Applies `--alert-max-age` on top of the stored or default settings.
fn with_alert_age(options: &mut ConnectOptions, common: &Common, role: countertop_protocol::Role) {
    if let Some(secs) = common.alert_max_age {
        let mut settings = options
            .alerts
            .clone()
            .unwrap_or_else(|| AlertSettings::for_role(role));
        settings.replay_max_age = Duration::from_secs(secs);
        options.alerts = Some(settings);
    }
}

/// Prints core events, as text or one JSON object a line. The hub node in
/// use (when the device knows several) is told on stderr, so the lines on
/// stdout are those of a device with one hub.
struct Printer {
    json: bool,
    /// The state last printed, and the node last told.
    last: std::cell::RefCell<(Option<countertop_client::ConnectionState>, Option<HubNode>)>,
}

impl Printer {
    fn line(&self, value: Value, text: String) {
        if self.json {
            println!("{value}");
        } else {
            println!("{text}");
        }
    }

    fn new(json: bool) -> Printer {
        Printer {
            json,
            last: Default::default(),
        }
    }

    fn print(&self, event: &CoreEvent) {
        match event {
            CoreEvent::State(status) => {
                let (state_changed, moved) = {
                    let mut last = self.last.borrow_mut();
                    let state_changed = last.0.as_ref() != Some(&status.state);
                    let moved = last.1 != status.node;
                    *last = (Some(status.state.clone()), status.node.clone());
                    (state_changed, moved)
                };
                if let (true, Some(node)) = (moved, &status.node) {
                    eprintln!(
                        "countertop-cli: on hub node {} of {}: {}",
                        node.number, node.of, node.url
                    );
                }
                if !state_changed {
                    return;
                }
                let mut value = serde_json::to_value(status).unwrap_or(Value::Null);
                if let Value::Object(map) = &mut value {
                    map.remove("node");
                    map.insert("kind".into(), json!("state"));
                }
                self.line(value, format!("state: {}", describe_state(status)));
            }
            CoreEvent::Applied { seq, event, .. } => self.line(
                json!({"kind": "event", "event": event.name(), "seq": seq, "data": event.data_json()}),
                format!("#{seq} {} {}", event.name(), event.data_json()),
            ),
            CoreEvent::Snapshot {
                seq,
                epoch,
                reason,
                orders,
            } => self.line(
                json!({"kind": "snapshot", "seq": seq, "epoch": epoch, "reason": reason, "orders": orders}),
                format!("snapshot ({reason:?}) at #{seq}: {} orders", orders.len()),
            ),
            CoreEvent::Alert(alert) => {
                let mut value = serde_json::to_value(alert).unwrap_or(Value::Null);
                if let Value::Object(map) = &mut value {
                    map.insert("kind".into(), json!("alert"));
                }
                self.line(value, format!("ALERT {} — {}", alert.title, alert.body));
            }
            CoreEvent::OutboxDepth(depth) => self.line(
                json!({"kind": "outbox", "depth": depth}),
                format!("outbox: {depth} waiting"),
            ),
            CoreEvent::OutboxSent { key, response } => self.line(
                json!({"kind": "sent", "key": key, "response": response}),
                format!("sent {key}: {response}"),
            ),
            CoreEvent::OutboxRefused { key, error } => self.line(
                json!({"kind": "refused", "key": key, "error": error}),
                format!("REFUSED {key}: {} ({})", error.message, error.code),
            ),
            CoreEvent::HubError(error) => self.line(
                json!({"kind": "hub_error", "error": error}),
                format!("hub error: {} ({})", error.message, error.code),
            ),
        }
    }
}

fn describe_state(status: &countertop_client::Status) -> String {
    use countertop_client::ConnectionState::*;
    let age = status
        .newest_event_at
        .map(|at| {
            format!(
                ", newest event {}s ago",
                (chrono::Utc::now() - at).num_seconds()
            )
        })
        .unwrap_or_default();
    let state = match &status.state {
        Connecting { attempt } => format!("connecting (attempt {attempt})"),
        Live { since } => format!("live since {since}"),
        Reconnecting {
            attempt,
            of,
            next_try_in,
        } => format!(
            "reconnecting (attempt {attempt} of {of}, next try in {:.1}s)",
            next_try_in.as_secs_f64()
        ),
        Suspended { since, next_try_at } => {
            format!("suspended since {since}, next try at {next_try_at}")
        }
        Rejected { message, .. } => format!("rejected: {message}"),
        Stopped => "stopped".into(),
    };
    format!("{state}{age}")
}

async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Prints events until the connection stops.
async fn drain_until_stopped(printer: &Printer, events: &mut UnboundedReceiver<CoreEvent>) {
    while let Some(event) = events.recv().await {
        printer.print(&event);
        if matches!(&event, CoreEvent::State(s) if s.state == countertop_client::ConnectionState::Stopped)
        {
            break;
        }
    }
}

async fn open(
    common: &Common,
    offline_ordering: Option<bool>,
) -> Result<(ConnectionHandle, UnboundedReceiver<CoreEvent>, Printer)> {
    let mut options = options(common);
    options.offline_ordering = offline_ordering;
    let cache = countertop_client::Cache::open(&options.data_dir).context("opening the cache")?;
    let device = cache
        .device()?
        .context("this folder is not paired: run `countertop-cli pair` first")?;
    with_alert_age(&mut options, common, device.role);
    let printer = Printer::new(common.json);
    let cursor = cache.cursor()?;
    let orders = cache.orders()?;
    printer.line(
        json!({"kind": "cache", "role": device.role, "deviceId": device.device_id, "seq": cursor.seq, "epoch": cursor.epoch, "orders": orders.len()}),
        format!(
            "{} device {} ({}): {} cached orders as of #{}",
            device.role.as_str(),
            device.name,
            device.device_id,
            orders.len(),
            cursor.seq
        ),
    );
    let (handle, events) = connect(options).await.context("starting the connection")?;
    Ok((handle, events, printer))
}

#[tokio::main]
async fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match cli.command {
        Command::Pair { hub, code, data } => {
            let dir = data_dir(data);
            let (device, store) = pair(&hub, &code, &dir, Duration::from_secs(15))
                .await
                .context("pairing")?;
            println!(
                "{}",
                json!({"kind": "paired", "deviceId": device.device_id, "role": device.role, "name": device.name, "tokenStore": format!("{store:?}"), "data": dir})
            );
            Ok(())
        }
        Command::Config {
            data,
            offline_ordering,
            mute,
            volume,
        } => {
            let dir = data_dir(data);
            let cache = countertop_client::Cache::open(&dir).context("opening the cache")?;
            let device = cache
                .device()?
                .context("this folder is not paired: run `countertop-cli pair` first")?;
            let key = countertop_client::device::ALERT_SETTINGS_KEY;
            let mut alerts: AlertSettings = match cache.local_setting(key)? {
                Some(text) => serde_json::from_str(&text).context("stored alert settings")?,
                None => AlertSettings::for_role(device.role),
            };
            if let Some(mute) = mute {
                alerts.mute = mute;
            }
            if let Some(volume) = volume {
                alerts.volume = volume.clamp(0.0, 1.0);
            }
            cache.set_local_setting(key, &serde_json::to_string(&alerts)?)?;
            let offline_key = countertop_client::device::OFFLINE_ORDERING_KEY;
            if let Some(on) = offline_ordering {
                cache.set_local_setting(offline_key, if on { "true" } else { "false" })?;
            }
            let offline = cache.local_setting(offline_key)?.as_deref() == Some("true");
            println!(
                "{}",
                json!({"kind": "config", "role": device.role, "offlineOrdering": offline, "alerts": alerts})
            );
            Ok(())
        }
        Command::Watch { common } => {
            let (handle, mut events, printer) = open(&common, None).await?;
            tokio::select! {
                () = stop_signal() => {}
                () = drain_until_stopped(&printer, &mut events) => return Ok(()),
            }
            handle.shutdown();
            drain_until_stopped(&printer, &mut events).await;
            Ok(())
        }
        Command::Order {
            mut common,
            items,
            pay,
            cell,
            offline_ok,
            no_wait,
            wait,
        } => {
            if pay == PayType::Cell && cell.is_none() {
                bail!("--pay CELL needs --cell ID");
            }
            let offline_ok = offline_ok || no_wait;
            // An order run plays no sounds; its output is the order's fate.
            common.quiet = true;
            let offline_policy = offline_ok.then_some(true);
            let (handle, mut events, printer) = open(&common, offline_policy).await?;
            let deadline = tokio::time::Instant::now() + Duration::from_secs(wait);
            // Without the offline policy a kiosk orders only while live: give
            // the connection its moment to come up first.
            if !offline_ok {
                let mut status = handle.watch_status();
                let live =
                    tokio::time::timeout_at(deadline, status.wait_for(|s| s.state.is_live())).await;
                if !matches!(live, Ok(Ok(_))) {
                    handle.shutdown();
                    bail!("the hub is out of reach and ordering offline is off (use --offline-ok to queue)");
                }
            }
            let key = handle.place_order(items, pay, cell)?;
            printer.line(
                json!({"kind": "queued", "key": key}),
                format!("queued {key}"),
            );
            if no_wait {
                handle.shutdown();
                drain_until_stopped(&printer, &mut events).await;
                return Ok(());
            }
            let outcome = tokio::time::timeout_at(deadline, async {
                while let Some(event) = events.recv().await {
                    printer.print(&event);
                    match event {
                        CoreEvent::OutboxSent { key: k, .. } if k == key => return Ok(()),
                        CoreEvent::OutboxRefused { key: k, error } if k == key => {
                            return Err(anyhow::anyhow!(
                                "the hub refused the order: {} ({})",
                                error.message,
                                error.code
                            ))
                        }
                        _ => {}
                    }
                }
                Err(anyhow::anyhow!("the connection stopped"))
            })
            .await;
            handle.shutdown();
            drain_until_stopped(&printer, &mut events).await;
            match outcome {
                Ok(result) => result,
                Err(_) => bail!("not sent within {wait}s; it stays in the outbox of this folder and goes out on the next run"),
            }
        }
    }
}
