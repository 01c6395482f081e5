//! The table on stdout and the latency plot (a hand-written SVG).

use std::fmt::Write as _;

use crate::load::RunResult;
use crate::server::Kind;

/// `value` and, for a peer, its ratio to the hub's figure at the same N.
fn cell(value: f64, hub: Option<f64>, digits: usize) -> String {
    match hub {
        Some(h) if h > 0.0 && value.is_finite() => format!("{value:.digits$} ({:.1}×)", value / h),
        _ => format!("{value:.digits$}"),
    }
}

/// One row per run; runs at the maximum rate are marked and compared with
/// the hub's run at the maximum rate.
pub fn table(results: &[RunResult]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "| server | N | p50 ms | p99 ms | max ms | deliveries/s | delivered | server CPU s | bench CPU s | RSS MiB | KiB/idle conn |"
    );
    let _ = writeln!(
        out,
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    );
    for r in results {
        let hub = results.iter().find(|h| {
            h.kind == Kind::Hub
                && h.subscribers == r.subscribers
                && h.saturated == r.saturated
                && r.kind != Kind::Hub
        });
        let _ = writeln!(
            out,
            "| {}{} | {} | {} | {} | {} | {} | {}/{} | {} | {:.2} | {} | {} |",
            r.kind.name(),
            if r.saturated { ", max rate" } else { "" },
            r.subscribers,
            cell(r.p50_ms, hub.map(|h| h.p50_ms), 2),
            cell(r.p99_ms, hub.map(|h| h.p99_ms), 2),
            cell(r.max_ms, hub.map(|h| h.max_ms), 1),
            cell(r.deliveries_per_s, hub.map(|h| h.deliveries_per_s), 0),
            r.deliveries,
            r.expected,
            cell(r.cpu_seconds, hub.map(|h| h.cpu_seconds), 2),
            r.bench_cpu_seconds,
            cell(r.rss_mib, hub.map(|h| h.rss_mib), 1),
            cell(r.kib_per_idle_conn, hub.map(|h| h.kib_per_idle_conn), 1),
        );
    }
    out
}

/// p50 (dashed) and p99 (solid) delivery latency against subscribers, both
/// axes logarithmic. Runs at the maximum rate are left out: their latency
/// is queueing by design.
pub fn svg(results: &[RunResult]) -> String {
    let results: Vec<&RunResult> = results.iter().filter(|r| !r.saturated).collect();
    let (w, h, left, right, top, bottom) = (720.0, 440.0, 70.0, 200.0, 40.0, 60.0);
    let ns: Vec<f64> = results.iter().map(|r| r.subscribers as f64).collect();
    let lat: Vec<f64> = results
        .iter()
        .flat_map(|r| [r.p50_ms, r.p99_ms])
        .filter(|v| v.is_finite() && *v > 0.0)
        .collect();
    let (xmin, xmax) = (
        ns.iter().copied().fold(f64::MAX, f64::min).log10(),
        ns.iter().copied().fold(1.0, f64::max).log10(),
    );
    let ymin = lat
        .iter()
        .copied()
        .fold(f64::MAX, f64::min)
        .max(0.01)
        .log10()
        .floor();
    let ymax = lat
        .iter()
        .copied()
        .fold(0.01, f64::max)
        .log10()
        .ceil()
        .max(ymin + 1.0);
    let xspan = (xmax - xmin).max(0.1);
    let px = |n: f64| left + (n.log10() - xmin) / xspan * (w - left - right);
    let py = |ms: f64| top + (ymax - ms.max(0.01).log10()) / (ymax - ymin) * (h - top - bottom);
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(s, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(
        s,
        r#"<text x="{}" y="22" text-anchor="middle" font-size="15">Delivery latency against subscribers (log–log)</text>"#,
        (w - right + left) / 2.0
    );
    let mut e = ymin as i32;
    while f64::from(e) <= ymax {
        let v = 10f64.powi(e);
        let y = py(v);
        let _ = writeln!(
            s,
            r##"<line x1="{left}" x2="{}" y1="{y:.1}" y2="{y:.1}" stroke="#ddd"/><text x="{}" y="{:.1}" text-anchor="end">{}</text>"##,
            w - right,
            left - 6.0,
            y + 4.0,
            if v < 1.0 {
                format!("{v}")
            } else {
                format!("{v:.0}")
            }
        );
        e += 1;
    }
    let mut xs: Vec<usize> = results.iter().map(|r| r.subscribers).collect();
    xs.sort_unstable();
    xs.dedup();
    for n in &xs {
        let x = px(*n as f64);
        let _ = writeln!(
            s,
            r##"<line x1="{x:.1}" x2="{x:.1}" y1="{top}" y2="{}" stroke="#eee"/><text x="{x:.1}" y="{}" text-anchor="middle">{n}</text>"##,
            h - bottom,
            h - bottom + 18.0
        );
    }
    let _ = writeln!(
        s,
        r#"<text x="{}" y="{}" text-anchor="middle">subscribers (N)</text><text x="18" y="{}" transform="rotate(-90 18 {})" text-anchor="middle">delivery latency, ms</text>"#,
        (w - right + left) / 2.0,
        h - 15.0,
        h / 2.0,
        h / 2.0
    );
    let colours = [
        (Kind::Hub, "#1b7f3b"),
        (Kind::SocketIo, "#c2410c"),
        (Kind::FastApi, "#1d4ed8"),
    ];
    for (i, (kind, colour)) in colours.iter().enumerate() {
        let mut rs: Vec<&RunResult> = results
            .iter()
            .copied()
            .filter(|r| r.kind == *kind)
            .collect();
        rs.sort_by_key(|r| r.subscribers);
        for (dash, pick) in [("", true), (r#" stroke-dasharray="5,4""#, false)] {
            let pts: Vec<String> = rs
                .iter()
                .map(|r| if pick { r.p99_ms } else { r.p50_ms })
                .zip(&rs)
                .filter(|(v, _)| v.is_finite())
                .map(|(v, r)| format!("{:.1},{:.1}", px(r.subscribers as f64), py(v)))
                .collect();
            if pts.is_empty() {
                continue;
            }
            let _ = writeln!(
                s,
                r#"<polyline fill="none" stroke="{colour}" stroke-width="2"{dash} points="{}"/>"#,
                pts.join(" ")
            );
            for p in &pts {
                let (x, y) = p.split_once(',').unwrap_or(("0", "0"));
                let _ = writeln!(s, r#"<circle cx="{x}" cy="{y}" r="3" fill="{colour}"/>"#);
            }
        }
        let ly = top + 20.0 + i as f64 * 22.0;
        let lx = w - right + 15.0;
        let _ = writeln!(
            s,
            r#"<line x1="{lx}" x2="{}" y1="{ly}" y2="{ly}" stroke="{colour}" stroke-width="2"/><text x="{}" y="{}">{}</text>"#,
            lx + 24.0,
            lx + 30.0,
            ly + 4.0,
            kind.name()
        );
    }
    let ly = top + 20.0 + 3.0 * 22.0 + 10.0;
    let lx = w - right + 15.0;
    let _ = writeln!(
        s,
        r##"<line x1="{lx}" x2="{}" y1="{ly}" y2="{ly}" stroke="#555" stroke-width="2"/><text x="{}" y="{}">p99</text><line x1="{lx}" x2="{}" y1="{}" y2="{}" stroke="#555" stroke-width="2" stroke-dasharray="5,4"/><text x="{}" y="{}">p50</text>"##,
        lx + 24.0,
        lx + 30.0,
        ly + 4.0,
        lx + 24.0,
        ly + 20.0,
        ly + 20.0,
        lx + 30.0,
        ly + 24.0
    );
    s.push_str("</svg>\n");
    s
}

/// One run of `countertop-bench --nodes`: where the hub stored, and how it went.
pub struct NodesRow {
    /// "SQLite", or the PostgreSQL server's label (version, fsync, synchronous_commit).
    pub store: String,
    pub run: RunResult,
}

fn optional(value: Option<f64>) -> String {
    value.map_or("–".to_owned(), |v| format!("{v:.2}"))
}

/// The runs of `--nodes`, one row each: node count, figures, and the CPU of
/// the nodes, of PostgreSQL and of the load generator.
pub fn nodes_table(rows: &[NodesRow]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "| hub stores in | nodes | run | N | p50 ms | p99 ms | max ms | deliveries/s | orders/s | delivered | hub CPU s | PostgreSQL CPU s | bench CPU s | RSS MiB |"
    );
    let _ = writeln!(
        out,
        "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    );
    for row in rows {
        let r = &row.run;
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {:.2} | {:.2} | {:.1} | {:.0} | {:.0} | {}/{} | {:.2} | {} | {:.2} | {:.1} |",
            row.store,
            r.nodes,
            if r.saturated { "max rate" } else { "set rate" },
            r.subscribers,
            r.p50_ms,
            r.p99_ms,
            r.max_ms,
            r.deliveries_per_s,
            r.orders_per_s,
            r.deliveries,
            r.expected,
            r.cpu_seconds,
            optional(r.database_cpu_seconds),
            r.bench_cpu_seconds,
            r.rss_mib,
        );
    }
    out
}

/// A round upper end for a linear axis from 0 to `max`, and its step.
fn axis(max: f64) -> (f64, f64) {
    let max = if max.is_finite() && max > 0.0 {
        max
    } else {
        1.0
    };
    let magnitude = 10f64.powf((max / 5.0).log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * magnitude)
        .find(|step| max / step <= 6.0)
        .unwrap_or(10.0 * magnitude);
    ((max / step).ceil() * step, step)
}

/// A thousands-separated whole number from 100 on, with decimals below.
fn figure(v: f64) -> String {
    if !v.is_finite() {
        return "–".to_owned();
    }
    if v < 10.0 {
        return format!("{v:.2}");
    }
    if v < 100.0 {
        return format!("{v:.1}");
    }
    let digits = format!("{:.0}", v);
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// One bar of a panel: its colour, its height and the lines under it.
struct Bar {
    colour: &'static str,
    value: f64,
    note: String,
    below: String,
}

/// A bar chart from `x0`, `width` wide: a title, a linear axis from 0, a
/// figure over each bar and a label under it.
fn bar_panel(s: &mut String, x0: f64, width: f64, title: &str, bars: &[Bar]) {
    let (top, bottom_y, left) = (70.0, 380.0, 62.0);
    let plot_w = width - left - 10.0;
    let (ymax, step) = axis(bars.iter().map(|b| b.value).fold(0.0, f64::max));
    let py = |v: f64| bottom_y - v.max(0.0) / ymax * (bottom_y - top);
    let _ = writeln!(
        s,
        r#"<text x="{:.1}" y="52" text-anchor="middle" font-size="13">{title}</text>"#,
        x0 + left + plot_w / 2.0
    );
    // Decimals enough for the step (2.5, 0.25, …).
    let decimals = (0..4)
        .find(|&d| (step * 10f64.powi(d) - (step * 10f64.powi(d)).round()).abs() < 1e-6)
        .unwrap_or(3) as usize;
    let ticks = (ymax / step).round() as usize;
    for i in 0..=ticks {
        let v = step * i as f64;
        let y = py(v);
        let _ = writeln!(
            s,
            r##"<line x1="{:.1}" x2="{:.1}" y1="{y:.1}" y2="{y:.1}" stroke="#ddd"/><text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"##,
            x0 + left,
            x0 + left + plot_w,
            x0 + left - 6.0,
            y + 4.0,
            if v >= 1000.0 {
                figure(v)
            } else {
                format!("{v:.decimals$}")
            }
        );
    }
    let slot = plot_w / bars.len().max(1) as f64;
    for (i, b) in bars.iter().enumerate() {
        let x = x0 + left + slot * i as f64 + slot * 0.15;
        let bw = slot * 0.7;
        let y = py(b.value);
        let cx = x + bw / 2.0;
        let _ = writeln!(
            s,
            r#"<rect x="{x:.1}" y="{y:.1}" width="{bw:.1}" height="{:.1}" fill="{}"/>"#,
            bottom_y - y,
            b.colour
        );
        let _ = writeln!(
            s,
            r#"<text x="{cx:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
            y - 18.0,
            figure(b.value)
        );
        let _ = writeln!(
            s,
            r##"<text x="{cx:.1}" y="{:.1}" text-anchor="middle" font-size="10" fill="#444">{}</text>"##,
            y - 5.0,
            b.note
        );
        let _ = writeln!(
            s,
            r#"<text x="{cx:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
            bottom_y + 16.0,
            b.below
        );
    }
    let _ = writeln!(
        s,
        r##"<line x1="{:.1}" x2="{:.1}" y1="{bottom_y}" y2="{bottom_y}" stroke="#333"/>"##,
        x0 + left,
        x0 + left + plot_w
    );
}

/// Bar charts side by side, one bar per store and node count, each store
/// its own colour: the orders a second taken back to back with the fewest
/// subscribers (when the maximum-rate run was made with several N: there
/// the writes limit), the deliveries a second back to back with the most,
/// and the p99 latency at the set rate.
pub fn nodes_svg(rows: &[NodesRow]) -> String {
    const COLOURS: [&str; 4] = ["#1b7f3b", "#1d4ed8", "#c2410c", "#7c3aed"];
    let mut stores: Vec<&str> = Vec::new();
    for row in rows {
        if !stores.contains(&row.store.as_str()) {
            stores.push(&row.store);
        }
    }
    let colour = |store: &str| {
        let i = stores.iter().position(|s| *s == store).unwrap_or(0);
        COLOURS[i % COLOURS.len()]
    };
    let below = |r: &RunResult| format!("{} node{}", r.nodes, if r.nodes == 1 { "" } else { "s" });
    let bars = |saturated: bool, n: usize, pick: &dyn Fn(&RunResult) -> (f64, String)| {
        rows.iter()
            .filter(|row| row.run.saturated == saturated && row.run.subscribers == n)
            .map(|row| {
                let (value, note) = pick(&row.run);
                Bar {
                    colour: colour(&row.store),
                    value,
                    note,
                    below: below(&row.run),
                }
            })
            .collect::<Vec<Bar>>()
    };
    let ns = |saturated: bool| {
        let mut ns: Vec<usize> = rows
            .iter()
            .filter(|row| row.run.saturated == saturated)
            .map(|row| row.run.subscribers)
            .collect();
        ns.sort_unstable();
        ns.dedup();
        ns
    };
    let (max_ns, set_ns) = (ns(true), ns(false));
    let mut panels: Vec<(String, Vec<Bar>)> = Vec::new();
    if let (Some(&few), true) = (max_ns.first(), max_ns.len() > 1) {
        panels.push((
            format!("orders/s taken, back to back (N = {few})"),
            bars(true, few, &|r| {
                (r.orders_per_s, format!("p99 {}", figure(r.p99_ms)))
            }),
        ));
    }
    if let Some(&most) = max_ns.last() {
        panels.push((
            format!("deliveries/s, orders back to back (N = {most})"),
            bars(true, most, &|r| {
                (
                    r.deliveries_per_s,
                    format!("{:.0} orders/s", r.orders_per_s),
                )
            }),
        ));
    }
    if let Some(&most) = set_ns.last() {
        panels.push((
            format!("p99 latency, ms, at the set rate (N = {most})"),
            bars(false, most, &|r| {
                (r.p99_ms, format!("p50 {}", figure(r.p50_ms)))
            }),
        ));
    }
    // Room for each bar's note (about 60 px at 10 px type).
    let most_bars = panels.iter().map(|(_, b)| b.len()).max().unwrap_or(1);
    let panel_w = (72.0 + 64.0 * most_bars as f64).max(420.0);
    let w = panel_w * panels.len().max(1) as f64;
    let legend_top = 415.0;
    let h = legend_top + 20.0 * stores.len() as f64 + 10.0;
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(s, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(
        s,
        r#"<text x="{:.1}" y="24" text-anchor="middle" font-size="15">The hub on several nodes sharing one PostgreSQL database, beside the SQLite hub</text>"#,
        w / 2.0
    );
    for (i, (title, bars)) in panels.iter().enumerate() {
        bar_panel(&mut s, panel_w * i as f64, panel_w, title, bars);
    }
    for (i, store) in stores.iter().enumerate() {
        let y = legend_top + 20.0 * i as f64;
        let _ = writeln!(
            s,
            r#"<rect x="62" y="{:.1}" width="14" height="14" fill="{}"/><text x="84" y="{:.1}">{store}</text>"#,
            y - 11.0,
            colour(store),
            y
        );
    }
    s.push_str("</svg>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axes_end_on_a_round_figure_above_the_largest_bar() {
        assert_eq!(axis(172_367.0), (200_000.0, 50_000.0));
        assert_eq!(axis(16.1), (20.0, 5.0));
        assert_eq!(axis(827.0), (1000.0, 200.0));
        assert_eq!(axis(0.0), (1.0, 0.2));
        let (max, step) = axis(5685.21);
        assert!(max >= 5685.21 && max / step <= 6.0, "{max} {step}");
    }

    #[test]
    fn figures_have_thousands_separators_and_decimals_only_when_small() {
        assert_eq!(figure(172_367.4), "172,367");
        assert_eq!(figure(1000.0), "1,000");
        assert_eq!(figure(827.0), "827");
        assert_eq!(figure(16.14), "16.1");
        assert_eq!(figure(4.111), "4.11");
        assert_eq!(figure(f64::NAN), "–");
    }
}
