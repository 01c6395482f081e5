import { useId, useState } from "react";
import { commands, type CellEntry } from "../bindings";
import { useT } from "../i18n";
import { parseAmount, useAction, type TabProps } from "./common";

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
  const digits = fmt.currencyDigits(screen.settings);
  const parsed = parseAmount(amount, digits);
  const charge = () => {
    if (!parsed) return;
    run(() => commands.chargeCell(cell.id, parsed)).then((done) => done && setAmount(""));
  };
  return (
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
    </tr>
  );
}
