import { useCallback, useId, useMemo, useRef, useState } from "react";
import { commands, type MenuEntry, type OptionGroupEntry } from "../bindings";
import { Dialog } from "../components/Dialog";
import { LANGUAGES, useT } from "../i18n";
import { amountText, parseAmount, useAction, type TabProps } from "./common";
import "./menu-editor.css";

/** The hub's own limit of a photo upload; the app checks it too. */
const MAX_PHOTO_BYTES = 8 * 1024 * 1024;
const PHOTO_TYPES = ["image/jpeg", "image/png", "image/webp"];
/** The hub's limits of option groups (crates/hub/src/menu.rs). */
const MAX_GROUPS = 8;
const MAX_CHOICES = 12;
const MAX_PER_GROUP = 10;

/** The menu by category: name, price and stock edited in place, sold out
 * toggled, items moved, deleted and added; per item its option groups,
 * category, station, names in each language and photo; and one tap to mark
 * a choice (ICE) sold out on every item that offers it. */
export function MenuEditor({ screen, onError }: TabProps) {
  const { t } = useT();
  const [open, setOpen] = useState<string | null>(null);
  const categories = [...new Set(screen.menu.map((m) => m.category))];
  const stations = [...new Set(screen.menu.map((m) => m.station).filter(Boolean))];
  const ids = useId();
  return (
    <section className="menu-editor" aria-labelledby="menu-heading">
      <div className="tab-head">
        <h1 id="menu-heading">{t("tab.menu")}</h1>
      </div>
      <ChoicesSoldOut menu={screen.menu} />
      <datalist id={`${ids}-categories`}>
        {categories.map((c) => (
          <option key={c} value={c} />
        ))}
      </datalist>
      <datalist id={`${ids}-stations`}>
        {stations.map((s) => (
          <option key={s} value={s} />
        ))}
      </datalist>
      {categories.map((c) => {
        const here = screen.menu.filter((m) => m.category === c);
        return (
          <section key={c} className="menu-category" aria-label={c}>
            <h2>{c}</h2>
            <div className="menu-table" role="table">
              <div className="menu-row head" role="row">
                <span role="columnheader" className="visually-hidden">
                  {t("menuEditor.photo")}
                </span>
                <span role="columnheader">{t("menu.name")}</span>
                <span role="columnheader">{t("menu.price")}</span>
                <span role="columnheader">{t("menu.stock")}</span>
                <span role="columnheader">{t("menu.soldOut")}</span>
                <span role="columnheader" />
                <span role="columnheader" />
              </div>
              {here.map((m, i) => (
                <ItemRows
                  // A changed item starts its row afresh from what the hub now says.
                  key={`${m.id}:${m.name}:${m.price}:${m.stock}`}
                  item={m}
                  screen={screen}
                  onError={onError}
                  // The hub moves an item to a place in the whole menu, which
                  // it lists by position: a neighbour's index is that place.
                  up={i > 0 ? screen.menu.indexOf(here[i - 1]) : null}
                  down={i < here.length - 1 ? screen.menu.indexOf(here[i + 1]) : null}
                  open={open === m.id}
                  onToggle={() => setOpen((o) => (o === m.id ? null : m.id))}
                  lists={ids}
                />
              ))}
            </div>
          </section>
        );
      })}
      <NewItem screen={screen} onError={onError} categories={categories} />
    </section>
  );
}

/** A section's own action: busy while it runs, and its error in words,
 * shown next to what was saved rather than in the manager's banner. */
function useSectionAction() {
  const { errorText } = useT();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const run = useCallback(
    async <T,>(action: () => Promise<T>): Promise<T | undefined> => {
      setBusy(true);
      setError(null);
      try {
        return await action();
      } catch (e) {
        setError(errorText(e));
        return undefined;
      } finally {
        setBusy(false);
      }
    },
    [errorText],
  );
  return { busy, error, setError, run };
}

function FieldError({ error, testId }: { error: string | null; testId: string }) {
  if (!error) return null;
  return (
    <p className="error field-error" role="alert" data-testid={testId}>
      {error}
    </p>
  );
}

/** Each choice of any item's option groups, once: ICE of Temperature, on
 * nine items. A tap marks it sold out on every one of them (or back). */
function ChoicesSoldOut({ menu }: { menu: MenuEntry[] }) {
  const { t, lang } = useT();
  const { busy, error, run } = useSectionAction();
  const choices = useMemo(() => {
    const found = new Map<
      string,
      { groupId: string; choiceId: string; name: string; group: string; items: number; soldOut: number }
    >();
    for (const m of menu) {
      for (const g of m.optionGroups) {
        for (const c of g.choices) {
          const key = `${g.id}/${c.id}`;
          const entry = found.get(key) ?? {
            groupId: g.id,
            choiceId: c.id,
            name: c.names[lang] || c.name,
            group: g.names[lang] || g.name,
            items: 0,
            soldOut: 0,
          };
          entry.items += 1;
          if (c.isSoldOut) entry.soldOut += 1;
          found.set(key, entry);
        }
      }
    }
    return [...found.values()];
  }, [menu, lang]);
  if (choices.length === 0) return null;
  return (
    <section className="choices-soldout" aria-labelledby="choices-soldout-heading">
      <h2 id="choices-soldout-heading">{t("menuEditor.choicesSoldOut")}</h2>
      <div className="choice-toggles">
        {choices.map((c) => {
          const all = c.soldOut === c.items;
          return (
            <button
              key={`${c.groupId}/${c.choiceId}`}
              className={`choice-toggle ${all ? "sold-out" : c.soldOut > 0 ? "partly" : ""}`}
              data-testid={`choice-soldout-${c.groupId}-${c.choiceId}`}
              aria-pressed={all}
              aria-label={all ? t("menuEditor.allChoiceAvailable", { name: c.name }) : t("menuEditor.allChoiceSoldOut", { name: c.name })}
              disabled={busy}
              onClick={() => run(() => commands.setChoiceSoldOut(null, c.groupId, c.choiceId, !all))}
            >
              <strong>{c.name}</strong>
              <span className="muted">{t("menuEditor.choiceWhere", { group: c.group, count: c.items })}</span>
              <span className="state">{all ? t("menu.soldOut") : t("menu.available")}</span>
            </button>
          );
        })}
      </div>
      <FieldError error={error} testId="choice-soldout-error" />
    </section>
  );
}

/** One item: its row (name, price, stock, sold out, move, edit, delete) and,
 * when open, its details. */
function ItemRows({
  item,
  screen,
  onError,
  up,
  down,
  open,
  onToggle,
  lists,
}: TabProps & {
  item: MenuEntry;
  up: number | null;
  down: number | null;
  open: boolean;
  onToggle: () => void;
  lists: string;
}) {
  return (
    <>
      <MenuRow item={item} screen={screen} onError={onError} up={up} down={down} open={open} onToggle={onToggle} />
      {open && <ItemDetails item={item} screen={screen} onError={onError} lists={lists} />}
    </>
  );
}

function MenuRow({
  item,
  screen,
  onError,
  up,
  down,
  open,
  onToggle,
}: TabProps & { item: MenuEntry; up: number | null; down: number | null; open: boolean; onToggle: () => void }) {
  const { t, fmt } = useT();
  const { busy, error, run } = useSectionAction();
  const soldOut = useAction(onError);
  const [deleting, setDeleting] = useState(false);
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
        ...NO_CHANGE,
        name: name.trim() !== item.name ? name.trim() : null,
        price: parsedPrice !== item.price ? parsedPrice : null,
        stock: parsedStock !== item.stock ? parsedStock : null,
        clearStock: parsedStock === null && item.stock !== null,
      }),
    );
  };
  const move = (position: number | null) => {
    if (position === null) return;
    run(() => commands.updateMenuItem(item.id, { ...NO_CHANGE, position }));
  };

  return (
    <>
      <form
        className={`menu-row ${item.isSoldOut ? "sold-out" : ""} ${open ? "open" : ""}`}
        role="row"
        data-testid={`menu-row-${item.id}`}
        onSubmit={(e) => {
          e.preventDefault();
          save();
        }}
      >
        <span role="cell">
          <Thumb item={item} />
        </span>
        <span role="cell">
          <input aria-label={t("menu.name")} data-testid="menu-name" value={name} maxLength={80} onChange={(e) => setName(e.target.value)} />
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
              onChange={(e) => soldOut.run(() => commands.setSoldOut(item.id, e.target.checked))}
            />
            <span>{item.isSoldOut ? t("menu.soldOut") : t("menu.available")}</span>
          </label>
        </span>
        <span role="cell">
          <button type="submit" className="primary" data-testid="menu-save" disabled={!dirty || !valid || busy}>
            {t("common.save")}
          </button>
        </span>
        <span role="cell" className="row-actions">
          <button
            type="button"
            className="icon"
            data-testid="menu-up"
            aria-label={t("menuEditor.moveUp", { name: item.name })}
            title={t("menuEditor.moveUp", { name: item.name })}
            disabled={up === null || busy}
            onClick={() => move(up)}
          >
            ↑
          </button>
          <button
            type="button"
            className="icon"
            data-testid="menu-down"
            aria-label={t("menuEditor.moveDown", { name: item.name })}
            title={t("menuEditor.moveDown", { name: item.name })}
            disabled={down === null || busy}
            onClick={() => move(down)}
          >
            ↓
          </button>
          <button
            type="button"
            data-testid="menu-edit"
            aria-expanded={open}
            aria-label={t("menuEditor.editLabel", { name: item.name })}
            onClick={onToggle}
          >
            {open ? t("common.close") : t("menuEditor.edit")}
          </button>
          <button
            type="button"
            className="danger-text"
            data-testid="menu-delete"
            aria-label={t("menuEditor.deleteLabel", { name: item.name })}
            onClick={() => setDeleting(true)}
          >
            {t("menuEditor.delete")}
          </button>
        </span>
      </form>
      <FieldError error={error} testId={`menu-row-error-${item.id}`} />
      {deleting && (
        <DeleteDialog
          item={item}
          onClose={() => setDeleting(false)}
          onDelete={() => {
            setDeleting(false);
            run(() => commands.deleteMenuItem(item.id));
          }}
        />
      )}
    </>
  );
}

/** What a patch leaves as it is. */
const NO_CHANGE = {
  name: null,
  category: null,
  price: null,
  stock: null,
  clearStock: false,
  isSoldOut: null,
  optionGroups: null,
  station: null,
  names: null,
  position: null,
};

function Thumb({ item, large }: { item: MenuEntry; large?: boolean }) {
  const { t } = useT();
  const [broken, setBroken] = useState<string | null>(null);
  const url = item.photo?.thumbUrl;
  if (url && broken !== url) {
    return (
      <img
        className={`menu-thumb ${large ? "large" : ""}`}
        src={url}
        alt={large ? item.name : ""}
        data-testid="menu-thumb"
        onError={() => setBroken(url)}
      />
    );
  }
  return (
    <span className={`menu-thumb placeholder ${large ? "large" : ""}`} aria-label={large ? t("menuEditor.noPhoto") : undefined}>
      {item.name.trim().charAt(0).toUpperCase()}
    </span>
  );
}

function DeleteDialog({ item, onClose, onDelete }: { item: MenuEntry; onClose: () => void; onDelete: () => void }) {
  const { t } = useT();
  return (
    <Dialog title={t("menuEditor.deleteTitle", { name: item.name })} onClose={onClose} testId="menu-delete-dialog">
      <p>{t("menuEditor.deleteBody", { name: item.name })}</p>
      <div className="dialog-actions">
        <button className="primary" data-autofocus onClick={onClose}>
          {t("menuEditor.keep")}
        </button>
        <button className="danger" data-testid="menu-delete-confirm" onClick={onDelete}>
          {t("menuEditor.deleteConfirm")}
        </button>
      </div>
    </Dialog>
  );
}

/** An item's details: where it is made and its names, its photo, its options. */
function ItemDetails({ item, screen, lists }: TabProps & { item: MenuEntry; lists: string }) {
  return (
    <div className="menu-details" data-testid={`menu-details-${item.id}`}>
      <div className="details-side">
        <PhotoField item={item} />
        <PlaceAndNames key={JSON.stringify([item.category, item.station, item.names])} item={item} lists={lists} />
      </div>
      <OptionsEditor item={item} screen={screen} />
    </div>
  );
}

function PlaceAndNames({ item, lists }: { item: MenuEntry; lists: string }) {
  const { t } = useT();
  const ids = useId();
  const { busy, error, run } = useSectionAction();
  const [category, setCategory] = useState(item.category);
  const [station, setStation] = useState(item.station);
  const [names, setNames] = useState<Record<string, string>>(() =>
    Object.fromEntries(LANGUAGES.map((l) => [l.code, item.names[l.code] ?? ""])),
  );
  const cleanNames = () => {
    // Names in other languages than these four are kept as they are.
    const kept: Record<string, string> = {};
    for (const [lang, name] of Object.entries(item.names)) if (name && !(lang in names)) kept[lang] = name;
    for (const [lang, name] of Object.entries(names)) if (name.trim()) kept[lang] = name.trim();
    return kept;
  };
  const sameNames = JSON.stringify(cleanNames()) === JSON.stringify(Object.fromEntries(Object.entries(item.names).filter(([, n]) => n)));
  const dirty = category.trim() !== item.category || station.trim().toLowerCase() !== item.station || !sameNames;
  const valid = category.trim() !== "" && station.trim() !== "";
  return (
    <form
      className="place-names"
      aria-labelledby={`${ids}-title`}
      onSubmit={(e) => {
        e.preventDefault();
        if (!dirty || !valid) return;
        run(() =>
          commands.updateMenuItem(item.id, {
            ...NO_CHANGE,
            category: category.trim() !== item.category ? category.trim() : null,
            station: station.trim().toLowerCase() !== item.station ? station.trim() : null,
            names: sameNames ? null : cleanNames(),
          }),
        );
      }}
    >
      <h3 id={`${ids}-title`}>{t("menuEditor.details")}</h3>
      <div className="field">
        <label htmlFor={`${ids}-category`}>{t("menu.category")}</label>
        <input
          id={`${ids}-category`}
          data-testid="menu-category"
          list={`${lists}-categories`}
          value={category}
          maxLength={100}
          onChange={(e) => setCategory(e.target.value)}
        />
      </div>
      <div className="field">
        <label htmlFor={`${ids}-station`}>{t("menuEditor.station")}</label>
        <input
          id={`${ids}-station`}
          data-testid="menu-station"
          list={`${lists}-stations`}
          value={station}
          maxLength={20}
          placeholder={t("menuEditor.stationHint")}
          onChange={(e) => setStation(e.target.value)}
        />
      </div>
      {LANGUAGES.map((l) => (
        <div className="field" key={l.code}>
          <label htmlFor={`${ids}-name-${l.code}`}>{t("menuEditor.nameIn", { language: l.name })}</label>
          <input
            id={`${ids}-name-${l.code}`}
            data-testid={`menu-name-${l.code}`}
            lang={l.code}
            value={names[l.code]}
            maxLength={80}
            placeholder={item.name}
            onChange={(e) => setNames((n) => ({ ...n, [l.code]: e.target.value }))}
          />
        </div>
      ))}
      <button type="submit" className="primary" data-testid="menu-details-save" disabled={!dirty || !valid || busy}>
        {t("menuEditor.saveDetails")}
      </button>
      <FieldError error={error} testId="menu-details-error" />
    </form>
  );
}

/** Reads a picture the manager chose as base64, reporting how far it got. */
function readBase64(file: File, onProgress: (fraction: number) => void): Promise<string> {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onprogress = (e) => {
      if (e.lengthComputable && e.total > 0) onProgress(e.loaded / e.total);
    };
    reader.onerror = () => reject(reader.error);
    reader.onload = () => {
      const url = String(reader.result ?? "");
      const comma = url.indexOf(",");
      if (comma < 0) reject(new Error("unreadable"));
      else resolve(url.slice(comma + 1));
    };
    reader.readAsDataURL(file);
  });
}

function PhotoField({ item }: { item: MenuEntry }) {
  const { t, fmt } = useT();
  const ids = useId();
  const input = useRef<HTMLInputElement>(null);
  const { busy, error, setError, run } = useSectionAction();
  const [progress, setProgress] = useState<number | null>(null);

  const upload = async (file: File) => {
    if (file.size > MAX_PHOTO_BYTES) {
      setError(t("menuEditor.photoTooLarge", { size: fmt.number(Math.round((file.size / (1024 * 1024)) * 10) / 10) }));
      return;
    }
    if (file.type && !PHOTO_TYPES.includes(file.type)) {
      setError(t("menuEditor.photoType"));
      return;
    }
    setProgress(0);
    let picture: string;
    try {
      picture = await readBase64(file, setProgress);
    } catch {
      setProgress(null);
      setError(t("menuEditor.photoUnreadable"));
      return;
    }
    // Reading is done; what is left is the hub's work, of unknown length.
    setProgress(null);
    await run(() => commands.setMenuPhoto(item.id, picture));
  };

  const working = busy || progress !== null;
  return (
    <div className="photo-field" role="group" aria-labelledby={`${ids}-title`} aria-busy={working}>
      <h3 id={`${ids}-title`}>{t("menuEditor.photo")}</h3>
      <Thumb item={item} large />
      {working ? (
        <div className="uploading" data-testid="menu-photo-busy" role="status">
          <progress value={progress ?? undefined} max={1} />
          <span>{t("menuEditor.uploading")}</span>
        </div>
      ) : (
        <div className="photo-actions">
          <label className="file-button">
            <input
              ref={input}
              type="file"
              accept={PHOTO_TYPES.join(",")}
              data-testid="menu-photo-file"
              onChange={(e) => {
                const file = e.target.files?.[0];
                // The same file chosen again after an error still fires a change.
                e.target.value = "";
                if (file) void upload(file);
              }}
            />
            <span>{t("menuEditor.choosePhoto")}</span>
          </label>
          {item.photo && (
            <button type="button" data-testid="menu-photo-remove" onClick={() => run(() => commands.removeMenuPhoto(item.id))}>
              {t("menuEditor.removePhoto")}
            </button>
          )}
          <span className="muted hint">{t("menuEditor.photoHint")}</span>
        </div>
      )}
      <FieldError error={error} testId="menu-photo-error" />
    </div>
  );
}

/** A choice as the editor holds it: the price as typed. */
type ChoiceDraft = { key: number; id: string; name: string; names: Record<string, string>; price: string; isSoldOut: boolean };
type GroupDraft = {
  key: number;
  id: string;
  name: string;
  names: Record<string, string>;
  required: boolean;
  min: string;
  max: string;
  choices: ChoiceDraft[];
};

let nextKey = 1;

function namesOf(names: Partial<{ [key in string]: string }>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [lang, name] of Object.entries(names)) if (name) out[lang] = name;
  return out;
}

function toDrafts(groups: OptionGroupEntry[], digits: number): GroupDraft[] {
  return groups.map((g) => ({
    key: nextKey++,
    id: g.id,
    name: g.name,
    names: namesOf(g.names),
    required: g.required,
    min: String(g.min),
    max: String(g.max),
    choices: g.choices.map((c) => ({
      key: nextKey++,
      id: c.id,
      name: c.name,
      names: namesOf(c.names),
      price: c.priceDelta === 0 ? "" : amountText(c.priceDelta, digits),
      isSoldOut: c.isSoldOut,
    })),
  }));
}

/** An id the hub takes (`a-z`, `0-9`, `-`, at most 32) made from a name,
 * unused among `taken`; `fallback-N` when the name has no such letters
 * (a Korean name). */
function freshId(name: string, taken: Set<string>, fallback: string): string {
  const slug = name
    .toLowerCase()
    .normalize("NFKD")
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 28)
    .replace(/-+$/, "");
  const base = slug || fallback;
  let id = base;
  for (let n = 2; taken.has(id); n++) id = `${base}-${n}`;
  taken.add(id);
  return id;
}

/** The drafts as the hub's option groups, or what is wrong with them. */
function fromDrafts(drafts: GroupDraft[], digits: number): OptionGroupEntry[] | "groups" | "delta" {
  const groupIds = new Set(drafts.map((g) => g.id).filter(Boolean));
  const out: OptionGroupEntry[] = [];
  for (const g of drafts) {
    const min = g.min.trim() === "" ? 0 : Number(g.min);
    const max = Number(g.max);
    const effectiveMin = g.required ? Math.max(min, 1) : min;
    const named = g.choices.every((c) => c.name.trim() !== "");
    if (
      !g.name.trim() ||
      g.choices.length === 0 ||
      g.choices.length > MAX_CHOICES ||
      !named ||
      !Number.isInteger(min) ||
      !Number.isInteger(max) ||
      min < 0 ||
      max < 1 ||
      max > MAX_PER_GROUP ||
      effectiveMin > max
    ) {
      return "groups";
    }
    const choiceIds = new Set(g.choices.map((c) => c.id).filter(Boolean));
    const choices = [];
    for (const c of g.choices) {
      const delta = c.price.trim() === "" ? 0 : parseAmount(c.price, digits);
      if (delta === null) return "delta";
      choices.push({
        id: c.id || freshId(c.name, choiceIds, "choice"),
        name: c.name.trim(),
        names: c.names,
        priceDelta: delta,
        isSoldOut: c.isSoldOut,
      });
    }
    out.push({
      id: g.id || freshId(g.name, groupIds, "group"),
      name: g.name.trim(),
      names: g.names,
      required: g.required,
      min: effectiveMin,
      max,
      choices,
    });
  }
  return out.length > MAX_GROUPS ? "groups" : out;
}

/** An item's option groups: each a name, required or not, at least and at
 * most how many, and its choices with what they add to the price. A saved
 * choice's sold-out switch applies at once (one tap); the rest is saved
 * together. */
function OptionsEditor({ item, screen }: { item: MenuEntry; screen: TabProps["screen"] }) {
  const { t, fmt } = useT();
  const ids = useId();
  const digits = fmt.currencyDigits(screen.settings);
  const { busy, error, setError, run } = useSectionAction();
  const [drafts, setDrafts] = useState<GroupDraft[]>(() => toDrafts(item.optionGroups, digits));
  const saved = JSON.stringify(toDrafts(item.optionGroups, digits).map(stripKeys));
  // What the drafts started from. When the hub's groups change (a save, a
  // choice sold out at once, another manager), untouched drafts follow
  // them; edited ones keep their edits and take only the sold-out marks.
  const [base, setBase] = useState(saved);
  const dirty = JSON.stringify(drafts.map(stripKeys)) !== base;
  if (base !== saved) {
    setBase(saved);
    setDrafts(dirty ? (ds) => withSoldOut(ds, item.optionGroups) : toDrafts(item.optionGroups, digits));
  }

  const change = (key: number, f: (g: GroupDraft) => GroupDraft) => setDrafts((ds) => ds.map((g) => (g.key === key ? f(g) : g)));
  const changeChoice = (group: number, key: number, f: (c: ChoiceDraft) => ChoiceDraft) =>
    change(group, (g) => ({ ...g, choices: g.choices.map((c) => (c.key === key ? f(c) : c)) }));

  const save = () => {
    const groups = fromDrafts(drafts, digits);
    if (groups === "groups") return setError(t("menuEditor.invalidGroups"));
    if (groups === "delta") return setError(t("menuEditor.invalidDelta"));
    run(() => commands.updateMenuItem(item.id, { ...NO_CHANGE, optionGroups: groups })).then((updated) => {
      if (!updated) return;
      // New groups and choices now have the ids they were saved with; the
      // screen's copy of the item follows with the hub's event.
      setDrafts(toDrafts(updated.optionGroups, digits));
    });
  };

  const savedChoice = (groupId: string, choiceId: string) =>
    !!groupId && !!choiceId && item.optionGroups.some((g) => g.id === groupId && g.choices.some((c) => c.id === choiceId));

  return (
    <form
      className="options-editor"
      aria-labelledby={`${ids}-title`}
      onSubmit={(e) => {
        e.preventDefault();
        save();
      }}
    >
      <h3 id={`${ids}-title`}>{t("menuEditor.options")}</h3>
      {drafts.length === 0 && <p className="muted">{t("menuEditor.noOptions")}</p>}
      {drafts.map((g, gi) => (
        <fieldset key={g.key} className="option-group" data-testid={`menu-group-${gi}`}>
          <div className="group-head">
            <div className="field grow">
              <label htmlFor={`${ids}-g${g.key}-name`}>{t("menuEditor.groupName")}</label>
              <input
                id={`${ids}-g${g.key}-name`}
                data-testid="group-name"
                value={g.name}
                maxLength={40}
                onChange={(e) => change(g.key, (x) => ({ ...x, name: e.target.value }))}
              />
            </div>
            <label className="switch">
              <input
                type="checkbox"
                data-testid="group-required"
                checked={g.required}
                onChange={(e) => change(g.key, (x) => ({ ...x, required: e.target.checked }))}
              />
              <span>{t("menuEditor.required")}</span>
            </label>
            <div className="field small">
              <label htmlFor={`${ids}-g${g.key}-min`}>{t("menuEditor.min")}</label>
              <input
                id={`${ids}-g${g.key}-min`}
                data-testid="group-min"
                inputMode="numeric"
                value={g.min}
                onChange={(e) => change(g.key, (x) => ({ ...x, min: e.target.value }))}
              />
            </div>
            <div className="field small">
              <label htmlFor={`${ids}-g${g.key}-max`}>{t("menuEditor.max")}</label>
              <input
                id={`${ids}-g${g.key}-max`}
                data-testid="group-max"
                inputMode="numeric"
                value={g.max}
                onChange={(e) => change(g.key, (x) => ({ ...x, max: e.target.value }))}
              />
            </div>
            <button
              type="button"
              className="icon danger-text"
              data-testid="group-remove"
              aria-label={t("menuEditor.removeGroup", { name: g.name })}
              title={t("menuEditor.removeGroup", { name: g.name })}
              onClick={() => setDrafts((ds) => ds.filter((x) => x.key !== g.key))}
            >
              ✕
            </button>
          </div>
          <div className="choices" role="table">
            <div className="choice-row head" role="row">
              <span role="columnheader">{t("menuEditor.choice")}</span>
              <span role="columnheader">{t("menuEditor.priceDelta")}</span>
              <span role="columnheader">{t("menu.soldOut")}</span>
              <span role="columnheader" />
            </div>
            {g.choices.map((c) => {
              const delta = c.price.trim() === "" ? 0 : parseAmount(c.price, digits);
              const live = savedChoice(g.id, c.id);
              return (
                <div key={c.key} className={`choice-row ${c.isSoldOut ? "sold-out" : ""}`} role="row" data-testid={`choice-${g.id || gi}-${c.id || c.key}`}>
                  <span role="cell">
                    <input
                      aria-label={t("menuEditor.choice")}
                      data-testid="choice-name"
                      value={c.name}
                      maxLength={40}
                      onChange={(e) => changeChoice(g.key, c.key, (x) => ({ ...x, name: e.target.value }))}
                    />
                  </span>
                  <span role="cell">
                    <input
                      aria-label={t("menuEditor.priceDelta")}
                      data-testid="choice-price"
                      inputMode="decimal"
                      placeholder={fmt.money(0, screen.settings)}
                      value={c.price}
                      aria-invalid={delta === null}
                      onChange={(e) => changeChoice(g.key, c.key, (x) => ({ ...x, price: e.target.value }))}
                    />
                    <span className="muted preview">{delta ? `+${fmt.money(delta, screen.settings)}` : ""}</span>
                  </span>
                  <span role="cell">
                    <label className="switch">
                      <input
                        type="checkbox"
                        data-testid="choice-soldout"
                        checked={c.isSoldOut}
                        disabled={busy}
                        aria-label={
                          c.isSoldOut
                            ? t("menuEditor.markChoiceAvailable", { name: c.name })
                            : t("menuEditor.markChoiceSoldOut", { name: c.name })
                        }
                        onChange={(e) => {
                          const soldOut = e.target.checked;
                          changeChoice(g.key, c.key, (x) => ({ ...x, isSoldOut: soldOut }));
                          // A saved choice goes sold out now, without the other edits.
                          if (live) run(() => commands.setChoiceSoldOut(item.id, g.id, c.id, soldOut));
                        }}
                      />
                      <span>{c.isSoldOut ? t("menu.soldOut") : t("menu.available")}</span>
                    </label>
                  </span>
                  <span role="cell">
                    <button
                      type="button"
                      className="icon danger-text"
                      data-testid="choice-remove"
                      aria-label={t("menuEditor.removeChoice", { name: c.name })}
                      title={t("menuEditor.removeChoice", { name: c.name })}
                      onClick={() => change(g.key, (x) => ({ ...x, choices: x.choices.filter((y) => y.key !== c.key) }))}
                    >
                      ✕
                    </button>
                  </span>
                </div>
              );
            })}
          </div>
          <button
            type="button"
            data-testid="choice-add"
            disabled={g.choices.length >= MAX_CHOICES}
            onClick={() =>
              change(g.key, (x) => ({
                ...x,
                choices: [...x.choices, { key: nextKey++, id: "", name: "", names: {}, price: "", isSoldOut: false }],
              }))
            }
          >
            {t("menuEditor.addChoice")}
          </button>
        </fieldset>
      ))}
      <div className="options-actions">
        <button
          type="button"
          data-testid="group-add"
          disabled={drafts.length >= MAX_GROUPS}
          onClick={() =>
            setDrafts((ds) => [
              ...ds,
              {
                key: nextKey++,
                id: "",
                name: "",
                names: {},
                required: false,
                min: "0",
                max: "1",
                choices: [{ key: nextKey++, id: "", name: "", names: {}, price: "", isSoldOut: false }],
              },
            ])
          }
        >
          {t("menuEditor.addGroup")}
        </button>
        <button type="button" className="link" data-testid="menu-options-discard" disabled={!dirty || busy} onClick={() => setDrafts(toDrafts(item.optionGroups, digits))}>
          {t("menuEditor.discard")}
        </button>
        <button type="submit" className="primary" data-testid="menu-options-save" disabled={!dirty || busy}>
          {busy ? t("common.working") : t("menuEditor.saveOptions")}
        </button>
      </div>
      <FieldError error={error} testId="menu-options-error" />
    </form>
  );
}

/** `drafts` with each saved choice's sold-out mark as the hub has it. */
function withSoldOut(drafts: GroupDraft[], groups: OptionGroupEntry[]): GroupDraft[] {
  return drafts.map((g) => ({
    ...g,
    choices: g.choices.map((c) => {
      const now = groups.find((x) => x.id === g.id)?.choices.find((x) => x.id === c.id);
      return now && c.id ? { ...c, isSoldOut: now.isSoldOut } : c;
    }),
  }));
}

function stripKeys(g: GroupDraft) {
  return { ...g, key: 0, choices: g.choices.map((c) => ({ ...c, key: 0 })) };
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
        <input id={`${ids}-name`} data-testid="menu-add-name" value={name} maxLength={80} onChange={(e) => setName(e.target.value)} />
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
