import { useId, useState } from "react";
import type { RoleName } from "../bindings";
import { useT } from "../i18n";

/** "Pair a new device": its role and name, then Create pairing code.
 * `onCreate` says whether a code was made (the name is then cleared). */
export function PairingForm({
  roles,
  busy,
  heading,
  onCreate,
}: {
  roles: RoleName[];
  busy: boolean;
  /** Shown as the form's heading (a dialog has its own title). */
  heading?: boolean;
  onCreate: (role: RoleName, name: string) => Promise<boolean>;
}) {
  const { t } = useT();
  const [role, setRole] = useState<RoleName>(roles[0]);
  const [name, setName] = useState("");
  const ids = useId();
  return (
    <form
      className="pairing"
      aria-label={t("dev.newCode")}
      onSubmit={(e) => {
        e.preventDefault();
        if (!name.trim()) return;
        onCreate(role, name.trim()).then((made) => made && setName(""));
      }}
    >
      {heading && <h2>{t("dev.newCode")}</h2>}
      <div className="field">
        <label htmlFor={`${ids}-role`}>{t("dev.role")}</label>
        <select id={`${ids}-role`} data-testid="pair-role" value={role} onChange={(e) => setRole(e.target.value as RoleName)}>
          {roles.map((r) => (
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
  );
}
