// Reading the device's state and following its core updates. Commands and
// events come only from the generated bindings.
import { useCallback, useEffect, useRef, useState } from "react";
import { getCurrentWebviewWindow } from "@tauri-apps/api/webviewWindow";
import { commands, events, type CoreUpdate, type IpcError, type IpcErrorCode, type Screen } from "./bindings";

let paintedReported = false;

/** Tells the shell, once per window, that its first screen with data is on
 * the glass: at the second frame after the render, the first has been drawn. */
function reportPainted() {
  if (paintedReported) return;
  paintedReported = true;
  requestAnimationFrame(() => requestAnimationFrame(() => void commands.painted().catch(() => {})));
}

/** The screen's data, refreshed whenever the core says the cache changed. */
export function useScreen(onUpdate?: (update: CoreUpdate) => void) {
  const [screen, setScreen] = useState<Screen | null>(null);
  const [error, setError] = useState<string | null>(null);
  const handler = useRef(onUpdate);
  handler.current = onUpdate;

  // Reads in flight may answer out of order: an answer older than the one
  // shown is dropped.
  const reads = useRef({ issued: 0, shown: 0 });
  // The link's state as last seen: a new one re-reads the screen (a
  // reconnect attempt's count alone does not).
  const lastState = useRef<string | null>(null);
  const refresh = useCallback(() => {
    const read = ++reads.current.issued;
    commands
      .screen()
      .then((s) => {
        if (read < reads.current.shown) return;
        reads.current.shown = read;
        setScreen(s);
        setError(null);
        reportPainted();
      })
      .catch((e) => {
        if (read >= reads.current.shown) setError(errorText(e));
      });
  }, []);

  useEffect(() => {
    // Read at once, for a quick first paint, and again once the listener
    // is registered (its registration is a round trip of its own): an
    // update sent between the first read and the registration (a device
    // going live right after pairing, say) would otherwise be lost.
    refresh();
    let alive = true;
    const unlisten = events.coreUpdate(getCurrentWebviewWindow()).listen((event) => {
      const update = event.payload;
      if (update.kind === "status") {
        // The status at once, then the rest of the screen: whether a kiosk
        // takes orders (and why not) follows the connection.
        setScreen((s) => (s ? { ...s, status: update } : s));
        if (update.state !== lastState.current) refresh();
        lastState.current = update.state;
      } else if (update.kind === "outbox") {
        setScreen((s) => (s ? { ...s, outboxDepth: update.depth } : s));
      } else if (update.kind === "changed") {
        refresh();
      }
      handler.current?.(update);
    });
    unlisten.then(() => {
      if (alive) refresh();
    });
    return () => {
      alive = false;
      unlisten.then((f) => f());
    };
  }, [refresh]);

  return { screen, error, refresh };
}

/** What became of an action the core queued: sent to the hub, or refused. */
export type Outcome = Extract<CoreUpdate, { kind: "sent" } | { kind: "refused" }>;

/**
 * Outcomes that came before the key they belong to. A command that queues an
 * action answers with its key, but the answer and the `sent`/`refused` update
 * travel apart, and the update can come first (the hub answers within
 * milliseconds). A screen keeps what it cannot place yet here and asks for it
 * once it has the key. Bounded: only the newest few are kept.
 */
export class EarlyOutcomes {
  private readonly kept = new Map<string, Outcome>();

  keep(outcome: Outcome): void {
    this.kept.set(outcome.key, outcome);
    for (const oldest of this.kept.keys()) {
      if (this.kept.size <= 16) break;
      this.kept.delete(oldest);
    }
  }

  /** The outcome of `key` if it has come already; forgotten once taken. */
  take(key: string): Outcome | undefined {
    const outcome = this.kept.get(key);
    this.kept.delete(key);
    return outcome;
  }
}

/** Tells a benchmark that a clock is about to re-render the screen, so it
 * can time the re-render from here (crates/bench's
 * `countertop-board-frames` sets `window.__countertopBench`), and whose
 * clock it is: a board ticket's timer or another clock. Without one, a
 * property read. Every per-second clock calls it first thing. */
export function markBenchTick(source: "ticket" | "clock" = "clock"): void {
  (window as { __countertopBench?: { tick?: (source: string) => void } }).__countertopBench?.tick?.(source);
}

/** The current time, ticking every second (timers, "updated 3 s ago"). */
export function useNow(): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const id = window.setInterval(() => {
      markBenchTick();
      setNow(Date.now());
    }, 1000);
    return () => window.clearInterval(id);
  }, []);
  return now;
}

export function errorText(e: unknown): string {
  if (e && typeof e === "object" && "message" in e) {
    return String((e as IpcError).message);
  }
  return String(e);
}

/** The code of a command's error (IpcError); anything else is "other". */
export function errorCode(e: unknown): IpcErrorCode {
  if (e && typeof e === "object" && "code" in e) {
    return (e as IpcError).code;
  }
  return "other";
}
