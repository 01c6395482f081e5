import { useId, useState } from "react";
import { commands, type PairingCodeView, type RoleName } from "../bindings";
import { useT } from "../i18n";
import { Dialog } from "./Dialog";
import { PairingCodeBox } from "./PairingCodeBox";

/** A new manager is paired from a manager's Devices tab only. */
const ROLES: RoleName[] = ["kiosk", "barista", "display"];

/** "Pair a new device" on the computer that hosts the hub, for whoever
 * works at it (a hosting barista has no manager screen): the code comes
 * straight from the hub here, with its address and QR code. */
export function PairDeviceDialog({ onClose }: { onClose: () => void }) {
  const { t, errorText } = useT();
  const [role, setRole] = useState<RoleName>("kiosk");
  const [name, setName] = useState("");
  const [code, setCode] = useState<PairingCodeView | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const ids = useId();
  return (
    <Dialog title={t("dev.newCode")} onClose={onClose} testId="pair-device-dialog">
      <form
        className="pairing"
        onSubmit={(e) => {
          e.preventDefault();
          if (!name.trim()) return;
          setBusy(true);
          setError(null);
          commands
            .hostPairingCode(role, name.trim())
            .then(setCode)
            .catch((e) => setError(errorText(e)))
            .finally(() => setBusy(false));
        }}
      >
        <div className="field">
          <label htmlFor={`${ids}-role`}>{t("dev.role")}</label>
          <select id={`${ids}-role`} data-testid="pair-role" value={role} onChange={(e) => setRole(e.target.value as RoleName)}>
            {ROLES.map((r) => (
              <option key={r} value={r}>
                {t(`role.${r}`)}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor={`${ids}-name`}>{t("dev.name")}</label>
          <input id={`${ids}-name`} data-testid="pair-name" value={name} maxLength={60} onChange={(e) => setName(e.target.value)} />
        </div>
        <button type="submit" className="primary" data-testid="pair-create" disabled={!name.trim() || busy}>
          {t("dev.create")}
        </button>
      </form>
      {error && <p className="error" role="alert">{error}</p>}
      {code && <PairingCodeBox code={code} />}
      {code && !code.join && (
        <div className="serve-network">
          <p>{t("net.turnOn")}</p>
          <button
            className="primary"
            data-testid="serve-network"
            onClick={() => commands.setLan(true).catch((e) => setError(errorText(e)))}
          >
            {t("net.lanNow")}
          </button>
        </div>
      )}
    </Dialog>
  );
}
