import { useEffect, useMemo, useRef, useState } from "react";
import { commands, type CoreUpdate, type MenuEntry, type Pay } from "./bindings";
import { errorCode, errorText, money, useScreen } from "./core";
import { StatusBar } from "./StatusBar";

/** Back to the welcome screen after this long without a touch. */
const IDLE_MS = 60_000;

type Step =
  | { at: "welcome" }
  | { at: "menu" }
  | { at: "pay" }
  | { at: "sending"; key: string }
  | { at: "confirmed"; orderId: string | null; dailyNum: number | null };

const STATUS_TEXT: Record<string, string> = {
  PENDING: "Order received",
  MAKING: "We're making it",
  READY: "Ready! Please pick it up",
  COMPLETED: "Picked up — enjoy!",
  CANCELLED: "Cancelled — please ask at the counter",
};

export function Kiosk() {
  const [step, setStep] = useState<Step>({ at: "welcome" });
  const [cart, setCart] = useState<Record<string, number>>({});
  const [pay, setPay] = useState<Pay | null>(null);
  const [cellId, setCellId] = useState<string | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [category, setCategory] = useState<string | null>(null);
  const stepRef = useRef(step);
  stepRef.current = step;

  const onUpdate = (update: CoreUpdate) => {
    const current = stepRef.current;
    if (current.at !== "sending" || !("key" in update) || update.key !== current.key) return;
    if (update.kind === "sent") {
      setCart({});
      setStep({ at: "confirmed", orderId: update.orderId, dailyNum: update.dailyNum });
    } else if (update.kind === "refused") {
      setProblem(refusal(update.code, update.message));
      setStep({ at: "pay" });
    }
  };
  const { screen, error } = useScreen(onUpdate);

  const reset = () => {
    setCart({});
    setPay(null);
    setCellId(null);
    setProblem(null);
    setStep({ at: "welcome" });
  };

  // Idle: any touch restarts the clock; the welcome screen needs none.
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
  const currency = screen?.settings;
  const categories = useMemo(() => [...new Set(menu.map((m) => m.category))], [menu]);
  const byId = useMemo(() => new Map(menu.map((m) => [m.id, m])), [menu]);
  const lines = Object.entries(cart)
    .map(([id, quantity]) => ({ item: byId.get(id), quantity }))
    .filter((l): l is { item: MenuEntry; quantity: number } => !!l.item && l.quantity > 0);
  const total = lines.reduce((sum, l) => sum + l.item.price * l.quantity, 0);
  const soldOutInCart = lines.filter((l) => l.item.isSoldOut);

  if (!screen) return <div className="loading">{error ?? "Loading the menu…"}</div>;

  const live = screen.status.state === "live";
  const cafe = screen.settings.cafe_name ?? "Countertop";

  if (screen.settings.is_kiosk_active === "false") {
    return (
      <div className="kiosk maintenance" data-testid="maintenance">
        <h1>{cafe}</h1>
        <p className="big">This kiosk is taking a short break.</p>
        <p>Please order at the counter. Thank you!</p>
      </div>
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
      .then((key) => setStep({ at: "sending", key }))
      .catch((e) => setProblem(refusal(errorCode(e), errorText(e))));
  };

  const offlineBanner = !live && (
    <div className="banner offline" data-testid="ordering-paused">
      Ordering is paused while we reconnect to the counter.
    </div>
  );

  let body: React.ReactNode;
  if (step.at === "welcome") {
    body = (
      <div className="welcome" onClick={() => live && setStep({ at: "menu" })}>
        <h1>{cafe}</h1>
        <p className="big">Welcome! Order here and pick up at the counter.</p>
        <button className="primary huge" data-testid="start-order" disabled={!live}>
          Tap to order
        </button>
        {offlineBanner}
      </div>
    );
  } else if (step.at === "menu") {
    const shown = category ?? categories[0];
    body = (
      <div className="order">
        <div className="menu">
          <nav className="tabs">
            {categories.map((c) => (
              <button key={c} className={c === shown ? "on" : ""} onClick={() => setCategory(c)}>
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
                  <span className="price">{m.isSoldOut ? "Sold out" : money(m.price, currency)}</span>
                  {cart[m.id] ? <span className="count">{cart[m.id]}</span> : null}
                </button>
              ))}
          </div>
        </div>
        <aside className="cart">
          <h2>Your order</h2>
          {lines.length === 0 && <p className="muted">Tap a drink or a treat to add it.</p>}
          {lines.map((l) => (
            <div key={l.item.id} className={`line ${l.item.isSoldOut ? "sold-out" : ""}`}>
              <span className="name">{l.item.name}</span>
              <button onClick={() => add(l.item.id, -1)} aria-label="one less">−</button>
              <span className="qty">{l.quantity}</span>
              <button onClick={() => add(l.item.id, 1)} aria-label="one more" disabled={l.item.isSoldOut}>+</button>
              <span className="price">{money(l.item.price * l.quantity, currency)}</span>
            </div>
          ))}
          {soldOutInCart.length > 0 && (
            <p className="error">{soldOutInCart.map((l) => l.item.name).join(", ")} just sold out: please remove it.</p>
          )}
          <div className="total">
            <span>Total</span>
            <strong data-testid="cart-total">{money(total, currency)}</strong>
          </div>
          <button
            className="primary big"
            data-testid="to-pay"
            disabled={lines.length === 0 || soldOutInCart.length > 0 || !live}
            onClick={() => setStep({ at: "pay" })}
          >
            Pay
          </button>
          <button className="link" onClick={reset}>Start over</button>
          {offlineBanner}
        </aside>
      </div>
    );
  } else if (step.at === "pay") {
    const cells = screen.cells;
    body = (
      <div className="pay">
        <h2>
          How would you like to pay <strong>{money(total, currency)}</strong>?
        </h2>
        <div className="methods">
          {(["CARD", "CASH", "CELL"] as Pay[]).map((p) => (
            <button key={p} className={pay === p ? "on" : ""} data-testid={`pay-${p}`} onClick={() => setPay(p)}>
              {p === "CARD" ? "Card" : p === "CASH" ? "Cash" : "Team points"}
            </button>
          ))}
        </div>
        {pay === "CELL" && (
          <div className="cells">
            {cells.map((c) => {
              const enough = c.balance >= total;
              return (
                <button
                  key={c.id}
                  className={`cell ${cellId === c.id ? "on" : ""} ${enough ? "" : "short"}`}
                  data-testid={`cell-${c.id}`}
                  onClick={() => setCellId(c.id)}
                >
                  <span>{c.name}</span>
                  <span>{money(c.balance, currency)}</span>
                  {!enough && <span className="warn">not enough points</span>}
                </button>
              );
            })}
          </div>
        )}
        {problem && <p className="error" data-testid="pay-problem">{problem}</p>}
        <div className="actions">
          <button className="link" onClick={() => setStep({ at: "menu" })}>Back</button>
          <button
            className="primary big"
            data-testid="place-order"
            disabled={!pay || (pay === "CELL" && !cellId) || !live}
            onClick={order}
          >
            Place order
          </button>
        </div>
        {offlineBanner}
      </div>
    );
  } else if (step.at === "sending") {
    body = <div className="welcome"><p className="big">Sending your order…</p></div>;
  } else {
    const placed = screen.orders.find((o) => o.orderId === step.orderId);
    const status = placed?.status ?? "PENDING";
    body = (
      <div className={`confirmed stage-${status}`} data-testid="confirmation">
        <p>Your number</p>
        <div className="number" data-testid="daily-number">{step.dailyNum ?? "?"}</div>
        <p className="big" data-testid="order-status" data-status={status}>{STATUS_TEXT[status]}</p>
        <button className="primary big" data-testid="done" onClick={reset}>Done</button>
      </div>
    );
  }

  return (
    <div className="kiosk">
      <StatusBar status={screen.status} />
      {body}
    </div>
  );
}

function refusal(code: string, message: string): string {
  switch (code) {
    case "insufficient_balance":
      return "Not enough points on that card. Please choose another way to pay.";
    case "sold_out":
      return "Sorry, something in your order just sold out. Please go back and change it.";
    case "kiosk_inactive":
      return "This kiosk is taking a break. Please order at the counter.";
    case "ordering_paused":
      return "We can't reach the counter right now. Please wait a moment.";
    default:
      return message;
  }
}
