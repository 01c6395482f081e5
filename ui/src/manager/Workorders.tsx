import { useId, useState } from "react";
import { commands, type DeviceEntry, type Screen, type WorkorderEntry } from "../bindings";
import { useNow } from "../core";
import { useT, type Key } from "../i18n";
import { parseAmount, useAction, useDevices, type TabProps } from "./common";

/** The hub's columns, in order; a work order's status sets the first four. */
const COLUMNS: { name: string; key: Key }[] = [
  { name: "Open", key: "wo.OPEN" },
  { name: "Awaiting signature", key: "wo.AWAITING_SIGNATURE" },
  { name: "Approved", key: "wo.APPROVED" },
  { name: "In progress", key: "wo.IN_PROGRESS" },
  { name: "Done", key: "wo.DONE" },
];

const DRAG_TYPE = "text/plain";

export function Workorders({ screen, onError }: TabProps) {
  const { t } = useT();
  const { devices, load: loadDevices } = useDevices(onError);
  const { run } = useAction(onError);
  const [creating, setCreating] = useState(false);
  const [dropTarget, setDropTarget] = useState<string | null>(null);

  const known = COLUMNS.map((c) => c.name);
  const extra = [...new Set(screen.workorders.map((w) => w.column))].filter((c) => !known.includes(c));
  const columns = [...known, ...extra];
  const columnLabel = (name: string) => {
    const k = COLUMNS.find((c) => c.name === name)?.key;
    return k ? t(k) : name;
  };
  const move = (id: string, column: string) => run(() => commands.moveWorkorder(id, column));

  return (
    <section className="workorders" aria-labelledby="wo-heading">
      <div className="tab-head">
        <h1 id="wo-heading">{t("tab.workorders")}</h1>
        <button className="primary" data-testid="wo-new" aria-expanded={creating} onClick={() => setCreating((c) => !c)}>
          {t("wo.new")}
        </button>
      </div>
      {creating && <NewWorkorder screen={screen} onError={onError} onDone={() => setCreating(false)} />}
      <div className="wo-columns">
        {columns.map((column, index) => {
          const here = screen.workorders.filter((w) => w.column === column);
          return (
            <section
              key={column}
              className={`wo-column ${dropTarget === column ? "drop" : ""}`}
              data-testid={`wo-column-${column}`}
              data-column={column}
              aria-label={columnLabel(column)}
              onDragOver={(e) => {
                if (!e.dataTransfer.types.includes(DRAG_TYPE)) return;
                e.preventDefault();
                e.dataTransfer.dropEffect = "move";
                setDropTarget(column);
              }}
              onDragLeave={() => setDropTarget((c) => (c === column ? null : c))}
              onDrop={(e) => {
                e.preventDefault();
                setDropTarget(null);
                const id = e.dataTransfer.getData(DRAG_TYPE);
                const wo = screen.workorders.find((w) => w.id === id);
                if (wo && wo.column !== column) move(id, column);
              }}
            >
              <h2>
                {columnLabel(column)} <span className="count">{here.length}</span>
              </h2>
              {here.length === 0 && <p className="muted">{t("wo.empty")}</p>}
              {here.map((w) => (
                <WorkorderCard
                  key={w.id}
                  workorder={w}
                  screen={screen}
                  devices={devices}
                  left={index > 0 ? columns[index - 1] : null}
                  right={index < columns.length - 1 ? columns[index + 1] : null}
                  columnLabel={columnLabel}
                  onMove={(c) => move(w.id, c)}
                  onError={onError}
                  onPick={loadDevices}
                />
              ))}
            </section>
          );
        })}
      </div>
    </section>
  );
}

function WorkorderCard({
  workorder: w,
  screen,
  devices,
  left,
  right,
  columnLabel,
  onMove,
  onError,
  onPick,
}: {
  workorder: WorkorderEntry;
  screen: Screen;
  devices: DeviceEntry[] | null;
  left: string | null;
  right: string | null;
  columnLabel: (c: string) => string;
  onMove: (column: string) => void;
  onError: (e: unknown) => void;
  /** Reads the devices again, so a display paired a moment ago is offered. */
  onPick: () => void;
}) {
  const { t, fmt } = useT();
  const now = useNow();
  const { busy, run } = useAction(onError);
  const displays = (devices ?? []).filter((d) => d.role === "display");
  const [target, setTarget] = useState("");
  const selectId = useId();
  const open = w.sessions.find((s) => !s.stoppedAt);
  const worked = w.sessions.reduce(
    (sum, s) => sum + ((s.stoppedAt ? Date.parse(s.stoppedAt) : now) - Date.parse(s.startedAt)) / 1000,
    0,
  );
  const presentedName = w.presentedTo ? devices?.find((d) => d.id === w.presentedTo)?.name ?? w.presentedTo : null;

  return (
    <article
      className={`wo-card wo-${w.status}`}
      data-testid="wo-card"
      data-id={w.id}
      data-title={w.title}
      data-status={w.status}
      draggable
      onDragStart={(e) => {
        e.dataTransfer.setData(DRAG_TYPE, w.id);
        e.dataTransfer.effectAllowed = "move";
      }}
    >
      <h3>{w.title}</h3>
      <p className="customer">{w.customerName}</p>
      <p className="wo-meta">
        <span className={`wo-status status-${w.status}`}>{t(`wo.${w.status}`)}</span>
        <strong className="amount">{fmt.money(w.totalAmount, screen.settings)}</strong>
      </p>
      {presentedName && w.status === "AWAITING_SIGNATURE" && (
        <p className="muted">{t("wo.presentedTo", { name: presentedName })}</p>
      )}
      {w.signature && (
        <figure className="wo-signature">
          <img
            data-testid="wo-signature"
            src={"data:image/svg+xml;utf8," + encodeURIComponent(w.signature.signatureSvg)}
            alt={t("wo.signatureAlt", { name: w.signature.signerName })}
          />
          <figcaption>{t("wo.signedBy", { name: w.signature.signerName, time: fmt.dateTime(w.signature.signedAt) })}</figcaption>
        </figure>
      )}
      {(open || worked > 0) && (
        <p className="muted">
          {open ? t("wo.workingSince", { time: fmt.time(open.startedAt) }) + " · " : ""}
          {t("wo.worked", { duration: fmt.duration(worked) })}
        </p>
      )}
      <div className="wo-present">
        <label htmlFor={selectId}>{t("wo.presentTo")}</label>
        {displays.length === 0 && devices ? (
          <span className="muted">{t("wo.noDisplays")}</span>
        ) : (
          <>
            <select
              id={selectId}
              data-testid="wo-present-select"
              value={target}
              onFocus={onPick}
              onChange={(e) => setTarget(e.target.value)}
            >
              <option value="">{t("wo.chooseDisplay")}</option>
              {displays.map((d) => (
                <option key={d.id} value={d.id}>
                  {d.name}
                </option>
              ))}
            </select>
            <button
              data-testid="wo-present-go"
              disabled={!target || busy}
              onClick={() => run(() => commands.presentWorkorder(w.id, target))}
            >
              {t("wo.present")}
            </button>
          </>
        )}
      </div>
      <div className="wo-actions">
        {open ? (
          <>
            <button data-testid="wo-stop" disabled={busy} onClick={() => run(() => commands.stopWorkSession(w.id, open.id, false))}>
              {t("wo.stop")}
            </button>
            <button
              data-testid="wo-stop-done"
              disabled={busy}
              onClick={() => run(() => commands.stopWorkSession(w.id, open.id, true))}
            >
              {t("wo.stopDone")}
            </button>
          </>
        ) : (
          <button data-testid="wo-start" disabled={busy || w.status === "DONE"} onClick={() => run(() => commands.startWorkSession(w.id))}>
            {t("wo.start")}
          </button>
        )}
      </div>
      <div className="wo-move">
        {left && (
          <button className="move left" aria-label={t("wo.moveLeft", { column: columnLabel(left) })} title={columnLabel(left)} onClick={() => onMove(left)}>
            ← <span aria-hidden="true">{columnLabel(left)}</span>
          </button>
        )}
        {right && (
          <button className="move right" aria-label={t("wo.moveRight", { column: columnLabel(right) })} title={columnLabel(right)} onClick={() => onMove(right)}>
            <span aria-hidden="true">{columnLabel(right)}</span> →
          </button>
        )}
      </div>
    </article>
  );
}

type Line = { description: string; amount: string };

function NewWorkorder({ screen, onError, onDone }: TabProps & { onDone: () => void }) {
  const { t, fmt } = useT();
  const { busy, run } = useAction(onError);
  const [title, setTitle] = useState("");
  const [customer, setCustomer] = useState("");
  const [lines, setLines] = useState<Line[]>([{ description: "", amount: "" }]);
  const ids = useId();
  const digits = fmt.currencyDigits(screen.settings);
  const parsed = lines.map((l) => ({ description: l.description.trim(), amount: parseAmount(l.amount, digits) }));
  const valid =
    title.trim() !== "" &&
    customer.trim() !== "" &&
    parsed.length > 0 &&
    parsed.every((l) => l.description !== "" && l.amount !== null);
  const total = parsed.reduce((sum, l) => sum + (l.amount ?? 0), 0);
  const setLine = (i: number, patch: Partial<Line>) => setLines((all) => all.map((l, j) => (j === i ? { ...l, ...patch } : l)));

  return (
    <form
      className="wo-form"
      aria-label={t("wo.new")}
      onSubmit={(e) => {
        e.preventDefault();
        if (!valid) return;
        run(() =>
          commands.createWorkorder({
            title: title.trim(),
            customerName: customer.trim(),
            lines: parsed.map((l) => ({ description: l.description, amount: l.amount ?? 0 })),
          }),
        ).then((created) => {
          if (created) onDone();
        });
      }}
    >
      <div className="field">
        <label htmlFor={`${ids}-title`}>{t("wo.formTitle")}</label>
        <input id={`${ids}-title`} data-testid="wo-form-title" value={title} maxLength={200} onChange={(e) => setTitle(e.target.value)} />
      </div>
      <div className="field">
        <label htmlFor={`${ids}-customer`}>{t("wo.formCustomer")}</label>
        <input
          id={`${ids}-customer`}
          data-testid="wo-form-customer"
          value={customer}
          maxLength={200}
          onChange={(e) => setCustomer(e.target.value)}
        />
      </div>
      <fieldset>
        <legend>{t("wo.lines")}</legend>
        {lines.map((l, i) => (
          <div key={i} className="wo-line">
            <input
              data-testid={`wo-form-line-desc-${i}`}
              aria-label={t("wo.lineDesc", { n: i + 1 })}
              placeholder={t("wo.descPlaceholder")}
              value={l.description}
              maxLength={200}
              onChange={(e) => setLine(i, { description: e.target.value })}
            />
            <input
              data-testid={`wo-form-line-amount-${i}`}
              aria-label={t("wo.lineAmount", { n: i + 1 })}
              placeholder={t("wo.amountPlaceholder")}
              inputMode="decimal"
              value={l.amount}
              aria-invalid={l.amount !== "" && parseAmount(l.amount, digits) === null}
              onChange={(e) => setLine(i, { amount: e.target.value })}
            />
            <button
              type="button"
              aria-label={t("wo.removeLine", { n: i + 1 })}
              disabled={lines.length === 1}
              onClick={() => setLines((all) => all.filter((_, j) => j !== i))}
            >
              ✕
            </button>
          </div>
        ))}
        <button type="button" data-testid="wo-form-add-line" onClick={() => setLines((all) => [...all, { description: "", amount: "" }])}>
          {t("wo.addLine")}
        </button>
      </fieldset>
      <p>
        {t("common.total")}: <strong>{fmt.money(total, screen.settings)}</strong>
      </p>
      <div className="form-actions">
        <button type="button" className="link" onClick={onDone}>
          {t("common.cancel")}
        </button>
        <button type="submit" className="primary" data-testid="wo-form-save" disabled={!valid || busy}>
          {t("wo.create")}
        </button>
      </div>
    </form>
  );
}
