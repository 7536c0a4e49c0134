// Entry: shell, the page table, session resume, the live feed; a page re-renders when the language
// changes. Pages load on first visit (their own chunks), so maplibre and echarts load only where
// needed. The page table lives here, above the router and the pages: neither imports the other.
import "./style.css";
import { can, currentUser, resume } from "./api.js";
import { h } from "./dom.js";
import { getLang, onLangChange, t, translate } from "./i18n.js";
import { startLive } from "./live.js";
import { loginPage } from "./pages/login.js";
import { navigate } from "./nav.js";
import { addRoute, lazyPage, render, setRouteListener, start } from "./router.js";
import { buildShell } from "./shell.js";

/** A page that needs a permission sends a signed-out visitor to the login page first. */
function guarded(page, path, needs) {
  return {
    ...page,
    render(main, params) {
      if (needs && !can(needs)) {
        if (!currentUser()) navigate(`/login?needed=1&next=${encodeURIComponent(path)}`);
        else main.append(h("p", { class: "card" }, t("error.notFound")));
        return undefined;
      }
      return page.render(main, params);
    },
    leave: () => page.leave?.(),
  };
}

async function main() {
  document.documentElement.lang = getLang();
  const shell = buildShell(document.getElementById("app"));
  addRoute("/overview", lazyPage("overview.title", async () => ({ default: (await import("./pages/overview.js")).default(shell) })));
  addRoute("/map", guarded(lazyPage("map.title", () => import("./pages/map.js")), "/map", "map.read"));
  addRoute("/login", loginPage);
  // Topic pages, the case desk, entity 360 and data governance (their modules check permissions).
  addRoute("/topic", lazyPage("topic.title", () => import("./pages/topic.js")));
  addRoute("/desk", lazyPage("desk.title", () => import("./pages/desk.js")));
  addRoute("/case", lazyPage("desk.caseTitle", () => import("./pages/case.js")));
  addRoute("/entity", lazyPage("entity.title", () => import("./pages/entity.js")));
  addRoute("/governance", lazyPage("governance.title", () => import("./pages/governance.js")));
  addRoute("/credit-review", lazyPage("creditReview.title", () => import("./pages/credit-review.js"))); // 信用修复审核 (credit steward)
  addRoute("/reports", lazyPage("reports.title", () => import("./pages/reports.js")));
  addRoute("/patrol", lazyPage("patrol.title", () => import("./patrol/page.js"))); // 巡查上报 (grid workers)
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
  startLive();
  await start(shell.main);
}

main().catch((error) => {
  document.getElementById("app").append(h("p", { class: "error", role: "alert" }, t("error.load", { message: error.message })));
});
