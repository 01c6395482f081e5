import { useCallback, useEffect, useId, useLayoutEffect, useMemo, useRef, useState } from "react";
import {
  commands,
  type CoreUpdate,
  type MenuEntry,
  type OrderEntry,
  type Screen,
  type Session,
  type Stage,
} from "../bindings";
import { useScreen } from "../core";
import { Dialog } from "../components/Dialog";
import { useT, type Key } from "../i18n";
import { StatusBar } from "../components/StatusBar";
import { SoundControl } from "../components/SoundControl";
import { NoticeStrip } from "../components/NoticeStrip";
import { BurstBanner } from "../components/BurstBanner";
import { actionFor, keyIsElsewhere, keyLabel, keyName, positionOf, useKeyMap } from "../board/keys";
import { KeyLegend, KeysDialog } from "../board/KeysDialog";
import { PairDeviceDialog } from "../components/PairDeviceDialog";
import {
  activeTickets,
  allDayCounts,
  clamp,
  columnTickets,
  gridShape,
  isExpo,
  linesToMark,
  pageCount,
  recallable,
  shownLines,
  statusCounts,
} from "../board/model";
import { AllDay, RecallStrip, SoldOutDrawer, StationChips, UndoToast, type Bumped } from "../board/parts";
import { LineOptions, lineChips, Ticket, type TicketHandlers } from "../board/Ticket";
import "./ticket.css";
import "../board/board.css";

export { lineChips };

const COLUMNS: Stage[] = ["PENDING", "MAKING", "READY"];
const REASONS: Key[] = ["reason.changedMind", "reason.outOfIngredient", "reason.duplicate", "reason.paidWrongly"];

/** How long a new order stays highlighted. */
const HIGHLIGHT_MS = 10_000;
/** How long the undo toast stays after a bump. */
const UNDO_MS = 8_000;
const VIEW_STORE = "countertop.board.view";
/** The ticket grid's padding in board.css (.ticket-grid). */
const GRID_PADDING = 8;

type View = "grid" | "columns";

/** New orders, by id, with when they arrived: the board highlights them for a while. */
export function useFreshOrders() {
  const [fresh, setFresh] = useState<Record<string, number>>({});
  const note = useCallback((update: CoreUpdate) => {
    if (update.kind === "changed" && update.newOrderId) {
      const id = update.newOrderId;
      setFresh((f) => {
        // Forget the old ones: the map stays small through a long day.
        const now = Date.now();
        const kept: Record<string, number> = {};
        for (const [k, at] of Object.entries(f)) if (now - at < HIGHLIGHT_MS) kept[k] = at;
        kept[id] = now;
        return kept;
      });
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
      <OrdersBoard
        screen={screen}
        fresh={fresh}
        deviceName={session.deviceName}
        onProblem={setProblem}
        counter
        hosting={session.hosting}
      />
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

function storedView(): View {
  try {
    return localStorage.getItem(VIEW_STORE) === "columns" ? "columns" : "grid";
  } catch {
    return "grid";
  }
}

/** The box the grid fills, measured when the window (or the panel) resizes. */
function useBoxSize(view: View) {
  const ref = useRef<HTMLDivElement>(null);
  const [size, setSize] = useState({ width: 0, height: 0 });
  useLayoutEffect(() => {
    const node = ref.current;
    if (!node) return;
    const read = () => {
      // The grid's padding leaves room for the selected ticket's outline.
      const width = Math.max(0, Math.floor(node.clientWidth) - 2 * GRID_PADDING);
      const height = Math.max(0, Math.floor(node.clientHeight) - 2 * GRID_PADDING);
      setSize((s) => (s.width === width && s.height === height ? s : { width, height }));
    };
    read();
    const observer = new ResizeObserver(read);
    observer.observe(node);
    return () => observer.disconnect();
  }, [view]);
  return { ref, size };
}

/** The order board: a grid of tickets in pages (or status columns), worked
 * by touch or by a bump bar's keys; stations, all-day counts, recall, undo
 * and sold-out. The barista board and the manager's Orders tab both show it. */
export function OrdersBoard({
  screen,
  fresh,
  deviceName,
  onProblem,
  counter = false,
  hosting = false,
}: {
  screen: Screen;
  fresh: Record<string, number>;
  deviceName: string;
  onProblem: (text: string) => void;
  /** The barista's own screen: its sound, notices and bursts shown here
   * (the manager's screen shows its own elsewhere). */
  counter?: boolean;
  /** This computer hosts the hub: staff here may pair new devices. */
  hosting?: boolean;
}) {
  const { t, fmt, lang, errorText } = useT();
  const [pairing, setPairing] = useState(false);
  const [view, setView] = useState<View>(storedView);
  const [page, setPage] = useState(0);
  const [sel, setSel] = useState(0);
  const [keys, setKeys] = useKeyMap();
  const [showKeys, setShowKeys] = useState(false);
  const [showMenu, setShowMenu] = useState(false);
  const [cancelling, setCancelling] = useState<string | null>(null);
  const [details, setDetails] = useState<OrderEntry | null>(null);
  const [bumped, setBumped] = useState<Bumped | null>(null);
  const bumps = useRef(0);
  const { ref: gridBox, size } = useBoxSize(view);

  const orders = screen.orders;
  // The stations chosen here, at once (the screen is not read again for
  // it); until then the device's stored choice.
  const [chosen, setChosen] = useState<string[] | null>(null);
  const stations = chosen ?? screen.boardStations;
  const expo = isExpo(stations);
  const menuById = useMemo(() => new Map(screen.menu.map((m) => [m.id, m])), [screen.menu]);
  const amber = Number(screen.settings.timer_amber_minutes ?? 5) * 60_000;
  const red = Number(screen.settings.timer_red_minutes ?? 10) * 60_000;
  const settings = screen.settings;

  const tickets = useMemo(() => activeTickets(orders, stations), [orders, stations]);
  const columns = useMemo(
    () =>
      COLUMNS.map((stage) =>
        stage === "READY" && !expo ? columnTickets(orders, stations, stage) : tickets.filter((o) => o.status === stage),
      ),
    [orders, stations, tickets, expo],
  );
  const counts = useMemo(() => statusCounts(view === "grid" ? tickets : columns.flat()), [view, tickets, columns]);
  const allDay = useMemo(
    () => allDayCounts(orders, stations, (l) => menuById.get(l.menuId)?.names[lang] || l.menuName),
    [orders, stations, menuById, lang],
  );
  const recall = useMemo(() => recallable(orders, stations, Date.now()), [orders, stations]);

  // The grid's pages; the status columns are one page, each column scrolling.
  const shape = gridShape(size.width, size.height);
  const perPage = view === "grid" ? shape.perPage : Number.MAX_SAFE_INTEGER;
  const pages = view === "grid" ? pageCount(tickets.length, perPage) : 1;
  const pageNow = clamp(page, 0, pages - 1);
  // A page gone (its tickets bumped) is forgotten, not returned to later.
  useEffect(() => {
    if (page !== pageNow) setPage(pageNow);
  }, [page, pageNow]);
  const onPage = useMemo(
    () => (view === "grid" ? tickets.slice(pageNow * perPage, (pageNow + 1) * perPage) : columns.flat()),
    [view, tickets, columns, pageNow, perPage],
  );
  const more = view === "grid" ? tickets.length - onPage.length : 0;
  // A selection never points past the end: after a bump the next ticket
  // slides into the same place.
  const selNow = onPage.length === 0 ? -1 : clamp(sel, 0, onPage.length - 1);
  const selected = selNow >= 0 ? onPage[selNow] : undefined;

  const act = useCallback((p: Promise<unknown>) => p.catch((e) => onProblem(errorText(e))), [onProblem, errorText]);

  const bump = useCallback(
    (o: OrderEntry) => {
      const id = ++bumps.current;
      if (expo) {
        act(commands.advanceOrder(o.orderId));
        setBumped({
          id,
          orderId: o.orderId,
          dailyNum: o.dailyNum,
          undo: o.status === "PENDING" ? null : { kind: "recall" },
        });
      } else {
        const lines = linesToMark(o, stations);
        if (lines.length === 0) return;
        act(commands.markItems(o.orderId, lines, true));
        setBumped({ id, orderId: o.orderId, dailyNum: o.dailyNum, undo: { kind: "unmark", lines } });
      }
    },
    [expo, stations, act],
  );

  const undo = useCallback(() => {
    if (!bumped?.undo) return;
    if (bumped.undo.kind === "unmark") act(commands.markItems(bumped.orderId, bumped.undo.lines, false));
    else act(commands.recallOrder(bumped.orderId));
    setBumped(null);
  }, [bumped, act]);

  const recallOne = useCallback(
    (o: OrderEntry) => {
      if (expo) act(commands.recallOrder(o.orderId));
      else {
        const own = shownLines(o, stations).filter((i) => o.items[i].done);
        if (own.length > 0) act(commands.markItems(o.orderId, own, false));
      }
      if (bumped?.orderId === o.orderId) setBumped(null);
    },
    [expo, stations, act, bumped],
  );

  // The toast goes after a while.
  useEffect(() => {
    if (!bumped) return;
    const id = window.setTimeout(() => setBumped(null), UNDO_MS);
    return () => window.clearTimeout(id);
  }, [bumped]);

  const chooseStations = useCallback(
    (next: string[]) => {
      setPage(0);
      setSel(0);
      setChosen(next);
      commands
        .setBoardStations(next)
        .then((kept) => setChosen(kept))
        .catch((e) => {
          setChosen(null);
          onProblem(errorText(e));
        });
    },
    [onProblem, errorText],
  );

  const toggleView = () => {
    const next: View = view === "grid" ? "columns" : "grid";
    setView(next);
    setSel(0);
    setPage(0);
    try {
      localStorage.setItem(VIEW_STORE, next);
    } catch {
      // Not kept: the grid again next time.
    }
  };

  // Ticket handlers, one stable object reading the latest state.
  const latest = useRef({ onPage, bump, orders, expo });
  latest.current = { onPage, bump, orders, expo };
  const handlers = useMemo<TicketHandlers>(() => {
    const find = (id: string) => latest.current.orders.find((o) => o.orderId === id);
    const select = (id: string) => {
      const at = latest.current.onPage.findIndex((o) => o.orderId === id);
      if (at >= 0) setSel(at);
    };
    return {
      select,
      bump: (id) => {
        select(id);
        const o = find(id);
        if (o) latest.current.bump(o);
      },
      cancel: (id) => setCancelling(id),
      details: (id) => setDetails(find(id) ?? null),
      toggleLine: (id, index, done) => {
        select(id);
        commands.markItems(id, [index], done).catch((e) => onProblem(errorText(e)));
      },
    };
  }, [onProblem, errorText]);

  // The bump bar: keys on the window, unless a dialog or a field has them.
  const onKey = useRef<(e: KeyboardEvent) => void>(() => {});
  onKey.current = (e: KeyboardEvent) => {
    if (keyIsElsewhere(e)) return;
    const action = actionFor(keys, keyName(e));
    if (!action) return;
    e.preventDefault();
    const n = onPage.length;
    const cols = view === "grid" ? shape.columns : 1;
    const lastPage = pages - 1;
    const goPage = (p: number, s: number) => {
      setPage(p);
      setSel(s);
    };
    const position = positionOf(action);
    if (position !== null) {
      if (position <= n) setSel(position - 1);
      return;
    }
    switch (action) {
      case "bump":
        if (selected) bump(selected);
        break;
      case "recall":
        // While the toast shows, R takes back exactly that bump (a new
        // order started has no way back: R does nothing then); later, it
        // recalls the newest in the recall strip.
        if (bumped) undo();
        else if (recall[0]) recallOne(recall[0]);
        break;
      case "left":
        if (selNow > 0) setSel(selNow - 1);
        else if (pageNow > 0) goPage(pageNow - 1, perPage - 1);
        break;
      case "right":
        if (selNow < n - 1) setSel(selNow + 1);
        else if (pageNow < lastPage) goPage(pageNow + 1, 0);
        break;
      case "up":
        if (selNow - cols >= 0) setSel(selNow - cols);
        else if (pageNow > 0) goPage(pageNow - 1, perPage - cols + (selNow % cols));
        break;
      case "down":
        if (selNow + cols < n) setSel(selNow + cols);
        else if (pageNow < lastPage) goPage(pageNow + 1, selNow % cols);
        break;
      case "pageUp":
        if (pageNow > 0) goPage(pageNow - 1, selNow);
        break;
      case "pageDown":
        if (pageNow < lastPage) goPage(pageNow + 1, selNow);
        break;
      case "home":
        goPage(0, 0);
        break;
      case "end":
        goPage(lastPage, perPage);
        break;
    }
  };
  useEffect(() => {
    const listener = (e: KeyboardEvent) => onKey.current(e);
    window.addEventListener("keydown", listener);
    return () => window.removeEventListener("keydown", listener);
  }, []);

  // In the columns the selected ticket is scrolled into view.
  useEffect(() => {
    if (view !== "columns" || !selected) return;
    document
      .querySelector(`[data-testid="order-${selected.dailyNum}"]`)
      ?.scrollIntoView({ block: "nearest", inline: "nearest" });
  }, [view, selected]);

  const now = Date.now();
  const ticket = (o: OrderEntry, i: number, fixed: boolean) => (
    <Ticket
      key={o.orderId}
      order={o}
      position={i + 1}
      positionKey={i < 10 ? keyLabel(keys[`pos${i + 1}` as "pos1"]) : ""}
      selected={i === selNow}
      stations={stations}
      menu={menuById}
      amber={amber}
      red={red}
      width={fixed ? shape.ticketWidth : undefined}
      height={fixed ? shape.ticketHeight : undefined}
      fresh={!!fresh[o.orderId] && now - fresh[o.orderId] < HIGHLIGHT_MS}
      handlers={handlers}
    />
  );
  const cancellingOrder = cancelling ? orders.find((o) => o.orderId === cancelling) : undefined;

  return (
    <div className="orders-board" data-testid="board" data-view={view} data-page={pageNow + 1} data-pages={pages}>
      <header className="kds-head">
        <StationChips stations={screen.stations} chosen={stations} onChoose={chooseStations} />
        <div className="status-counts" aria-live="polite">
          {(["PENDING", "MAKING", "READY"] as const).map((s) => (
            <span key={s} className={`status-count status-${s}`} data-testid={`count-${s}`}>
              {t(`stage.${s}`)} <strong>{fmt.number(counts[s])}</strong>
            </span>
          ))}
        </div>
        {view === "grid" && (
          <div className="pager">
            <button
              className="page-turn"
              aria-label={t("board.prevPage")}
              disabled={pageNow === 0}
              onClick={() => setPage(pageNow - 1)}
            >
              ◀
            </button>
            <span className="page-indicator" data-testid="page-indicator" aria-label={t("board.pageOf", { page: pageNow + 1, pages })}>
              {fmt.number(pageNow + 1)} / {fmt.number(pages)}
            </span>
            <button
              className="page-turn"
              aria-label={t("board.nextPage")}
              disabled={pageNow >= pages - 1}
              onClick={() => setPage(pageNow + 1)}
            >
              ▶
            </button>
            {more > 0 && (
              <span className="more-count" data-testid="more">
                {t("board.more", { count: fmt.number(more) })}
              </span>
            )}
          </div>
        )}
        <div className="board-tools">
          <button data-testid="view-toggle" aria-pressed={view === "columns"} onClick={toggleView}>
            {view === "grid" ? t("board.viewColumns") : t("board.viewGrid")}
          </button>
          <button data-testid="keys" onClick={() => setShowKeys(true)}>
            {t("board.keys")}
          </button>
          <button onClick={() => setShowMenu((s) => !s)} data-testid="menu-toggle" aria-pressed={showMenu}>
            {t("barista.soldOutToggle")}
          </button>
          <button data-testid="open-board" onClick={() => act(commands.openBoard())}>
            {t("barista.openBoard")}
          </button>
          {hosting && counter && (
            <button data-testid="pair-device" onClick={() => setPairing(true)}>
              {t("dev.newCode")}
            </button>
          )}
          {counter && <SoundControl sound={screen.sound} muted={screen.muted} onError={(e) => onProblem(errorText(e))} />}
        </div>
      </header>
      {counter && <NoticeStrip notices={screen.notices} deviceId={screen.deviceId} />}
      <div className="kds-body">
        {counter && (
          <div className="kds-burst">
            <BurstBanner />
          </div>
        )}
        {view === "grid" ? (
          <div
            className="ticket-grid"
            ref={gridBox}
            style={{ gridTemplateColumns: `repeat(${shape.columns}, minmax(0, 1fr))` }}
          >
            {onPage.map((o, i) => ticket(o, i, true))}
            {tickets.length === 0 && (
              <p className="board-empty" data-testid="board-empty">
                {expo ? t("board.empty") : t("board.emptyStation")}
              </p>
            )}
          </div>
        ) : (
          <div className="columns" ref={gridBox}>
            {COLUMNS.map((stage, c) => {
              const here = columns[c];
              const offset = columns.slice(0, c).reduce((n, col) => n + col.length, 0);
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
                  <div className="column-list">{here.map((o, i) => ticket(o, offset + i, false))}</div>
                </section>
              );
            })}
          </div>
        )}
        {showMenu && (
          <SoldOutDrawer
            menu={screen.menu}
            settings={settings}
            onToggle={(m) => act(commands.setSoldOut(m.id, !m.isSoldOut))}
            onClose={() => setShowMenu(false)}
          />
        )}
      </div>
      <footer className="barista-foot">
        <AllDay counts={allDay} />
        <RecallStrip orders={recall} onRecall={recallOne} onDetails={setDetails} />
        <KeyLegend keys={keys} />
        <div className="who">{deviceName}</div>
      </footer>
      {bumped && <UndoToast bumped={bumped} undoKey={keyLabel(keys.recall)} onUndo={undo} />}
      {pairing && <PairDeviceDialog onClose={() => setPairing(false)} />}
      {showKeys && <KeysDialog keys={keys} onChange={setKeys} onClose={() => setShowKeys(false)} />}
      {cancellingOrder && (
        <CancelDialog
          order={cancellingOrder}
          onClose={() => setCancelling(null)}
          onCancel={(reason) => {
            act(commands.cancelOrder(cancellingOrder.orderId, reason));
            setCancelling(null);
          }}
        />
      )}
      {details && (
        <RecallDialog
          order={orders.find((o) => o.orderId === details.orderId) ?? details}
          menu={menuById}
          settings={settings}
          onClose={() => setDetails(null)}
        />
      )}
    </div>
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
  const { t, fmt, lang } = useT();
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
              <strong>{fmt.number(l.quantity)}×</strong> {menu.get(l.menuId)?.names[lang] || l.menuName}
            </span>
            <LineOptions chips={lineChips(l, menu.get(l.menuId), lang)} />
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
