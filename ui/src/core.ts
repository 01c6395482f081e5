// Reading the device's state and following its core updates. Commands and
// events come only from the generated bindings.
import { useCallback, useEffect, useRef, useState } from "react";
import { getCurrentWebviewWindow } from "@tauri-apps/api/webviewWindow";
import { commands, events, type CoreUpdate, type IpcError, type Screen } from "./bindings";

/** The screen's data, refreshed whenever the core says the cache changed. */
export function useScreen(onUpdate?: (update: CoreUpdate) => void) {
  const [screen, setScreen] = useState<Screen | null>(null);
  const [error, setError] = useState<string | null>(null);
  const handler = useRef(onUpdate);
  handler.current = onUpdate;

  const refresh = useCallback(() => {
    commands
      .screen()
      .then((s) => {
        setScreen(s);
        setError(null);
      })
      .catch((e) => setError(errorText(e)));
  }, []);

  useEffect(() => {
    refresh();
    const unlisten = events.coreUpdate(getCurrentWebviewWindow()).listen((event) => {
      const update = event.payload;
      if (update.kind === "status") {
        setScreen((s) => (s ? { ...s, status: update } : s));
      } else if (update.kind === "outbox") {
        setScreen((s) => (s ? { ...s, outboxDepth: update.depth } : s));
      } else if (update.kind === "changed") {
        refresh();
      }
      handler.current?.(update);
    });
    return () => {
      unlisten.then((f) => f());
    };
  }, [refresh]);

  return { screen, error, refresh };
}

/** The current time, ticking every second (timers, "updated 3 s ago"). */
export function useNow(): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const id = window.setInterval(() => setNow(Date.now()), 1000);
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

export function errorCode(e: unknown): string {
  if (e && typeof e === "object" && "code" in e) {
    return String((e as IpcError).code);
  }
  return "unknown";
}
