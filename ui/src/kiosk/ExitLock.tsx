// Leaving a locked kiosk. A kiosk that runs full screen has no window
// controls and cannot be closed: pressing and holding its top-left corner
// for three seconds, or any close request (which the shell turns into
// `kioskExitRequested`), opens this dialog. The café's exit PIN is checked
// by the hub; the app quits once the hub takes it. With no exit PIN set yet
// the dialog says so and lets the person leave.
import { useEffect, useRef, useState } from "react";
import { getCurrentWebviewWindow } from "@tauri-apps/api/webviewWindow";
import { commands, events } from "../bindings";
import { Dialog } from "../components/Dialog";
import { errorCode, errorText } from "../core";
import { useT } from "../i18n";
import { PinPad } from "./PinPad";

/** How long the corner is held before the exit dialog opens. */
const HOLD_MS = 3000;

type State =
  | { at: "closed" }
  | { at: "checking" }
  | { at: "unreachable" }
  | { at: "noPin" }
  | { at: "pin" };

export function ExitLock() {
  const { t } = useT();
  const [state, setState] = useState<State>({ at: "closed" });
  const [problem, setProblem] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const hold = useRef<number | null>(null);

  const open = () => {
    setProblem(null);
    setState({ at: "checking" });
    commands
      .kioskExitPin()
      .then((isSet) => setState({ at: isSet ? "pin" : "noPin" }))
      .catch((e) => {
        if (errorCode(e) === "network") setState({ at: "unreachable" });
        else {
          setProblem(errorText(e));
          setState({ at: "unreachable" });
        }
      });
  };
  const openRef = useRef(open);
  openRef.current = open;

  // A close request (Alt+F4, the window manager's close, the tray's Quit).
  useEffect(() => {
    const unlisten = events.kioskExitRequested(getCurrentWebviewWindow()).listen(() => openRef.current());
    return () => {
      void unlisten.then((stop) => stop());
    };
  }, []);

  // F11 is the shell's to refuse too; here it does nothing at all.
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.key === "F11") e.preventDefault();
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, []);

  const startHold = () => {
    if (hold.current !== null) window.clearTimeout(hold.current);
    hold.current = window.setTimeout(() => {
      hold.current = null;
      openRef.current();
    }, HOLD_MS);
  };
  const stopHold = () => {
    if (hold.current !== null) window.clearTimeout(hold.current);
    hold.current = null;
  };

  const leave = (pin: string) => {
    setBusy(true);
    setProblem(null);
    commands
      .leaveKiosk(pin)
      .then(() => setState({ at: "closed" }))
      .catch((e) => {
        const code = errorCode(e);
        if (code === "network") setState({ at: "unreachable" });
        else if (code === "wrong_pin") setProblem(t("exit.wrongPin"));
        else setProblem(errorText(e));
      })
      .finally(() => setBusy(false));
  };
  const close = () => {
    setState({ at: "closed" });
    setProblem(null);
  };

  return (
    <>
      <div
        className="exit-corner"
        data-testid="exit-corner"
        aria-hidden="true"
        onPointerDown={startHold}
        onPointerUp={stopHold}
        onPointerLeave={stopHold}
        onPointerCancel={stopHold}
        onContextMenu={(e) => e.preventDefault()}
      />
      {state.at === "checking" && (
        <Dialog title={t("exit.title")} onClose={close} testId="exit-dialog">
          <p>{t("common.working")}</p>
        </Dialog>
      )}
      {state.at === "unreachable" && (
        <Dialog title={t("exit.title")} onClose={close} testId="exit-dialog">
          <p role="alert" data-testid="exit-unreachable">
            {problem ?? t("exit.unreachable")}
          </p>
          <div className="actions">
            <button onClick={open}>{t("exit.retry")}</button>
            <button className="primary" data-autofocus onClick={close}>
              {t("exit.stay")}
            </button>
          </div>
        </Dialog>
      )}
      {state.at === "noPin" && (
        <Dialog title={t("exit.title")} onClose={close} testId="exit-dialog">
          <p data-testid="exit-no-pin">{t("exit.noPin")}</p>
          {problem && (
            <p className="error" role="alert">
              {problem}
            </p>
          )}
          <div className="actions">
            <button data-autofocus onClick={close}>
              {t("exit.stay")}
            </button>
            <button className="primary" data-testid="exit-leave" disabled={busy} onClick={() => leave("")}>
              {t("exit.leave")}
            </button>
          </div>
        </Dialog>
      )}
      {state.at === "pin" && (
        <PinPad
          team=""
          title={t("exit.title")}
          hint={t("exit.hint")}
          testId="exit-pin-pad"
          problem={problem}
          busy={busy}
          onEnter={leave}
          onClose={close}
        />
      )}
    </>
  );
}
