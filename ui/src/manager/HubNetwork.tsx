import { useEffect, useState } from "react";
import { commands, type HubInfoView } from "../bindings";
import { Dialog } from "../components/Dialog";
import { MoveHub } from "../components/MoveHub";
import { useT } from "../i18n";

/** The manager's "This hub on the network": whether the hub serves other
 * devices (over TLS) or this computer only, the addresses they join on and
 * the fingerprint of its key. Changing it restarts Countertop, which says
 * so before. */
export function HubNetwork({ onError }: { onError: (e: unknown) => void }) {
  const { t } = useT();
  const [info, setInfo] = useState<HubInfoView | null>(null);
  const [asking, setAsking] = useState<boolean | null>(null);
  useEffect(() => {
    commands.hubInfo().then(setInfo).catch(onError);
  }, [onError]);
  if (!info) return null;
  return (
    <fieldset className="hub-network" data-testid="hub-network">
      <legend>{t("net.title")}</legend>
      {info.hosting ? (
        <label className="switch">
          <input
            type="checkbox"
            data-testid="hub-lan"
            checked={info.lan}
            onChange={(e) => setAsking(e.target.checked)}
          />
          {t("net.lan")}
        </label>
      ) : (
        <>
          <p className="muted">{t("net.joined")}</p>
          {info.addresses[0] && <MoveHub current={info.addresses[0]} />}
        </>
      )}
      {info.addresses.length > 0 ? (
        <dl>
          <dt>{t("dev.hubAddress")}</dt>
          {info.addresses.map((a) => (
            <dd key={a} data-testid="hub-address">{a}</dd>
          ))}
          <dt>{t("dev.fingerprint")}</dt>
          <dd data-testid="hub-fingerprint" title={info.fingerprint ?? ""}>
            <strong>{info.fingerprintShort}</strong> <span className="muted fingerprint">{info.fingerprint}</span>
          </dd>
        </dl>
      ) : (
        <p className="hint">{t("net.localOnly")}</p>
      )}
      {asking !== null && (
        <Dialog title={t("net.title")} onClose={() => setAsking(null)}>
          <p>{asking ? t("net.turnOn") : t("net.turnOff")}</p>
          <div className="actions">
            <button onClick={() => setAsking(null)}>{t("common.cancel")}</button>
            <button
              className="primary"
              data-testid="hub-lan-confirm"
              onClick={() => commands.setLan(asking).catch((e) => { setAsking(null); onError(e); })}
            >
              {t("net.restart")}
            </button>
          </div>
        </Dialog>
      )}
    </fieldset>
  );
}
