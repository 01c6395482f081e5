// What every manager tab shares.
import { useCallback, useEffect, useState } from "react";
import { commands, type DeviceEntry, type Screen } from "../bindings";

export type TabProps = {
  screen: Screen;
  /** Shows a failed command in the manager's banner, in words. */
  onError: (e: unknown) => void;
};

/** Runs a command, reporting a failure and saying whether it is still running. */
export function useAction(onError: (e: unknown) => void) {
  const [busy, setBusy] = useState(false);
  const run = useCallback(
    async <T>(action: () => Promise<T>): Promise<T | undefined> => {
      setBusy(true);
      try {
        return await action();
      } catch (e) {
        onError(e);
        return undefined;
      } finally {
        setBusy(false);
      }
    },
    [onError],
  );
  return { busy, run };
}

/** An amount typed in the currency's major unit (`4.50`, `4,50`, `4500`) in its minor unit, or null. */
export function parseAmount(text: string, digits: number): number | null {
  const cleaned = text.trim().replace(/\s/g, "");
  if (!cleaned) return null;
  // One separator followed by at most `digits` digits is the decimal point; others group thousands.
  const decimal = digits > 0 ? cleaned.match(new RegExp(`^(.*?)[.,](\\d{1,${digits}})$`)) : null;
  const whole = (decimal ? decimal[1] : cleaned).replace(/[.,]/g, "");
  const fraction = decimal ? decimal[2].padEnd(digits, "0") : "0".repeat(digits);
  if (!/^\d+$/.test(whole || "0") || !/^\d*$/.test(fraction)) return null;
  return Number(whole || "0") * 10 ** digits + Number(fraction || "0");
}

/** A minor-unit amount as it is typed back into an input (`450` with 2 digits → `4.50`). */
export function amountText(minor: number, digits: number): string {
  return digits > 0 ? (minor / 10 ** digits).toFixed(digits) : String(minor);
}

/** The hub's paired devices, read on mount and every `everyMs` if given. */
export function useDevices(onError: (e: unknown) => void, everyMs?: number) {
  const [devices, setDevices] = useState<DeviceEntry[] | null>(null);
  const load = useCallback(() => {
    commands.devices().then(setDevices).catch(onError);
  }, [onError]);
  useEffect(() => {
    load();
    if (!everyMs) return;
    const id = window.setInterval(load, everyMs);
    return () => window.clearInterval(id);
  }, [load, everyMs]);
  return { devices, load };
}
