import { useEffect, useState } from "react";
import { commands, type ReportView } from "../bindings";
import { useNow } from "../core";
import { useT } from "../i18n";
import type { TabProps } from "./common";
import { localDay } from "./Report";

const CHART_W = 480;
const CHART_H = 160;
const AXIS = 20;

/**
 * Today's figures, live: each `changed` reads the screen again. Until the
 * hub's first `dashboard:update` of the day reaches this device, today's
 * report (read from the hub when the tab opens, and not again once the hub's
 * own figures have come) gives the figures, so they are there from the moment it opens.
 */
export function Dashboard({ screen }: TabProps) {
  const { t, fmt } = useT();
  const now = useNow();
  const d = screen.dashboard;
  const [report, setReport] = useState<ReportView | null>(null);
  const today = localDay(new Date(now));
  const hubLive = d.updatedAt != null && localDay(new Date(d.updatedAt)) === today;
  useEffect(() => {
    // The hub's own figures have come: the report is not needed.
    if (hubLive) return;
    let live = true;
    commands
      .dailyReport(null)
      .then((r) => live && setReport(r))
      // Offline: the figures counted from the cached orders stay.
      .catch(() => undefined);
    return () => {
      live = false;
    };
  }, [hubLive]);
  const fromReport = !hubLive && report != null && report.date === today ? report : null;
  const prepLive = hubLive && d.avgPrepSeconds != null && d.avgPrepSeconds > 0;
  const figures = [
    {
      id: "dash-orders-today",
      label: t("dash.ordersToday"),
      value: fmt.number(fromReport ? fromReport.orders : d.ordersToday),
    },
    {
      id: "dash-revenue-today",
      label: t("dash.revenueToday"),
      value: fmt.money(fromReport ? fromReport.revenueTotal : d.revenueToday, screen.settings),
    },
    { id: "dash-open-orders", label: t("dash.openOrders"), value: fmt.number(d.openOrders) },
    prepLive
      ? { id: "dash-avg-prep", label: t("dash.avgPrep"), value: fmt.duration(d.avgPrepSeconds ?? 0) }
      : {
          id: "dash-avg-prep",
          label: t("dash.medianPrep"),
          value: report?.prepMedian == null ? t("common.none") : fmt.duration(report.prepMedian),
        },
  ];
  return (
    <section className="dashboard" aria-labelledby="dash-title">
      <h1 id="dash-title" className="visually-hidden">
        {t("tab.dashboard")}
      </h1>
      <div className="figures">
        {figures.map((f) => (
          <div key={f.id} className="figure">
            <span className="label">{f.label}</span>
            <strong data-testid={f.id} aria-live="polite">
              {f.value}
            </strong>
          </div>
        ))}
      </div>
      <h2>{t("dash.perHour")}</h2>
      <HourChart hours={d.ordersPerHour} />
      <p className="muted">{d.updatedAt ? t("dash.updated", { age: fmt.ago(d.updatedAt, now) }) : t("dash.notYet")}</p>
    </section>
  );
}

function HourChart({ hours }: { hours: { hour: number; count: number }[] }) {
  const { t, fmt } = useT();
  const max = Math.max(1, ...hours.map((h) => h.count));
  const slot = CHART_W / 24;
  const busy = hours.filter((h) => h.count > 0);
  const summary = busy.length
    ? busy.map((h) => t("dash.hourBar", { hour: fmt.hour(h.hour), count: fmt.number(h.count) })).join(", ")
    : t("common.none");
  return (
    <svg
      className="hour-chart"
      data-testid="dash-chart"
      viewBox={`0 0 ${CHART_W} ${CHART_H + AXIS}`}
      role="img"
      aria-label={`${t("dash.chartLabel")}: ${summary}`}
    >
      <line x1={0} x2={CHART_W} y1={CHART_H} y2={CHART_H} className="axis" />
      {hours.map((h) => {
        const height = (h.count / max) * (CHART_H - 16);
        const x = h.hour * slot;
        return (
          <g key={h.hour} data-hour={h.hour} data-count={h.count}>
            <rect x={x + 2} y={CHART_H - height} width={slot - 4} height={height} rx={2} className="bar">
              <title>{t("dash.hourBar", { hour: fmt.hour(h.hour), count: fmt.number(h.count) })}</title>
            </rect>
            {h.count > 0 && (
              <text x={x + slot / 2} y={CHART_H - height - 4} textAnchor="middle" className="bar-value">
                {fmt.number(h.count)}
              </text>
            )}
            {h.hour % 3 === 0 && (
              <text x={x + slot / 2} y={CHART_H + 15} textAnchor="middle" className="tick">
                {h.hour}
              </text>
            )}
          </g>
        );
      })}
    </svg>
  );
}
