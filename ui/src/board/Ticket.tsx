// One ticket of the barista board: number huge, status on it, items at
// 24 px with their options as coloured chips, the head filled amber then
// red as the order waits. Memoised: only its head (the timer) follows the
// clock, once a second, each ticket at its own moment of the second.
import { memo, useEffect, useLayoutEffect, useMemo, useRef, useState } from "react";
import type { LineOptionEntry, MenuEntry, OrderEntry, OrderEntryLine } from "../bindings";
import { markBenchTick } from "../core";
import { useT } from "../i18n";
import { useLongPress } from "../components/longPress";
import { isExpo, otherStations, shownLines } from "./model";
import { stationName } from "./stations";

/** The time, ticking when the wait since `since` passes a whole second:
 * each ticket's clock turns at its own moment of the second, so the
 * repaints of a board's timers spread over the second instead of all
 * landing in one frame. */
function useOwnSecond(since: number): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    let timer = 0;
    const schedule = () => {
      const base = Number.isFinite(since) ? since : 0;
      const into = (((Date.now() - base) % 1000) + 1000) % 1000;
      timer = window.setTimeout(() => {
        // A benchmark (crates/bench's countertop-board-frames) times this
        // ticket's re-render from here.
        markBenchTick("ticket");
        setNow(Date.now());
        schedule();
      }, 1000 - into + 2);
    };
    schedule();
    return () => window.clearTimeout(timer);
  }, [since]);
  return now;
}

/** What an option is on a ticket: ICE and HOT each their own colour, extra
 * shots counted in bold, anything else a plain chip. */
type OptionKind = "ice" | "hot" | "shot" | "plain";

/** One chip of a line: an option, and how many times it was chosen. */
export type Chip = { kind: OptionKind; text: string; times: number };

/** The kind of option `o` of a line of item `item`. ICE and HOT are told by
 * the choice's id (`ice`, `hot`), found through the cached menu by the
 * line's group and choice names; an item gone from the menu (or an old
 * order) falls back to the names ICE and HOT. */
function optionKind(o: LineOptionEntry, item: MenuEntry | undefined): OptionKind {
  const group = item?.optionGroups.find((g) => g.name === o.group);
  const choice = group?.choices.find((c) => c.name === o.choice);
  const id = choice?.id ?? o.choice.trim().toLowerCase();
  if (id === "ice" || id === "iced") return "ice";
  if (id === "hot") return "hot";
  const shotWords = /(^|-|\s)shots?($|-|\s)|샷/i;
  if (group ? shotWords.test(group.id) || shotWords.test(choice?.id ?? "") : shotWords.test(`${o.group} ${o.choice}`)) {
    return "shot";
  }
  return "plain";
}

/** A line's options as chips, a choice taken more than once counted once
 * with its count, in the line's order, each in the screen's language where
 * the menu names it so. */
export function lineChips(line: OrderEntryLine, item: MenuEntry | undefined, lang: string): Chip[] {
  const chips: Chip[] = [];
  for (const o of line.options) {
    const group = item?.optionGroups.find((g) => g.name === o.group);
    const choice = group?.choices.find((c) => c.name === o.choice);
    const text = (choice && (choice.names[lang] || choice.name)) || o.choice;
    const kind = optionKind(o, item);
    const same = chips.find((c) => c.kind === kind && c.text === text);
    if (same) same.times += 1;
    else chips.push({ kind, text, times: 1 });
  }
  return chips;
}

/** A line's options on a ticket, large and in colour. */
export function LineOptions({ chips }: { chips: Chip[] }) {
  const { t, fmt } = useT();
  if (chips.length === 0) return null;
  return (
    <div className="ticket-options">
      {chips.map((c, i) => (
        <span key={i} className={`chip chip-${c.kind}`} data-testid={`chip-${c.kind}`} data-times={c.times}>
          {c.kind === "ice" && (
            <span className="chip-sign" aria-hidden="true">
              ❄
            </span>
          )}
          {c.kind === "hot" && (
            <span className="chip-sign" aria-hidden="true">
              ♨
            </span>
          )}
          {c.kind === "shot"
            ? c.times === 1
              ? t("barista.shot")
              : t("barista.shots", { count: fmt.number(c.times) })
            : c.times > 1
              ? `${c.text} ×${fmt.number(c.times)}`
              : c.text}
        </span>
      ))}
    </div>
  );
}

/** The "+2 more items" row's height with its margin (board.css .ticket-more). */
const MORE_ROW_PX = 42;

/** What a ticket does when worked; one stable object for every ticket, so
 * the memoised tickets do not re-render when the board does. */
export type TicketHandlers = {
  select: (orderId: string) => void;
  bump: (orderId: string) => void;
  cancel: (orderId: string) => void;
  details: (orderId: string) => void;
  toggleLine: (orderId: string, index: number, done: boolean) => void;
};

export type TicketProps = {
  order: OrderEntry;
  /** 1-based, on the current page (grid) or in the view (columns). */
  position: number;
  /** The key that selects it, shown in its corner ("" for none). */
  positionKey: string;
  selected: boolean;
  stations: readonly string[];
  menu: Map<string, MenuEntry>;
  amber: number;
  red: number;
  /** The grid's fixed size; none in the status columns (as tall as it needs). */
  width?: number;
  height?: number;
  fresh: boolean;
  handlers: TicketHandlers;
};

/** The head: number, status, To go and the wait, filled by its age. */
function TicketHead({
  order: o,
  amber,
  red,
  positionKey,
  selected,
}: {
  order: OrderEntry;
  amber: number;
  red: number;
  positionKey: string;
  selected: boolean;
}) {
  const { t, fmt } = useT();
  // The wait starts when the customer placed the order, which may be well
  // before the hub heard of it (an order queued offline).
  const since = Date.parse(o.placedAt || o.createdAt);
  const now = useOwnSecond(since);
  const waited = Number.isFinite(since) ? Math.max(0, now - since) : 0;
  const age = o.status === "READY" ? "ready" : waited >= red ? "red" : waited >= amber ? "amber" : "calm";
  const clock = fmt.duration(waited / 1000);
  return (
    <div className={`head age-${age}`} data-age={age}>
      {selected ? (
        <span className="pos-key selected-marker" data-testid="selected-marker">
          ▶{positionKey && ` ${positionKey}`}
          <span className="visually-hidden">{t("board.selected")}</span>
        </span>
      ) : (
        positionKey && (
          <span className="pos-key" aria-hidden="true">
            {positionKey}
          </span>
        )
      )}
      <span className="num">#{o.dailyNum}</span>
      <span className="badges">
        <span className={`status-badge status-${o.status}`}>{t(`stage.${o.status}`)}</span>
        {o.fulfilment === "TAKE_OUT" && (
          <span className="togo-badge" data-testid="ticket-togo">
            {t("barista.toGo")}
          </span>
        )}
      </span>
      <span className="timer" aria-label={t("barista.waited", { time: clock })}>
        {clock}
      </span>
    </div>
  );
}

function TicketView({
  order: o,
  position,
  positionKey,
  selected,
  stations,
  menu,
  amber,
  red,
  width,
  height,
  fresh,
  handlers,
}: TicketProps) {
  const { t, fmt, lang } = useT();
  const press = useLongPress(() => handlers.cancel(o.orderId));
  const expo = isExpo(stations);
  const lines = useMemo(
    () =>
      shownLines(o, stations).map((index) => {
        const line = o.items[index];
        const item = menu.get(line.menuId);
        const name = item?.names[lang] || line.menuName;
        return { index, line, name, chips: lineChips(line, item, lang) };
      }),
    [o, stations, menu, lang],
  );
  const others = useMemo(() => otherStations(o, stations), [o, stations]);
  // A ticket of fixed height shows the lines that fit, the rest summed up
  // as "+2 more items": measured once each time its lines or its size
  // change (every line drawn, then those that overflow taken off), never
  // on a clock.
  const list = useRef<HTMLUListElement>(null);
  const [measured, setMeasured] = useState<{ lines: unknown; width?: number; height?: number; fit: number } | null>(null);
  const current = measured && measured.lines === lines && measured.width === width && measured.height === height;
  const fit = current ? measured.fit : lines.length;
  useLayoutEffect(() => {
    const ul = list.current;
    if (!ul || height === undefined || current) return;
    if (ul.scrollHeight <= ul.clientHeight + 1) return;
    const room = ul.clientHeight - MORE_ROW_PX;
    let n = 0;
    while (n < ul.children.length) {
      const li = ul.children[n] as HTMLElement;
      if (li.offsetTop + li.offsetHeight > room) break;
      n += 1;
    }
    setMeasured({ lines, width, height, fit: Math.max(1, n) });
  });
  const hiddenLines = lines.slice(fit);
  const hiddenItems = hiddenLines.reduce((n, l) => n + l.line.quantity, 0);
  const bumpLabel = expo
    ? t(`barista.advance${o.status === "PENDING" || o.status === "MAKING" ? o.status : "READY"}`)
    : t("board.bumpStation");
  const pay = o.payType === "CELL" ? o.cellName ?? t("pay.CELL") : t(`pay.${o.payType}`);
  return (
    <article
      className={`card ticket status-${o.status} ${selected ? "selected" : ""} ${fresh ? "fresh" : ""}`}
      data-testid={`order-${o.dailyNum}`}
      data-status={o.status}
      data-position={position}
      data-selected={selected ? "true" : "false"}
      aria-label={`#${o.dailyNum}`}
      aria-current={selected ? "true" : undefined}
      style={height !== undefined ? { height } : undefined}
      onClick={() => handlers.select(o.orderId)}
      onContextMenu={(e) => {
        e.preventDefault();
        handlers.cancel(o.orderId);
      }}
      {...press}
    >
      <TicketHead order={o} amber={amber} red={red} positionKey={positionKey} selected={selected} />
      <ul className="ticket-lines" ref={list}>
        {lines.slice(0, fit).map((l) => (
          <li
            key={l.index}
            className={l.line.done ? "done" : ""}
            data-testid={`line-${o.dailyNum}-${l.index}`}
            data-done={l.line.done ? "true" : "false"}
          >
            <button
              className="tick"
              role="checkbox"
              aria-checked={l.line.done}
              aria-label={t(l.line.done ? "board.lineUndo" : "board.lineDone", { item: l.name })}
              onClick={(e) => {
                e.stopPropagation();
                handlers.toggleLine(o.orderId, l.index, !l.line.done);
                e.currentTarget.blur();
              }}
            >
              {l.line.done ? "✓" : ""}
            </button>
            <div className="line-body">
              <span className="ticket-item">
                <strong>{fmt.number(l.line.quantity)}×</strong> {l.name}
              </span>
              <LineOptions chips={l.chips} />
            </div>
          </li>
        ))}
      </ul>
      {hiddenLines.length > 0 && (
        <button
          className="ticket-more"
          data-testid={`ticket-more-${o.dailyNum}`}
          onClick={(e) => {
            e.stopPropagation();
            handlers.details(o.orderId);
          }}
        >
          {t("board.moreItems", { count: fmt.number(hiddenItems) })}
        </button>
      )}
      {others.length > 0 && (
        <div className="other-stations">
          {others
            .map((s) => t("board.otherStation", { station: stationName(t, s.station), count: fmt.number(s.count) }))
            .join(" · ")}
        </div>
      )}
      <div className="card-actions">
        <button
          className="primary bump"
          data-testid={`advance-${o.dailyNum}`}
          onClick={(e) => {
            e.stopPropagation();
            handlers.bump(o.orderId);
            e.currentTarget.blur();
          }}
        >
          {bumpLabel}
        </button>
        <div className="ticket-meta">
          {o.reference && (
            <span className="ticket-ref" data-testid="ticket-ref">
              {t("barista.reference", { reference: o.reference })}
            </span>
          )}
          <span className={`pay-tag pay-${o.payType}`}>{pay}</span>
        </div>
        <button
          className="ghost more"
          aria-label={t("barista.more", { num: o.dailyNum })}
          onClick={(e) => {
            e.stopPropagation();
            handlers.cancel(o.orderId);
          }}
        >
          ⋯
        </button>
      </div>
    </article>
  );
}

export const Ticket = memo(TicketView);
