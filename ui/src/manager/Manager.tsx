import { useCallback, useState } from "react";
import type { Session } from "../bindings";
import { useScreen } from "../core";
import { useT, type Key } from "../i18n";
import { OrdersBoard, ProblemBanner, useFreshOrders } from "../screens/Barista";
import { StatusBar } from "../components/StatusBar";
import { SoundControl } from "../components/SoundControl";
import { BackupWarning } from "./Backups";
import { Cells } from "./Cells";
import { Dashboard } from "./Dashboard";
import { Devices } from "./Devices";
import { MenuEditor } from "./MenuEditor";
import { Notices } from "./Notices";
import { Report } from "./Report";
import { Settings } from "./Settings";
import { Workorders } from "./Workorders";

type Tab = "dashboard" | "report" | "orders" | "workorders" | "menu" | "cells" | "devices" | "settings" | "notices";
const TABS: Tab[] = ["dashboard", "report", "orders", "workorders", "menu", "cells", "devices", "settings", "notices"];

/** The manager's screen: a nav of tabs over the same device cache the other screens read. */
export function Manager({ session }: { session: Session }) {
  const { t, fmt, errorText } = useT();
  const [tab, setTab] = useState<Tab>("dashboard");
  const [problem, setProblem] = useState<string | null>(null);
  const { fresh, note } = useFreshOrders();
  const { screen, error } = useScreen((update) => {
    note(update);
    if (update.kind === "refused") setProblem(update.message);
  });
  const onError = useCallback((e: unknown) => setProblem(errorText(e)), [errorText]);

  if (!screen) return <div className="loading">{error ?? t("app.loading")}</div>;
  const open = screen.dashboard.openOrders;

  let body: React.ReactNode;
  switch (tab) {
    case "dashboard":
      body = <Dashboard screen={screen} onError={onError} />;
      break;
    case "report":
      body = <Report screen={screen} onError={onError} />;
      break;
    case "orders":
      body = <OrdersBoard screen={screen} fresh={fresh} deviceName={session.deviceName} onProblem={setProblem} />;
      break;
    case "workorders":
      body = <Workorders screen={screen} onError={onError} />;
      break;
    case "menu":
      body = <MenuEditor screen={screen} onError={onError} />;
      break;
    case "cells":
      body = <Cells screen={screen} onError={onError} />;
      break;
    case "devices":
      body = <Devices screen={screen} onError={onError} />;
      break;
    case "settings":
      body = <Settings screen={screen} onError={onError} />;
      break;
    case "notices":
      body = <Notices screen={screen} onError={onError} />;
      break;
  }

  return (
    <div className="manager">
      <StatusBar
        status={screen.status}
        outboxDepth={screen.outboxDepth}
        extra={<SoundControl sound={screen.sound} muted={screen.muted} onError={onError} />}
      />
      <div className="manager-body">
        <nav className="manager-nav" aria-label={t("manager.nav")}>
          <p className="open-orders" data-testid="open-orders-count" aria-live="polite">
            {t("manager.openOrders", { count: open })}
          </p>
          {TABS.map((id) => (
            <button
              key={id}
              data-testid={`tab-${id}`}
              className={tab === id ? "on" : ""}
              aria-current={tab === id ? "page" : undefined}
              onClick={() => setTab(id)}
            >
              {t(`tab.${id}` as Key)}
              {id === "orders" && open > 0 && (
                <span className="count" aria-hidden="true">
                  {fmt.number(open)}
                </span>
              )}
            </button>
          ))}
        </nav>
        <div className="manager-main">
          <ProblemBanner problem={problem} onDismiss={() => setProblem(null)} />
          <BackupWarning />
          {body}
        </div>
      </div>
    </div>
  );
}
