import { useCallback, useId, useMemo, useState } from "react";
import {
  commands,
  type CoreUpdate,
  type LineOptionEntry,
  type MenuEntry,
  type OrderEntry,
  type OrderEntryLine,
  type Screen,
  type Session,
  type Stage,
} from "../bindings";
import { useNow, useScreen } from "../core";
import { Dialog } from "../components/Dialog";
import { useT, type Key } from "../i18n";
import { useLongPress } from "../components/longPress";
import { StatusBar } from "../components/StatusBar";
import "./ticket.css";

const COLUMNS: Stage[] = ["PENDING", "MAKING", "READY"];
const REASONS: Key[] = ["reason.changedMind", "reason.outOfIngredient", "reason.duplicate", "reason.paidWrongly"];

/** How long a new order stays highlighted. */
const HIGHLIGHT_MS = 10_000;

/** New orders, by id, with when they arrived: the board highlights them for a while. */
export function useFreshOrders() {
  const [fresh, setFresh] = useState<Record<string, number>>({});
  const note = useCallback((update: CoreUpdate) => {
    if (update.kind === "changed" && update.newOrderId) {
      const id = update.newOrderId;
      setFresh((f) => ({ ...f, [id]: Date.now() }));
    }
  }, []);
  return { fresh, note };
}

/** The barista's screen: the connection, and the order board. */
export function Barista({ session }: { session: Session }) {
  const { t, errorText } = useT();
  const [problem, setProblem] = useState<string | null>(null);
  const { fresh, note } = useFreshOrders();
  const { screen, error } = useScreen((update) => {
    note(update);
    if (update.kind === "refused") setProblem(update.message);
  });
  if (!screen) return <div className="loading">{error ? errorText(error) : t("barista.loading")}</div>;
  return (
    <div className="barista">
      <StatusBar status={screen.status} outboxDepth={screen.outboxDepth} />
      <ProblemBanner problem={problem} onDismiss={() => setProblem(null)} />
      <OrdersBoard screen={screen} fresh={fresh} deviceName={session.deviceName} onProblem={setProblem} />
    </div>
  );
}

/** An error in words, until dismissed. */
export function ProblemBanner({ problem, onDismiss }: { problem: string | null; onDismiss: () => void }) {
  const { t } = useT();
  if (!problem) return null;
  return (
    <div className="banner error" role="alert" data-testid="problem">
      <span>{problem}</span>
      <button className="ghost" onClick={onDismiss} aria-label={t("common.dismiss")}>
        ✕
      </button>
    </div>
  );
}

/** PENDING → MAKING → READY columns, sold-out toggles, all-day counts and the recall list.
 * The barista board and the manager's Orders tab both show it. */
export function OrdersBoard({
  screen,
  fresh,
  deviceName,
  onProblem,
}: {
  screen: Screen;
  fresh: Record<string, number>;
  deviceName: string;
  onProblem: (text: string) => void;
}) {
  const { t, fmt, errorText } = useT();
  const [cancelling, setCancelling] = useState<OrderEntry | null>(null);
  const [recalled, setRecalled] = useState<OrderEntry | null>(null);
  const [showMenu, setShowMenu] = useState(false);
  const now = useNow();

  const orders = screen.orders;
  const today = new Date(now).toDateString();
  const todays = orders.filter((o) => new Date(o.createdAt).toDateString() === today);
  const allDay = useMemo(() => {
    const counts = new Map<string, number>();
    for (const o of todays) {
      if (o.status === "CANCELLED") continue;
      for (const l of o.items) counts.set(l.menuName, (counts.get(l.menuName) ?? 0) + l.quantity);
    }
    return [...counts.entries()].sort((a, b) => b[1] - a[1]);
  }, [todays]);

  const menuById = useMemo(() => new Map(screen.menu.map((m) => [m.id, m])), [screen.menu]);
  const amber = Number(screen.settings.timer_amber_minutes ?? 5) * 60_000;
  const red = Number(screen.settings.timer_red_minutes ?? 10) * 60_000;
  const settings = screen.settings;
  const recall = orders.filter((o) => o.status === "COMPLETED" || o.status === "CANCELLED").slice(0, 8);

  const act = (p: Promise<unknown>) => p.catch((e) => onProblem(errorText(e)));

  return (
    <div className="orders-board">
      <div className="board-tools">
        <button onClick={() => setShowMenu((s) => !s)} data-testid="menu-toggle" aria-pressed={showMenu}>
          {showMenu ? t("barista.orders") : t("barista.soldOutToggle")}
        </button>
        <button data-testid="open-board" onClick={() => act(commands.openBoard())}>
          {t("barista.openBoard")}
        </button>
        <button
          className={screen.muted ? "muted" : ""}
          data-testid="mute"
          aria-pressed={screen.muted}
          onClick={() => act(commands.setMuted(!screen.muted))}
        >
          {screen.muted ? t("barista.soundOff") : t("barista.soundOn")}
        </button>
        <span className="hint muted">{t("barista.longPressHint")}</span>
      </div>
      {showMenu ? (
        <div className="soldout-panel">
          <h2>{t("barista.soldOutHelp")}</h2>
          <div className="items">
            {screen.menu.map((m) => (
              <button
                key={m.id}
                className={`item ${m.isSoldOut ? "sold-out" : ""}`}
                data-testid={`soldout-${m.id}`}
                aria-pressed={m.isSoldOut}
                onClick={() => act(commands.setSoldOut(m.id, !m.isSoldOut))}
              >
                <span className="name">{m.name}</span>
                <span className="price">{m.isSoldOut ? t("kiosk.soldOut") : fmt.money(m.price, settings)}</span>
              </button>
            ))}
          </div>
        </div>
      ) : (
        <div className="columns">
          {COLUMNS.map((stage) => {
            const here = orders.filter((o) => o.status === stage).reverse();
            return (
              <section
                key={stage}
                className={`column col-${stage}`}
                data-testid={`column-${stage}`}
                aria-labelledby={`column-title-${stage}`}
              >
                <h2 id={`column-title-${stage}`}>
                  {t(`stage.${stage}`)} <span className="count">{fmt.number(here.length)}</span>
                </h2>
                {here.map((o) => (
                  <OrderCard
                    key={o.orderId}
                    order={o}
                    menu={menuById}
                    now={now}
                    amber={amber}
                    red={red}
                    isFresh={!!fresh[o.orderId] && now - fresh[o.orderId] < HIGHLIGHT_MS}
                    onAdvance={() => act(commands.advanceOrder(o.orderId))}
                    onCancel={() => setCancelling(o)}
                  />
                ))}
              </section>
            );
          })}
        </div>
      )}
      <footer className="barista-foot">
        <div className="allday">
          <strong>{t("barista.allDay")}</strong>{" "}
          {allDay.length === 0
            ? t("barista.nothingYet")
            : allDay.map(([name, n]) => `${fmt.number(n)}× ${name}`).join(" · ")}
        </div>
        <div className="recall">
          <strong>{t("barista.recall")}</strong>{" "}
          {recall.length === 0
            ? t("barista.nothingDone")
            : recall.map((o) => (
                <button
                  key={o.orderId}
                  className={`recall-item recall-${o.status}`}
                  data-testid={`recall-${o.dailyNum}`}
                  aria-label={t("barista.recallOpen", { num: o.dailyNum, status: t(`stage.${o.status}`) })}
                  onClick={() => setRecalled(o)}
                >
                  #{o.dailyNum} <span aria-hidden="true">{o.status === "CANCELLED" ? "✕" : "✓"}</span>
                </button>
              ))}
        </div>
        <div className="who">{deviceName}</div>
      </footer>
      {cancelling && (
        <CancelDialog
          order={cancelling}
          onClose={() => setCancelling(null)}
          onCancel={(reason) => {
            act(commands.cancelOrder(cancelling.orderId, reason));
            setCancelling(null);
          }}
        />
      )}
      {recalled && <RecallDialog order={recalled} menu={menuById} settings={settings} onClose={() => setRecalled(null)} />}
    </div>
  );
}

/** What an option is on a ticket: ICE and HOT each their own colour, extra
 * shots counted in bold, anything else a plain chip. */
type OptionKind = "ice" | "hot" | "shot" | "plain";

/** One chip of a line: an option, and how many times it was chosen. */
type Chip = { kind: OptionKind; text: string; times: number };

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
function LineOptions({ line, item }: { line: OrderEntryLine; item: MenuEntry | undefined }) {
  const { t, lang, fmt } = useT();
  const chips = lineChips(line, item, lang);
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

function OrderCard({
  order: o,
  menu,
  now,
  amber,
  red,
  isFresh,
  onAdvance,
  onCancel,
}: {
  order: OrderEntry;
  menu: Map<string, MenuEntry>;
  now: number;
  amber: number;
  red: number;
  isFresh: boolean;
  onAdvance: () => void;
  onCancel: () => void;
}) {
  const { t, fmt, lang } = useT();
  const press = useLongPress(onCancel);
  // The wait starts when the customer placed the order, which may be well
  // before the hub heard of it (an order queued offline).
  const waited = Math.max(0, now - Date.parse(o.placedAt || o.createdAt));
  const timer = waited >= red ? "red" : waited >= amber ? "amber" : "";
  const clock = fmt.duration(waited / 1000);
  const advance = o.status === "PENDING" || o.status === "MAKING" || o.status === "READY" ? o.status : "READY";
  return (
    <article
      className={`card ${timer} ${isFresh ? "fresh" : ""}`}
      data-testid={`order-${o.dailyNum}`}
      data-status={o.status}
      aria-label={`#${o.dailyNum}`}
      onContextMenu={(e) => {
        e.preventDefault();
        onCancel();
      }}
      {...press}
    >
      <div className="head">
        <span className="num">#{o.dailyNum}</span>
        {o.fulfilment === "TAKE_OUT" && (
          <span className="togo-badge" data-testid="ticket-togo">
            {t("barista.toGo")}
          </span>
        )}
        <span className={`pay-tag pay-${o.payType}`}>{o.payType === "CELL" ? o.cellName ?? t("pay.CELL") : t(`pay.${o.payType}`)}</span>
        <span className="timer" aria-label={t("barista.waited", { time: clock })}>
          {clock}
        </span>
      </div>
      {o.reference && (
        <div className="ticket-ref" data-testid="ticket-ref">
          {t("barista.reference", { reference: o.reference })}
        </div>
      )}
      <ul className="ticket-lines">
        {o.items.map((l, i) => (
          <li key={i}>
            <span className="ticket-item">
              <strong>{fmt.number(l.quantity)}×</strong> {menu.get(l.menuId)?.names[lang] || l.menuName}
            </span>
            <LineOptions line={l} item={menu.get(l.menuId)} />
          </li>
        ))}
      </ul>
      <div className="card-actions">
        <button className="primary" data-testid={`advance-${o.dailyNum}`} onClick={onAdvance}>
          {t(`barista.advance${advance}`)}
        </button>
        <button className="ghost more" aria-label={t("barista.more", { num: o.dailyNum })} onClick={onCancel}>
          ⋯
        </button>
      </div>
    </article>
  );
}

function CancelDialog({
  order,
  onClose,
  onCancel,
}: {
  order: OrderEntry;
  onClose: () => void;
  onCancel: (reason: string) => void;
}) {
  const { t } = useT();
  const [other, setOther] = useState("");
  const otherId = useId();
  return (
    <Dialog title={t("barista.cancelTitle", { num: order.dailyNum })} onClose={onClose} testId="cancel-dialog">
      <p>{t("barista.why")}</p>
      {REASONS.map((r) => (
        <button key={r} className="reason" onClick={() => onCancel(t(r))}>
          {t(r)}
        </button>
      ))}
      <form
        className="other-reason"
        onSubmit={(e) => {
          e.preventDefault();
          if (other.trim()) onCancel(other.trim());
        }}
      >
        <label htmlFor={otherId}>{t("barista.otherReason")}</label>
        <input
          id={otherId}
          data-testid="cancel-other"
          value={other}
          maxLength={200}
          placeholder={t("barista.otherPlaceholder")}
          onChange={(e) => setOther(e.target.value)}
        />
        <button type="submit" className="danger" disabled={!other.trim()}>
          {t("barista.cancelWithReason")}
        </button>
      </form>
      <button className="link" data-autofocus onClick={onClose}>
        {t("barista.keep")}
      </button>
    </Dialog>
  );
}

function RecallDialog({
  order,
  menu,
  settings,
  onClose,
}: {
  order: OrderEntry;
  menu: Map<string, MenuEntry>;
  settings: Screen["settings"];
  onClose: () => void;
}) {
  const { t, fmt } = useT();
  const pay = order.payType === "CELL" ? order.cellName ?? t("pay.CELL") : t(`pay.${order.payType}`);
  return (
    <Dialog title={t("recall.title", { num: order.dailyNum })} onClose={onClose} testId="recall-dialog">
      <p className={`recall-status recall-${order.status}`}>
        {t(`stage.${order.status}`)}
        {order.fulfilment === "TAKE_OUT" && <span className="togo-badge">{t("barista.toGo")}</span>}
      </p>
      <ul className="recall-lines ticket-lines">
        {order.items.map((l, i) => (
          <li key={i}>
            <span className="ticket-item">
              <strong>{fmt.number(l.quantity)}×</strong> {l.menuName}
            </span>
            <LineOptions line={l} item={menu.get(l.menuId)} />
          </li>
        ))}
      </ul>
      <p>
        {t("common.total")}: <strong>{fmt.money(order.totalAmount, settings)}</strong> · {t("recall.paidWith", { pay })}
      </p>
      <p>{t("recall.placed", { time: fmt.time(order.placedAt || order.createdAt) })}</p>
      <p>
        {order.status === "CANCELLED"
          ? t("recall.cancelled", { time: fmt.time(order.updatedAt) })
          : t("recall.finished", { time: fmt.time(order.updatedAt) })}
      </p>
      {order.cancelReason && <p>{t("recall.reason", { reason: order.cancelReason })}</p>}
      <button className="primary" onClick={onClose}>
        {t("common.close")}
      </button>
    </Dialog>
  );
}
