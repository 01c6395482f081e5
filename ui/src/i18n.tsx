// Every visible text goes through `t`, and every number, amount and time
// through `fmt`, in the language this device prefers (else the system's).
import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from "react";
import { getCurrentWebviewWindow } from "@tauri-apps/api/webviewWindow";
import { commands, events, type Screen } from "./bindings";
import { errorCode, errorText } from "./core";
import { en, type Key } from "./locales/en";
import { ko } from "./locales/ko";
import { nl } from "./locales/nl";
import { de } from "./locales/de";

export type Lang = "en" | "ko" | "nl" | "de";
export type { Key };

const DICTIONARIES: Record<Lang, Record<Key, string>> = { en, ko, nl, de };

/** The languages offered, each named in itself. */
export const LANGUAGES: { code: Lang; name: string }[] = (Object.keys(DICTIONARIES) as Lang[]).map((code) => ({
  code,
  name: DICTIONARIES[code]["lang.name"],
}));

/** The supported language a BCP 47 tag (`de-AT`, `ko_KR.UTF-8`) asks for, if any. */
export function supported(tag: string | null | undefined): Lang | null {
  const base = (tag ?? "").toLowerCase().split(/[-_.@]/)[0];
  return base in DICTIONARIES ? (base as Lang) : null;
}

type Vars = Record<string, string | number>;
export type T = (key: Key, vars?: Vars) => string;

function fill(text: string, vars?: Vars): string {
  if (!vars) return text;
  return text.replace(/\{(\w+)\}/g, (whole, name: string) => (name in vars ? String(vars[name]) : whole));
}

/** Formatting for one language: numbers, money, times, ages and durations.
 * Intl's formatters are slow to make and cheap to use, and a board formats
 * every card every second, so each kind is made once per language. */
export class Formats {
  private readonly made = new Map<string, Intl.NumberFormat | Intl.DateTimeFormat | Intl.RelativeTimeFormat>();

  constructor(readonly locale: string) {}

  private once<F extends Intl.NumberFormat | Intl.DateTimeFormat | Intl.RelativeTimeFormat>(
    key: string,
    make: () => F,
  ): F {
    let f = this.made.get(key);
    if (!f) {
      f = make();
      this.made.set(key, f);
    }
    return f as F;
  }

  number(n: number): string {
    return this.once("number", () => new Intl.NumberFormat(this.locale)).format(n);
  }

  /** The café's currency (`settings.currency`, else KRW). */
  currency(settings: Screen["settings"] | undefined): string {
    return settings?.currency || "KRW";
  }

  /** A currency's formatter; throws for a code Intl does not know. */
  private moneyFormat(code: string): Intl.NumberFormat {
    return this.once(`money:${code}`, () => new Intl.NumberFormat(this.locale, { style: "currency", currency: code }));
  }

  /** How many minor units the currency has after the point (KRW 0, EUR 2). */
  currencyDigits(settings: Screen["settings"] | undefined): number {
    try {
      return this.moneyFormat(this.currency(settings)).resolvedOptions().maximumFractionDigits ?? 0;
    } catch {
      return 0;
    }
  }

  /** An amount in the currency's minor unit (`4500` KRW → ₩4,500). */
  money(amount: number, settings: Screen["settings"] | undefined): string {
    const code = this.currency(settings);
    try {
      const format = this.moneyFormat(code);
      const digits = format.resolvedOptions().maximumFractionDigits ?? 0;
      // Korean writes won after the number (8,000원), not as ₩8,000.
      if (code === "KRW" && this.locale.startsWith("ko")) return `${this.number(amount)}원`;
      return format.format(amount / 10 ** digits);
    } catch {
      return `${amount} ${code}`;
    }
  }

  time(iso: string | null | undefined): string {
    if (!iso) return "";
    const d = new Date(iso);
    if (Number.isNaN(d.getTime())) return iso;
    return this.once("time", () => new Intl.DateTimeFormat(this.locale, { hour: "numeric", minute: "2-digit" })).format(d);
  }

  dateTime(iso: string | null | undefined): string {
    if (!iso) return "";
    const d = new Date(iso);
    if (Number.isNaN(d.getTime())) return iso;
    return this.once(
      "dateTime",
      () => new Intl.DateTimeFormat(this.locale, { dateStyle: "medium", timeStyle: "short" }),
    ).format(d);
  }

  /** A local hour of the day (0–23) as the language writes it (`3 PM`, `15시`, `15 Uhr`). */
  hour(h: number): string {
    const d = new Date(2000, 0, 1, h);
    return this.once("hour", () => new Intl.DateTimeFormat(this.locale, { hour: "numeric" })).format(d);
  }

  /** How long ago `iso` was, relative to `now` (`3 minutes ago`, `3분 전`). */
  ago(iso: string, now: number): string {
    const seconds = Math.round((Date.parse(iso) - now) / 1000);
    const rtf = this.once("ago", () => new Intl.RelativeTimeFormat(this.locale, { numeric: "auto" }));
    const abs = Math.abs(seconds);
    if (abs < 60) return rtf.format(Math.min(0, seconds), "second");
    if (abs < 3600) return rtf.format(Math.round(seconds / 60), "minute");
    if (abs < 86400) return rtf.format(Math.round(seconds / 3600), "hour");
    return rtf.format(Math.round(seconds / 86400), "day");
  }

  /** A duration as a clock reads it: `4:05`, or `1:04:05` past an hour. */
  duration(totalSeconds: number): string {
    const s = Math.max(0, Math.floor(totalSeconds));
    const h = Math.floor(s / 3600);
    const m = Math.floor((s % 3600) / 60);
    const sec = String(s % 60).padStart(2, "0");
    return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${sec}` : `${m}:${sec}`;
  }
}

export type I18n = {
  lang: Lang;
  t: T;
  fmt: Formats;
  /** This device's chosen language; null follows the system. */
  preferred: string | null;
  /** The system's language tag. */
  systemLanguage: string;
  /** An error from a command, in words, in this language. */
  errorText: (e: unknown) => string;
  /** Sets this device's language (null: the system's); every window follows. */
  choose: (language: string | null) => Promise<void>;
};

function make(
  preferred: string | null,
  systemLanguage: string,
  choose: (language: string | null) => Promise<void>,
): I18n {
  const lang = supported(preferred) ?? supported(systemLanguage) ?? "en";
  const dict = DICTIONARIES[lang];
  // Keep the system's region (en-GB, de-AT) when it speaks the same language.
  const locale = supported(systemLanguage) === lang && /^[a-z]{2,3}([-_][A-Za-z0-9]+)*$/.test(systemLanguage)
    ? systemLanguage.replace(/_/g, "-")
    : lang;
  let fmt: Formats;
  try {
    new Intl.NumberFormat(locale);
    fmt = new Formats(locale);
  } catch {
    fmt = new Formats(lang);
  }
  // A numeric `count` picks the plural form where the language has one
  // (`manager.openOrders.one`), and is written as the language writes numbers.
  const plural = new Intl.PluralRules(fmt.locale);
  const t: T = (key, vars) => {
    const count = vars?.count;
    if (typeof count !== "number") return fill(dict[key] ?? en[key] ?? key, vars);
    const form = `${key}.${plural.select(count)}` as Key;
    const text = dict[form] ?? dict[key] ?? en[key] ?? key;
    return fill(text, { ...vars, count: fmt.number(count) });
  };
  return {
    lang,
    t,
    fmt,
    preferred,
    systemLanguage,
    choose,
    errorText: (e) => {
      switch (errorCode(e)) {
        case "network":
          return t("error.network");
        case "forbidden":
          return t("error.forbidden");
        default:
          return errorText(e);
      }
    },
  };
}

const browserLanguage = () => (typeof navigator === "undefined" ? "en" : navigator.language || "en");

const Context = createContext<I18n>(make(null, browserLanguage(), async () => {}));

/** Gives every screen below it the device's language (its preference, else the
 * system's), and follows the `preferences` update when any window changes it. */
export function LanguageProvider({ children }: { children: ReactNode }) {
  const [preferred, setPreferred] = useState<string | null>(null);
  const [systemLanguage, setSystemLanguage] = useState(browserLanguage);

  useEffect(() => {
    let alive = true;
    commands
      .preferences()
      .then((p) => {
        if (!alive) return;
        setPreferred(p.language);
        if (p.systemLanguage) setSystemLanguage(p.systemLanguage);
      })
      .catch(() => {});
    const unlisten = events.coreUpdate(getCurrentWebviewWindow()).listen((event) => {
      if (event.payload.kind === "preferences") setPreferred(event.payload.language);
    });
    return () => {
      alive = false;
      unlisten.then((f) => f());
    };
  }, []);

  const choose = useCallback(async (language: string | null) => {
    await commands.setLanguage(language);
    setPreferred(language);
  }, []);

  const value = useMemo(() => make(preferred, systemLanguage, choose), [preferred, systemLanguage, choose]);
  useEffect(() => {
    document.documentElement.lang = value.lang;
  }, [value.lang]);
  return <Context.Provider value={value}>{children}</Context.Provider>;
}

/** The window's language: `t` for texts, `fmt` for numbers, money and times. */
export function useT(): I18n {
  return useContext(Context);
}
