import { useCallback, useEffect, useId, useState } from "react";
import { commands, type HourRow, type ReportView } from "../bindings";
import { useT } from "../i18n";
import type { TabProps } from "./common";
import "./report.css";

/** A local day as `YYYY-MM-DD`. */
export function localDay(d: Date): string {
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

/** `day` moved by `by` days (noon, so a daylight-saving change never skips a day). */
function shift(day: string, by: number): string {
  const [y, m, d] = day.split("-").map(Number);
  return localDay(new Date(y, m - 1, d + by, 12));
}

const DAY = /^\d{4}-\d{2}-\d{2}$/;

/** The day's numbers for any date: figures, tables per item, station and hour, cancellations; CSV and print. */
export function Report({ screen }: TabProps) {
  const { t, fmt, errorText } = useT();
  const today = localDay(new Date());
  const [day, setDay] = useState(today);
  const [report, setReport] = useState<ReportView | null>(null);
  const [loading, setLoading] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);
  const [saving, setSaving] = useState(false);
  const [saved, setSaved] = useState<string | null>(null);
  const dateId = useId();
  const money = (n: number) => fmt.money(n, screen.settings);
  const secs = (s: number | null) => (s == null ? t("common.none") : fmt.duration(s));

  const badDay = !DAY.test(day) ? t("report.badDate") : day > today ? t("report.future") : null;

  const load = useCallback(
    (which: string) => {
      setLoading(true);
      setProblem(null);
      setSaved(null);
      commands
        .dailyReport(which)
        .then((r) => setReport(r))
        .catch((e) => {
          setReport(null);
          setProblem(errorText(e));
        })
        .finally(() => setLoading(false));
    },
    [errorText],
  );

  useEffect(() => {
    if (badDay) {
      setReport(null);
      return;
    }
    load(day);
  }, [day, badDay, load]);

  const saveCsv = () => {
    setSaving(true);
    setSaved(null);
    setProblem(null);
    commands
      .saveReportCsv(day)
      .then((s) => setSaved(s.path))
      .catch((e) => setProblem(errorText(e)))
      .finally(() => setSaving(false));
  };

  return (
    <section className="report report-print" aria-labelledby="report-heading" aria-busy={loading}>
      <div className="tab-head">
        <h1 id="report-heading">
          {t("tab.report")} <span className="print-only">{day}</span>
        </h1>
      </div>
      <div className="report-controls no-print">
        <button type="button" data-testid="report-prev" aria-label={t("report.prev")} onClick={() => setDay(shift(day, -1))}>
          ←
        </button>
        <label htmlFor={dateId} className="visually-hidden">
          {t("report.date")}
        </label>
        <input
          id={dateId}
          type="date"
          data-testid="report-date"
          value={day}
          max={today}
          aria-invalid={badDay != null}
          onChange={(e) => setDay(e.target.value)}
        />
        <button
          type="button"
          data-testid="report-next"
          aria-label={t("report.next")}
          disabled={day >= today}
          onClick={() => setDay(shift(day, 1))}
        >
          →
        </button>
        <button type="button" onClick={() => setDay(today)} disabled={day === today}>
          {t("report.today")}
        </button>
        <button type="button" data-testid="report-refresh" onClick={() => load(day)} disabled={loading || badDay != null}>
          {t("report.refresh")}
        </button>
        <span className="spacer" />
        <button type="button" data-testid="report-save-csv" onClick={saveCsv} disabled={saving || !report || badDay != null}>
          {saving ? t("common.working") : t("report.saveCsv")}
        </button>
        <button type="button" data-testid="report-print" onClick={() => window.print()} disabled={!report}>
          {t("report.print")}
        </button>
      </div>
      {saved && (
        <p className="report-saved no-print" role="status" data-testid="report-saved">
          {t("report.saved")} <code data-testid="report-saved-path">{saved}</code>
        </p>
      )}
      {badDay && (
        <p className="report-problem" role="alert" data-testid="report-problem">
          {badDay}
        </p>
      )}
      {problem && (
        <p className="report-problem" role="alert" data-testid="report-problem">
          {problem}
        </p>
      )}
      {loading && !report && (
        <p className="muted" role="status" data-testid="report-loading">
          {t("report.loading")}
        </p>
      )}
      {report && <ReportBody report={report} money={money} secs={secs} />}
    </section>
  );
}

function ReportBody({
  report,
  money,
  secs,
}: {
  report: ReportView;
  money: (n: number) => string;
  secs: (s: number | null) => string;
}) {
  const { t, fmt } = useT();
  const figures: [string, string, string][] = [
    ["report-orders", t("report.orders"), fmt.number(report.orders)],
    ["report-revenue-total", t("report.revenueTotal"), money(report.revenueTotal)],
    ["report-revenue-card", t("report.card"), money(report.revenueCard)],
    ["report-revenue-cash", t("report.cash"), money(report.revenueCash)],
    ["report-revenue-cell", t("report.cell"), money(report.revenueCell)],
    ["report-cancellations", t("report.cancellations"), fmt.number(report.cancellations.length)],
    ["report-points-used", t("report.pointsUsed"), fmt.number(report.pointsUsed)],
    ["report-points-charged", t("report.pointsCharged"), fmt.number(report.pointsCharged)],
    ["report-recalls", t("report.recalls"), fmt.number(report.recalls.length)],
    ["report-prep-median", t("report.prepMedian"), secs(report.prepMedian)],
    ["report-prep-p90", t("report.prepP90"), secs(report.prepP90)],
  ];
  return (
    <div className="report-body" data-testid="report-body" data-date={report.date}>
      <dl className="report-figures">
        {figures.map(([id, label, value]) => (
          <div key={id} className="figure">
            <dt>{label}</dt>
            <dd data-testid={id}>{value}</dd>
          </div>
        ))}
      </dl>
      {report.orders === 0 && report.cancellations.length === 0 && <p className="muted">{t("report.empty")}</p>}

      <ReportTable
        rows={report.items.length}
        title={t("report.byItem")}
        testId="report-items"
        heads={[t("report.item"), t("report.station"), t("report.sold"), t("report.revenue"), t("report.median"), t("report.p90")]}
      >
        {report.items.map((i) => (
          <tr key={i.menuId} data-testid={`report-item-${i.menuId}`}>
            <th scope="row">{i.name}</th>
            <td>{i.station}</td>
            <td className="num">{fmt.number(i.count)}</td>
            <td className="num">{money(i.revenue)}</td>
            <td className="num">{secs(i.median)}</td>
            <td className="num">{secs(i.p90)}</td>
          </tr>
        ))}
      </ReportTable>

      <ReportTable
        rows={report.stations.length}
        title={t("report.byStation")}
        testId="report-stations"
        heads={[t("report.station"), t("report.sold"), t("report.median"), t("report.p90")]}
      >
        {report.stations.map((s) => (
          <tr key={s.station} data-testid={`report-station-${s.station}`}>
            <th scope="row">{s.station}</th>
            <td className="num">{fmt.number(s.count)}</td>
            <td className="num">{secs(s.median)}</td>
            <td className="num">{secs(s.p90)}</td>
          </tr>
        ))}
      </ReportTable>

      <ReportTable
        rows={report.hours.length}
        title={t("report.byHour")}
        testId="report-hours"
        above={<HourBars hours={report.hours} />}
        heads={[t("report.hour"), t("report.orders"), t("report.revenue"), t("report.median"), t("report.p90")]}
      >
        {report.hours.map((h) => (
          <tr key={h.hour}>
            <th scope="row">{fmt.hour(h.hour)}</th>
            <td className="num">{fmt.number(h.orders)}</td>
            <td className="num">{money(h.revenue)}</td>
            <td className="num">{secs(h.median)}</td>
            <td className="num">{secs(h.p90)}</td>
          </tr>
        ))}
      </ReportTable>

      <ReportTable
        rows={report.cancellations.length}
        title={t("report.cancellations")}
        testId="report-cancelled"
        heads={[t("report.order"), t("report.at"), t("report.amount"), t("report.reason")]}
      >
        {report.cancellations.map((c) => (
          <tr key={c.orderId}>
            <th scope="row">#{c.dailyNum}</th>
            <td>{fmt.time(c.at)}</td>
            <td className="num">{money(c.amount)}</td>
            <td className="reason">{c.reason}</td>
          </tr>
        ))}
      </ReportTable>

      <ReportTable
        rows={report.recalls.length}
        title={t("report.recalls")}
        heads={[t("report.order"), t("report.at"), t("report.move")]}
      >
        {report.recalls.map((r, i) => (
          <tr key={`${r.orderId}-${i}`}>
            <th scope="row">{r.dailyNum == null ? t("common.none") : `#${r.dailyNum}`}</th>
            <td>{fmt.time(r.at)}</td>
            <td>
              {r.from} → {r.to}
            </td>
          </tr>
        ))}
      </ReportTable>
    </div>
  );
}

/** One of the report's tables under its heading, left out when it has no rows. */
function ReportTable({
  rows,
  title,
  testId,
  above,
  heads,
  children,
}: {
  rows: number;
  title: string;
  testId?: string;
  above?: React.ReactNode;
  heads: string[];
  children: React.ReactNode;
}) {
  if (rows === 0) return null;
  return (
    <>
      <h2>{title}</h2>
      {above}
      <table className="report-table" data-testid={testId}>
        <thead>
          <tr>
            {heads.map((h) => (
              <th key={h} scope="col">
                {h}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>{children}</tbody>
      </table>
    </>
  );
}

const BAR_W = 28;
const BAR_H = 120;

/** Orders per hour from the day's first to its last busy hour, plain SVG. */
function HourBars({ hours }: { hours: HourRow[] }) {
  const { t, fmt } = useT();
  const first = hours[0].hour;
  const last = hours[hours.length - 1].hour;
  const all = Array.from({ length: last - first + 1 }, (_, i) => hours.find((h) => h.hour === first + i) ?? { hour: first + i, orders: 0 });
  const max = Math.max(1, ...all.map((h) => h.orders));
  const summary = all.map((h) => t("dash.hourBar", { hour: fmt.hour(h.hour), count: fmt.number(h.orders) })).join(", ");
  return (
    <svg
      className="report-bars"
      viewBox={`0 0 ${all.length * BAR_W} ${BAR_H + 18}`}
      width={Math.min(720, all.length * BAR_W * 1.5)}
      role="img"
      aria-label={`${t("dash.chartLabel")}: ${summary}`}
    >
      {all.map((h, i) => {
        const height = (h.orders / max) * (BAR_H - 14);
        return (
          <g key={h.hour}>
            <rect x={i * BAR_W + 3} y={BAR_H - height} width={BAR_W - 6} height={height} className="bar" />
            {h.orders > 0 && (
              <text x={i * BAR_W + BAR_W / 2} y={BAR_H - height - 3} textAnchor="middle" className="bar-value">
                {fmt.number(h.orders)}
              </text>
            )}
            <text x={i * BAR_W + BAR_W / 2} y={BAR_H + 14} textAnchor="middle" className="tick">
              {h.hour}
            </text>
          </g>
        );
      })}
    </svg>
  );
}
