import { useState } from "react";
import { commands, type RoleName, type Session } from "./bindings";
import { errorText } from "./core";

const ROLES: { role: RoleName; name: string; what: string }[] = [
  { role: "kiosk", name: "Kiosk", what: "customers order and pay here" },
  { role: "barista", name: "Barista board", what: "staff make the orders" },
  { role: "manager", name: "Manager", what: "everything, on the counter" },
  { role: "display", name: "Signature display", what: "customers sign work orders" },
];

/** First run: host the hub here (default) or join one with a pairing code. */
export function Setup({ onDone }: { onDone: (s: Session) => void }) {
  const [mode, setMode] = useState<"host" | "join">("host");
  const [role, setRole] = useState<RoleName>("barista");
  const [hubUrl, setHubUrl] = useState("http://");
  const [code, setCode] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const codeOk = /^\d{6}$/.test(code);
  const submit = () => {
    setBusy(true);
    setError(null);
    const choice =
      mode === "host" ? { mode: "host" as const, role } : { mode: "join" as const, hubUrl, code };
    commands
      .setup(choice)
      .then(onDone)
      .catch((e) => setError(errorText(e)))
      .finally(() => setBusy(false));
  };

  return (
    <div className="setup">
      <h1>Set up Countertop</h1>
      <div className="choice">
        <button className={mode === "host" ? "on" : ""} onClick={() => setMode("host")}>
          <strong>Host the hub here</strong>
          <span>This computer keeps the café's orders; other devices join it.</span>
        </button>
        <button className={mode === "join" ? "on" : ""} onClick={() => setMode("join")}>
          <strong>Join a hub</strong>
          <span>Use the hub's address and a six-digit pairing code from it.</span>
        </button>
      </div>
      {mode === "host" ? (
        <div className="roles">
          <p>What is this screen?</p>
          {ROLES.map((r) => (
            <label key={r.role} className={role === r.role ? "on" : ""}>
              <input type="radio" name="role" checked={role === r.role} onChange={() => setRole(r.role)} />
              <strong>{r.name}</strong> — {r.what}
            </label>
          ))}
        </div>
      ) : (
        <div className="join">
          <label>
            Hub address
            <input value={hubUrl} onChange={(e) => setHubUrl(e.target.value)} placeholder="http://192.168.1.20:3001" />
          </label>
          <label>
            Pairing code
            <input
              value={code}
              inputMode="numeric"
              maxLength={6}
              onChange={(e) => setCode(e.target.value.replace(/\D/g, ""))}
              placeholder="123456"
            />
          </label>
          <p className="hint">The role comes with the code.</p>
        </div>
      )}
      {error && <p className="error">{error}</p>}
      <button
        className="primary big"
        data-testid="setup-start"
        disabled={busy || (mode === "join" && !codeOk)}
        onClick={submit}
      >
        {busy ? "Setting up…" : "Start"}
      </button>
    </div>
  );
}
