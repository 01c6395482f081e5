// A station's name on the board: the known ones (bar, kitchen) in the
// screen's language, any other as the menu spells it, capitalised.
import type { Key, T } from "../i18n";

const KNOWN: Record<string, Key> = { bar: "station.bar", kitchen: "station.kitchen" };

export function stationName(t: T, station: string): string {
  const key = KNOWN[station.trim().toLowerCase()];
  if (key) return t(key);
  const s = station.trim();
  return s ? s.charAt(0).toLocaleUpperCase() + s.slice(1) : station;
}
