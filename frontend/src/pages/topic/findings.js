// The topic's findings: a paged table sorted on the server, filtered by level and by area.
import { api } from "../../api.js";
import { listQuery, pagedTable } from "../../components/table.js";
import { bi, field, select } from "../../components/ui.js";
import { h } from "../../dom.js";
import { t } from "../../i18n.js";
import { areaCell, subjectCell } from "../case-words.js";

const LEVELS = ["high", "medium", "low"];

function areaOptions(areas) {
  const names = {};
  const options = [["", t("topic.allAreas")]];
  for (const [level, collection] of Object.entries(areas)) {
    for (const f of collection.features) {
      names[f.properties.code] = f.properties.name;
      options.push([`${level}_id:${f.properties.code}`, `${t(`topic.area.${level}`)} · ${f.properties.name}`]);
    }
  }
  return { names, options };
}

async function loadAreas() {
  const levels = ["street", "community", "grid"];
  const found = await Promise.all(levels.map((l) => api(`/api/v1/map/areas?level=${l}&simplify=0.01`)));
  return Object.fromEntries(levels.map((l, i) => [l, found[i]]));
}

/** The section's element, and area names by code for the other panels. */
export async function findingsSection(topic, canMap) {
  const { names, options } = areaOptions(canMap ? await loadAreas() : {});
  const level = select("filter-level", [["", t("topic.allLevels")], ...LEVELS.map((l) => [l, t(`level.${l}`)])]);
  const area = select("filter-area", options);
  const columns = [
    { key: "subject_id", label: t("topic.subject"), sort: "subject_id", cell: subjectCell },
    { key: "period", label: t("topic.period"), sort: "period" },
    { key: "score", label: t("topic.score"), sort: "score", cell: (r) => r.score.toFixed(2) },
    { key: "level", label: t("topic.level"), sort: "level", cell: (r) => h("span", { class: `badge ${r.level}` }, t(`level.${r.level}`)) },
    { key: "area", label: t("topic.area.label"), cell: areaCell },
    { key: "reasons", label: t("topic.reasons"), cell: (r) => h("ul", { class: "reasons" }, r.reasons.map((x) => h("li", {}, bi(x, "text")))) },
  ];
  const table = pagedTable(columns, (paging) => {
    const [name, value] = area.value ? area.value.split(":") : [];
    const query = listQuery(paging, { level: level.value, ...(name ? { [name]: value } : {}) });
    return api(`/api/v1/topics/${encodeURIComponent(topic)}/findings?${query}`);
  }, { id: "findings-table", sort: "-score", caption: t("topic.findings") });
  level.addEventListener("change", () => table.reload());
  area.addEventListener("change", () => table.reload());
  await table.reload();
  return { names, el: h("div", {}, h("div", { class: "toolbar" }, field(t("topic.level"), level), field(t("topic.area.label"), area)), table.el) };
}
