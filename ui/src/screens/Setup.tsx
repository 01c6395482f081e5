import { useId, useState } from "react";
import { commands, type RoleName, type Session } from "../bindings";
import { useT } from "../i18n";
import { LanguageSwitch } from "../components/LanguageSwitch";
import { FoundHubs } from "../components/FoundHubs";

const ROLES: RoleName[] = ["kiosk", "barista", "manager", "display"];

/** First run: host the hub here (default) or join one with a pairing code.
 * A window whose device was revoked comes back here in `join` mode. */
export function Setup({
  onDone,
  removed,
}: {
  onDone: (s: Session) => void;
  /** Set when the hub removed this device: why, and the hub to pair with again. */
  removed?: { message: string | null; hubUrl: string };
}) {
  const { t, errorText } = useT();
  const [mode, setMode] = useState<"host" | "join">(removed ? "join" : "host");
  const [role, setRole] = useState<RoleName>("barista");
  const [hubUrl, setHubUrl] = useState(removed?.hubUrl || "https://");
  const [code, setCode] = useState("");
  const [link, setLink] = useState("");
  const [lan, setLan] = useState(false);
  const [atLogin, setAtLogin] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const ids = useId();

  const linkGiven = link.trim() !== "";
  const codeOk = linkGiven ? link.trim().startsWith("countertop://pair?") : /^\d{6}$/.test(code);
  const submit = () => {
    setBusy(true);
    setError(null);
    const choice =
      mode === "host"
        ? { mode: "host" as const, role, lan }
        : linkGiven
          ? { mode: "join" as const, hubUrl: "", code: link.trim() }
          : { mode: "join" as const, hubUrl, code };
    // The login entry first, while this window may still write it; taken
    // back if setting up fails.
    const login = atLogin ? commands.setStartAtLogin(true) : Promise.resolve(false);
    login
      .then(() => commands.setup(choice))
      .then(onDone)
      .catch((e) => {
        setError(errorText(e));
        if (atLogin) commands.setStartAtLogin(false).catch(() => {});
      })
      .finally(() => setBusy(false));
  };

  return (
    <main className="setup" data-testid={removed ? "setup-removed" : "setup"}>
      <h1>{t("setup.title")}</h1>
      <LanguageSwitch />
      {removed && (
        <div className="banner offline" role="alert" data-testid="removed-notice">
          <p>{t("setup.removed")}</p>
          {removed.message && <p className="why">{t("setup.removedWhy", { message: removed.message })}</p>}
        </div>
      )}
      <div className="choice" role="group" aria-label={t("setup.mode")}>
        <button className={mode === "host" ? "on" : ""} aria-pressed={mode === "host"} onClick={() => setMode("host")}>
          <strong>{t("setup.host")}</strong>
          <span>{t("setup.hostWhat")}</span>
        </button>
        <button className={mode === "join" ? "on" : ""} aria-pressed={mode === "join"} onClick={() => setMode("join")}>
          <strong>{t("setup.join")}</strong>
          <span>{t("setup.joinWhat")}</span>
        </button>
      </div>
      {mode === "host" ? (
        <fieldset className="roles">
          <legend>{t("setup.whatScreen")}</legend>
          {ROLES.map((r) => (
            <label key={r} className={role === r ? "on" : ""}>
              <input type="radio" name="role" checked={role === r} onChange={() => setRole(r)} />
              <strong>{t(`role.${r}`)}</strong> — {t(`role.${r}What`)}
            </label>
          ))}
          <label className={`lan ${lan ? "on" : ""}`}>
            <input type="checkbox" data-testid="setup-lan" checked={lan} onChange={(e) => setLan(e.target.checked)} />
            <strong>{t("setup.lan")}</strong> — {t("setup.lanWhat")}
          </label>
        </fieldset>
      ) : (
        <div className="join">
          <FoundHubs picked={hubUrl} onPick={setHubUrl} />
          <label htmlFor={`${ids}-link`}>{t("setup.pairingLink")}</label>
          <input
            id={`${ids}-link`}
            data-testid="setup-link"
            value={link}
            onChange={(e) => setLink(e.target.value)}
            placeholder="countertop://pair?…"
            aria-describedby={`${ids}-link-hint`}
          />
          <p className="hint" id={`${ids}-link-hint`}>{t("setup.pairingLinkHint")}</p>
          <label htmlFor={`${ids}-hub`}>{t("setup.hubAddress")}</label>
          <input
            id={`${ids}-hub`}
            data-testid="setup-hub"
            value={hubUrl}
            disabled={linkGiven}
            onChange={(e) => setHubUrl(e.target.value)}
            placeholder="https://192.168.1.20:3443"
          />
          <label htmlFor={`${ids}-code`}>{t("setup.pairingCode")}</label>
          <input
            id={`${ids}-code`}
            data-testid="setup-code"
            value={code}
            disabled={linkGiven}
            inputMode="numeric"
            autoComplete="one-time-code"
            maxLength={6}
            aria-describedby={`${ids}-hint`}
            onChange={(e) => setCode(e.target.value.replace(/\D/g, ""))}
            placeholder="123456"
            autoFocus={!!removed}
          />
          <p className="hint" id={`${ids}-hint`}>{t("setup.codeHint")}</p>
        </div>
      )}
      <label className={`at-login ${atLogin ? "on" : ""}`}>
        <input
          type="checkbox"
          data-testid="setup-start-at-login"
          checked={atLogin}
          onChange={(e) => setAtLogin(e.target.checked)}
        />
        <strong>{t("set.startAtLogin")}</strong>
      </label>
      {error && <p className="error" role="alert">{error}</p>}
      <button
        className="primary big"
        data-testid="setup-start"
        disabled={busy || (mode === "join" && !codeOk)}
        onClick={submit}
      >
        {busy ? t("setup.settingUp") : t("setup.start")}
      </button>
    </main>
  );
}
