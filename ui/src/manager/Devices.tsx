import { useId, useState } from "react";
import { commands, type DeviceEntry, type PairingCodeView, type RoleName } from "../bindings";
import { useNow } from "../core";
import { Dialog } from "../components/Dialog";
import { PairingCodeBox } from "../components/PairingCodeBox";
import { PairingForm } from "../components/PairingForm";
import { useT } from "../i18n";
import { useAction, useDevices, type TabProps } from "./common";

const ROLES: RoleName[] = ["kiosk", "barista", "display", "manager"];
/** The list is read again this often while the tab is open. */
const REFRESH_MS = 10_000;

/** Pairing codes for new devices, the paired devices, and revoking one. */
export function Devices({ onError }: TabProps) {
  const { t, fmt } = useT();
  const now = useNow();
  const { devices, load } = useDevices(onError, REFRESH_MS);
  const { busy, run } = useAction(onError);
  const [code, setCode] = useState<PairingCodeView | null>(null);
  const [revoking, setRevoking] = useState<DeviceEntry | null>(null);
  const [rotating, setRotating] = useState(false);
  const [rotated, setRotated] = useState<number | null>(null);
  const ids = useId();

  return (
    <section className="devices" aria-labelledby="devices-heading">
      <div className="tab-head">
        <h1 id="devices-heading">{t("tab.devices")}</h1>
      </div>
      <PairingForm
        roles={ROLES}
        busy={busy}
        heading
        onCreate={(role, name) =>
          run(() => commands.createPairingCode(role, name)).then((made) => {
            if (!made) return false;
            setCode(made);
            load();
            return true;
          })
        }
      />
      {code && <PairingCodeBox code={code} />}
      <h2>{t("dev.paired")}</h2>
      {devices && devices.length === 0 && <p className="muted">{t("dev.none")}</p>}
      <ul className="device-list">
        {(devices ?? []).map((d) => (
          <li key={d.id} className="device-row" data-testid="device-row" data-name={d.name} data-role={d.role} data-id={d.id}>
            <span
              className={`dot ${d.connected ? "on" : ""}`}
              role="img"
              aria-label={d.connected ? t("dev.connected") : t("dev.notConnected")}
              title={d.connected ? t("dev.connected") : t("dev.notConnected")}
            />
            <span className="device-name">
              <strong>{d.name}</strong>
              {d.isThisDevice && <span className="muted"> ({t("dev.thisDevice")})</span>}
            </span>
            <span className="device-role">{t(`role.${d.role}`)}</span>
            <span className="muted">
              {d.connected ? t("dev.connected") : d.lastSeenAt ? t("dev.lastSeen", { age: fmt.ago(d.lastSeenAt, now) }) : t("dev.neverSeen")}
              {" · "}
              {t("dev.pairedAt", { date: fmt.dateTime(d.pairedAt) })}
            </span>
            <button
              className="danger"
              data-testid="revoke"
              aria-label={t("dev.revokeLabel", { name: d.name })}
              disabled={d.isThisDevice}
              onClick={() => setRevoking(d)}
            >
              {t("dev.revoke")}
            </button>
          </li>
        ))}
      </ul>
      <section className="rotate-secret" aria-labelledby={`${ids}-rotate`}>
        <h2 id={`${ids}-rotate`}>{t("dev.rotateTitle")}</h2>
        <p className="muted">{t("dev.rotateHelp")}</p>
        <button className="danger" data-testid="rotate-secret" disabled={busy} onClick={() => setRotating(true)}>
          {t("dev.rotate")}
        </button>
        {rotated !== null && (
          <p role="status" data-testid="rotated">
            {t("dev.rotated", { count: rotated })}
          </p>
        )}
      </section>
      {rotating && (
        <Dialog title={t("dev.rotateConfirmTitle")} onClose={() => setRotating(false)} testId="rotate-dialog">
          <p>{t("dev.rotateConfirmBody")}</p>
          <div className="form-actions">
            <button className="link" onClick={() => setRotating(false)}>
              {t("common.cancel")}
            </button>
            <button
              className="danger"
              data-testid="confirm-rotate"
              disabled={busy}
              onClick={() => {
                setRotating(false);
                run(() => commands.rotateSecret()).then((closed) => {
                  if (closed === undefined) return;
                  setRotated(closed);
                  load();
                });
              }}
            >
              {t("dev.rotate")}
            </button>
          </div>
        </Dialog>
      )}
      {revoking && (
        <Dialog title={t("dev.confirmTitle", { name: revoking.name })} onClose={() => setRevoking(null)} testId="revoke-dialog">
          <p>{t("dev.confirmBody", { name: revoking.name })}</p>
          <div className="form-actions">
            <button className="link" onClick={() => setRevoking(null)}>
              {t("common.cancel")}
            </button>
            <button
              className="danger"
              data-testid="confirm-revoke"
              disabled={busy}
              onClick={() => {
                const id = revoking.id;
                setRevoking(null);
                run(() => commands.revokeDevice(id)).then(load);
              }}
            >
              {t("dev.revoke")}
            </button>
          </div>
        </Dialog>
      )}
    </section>
  );
}
