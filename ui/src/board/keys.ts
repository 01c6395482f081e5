// The bump bar: which key does what on the barista board. USB bump bars
// type keys, so every action can be bound to any key; the choice is kept
// per device in localStorage.
import { useCallback, useState } from "react";

export const KEY_ACTIONS = [
  "bump",
  "recall",
  "left",
  "right",
  "up",
  "down",
  "pageUp",
  "pageDown",
  "home",
  "end",
  "pos1",
  "pos2",
  "pos3",
  "pos4",
  "pos5",
  "pos6",
  "pos7",
  "pos8",
  "pos9",
  "pos10",
] as const;

export type KeyAction = (typeof KEY_ACTIONS)[number];
/** Action → key (a KeyboardEvent's `key`, one letter in lower case). */
export type KeyMap = Record<KeyAction, string>;

export const DEFAULT_KEYS: KeyMap = {
  bump: "Enter",
  recall: "r",
  left: "ArrowLeft",
  right: "ArrowRight",
  up: "ArrowUp",
  down: "ArrowDown",
  pageUp: "PageUp",
  pageDown: "PageDown",
  home: "Home",
  end: "End",
  pos1: "1",
  pos2: "2",
  pos3: "3",
  pos4: "4",
  pos5: "5",
  pos6: "6",
  pos7: "7",
  pos8: "8",
  pos9: "9",
  pos10: "0",
};

const STORE = "countertop.board.keys";

/** The position (1-based) a `posN` action selects, else null. */
export function positionOf(action: KeyAction): number | null {
  return action.startsWith("pos") ? Number(action.slice(3)) : null;
}

/** A key event's name as bindings keep it: one character in lower case, else its `key`. */
export function keyName(e: Pick<KeyboardEvent, "key">): string {
  if (e.key === "Spacebar") return " ";
  return e.key.length === 1 ? e.key.toLowerCase() : e.key;
}

const SHOWN: Record<string, string> = {
  " ": "Space",
  ArrowLeft: "←",
  ArrowRight: "→",
  ArrowUp: "↑",
  ArrowDown: "↓",
  PageUp: "PgUp",
  PageDown: "PgDn",
  Enter: "Enter",
  Escape: "Esc",
};

/** A key as the legend shows it. */
export function keyLabel(key: string): string {
  if (!key) return "—";
  return SHOWN[key] ?? (key.length === 1 ? key.toUpperCase() : key);
}

/** The stored bindings, each action kept only when it names a key (a
 * damaged or older entry falls back to the default). */
export function loadKeys(): KeyMap {
  const keys = { ...DEFAULT_KEYS };
  try {
    const saved = JSON.parse(localStorage.getItem(STORE) ?? "{}") as Record<string, unknown>;
    for (const a of KEY_ACTIONS) {
      const k = saved[a];
      if (typeof k === "string" && k.length <= 32) keys[a] = k;
    }
  } catch {
    // Nothing usable stored: the defaults.
  }
  return keys;
}

/** `action` bound to `key`; another action that had `key` loses it. */
export function rebind(keys: KeyMap, action: KeyAction, key: string): KeyMap {
  const next = { ...keys };
  for (const a of KEY_ACTIONS) if (a !== action && next[a] === key) next[a] = "";
  next[action] = key;
  return next;
}

/** The action bound to `key`, if any. */
export function actionFor(keys: KeyMap, key: string): KeyAction | null {
  for (const a of KEY_ACTIONS) if (keys[a] === key) return a;
  return null;
}

/** The device's bindings, and setting them (stored at once). */
export function useKeyMap(): [KeyMap, (keys: KeyMap) => void] {
  const [keys, setKeys] = useState<KeyMap>(loadKeys);
  const save = useCallback((next: KeyMap) => {
    setKeys(next);
    try {
      localStorage.setItem(STORE, JSON.stringify(next));
    } catch {
      // Storage full or off: the bindings last until the window closes.
    }
  }, []);
  return [keys, save];
}

/** Whether a key press belongs to something else: a dialog, a field, a
 * chord with Ctrl, Alt or Meta. */
export function keyIsElsewhere(e: KeyboardEvent): boolean {
  if (e.ctrlKey || e.altKey || e.metaKey || e.defaultPrevented) return true;
  if (document.querySelector("[role=dialog]")) return true;
  const el = document.activeElement as HTMLElement | null;
  if (!el) return false;
  const tag = el.tagName;
  return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || el.isContentEditable;
}
