// A manager's notices on a counter screen: the newest one this device has
// not dismissed, as a strip coloured by its level; dismissing is this
// device's own (kept in the window's local storage, per device id); the
// earlier ones stay reachable from the "Notices (n)" button.
import { useCallback, useState } from "react";
import type { NoticeEntry } from "../bindings";
import { useT, type Key } from "../i18n";
import "./alerts.css";

/** The most dismissed ids kept (the cache keeps 50 notices). */
const KEPT = 200;

function storageKey(deviceId: string): string {
  return `countertop.notices.dismissed.${deviceId}`;
}

function readDismissed(deviceId: string): string[] {
  try {
    const raw = window.localStorage.getItem(storageKey(deviceId));
    const parsed: unknown = raw ? JSON.parse(raw) : [];
    return Array.isArray(parsed) ? parsed.filter((id): id is string => typeof id === "string") : [];
  } catch {
    return [];
  }
}

export function NoticeStrip({
  notices,
  deviceId,
}: {
  /** Screen.notices (newest first). */
  notices: NoticeEntry[];
  /** Screen.deviceId: whose dismissals these are. */
  deviceId: string;
}) {
  const { t, fmt } = useT();
  const [dismissed, setDismissed] = useState<string[]>(() => readDismissed(deviceId));
  const [open, setOpen] = useState(false);

  const dismiss = useCallback(
    (id: string) => {
      const next = [id, ...dismissed.filter((d) => d !== id)].slice(0, KEPT);
      setDismissed(next);
      try {
        window.localStorage.setItem(storageKey(deviceId), JSON.stringify(next));
      } catch {
        // Storage full or off: dismissed until the window reloads.
      }
    },
    [dismissed, deviceId],
  );

  if (notices.length === 0) return null;
  const newest = notices.find((n) => !dismissed.includes(n.id));
  return (
    <div className="notice-strip-box" data-testid="notice-strip-box">
      {newest && (
        <div
          className={`notice-strip level-${newest.level}`}
          role={newest.level === "info" ? "status" : "alert"}
          data-testid="notice-strip"
          data-notice={newest.id}
          data-level={newest.level}
        >
          <span className="notice-level">{t(`noticeStrip.${newest.level}` as Key)}</span>
          <strong className="notice-title">{newest.title}</strong>
          <span className="notice-message">{newest.message}</span>
          <time className="notice-time" dateTime={newest.timestamp}>
            {fmt.time(newest.timestamp)}
          </time>
          <button type="button" data-testid="notice-dismiss" onClick={() => dismiss(newest.id)}>
            {t("noticeStrip.dismiss")}
          </button>
        </div>
      )}
      <button
        type="button"
        className="notice-more"
        data-testid="notice-more"
        aria-expanded={open}
        onClick={() => setOpen((o) => !o)}
      >
        {t("noticeStrip.all", { count: fmt.number(notices.length) })}
      </button>
      {open && (
        <ol className="notice-list" data-testid="notice-list">
          {notices.map((n) => (
            <li key={n.id} className={`level-${n.level}${dismissed.includes(n.id) ? " seen" : ""}`}>
              <span className="notice-level">{t(`noticeStrip.${n.level}` as Key)}</span>
              <strong>{n.title}</strong> <span>{n.message}</span>{" "}
              <time dateTime={n.timestamp}>{fmt.dateTime(n.timestamp)}</time>
            </li>
          ))}
        </ol>
      )}
    </div>
  );
}
