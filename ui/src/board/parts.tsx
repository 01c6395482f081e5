// The barista board's smaller parts: the station choice, the all-day
// counts, the recall strip, the undo toast and the sold-out drawer.
import type { MenuEntry, OrderEntry, Screen } from "../bindings";
import { useT } from "../i18n";
import type { AllDayStation } from "./model";
import { stationName } from "./stations";

/** One chip per station plus "All (expo)"; several may be on. */
export function StationChips({
  stations,
  chosen,
  onChoose,
}: {
  stations: readonly string[];
  chosen: readonly string[];
  onChoose: (stations: string[]) => void;
}) {
  const { t } = useT();
  const expo = chosen.length === 0;
  // A chosen station no order or item names any more stays, to be unchosen.
  const all = [...stations, ...chosen.filter((c) => !stations.includes(c))];
  return (
    <div className="station-chips" role="group" aria-label={t("board.stations")}>
      <button
        className={`station-chip ${expo ? "on" : ""}`}
        data-testid="station-all"
        aria-pressed={expo}
        onClick={() => onChoose([])}
      >
        {t("board.all")}
      </button>
      {all.map((s) => {
        const on = chosen.includes(s);
        return (
          <button
            key={s}
            className={`station-chip ${on ? "on" : ""}`}
            data-testid={`station-${s}`}
            aria-pressed={on}
            onClick={() => onChoose(on ? chosen.filter((c) => c !== s) : [...chosen, s])}
          >
            {stationName(t, s)}
          </button>
        );
      })}
    </div>
  );
}

/** Items still to make, per station: "Bar: 4× Americano · 2× Latte". */
export function AllDay({ counts }: { counts: AllDayStation[] }) {
  const { t, fmt } = useT();
  return (
    <div className="allday" data-testid="allday">
      <strong>{t("barista.allDay")}</strong>{" "}
      {counts.length === 0 ? (
        <span className="muted">{t("board.nothingToMake")}</span>
      ) : (
        counts.map((s) => (
          <span key={s.station} className="allday-station" data-testid={`allday-${s.station}`}>
            <strong>{stationName(t, s.station)}:</strong>{" "}
            {s.items.map((i) => `${fmt.number(i.quantity)}× ${i.name}`).join(" · ")}
          </span>
        ))
      )}
    </div>
  );
}

/** The last bumped or picked-up orders, newest first, each with Recall. */
export function RecallStrip({
  orders,
  onRecall,
  onDetails,
}: {
  orders: OrderEntry[];
  onRecall: (order: OrderEntry) => void;
  onDetails: (order: OrderEntry) => void;
}) {
  const { t } = useT();
  return (
    <div className="recall" data-testid="recall-strip">
      <strong>{t("barista.recall")}</strong>{" "}
      {orders.length === 0 ? (
        <span className="muted">{t("barista.nothingDone")}</span>
      ) : (
        orders.map((o) => (
          <span key={o.orderId} className={`recall-entry recall-${o.status}`} data-testid={`recall-${o.dailyNum}`}>
            <button
              className="recall-item"
              aria-label={t("barista.recallOpen", { num: o.dailyNum, status: t(`stage.${o.status}`) })}
              onClick={() => onDetails(o)}
            >
              #{o.dailyNum} <span className="recall-state">{t(`stage.${o.status}`)}</span>
            </button>
            <button
              className="recall-do"
              data-testid={`recall-do-${o.dailyNum}`}
              aria-label={t("board.recallNum", { num: o.dailyNum })}
              onClick={() => onRecall(o)}
            >
              ↶ {t("board.recallDo")}
            </button>
          </span>
        ))
      )}
    </div>
  );
}

/** What the last bump did, and the way back for a few seconds. */
export type Bumped = {
  id: number;
  orderId: string;
  dailyNum: number;
  /** How to take it back: unmark these lines, or recall the order; none
   * for a new order started (the hub has no way back to New). */
  undo: { kind: "unmark"; lines: number[] } | { kind: "recall" } | null;
};

export function UndoToast({ bumped, undoKey, onUndo }: { bumped: Bumped; undoKey: string; onUndo: () => void }) {
  const { t } = useT();
  return (
    <div className="undo-toast" role="status" data-testid="undo-toast" key={bumped.id}>
      <span>{t("board.bumped", { num: bumped.dailyNum })}</span>
      {bumped.undo && (
        <button data-testid="undo" onClick={onUndo}>
          {t("board.undo", { key: undoKey })}
        </button>
      )}
      <span className="undo-timer" aria-hidden="true" />
    </div>
  );
}

/** Sold out, beside the tickets: they stay in view and live. */
export function SoldOutDrawer({
  menu,
  settings,
  onToggle,
  onClose,
}: {
  menu: MenuEntry[];
  settings: Screen["settings"];
  onToggle: (item: MenuEntry) => void;
  onClose: () => void;
}) {
  const { t, fmt, lang } = useT();
  return (
    <aside className="soldout-panel" data-testid="soldout-panel" aria-label={t("barista.soldOutHelp")}>
      <div className="drawer-head">
        <h2>{t("barista.soldOutHelp")}</h2>
        <button className="ghost" aria-label={t("common.close")} onClick={onClose}>
          ✕
        </button>
      </div>
      <div className="items">
        {menu.map((m) => (
          <button
            key={m.id}
            className={`item ${m.isSoldOut ? "sold-out" : ""}`}
            data-testid={`soldout-${m.id}`}
            aria-pressed={m.isSoldOut}
            onClick={() => onToggle(m)}
          >
            <span className="name">{m.names[lang] || m.name}</span>
            <span className="price">{m.isSoldOut ? t("kiosk.soldOut") : fmt.money(m.price, settings)}</span>
          </button>
        ))}
      </div>
    </aside>
  );
}
