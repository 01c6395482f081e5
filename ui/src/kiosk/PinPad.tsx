// A team's PIN, typed on a pad of big digits (or the keyboard). The digits
// never leave this dialog but to the hub, and are never shown.
import { useState } from "react";
import { Dialog } from "../components/Dialog";
import { useT } from "../i18n";

const DIGITS = ["1", "2", "3", "4", "5", "6", "7", "8", "9"];

export function PinPad({
  team,
  title,
  hint,
  testId = "pin-pad",
  problem,
  busy,
  onEnter,
  onClose,
}: {
  team: string;
  /** Another title and hint than a team's (the kiosk's exit PIN). */
  title?: string;
  hint?: string;
  testId?: string;
  problem: string | null;
  busy: boolean;
  onEnter: (pin: string) => void;
  onClose: () => void;
}) {
  const { t } = useT();
  const [pin, setPin] = useState("");
  const push = (d: string) => setPin((p) => (p.length < 8 ? p + d : p));
  const enter = () => {
    if (pin.length >= 4 && !busy) {
      onEnter(pin);
      setPin("");
    }
  };
  return (
    <Dialog title={title ?? t("pin.title", { team })} onClose={onClose} className="pin-pad" testId={testId}>
      <p className="pin-dots" aria-live="polite" data-testid="pin-dots">
        {pin.length === 0 ? (hint ?? t("pin.hint")) : "●".repeat(pin.length)}
      </p>
      {problem && (
        <p className="error" role="alert" data-testid="pin-problem">
          {problem}
        </p>
      )}
      <div
        className="digits"
        onKeyDown={(e) => {
          if (/^[0-9]$/.test(e.key)) push(e.key);
          else if (e.key === "Backspace") setPin((p) => p.slice(0, -1));
          else if (e.key === "Enter") enter();
          else return;
          e.preventDefault();
        }}
      >
        {DIGITS.map((d) => (
          <button key={d} data-testid={`pin-${d}`} onClick={() => push(d)}>
            {d}
          </button>
        ))}
        <button aria-label={t("pin.erase")} onClick={() => setPin((p) => p.slice(0, -1))}>
          ⌫
        </button>
        <button data-testid="pin-0" onClick={() => push("0")}>
          0
        </button>
        <button className="primary" data-testid="pin-enter" disabled={pin.length < 4 || busy} onClick={enter}>
          {busy ? "…" : t("pin.enter")}
        </button>
      </div>
    </Dialog>
  );
}
