import { useEffect, useRef, useState } from "react";
import { getCurrentWebviewWindow } from "@tauri-apps/api/webviewWindow";
import { commands, events, type Session } from "./bindings";
import { LanguageProvider, useT } from "./i18n";
import { Kiosk } from "./screens/Kiosk";
import { Barista } from "./screens/Barista";
import { Board } from "./screens/Board";
import { Setup } from "./screens/Setup";
import { NotYourHub } from "./screens/NotYourHub";
import { Display } from "./screens/Display";
import { Manager } from "./manager/Manager";

/** Asks the shell who this window is and shows that screen. */
export function App() {
  return (
    <LanguageProvider>
      <Window />
    </LanguageProvider>
  );
}

type Removed = { message: string | null; hubUrl: string };

function Window() {
  const { t, errorText } = useT();
  const [session, setSession] = useState<Session | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [removed, setRemoved] = useState<Removed | null>(null);
  /** The hub's address answered with another key: why (null when it is ours). */
  const [stranger, setStranger] = useState<string | null>(null);
  const askedOnce = useRef(false);
  const removedRef = useRef(removed);
  removedRef.current = removed;

  useEffect(() => {
    commands.session().then(setSession).catch((e) => setError(errorText(e)));
    // errorText only changes with the language; the session is asked for once.
  }, []);

  useEffect(() => {
    // Window titles tell screens apart (and let the end-to-end test find them).
    if (session) document.title = `Countertop — ${session.screen}`;
  }, [session]);

  // A device the hub revoked drops to its pairing screen, whichever screen it showed.
  useEffect(() => {
    if (!session || session.screen === "setup") return;
    const hubUrl = session.hub;
    let alive = true;
    // On start the device may already be out (revoked while this app was closed).
    // After re-pairing, only a new rejection counts.
    if (!askedOnce.current) {
      askedOnce.current = true;
      commands
        .screen()
        .then((s) => {
          if (alive && s.status.state === "rejected") setRemoved({ message: s.status.message, hubUrl });
          if (alive && s.status.state === "not_your_hub") setStranger(s.status.message ?? "");
        })
        .catch(() => {});
    }
    const unlisten = events.coreUpdate(getCurrentWebviewWindow()).listen((event) => {
      const update = event.payload;
      if (update.kind === "status" && update.state === "rejected") {
        setRemoved({ message: update.message, hubUrl });
      } else if (update.kind === "status" && update.state === "not_your_hub") {
        setStranger(update.message ?? "");
      } else if (update.kind === "status" && update.state === "live") {
        setStranger(null);
        // Paired again from another window of this device (the board opened
        // from a barista screen, say): this one is back too.
        if (removedRef.current) {
          setRemoved(null);
          commands.session().then(setSession).catch(() => {});
        }
      }
    });
    return () => {
      alive = false;
      unlisten.then((f) => f());
    };
  }, [session]);

  if (error) return <div className="fatal" role="alert">{t("app.cannotStart", { error })}</div>;
  if (!session) return <div className="loading">{t("app.starting")}</div>;
  if (stranger !== null && !removed) {
    return (
      <NotYourHub
        message={stranger}
        hubUrl={session.hub}
        onPairAgain={() => {
          setStranger(null);
          setRemoved({ message: stranger, hubUrl: session.hub });
        }}
      />
    );
  }
  if (removed) {
    return (
      <Setup
        removed={removed}
        onDone={(s) => {
          setRemoved(null);
          setSession(s);
        }}
      />
    );
  }
  switch (session.screen) {
    case "setup":
      return <Setup onDone={setSession} />;
    case "kiosk":
      return <Kiosk />;
    case "barista":
      return <Barista session={session} />;
    case "manager":
      return <Manager session={session} />;
    case "board":
      return <Board />;
    case "display":
      return <Display />;
  }
}
