import { useEffect, useId, useState } from "react";
import { commands } from "../bindings";
import { LANGUAGES, useT } from "../i18n";
import { About } from "../components/About";
import { BackupStatus } from "./Backups";
import { HubNetwork } from "./HubNetwork";
import { useAction, type TabProps } from "./common";

/** The café's settings (at the hub) and this device's own (alert sounds, language). */
export function Settings({ screen, onError }: TabProps) {
  const { t, preferred, systemLanguage, choose, lang } = useT();
  const { busy, run } = useAction(onError);
  const s = screen.settings;
  const ids = useId();
  const put = (key: string, value: string) => run(() => commands.putSetting(key, value));
  const systemName = LANGUAGES.find((l) => systemLanguage.toLowerCase().startsWith(l.code))?.name ?? systemLanguage;

  return (
    <section className="settings" aria-labelledby="settings-heading">
      <div className="tab-head">
        <h1 id="settings-heading">{t("tab.settings")}</h1>
      </div>
      <fieldset>
        <legend>{t("set.cafe")}</legend>
        <label className="switch">
          <input
            type="checkbox"
            role="switch"
            data-testid="setting-kiosk-active"
            checked={s.is_kiosk_active !== "false"}
            disabled={busy}
            onChange={(e) => put("is_kiosk_active", e.target.checked ? "true" : "false")}
          />
          <span>{t("set.kioskActive")}</span>
        </label>
        <label className="switch">
          <input
            type="checkbox"
            role="switch"
            data-testid="setting-offline-ordering"
            checked={s.offline_ordering === "true"}
            disabled={busy}
            onChange={(e) => put("offline_ordering", e.target.checked ? "true" : "false")}
          />
          <span>{t("set.offlineOrdering")}</span>
        </label>
        <SettingText
          key={`amber:${s.timer_amber_minutes}`}
          id={`${ids}-amber`}
          testId="setting-timer-amber"
          label={t("set.timerAmber")}
          value={s.timer_amber_minutes ?? "5"}
          numeric
          onSave={(v) => put("timer_amber_minutes", v)}
        />
        <SettingText
          key={`red:${s.timer_red_minutes}`}
          id={`${ids}-red`}
          testId="setting-timer-red"
          label={t("set.timerRed")}
          value={s.timer_red_minutes ?? "10"}
          numeric
          onSave={(v) => put("timer_red_minutes", v)}
        />
        <ChimeVolume
          key={`chime:${s.chime_volume}`}
          id={`${ids}-chime`}
          value={s.chime_volume ?? "80"}
          busy={busy}
          onSave={(v) => put("chime_volume", v)}
          onTest={(v) => run(() => commands.testChime(v))}
        />
        <SettingText
          key={`cafe:${s.cafe_name}`}
          id={`${ids}-cafe`}
          testId="setting-cafe-name"
          label={t("set.cafeName")}
          value={s.cafe_name ?? ""}
          onSave={(v) => put("cafe_name", v)}
        />
        <KioskExitPin id={`${ids}-exit-pin`} onError={onError} />
      </fieldset>
      <fieldset>
        <legend>{t("set.thisDevice")}</legend>
        <label className="switch">
          <input
            type="checkbox"
            role="switch"
            data-testid="setting-alert-sounds"
            checked={screen.alertSounds}
            disabled={busy}
            onChange={(e) => {
              const on = e.target.checked;
              run(() => commands.setAlertSounds(on));
            }}
          />
          <span>{t("set.alertSounds")}</span>
        </label>
        <StartAtLogin onError={onError} />
        <div className="field">
          <label htmlFor={`${ids}-language`}>{t("set.language")}</label>
          <select
            id={`${ids}-language`}
            data-testid="language"
            data-current={lang}
            value={preferred ?? ""}
            onChange={(e) => {
              const value = e.target.value || null;
              run(() => choose(value));
            }}
          >
            <option value="">{t("set.system", { name: systemName })}</option>
            {LANGUAGES.map((l) => (
              <option key={l.code} value={l.code} lang={l.code}>
                {l.name}
              </option>
            ))}
          </select>
        </div>
      </fieldset>
      <HubNetwork onError={onError} />
      <BackupStatus />
      <About />
    </section>
  );
}

/** The café's kiosk exit PIN (kept at the hub, only as a hash): whether
 * one is set, a new one typed twice (masked), or none. */
function KioskExitPin({ id, onError }: { id: string; onError: (e: unknown) => void }) {
  const { t } = useT();
  const { busy, run } = useAction(onError);
  const [isSet, setIsSet] = useState<boolean | null>(null);
  const [pin, setPin] = useState("");
  const [again, setAgain] = useState("");
  const [problem, setProblem] = useState<string | null>(null);
  useEffect(() => {
    commands.kioskExitPin().then(setIsSet, onError);
  }, [onError]);
  const save = async (value: string | null) => {
    const now = await run(() => commands.setKioskExitPin(value));
    if (now !== undefined) {
      setIsSet(now);
      setPin("");
      setAgain("");
    }
  };
  return (
    <form
      className="field exit-pin"
      onSubmit={(e) => {
        e.preventDefault();
        if (!/^\d{4,8}$/.test(pin)) setProblem(t("set.exitPinBad"));
        else if (pin !== again) setProblem(t("set.exitPinMismatch"));
        else {
          setProblem(null);
          void save(pin);
        }
      }}
    >
      <span className="label">{t("set.exitPin")}</span>
      <p data-testid="exit-pin-state" data-set={isSet === null ? undefined : String(isSet)}>
        {isSet === null ? "…" : isSet ? t("set.exitPinSet") : t("set.exitPinNone")}
      </p>
      <label htmlFor={`${id}-new`}>{t("set.exitPinNew")}</label>
      <input
        id={`${id}-new`}
        type="password"
        inputMode="numeric"
        autoComplete="off"
        maxLength={8}
        data-testid="setting-exit-pin"
        value={pin}
        onChange={(e) => setPin(e.target.value.replace(/\D/g, ""))}
      />
      <label htmlFor={`${id}-again`}>{t("set.exitPinAgain")}</label>
      <input
        id={`${id}-again`}
        type="password"
        inputMode="numeric"
        autoComplete="off"
        maxLength={8}
        data-testid="setting-exit-pin-again"
        value={again}
        onChange={(e) => setAgain(e.target.value.replace(/\D/g, ""))}
      />
      {problem && (
        <p className="error" role="alert" data-testid="exit-pin-problem">
          {problem}
        </p>
      )}
      <button type="submit" data-testid="setting-exit-pin-save" disabled={busy || pin === ""}>
        {t("set.exitPinSave")}
      </button>
      {isSet && (
        <button type="button" data-testid="setting-exit-pin-remove" disabled={busy} onClick={() => void save(null)}>
          {t("set.exitPinRemove")}
        </button>
      )}
    </form>
  );
}

/** Whether this device starts when someone logs in to this computer (the
 * desktop's autostart entry, with this data folder and role). */
function StartAtLogin({ onError }: { onError: (e: unknown) => void }) {
  const { t } = useT();
  const { busy, run } = useAction(onError);
  const [on, setOn] = useState<boolean | null>(null);
  useEffect(() => {
    commands.startAtLogin().then(setOn, onError);
  }, [onError]);
  return (
    <label className="switch">
      <input
        type="checkbox"
        role="switch"
        data-testid="setting-start-at-login"
        checked={on ?? false}
        disabled={busy || on === null}
        onChange={(e) => {
          const want = e.target.checked;
          void run(() => commands.setStartAtLogin(want)).then((now) => now !== undefined && setOn(now));
        }}
      />
      <span>{t("set.startAtLogin")}</span>
    </label>
  );
}

/** The hub's chime_volume (0 to 100) as a slider, saved when let go, and a
 * Test that plays the chime on this device at the slider's volume. */
function ChimeVolume({
  id,
  value,
  busy,
  onSave,
  onTest,
}: {
  id: string;
  value: string;
  busy: boolean;
  onSave: (value: string) => Promise<unknown>;
  onTest: (volume: number) => Promise<unknown>;
}) {
  const { t, fmt } = useT();
  const saved = Math.min(100, Math.max(0, Number.parseInt(value, 10) || 0));
  const [draft, setDraft] = useState(saved);
  const commit = () => {
    if (draft !== saved) onSave(String(draft));
  };
  return (
    <div className="field chime-volume">
      <label htmlFor={id}>{t("set.chimeVolume")}</label>
      <input
        id={id}
        type="range"
        min={0}
        max={100}
        step={5}
        value={draft}
        data-testid="setting-chime-volume"
        aria-valuetext={t("set.chimeVolumeValue", { value: fmt.number(draft) })}
        onChange={(e) => setDraft(Number(e.target.value))}
        onPointerUp={commit}
        onKeyUp={commit}
        onBlur={commit}
      />
      <output htmlFor={id} data-testid="setting-chime-volume-value">
        {t("set.chimeVolumeValue", { value: fmt.number(draft) })}
      </output>
      <button type="button" data-testid="setting-chime-test" disabled={busy} onClick={() => onTest(draft)}>
        {t("set.chimeTest")}
      </button>
    </div>
  );
}

/** A text or number setting, saved with its button or Enter. */
function SettingText({
  id,
  testId,
  label,
  value,
  numeric,
  onSave,
}: {
  id: string;
  testId: string;
  label: string;
  value: string;
  numeric?: boolean;
  onSave: (value: string) => Promise<unknown>;
}) {
  const { t } = useT();
  const [draft, setDraft] = useState(value);
  const trimmed = draft.trim();
  const valid = numeric ? /^\d{1,3}$/.test(trimmed) && Number(trimmed) > 0 : trimmed !== "";
  return (
    <form
      className="field setting-text"
      onSubmit={(e) => {
        e.preventDefault();
        if (valid && trimmed !== value) onSave(trimmed);
      }}
    >
      <label htmlFor={id}>{label}</label>
      <input
        id={id}
        data-testid={testId}
        value={draft}
        inputMode={numeric ? "numeric" : undefined}
        aria-invalid={!valid}
        maxLength={numeric ? 3 : 100}
        onChange={(e) => setDraft(e.target.value)}
      />
      <button type="submit" data-testid={`${testId}-save`} disabled={!valid || trimmed === value}>
        {t("common.save")}
      </button>
    </form>
  );
}
