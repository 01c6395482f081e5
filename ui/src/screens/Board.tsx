import { useScreen } from "../core";
import { useT } from "../i18n";
import { StatusBar } from "../components/StatusBar";

/** The "now serving" board: READY numbers large, the ones in the making small. */
export function Board() {
  const { screen, error } = useScreen();
  const { t } = useT();
  if (!screen) return <div className="loading">{error ?? t("app.loading")}</div>;
  const ready = screen.orders.filter((o) => o.status === "READY").reverse();
  const making = screen.orders.filter((o) => o.status === "PENDING" || o.status === "MAKING").reverse();
  return (
    <div className="board">
      <StatusBar status={screen.status} />
      <div className="board-body">
        <section className="serving" aria-labelledby="serving-title">
          <h1 id="serving-title">{t("board.nowServing")}</h1>
          <div className="numbers" data-testid="serving" aria-live="polite">
            {ready.length === 0 && <p className="muted">{t("common.none")}</p>}
            {ready.map((o) => (
              <span key={o.orderId} className="ready-num" data-testid={`ready-${o.dailyNum}`}>
                {o.dailyNum}
              </span>
            ))}
          </div>
        </section>
        <section className="preparing" aria-labelledby="preparing-title">
          <h2 id="preparing-title">{t("board.preparing")}</h2>
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
