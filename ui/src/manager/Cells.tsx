import { Fragment, useCallback, useEffect, useId, useState } from "react";
import { commands, type CellEntry, type CellHistoryEntry } from "../bindings";
import { useT, type Key } from "../i18n";
import { parseAmount, useAction, type TabProps } from "./common";
import "./report.css";

/** Team cells: balances (live) and charging points. */
export function Cells({ screen, onError }: TabProps) {
  const { t } = useT();
  const { busy, run } = useAction(onError);
  const [name, setName] = useState("");
  const nameId = useId();
  return (
    <section className="cells-tab" aria-labelledby="cells-heading">
      <div className="tab-head">
        <h1 id="cells-heading">{t("tab.cells")}</h1>
      </div>
      {screen.cells.length === 0 && <p className="muted">{t("cells.empty")}</p>}
      <table className="cells-table">
        <thead>
          <tr>
            <th scope="col">{t("cells.name")}</th>
            <th scope="col">{t("cells.balance")}</th>
            <th scope="col">{t("cells.charge")}</th>
            <th scope="col">{t("cells.history")}</th>
          </tr>
        </thead>
        <tbody>
          {screen.cells.map((c) => (
            <CellRow key={c.id} cell={c} screen={screen} onError={onError} />
          ))}
        </tbody>
      </table>
      <form
        className="inline-form"
        onSubmit={(e) => {
          e.preventDefault();
          if (!name.trim()) return;
          run(() => commands.addCell(name.trim())).then((added) => added && setName(""));
        }}
      >
        <label htmlFor={nameId}>{t("cells.newName")}</label>
        <input id={nameId} data-testid="cell-add-name" value={name} maxLength={100} onChange={(e) => setName(e.target.value)} />
        <button type="submit" data-testid="cell-add" disabled={!name.trim() || busy}>
          {t("cells.add")}
        </button>
      </form>
    </section>
  );
}

function CellRow({ cell, screen, onError }: { cell: CellEntry; screen: TabProps["screen"]; onError: TabProps["onError"] }) {
  const { t, fmt } = useT();
  const { busy, run } = useAction(onError);
  const [amount, setAmount] = useState("");
  const [open, setOpen] = useState(false);
  const digits = fmt.currencyDigits(screen.settings);
  const parsed = parseAmount(amount, digits);
  const charge = () => {
    if (!parsed) return;
    run(() => commands.chargeCell(cell.id, parsed)).then((done) => done && setAmount(""));
  };
  return (
    <Fragment>
      <tr data-testid={`cell-row-${cell.id}`}>
        <th scope="row">{cell.name}</th>
        <td className="amount" data-testid={`cell-balance-${cell.id}`} aria-live="polite">
          {fmt.money(cell.balance ?? 0, screen.settings)}
        </td>
        <td>
          <form
            className="charge"
            onSubmit={(e) => {
              e.preventDefault();
              charge();
            }}
          >
            <input
              data-testid={`charge-amount-${cell.id}`}
              aria-label={t("cells.amount", { name: cell.name })}
              inputMode="decimal"
              value={amount}
              aria-invalid={amount !== "" && parsed === null}
              onChange={(e) => setAmount(e.target.value)}
            />
            <button type="submit" data-testid={`charge-${cell.id}`} disabled={!parsed || busy}>
              {t("cells.charge")}
            </button>
          </form>
        </td>
        <td>
          <button
            type="button"
            data-testid={`cell-history-${cell.id}`}
            aria-expanded={open}
            onClick={() => setOpen(!open)}
          >
            {open ? t("common.close") : t("cells.history")}
          </button>
        </td>
      </tr>
      {open && (
        <tr>
          <td colSpan={4}>
            <CellHistory cell={cell} screen={screen} onError={onError} />
          </td>
        </tr>
      )}
    </Fragment>
  );
}

/** A signed amount typed in the currency's major unit (`-4.50`), in its minor unit; null if not one or 0. */
function parseSigned(text: string, digits: number): number | null {
  const trimmed = text.trim();
  const negative = /^[-−]/.test(trimmed);
  const value = parseAmount(trimmed.replace(/^[-−+]/, ""), digits);
  if (value == null || value === 0) return null;
  return negative ? -value : value;
}

/** A cell's history, newest first, and a correction of its balance with a required reason. */
function CellHistory({ cell, screen, onError }: { cell: CellEntry; screen: TabProps["screen"]; onError: TabProps["onError"] }) {
  const { t, fmt, errorText } = useT();
  const { busy, run } = useAction(onError);
  const [entries, setEntries] = useState<CellHistoryEntry[] | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [amount, setAmount] = useState("");
  const [reason, setReason] = useState("");
  const amountId = useId();
  const reasonId = useId();
  const digits = fmt.currencyDigits(screen.settings);
  const parsed = parseSigned(amount, digits);
  const load = useCallback(() => {
    commands
      .cellHistory(cell.id)
      .then((e) => {
        setEntries(e);
        setProblem(null);
      })
      .catch((e) => setProblem(errorText(e)));
  }, [cell.id, errorText]);
  // Read again whenever the balance changes (a charge, an order, a correction).
  useEffect(load, [load, cell.balance]);
  const money = (n: number) => fmt.money(n, screen.settings);
  const reasonOk = reason.trim().length > 0 && reason.trim().length <= 200;
  return (
    <div className="cell-history" data-testid={`cell-history-panel-${cell.id}`}>
      <h2>{t("cells.historyOf", { name: cell.name })}</h2>
      {problem && (
        <p className="report-problem" role="alert">
          {problem}
        </p>
      )}
      {entries == null && !problem && <p className="muted">{t("app.loading")}</p>}
      {entries != null && entries.length === 0 && <p className="muted">{t("cells.noHistory")}</p>}
      {entries != null && entries.length > 0 && (
        <table data-testid={`cell-history-table-${cell.id}`}>
          <thead>
            <tr>
              <th scope="col">{t("cells.when")}</th>
              <th scope="col">{t("cells.type")}</th>
              <th scope="col">{t("cells.change")}</th>
              <th scope="col">{t("cells.balanceAfter")}</th>
              <th scope="col">{t("cells.reasonOrOrder")}</th>
            </tr>
          </thead>
          <tbody>
            {entries.map((e) => (
              <tr key={e.id} data-kind={e.kind}>
                <td>{fmt.dateTime(e.at)}</td>
                <td>{t(`cells.kind.${e.kind}` as Key)}</td>
                <td className="num">{(e.amount > 0 ? "+" : "") + money(e.amount)}</td>
                <td className="num">{money(e.balanceAfter)}</td>
                <td>
                  {[e.dailyNum != null ? `#${e.dailyNum}` : null, e.reason].filter(Boolean).join(" · ")}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <form
        className="inline-form"
        onSubmit={(e) => {
          e.preventDefault();
          if (parsed == null || !reasonOk) return;
          run(() => commands.correctCell(cell.id, parsed, reason.trim())).then((done) => {
            if (!done) return;
            setAmount("");
            setReason("");
            load();
          });
        }}
      >
        <h3>{t("cells.correct")}</h3>
        <label htmlFor={amountId}>{t("cells.correctAmount")}</label>
        <input
          id={amountId}
          data-testid={`correct-amount-${cell.id}`}
          inputMode="decimal"
          value={amount}
          aria-invalid={amount !== "" && parsed == null}
          onChange={(e) => setAmount(e.target.value)}
        />
        <label htmlFor={reasonId}>{t("cells.correctReason")}</label>
        <input
          id={reasonId}
          data-testid={`correct-reason-${cell.id}`}
          required
          maxLength={200}
          value={reason}
          onChange={(e) => setReason(e.target.value)}
        />
        <button type="submit" data-testid={`correct-${cell.id}`} disabled={parsed == null || !reasonOk || busy}>
          {t("cells.correct")}
        </button>
      </form>
    </div>
  );
}
