import { commands, type LinkStatus } from "../bindings";
import { useNow } from "../core";
import { useT, type I18n } from "../i18n";

function label(status: LinkStatus, t: I18n["t"]): string {
  switch (status.state) {
    case "live":
      return t("status.live");
    case "connecting":
      return t("status.connecting");
    case "reconnecting":
      return t("status.reconnecting", { attempt: status.attempt ?? "?", of: status.of ?? 5 });
    case "offline":
      return t("status.offline");
    case "rejected":
      return t("status.rejected");
    case "not_your_hub":
      return t("status.notYourHub");
  }
}

/** Live / Reconnecting (n of 5) / Offline, the hub node in use when there
 * are several, how fresh the data is, and Retry. */
export function StatusBar({
  status,
  extra,
  outboxDepth,
}: {
  status: LinkStatus;
  extra?: React.ReactNode;
  outboxDepth?: number;
}) {
  const now = useNow();
  const { t, fmt } = useT();
  const age = status.newestEventAt
    ? t("status.newest", { age: fmt.ago(status.newestEventAt, now) })
    : t("status.noEvents");
  return (
    <div className={`status status-${status.state}`} data-testid="link-status" data-state={status.state}>
      <span className="dot" aria-hidden="true" />
      {/* Read out when the connection changes, not every second. */}
      <strong role="status" aria-live="polite">
        {label(status, t)}
        {status.state !== "live" && status.state !== "connecting" && (
          <span className="cached"> · {t("status.cached")}</span>
        )}
      </strong>
      {status.node && (
        <span className="node" data-testid="link-node">
          {t("status.node", {
            number: fmt.number(status.node.number),
            of: fmt.number(status.node.of),
            address: status.node.address,
          })}
        </span>
      )}
      <span className="age">{age}</span>
      {!!outboxDepth && <span className="outbox">{t("status.outbox", { count: fmt.number(outboxDepth) })}</span>}
      {status.state !== "live" && status.state !== "rejected" && (
        <button className="retry" onClick={() => commands.retry()}>
          {t("status.retry")}
        </button>
      )}
      <span className="spacer" />
      {extra}
    </div>
  );
}
