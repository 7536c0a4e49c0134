// Small building blocks the pages share: sections, states, a guard, dates, API feature detection.
import { can, currentUser } from "../api.js";
import { h } from "../dom.js";
import { getLang, t } from "../i18n.js";
import { navigate, visit } from "../nav.js";
import "./components.css";

/** A titled section; the heading labels it for screen readers. */
export function section(id, title, ...body) {
  return h("section", { class: "card panel", id, "aria-labelledby": `${id}-title` }, h("h2", { id: `${id}-title` }, title), ...body);
}

/** A clear "not available" state: the feature's API is not in this server yet. */
export const notAvailable = (what) => h("p", { class: "not-available", role: "status" }, t("common.notAvailable", { what }));

export const errorNote = (error) => h("p", { class: "error", role: "alert" }, t("error.load", { message: error.message }));

/** True when the signed-in user holds ``permission``; otherwise sends a visitor to sign in. */
export function allowed(main, permission, path) {
  if (can(permission)) return true;
  if (!currentUser()) navigate(`/login?needed=1&next=${encodeURIComponent(path)}`);
  else main.append(h("p", { class: "card", role: "status" }, t("common.forbidden")));
  main.dataset.ready = "1";
  return false;
}

export function formatTime(value) {
  return value ? new Date(value).toLocaleString(getLang(), { hour12: false }) : "—";
}

let paths = null;

/** The server's routes, from its OpenAPI document (read once): path template → methods. */
export function apiPaths() {
  paths ??= fetch("/openapi.json").then((r) => (r.ok ? r.json() : { paths: {} })).then((spec) => spec.paths ?? {});
  return paths;
}

/** Whether the server offers ``method path`` (an OpenAPI path template such as /api/v1/x/{id}).
 * Pages ask before calling routes that are still being added, so a missing one shows a state,
 * not a failed request. */
export async function offers(path, method = "get") {
  return Boolean((await apiPaths())[path]?.[method]);
}

/** A label wrapping a control, so the text names it; ``hint`` becomes its description. */
export function field(label, control, hint) {
  const id = control.id || `f-${Math.random().toString(36).slice(2, 9)}`;
  control.id = id;
  const parts = [h("label", { for: id }, label), control];
  if (hint) {
    control.setAttribute("aria-describedby", `${id}-hint`);
    parts.push(h("span", { class: "hint", id: `${id}-hint` }, hint));
  }
  return h("div", { class: "field" }, parts);
}

export function select(id, options, value = "") {
  return h("select", { id }, options.map(([v, label]) => h("option", { value: v, selected: v === value }, label)));
}

/** A bilingual pair from the API in the current language, falling back to the other. */
export function bi(obj, field) {
  const mine = getLang() === "en" ? obj[`${field}_en`] : obj[`${field}_zh`];
  return mine || obj[`${field}_zh`] || obj[`${field}_en`] || "";
}

/** ``t(prefix.value)`` when there is such a text, else the value itself (codes from the data). */
export function known(prefix, value) {
  if (value == null || value === "") return "—";
  const key = `${prefix}.${value}`;
  return t(key) === key ? String(value) : t(key);
}

/** A test that stays true while the visitor is still on the page that called it: a page checks it
 * after each wait, so a slow answer never draws over the page the visitor went to since. */
export function stillHere() {
  const mine = visit();
  return () => visit() === mine;
}
