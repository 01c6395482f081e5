// What the barista board shows, worked out from the screen alone: which
// orders are tickets for this board's stations, which lines each shows,
// what a bump does, the all-day counts, the recall list and the grid's
// pages. Pure functions, so the board renders them and tests can read them.
import type { OrderEntry, OrderEntryLine, Stage } from "../bindings";

/** How long after its completion an order can still be recalled (the hub's rule). */
export const RECALL_WINDOW_MS = 30 * 60_000;
/** How many orders the recall strip lists. */
export const RECALL_MAX = 10;

/** Whether the board is the expo view: every station, whole orders. */
export function isExpo(stations: readonly string[]): boolean {
  return stations.length === 0;
}

/** Whether line `l` is made at one of `stations` (every line in the expo view). */
export function ownLine(l: OrderEntryLine, stations: readonly string[]): boolean {
  return stations.length === 0 || stations.includes(l.station);
}

/** The indexes (into `order.items`) of the lines this board shows. */
export function shownLines(order: OrderEntry, stations: readonly string[]): number[] {
  const shown: number[] = [];
  order.items.forEach((l, i) => {
    if (ownLine(l, stations)) shown.push(i);
  });
  return shown;
}

/** The lines a station's bump marks done: its own lines not done yet. */
export function linesToMark(order: OrderEntry, stations: readonly string[]): number[] {
  return shownLines(order, stations).filter((i) => !order.items[i].done);
}

/** Other stations' lines on a station's ticket: "+ Kitchen: 1 item". */
export function otherStations(order: OrderEntry, stations: readonly string[]): { station: string; count: number }[] {
  if (isExpo(stations)) return [];
  const counts = new Map<string, number>();
  for (const l of order.items) {
    if (!stations.includes(l.station)) counts.set(l.station, (counts.get(l.station) ?? 0) + l.quantity);
  }
  return [...counts.entries()].map(([station, count]) => ({ station, count }));
}

/** Oldest first: the hub's order (screen.orders is newest first). */
function oldestFirst(orders: readonly OrderEntry[]): OrderEntry[] {
  return [...orders].reverse();
}

/** The tickets of the grid, oldest first. The expo view shows every open
 * order and READY ones until they are picked up; a station view shows
 * PENDING and MAKING orders with lines still to make there. */
export function activeTickets(orders: readonly OrderEntry[], stations: readonly string[]): OrderEntry[] {
  if (isExpo(stations)) {
    return oldestFirst(orders.filter((o) => o.status === "PENDING" || o.status === "MAKING" || o.status === "READY"));
  }
  return oldestFirst(
    orders.filter(
      (o) => (o.status === "PENDING" || o.status === "MAKING") && o.items.some((l) => !l.done && stations.includes(l.station)),
    ),
  );
}

/** The orders of one status column, oldest first: in a station view, those
 * with lines of its stations (READY ones as a record of what went out). */
export function columnTickets(orders: readonly OrderEntry[], stations: readonly string[], stage: Stage): OrderEntry[] {
  return oldestFirst(orders.filter((o) => o.status === stage && o.items.some((l) => ownLine(l, stations))));
}

/** Counts per status of what the board shows. */
export function statusCounts(tickets: readonly OrderEntry[]): Record<"PENDING" | "MAKING" | "READY", number> {
  const counts = { PENDING: 0, MAKING: 0, READY: 0 };
  for (const o of tickets) if (o.status in counts) counts[o.status as keyof typeof counts] += 1;
  return counts;
}

/** One station's items still to make. */
export type AllDayStation = { station: string; items: { menuId: string; name: string; quantity: number }[] };

/** Items still to make: lines not done of PENDING and MAKING orders, summed
 * by item per station (only `stations` in a station view), most first. */
export function allDayCounts(
  orders: readonly OrderEntry[],
  stations: readonly string[],
  nameOf: (l: OrderEntryLine) => string,
): AllDayStation[] {
  const byStation = new Map<string, Map<string, { menuId: string; name: string; quantity: number }>>();
  for (const o of orders) {
    if (o.status !== "PENDING" && o.status !== "MAKING") continue;
    for (const l of o.items) {
      if (l.done || !ownLine(l, stations)) continue;
      let items = byStation.get(l.station);
      if (!items) byStation.set(l.station, (items = new Map()));
      const item = items.get(l.menuId);
      if (item) item.quantity += l.quantity;
      else items.set(l.menuId, { menuId: l.menuId, name: nameOf(l), quantity: l.quantity });
    }
  }
  return [...byStation.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([station, items]) => ({
      station,
      items: [...items.values()].sort((a, b) => b.quantity - a.quantity || a.name.localeCompare(b.name)),
    }));
}

/** The orders the recall strip offers, newest first. Expo: READY ones
 * (back to MAKING) and those picked up in the last 30 minutes (back to
 * READY). A station: open orders whose lines there are all done (unmarked). */
export function recallable(orders: readonly OrderEntry[], stations: readonly string[], now: number): OrderEntry[] {
  const changed = (o: OrderEntry) => Date.parse(o.updatedAt) || 0;
  const list = orders.filter((o) => {
    if (isExpo(stations)) {
      if (o.status === "READY") return true;
      return o.status === "COMPLETED" && now - changed(o) < RECALL_WINDOW_MS;
    }
    if (o.status !== "PENDING" && o.status !== "MAKING" && o.status !== "READY") return false;
    const own = o.items.filter((l) => stations.includes(l.station));
    return own.length > 0 && own.every((l) => l.done);
  });
  return list.sort((a, b) => changed(b) - changed(a)).slice(0, RECALL_MAX);
}

/** The grid's shape for a box of `width` × `height` pixels. */
export type GridShape = { columns: number; rows: number; ticketWidth: number; ticketHeight: number; perPage: number };

export const TICKET_MIN_WIDTH = 290;
export const TICKET_MIN_HEIGHT = 270;
export const GRID_GAP = 10;

/** As many columns and rows of tickets as fit, each at least the minimum size. */
export function gridShape(width: number, height: number): GridShape {
  const columns = Math.max(1, Math.floor((width + GRID_GAP) / (TICKET_MIN_WIDTH + GRID_GAP)));
  const rows = Math.max(1, Math.floor((height + GRID_GAP) / (TICKET_MIN_HEIGHT + GRID_GAP)));
  const ticketWidth = Math.floor((width - GRID_GAP * (columns - 1)) / columns);
  const ticketHeight = Math.max(TICKET_MIN_HEIGHT, Math.floor((height - GRID_GAP * (rows - 1)) / rows));
  return { columns, rows, ticketWidth, ticketHeight, perPage: columns * rows };
}

/** How many pages `count` tickets take (at least one). */
export function pageCount(count: number, perPage: number): number {
  return Math.max(1, Math.ceil(count / Math.max(1, perPage)));
}

/** A number kept within [lo, hi]. */
export function clamp(n: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, n));
}
