// Entry: shell, routes, session resume; a page re-renders when the language changes.
import "./style.css";
import { can, currentUser, resume } from "./api.js";
import { h } from "./dom.js";
import { getLang, onLangChange, t, translate } from "./i18n.js";
import { loginPage } from "./pages/login.js";
import { mapPage } from "./pages/map.js";
import { overviewPage } from "./pages/overview.js";
import { addRoute, navigate, render, setRouteListener, start } from "./router.js";
import { buildShell } from "./shell.js";

/** A page that needs a permission sends a signed-out visitor to the login page first. */
function guarded(page, path) {
  return {
    ...page,
    render(main, params) {
      if (page.needs && !can(page.needs)) {
        if (!currentUser()) navigate(`/login?needed=1&next=${encodeURIComponent(path)}`);
        else main.append(h("p", { class: "card" }, t("error.notFound")));
        return undefined;
      }
      return page.render(main, params);
    },
  };
}

async function main() {
  document.documentElement.lang = getLang();
  const shell = buildShell(document.getElementById("app"));
  addRoute("/overview", overviewPage(shell));
  addRoute("/map", guarded(mapPage, "/map"));
  addRoute("/login", loginPage);
  addRoute("*", { titleKey: "error.notFound", render: (el) => el.append(h("p", { class: "card" }, t("error.notFound"))) });
  setRouteListener((_, page) => {
    document.title = `${t(page.titleKey)} · ${t("app.title")}`;
    shell.sync();
  });
  const refreshText = () => {
    translate();
    render(shell.main);
  };
  onLangChange(refreshText);
  translate();
  await resume();
  await start(shell.main);
}

main().catch((error) => {
  document.getElementById("app").append(h("p", { class: "error", role: "alert" }, t("error.load", { message: error.message })));
});
