import type { PairingCodeView } from "../bindings";
import { useNow } from "../core";
import { useT } from "../i18n";

/** A pairing code as the new device's person needs it: the six digits,
 * how long they last, and, when the hub serves the network, its address,
 * the fingerprint to compare and the pairing link as a QR code (which
 * carries all three, so the new device pins the hub before it sends the
 * code). */
export function PairingCodeBox({ code }: { code: PairingCodeView }) {
  const { t, fmt } = useT();
  const now = useNow();
  const left = Math.max(0, (Date.parse(code.expiresAt) - now) / 1000);
  const join = code.join;
  return (
    <div className={`pairing-code-box ${left <= 0 ? "expired" : ""}`} role="status" data-testid="pairing-box">
      <p>{t("dev.codeFor", { name: code.name, role: t(`role.${code.role}`) })}</p>
      <div className="pairing-code" data-testid="pairing-code" aria-label={code.code.split("").join(" ")}>
        {code.code}
      </div>
      <p data-testid="pairing-expiry">{left > 0 ? t("dev.expiresIn", { time: fmt.duration(left) }) : t("dev.expired")}</p>
      {join ? (
        <div className="pairing-join">
          {/* The SVG is the hub's own rendering of the link (qrcode crate). */}
          <div className="pairing-qr" role="img" aria-label={t("dev.qr")} dangerouslySetInnerHTML={{ __html: join.qrSvg }} />
          <dl>
            <dt>{t("dev.hubAddress")}</dt>
            <dd data-testid="pairing-address">{join.address}</dd>
            {join.addresses.length > 1 && (
              <dd className="muted">{join.addresses.slice(1).join(" · ")}</dd>
            )}
            <dt>{t("dev.fingerprint")}</dt>
            <dd data-testid="pairing-fingerprint" title={join.fingerprint}>
              <strong>{join.fingerprintShort}</strong>
            </dd>
            <dt>{t("dev.pairingLink")}</dt>
            <dd>
              <input readOnly className="pairing-link" data-testid="pairing-link" value={join.link} onFocus={(e) => e.target.select()} />
            </dd>
          </dl>
          <p className="hint">{t("dev.joinHow")}</p>
        </div>
      ) : (
        <p className="hint" data-testid="pairing-local-only">{t("dev.localOnly")}</p>
      )}
    </div>
  );
}
