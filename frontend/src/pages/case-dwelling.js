// A dwelling's months in raw figures: metered water, electricity and gas and deliveries against the
// median of similar flats in the same building, and the residence permits issued and cancelled
// there. Served by /api/v1/cases/{id}/evidence/dwelling (aggregated by the server over the lake).
import { api } from "../api.js";
import { lineChart } from "../charts.js";
import { h } from "../dom.js";
import { formatNumber, t } from "../i18n.js";

const num = (v) => (v == null ? "—" : formatNumber(Math.round(v * 100) / 100));

function figure(key, caption, periods, series) {
  const box = h("div", { class: "chart-sm dwelling-chart", id: `dwelling-chart-${key}`, "data-key": key, role: "img",
    "aria-label": caption });
  const el = h("figure", { class: "evidence-figure" }, h("figcaption", {}, h("strong", {}, caption)), box,
    h("table", { class: "data-table visually-hidden" }, h("caption", {}, caption),
      h("tr", {}, [t("topic.period"), ...series.map((s) => s.name)].map((c) => h("th", { scope: "col" }, c))),
      periods.map((p, i) => h("tr", {}, h("td", {}, p), series.map((s) => h("td", {}, num(s.values[i])))))));
  return { el, draw: () => lineChart(box, periods, series) };
}

/** The dwelling's charts and draw() (charts are pushed to ``charts``); null when there is nothing. */
export async function dwellingCharts(caseId, charts) {
  const d = await api(`/api/v1/cases/${encodeURIComponent(caseId)}/evidence/dwelling`);
  if (!d.periods.length) return null;
  const peers = d.peers
    ? t(d.peers_by_area ? "case.dwelling.peersArea" : "case.dwelling.peersBuilding", { n: d.peers, building: d.building ?? "" })
    : null;
  const figures = d.series.map((s) => figure(s.key, t(`case.dwelling.${s.key}`), d.periods, [
    { name: t("case.observed"), values: s.observed },
    ...(peers ? [{ name: peers, values: s.peers }] : []),
  ]));
  figures.push(figure("permits", t("case.dwelling.permits"), d.periods, [
    { name: t("case.dwelling.issued"), values: d.permits_issued },
    { name: t("case.dwelling.cancelled"), values: d.permits_cancelled },
  ]));
  const el = h("div", { class: "dwelling-evidence", id: "dwelling-charts" },
    h("p", { class: "hint", id: "dwelling-peers" }, peers ? t("case.dwelling.compared", { peers }) : t("case.dwelling.noPeers")),
    h("div", { class: "evidence-charts" }, figures.map((f) => f.el)));
  return { el, draw: () => figures.forEach((f) => charts.push(f.draw())) };
}
