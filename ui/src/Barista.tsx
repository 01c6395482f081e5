import { useMemo, useState } from "react";
import { commands, type CoreUpdate, type OrderEntry, type Session, type Stage } from "./bindings";
import { errorText, money, useNow, useScreen } from "./core";
import { StatusBar } from "./StatusBar";

const COLUMNS: { stage: Stage; title: string; action: string }[] = [
  { stage: "PENDING", title: "New", action: "Start making" },
  { stage: "MAKING", title: "Making", action: "Mark ready" },
  { stage: "READY", title: "Ready", action: "Picked up" },
];

const REASONS = ["Customer changed their mind", "Out of an ingredient", "Duplicate order", "Paid wrongly"];

/** How long a new order stays highlighted. */
const HIGHLIGHT_MS = 10_000;

export function Barista({ session }: { session: Session }) {
  const [fresh, setFresh] = useState<Record<string, number>>({});
  const [cancelling, setCancelling] = useState<OrderEntry | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [showMenu, setShowMenu] = useState(false);
  const onUpdate = (update: CoreUpdate) => {
    if (update.kind === "changed" && update.newOrderId) {
      const id = update.newOrderId;
      setFresh((f) => ({ ...f, [id]: Date.now() }));
    } else if (update.kind === "refused") {
      setProblem(update.message);
    }
  };
  const { screen, error } = useScreen(onUpdate);
  const now = useNow();

  const orders = screen?.orders ?? [];
  const today = new Date().toDateString();
  const todays = orders.filter((o) => new Date(o.createdAt).toDateString() === today);
  const allDay = useMemo(() => {
    const counts = new Map<string, number>();
    for (const o of todays) {
      if (o.status === "CANCELLED") continue;
      for (const l of o.items) counts.set(l.menuName, (counts.get(l.menuName) ?? 0) + l.quantity);
    }
    return [...counts.entries()].sort((a, b) => b[1] - a[1]);
  }, [todays]);

  if (!screen) return <div className="loading">{error ?? "Loading orders…"}</div>;
  const amber = Number(screen.settings.timer_amber_minutes ?? 5) * 60_000;
  const red = Number(screen.settings.timer_red_minutes ?? 10) * 60_000;
  const currency = screen.settings;
  const recall = orders.filter((o) => o.status === "COMPLETED" || o.status === "CANCELLED").slice(0, 8);

  const act = (p: Promise<unknown>) => p.catch((e) => setProblem(errorText(e)));

  const card = (o: OrderEntry, action: string) => {
    const waited = Math.max(0, now - Date.parse(o.createdAt));
    const timer = waited >= red ? "red" : waited >= amber ? "amber" : "";
    const isFresh = fresh[o.orderId] && now - fresh[o.orderId] < HIGHLIGHT_MS;
    const minutes = Math.floor(waited / 60_000);
    const seconds = Math.floor((waited % 60_000) / 1000);
    return (
      <div
        key={o.orderId}
        className={`card ${timer} ${isFresh ? "fresh" : ""}`}
        data-testid={`order-${o.dailyNum}`}
        data-status={o.status}
        onContextMenu={(e) => {
          e.preventDefault();
          setCancelling(o);
        }}
      >
        <div className="head">
          <span className="num">#{o.dailyNum}</span>
          <span className={`pay pay-${o.payType}`}>{o.payType === "CELL" ? o.cellName ?? "CELL" : o.payType}</span>
          <span className="timer">
            {minutes}:{String(seconds).padStart(2, "0")}
          </span>
        </div>
        <ul>
          {o.items.map((l, i) => (
            <li key={i}>
              <strong>{l.quantity}×</strong> {l.menuName}
              {l.options && <div className="options">{l.options}</div>}
            </li>
          ))}
        </ul>
        <div className="card-actions">
          <button className="primary" data-testid={`advance-${o.dailyNum}`} onClick={() => act(commands.advanceOrder(o.orderId))}>
            {action}
          </button>
          <button className="ghost" aria-label="cancel order" onClick={() => setCancelling(o)}>
            ⋯
          </button>
        </div>
      </div>
    );
  };

  return (
    <div className="barista">
      <StatusBar
        status={screen.status}
        extra={
          <>
            <button onClick={() => setShowMenu((s) => !s)} data-testid="menu-toggle">
              {showMenu ? "Orders" : "Sold out…"}
            </button>
            <button data-testid="open-board" onClick={() => act(commands.openBoard())}>
              Now serving board
            </button>
            <button
              className={screen.muted ? "muted" : ""}
              data-testid="mute"
              onClick={() => act(commands.setMuted(!screen.muted))}
            >
              {screen.muted ? "Sound off (muted)" : "Sound on"}
            </button>
          </>
        }
      />
      {problem && (
        <div className="banner error" onClick={() => setProblem(null)}>
          {problem} (tap to dismiss)
        </div>
      )}
      {showMenu ? (
        <div className="soldout-panel">
          <h2>Tap an item to mark it sold out (or back in stock)</h2>
          <div className="items">
            {screen.menu.map((m) => (
              <button
                key={m.id}
                className={`item ${m.isSoldOut ? "sold-out" : ""}`}
                data-testid={`soldout-${m.id}`}
                onClick={() => act(commands.setSoldOut(m.id, !m.isSoldOut))}
              >
                <span className="name">{m.name}</span>
                <span className="price">{m.isSoldOut ? "Sold out" : money(m.price, currency)}</span>
              </button>
            ))}
          </div>
        </div>
      ) : (
        <div className="columns">
          {COLUMNS.map((c) => {
            const here = orders.filter((o) => o.status === c.stage).reverse();
            return (
              <section key={c.stage} className={`column col-${c.stage}`} data-testid={`column-${c.stage}`}>
                <h2>
                  {c.title} <span className="count">{here.length}</span>
                </h2>
                {here.map((o) => card(o, c.action))}
              </section>
            );
          })}
        </div>
      )}
      <footer className="barista-foot">
        <div className="allday">
          <strong>All day:</strong>{" "}
          {allDay.length === 0 ? "nothing yet" : allDay.map(([name, n]) => `${n}× ${name}`).join(" · ")}
        </div>
        <div className="recall">
          <strong>Recall:</strong>{" "}
          {recall.length === 0
            ? "nothing done yet"
            : recall.map((o) => (
                <span key={o.orderId} className={`recall-${o.status}`} title={o.cancelReason ?? ""}>
                  #{o.dailyNum} {o.status === "CANCELLED" ? "✕" : "✓"}
                </span>
              ))}
        </div>
        <div className="who">{session.deviceName}</div>
      </footer>
      {cancelling && (
        <div className="dialog-backdrop" onClick={() => setCancelling(null)}>
          <div className="dialog" onClick={(e) => e.stopPropagation()}>
            <h2>Cancel order #{cancelling.dailyNum}?</h2>
            <p>Why?</p>
            {REASONS.map((r) => (
              <button
                key={r}
                onClick={() => {
                  act(commands.cancelOrder(cancelling.orderId, r));
                  setCancelling(null);
                }}
              >
                {r}
              </button>
            ))}
            <button className="link" onClick={() => setCancelling(null)}>
              Keep the order
            </button>
          </div>
        </div>
      )}
    </div>
  );
}
