import { commands, type LinkStatus } from "./bindings";
import { useNow } from "./core";

function age(since: string | null, now: number): string {
  if (!since) return "no events yet";
  const seconds = Math.max(0, Math.round((now - Date.parse(since)) / 1000));
  if (seconds < 60) return `newest event ${seconds} s ago`;
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `newest event ${minutes} min ago`;
  return `newest event ${Math.round(minutes / 60)} h ago`;
}

function label(status: LinkStatus): string {
  switch (status.state) {
    case "live":
      return "Live";
    case "connecting":
      return "Connecting…";
    case "reconnecting":
      return `Reconnecting (${status.attempt ?? "?"} of ${status.of ?? 5})`;
    case "offline":
      return "Offline";
    case "rejected":
      return "Not allowed: pair this device again";
  }
}

/** Live / Reconnecting (n of 5) / Offline, how fresh the data is, and Retry. */
export function StatusBar({ status, extra }: { status: LinkStatus; extra?: React.ReactNode }) {
  const now = useNow();
  return (
    <div className={`status status-${status.state}`} data-testid="link-status" data-state={status.state}>
      <span className="dot" />
      <strong>{label(status)}</strong>
      <span className="age">{age(status.newestEventAt, now)}</span>
      {status.state !== "live" && (
        <button className="retry" onClick={() => commands.retry()}>
          Retry now
        </button>
      )}
      <span className="spacer" />
      {extra}
    </div>
  );
}
