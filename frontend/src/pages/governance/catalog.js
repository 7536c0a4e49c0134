// The catalog: every dataset by zone, with owner, sensitivity, record count and freshness.
import { api } from "../../api.js";
import { listQuery, pagedTable } from "../../components/table.js";
import { field, formatTime, known, select } from "../../components/ui.js";
import { h } from "../../dom.js";
import { formatNumber, t } from "../../i18n.js";

export const ZONES = ["source", "raw", "quarantine", "std", "base", "topic"];
const FRESH = { fresh: "ok", stale: "bad", unknown: "neutral" };

export const zoneLabel = (zone) => known("zone", zone);

export async function catalogTab(showLineage) {
  const zone = select("catalog-zone", [["", t("governance.allZones")], ...ZONES.map((z) => [z, zoneLabel(z)])]);
  const columns = [
    { key: "zone", label: t("governance.zone"), sort: "zone", cell: (d) => zoneLabel(d.zone) },
    { key: "name", label: t("governance.dataset"), sort: "name", cell: (d) =>
      h("button", { type: "button", class: "link-button", "data-dataset": `${d.zone}/${d.name}`, onclick: () => showLineage(d.zone, d.name),
        "aria-label": t("governance.lineageOf", { name: d.name }) }, d.name) },
    { key: "system_id", label: t("governance.system"), sort: "system_id" },
    { key: "owner_department", label: t("governance.owner") },
    { key: "sensitivity", label: t("governance.sensitivity"), cell: (d) => known("governance.sens", d.sensitivity) },
    { key: "rows", label: t("governance.rows"), sort: "rows", cell: (d) => formatNumber(d.latest?.rows) },
    { key: "refreshed_at", label: t("governance.freshness"), sort: "refreshed_at", cell: (d) => h("span", {},
      h("span", { class: `badge ${FRESH[d.freshness.status] ?? "neutral"}` }, t(`governance.fresh.${d.freshness.status}`)), " ",
      formatTime(d.freshness.last_refreshed_at)) },
  ];
  const table = pagedTable(columns, (paging) => api(`/api/v1/catalog/datasets?${listQuery(paging, { zone: zone.value })}`),
    { id: "catalog-table", sort: "zone,name", caption: t("governance.catalog") });
  zone.addEventListener("change", () => table.reload());
  await table.reload();
  return h("div", {}, h("div", { class: "toolbar" }, field(t("governance.zone"), zone)), table.el);
}
