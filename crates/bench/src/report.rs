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
