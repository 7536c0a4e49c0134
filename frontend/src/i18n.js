// Every visible string goes through t(); zh-CN is the default, English the alternative.
import zh from "./i18n/zh-CN.json";
import en from "./i18n/en.json";

const DICTS = { "zh-CN": zh, en };
const KEY = "citybrain.lang";
const listeners = new Set();
let lang = DICTS[localStorage.getItem(KEY)] ? localStorage.getItem(KEY) : "zh-CN";

export function t(key, vars = {}) {
  const text = DICTS[lang][key] ?? DICTS["zh-CN"][key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => String(vars[name] ?? ""));
}

/** A bilingual API value: pick the zh or en field of an object that has both. */
export function pick(obj, field) {
  return lang === "en" ? obj[`${field}_en`] : obj[`${field}_zh`];
}

export const getLang = () => lang;

export function setLang(next) {
  lang = next;
  localStorage.setItem(KEY, lang);
  document.documentElement.lang = lang;
  listeners.forEach((fn) => fn(lang));
}

export const onLangChange = (fn) => listeners.add(fn);

export function formatNumber(value) {
  return value == null ? "—" : Number(value).toLocaleString(lang);
}

/** Fill every [data-i18n] element under root with its translation. */
export function translate(root = document) {
  root.querySelectorAll("[data-i18n]").forEach((el) => {
    el.textContent = t(el.dataset.i18n);
  });
}
