// A signature pad for finger, pen and mouse: pointer events on an <svg>,
// strokes smoothed with quadratic curves through the midpoints, a pen's
// pressure widening its stroke. The result is plain SVG (paths only).
// Without a pointer the pad is drawn on with the keyboard: it takes focus,
// the arrow keys move a pen (Shift for small steps), Space or Enter puts it
// down and lifts it, and each lift finishes a stroke.
import { useId, useRef, useState } from "react";

/** The pad's own coordinates; the element keeps this aspect ratio. */
export const PAD_WIDTH = 1000;
export const PAD_HEIGHT = 400;
const INK = "#1b1b1b";
const BASE_WIDTH = 4;
/** How far one arrow key moves the keyboard pen (with Shift: a fifth). */
const KEY_STEP = 40;

export type Point = { x: number; y: number };
export type Stroke = { points: Point[]; width: number };

const round = (n: number) => Math.round(n * 10) / 10;

/** The path through a stroke's points: straight to the first midpoint, then a
 * quadratic curve through each point to the next midpoint, straight to the end. */
export function strokePath(points: Point[]): string {
  if (points.length === 0) return "";
  const [first] = points;
  if (points.length < 3) {
    const last = points[points.length - 1];
    return `M${round(first.x)} ${round(first.y)}L${round(last.x)} ${round(last.y)}`;
  }
  let d = `M${round(first.x)} ${round(first.y)}`;
  for (let i = 1; i < points.length - 1; i++) {
    const p = points[i];
    const next = points[i + 1];
    d += `Q${round(p.x)} ${round(p.y)} ${round((p.x + next.x) / 2)} ${round((p.y + next.y) / 2)}`;
  }
  const last = points[points.length - 1];
  return d + `L${round(last.x)} ${round(last.y)}`;
}

/** The strokes as a standalone SVG document: paths and stroke attributes only. */
export function signatureSvg(strokes: Stroke[]): string {
  const paths = strokes
    .filter((s) => s.points.length > 0)
    .map((s) => `<path d="${strokePath(s.points)}" stroke-width="${round(s.width)}"/>`)
    .join("");
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${PAD_WIDTH} ${PAD_HEIGHT}" width="${PAD_WIDTH}" height="${PAD_HEIGHT}">` +
    `<g fill="none" stroke="${INK}" stroke-linecap="round" stroke-linejoin="round">${paths}</g></svg>`
  );
}

type Drawing = { id: number; points: Point[]; pressures: number[]; pen: boolean };

/** Where an arrow key sends the keyboard pen. */
const MOVES: Record<string, Point> = {
  ArrowLeft: { x: -1, y: 0 },
  ArrowRight: { x: 1, y: 0 },
  ArrowUp: { x: 0, y: -1 },
  ArrowDown: { x: 0, y: 1 },
};

export function SignaturePad({
  strokes,
  onChange,
  label,
  keyboardHint,
  keyboardLegend,
  placeholder,
}: {
  strokes: Stroke[];
  onChange: (strokes: Stroke[]) => void;
  /** What a screen reader hears. */
  label: string;
  /** How to draw with the keyboard, for screen readers. */
  keyboardHint: string;
  /** The same in a few words, shown inside the pad while it has the focus
   * (inside, so nothing moves when the focus comes and goes). */
  keyboardLegend: string;
  /** Shown faintly while the pad is empty. */
  placeholder: string;
}) {
  const svg = useRef<SVGSVGElement>(null);
  const drawing = useRef<Drawing | null>(null);
  const [live, setLive] = useState<Point[] | null>(null);
  // The keyboard pen: where it is, and the stroke it draws while down.
  const [pen, setPen] = useState<Point>({ x: PAD_WIDTH / 4, y: PAD_HEIGHT / 2 });
  const [penDown, setPenDown] = useState<Point[] | null>(null);
  const [focused, setFocused] = useState(false);
  const hintId = useId();

  const liftPen = () => {
    if (penDown && penDown.length > 1) onChange([...strokes, { points: penDown, width: BASE_WIDTH }]);
    setPenDown(null);
  };

  const onKeyDown = (e: React.KeyboardEvent) => {
    const move = MOVES[e.key];
    if (move) {
      e.preventDefault();
      const step = e.shiftKey ? KEY_STEP / 5 : KEY_STEP;
      const next = {
        x: Math.min(PAD_WIDTH, Math.max(0, pen.x + move.x * step)),
        y: Math.min(PAD_HEIGHT, Math.max(0, pen.y + move.y * step)),
      };
      setPen(next);
      if (penDown) setPenDown([...penDown, next]);
    } else if (e.key === " " || e.key === "Enter") {
      e.preventDefault();
      if (penDown) liftPen();
      else setPenDown([pen]);
    } else if (e.key === "Escape" && penDown) {
      e.preventDefault();
      setPenDown(null);
    }
  };

  const toPad = (e: { clientX: number; clientY: number }): Point => {
    const box = svg.current!.getBoundingClientRect();
    return {
      x: Math.min(PAD_WIDTH, Math.max(0, ((e.clientX - box.left) / box.width) * PAD_WIDTH)),
      y: Math.min(PAD_HEIGHT, Math.max(0, ((e.clientY - box.top) / box.height) * PAD_HEIGHT)),
    };
  };

  const addPoint = (d: Drawing, e: PointerEvent) => {
    const p = toPad(e);
    const last = d.points[d.points.length - 1];
    // Skip jitter under half a unit: it only adds bytes.
    if (last && Math.hypot(p.x - last.x, p.y - last.y) < 0.5) return;
    d.points.push(p);
    if (d.pen && e.pressure > 0) d.pressures.push(e.pressure);
  };

  const finish = () => {
    const d = drawing.current;
    drawing.current = null;
    setLive(null);
    if (!d || d.points.length === 0) return;
    const pressure = d.pressures.length ? d.pressures.reduce((a, b) => a + b, 0) / d.pressures.length : 0.5;
    onChange([...strokes, { points: d.points, width: BASE_WIDTH * (0.5 + pressure) }]);
  };

  const current = live ? strokePath(live) : penDown && penDown.length > 1 ? strokePath(penDown) : null;

  return (
    <>
      <svg
        ref={svg}
        className={focused ? "signature-pad focused" : "signature-pad"}
        data-testid="signature-pad"
        viewBox={`0 0 ${PAD_WIDTH} ${PAD_HEIGHT}`}
        role="application"
        aria-roledescription="signature pad"
        aria-label={label}
        aria-describedby={hintId}
        tabIndex={0}
        onKeyDown={onKeyDown}
        onFocus={() => setFocused(true)}
        onBlur={() => {
          setFocused(false);
          liftPen();
        }}
        onPointerDown={(e) => {
          if (drawing.current || (e.pointerType === "mouse" && e.button !== 0)) return;
          e.preventDefault();
          e.currentTarget.setPointerCapture?.(e.pointerId);
          const d: Drawing = { id: e.pointerId, points: [], pressures: [], pen: e.pointerType === "pen" };
          addPoint(d, e.nativeEvent);
          drawing.current = d;
          setLive([...d.points]);
        }}
        onPointerMove={(e) => {
          const d = drawing.current;
          if (!d || e.pointerId !== d.id) return;
          const native = e.nativeEvent;
          const all = typeof native.getCoalescedEvents === "function" ? native.getCoalescedEvents() : [];
          for (const c of all.length ? all : [native]) addPoint(d, c);
          setLive([...d.points]);
        }}
        onPointerUp={(e) => {
          if (drawing.current?.id === e.pointerId) finish();
        }}
        onPointerCancel={(e) => {
          if (drawing.current?.id === e.pointerId) finish();
        }}
      >
        <line className="baseline" x1={40} x2={PAD_WIDTH - 40} y1={PAD_HEIGHT - 70} y2={PAD_HEIGHT - 70} />
        {strokes.length === 0 && !live && (
          <text className="placeholder" x={PAD_WIDTH / 2} y={PAD_HEIGHT / 2} textAnchor="middle">
            {placeholder}
          </text>
        )}
        <g fill="none" stroke={INK} strokeLinecap="round" strokeLinejoin="round">
          {strokes.map((s, i) => (
            <path key={i} d={strokePath(s.points)} strokeWidth={s.width} />
          ))}
          {current && <path className="live" d={current} strokeWidth={BASE_WIDTH} />}
        </g>
        {focused && (
          <text className="key-legend" x={PAD_WIDTH / 2} y={36} textAnchor="middle" aria-hidden="true">
            {keyboardLegend}
          </text>
        )}
        {focused && (
          <circle
            className={penDown ? "key-pen down" : "key-pen"}
            data-testid="keyboard-pen"
            cx={pen.x}
            cy={pen.y}
            r={penDown ? 7 : 10}
          />
        )}
      </svg>
      <p id={hintId} className="visually-hidden">
        {keyboardHint}
      </p>
    </>
  );
}
