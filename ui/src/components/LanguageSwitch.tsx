import { LANGUAGES, useT } from "../i18n";

/** A row of buttons, one per language, each named in itself: the device's
 * language changes on the spot (the kiosk's customers, the first run). */
export function LanguageSwitch({ onChoose }: { onChoose?: (code: string) => void } = {}) {
  const { t, lang, choose } = useT();
  return (
    <div
      className="language-switch"
      role="group"
      aria-label={t("kiosk.language")}
      data-testid="language-switch"
      onClick={(e) => e.stopPropagation()}
    >
      {LANGUAGES.map((l) => (
        <button
          key={l.code}
          lang={l.code}
          className={lang === l.code ? "on" : ""}
          aria-pressed={lang === l.code}
          data-testid={`lang-${l.code}`}
          onClick={() => {
            onChoose?.(l.code);
            choose(l.code).catch(() => {});
          }}
        >
          {l.name}
        </button>
      ))}
    </div>
  );
}
