import { useEffect, useState } from "react";
import { commands, type Session } from "./bindings";
import { errorText } from "./core";
import { Kiosk } from "./Kiosk";
import { Barista } from "./Barista";
import { Board } from "./Board";
import { Setup } from "./Setup";

/** Asks the shell who this window is and shows that screen. */
export function App() {
  const [session, setSession] = useState<Session | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    commands.session().then(setSession).catch((e) => setError(errorText(e)));
  }, []);

  useEffect(() => {
    // Window titles tell screens apart (and let the end-to-end test find them).
    if (session) document.title = `Countertop — ${session.screen}`;
  }, [session]);

  if (error) return <div className="fatal">Countertop cannot start this screen: {error}</div>;
  if (!session) return <div className="loading">Starting…</div>;
  switch (session.screen) {
    case "setup":
      return <Setup onDone={setSession} />;
    case "kiosk":
      return <Kiosk />;
    case "barista":
    case "manager":
      return <Barista session={session} />;
    case "board":
      return <Board />;
    case "display":
      return (
        <div className="welcome">
          <h1>Signature display</h1>
          <p>Waiting for a work order to sign.</p>
        </div>
      );
  }
}
