import { useState } from "react";
import { commands, type PairingCodeView, type RoleName } from "../bindings";
import { useT } from "../i18n";
import { Dialog } from "./Dialog";
import { PairingCodeBox } from "./PairingCodeBox";
import { PairingForm } from "./PairingForm";

/** A new manager is paired from a manager's Devices tab only. */
const ROLES: RoleName[] = ["kiosk", "barista", "display"];

/** "Pair a new device" on the computer that hosts the hub, for whoever
 * works at it (a hosting barista has no manager screen): the code comes
 * straight from the hub here, with its address and QR code. */
export function PairDeviceDialog({ onClose }: { onClose: () => void }) {
  const { t, errorText } = useT();
  const [code, setCode] = useState<PairingCodeView | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  return (
    <Dialog title={t("dev.newCode")} onClose={onClose} testId="pair-device-dialog">
      <PairingForm
        roles={ROLES}
        busy={busy}
        onCreate={(role, name) => {
          setBusy(true);
          setError(null);
          return commands
            .hostPairingCode(role, name)
            .then((made) => {
              setCode(made);
              return true;
            })
            .catch((e) => {
              setError(errorText(e));
              return false;
            })
            .finally(() => setBusy(false));
        }}
      />
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
