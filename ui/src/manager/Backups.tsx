import { useEffect, useState } from "react";
import { commands, type BackupView } from "../bindings";
import { useNow } from "../core";
import { useT } from "../i18n";

/** How often the manager's screen asks the hub how its backups stand. */
const POLL_MS = 60_000;

/** The hub's backups, asked for now and every minute; null until the first answer. */
function useBackups(): { view: BackupView | null; failed: string | null } {
  const { errorText } = useT();
  const [view, setView] = useState<BackupView | null>(null);
  const [failed, setFailed] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    const ask = () =>
      commands
        .backupState()
        .then((v) => {
          if (!live) return;
          setView(v);
          setFailed(null);
        })
        .catch((e) => live && setFailed(errorText(e)));
    ask();
    const timer = window.setInterval(ask, POLL_MS);
    return () => {
      live = false;
      window.clearInterval(timer);
    };
  }, [errorText]);
  return { view, failed };
}

/** One line on the backups: the newest one's age, what is kept, and what went wrong. */
function BackupText({ view }: { view: BackupView }) {
  const { t, fmt } = useT();
  const now = useNow();
  return (
    <>
      <span>
        {view.lastAt
          ? t("backup.last", { ago: fmt.ago(view.lastAt, now) })
          : t("backup.none")}
      </span>{" "}
      <span className="muted">
        {t("backup.kept", { hourly: fmt.number(view.hourly), daily: fmt.number(view.daily) })}
        {view.copyTo ? ` · ${t("backup.copyTo", { folder: view.copyTo })}` : ""}
      </span>
      {view.lastError && <span className="why"> {t("backup.failed", { error: view.lastError })}</span>}
      {view.copyError && <span className="why"> {t("backup.copyFailed", { error: view.copyError })}</span>}
    </>
  );
}

/** A warning over every manager tab while the backups need attention: none
 * yet, the newest over a day old, or failing. */
export function BackupWarning() {
  const { t } = useT();
  const { view } = useBackups();
  if (!view?.warning) return null;
  return (
    <div className="banner offline" role="alert" data-testid="backup-warning">
      {t("backup.warning")} <BackupText view={view} />
    </div>
  );
}

/** The backups' state in the settings, with where they are kept. */
export function BackupStatus() {
  const { t } = useT();
  const { view, failed } = useBackups();
  return (
    <fieldset className="backups" data-testid="backup-status" data-warning={view?.warning ?? false}>
      <legend>{t("backup.title")}</legend>
      {failed ? (
        <p className="why">{failed}</p>
      ) : view ? (
        <p className={view.warning ? "banner offline" : ""}>
          <BackupText view={view} />
        </p>
      ) : (
        <p className="muted">{t("app.loading")}</p>
      )}
      {view?.lastFile && <p className="muted small">{view.lastFile}</p>}
      <p className="muted small">{t("backup.help")}</p>
    </fieldset>
  );
}
