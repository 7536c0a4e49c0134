// The app shell: header with city name, navigation, language switch, large-text toggle, user menu.
import { can, currentUser, logout, onUserChange } from "./api.js";
import { h } from "./dom.js";
import { getLang, onLangChange, setLang, t } from "./i18n.js";
import { liveState, onLive, onLiveState } from "./live.js";
import { navigate, parse } from "./nav.js";

const LARGE_KEY = "citybrain.largeText";
// Links shown to those whose role has `needs` (or to everyone when it has none).
export const NAV = [
  { path: "/overview", key: "nav.overview" },
  { path: "/map", key: "nav.map" },
  { path: "/topic", key: "nav.topics", needs: "topics.read" },
  { path: "/desk", key: "nav.desk", needs: "cases.read" },
  { path: "/entity", key: "nav.entity", needs: "entities.read" },
  { path: "/governance", key: "nav.governance", needs: "catalog.read" },
  { path: "/credit-review", key: "nav.creditReview", needs: "credit.review" },
  { path: "/reports", key: "nav.reports", needs: "findings.read" },
  { path: "/patrol", key: "nav.patrol", needs: "cases.write" },
];
const TOAST_SECONDS = 6;

function applyLargeText(on) {
  document.documentElement.classList.toggle("large-text", on);
  localStorage.setItem(LARGE_KEY, on ? "1" : "0");
}

export function buildShell(root, cityName) {
  const city = h("span", { class: "city", id: "city-name" }, cityName || "");
  const title = h("span", { class: "app-title", "data-i18n": "app.title" });
  const nav = h("nav", { "aria-label": t("shell.nav"), id: "nav" },
    h("ul", {}, NAV.map((item) => h("li", {}, h("a", { href: `#${item.path}`, "data-i18n": item.key, "data-path": item.path })))));
  const lang = h("button", { type: "button", id: "lang-switch", class: "tool", onclick: () => setLang(getLang() === "zh-CN" ? "en" : "zh-CN") });
  const large = h("button", { type: "button", id: "large-text", class: "tool", "aria-pressed": "false", "data-i18n": "shell.largeText",
    onclick: () => { applyLargeText(large.getAttribute("aria-pressed") !== "true"); sync(); } });
  const user = h("div", { class: "user", id: "user-menu" });
  const badge = h("span", { class: "live-badge", id: "live-badge", hidden: true });
  // On a phone the navigation and tools fold into a menu behind one button (CSS shows it ≤700 px).
  const menu = h("button", { type: "button", id: "menu-toggle", class: "tool menu-toggle", "aria-expanded": "false", "aria-controls": "shell-menu" });
  const panel = h("div", { class: "shell-menu", id: "shell-menu" }, nav, h("div", { class: "tools" }, badge, lang, large, user));
  const header = h("header", { class: "shell" }, h("h1", {}, title, city), menu, panel);
  const fold = (open) => { header.classList.toggle("menu-open", open); menu.setAttribute("aria-expanded", String(open)); };
  menu.addEventListener("click", () => fold(!header.classList.contains("menu-open")));
  window.addEventListener("hashchange", () => fold(false));
  const main = h("main", { id: "main", tabindex: "-1" });
  const toasts = h("div", { class: "toasts", id: "toasts", role: "status", "aria-live": "polite" });
  root.replaceChildren(header, main, toasts);
  onLiveState(() => syncBadge(badge));
  onLive("case.create", (event) => toast(toasts, t("live.caseOpened", { id: event.data.case_id, topic: event.data.topic })));
  onLive("finding.published", (event) => toast(toasts, t("live.findings", { count: event.data.count, topic: event.data.topic })));

  function sync() {
    const pressed = document.documentElement.classList.contains("large-text");
    large.setAttribute("aria-pressed", String(pressed));
    menu.textContent = t("shell.menu");
    lang.textContent = t("shell.langSwitch");
    // The accessible name is the visible word (WCAG 2.5.3: a voice user says what they see); what
    // the button does is its description.
    lang.setAttribute("title", t("shell.langLabel"));
    lang.setAttribute("lang", getLang() === "zh-CN" ? "en" : "zh-CN");
    nav.setAttribute("aria-label", t("shell.nav"));
    const { path } = parse();
    nav.querySelectorAll("a").forEach((a) => {
      const item = NAV.find((n) => n.path === a.dataset.path);
      a.parentElement.hidden = !!item.needs && !can(item.needs);
      if (a.dataset.path === path) a.setAttribute("aria-current", "page");
      else a.removeAttribute("aria-current");
    });
    renderUser(user);
    syncBadge(badge);
  }
  applyLargeText(localStorage.getItem(LARGE_KEY) === "1");
  onLangChange(sync);
  onUserChange(sync);
  return { main, sync, setCity: (name) => (city.textContent = name) };
}

function renderUser(box) {
  const me = currentUser();
  if (!me) {
    const { path } = parse();
    box.replaceChildren(h("a", { class: "tool", id: "login-link", href: `#/login?next=${encodeURIComponent(path === "/login" ? "/overview" : path)}` }, t("shell.login")));
    return;
  }
  box.replaceChildren(
    h("span", { class: "who", id: "user-name" }, `${me.username}${me.department ? ` · ${me.department}` : ""}`),
    h("button", { type: "button", class: "tool", id: "logout", onclick: async () => { await logout(); navigate("/login"); } }, t("shell.logout")),
  );
}

function syncBadge(badge) {
  const state = liveState();
  badge.hidden = state === "off";
  badge.dataset.state = state;
  badge.textContent = t(`live.${state}`);
  badge.title = t("live.hint");
}

/** A short notice in the corner; several at once are shown together, the oldest leave first. */
function toast(box, text) {
  const item = h("p", { class: "toast" }, text);
  box.append(item);
  while (box.children.length > 3) box.firstElementChild.remove();
  setTimeout(() => item.remove(), TOAST_SECONDS * 1000);
}
