import { useId, useState } from "react";
import { commands, type NoticeLevel } from "../bindings";
import { useNow } from "../core";
import { useT } from "../i18n";
import { useAction, type TabProps } from "./common";

const LEVELS: NoticeLevel[] = ["info", "warning", "error"];

/** The hub's notices (system:notification), newest first, and a form to send one. */
export function Notices({ screen, onError }: TabProps) {
  const { t, fmt } = useT();
  const now = useNow();
  const { busy, run } = useAction(onError);
  const [level, setLevel] = useState<NoticeLevel>("info");
  const [title, setTitle] = useState("");
  const [message, setMessage] = useState("");
  const ids = useId();
  const valid = title.trim() !== "" && message.trim() !== "";

  return (
    <section className="notices" aria-labelledby="notices-heading">
      <div className="tab-head">
        <h1 id="notices-heading">{t("tab.notices")}</h1>
      </div>
      <form
        className="notice-form"
        aria-labelledby={`${ids}-send`}
        onSubmit={(e) => {
          e.preventDefault();
          if (!valid) return;
          run(() => commands.sendNotice(level, title.trim(), message.trim())).then((r) => {
            if (r === undefined) return;
            setTitle("");
            setMessage("");
          });
        }}
      >
        <h2 id={`${ids}-send`}>{t("notice.send")}</h2>
        <div className="field">
          <label htmlFor={`${ids}-level`}>{t("notice.level")}</label>
          <select id={`${ids}-level`} data-testid="notice-level" value={level} onChange={(e) => setLevel(e.target.value as NoticeLevel)}>
            {LEVELS.map((l) => (
              <option key={l} value={l}>
                {t(`level.${l}`)}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor={`${ids}-title`}>{t("notice.title")}</label>
          <input id={`${ids}-title`} data-testid="notice-title" value={title} maxLength={200} onChange={(e) => setTitle(e.target.value)} />
        </div>
        <div className="field">
          <label htmlFor={`${ids}-message`}>{t("notice.message")}</label>
          <textarea
            id={`${ids}-message`}
            data-testid="notice-message"
            value={message}
            maxLength={2000}
            rows={3}
            onChange={(e) => setMessage(e.target.value)}
          />
        </div>
        <button type="submit" className="primary" data-testid="notice-send" disabled={!valid || busy}>
          {t("notice.sendButton")}
        </button>
      </form>
      {screen.notices.length === 0 && <p className="muted">{t("notice.empty")}</p>}
      <ul className="notice-feed" aria-live="polite">
        {screen.notices.map((n) => (
          <li key={n.id} className={`notice level-${n.level}`} data-testid="notice" data-level={n.level}>
            <span className="notice-level">{t(`level.${n.level}`)}</span>
            <strong>{n.title}</strong>
            <p>{n.message}</p>
            <time dateTime={n.timestamp} title={fmt.dateTime(n.timestamp)}>
              {fmt.ago(n.timestamp, now)}
            </time>
          </li>
        ))}
      </ul>
    </section>
  );
}
