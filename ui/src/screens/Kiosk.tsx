import { useEffect, useMemo, useRef, useState } from "react";
import { type CoreUpdate, type IpcErrorCode, type MenuEntry, type Pay, type StatusQr, commands } from "../bindings";
import { EarlyOutcomes, errorCode, useScreen, type Outcome } from "../core";
import { useT, type I18n } from "../i18n";
import { LanguageSwitch } from "../components/LanguageSwitch";
import { StatusBar } from "../components/StatusBar";

/** Back to the welcome screen after this long without a touch. */
const IDLE_MS = 60_000;

type Step =
  | { at: "welcome" }
  | { at: "menu" }
  | { at: "pay" }
  | { at: "sending"; key: string }
  | { at: "confirmed"; orderId: string | null; dailyNum: number | null };

const PAYS: Pay[] = ["CARD", "CASH", "CELL"];

export function Kiosk() {
  const i18n = useT();
  const { t, fmt, errorText } = i18n;
  const [step, setStep] = useState<Step>({ at: "welcome" });
  const [cart, setCart] = useState<Record<string, number>>({});
  const [pay, setPay] = useState<Pay | null>(null);
  const [cellId, setCellId] = useState<string | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [category, setCategory] = useState<string | null>(null);
  const stepRef = useRef(step);
  stepRef.current = step;
  const i18nRef = useRef(i18n);
  i18nRef.current = i18n;

  const early = useRef(new EarlyOutcomes()).current;

  const settle = (outcome: Outcome) => {
    if (outcome.kind === "sent") {
      setCart({});
      setStep({ at: "confirmed", orderId: outcome.orderId, dailyNum: outcome.dailyNum });
    } else {
      setProblem(refusal(outcome.code, outcome.message, i18nRef.current));
      setStep({ at: "pay" });
    }
  };

  const onUpdate = (update: CoreUpdate) => {
    if (update.kind !== "sent" && update.kind !== "refused") return;
    const current = stepRef.current;
    if (current.at === "sending" && update.key === current.key) settle(update);
    else early.keep(update);
  };
  const { screen, error } = useScreen(onUpdate);

  const reset = () => {
    setCart({});
    setPay(null);
    setCellId(null);
    setProblem(null);
    setStep({ at: "welcome" });
  };

  // Idle: any touch restarts the clock; the welcome screen needs none, and an
  // order waiting for the connection stays on screen until it has its number.
  useEffect(() => {
    if (step.at === "welcome" || step.at === "sending") return;
    let timer = window.setTimeout(reset, IDLE_MS);
    const touch = () => {
      window.clearTimeout(timer);
      timer = window.setTimeout(reset, IDLE_MS);
    };
    window.addEventListener("pointerdown", touch);
    window.addEventListener("keydown", touch);
    return () => {
      window.clearTimeout(timer);
      window.removeEventListener("pointerdown", touch);
      window.removeEventListener("keydown", touch);
    };
  }, [step.at]);

  const menu = screen?.menu ?? [];
  const settings = screen?.settings;
  const categories = useMemo(() => [...new Set(menu.map((m) => m.category))], [menu]);
  const byId = useMemo(() => new Map(menu.map((m) => [m.id, m])), [menu]);
  const lines = Object.entries(cart)
    .map(([id, quantity]) => ({ item: byId.get(id), quantity }))
    .filter((l): l is { item: MenuEntry; quantity: number } => !!l.item && l.quantity > 0);
  const total = lines.reduce((sum, l) => sum + l.item.price * l.quantity, 0);
  const soldOutInCart = lines.filter((l) => l.item.isSoldOut);

  if (!screen) return <div className="loading">{error ?? t("kiosk.loadingMenu")}</div>;

  const live = screen.status.state === "live";
  // The core decides: live, or offline with the café's offline ordering on.
  const open = screen.orderingOpen;
  const cafe = screen.settings.cafe_name ?? "Countertop";

  if (screen.settings.is_kiosk_active === "false") {
    return (
      <main className="kiosk maintenance" data-testid="maintenance" role="status">
        <h1>{cafe}</h1>
        <p className="big">{t("kiosk.breakTitle")}</p>
        <p>{t("kiosk.breakBody")}</p>
      </main>
    );
  }

  const add = (id: string, by: number) =>
    setCart((c) => {
      const next = { ...c, [id]: Math.max(0, (c[id] ?? 0) + by) };
      if (next[id] === 0) delete next[id];
      return next;
    });

  const order = () => {
    if (!pay) return;
    setProblem(null);
    commands
      .placeOrder(
        lines.map((l) => ({ menuId: l.item.id, quantity: l.quantity })),
        pay,
        pay === "CELL" ? cellId : null,
      )
      .then((key) => {
        const outcome = early.take(key);
        if (outcome) {
          settle(outcome);
        } else {
          stepRef.current = { at: "sending", key };
          setStep(stepRef.current);
        }
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
        <LanguageSwitch />
      </div>
    );
  } else if (step.at === "menu") {
    const shown = category ?? categories[0];
    body = (
      <div className="order">
        <div className="menu">
          <nav className="tabs" aria-label={t("kiosk.categories")}>
            {categories.map((c) => (
              <button key={c} className={c === shown ? "on" : ""} aria-pressed={c === shown} onClick={() => setCategory(c)}>
                {c}
              </button>
            ))}
          </nav>
          <div className="items">
            {menu
              .filter((m) => m.category === shown)
              .map((m) => (
                <button
                  key={m.id}
                  className={`item ${m.isSoldOut ? "sold-out" : ""}`}
                  data-testid={`item-${m.id}`}
                  data-sold-out={m.isSoldOut}
                  disabled={m.isSoldOut}
                  onClick={() => add(m.id, 1)}
                >
                  <span className="name">{m.name}</span>
                  <span className="price">{m.isSoldOut ? t("kiosk.soldOut") : fmt.money(m.price, settings)}</span>
                  {cart[m.id] ? (
                    <span className="count" aria-label={t("kiosk.inCart", { count: fmt.number(cart[m.id]) })}>
                      {fmt.number(cart[m.id])}
                    </span>
                  ) : null}
                </button>
              ))}
          </div>
        </div>
        <aside className="cart" aria-labelledby="cart-title">
          <h2 id="cart-title">{t("kiosk.yourOrder")}</h2>
          {lines.length === 0 && <p className="muted">{t("kiosk.emptyCart")}</p>}
          {lines.map((l) => (
            <div key={l.item.id} className={`line ${l.item.isSoldOut ? "sold-out" : ""}`}>
              <span className="name">{l.item.name}</span>
              <button onClick={() => add(l.item.id, -1)} aria-label={t("kiosk.oneLess", { name: l.item.name })}>
                −
              </button>
              <span className="qty" aria-live="polite">{fmt.number(l.quantity)}</span>
              <button
                onClick={() => add(l.item.id, 1)}
                aria-label={t("kiosk.oneMore", { name: l.item.name })}
                disabled={l.item.isSoldOut}
              >
                +
              </button>
              <span className="price">{fmt.money(l.item.price * l.quantity, settings)}</span>
            </div>
          ))}
          {soldOutInCart.length > 0 && (
            <p className="error" role="alert">
              {t("kiosk.justSoldOut", { names: soldOutInCart.map((l) => l.item.name).join(", ") })}
            </p>
          )}
          <div className="total">
            <span>{t("common.total")}</span>
            <strong data-testid="cart-total">{fmt.money(total, settings)}</strong>
          </div>
          <button
            className="primary big"
            data-testid="to-pay"
            disabled={lines.length === 0 || soldOutInCart.length > 0 || !open}
            onClick={() => setStep({ at: "pay" })}
          >
            {t("kiosk.pay")}
          </button>
          <button className="link" onClick={reset}>
            {t("kiosk.startOver")}
          </button>
          {orderingLine}
        </aside>
      </div>
    );
  } else if (step.at === "pay") {
    const cells = screen.cells;
    body = (
      <div className="pay">
        <h2>{t("kiosk.howPay", { amount: fmt.money(total, settings) })}</h2>
        <div className="methods" role="group" aria-label={t("kiosk.payMethods")}>
          {PAYS.map((p) => (
            <button
              key={p}
              className={pay === p ? "on" : ""}
              aria-pressed={pay === p}
              data-testid={`pay-${p}`}
              onClick={() => setPay(p)}
            >
              {t(`pay.${p}`)}
            </button>
          ))}
        </div>
        {pay === "CELL" && (
          <div className="cells" role="group" aria-label={t("kiosk.chooseCell")}>
            {cells.map((c) => {
              const enough = c.balance >= total;
              return (
                <button
                  key={c.id}
                  className={`cell ${cellId === c.id ? "on" : ""} ${enough ? "" : "short"}`}
                  aria-pressed={cellId === c.id}
                  data-testid={`cell-${c.id}`}
                  onClick={() => setCellId(c.id)}
                >
                  <span>{c.name}</span>
                  <span>{fmt.money(c.balance, settings)}</span>
                  {!enough && <span className="warn">{t("kiosk.notEnough")}</span>}
                </button>
              );
            })}
          </div>
        )}
        {problem && (
          <p className="error" data-testid="pay-problem" role="alert">
            {problem}
          </p>
        )}
        <div className="actions">
          <button className="link" onClick={() => setStep({ at: "menu" })}>
            {t("kiosk.back")}
          </button>
          <button
            className="primary big"
            data-testid="place-order"
            disabled={!pay || (pay === "CELL" && !cellId) || !open}
            onClick={order}
          >
            {t("kiosk.placeOrder")}
          </button>
        </div>
        {orderingLine}
      </div>
    );
  } else if (step.at === "sending") {
    // Offline with offline ordering on: the order waits in the outbox; its
    // number arrives with `sent` once the hub has it.
    body = live ? (
      <div className="welcome" role="status">
        <p className="big">{t("kiosk.sending")}</p>
      </div>
    ) : (
      <div className="confirmed stage-QUEUED" data-testid="confirmation">
        <p className="big">{t("kiosk.queuedTitle")}</p>
        <p className="big" data-testid="order-status" data-status="QUEUED" role="status" aria-live="polite">
          {t("order.QUEUED")}
        </p>
        <p>{t("kiosk.noNumberYet")}</p>
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
    </main>
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

function refusal(code: IpcErrorCode, message: string, { t }: I18n): string {
  switch (code) {
    case "insufficient_balance":
    case "sold_out":
    case "kiosk_inactive":
    case "ordering_paused":
      return t(`refuse.${code}`);
    default:
      return message;
  }
}
