import { commands } from "../bindings";
import { useT } from "../i18n";
import { MoveHub } from "../components/MoveHub";

/** A pinned device whose hub address answered with another key: it sends
 * nothing there, says so plainly, and lets staff try again or a manager
 * pair it anew. */
export function NotYourHub({
  message,
  hubUrl,
  onPairAgain,
}: {
  message: string;
  hubUrl: string;
  onPairAgain: () => void;
}) {
  const { t } = useT();
  return (
    <main className="not-your-hub" data-testid="not-your-hub" role="alert">
      <h1>{t("nyh.title")}</h1>
      <p>{t("nyh.what", { hub: hubUrl })}</p>
      <p>{t("nyh.todo")}</p>
      {message && <p className="muted why">{t("nyh.said", { message })}</p>}
      <div className="actions">
        <button className="primary big" data-testid="nyh-retry" onClick={() => commands.retry().catch(() => {})}>
          {t("nyh.retry")}
        </button>
        <button data-testid="nyh-pair-again" onClick={onPairAgain}>
          {t("nyh.pairAgain")}
        </button>
      </div>
      <MoveHub current={hubUrl} />
    </main>
  );
}
