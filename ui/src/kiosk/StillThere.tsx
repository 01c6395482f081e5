// "Still there?": after the café's idle time without a touch, a countdown;
// when it runs out the kiosk starts afresh for the next customer.
import { useEffect, useState } from "react";
import { useT } from "../i18n";

/** Seconds of countdown once the question is asked. */
export const COUNTDOWN_S = 15;

/** Calls `onIdle` after `idleSeconds` plus the countdown without a touch;
 * shows the question for the countdown. Off while `active` is false. */
export function useIdle(active: boolean, idleSeconds: number, onIdle: () => void) {
  const [asking, setAsking] = useState<number | null>(null);
  const [touches, setTouches] = useState(0);
  useEffect(() => {
    if (!active) {
      setAsking(null);
      return;
    }
    const touch = () => setTouches((n) => n + 1);
    window.addEventListener("pointerdown", touch);
    window.addEventListener("keydown", touch);
    return () => {
      window.removeEventListener("pointerdown", touch);
      window.removeEventListener("keydown", touch);
    };
  }, [active]);
  useEffect(() => {
    if (!active) return;
    setAsking(null);
    const ask = window.setTimeout(() => setAsking(COUNTDOWN_S), idleSeconds * 1000);
    return () => window.clearTimeout(ask);
  }, [active, idleSeconds, touches]);
  useEffect(() => {
    if (asking === null) return;
    if (asking <= 0) {
      setAsking(null);
      onIdle();
      return;
    }
    const tick = window.setTimeout(() => setAsking((s) => (s === null ? null : s - 1)), 1000);
    return () => window.clearTimeout(tick);
  }, [asking, onIdle]);
  return asking;
}

export function StillThere({ seconds, onStay }: { seconds: number; onStay: () => void }) {
  const { t, fmt } = useT();
  return (
    <div className="dialog-backdrop still-there" data-testid="still-there" role="alertdialog" aria-live="assertive">
      <div className="dialog">
        <h2>{t("idle.title")}</h2>
        <p className="big">{t("idle.body", { seconds: fmt.number(seconds) })}</p>
        <button className="primary huge" data-testid="still-here" onClick={onStay}>
          {t("idle.stay")}
        </button>
      </div>
    </div>
  );
}
