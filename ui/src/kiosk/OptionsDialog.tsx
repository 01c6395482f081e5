// The options of one item, asked for on a tap: a required group first, big
// targets, the price as it grows, and "Add" only once every group is right.
import { useMemo, useState } from "react";
import type { ChosenOptionInput, MenuEntry, OptionGroupEntry, Screen } from "../bindings";
import { Dialog } from "../components/Dialog";
import { useT } from "../i18n";
import { nameIn } from "./names";

/** How many times each choice is taken, by group then choice id. */
type Picks = Record<string, Record<string, number>>;

function taken(picks: Picks, group: OptionGroupEntry): number {
  return Object.values(picks[group.id] ?? {}).reduce((a, b) => a + b, 0);
}

function least(group: OptionGroupEntry): number {
  return group.required ? Math.max(1, group.min) : group.min;
}

export function OptionsDialog({
  item,
  settings,
  onAdd,
  onClose,
}: {
  item: MenuEntry;
  settings: Screen["settings"];
  onAdd: (options: ChosenOptionInput[], quantity: number) => void;
  onClose: () => void;
}) {
  const { t, fmt, lang } = useT();
  const [picks, setPicks] = useState<Picks>({});
  const [quantity, setQuantity] = useState(1);

  const unit = useMemo(() => {
    let price = item.price;
    for (const g of item.optionGroups) {
      for (const c of g.choices) price += (picks[g.id]?.[c.id] ?? 0) * c.priceDelta;
    }
    return price;
  }, [item, picks]);
  const missing = item.optionGroups.filter((g) => taken(picks, g) < least(g));

  const set = (group: OptionGroupEntry, choiceId: string, times: number) =>
    setPicks((p) => {
      // A group of one choice at a time: a tap swaps it.
      const own = group.max === 1 ? {} : { ...(p[group.id] ?? {}) };
      if (times > 0) own[choiceId] = times;
      else delete own[choiceId];
      return { ...p, [group.id]: own };
    });

  const add = () => {
    const options: ChosenOptionInput[] = [];
    for (const g of item.optionGroups) {
      for (const c of g.choices) {
        for (let i = 0; i < (picks[g.id]?.[c.id] ?? 0); i++) options.push({ groupId: g.id, choiceId: c.id });
      }
    }
    onAdd(options, quantity);
  };

  return (
    <Dialog title={nameIn(item, lang)} onClose={onClose} className="options-dialog" testId="options-dialog">
      {item.optionGroups.map((g) => {
        const count = taken(picks, g);
        const need = least(g);
        return (
          <fieldset key={g.id} className={`option-group ${count < need ? "needs" : ""}`} data-testid={`group-${g.id}`}>
            <legend>
              {nameIn(g, lang)}{" "}
              <span className="rule">
                {need > 0 ? t("options.required") : t("options.optional")}
                {g.max > 1 ? ` · ${t("options.upTo", { max: fmt.number(g.max) })}` : ""}
              </span>
            </legend>
            <div className="choices">
              {g.choices.map((c) => {
                const times = picks[g.id]?.[c.id] ?? 0;
                const room = g.max === 1 ? 1 : g.max - count + times;
                const label = (
                  <>
                    <span className="choice-name">{nameIn(c, lang)}</span>
                    {c.isSoldOut ? (
                      <span className="delta sold">{t("kiosk.soldOut")}</span>
                    ) : c.priceDelta !== 0 ? (
                      <span className="delta">
                        {c.priceDelta > 0 ? "+" : "−"}
                        {fmt.money(Math.abs(c.priceDelta), settings)}
                      </span>
                    ) : null}
                  </>
                );
                if (g.max > 1 && room > 1) {
                  // A choice that may be taken more than once gets a counter.
                  return (
                    <div key={c.id} className={`choice counter ${times ? "on" : ""}`} data-testid={`choice-${g.id}-${c.id}`}>
                      {label}
                      <button
                        aria-label={t("options.less", { name: nameIn(c, lang) })}
                        disabled={times === 0}
                        data-testid={`less-${g.id}-${c.id}`}
                        onClick={() => set(g, c.id, times - 1)}
                      >
                        −
                      </button>
                      <span className="times" aria-live="polite">
                        {fmt.number(times)}
                      </span>
                      <button
                        aria-label={t("options.more", { name: nameIn(c, lang) })}
                        disabled={c.isSoldOut || times >= room}
                        data-testid={`more-${g.id}-${c.id}`}
                        onClick={() => set(g, c.id, times + 1)}
                      >
                        +
                      </button>
                    </div>
                  );
                }
                return (
                  <button
                    key={c.id}
                    className={`choice ${times ? "on" : ""} choice-${c.id}`}
                    aria-pressed={times > 0}
                    disabled={c.isSoldOut}
                    data-testid={`choice-${g.id}-${c.id}`}
                    onClick={() => set(g, c.id, times ? 0 : 1)}
                  >
                    {label}
                  </button>
                );
              })}
            </div>
          </fieldset>
        );
      })}
      <div className="options-foot">
        <div className="qty-picker" role="group" aria-label={t("options.quantity")}>
          <button onClick={() => setQuantity((q) => Math.max(1, q - 1))} disabled={quantity <= 1} aria-label={t("options.fewer")}>
            −
          </button>
          <span className="times" data-testid="options-quantity">
            {fmt.number(quantity)}
          </span>
          <button onClick={() => setQuantity((q) => Math.min(20, q + 1))} aria-label={t("options.another")}>
            +
          </button>
        </div>
        <button className="link" onClick={onClose}>
          {t("common.cancel")}
        </button>
        <button className="primary big" data-testid="options-add" disabled={missing.length > 0} onClick={add}>
          {missing.length > 0
            ? t("options.choose", { group: nameIn(missing[0], lang) })
            : t("options.add", { amount: fmt.money(unit * quantity, settings) })}
        </button>
      </div>
    </Dialog>
  );
}
