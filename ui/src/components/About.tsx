import { useEffect, useState } from "react";
import { commands, type AboutView } from "../bindings";
import { useT } from "../i18n";

/** This app's release and its hub's: what a manager reads out to support,
 * and how they see that a hub was upgraded too. */
export function About() {
  const { t } = useT();
  const [view, setView] = useState<AboutView | null>(null);
  useEffect(() => {
    let live = true;
    commands
      .about()
      .then((v) => live && setView(v))
      .catch(() => live && setView(null));
    return () => {
      live = false;
    };
  }, []);
  return (
    <fieldset className="about" data-testid="about">
      <legend>{t("about.title")}</legend>
      {view && (
        <>
          <p data-testid="about-app" data-version={view.appVersion}>
            {t("about.app", { version: view.appVersion })}
          </p>
          <p data-testid="about-hub" data-version={view.hubVersion ?? ""}>
            {view.hubVersion
              ? t("about.hub", { version: view.hubVersion, hub: view.hub })
              : t("about.hubUnknown", { hub: view.hub })}
          </p>
        </>
      )}
    </fieldset>
  );
}
