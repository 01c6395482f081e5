// The bump bar's keys: for each action, press the key to bind it; the
// choice is kept per device. Also the small legend the board shows.
import { useEffect, useState } from "react";
import { Dialog } from "../components/Dialog";
import { useT, type Key } from "../i18n";
import { DEFAULT_KEYS, KEY_ACTIONS, keyLabel, keyName, positionOf, rebind, type KeyAction, type KeyMap } from "./keys";

/** Keys that only modify another, or move focus: never bound. */
const UNBINDABLE = new Set(["Shift", "Control", "Alt", "Meta", "AltGraph", "CapsLock", "Tab", "Escape", "Dead", "Unidentified"]);

export function actionName(t: (key: Key, vars?: Record<string, string | number>) => string, action: KeyAction): string {
  const n = positionOf(action);
  return n === null ? t(`keys.${action}` as Key) : t("keys.pos", { n });
}

export function KeysDialog({ keys, onChange, onClose }: { keys: KeyMap; onChange: (keys: KeyMap) => void; onClose: () => void }) {
  const { t } = useT();
  const [waiting, setWaiting] = useState<KeyAction | null>(null);

  useEffect(() => {
    if (!waiting) return;
    // Before the dialog's own keys (Escape closes it): Escape here only
    // stops waiting.
    const onKey = (e: KeyboardEvent) => {
      e.preventDefault();
      e.stopPropagation();
      if (e.key === "Escape") {
        setWaiting(null);
        return;
      }
      if (UNBINDABLE.has(e.key)) return;
      onChange(rebind(keys, waiting, keyName(e)));
      setWaiting(null);
    };
    window.addEventListener("keydown", onKey, true);
    return () => window.removeEventListener("keydown", onKey, true);
  }, [waiting, keys, onChange]);

  return (
    <Dialog title={t("keys.title")} onClose={onClose} testId="keys-dialog" className="keys-dialog">
      <p className="muted">{t("keys.help")}</p>
      <ul className="keys-list">
        {KEY_ACTIONS.map((a) => (
          <li key={a} className={waiting === a ? "waiting" : ""}>
            <span>{actionName(t, a)}</span>
            <kbd data-testid={`key-${a}`}>{waiting === a ? t("keys.press") : keyLabel(keys[a])}</kbd>
            <button data-testid={`bind-${a}`} aria-pressed={waiting === a} onClick={() => setWaiting(waiting === a ? null : a)}>
              {t("keys.change")}
            </button>
          </li>
        ))}
      </ul>
      <div className="keys-foot">
        <button data-testid="keys-reset" onClick={() => onChange({ ...DEFAULT_KEYS })}>
          {t("keys.reset")}
        </button>
        <button className="primary" data-autofocus onClick={onClose}>
          {t("common.close")}
        </button>
      </div>
    </Dialog>
  );
}

/** The current keys in a line: "Enter bump · R recall · ← → ↑ ↓ move · 1…0 select · PgUp PgDn page". */
export function KeyLegend({ keys }: { keys: KeyMap }) {
  const { t } = useT();
  const groups: [string, string][] = [
    [keyLabel(keys.bump), t("keys.bump")],
    [keyLabel(keys.recall), t("keys.recall")],
    [[keys.left, keys.right, keys.up, keys.down].map(keyLabel).join(" "), t("keys.move")],
    [`${keyLabel(keys.pos1)}…${keyLabel(keys.pos10)}`, t("keys.select")],
    [`${keyLabel(keys.pageUp)} ${keyLabel(keys.pageDown)}`, t("keys.page")],
  ];
  return (
    <div className="key-legend" data-testid="key-legend">
      {groups.map(([k, what]) => (
        <span key={what}>
          <kbd>{k}</kbd> {what}
        </span>
      ))}
    </div>
  );
}
