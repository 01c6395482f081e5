// The truth about this device's sound, from Screen.sound: on (tap to
// mute), muted (tap to unmute), or no sound device (a warning that says
// why and what to do). The mute toggle stays in every state: it is this
// device's choice and holds when a device appears. "Test" plays the chime
// now, whatever the mute, and makes the app look for a sound device again.
import { useState } from "react";
import { commands, type SoundState } from "../bindings";
import { useT } from "../i18n";
import "./alerts.css";

export function SoundControl({
  sound,
  muted,
  onError,
}: {
  /** Screen.sound */
  sound: SoundState;
  /** Screen.muted */
  muted: boolean;
  /** Hears a failed mute or test (e.g. the screen's problem banner). */
  onError?: (e: unknown) => void;
}) {
  const { t } = useT();
  const [busy, setBusy] = useState(false);
  const [why, setWhy] = useState(false);
  const act = (call: () => Promise<unknown>) => {
    setBusy(true);
    call()
      .catch((e) => onError?.(e))
      .finally(() => setBusy(false));
  };
  const noDevice = sound === "noDevice";
  return (
    <span className={`sound-control sound-${sound}`} data-testid="sound-control" data-sound={sound}>
      {noDevice && (
        <span className="sound-warning-wrap">
          <button
            type="button"
            className="sound-warning"
            data-testid="sound-no-device"
            aria-expanded={why}
            title={t("sound.noDeviceHelp")}
            onClick={() => setWhy((w) => !w)}
          >
            <span aria-hidden="true">⚠ </span>
            {t("sound.noDevice")}
          </button>
          {why && (
            <span className="sound-why" role="note" data-testid="sound-why">
              {t("sound.noDeviceHelp")}
            </span>
          )}
        </span>
      )}
      <button
        type="button"
        data-testid="mute"
        className={muted ? "muted" : ""}
        aria-pressed={muted}
        disabled={busy}
        title={muted ? t("sound.tapToUnmute") : t("sound.tapToMute")}
        onClick={() => act(() => commands.setMuted(!muted))}
      >
        {noDevice ? (muted ? t("sound.unmute") : t("sound.mute")) : muted ? t("sound.muted") : t("sound.on")}
      </button>
      <button
        type="button"
        data-testid="test-chime"
        disabled={busy}
        title={t("sound.testHelp")}
        onClick={() => act(() => commands.testChime(null))}
      >
        {t("sound.test")}
      </button>
    </span>
  );
}
