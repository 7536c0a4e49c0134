// The app shell: header with city name, navigation, language switch, large-text toggle, user menu.
import { currentUser, logout, onUserChange } from "./api.js";
import { h } from "./dom.js";
import { getLang, onLangChange, setLang, t } from "./i18n.js";
import { navigate, parse } from "./router.js";

const LARGE_KEY = "citybrain.largeText";
export const NAV = [
  { path: "/overview", key: "nav.overview" },
  { path: "/map", key: "nav.map" },
];

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
  const header = h("header", { class: "shell" }, h("h1", {}, title, city), nav, h("div", { class: "tools" }, lang, large, user));
  const main = h("main", { id: "main", tabindex: "-1" });
  root.replaceChildren(header, main);

  function sync() {
    const pressed = document.documentElement.classList.contains("large-text");
    large.setAttribute("aria-pressed", String(pressed));
    lang.textContent = t("shell.langSwitch");
    lang.setAttribute("aria-label", t("shell.langLabel"));
    lang.setAttribute("lang", getLang() === "zh-CN" ? "en" : "zh-CN");
    nav.setAttribute("aria-label", t("shell.nav"));
    const { path } = parse();
    nav.querySelectorAll("a").forEach((a) => (a.dataset.path === path ? a.setAttribute("aria-current", "page") : a.removeAttribute("aria-current")));
    renderUser(user);
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
