// Draws any entity record the API answers: values as a list, lists of records as tables, and
// bilingual texts (text_zh/text_en) in the current language. Masking is the server's.
import { bi } from "../../components/ui.js";
import { h } from "../../dom.js";
import { t } from "../../i18n.js";

const label = (key) => (t(`entity.field.${key}`) === `entity.field.${key}` ? key : t(`entity.field.${key}`));
const isRecord = (v) => v && typeof v === "object" && !Array.isArray(v);
const bilingual = (v) => isRecord(v) && ("text_zh" in v || "title_zh" in v || "name_zh" in v);

function scalar(value) {
  if (value == null || value === "") return "—";
  if (typeof value === "boolean") return t(value ? "common.yes" : "common.no");
  return String(value);
}

function tableOf(rows) {
  const keys = [...new Set(rows.flatMap((r) => Object.keys(r)))].filter((k) => !k.endsWith("_en"));
  return h("div", { class: "table-scroll" }, h("table", { class: "data-table" },
    h("thead", {}, h("tr", {}, keys.map((k) => h("th", { scope: "col" }, label(k.replace(/_zh$/, "")))))),
    h("tbody", {}, rows.slice(0, 200).map((r) => h("tr", {}, keys.map((k) =>
      h("td", {}, k.endsWith("_zh") ? bi(r, k.slice(0, -3)) : isRecord(r[k]) || Array.isArray(r[k]) ? value(r[k]) : scalar(r[k]))))))));
}

/** One value of any shape, as DOM. */
export function value(v) {
  if (Array.isArray(v)) {
    if (!v.length) return h("span", { class: "empty" }, t("entity.none"));
    if (v.every(bilingual)) return h("ul", { class: "reasons" }, v.map((x) => h("li", {}, bi(x, "text") || bi(x, "title") || bi(x, "name"))));
    if (v.every(isRecord)) return tableOf(v);
    return v.map(scalar).join("、");
  }
  if (isRecord(v)) {
    const keys = Object.keys(v).filter((k) => !k.endsWith("_en"));
    return h("dl", { class: "kv" }, keys.flatMap((k) => [
      h("dt", {}, label(k.replace(/_zh$/, ""))),
      h("dd", {}, k.endsWith("_zh") ? bi(v, k.slice(0, -3)) : value(v[k])),
    ]));
  }
  return scalar(v);
}
