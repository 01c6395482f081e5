// "5 new orders" for a few seconds when a burst of new orders arrives (one
// chime for all of them): it listens to the core's `newOrders` updates
// itself, so a screen only places it.
import { useEffect, useState } from "react";
import { getCurrentWebviewWindow } from "@tauri-apps/api/webviewWindow";
import { events } from "../bindings";
import { useT } from "../i18n";
import "./alerts.css";

/** The most numbers the banner names. */
const NAMED = 8;

export function BurstBanner({
  minimum = 2,
  showForMs = 6000,
}: {
  /** The smallest burst shown (a single order needs no banner). */
  minimum?: number;
  /** How long the banner stays. */
  showForMs?: number;
}) {
  const { t, fmt } = useT();
  const [burst, setBurst] = useState<{ count: number; numbers: number[]; at: number } | null>(null);

  useEffect(() => {
    const unlisten = events.coreUpdate(getCurrentWebviewWindow()).listen((event) => {
      const update = event.payload;
      if (update.kind === "newOrders" && update.count >= minimum) {
        setBurst({ count: update.count, numbers: update.numbers, at: Date.now() });
      }
    });
    return () => {
      unlisten.then((f) => f());
    };
  }, [minimum]);

  useEffect(() => {
    if (!burst) return;
    const timer = window.setTimeout(() => setBurst(null), showForMs);
    return () => window.clearTimeout(timer);
  }, [burst, showForMs]);

  if (!burst) return null;
  const named = burst.numbers.slice(0, NAMED).map((n) => `#${fmt.number(n)}`);
  if (burst.numbers.length > NAMED) named.push("…");
  return (
    <div className="burst-banner" role="status" aria-live="polite" data-testid="burst-banner" data-count={burst.count}>
      <strong>{t("burst.newOrders", { count: fmt.number(burst.count) })}</strong>
      <span className="burst-numbers">{named.join(", ")}</span>
      <button type="button" aria-label={t("common.dismiss")} onClick={() => setBurst(null)}>
        ×
      </button>
    </div>
  );
}
