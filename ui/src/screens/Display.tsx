import { useEffect, useId, useRef, useState } from "react";
import { commands, type CoreUpdate, type Screen, type WorkorderEntry } from "../bindings";
import { EarlyOutcomes, useScreen, type Outcome } from "../core";
import { useT } from "../i18n";
import { SignaturePad, signatureSvg, type Stroke } from "../components/SignaturePad";
import { StatusBar } from "../components/StatusBar";

/** How long the thank-you stays (a tap ends it sooner). */
const THANKS_MS = 5_000;

/** A signature waiting in the outbox: enough to restore the form if the hub refuses it. */
type Submitted = { key: string; workorderId: string; version: string; strokes: Stroke[]; name: string };

/** The signature display: idle until a work order is presented to this device,
 * then the order, a signature pad and Approve; a thank-you; idle again. */
export function Display() {
  const { t, errorText } = useT();
  const [submitted, setSubmitted] = useState<Submitted[]>([]);
  const [thanks, setThanks] = useState(false);
  const [refused, setRefused] = useState<{ workorderId: string; message: string; strokes: Stroke[]; name: string } | null>(
    null,
  );
  const submittedRef = useRef(submitted);
  submittedRef.current = submitted;

  const early = useRef(new EarlyOutcomes()).current;

  const refuse = (mine: Submitted, message: string) => {
    setSubmitted((all) => all.filter((s) => s.key !== mine.key));
    setRefused({ workorderId: mine.workorderId, message, strokes: mine.strokes, name: mine.name });
    setThanks(false);
  };

  const onUpdate = (update: CoreUpdate) => {
    if (update.kind !== "sent" && update.kind !== "refused") return;
    const mine = submittedRef.current.find((s) => s.key === update.key);
    if (!mine) early.keep(update);
    else if (update.kind === "refused") refuse(mine, update.message);
    // On `sent` the entry stays: it hides that version of the work order until
    // the hub's update (status APPROVED, a newer updatedAt) reaches the cache.
  };
  const { screen, error } = useScreen(onUpdate);

  useEffect(() => {
    if (!thanks) return;
    const timer = window.setTimeout(() => setThanks(false), THANKS_MS);
    return () => window.clearTimeout(timer);
  }, [thanks]);

  if (!screen) return <div className="loading">{error ?? t("app.loading")}</div>;
  const cafe = screen.settings.cafe_name ?? "Countertop";
  const wo = waiting(screen, submitted);

  let body: React.ReactNode;
  if (thanks) {
    body = (
      <button className="display-thanks" data-testid="display-thanks" onClick={() => setThanks(false)}>
        <span className="thanks-title" role="status">
          {t("display.thanks")}
        </span>
        <span className="big">{t("display.thanksBody")}</span>
        <span className="muted">{t("display.tapToContinue")}</span>
      </button>
    );
  } else if (!wo) {
    body = (
      <div className="display-idle" data-testid="display-idle">
        <h1>{cafe}</h1>
        <p className="big">{t("display.waiting")}</p>
        <p className="muted">{t("display.waitingHint")}</p>
      </div>
    );
  } else {
    const restore = refused?.workorderId === wo.id ? refused : null;
    body = (
      <SignForm
        key={`${wo.id}@${wo.updatedAt}@${restore ? "again" : ""}`}
        workorder={wo}
        settings={screen.settings}
        initialStrokes={restore?.strokes ?? []}
        initialName={restore?.name ?? ""}
        problem={restore ? t("display.refused", { message: restore.message }) : null}
        onSign={async (strokes, name) => {
          const key = await commands.signWorkorder(wo.id, name, signatureSvg(strokes)).catch((e) => {
            throw new Error(errorText(e));
          });
          const mine: Submitted = { key, workorderId: wo.id, version: wo.updatedAt, strokes, name };
          const outcome: Outcome | undefined = early.take(key);
          if (outcome?.kind === "refused") {
            refuse(mine, outcome.message);
            return;
          }
          setRefused(null);
          submittedRef.current = [...submittedRef.current, mine];
          setSubmitted(submittedRef.current);
          setThanks(true);
        }}
      />
    );
  }

  return (
    <main className="display">
      <StatusBar status={screen.status} outboxDepth={screen.outboxDepth} />
      {body}
    </main>
  );
}

/** The work order presented to this display and still waiting for its signature. */
function waiting(screen: Screen, submitted: Submitted[]): WorkorderEntry | undefined {
  return screen.workorders.find(
    (w) =>
      w.status === "AWAITING_SIGNATURE" &&
      w.presentedTo === screen.deviceId &&
      !submitted.some((s) => s.workorderId === w.id && s.version === w.updatedAt),
  );
}

function SignForm({
  workorder: wo,
  settings,
  initialStrokes,
  initialName,
  problem,
  onSign,
}: {
  workorder: WorkorderEntry;
  settings: Screen["settings"];
  initialStrokes: Stroke[];
  initialName: string;
  problem: string | null;
  onSign: (strokes: Stroke[], name: string) => Promise<void>;
}) {
  const { t, fmt } = useT();
  const [strokes, setStrokes] = useState<Stroke[]>(initialStrokes);
  const [name, setName] = useState(initialName);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(problem);
  const nameId = useId();
  const hintId = useId();
  const ready = strokes.length > 0 && name.trim().length > 0;

  return (
    <form
      className="display-workorder"
      data-testid="display-workorder"
      onSubmit={(e) => {
        e.preventDefault();
        if (!ready || busy) return;
        setBusy(true);
        setError(null);
        onSign(strokes, name.trim())
          .catch((err: Error) => setError(err.message))
          .finally(() => setBusy(false));
      }}
    >
      <header>
        <h1 data-testid="wo-title">{wo.title}</h1>
        <p className="customer">{t("display.customer", { name: wo.customerName })}</p>
      </header>
      <table className="wo-lines">
        <tbody>
          {wo.lines.map((l, i) => (
            <tr key={i}>
              <td>{l.description}</td>
              <td className="amount">{fmt.money(l.amount, settings)}</td>
            </tr>
          ))}
        </tbody>
        <tfoot>
          <tr>
            <th scope="row">{t("common.total")}</th>
            <td className="amount" data-testid="wo-total">
              {fmt.money(wo.totalAmount, settings)}
            </td>
          </tr>
        </tfoot>
      </table>
      <div className="pad-area">
        <SignaturePad
          strokes={strokes}
          onChange={setStrokes}
          label={t("display.padLabel")}
          keyboardHint={t("display.padKeys")}
          keyboardLegend={t("display.padKeysLegend")}
          placeholder={t("display.signHere")}
        />
        <div className="pad-tools">
          <button type="button" data-testid="signature-undo" disabled={strokes.length === 0} onClick={() => setStrokes((s) => s.slice(0, -1))}>
            {t("display.undo")}
          </button>
          <button type="button" data-testid="signature-clear" disabled={strokes.length === 0} onClick={() => setStrokes([])}>
            {t("display.clear")}
          </button>
        </div>
      </div>
      <div className="signer">
        <label htmlFor={nameId}>{t("display.name")}</label>
        <input
          id={nameId}
          data-testid="signer-name"
          value={name}
          maxLength={100}
          autoComplete="name"
          aria-describedby={hintId}
          onChange={(e) => setName(e.target.value)}
        />
      </div>
      {error && (
        <p className="error" role="alert" data-testid="display-problem">
          {error}
        </p>
      )}
      <p id={hintId} className="muted">
        {ready ? "" : t("display.approveHint")}
      </p>
      <button type="submit" className="primary huge" data-testid="approve" disabled={!ready || busy}>
        {busy ? t("common.working") : t("display.approve")}
      </button>
    </form>
  );
}
