//! `countertop-board-frames`: the barista board's frame time at a rush
//! (issue 16). Starts the real app (`countertop --demo --screens barista`,
//! which hosts the demo café's hub) through tauri-driver, places open orders
//! with options through the hub's REST API as a kiosk, sizes the window to
//! the screen (1920×1080) and, once every order is on the board, measures
//! inside the window: the interval between animation frames
//! (`requestAnimationFrame` timestamps), the work of each frame's rendering
//! step, and the cost of each ticket's per-second update (each ticket's
//! timer turns at its own moment of the second and calls `markBenchTick` in
//! `ui/src/core.ts` while `window.__countertopBench` is set), one by one and
//! summed over each second. Prints a table and PASS or FAIL against the
//! budget; see BENCHMARKS.md.
//!
//! Run it under a display and a private D-Bus:
//! `dbus-run-session -- xvfb-run -a -s "-screen 0 1920x1080x24" target/release/countertop-board-frames`.

use std::ffi::OsString;
use std::fmt::Write as _;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};
use clap::{Parser, ValueEnum};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};

#[derive(Parser)]
#[command(
    name = "countertop-board-frames",
    version,
    about = "The barista board's frame time with many open orders, measured in the app's window"
)]
struct Cli {
    /// Open orders on the board while measuring (each with options).
    #[arg(long, default_value_t = 60)]
    orders: usize,
    /// Seconds measured (at least 20).
    #[arg(long, default_value_t = 30)]
    seconds: u64,
    /// Seconds the board is left to settle once every order is on it: a new
    /// card flashes for 3 s and stays highlighted for 10 s.
    #[arg(long, default_value_t = 11)]
    settle: u64,
    /// The window's size, WIDTHxHEIGHT (the screen must be at least as large).
    #[arg(long, default_value = "1920x1080")]
    size: String,
    /// WebKit's accelerated compositing: off, the app's default, or on, as
    /// the window tests run it.
    #[arg(long, value_enum, default_value_t = Compositing::Off)]
    compositing: Compositing,
    /// The budget of one frame, in ms.
    #[arg(long, default_value_t = 16.0)]
    budget_ms: f64,
    /// Write a plot of every frame and re-render here (SVG).
    #[arg(long)]
    svg: Option<PathBuf>,
    /// Write every frame and re-render here (JSON).
    #[arg(long)]
    raw: Option<PathBuf>,
    /// The app binary (default: `countertop` beside this binary).
    #[arg(long)]
    app_bin: Option<PathBuf>,
    /// The hub binary, for pairing codes (default: `countertop-hub` beside this binary).
    #[arg(long)]
    hub_bin: Option<PathBuf>,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Compositing {
    Off,
    On,
}

/// How long starting the app, or the board showing every order, may take.
const DEADLINE: Duration = Duration::from_secs(60);

/// One refresh at 60 Hz, in ms.
const REFRESH_MS: f64 = 1000.0 / 60.0;

fn beside_me(name: &str) -> Result<PathBuf> {
    Ok(std::env::current_exe()?
        .parent()
        .context("the bench binary's folder")?
        .join(name))
}

fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn tauri_driver() -> Result<PathBuf> {
    let home = std::env::var_os("HOME").map(PathBuf::from);
    std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .chain(home.map(|h| h.join(".cargo/bin")))
        .map(|dir| dir.join("tauri-driver"))
        .find(|p| p.exists())
        .context("tauri-driver is missing: cargo install tauri-driver --version ^2 --locked")
}

/// tauri-driver on free ports; killed when dropped.
struct Driver {
    child: Child,
    port: u16,
}

impl Driver {
    async fn start(env: &[(&str, OsString)]) -> Result<Driver> {
        let port = free_port()?;
        let native = free_port()?;
        let child = Command::new(tauri_driver()?)
            .args([
                "--port",
                &port.to_string(),
                "--native-port",
                &native.to_string(),
            ])
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("starting tauri-driver")?;
        let driver = Driver { child, port };
        let start = Instant::now();
        while tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
        {
            ensure!(
                start.elapsed() < DEADLINE,
                "tauri-driver did not listen on {port}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(driver)
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Polls `check` every 100 ms until it answers true, or fails after `deadline`.
async fn until<F, Fut>(what: &str, deadline: Duration, mut check: F) -> Result<()>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<bool>>,
{
    let start = Instant::now();
    let mut last_error = None;
    loop {
        match check().await {
            Ok(true) => return Ok(()),
            Ok(false) => {}
            Err(e) => last_error = Some(e),
        }
        if start.elapsed() > deadline {
            match last_error {
                Some(e) => bail!("timed out waiting for {what} (last error: {e:#})"),
                None => bail!("timed out waiting for {what}"),
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A kiosk paired with the hub that the app hosts in `data`.
struct Kiosk {
    url: String,
    token: String,
    http: reqwest::Client,
}

impl Kiosk {
    async fn pair(hub_bin: &Path, data: &Path) -> Result<Kiosk> {
        let note: Value = serde_json::from_str(
            &std::fs::read_to_string(data.join("hub.json")).context("reading hub.json")?,
        )?;
        let url = note["url"].as_str().context("hub.json's url")?.to_owned();
        let out = Command::new(hub_bin)
            .args(["pairing-code", "--role", "kiosk", "--data"])
            .arg(data.join("hub"))
            .output()
            .with_context(|| format!("running {}", hub_bin.display()))?;
        let code: Value = serde_json::from_slice(&out.stdout).with_context(|| {
            format!(
                "pairing-code printed {:?}",
                String::from_utf8_lossy(&out.stderr)
            )
        })?;
        let http = reqwest::Client::new();
        let paired: Value = http
            .post(format!("{url}/api/devices/pair"))
            .json(&json!({ "code": code["code"] }))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        let token = paired["token"].as_str().context("a token")?.to_owned();
        Ok(Kiosk { url, token, http })
    }

    /// Places the `i`th order of the rush; returns its daily number.
    async fn order(&self, i: usize) -> Result<u64> {
        let answer = self
            .http
            .post(format!("{}/api/orders", self.url))
            .bearer_auth(&self.token)
            .json(&rush_order(i))
            .send()
            .await?;
        let status = answer.status();
        let text = answer.text().await?;
        ensure!(status.is_success(), "POST /api/orders: {status} {text}");
        let order: Value = serde_json::from_str(&text)?;
        order["dailyNum"].as_u64().context("a dailyNum")
    }
}

const COFFEES: [&str; 6] = [
    "americano",
    "latte",
    "cappuccino",
    "vanilla-latte",
    "flat-white",
    "espresso",
];
const TEAS: [&str; 3] = ["green-tea", "earl-grey", "chamomile"];
const MILKY: [&str; 4] = ["latte", "cappuccino", "vanilla-latte", "flat-white"];

/// The `i`th order of the rush, from the demo café's menu: every drink HOT
/// or ICE; coffees with 0–3 extra shots, most in a size, the milky ones
/// with whole or oat milk; half of the orders to go, every third with a
/// second drink and every fifth with a croissant.
fn rush_order(i: usize) -> Value {
    let drink = |k: usize| {
        let all: Vec<&str> = COFFEES.iter().chain(&TEAS).copied().collect();
        let id = all[k % all.len()];
        let mut options = vec![json!({"groupId": "temperature",
            "choiceId": if (k / 2).is_multiple_of(2) { "hot" } else { "ice" }})];
        if COFFEES.contains(&id) {
            if id != "espresso" && !k.is_multiple_of(3) {
                options.push(json!({"groupId": "size",
                    "choiceId": if k % 3 == 1 { "regular" } else { "large" }}));
            }
            for _ in 0..k % 4 {
                options.push(json!({"groupId": "extra-shot", "choiceId": "shot"}));
            }
        }
        if MILKY.contains(&id) {
            options.push(json!({"groupId": "milk",
                "choiceId": if k.is_multiple_of(2) { "whole" } else { "oat" }}));
        }
        json!({"menuId": id, "quantity": 1 + (k % 5 == 4) as u32, "options": options})
    };
    let mut items = vec![drink(i)];
    if i % 3 == 1 {
        items.push(drink(i * 7 + 3));
    }
    if i % 5 == 2 {
        items.push(json!({"menuId": "croissant", "quantity": 1}));
    }
    json!({
        "idempotencyKey": format!("board-frames-{i}"),
        "items": items,
        "payType": "CARD",
        "fulfilment": if i.is_multiple_of(2) { "DINE_IN" } else { "TAKE_OUT" },
    })
}

/// Installed in the window once the board has settled.
///
/// Every animation frame records its timestamp's distance from the
/// previous one, and posts itself a message: the message runs once the
/// frame's rendering step (style, layout and what else the engine does in
/// that task) is over, so its delay from the frame callback is that step's
/// work.
///
/// Every update of the DOM is one delivery of a MutationObserver, right
/// after React's commit: it reads a layout figure, which runs style and
/// layout at once instead of at the next frame (the same work, moved to be
/// timed), and records how many mutations the update made and which
/// tickets (`order-N` cards) they touched. A clock about to re-render calls
/// `__countertopBench.tick(source)` first (`markBenchTick` in
/// ui/src/core.ts): each board ticket's own timer with "ticket" (since
/// 73f401b each ticket turns at its own moment of the second), the status
/// bar's clock with "clock". A tick starts the timing of the update it
/// causes: from the tick to the commit (`render`, which includes any wait
/// in the task queue), then style and layout (`layout`). Ticks that React
/// batches into one commit are one update, timed from the last of them
/// (React renders a batch in one task after its last update, so the time
/// between the ticks is not the board's work; their times are in the raw
/// output); the update is a ticket's when any of its ticks was. A tick is
/// forgotten 250 ms after it when no update followed (a clock whose text
/// did not change).
const INSTALL: &str = r#"
const b = { updates: [], frames: [], work: [], stop: false, pending: [], t0: performance.now() };
b.tick = (source) => {
  if (!b.stop) b.pending.push({ at: performance.now(), ticket: source === "ticket" });
};
window.__countertopBench = b;
const cardOf = (node) => {
  for (let e = node.nodeType === 1 ? node : node.parentElement; e; e = e.parentElement) {
    const id = e.dataset && e.dataset.testid;
    if (id && /^order-[0-9]+$/.test(id)) return id;
  }
  return null;
};
const observer = new MutationObserver((records) => {
  if (b.stop) return;
  const committed = performance.now();
  void document.body.offsetHeight;
  const laid = performance.now();
  const cards = new Set();
  for (const r of records) { const c = cardOf(r.target); if (c !== null) cards.add(c); }
  const last = b.pending.length > 0 ? b.pending[b.pending.length - 1].at : null;
  b.updates.push({ at: last ?? committed, render: last === null ? null : committed - last,
                   layout: laid - committed, mutations: records.length, cards: [...cards],
                   ticks: b.pending.map((p) => p.at), ticket: b.pending.some((p) => p.ticket) });
  b.pending = [];
});
observer.observe(document.body, { subtree: true, childList: true, characterData: true, attributes: true });
b.observer = observer;
const channel = new MessageChannel();
channel.port1.onmessage = (e) => { if (!b.stop) b.work.push(performance.now() - e.data); };
let last = null;
const frame = (ts) => {
  if (b.stop) return;
  if (last !== null) b.frames.push([ts, ts - last]);
  last = ts;
  // A tick whose clock changed nothing in the DOM: forgotten 250 ms after
  // it (a re-render runs in one task soon after its tick; counting frames
  // does not do, as frames come 1-3 ms apart while tickets update).
  const now = performance.now();
  b.pending = b.pending.filter((p) => now - p.at < 250);
  channel.port2.postMessage(performance.now());
  requestAnimationFrame(frame);
};
requestAnimationFrame(frame);
return [innerWidth, innerHeight, devicePixelRatio, document.visibilityState];
"#;

/// How many of the daily numbers in `arguments[0]` the window's screen
/// lacks, and how many order cards the board has drawn.
const ON_BOARD: &str = r#"
const done = arguments[arguments.length - 1];
const cards = [...document.querySelectorAll('[data-testid^="order-"]')]
  .filter((c) => /^order-[0-9]+$/.test(c.dataset.testid)).length;
window.__TAURI_INTERNALS__.invoke("screen").then((s) => {
  const open = new Set(s.orders.filter((o) => o.status === "PENDING").map((o) => o.dailyNum));
  done([arguments[0].filter((n) => !open.has(n)).length, cards]);
}, (e) => done([null, cards, String(e)]));
"#;

/// Stops the measuring and hands back what it recorded, and how many cards
/// the board has and how many of them are in view.
const COLLECT: &str = r#"
const b = window.__countertopBench;
b.stop = true;
b.observer.disconnect();
delete window.__countertopBench;
const cards = [...document.querySelectorAll('[data-testid^="order-"]')]
  .filter((c) => /^order-[0-9]+$/.test(c.dataset.testid));
const inView = cards.filter((c) => { const r = c.getBoundingClientRect();
  return r.bottom > 0 && r.right > 0 && r.top < innerHeight && r.left < innerWidth; }).length;
return { frames: b.frames, work: b.work, updates: b.updates, t0: b.t0, end: performance.now(),
         cards: cards.length, inView, elements: document.getElementsByTagName('*').length };
"#;

/// The `q` quantile (0–1) of sorted `v`, nearest rank.
fn quantile(v: &[f64], q: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    let rank = ((q * v.len() as f64).ceil() as usize).clamp(1, v.len());
    v[rank - 1]
}

fn sorted(mut v: Vec<f64>) -> Vec<f64> {
    v.sort_by(f64::total_cmp);
    v
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

/// The machine's CPU time so far from /proc/stat: (busy, all) in ticks.
fn cpu_ticks() -> Option<(u64, u64)> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let line = stat.lines().next()?.strip_prefix("cpu ")?;
    let v: Vec<u64> = line
        .split_whitespace()
        .map(|n| n.parse().ok())
        .collect::<Option<_>>()?;
    let all: u64 = v.iter().take(8).sum();
    // idle and iowait
    let idle = v.get(3)? + v.get(4).copied().unwrap_or(0);
    Some((all - idle, all))
}

/// One update of the DOM as the window timed it: `render` is known when a
/// clock's tick started it; `ticket` when one of those ticks was a board
/// ticket's timer.
#[derive(Clone)]
struct Update {
    at: f64,
    render: Option<f64>,
    layout: f64,
    mutations: u64,
    /// The tickets (`order-N`) whose DOM it changed.
    cards: Vec<String>,
    /// How many ticks it followed (React batched them into one commit).
    ticks: usize,
    ticket: bool,
}

impl Update {
    fn total(&self) -> f64 {
        self.render.unwrap_or(0.0) + self.layout
    }
}

struct Measured {
    /// (timestamp ms, distance from the previous frame ms).
    frames: Vec<(f64, f64)>,
    work: Vec<f64>,
    updates: Vec<Update>,
    /// When the measuring started and ended, on the window's clock (ms).
    t0: f64,
    end: f64,
    cards: u64,
    in_view: u64,
    elements: u64,
}

fn parse(v: &Value) -> Result<Measured> {
    let num = |v: &Value| v.as_f64().context("a number");
    let frames = v["frames"]
        .as_array()
        .context("frames")?
        .iter()
        .map(|f| Ok((num(&f[0])?, num(&f[1])?)))
        .collect::<Result<Vec<_>>>()?;
    let work = v["work"]
        .as_array()
        .context("work")?
        .iter()
        .map(num)
        .collect::<Result<Vec<_>>>()?;
    let updates = v["updates"]
        .as_array()
        .context("updates")?
        .iter()
        .map(|u| {
            Ok(Update {
                at: num(&u["at"])?,
                render: u["render"].as_f64(),
                layout: num(&u["layout"])?,
                mutations: u["mutations"].as_u64().context("mutations")?,
                cards: u["cards"]
                    .as_array()
                    .context("cards")?
                    .iter()
                    .map(|c| c.as_str().map(str::to_owned).context("a card's testid"))
                    .collect::<Result<Vec<_>>>()?,
                ticks: u["ticks"].as_array().context("ticks")?.len(),
                ticket: u["ticket"].as_bool().context("ticket")?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Measured {
        frames,
        work,
        updates,
        t0: num(&v["t0"])?,
        end: num(&v["end"])?,
        cards: v["cards"].as_u64().unwrap_or(0),
        in_view: v["inView"].as_u64().unwrap_or(0),
        elements: v["elements"].as_u64().unwrap_or(0),
    })
}

/// Whether update `u` is a ticket's re-render: a ticket's timer ticked
/// for it, and it changed a ticket.
fn is_ticket(u: &Update) -> bool {
    u.ticket && !u.cards.is_empty()
}

/// The ticket updates of each whole second measured: (start ms, how many
/// updates, how many tickets they changed, the sum of their cost ms).
fn per_second(m: &Measured) -> Vec<(f64, usize, usize, f64)> {
    let seconds = ((m.end - m.t0) / 1000.0).floor().max(0.0) as usize;
    let mut out: Vec<(f64, usize, usize, f64)> = (0..seconds)
        .map(|s| (m.t0 + s as f64 * 1000.0, 0, 0, 0.0))
        .collect();
    for u in m.updates.iter().filter(|u| is_ticket(u)) {
        let s = ((u.at - m.t0) / 1000.0).floor();
        if s >= 0.0 && (s as usize) < seconds {
            let slot = &mut out[s as usize];
            slot.1 += 1;
            slot.2 += u.cards.len();
            slot.3 += u.total();
        }
    }
    out
}

enum Verdict {
    Pass,
    Fail,
    None(String),
}

struct Summary {
    frames: usize,
    median: f64,
    p95: f64,
    p99: f64,
    max: f64,
    over_refresh: usize,
    missed: usize,
    work_median: f64,
    work_p99: f64,
    work_max: f64,
    /// Updates caused by a ticket's timer, and how many of the tickets
    /// drawn they changed at least once.
    updates: usize,
    /// Of those, the commits of two or more ticks batched.
    batched: usize,
    tickets_seen: usize,
    updates_per_second: f64,
    tickets_per_second: f64,
    update_median: f64,
    update_max: f64,
    render_max: f64,
    layout_max: f64,
    mutations_median: f64,
    /// The sum of each whole second's ticket updates.
    second_median: f64,
    second_max: f64,
    seconds: usize,
    /// Updates that changed a ticket without a ticket's tick before them
    /// (not timed from a tick; none on a steady board).
    untimed: usize,
    other: usize,
    other_max: f64,
    verdict: Verdict,
}

fn summarise(m: &Measured, budget: f64) -> Summary {
    let deltas = sorted(m.frames.iter().map(|f| f.1).collect());
    let work = sorted(m.work.clone());
    let tickets: Vec<&Update> = m.updates.iter().filter(|u| is_ticket(u)).collect();
    let costs = sorted(tickets.iter().map(|u| u.total()).collect());
    let seen: std::collections::BTreeSet<&str> = tickets
        .iter()
        .flat_map(|u| u.cards.iter().map(String::as_str))
        .collect();
    let seconds = per_second(m);
    let sums = sorted(seconds.iter().map(|s| s.3).collect());
    let max_of = |v: &mut dyn Iterator<Item = f64>| v.fold(f64::NAN, f64::max);
    let p99 = quantile(&deltas, 0.99);
    let update_max = max_of(&mut costs.iter().copied());
    let work_p99 = quantile(&work, 0.99);
    let verdict = if deltas.is_empty() {
        Verdict::None("no frames".into())
    } else if tickets.is_empty() {
        Verdict::None("no verdict: no ticket update timed (the tickets' clocks do not call markBenchTick(\"ticket\"))".into())
    } else if (seen.len() as u64) < m.cards {
        Verdict::None(format!(
            "no verdict: updates of only {} of the {} tickets drawn seen",
            seen.len(),
            m.cards
        ))
    } else if update_max < budget && work_p99 < budget && p99 < 1.5 * REFRESH_MS {
        // Under budget: the slowest ticket update and 99% of the frames'
        // rendering work fit in the budget, and 99% of the frames come one
        // refresh after the one before (no refresh missed).
        Verdict::Pass
    } else {
        Verdict::Fail
    };
    let others: Vec<&Update> = m.updates.iter().filter(|u| !is_ticket(u)).collect();
    Summary {
        frames: deltas.len(),
        median: quantile(&deltas, 0.5),
        p95: quantile(&deltas, 0.95),
        p99,
        max: max_of(&mut deltas.iter().copied()),
        // The window's clock counts whole ms (WebKit coarsens it), so a
        // frame on time reads 16 or 17 ms.
        over_refresh: deltas.iter().filter(|&&d| d > REFRESH_MS + 1.0).count(),
        missed: deltas.iter().filter(|&&d| d > 1.5 * REFRESH_MS).count(),
        work_median: quantile(&work, 0.5),
        work_p99,
        work_max: max_of(&mut work.iter().copied()),
        updates: tickets.len(),
        batched: tickets.iter().filter(|u| u.ticks > 1).count(),
        tickets_seen: seen.len(),
        updates_per_second: quantile(&sorted(seconds.iter().map(|s| s.1 as f64).collect()), 0.5),
        tickets_per_second: quantile(&sorted(seconds.iter().map(|s| s.2 as f64).collect()), 0.5),
        update_median: quantile(&costs, 0.5),
        update_max,
        render_max: max_of(&mut tickets.iter().filter_map(|u| u.render)),
        layout_max: max_of(&mut tickets.iter().map(|u| u.layout)),
        mutations_median: quantile(
            &sorted(tickets.iter().map(|u| u.mutations as f64).collect()),
            0.5,
        ),
        second_median: quantile(&sums, 0.5),
        second_max: max_of(&mut sums.iter().copied()),
        seconds: seconds.len(),
        untimed: others.iter().filter(|u| !u.cards.is_empty()).count(),
        other: others.len(),
        other_max: max_of(&mut others.iter().map(|u| u.total())),
        verdict,
    }
}

fn table(s: &Summary, cards: u64, budget: f64) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "| frames | median ms | p95 ms | p99 ms | max ms | over 16.7 ms (18+ on the 1 ms clock) | missed a refresh (> 25 ms) | frame work median / p99 / max ms | ticket updates (a second, median; tickets seen) | ticket update median / max ms | of which script / style+layout max ms | a second's ticket updates summed, median / max ms | result |"
    );
    let _ = writeln!(
        out,
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
    );
    let _ = writeln!(
        out,
        "| {} | {:.2} | {:.2} | {:.2} | {:.2} | {} ({:.1}%) | {} ({:.1}%) | {:.2} / {:.2} / {:.2} | {} ({:.0}/s; {} of {}) | {:.2} / {:.2} | {:.2} / {:.2} | {:.2} / {:.2} | {} |",
        s.frames,
        s.median,
        s.p95,
        s.p99,
        s.max,
        s.over_refresh,
        100.0 * s.over_refresh as f64 / s.frames.max(1) as f64,
        s.missed,
        100.0 * s.missed as f64 / s.frames.max(1) as f64,
        s.work_median,
        s.work_p99,
        s.work_max,
        s.updates,
        s.updates_per_second,
        s.tickets_seen,
        cards,
        s.update_median,
        s.update_max,
        s.render_max,
        s.layout_max,
        s.second_median,
        s.second_max,
        match &s.verdict {
            Verdict::Pass => format!("PASS, against {budget} ms"),
            Verdict::Fail => format!("FAIL, against {budget} ms"),
            Verdict::None(why) => why.clone(),
        },
    );
    out
}

/// Every frame's distance from the one before (grey), the tickets'
/// updates (red), each second's ticket updates summed (orange) and other
/// DOM updates (blue), against time; dashed lines at one refresh and at
/// the budget.
fn svg(m: &Measured, title: &str, budget: f64) -> String {
    let (w, h, left, right, top, bottom) = (900.0, 420.0, 60.0, 20.0, 50.0, 50.0);
    let seconds = per_second(m);
    let t0 = m.frames.first().map_or(m.t0, |f| f.0).min(m.t0);
    let t1 = m.frames.last().map_or(1.0, |f| f.0).max(t0 + 1.0);
    let peak = m
        .frames
        .iter()
        .map(|f| f.1)
        .chain(m.updates.iter().map(Update::total))
        .chain(seconds.iter().map(|s| s.3))
        .fold(2.0 * REFRESH_MS, f64::max);
    let ymax = (peak / 10.0).ceil() * 10.0;
    let px = |t: f64| left + (t.clamp(t0, t1) - t0) / (t1 - t0) * (w - left - right);
    let py = |ms: f64| top + (1.0 - ms.clamp(0.0, ymax) / ymax) * (h - top - bottom);
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(s, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(
        s,
        r#"<text x="{}" y="20" text-anchor="middle" font-size="14">{title}</text>"#,
        w / 2.0
    );
    let step = if ymax > 100.0 { 20.0 } else { 10.0 };
    let mut v = 0.0;
    while v <= ymax {
        let y = py(v);
        let _ = writeln!(
            s,
            r##"<line x1="{left}" x2="{}" y1="{y:.1}" y2="{y:.1}" stroke="#eee"/><text x="{}" y="{:.1}" text-anchor="end">{v}</text>"##,
            w - right,
            left - 6.0,
            y + 4.0
        );
        v += step;
    }
    let whole = ((t1 - t0) / 1000.0).floor() as u64;
    for sec in (0..=whole).step_by(5) {
        let x = px(t0 + sec as f64 * 1000.0);
        let _ = writeln!(
            s,
            r#"<text x="{x:.1}" y="{}" text-anchor="middle">{sec}</text>"#,
            h - bottom + 16.0
        );
    }
    let _ = writeln!(
        s,
        r#"<text x="{}" y="{}" text-anchor="middle">seconds</text><text x="16" y="{}" transform="rotate(-90 16 {})" text-anchor="middle">ms</text>"#,
        w / 2.0,
        h - 12.0,
        h / 2.0,
        h / 2.0
    );
    for (ms, colour, label) in [
        (REFRESH_MS, "#555", "one refresh, 16.7 ms"),
        (budget, "#c00", "budget"),
    ] {
        let y = py(ms);
        let _ = writeln!(
            s,
            r#"<line x1="{left}" x2="{}" y1="{y:.1}" y2="{y:.1}" stroke="{colour}" stroke-dasharray="5,4"/><text x="{}" y="{:.1}" text-anchor="end" fill="{colour}">{label}</text>"#,
            w - right,
            w - right - 4.0,
            if ms > budget { y - 4.0 } else { y + 14.0 }
        );
    }
    for &(start, _, _, sum) in &seconds {
        let y = py(sum);
        let _ = writeln!(
            s,
            r##"<line x1="{:.1}" x2="{:.1}" y1="{y:.1}" y2="{y:.1}" stroke="#f59e0b" stroke-width="3"/>"##,
            px(start),
            px(start + 1000.0)
        );
    }
    let pts: Vec<String> = m
        .frames
        .iter()
        .map(|&(t, d)| format!("{:.1},{:.1}", px(t), py(d)))
        .collect();
    let _ = writeln!(
        s,
        r##"<polyline fill="none" stroke="#888" stroke-width="1" points="{}"/>"##,
        pts.join(" ")
    );
    for u in &m.updates {
        let colour = if is_ticket(u) { "#c00" } else { "#1d4ed8" };
        let _ = writeln!(
            s,
            r#"<circle cx="{:.1}" cy="{:.1}" r="2.5" fill="{colour}"/>"#,
            px(u.at),
            py(u.total())
        );
    }
    let _ = writeln!(
        s,
        r##"<text x="{left}" y="38" fill="#888">— frame interval (rAF)</text><text x="{}" y="38" fill="#c00">● a ticket's update (script+style+layout)</text><text x="{}" y="38" fill="#f59e0b">▬ a second's ticket updates summed</text><text x="{}" y="38" fill="#1d4ed8">● other updates</text>"##,
        left + 150.0,
        left + 455.0,
        left + 710.0
    );
    s.push_str("</svg>\n");
    s
}

#[tokio::main]
async fn main() -> Result<()> {
    let cli = Cli::parse();
    ensure!(cli.seconds >= 20, "--seconds must be at least 20");
    ensure!((1..=500).contains(&cli.orders), "--orders must be 1 to 500");
    let (width, height) = cli
        .size
        .split_once('x')
        .and_then(|(w, h)| Some((w.parse::<u32>().ok()?, h.parse::<u32>().ok()?)))
        .filter(|&(w, h)| (320..=7680).contains(&w) && (240..=4320).contains(&h))
        .context("--size is WIDTHxHEIGHT, e.g. 1920x1080")?;
    ensure!(
        std::env::var_os("DISPLAY").is_some(),
        "no DISPLAY: run under dbus-run-session -- xvfb-run -a -s \"-screen 0 1920x1080x24\""
    );
    let app_bin = match cli.app_bin.clone() {
        Some(p) => p,
        None => beside_me("countertop")?,
    };
    let hub_bin = match cli.hub_bin.clone() {
        Some(p) => p,
        None => beside_me("countertop-hub")?,
    };
    for bin in [&app_bin, &hub_bin] {
        ensure!(
            bin.exists(),
            "{} is missing: cargo build [--release] -p countertop-app -p countertop-hub (after cd ui && npx vite build)",
            bin.display()
        );
    }
    let started = Instant::now();

    // Fresh XDG folders, so WebKit leaves nothing behind.
    let dir = tempfile::tempdir()?;
    let xdg = |name: &str| -> Result<OsString> {
        let p = dir.path().join(name);
        std::fs::create_dir_all(&p)?;
        Ok(p.into_os_string())
    };
    let runtime = xdg("runtime")?;
    std::fs::set_permissions(
        &runtime,
        std::os::unix::fs::PermissionsExt::from_mode(0o700),
    )?;
    let env = [
        ("XDG_DATA_HOME", xdg("xdg-data")?),
        ("XDG_CACHE_HOME", xdg("xdg-cache")?),
        ("XDG_CONFIG_HOME", xdg("xdg-config")?),
        ("XDG_RUNTIME_DIR", runtime),
        (
            "WEBKIT_DISABLE_COMPOSITING_MODE",
            match cli.compositing {
                Compositing::Off => "1".into(),
                Compositing::On => "0".into(),
            },
        ),
    ];
    let data = dir.path().join("app");
    let driver = Driver::start(&env).await?;
    let mut caps = serde_json::Map::new();
    caps.insert(
        "tauri:options".into(),
        json!({
            "application": app_bin,
            "args": ["--demo", "--screens", "barista", "--data", data],
        }),
    );
    let client = ClientBuilder::native()
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{}", driver.port))
        .await
        .context("opening a WebDriver session with the app")?;
    let result = measure(&client, &cli, &data, &hub_bin, (width, height), started).await;
    let _ = client.close().await;
    drop(driver);
    result
}

async fn measure(
    client: &Client,
    cli: &Cli,
    data: &Path,
    hub_bin: &Path,
    (width, height): (u32, u32),
    started: Instant,
) -> Result<()> {
    until("the barista window", DEADLINE, || async {
        for handle in client.windows().await? {
            client.switch_to_window(handle).await?;
            if client.title().await? == "Countertop — barista" {
                return Ok(true);
            }
        }
        Ok(false)
    })
    .await?;
    until("the board's link to be live", DEADLINE, || async {
        Ok(!client
            .find_all(Locator::Css("[data-testid=link-status][data-state=live]"))
            .await?
            .is_empty())
    })
    .await?;
    client.set_window_rect(0, 0, width, height).await?;
    eprintln!(
        "app up after {:.1} s; placing {} orders",
        started.elapsed().as_secs_f64(),
        cli.orders
    );

    let kiosk = Kiosk::pair(hub_bin, data).await?;
    let mut numbers = Vec::with_capacity(cli.orders);
    for i in 0..cli.orders {
        numbers.push(kiosk.order(i).await.with_context(|| format!("order {i}"))?);
    }
    let numbers = json!(numbers);
    // On the board: the window's screen (its device's cache, through the
    // same command the board reads) has every order, and the cards drawn
    // are every order or, on a board that pages, the same number in two
    // polls in a row.
    let drawn = std::cell::Cell::new(None);
    let on_board = until(
        &format!("all {} orders on the board", cli.orders),
        DEADLINE,
        || {
            let numbers = numbers.clone();
            let drawn = &drawn;
            async move {
                let seen = client.execute_async(ON_BOARD, vec![numbers]).await?;
                let (known, cards) = (seen[0].as_u64(), seen[1].as_u64().unwrap_or(0));
                let last = drawn.replace(Some(cards));
                Ok(known == Some(0)
                    && cards > 0
                    && (cards as usize >= cli.orders || last == Some(cards)))
            }
        },
    )
    .await;
    if let Err(e) = on_board {
        // What the board shows instead, for the message.
        let shown = client
            .execute(
                "return [...document.querySelectorAll('[data-testid]')]\
                 .map((e) => e.dataset.testid).filter((t) => t.startsWith('order')).join(' ')\
                 + ' | ' + document.body.innerText.slice(0, 400)",
                vec![],
            )
            .await
            .map(|v| v.as_str().unwrap_or_default().to_owned())
            .unwrap_or_default();
        return Err(e.context(format!("the board shows: {shown}")));
    }
    eprintln!(
        "all {} orders on the board after {:.1} s; settling {} s, then measuring {} s",
        cli.orders,
        started.elapsed().as_secs_f64(),
        cli.settle,
        cli.seconds
    );
    // Past the new cards' flash and highlight: the steady board is measured.
    tokio::time::sleep(Duration::from_secs(cli.settle)).await;
    let load_before = load_average();
    let cpu_before = cpu_ticks();
    let view = client.execute(INSTALL, vec![]).await?;
    tokio::time::sleep(Duration::from_secs(cli.seconds)).await;
    let raw = client.execute(COLLECT, vec![]).await?;
    let load_after = load_average();
    let busy = match (cpu_before, cpu_ticks()) {
        (Some((b0, a0)), Some((b1, a1))) if a1 > a0 => {
            format!("{:.0}%", 100.0 * (b1 - b0) as f64 / (a1 - a0) as f64)
        }
        _ => "?".to_owned(),
    };
    let m = parse(&raw)?;
    let s = summarise(&m, cli.budget_ms);

    let compositing = match cli.compositing {
        Compositing::Off => "off",
        Compositing::On => "on",
    };
    println!();
    println!(
        "barista board, {} open orders ({} cards, {} in view, {} elements), viewport {}×{} (dpr {}, {}), compositing {compositing}, {} s measured, load average {load_before} → {load_after}, the CPUs {busy} busy meanwhile (all processes, this window's included)",
        cli.orders,
        m.cards,
        m.in_view,
        m.elements,
        view[0],
        view[1],
        view[2],
        view[3].as_str().unwrap_or("?"),
        cli.seconds,
    );
    println!();
    print!("{}", table(&s, m.cards, cli.budget_ms));
    println!();
    println!(
        "frame = the distance between consecutive requestAnimationFrame timestamps (60 Hz: {REFRESH_MS:.1} ms when every refresh is met); \
         frame work = from a frame's callback to the end of its rendering step; \
         ticket update = one React commit caused by tickets' timers (each ticket turns at its own moment of the second), \
         from the tick to the commit (script, with any wait in the queue), plus style and layout; \
         a ticket update changed {:.0} DOM nodes and {:.0} tickets a second (medians), commits that batched two or more ticks: {} (timed from the last); \
         {} whole seconds summed; \
         other DOM updates: {} (max {:.2} ms), of which {} changed a ticket without its timer's tick",
        s.mutations_median,
        s.tickets_per_second,
        s.batched,
        s.seconds,
        s.other,
        s.other_max,
        s.untimed
    );
    println!(
        "PASS needs: the slowest ticket update and the p99 frame work under {} ms, and the p99 frame under 1.5 refreshes (25 ms: no refresh missed); \
         the sum of a second's ticket updates is shown, not judged (they run in different frames)",
        cli.budget_ms
    );
    if let Some(path) = &cli.svg {
        let title = format!(
            "Barista board, {} open orders, {}×{}, compositing {compositing}: frame intervals and ticket updates",
            cli.orders, view[0], view[1]
        );
        std::fs::write(path, svg(&m, &title, cli.budget_ms))
            .with_context(|| format!("writing {}", path.display()))?;
        eprintln!("plot written to {}", path.display());
    }
    if let Some(path) = &cli.raw {
        std::fs::write(path, serde_json::to_string(&raw)?)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    eprintln!(
        "countertop-board-frames finished in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
