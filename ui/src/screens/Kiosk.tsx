import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import {
  type CartQuote,
  type CellEntry,
  type ChosenOptionInput,
  type CoreUpdate,
  type IpcErrorCode,
  type MenuEntry,
  type OrderEntry,
  type Pay,
  type Serve,
  type StatusQr,
  type WaitEstimate,
  commands,
} from "../bindings";
import { EarlyOutcomes, errorCode, useScreen, type Outcome } from "../core";
import { useT, type I18n } from "../i18n";
import { LanguageSwitch } from "../components/LanguageSwitch";
import { StatusBar } from "../components/StatusBar";
import { OptionsDialog } from "../kiosk/OptionsDialog";
import { PinPad } from "../kiosk/PinPad";
import { ExitLock } from "../kiosk/ExitLock";
import { StillThere, useIdle } from "../kiosk/StillThere";
import { nameIn, optionsText } from "../kiosk/names";

/** Seconds without a touch before "Still there?", unless the café set it. */
const IDLE_DEFAULT_S = 60;
/** An item shows how many are left from this few. */
const FEW_LEFT = 5;

type Step =
  | { at: "welcome" }
  | { at: "menu" }
  | { at: "checkout" }
  | { at: "sending"; key: string; reference: string; lines: Line[] }
  | { at: "queued"; key: string; reference: string; lines: Line[] }
  | { at: "confirmed"; orderId: string | null; dailyNum: number | null; lines: Line[] };

/** One line of the cart: an item with its options, as many as wanted. */
type Line = { key: string; menuId: string; options: ChosenOptionInput[]; quantity: number };

const PAYS: Pay[] = ["CARD", "CASH", "CELL"];

/** Orders queued offline whose customers went on, shown until their number
 * has been on screen a while: the newest few. */
const QUEUED_SHOWN = 4;
type Waiting = { key: string; reference: string; dailyNum: number | null };

function lineKey(menuId: string, options: ChosenOptionInput[]): string {
  return `${menuId}|${options.map((o) => `${o.groupId}:${o.choiceId}`).join(",")}`;
}

/** The kiosk's screen, and its way out: the exit PIN (`ExitLock`). */
export function Kiosk() {
  return (
    <>
      <KioskScreen />
      <ExitLock />
    </>
  );
}

function KioskScreen() {
  const i18n = useT();
  const { t, fmt, errorText, lang } = i18n;
  const [step, setStep] = useState<Step>({ at: "welcome" });
  const [cart, setCart] = useState<Line[]>([]);
  const [quote, setQuote] = useState<CartQuote | null>(null);
  const [choosing, setChoosing] = useState<MenuEntry | null>(null);
  const [fulfilment, setFulfilment] = useState<Serve | null>(null);
  const [pay, setPay] = useState<Pay | null>(null);
  const [team, setTeam] = useState<CellEntry | null>(null);
  const [pinFor, setPinFor] = useState<CellEntry | null>(null);
  const [pin, setPin] = useState<string | null>(null);
  const [pinProblem, setPinProblem] = useState<string | null>(null);
  const [unlocking, setUnlocking] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);
  const [category, setCategory] = useState<string | null>(null);
  const [waiting, setWaiting] = useState<Waiting[]>([]);
  const waitingRef = useRef(waiting);
  waitingRef.current = waiting;
  const stepRef = useRef(step);
  stepRef.current = step;
  const i18nRef = useRef(i18n);
  i18nRef.current = i18n;
  // The kiosk's own language, each customer's start: what it has whenever it
  // waits on the welcome screen untouched (a customer's choice there is
  // theirs, and goes with the reset).
  const homeLanguage = useRef(i18n.preferred);
  const customerChose = useRef(false);

  const early = useRef(new EarlyOutcomes()).current;

  const settle = (outcome: Outcome) => {
    const current = stepRef.current;
    const lines = current.at === "sending" || current.at === "queued" ? current.lines : cart;
    if (outcome.kind === "sent") {
      setCart([]);
      setStep({ at: "confirmed", orderId: outcome.orderId, dailyNum: outcome.dailyNum, lines });
    } else {
      setProblem(refusal(outcome.code, outcome.message, i18nRef.current));
      setStep({ at: "checkout" });
    }
  };

  const onUpdate = (update: CoreUpdate) => {
    if (update.kind !== "sent" && update.kind !== "refused") return;
    const current = stepRef.current;
    if ((current.at === "sending" || current.at === "queued") && update.key === current.key) settle(update);
    else if (waitingRef.current.some((w) => w.key === update.key)) {
      // A queued order whose customer tapped Done: its number, for the
      // strip on the welcome screen.
      const dailyNum = update.kind === "sent" ? update.dailyNum : null;
      setWaiting((ws) => ws.map((w) => (w.key === update.key ? { ...w, dailyNum } : w)));
    } else early.keep(update);
  };
  const { screen, error } = useScreen(onUpdate);

  const reset = useCallback(() => {
    const current = stepRef.current;
    if (current.at === "queued") {
      const left = { key: current.key, reference: current.reference, dailyNum: null };
      setWaiting((ws) => [left, ...ws].slice(0, QUEUED_SHOWN));
    }
    setCart([]);
    setQuote(null);
    setChoosing(null);
    setFulfilment(null);
    setPay(null);
    setTeam(null);
    setPin(null);
    setPinFor(null);
    setPinProblem(null);
    setProblem(null);
    setCategory(null);
    setStep({ at: "welcome" });
    if (customerChose.current && i18nRef.current.preferred !== homeLanguage.current) {
      i18nRef.current.choose(homeLanguage.current).catch(() => {});
    }
    customerChose.current = false;
  }, []);
  // The saved language arrives after the first render, and a manager may
  // change it: while no customer has chosen, it is the kiosk's own.
  useEffect(() => {
    if (!customerChose.current) homeLanguage.current = i18n.preferred;
  }, [i18n.preferred]);

  // The cart priced by the core, whenever it or the menu changes.
  const menu = useMemo(() => screen?.menu ?? [], [screen?.menu]);
  const menuKey = useMemo(() => JSON.stringify(menu), [menu]);
  useEffect(() => {
    if (cart.length === 0) {
      setQuote(null);
      return;
    }
    let current = true;
    commands
      .quoteCart(cart.map((l) => ({ menuId: l.menuId, quantity: l.quantity, options: l.options })))
      .then((q) => current && setQuote(q))
      .catch(() => current && setQuote(null));
    return () => {
      current = false;
    };
    // The menu's content, not the array's identity: every screen read
    // makes a new array, and most (a board move) change no price.
  }, [cart, menuKey]);

  // Idle: every step but the welcome screen and an order on its way to the
  // hub (its number is a moment away) asks "Still there?", then starts afresh.
  const idleSeconds = Number(screen?.settings.kiosk_idle_seconds) || IDLE_DEFAULT_S;
  const idleActive =
    (step.at !== "welcome" || customerChose.current) && !(step.at === "sending" && screen?.status.state === "live");
  const asking = useIdle(idleActive, idleSeconds, reset);

  const categories = useMemo(() => [...new Set(menu.map((m) => m.category))], [menu]);
  const byId = useMemo(() => new Map(menu.map((m) => [m.id, m])), [menu]);

  if (!screen) return <div className="loading">{error ?? t("kiosk.loadingMenu")}</div>;

  const settings = screen.settings;
  const live = screen.status.state === "live";
  // The core decides: live, or offline with the café's offline ordering on.
  const open = screen.orderingOpen;
  const cafe = settings.cafe_name ?? "Countertop";

  if (settings.is_kiosk_active === "false") {
    return (
      <main className="kiosk maintenance" data-testid="maintenance" role="status">
        <h1>{cafe}</h1>
        <p className="big">{t("kiosk.breakTitle")}</p>
        <p>{t("kiosk.breakBody")}</p>
      </main>
    );
  }

  const inCart = (menuId: string) => cart.filter((l) => l.menuId === menuId).reduce((n, l) => n + l.quantity, 0);
  const addLine = (menuId: string, options: ChosenOptionInput[], quantity: number) =>
    setCart((c) => {
      const key = lineKey(menuId, options);
      const found = c.find((l) => l.key === key);
      if (found) return c.map((l) => (l.key === key ? { ...l, quantity: Math.min(99, l.quantity + quantity) } : l));
      return [...c, { key, menuId, options, quantity }];
    });
  const change = (key: string, by: number) =>
    setCart((c) =>
      c.map((l) => (l.key === key ? { ...l, quantity: Math.min(99, l.quantity + by) } : l)).filter((l) => l.quantity > 0),
    );
  const tapItem = (m: MenuEntry) => {
    if (m.optionGroups.length > 0) setChoosing(m);
    else addLine(m.id, [], 1);
  };

  const total = quote?.total ?? 0;
  const orderable = !!quote?.orderable && cart.length > 0;
  const quoted = (l: Line) => quote?.lines[cart.indexOf(l)];

  const chooseTeam = (c: CellEntry) => {
    setPinProblem(null);
    setPinFor(c);
  };
  const unlock = (pinTyped: string) => {
    if (!pinFor) return;
    setUnlocking(true);
    setPinProblem(null);
    commands
      .unlockCell(pinFor.id, pinTyped)
      .then((cell) => {
        setTeam(cell);
        setPin(pinTyped);
        setPinFor(null);
      })
      .catch((e) => setPinProblem(refusal(errorCode(e), errorText(e), i18n)))
      .finally(() => setUnlocking(false));
  };

  const order = () => {
    if (!pay || !fulfilment) return;
    setProblem(null);
    const lines = cart;
    commands
      .placeOrder(
        cart.map((l) => ({ menuId: l.menuId, quantity: l.quantity, options: l.options })),
        pay,
        pay === "CELL" ? (team?.id ?? null) : null,
        pay === "CELL" ? pin : null,
        fulfilment,
      )
      .then((placed) => {
        const outcome = early.take(placed.key);
        stepRef.current = live
          ? { at: "sending", key: placed.key, reference: placed.reference, lines }
          : { at: "queued", key: placed.key, reference: placed.reference, lines };
        if (outcome) settle(outcome);
        else setStep(stepRef.current);
      })
      .catch((e) => setProblem(refusal(errorCode(e), errorText(e), i18n)));
  };

  // Why ordering is paused, or the calm line while offline orders are queued.
  const orderingLine = !open ? (
    <div className="banner offline" data-testid="ordering-paused" role="status">
      {!live || !screen.orderingProblem ? t("kiosk.paused") : t("kiosk.pausedWhy", { reason: screen.orderingProblem })}
    </div>
  ) : !live ? (
    <div className="banner calm" data-testid="ordering-offline" role="status">
      {t("kiosk.offlineCalm")}
    </div>
  ) : null;

  const summary = (lines: Line[], priced: boolean) => (
    <ul className="summary" data-testid="order-summary">
      {lines.map((l, i) => {
        const item = byId.get(l.menuId);
        const q = priced ? quote?.lines[i] : undefined;
        const words = q ? optionsText(q.options, item, lang) : "";
        return (
          <li key={l.key}>
            <span className="qty">{fmt.number(l.quantity)}×</span>
            <span className="what">
              <strong>{item ? nameIn(item, lang) : l.menuId}</strong>
              {words && <span className="opts">{words}</span>}
            </span>
            {q && <span className="price">{fmt.money(q.totalPrice, settings)}</span>}
          </li>
        );
      })}
    </ul>
  );

  let body: React.ReactNode;
  if (step.at === "welcome") {
    body = (
      <div className="welcome" onClick={() => open && setStep({ at: "menu" })}>
        <h1>{cafe}</h1>
        <p className="big">{t("kiosk.welcome")}</p>
        <button
          className="primary huge"
          data-testid="start-order"
          disabled={!open}
          onClick={(e) => {
            e.stopPropagation();
            if (open) setStep({ at: "menu" });
          }}
        >
          {t("kiosk.tapToOrder")}
        </button>
        {orderingLine}
        {waiting.length > 0 && (
          <ul className="waiting" aria-label={t("kiosk.queuedOrders")} onClick={(e) => e.stopPropagation()}>
            {waiting.map((w) => (
              <li key={w.key} data-testid={`queued-${w.reference}`} data-num={w.dailyNum ?? ""}>
                {w.dailyNum === null
                  ? t("kiosk.queuedStill", { reference: w.reference })
                  : t("kiosk.queuedNumber", { reference: w.reference, num: fmt.number(w.dailyNum) })}
              </li>
            ))}
          </ul>
        )}
        <LanguageSwitch onChoose={() => (customerChose.current = true)} />
      </div>
    );
  } else if (step.at === "menu") {
    const shown = category && categories.includes(category) ? category : categories[0];
    body = (
      <div className="order">
        <div className="menu">
          <nav className="tabs" aria-label={t("kiosk.categories")} data-testid="categories">
            {categories.map((c) => (
              <button
                key={c}
                className={c === shown ? "on" : ""}
                aria-pressed={c === shown}
                data-testid={`category-${c}`}
                onClick={() => setCategory(c)}
              >
                {c}
              </button>
            ))}
          </nav>
          <div className="items">
            {menu
              .filter((m) => m.category === shown)
              .map((m) => {
                const count = inCart(m.id);
                const few = m.stock !== null && m.stock > 0 && m.stock <= FEW_LEFT;
                return (
                  <button
                    key={m.id}
                    className={`item ${m.isSoldOut ? "sold-out" : ""}`}
                    data-testid={`item-${m.id}`}
                    data-sold-out={m.isSoldOut}
                    disabled={m.isSoldOut}
                    onClick={() => tapItem(m)}
                  >
                    <Photo item={m} />
                    <span className="name">{nameIn(m, lang)}</span>
                    <span className="price">{m.isSoldOut ? t("kiosk.soldOut") : fmt.money(m.price, settings)}</span>
                    {few && !m.isSoldOut && (
                      <span className="few" data-testid={`few-${m.id}`}>
                        {t("kiosk.fewLeft", { count: fmt.number(m.stock ?? 0) })}
                      </span>
                    )}
                    {count > 0 && (
                      <span className="count" aria-label={t("kiosk.inCart", { count: fmt.number(count) })}>
                        {fmt.number(count)}
                      </span>
                    )}
                  </button>
                );
              })}
          </div>
        </div>
        <aside className="cart" aria-labelledby="cart-title">
          <h2 id="cart-title">{t("kiosk.yourOrder")}</h2>
          {cart.length === 0 && <p className="muted">{t("kiosk.emptyCart")}</p>}
          {cart.map((l) => {
            const item = byId.get(l.menuId);
            const q = quoted(l);
            const name = item ? nameIn(item, lang) : l.menuId;
            const flagged = !!q?.problem;
            return (
              <div
                key={l.key}
                className={`line ${flagged ? "flagged" : ""}`}
                data-testid={`line-${l.menuId}`}
                data-flagged={flagged}
              >
                <span className="name">
                  {name}
                  {q && q.options.length > 0 && <span className="opts">{optionsText(q.options, item, lang)}</span>}
                </span>
                <button onClick={() => change(l.key, -1)} aria-label={t("kiosk.oneLess", { name })}>
                  −
                </button>
                <span className="qty" aria-live="polite">
                  {fmt.number(l.quantity)}
                </span>
                <button onClick={() => change(l.key, 1)} aria-label={t("kiosk.oneMore", { name })} disabled={flagged}>
                  +
                </button>
                <span className="price">{q ? fmt.money(q.totalPrice, settings) : ""}</span>
                {q?.problem && (
                  <span className="line-problem" role="alert" data-testid={`problem-${l.menuId}`}>
                    {lineProblem(q.problemCode, q.left, name, q.problem, i18n)}
                  </span>
                )}
              </div>
            );
          })}
          <div className="total">
            <span>{t("common.total")}</span>
            <strong data-testid="cart-total">{fmt.money(total, settings)}</strong>
          </div>
          <button
            className="primary big"
            data-testid="to-pay"
            disabled={!orderable || !open}
            onClick={() => setStep({ at: "checkout" })}
          >
            {t("kiosk.pay")}
          </button>
          <button className="link" onClick={reset}>
            {t("kiosk.startOver")}
          </button>
          {orderingLine}
        </aside>
        {choosing && (
          <OptionsDialog
            item={choosing}
            settings={settings}
            onClose={() => setChoosing(null)}
            onAdd={(options, quantity) => {
              addLine(choosing.id, options, quantity);
              setChoosing(null);
            }}
          />
        )}
      </div>
    );
  } else if (step.at === "checkout") {
    const teams = screen.cells.filter((c) => c.hasPin);
    const short = team !== null && team.balance !== null && team.balance < total;
    const ready = !!fulfilment && !!pay && (pay !== "CELL" || (team !== null && pin !== null && !short));
    body = (
      <div className="pay checkout">
        <section className="where" aria-labelledby="where-title">
          <h2 id="where-title">{t("kiosk.where")}</h2>
          <div className="methods" role="group" aria-labelledby="where-title">
            {(["DINE_IN", "TAKE_OUT"] as Serve[]).map((f) => (
              <button
                key={f}
                className={fulfilment === f ? "on" : ""}
                aria-pressed={fulfilment === f}
                data-testid={`serve-${f}`}
                onClick={() => setFulfilment(f)}
              >
                {t(`serve.${f}`)}
              </button>
            ))}
          </div>
        </section>
        <section className="review" aria-labelledby="review-title">
          <h2 id="review-title">{t("kiosk.review")}</h2>
          {summary(cart, true)}
          <div className="total">
            <span>{t("common.total")}</span>
            <strong data-testid="checkout-total">{fmt.money(total, settings)}</strong>
          </div>
        </section>
        <section aria-labelledby="pay-title">
          <h2 id="pay-title">{t("kiosk.howPay")}</h2>
          <div className="methods" role="group" aria-labelledby="pay-title">
            {PAYS.map((p) => (
              <button
                key={p}
                className={pay === p ? "on" : ""}
                aria-pressed={pay === p}
                data-testid={`pay-${p}`}
                disabled={p === "CELL" && (!live || teams.length === 0)}
                onClick={() => setPay(p)}
              >
                {t(`pay.${p}`)}
              </button>
            ))}
          </div>
          {!live && <p className="hint">{t("kiosk.teamsNeedConnection")}</p>}
          {pay === "CASH" && (
            <p className="note" data-testid="cash-note">
              {t("kiosk.cashNote")}
            </p>
          )}
          {pay === "CELL" && (
            <div className="cells" role="group" aria-label={t("kiosk.chooseCell")}>
              {teams.map((c) => {
                const chosen = team?.id === c.id;
                const isShort = chosen && short;
                return (
                  <button
                    key={c.id}
                    className={`cell ${chosen ? "on" : ""} ${isShort ? "short" : ""}`}
                    aria-pressed={chosen}
                    data-testid={`cell-${c.id}`}
                    onClick={() => chooseTeam(c)}
                  >
                    <span>{c.name}</span>
                    {chosen && team?.balance !== null && team?.balance !== undefined ? (
                      <span data-testid={`cell-balance-${c.id}`}>{t("kiosk.teamHas", { points: fmt.money(team.balance, settings) })}</span>
                    ) : (
                      <span className="muted">{t("kiosk.pinToSee")}</span>
                    )}
                    {isShort && <span className="warn">{t("kiosk.notEnough")}</span>}
                  </button>
                );
              })}
            </div>
          )}
        </section>
        {problem && (
          <p className="error" data-testid="pay-problem" role="alert">
            {problem}
          </p>
        )}
        <div className="actions">
          <button className="link" onClick={() => setStep({ at: "menu" })}>
            {t("kiosk.back")}
          </button>
          <button className="primary big" data-testid="place-order" disabled={!ready || !open || !orderable} onClick={order}>
            {t("kiosk.placeOrder")}
          </button>
        </div>
        {orderingLine}
        {pinFor && (
          <PinPad
            team={pinFor.name}
            problem={pinProblem}
            busy={unlocking}
            onEnter={unlock}
            onClose={() => setPinFor(null)}
          />
        )}
      </div>
    );
  } else if (step.at === "sending") {
    body = (
      <div className="welcome" role="status">
        <p className="big">{t("kiosk.sending")}</p>
      </div>
    );
  } else if (step.at === "queued") {
    // Offline with offline ordering on: the order waits in the outbox; its
    // number arrives with `sent` once the hub has it. The next customer
    // need not wait for that.
    body = (
      <div className="confirmed stage-QUEUED" data-testid="confirmation">
        <p className="big">{t("kiosk.queuedTitle")}</p>
        <p>{t("kiosk.showReference")}</p>
        <div className="number reference" data-testid="reference">
          {step.reference}
        </div>
        <p className="big" data-testid="order-status" data-status="QUEUED" role="status" aria-live="polite">
          {t("order.QUEUED")}
        </p>
        {summary(step.lines, false)}
        <button className="primary big" data-testid="done" onClick={reset}>
          {t("kiosk.done")}
        </button>
      </div>
    );
  } else {
    const placed = screen.orders.find((o) => o.orderId === step.orderId);
    const status = placed?.status ?? "PENDING";
    body = (
      <div className={`confirmed stage-${status}`} data-testid="confirmation">
        <p>{t("kiosk.yourNumber")}</p>
        <div className="number" data-testid="daily-number">
          {step.dailyNum ?? "?"}
        </div>
        <p className="big" data-testid="order-status" data-status={status} role="status" aria-live="polite">
          {t(`order.${status}`)}
        </p>
        {placed && <Placed order={placed} byId={byId} />}
        {step.dailyNum !== null && status !== "READY" && status !== "COMPLETED" && (
          <Wait dailyNum={step.dailyNum} newestEvent={screen.status.newestEventAt} />
        )}
        {step.dailyNum !== null && <PhoneLink dailyNum={step.dailyNum} />}
        <button className="primary big" data-testid="done" onClick={reset}>
          {t("kiosk.done")}
        </button>
      </div>
    );
  }

  return (
    <main className="kiosk">
      <StatusBar status={screen.status} />
      {body}
      {asking !== null && <StillThere seconds={asking} onStay={() => {}} />}
    </main>
  );
}

/** An item's photo, or a calm tile with its initial when it has none. */
function Photo({ item }: { item: MenuEntry }) {
  const { lang } = useT();
  const [broken, setBroken] = useState(false);
  const url = item.photo?.thumbUrl;
  if (url && !broken) {
    return <img className="photo" src={url} alt="" loading="lazy" onError={() => setBroken(true)} data-testid={`photo-${item.id}`} />;
  }
  return (
    <span className="photo placeholder" aria-hidden="true">
      {[...nameIn(item, lang)][0] ?? "·"}
    </span>
  );
}

/** What the customer ordered, as the hub priced it, in the customer's
 * language where the menu names it so. */
function Placed({ order, byId }: { order: OrderEntry; byId: Map<string, MenuEntry> }) {
  const { t, fmt, lang } = useT();
  return (
    <div className="placed" data-testid="placed-items">
      <p className="serve">{t(`serve.${order.fulfilment}`)}</p>
      <ul className="summary">
        {order.items.map((l, i) => {
          const item = byId.get(l.menuId);
          return (
            <li key={i}>
              <span className="qty">{fmt.number(l.quantity)}×</span>
              <span className="what">
                <strong>{item ? nameIn(item, lang) : l.menuName}</strong>
                {l.options.length > 0 && <span className="opts">{optionsText(l.options, item, lang)}</span>}
              </span>
            </li>
          );
        })}
      </ul>
    </div>
  );
}

/** About how long: the orders ahead, read again as the board moves (each
 * event the device applies is newer than the last). */
function Wait({ dailyNum, newestEvent }: { dailyNum: number; newestEvent: string | null }) {
  const { t, fmt } = useT();
  const [wait, setWait] = useState<WaitEstimate | null>(null);
  useEffect(() => {
    let current = true;
    commands
      .waitEstimate(dailyNum)
      .then((w) => current && setWait(w))
      .catch(() => current && setWait(null));
    return () => {
      current = false;
    };
  }, [dailyNum, newestEvent]);
  if (!wait) return null;
  return (
    <p className="wait" data-testid="wait-estimate" data-ahead={wait.ahead}>
      {t("kiosk.wait", { minutes: fmt.number(wait.minutes) })} ·{" "}
      {wait.ahead === 0 ? t("kiosk.nextUp") : t("kiosk.ahead", { count: fmt.number(wait.ahead) })}
    </p>
  );
}

/** A QR code of the hub's status page for this order, for the customer's
 * phone; nothing when no phone could reach the hub (no LAN address). */
function PhoneLink({ dailyNum }: { dailyNum: number }) {
  const { t } = useT();
  const [qr, setQr] = useState<StatusQr | null>(null);
  useEffect(() => {
    let current = true;
    setQr(null);
    commands
      .statusQr(dailyNum)
      .then((link) => current && setQr(link))
      .catch(() => current && setQr(null));
    return () => {
      current = false;
    };
  }, [dailyNum]);
  if (!qr) return null;
  return (
    <figure className="phone-link" data-testid="status-qr" data-url={qr.url}>
      <img src={`data:image/svg+xml;charset=utf-8,${encodeURIComponent(qr.svg)}`} alt={t("kiosk.followOnPhone")} />
      <figcaption>{t("kiosk.followOnPhone")}</figcaption>
    </figure>
  );
}

/** A cart line's problem in the customer's words. */
function lineProblem(
  code: IpcErrorCode | null,
  left: number | null,
  name: string,
  message: string,
  { t, fmt }: I18n,
): string {
  if (left !== null) return t("kiosk.onlyLeft", { count: fmt.number(left), name });
  if (code === "sold_out") return t("kiosk.lineSoldOut", { name });
  return message;
}

function refusal(code: IpcErrorCode, message: string, { t }: I18n): string {
  switch (code) {
    case "insufficient_balance":
    case "sold_out":
    case "kiosk_inactive":
    case "ordering_paused":
    case "wrong_pin":
    case "rate_limited":
      return t(`refuse.${code}`);
    default:
      return message;
  }
}
