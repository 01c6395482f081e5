import { useEffect, useState } from "react";
import { commands, type FoundHubView } from "../bindings";
import { useT } from "../i18n";

/** Pause between two searches (each listens for about two seconds). */
const SEARCH_EVERY_MS = 3000;

/** The hubs on this network (DNS-SD over mDNS), searched again every few
 * seconds while shown. Tapping one gives its address to `onPick`; the
 * pairing code is still typed. */
export function FoundHubs({ picked, onPick }: { picked: string; onPick: (url: string) => void }) {
  const { t } = useT();
  const [hubs, setHubs] = useState<FoundHubView[] | null>(null);

  useEffect(() => {
    let live = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const search = () => {
      commands
        .discoverHubs()
        .then((found) => live && setHubs(found))
        // Not allowed on this screen, or mDNS cannot run: nothing listed.
        .catch(() => live && setHubs([]))
        .finally(() => {
          if (live) timer = setTimeout(search, SEARCH_EVERY_MS);
        });
    };
    search();
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, []);

  return (
    <section className="found-hubs" aria-label={t("setup.foundHubs")} data-testid="found-hubs">
      <h2>{t("setup.foundHubs")}</h2>
      {hubs === null ? (
        <p className="hint">{t("setup.searchingHubs")}</p>
      ) : hubs.length === 0 ? (
        <p className="hint">{t("setup.noHubsFound")}</p>
      ) : (
        <ul>
          {hubs.map((hub) => (
            <li key={`${hub.fingerprint ?? ""}${hub.url}`}>
              <button
                type="button"
                className={picked === hub.url ? "on" : ""}
                aria-pressed={picked === hub.url}
                data-testid="found-hub"
                data-fingerprint={hub.fingerprint ?? ""}
                onClick={() => onPick(hub.url)}
              >
                <strong>{hub.name}</strong>
                <span className="address">{hub.address}</span>
                {hub.fingerprintShort && (
                  <span className="fingerprint" title={t("setup.hubKey")}>
                    {t("setup.hubKeyShort", { short: hub.fingerprintShort })}
                  </span>
                )}
              </button>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
