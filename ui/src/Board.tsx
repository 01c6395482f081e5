import { useScreen } from "./core";
import { StatusBar } from "./StatusBar";

/** The "now serving" board: READY numbers large, the ones in the making small. */
export function Board() {
  const { screen, error } = useScreen();
  if (!screen) return <div className="loading">{error ?? "Loading…"}</div>;
  const ready = screen.orders.filter((o) => o.status === "READY").reverse();
  const making = screen.orders.filter((o) => o.status === "PENDING" || o.status === "MAKING").reverse();
  return (
    <div className="board">
      <StatusBar status={screen.status} />
      <div className="board-body">
        <section className="serving">
          <h1>Now serving</h1>
          <div className="numbers" data-testid="serving">
            {ready.length === 0 && <p className="muted">—</p>}
            {ready.map((o) => (
              <span key={o.orderId} className="ready-num" data-testid={`ready-${o.dailyNum}`}>
                {o.dailyNum}
              </span>
            ))}
          </div>
        </section>
        <section className="preparing">
          <h2>Preparing</h2>
          <div className="numbers">
            {making.map((o) => (
              <span key={o.orderId}>{o.dailyNum}</span>
            ))}
          </div>
        </section>
      </div>
    </div>
  );
}
