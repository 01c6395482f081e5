import { useId, useState } from "react";
import { commands } from "../bindings";
import { useT } from "../i18n";

/** "The hub has a new address": the device follows it without pairing
 * again; the hub there must know this device and show the pinned key. */
export function MoveHub({ current, onMoved }: { current: string; onMoved?: () => void }) {
  const { t, errorText } = useT();
  const [address, setAddress] = useState(current);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState(false);
  const id = useId();
  return (
    <form
      className="move-hub"
      data-testid="move-hub"
      onSubmit={(e) => {
        e.preventDefault();
        setBusy(true);
        setError(null);
        commands
          .moveHub(address)
          .then(() => {
            setDone(true);
            onMoved?.();
          })
          .catch((e) => setError(errorText(e)))
          .finally(() => setBusy(false));
      }}
    >
      <label htmlFor={id}>{t("move.label")}</label>
      <div className="row">
        <input id={id} data-testid="move-hub-address" value={address} onChange={(e) => setAddress(e.target.value)} placeholder="https://192.168.1.20:3443" />
        <button type="submit" disabled={busy || !address.trim() || address.trim() === current}>
          {busy ? t("move.checking") : t("move.use")}
        </button>
      </div>
      <p className="hint">{t("move.hint")}</p>
      {done && <p role="status">{t("move.done")}</p>}
      {error && <p className="error" role="alert">{error}</p>}
    </form>
  );
}
