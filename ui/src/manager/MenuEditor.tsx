import { useId, useState } from "react";
import { commands, type MenuEntry } from "../bindings";
import { useT } from "../i18n";
import { amountText, parseAmount, useAction, type TabProps } from "./common";

/** The menu by category: name, price and stock edited in place, sold out toggled, items added. */
export function MenuEditor({ screen, onError }: TabProps) {
  const { t } = useT();
  const categories = [...new Set(screen.menu.map((m) => m.category))];
  return (
    <section className="menu-editor" aria-labelledby="menu-heading">
      <div className="tab-head">
        <h1 id="menu-heading">{t("tab.menu")}</h1>
      </div>
      {categories.map((c) => (
        <section key={c} className="menu-category" aria-label={c}>
          <h2>{c}</h2>
          <div className="menu-table" role="table">
            <div className="menu-row head" role="row">
              <span role="columnheader">{t("menu.name")}</span>
              <span role="columnheader">{t("menu.price")}</span>
              <span role="columnheader">{t("menu.stock")}</span>
              <span role="columnheader">{t("menu.soldOut")}</span>
              <span role="columnheader" />
            </div>
            {screen.menu
              .filter((m) => m.category === c)
              .map((m) => (
                <MenuRow key={`${m.id}:${m.name}:${m.price}:${m.stock}`} item={m} screen={screen} onError={onError} />
              ))}
          </div>
        </section>
      ))}
      <NewItem screen={screen} onError={onError} categories={categories} />
    </section>
  );
}

function MenuRow({ item, screen, onError }: TabProps & { item: MenuEntry }) {
  const { t, fmt } = useT();
  const { busy, run } = useAction(onError);
  const digits = fmt.currencyDigits(screen.settings);
  const [name, setName] = useState(item.name);
  const [price, setPrice] = useState(amountText(item.price, digits));
  const [stock, setStock] = useState(item.stock == null ? "" : String(item.stock));
  const parsedPrice = parseAmount(price, digits);
  const parsedStock = stock.trim() === "" ? null : /^\d+$/.test(stock.trim()) ? Number(stock.trim()) : NaN;
  const dirty = name.trim() !== item.name || parsedPrice !== item.price || parsedStock !== item.stock;
  const valid = name.trim() !== "" && parsedPrice !== null && !Number.isNaN(parsedStock);

  const save = () => {
    if (!dirty || !valid) return;
    run(() =>
      commands.updateMenuItem(item.id, {
        name: name.trim() !== item.name ? name.trim() : null,
        category: null,
        price: parsedPrice !== item.price ? parsedPrice : null,
        stock: parsedStock !== item.stock ? parsedStock : null,
        clearStock: parsedStock === null && item.stock !== null,
        isSoldOut: null,
      }),
    );
  };

  return (
    <form
      className={`menu-row ${item.isSoldOut ? "sold-out" : ""}`}
      role="row"
      data-testid={`menu-row-${item.id}`}
      onSubmit={(e) => {
        e.preventDefault();
        save();
      }}
    >
      <span role="cell">
        <input aria-label={t("menu.name")} data-testid="menu-name" value={name} maxLength={100} onChange={(e) => setName(e.target.value)} />
      </span>
      <span role="cell">
        <input
          aria-label={t("menu.price")}
          data-testid="menu-price"
          inputMode="decimal"
          value={price}
          aria-invalid={parsedPrice === null}
          onChange={(e) => setPrice(e.target.value)}
        />
        <span className="muted preview">{parsedPrice !== null ? fmt.money(parsedPrice, screen.settings) : ""}</span>
      </span>
      <span role="cell">
        <input
          aria-label={t("menu.stock")}
          data-testid="menu-stock"
          inputMode="numeric"
          placeholder={t("menu.noLimit")}
          value={stock}
          aria-invalid={Number.isNaN(parsedStock)}
          onChange={(e) => setStock(e.target.value)}
        />
      </span>
      <span role="cell">
        <label className="switch">
          <input
            type="checkbox"
            data-testid="menu-soldout"
            checked={item.isSoldOut}
            aria-label={item.isSoldOut ? t("menu.markAvailable", { name: item.name }) : t("menu.markSoldOut", { name: item.name })}
            onChange={(e) => run(() => commands.setSoldOut(item.id, e.target.checked))}
          />
          <span>{item.isSoldOut ? t("menu.soldOut") : t("menu.available")}</span>
        </label>
      </span>
      <span role="cell">
        <button type="submit" className="primary" data-testid="menu-save" disabled={!dirty || !valid || busy}>
          {t("common.save")}
        </button>
      </span>
    </form>
  );
}

function NewItem({ screen, onError, categories }: TabProps & { categories: string[] }) {
  const { t, fmt } = useT();
  const { busy, run } = useAction(onError);
  const [name, setName] = useState("");
  const [category, setCategory] = useState(categories[0] ?? "");
  const [price, setPrice] = useState("");
  const [stock, setStock] = useState("");
  const ids = useId();
  const digits = fmt.currencyDigits(screen.settings);
  const parsedPrice = parseAmount(price, digits);
  const parsedStock = stock.trim() === "" ? null : /^\d+$/.test(stock.trim()) ? Number(stock.trim()) : NaN;
  const valid = name.trim() !== "" && category.trim() !== "" && parsedPrice !== null && !Number.isNaN(parsedStock);

  return (
    <form
      className="new-item"
      aria-labelledby={`${ids}-title`}
      onSubmit={(e) => {
        e.preventDefault();
        if (!valid || parsedPrice === null) return;
        run(() => commands.addMenuItem({ name: name.trim(), category: category.trim(), price: parsedPrice, stock: parsedStock })).then(
          (added) => {
            if (!added) return;
            setName("");
            setPrice("");
            setStock("");
          },
        );
      }}
    >
      <h2 id={`${ids}-title`}>{t("menu.addTitle")}</h2>
      <div className="field">
        <label htmlFor={`${ids}-name`}>{t("menu.name")}</label>
        <input id={`${ids}-name`} data-testid="menu-add-name" value={name} maxLength={100} onChange={(e) => setName(e.target.value)} />
      </div>
      <div className="field">
        <label htmlFor={`${ids}-category`}>{t("menu.category")}</label>
        <input
          id={`${ids}-category`}
          data-testid="menu-add-category"
          list={`${ids}-categories`}
          value={category}
          maxLength={100}
          onChange={(e) => setCategory(e.target.value)}
        />
        <datalist id={`${ids}-categories`}>
          {categories.map((c) => (
            <option key={c} value={c} />
          ))}
        </datalist>
      </div>
      <div className="field">
        <label htmlFor={`${ids}-price`}>{t("menu.price")}</label>
        <input
          id={`${ids}-price`}
          data-testid="menu-add-price"
          inputMode="decimal"
          value={price}
          onChange={(e) => setPrice(e.target.value)}
        />
      </div>
      <div className="field">
        <label htmlFor={`${ids}-stock`}>{t("menu.stock")}</label>
        <input
          id={`${ids}-stock`}
          data-testid="menu-add-stock"
          inputMode="numeric"
          placeholder={t("menu.noLimit")}
          value={stock}
          onChange={(e) => setStock(e.target.value)}
        />
      </div>
      <button type="submit" className="primary" data-testid="menu-add" disabled={!valid || busy}>
        {t("menu.add")}
      </button>
    </form>
  );
}
