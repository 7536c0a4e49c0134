// Lineage: a dataset's sources and products as a left-to-right graph (source → raw → std → base →
// topic), with the same edges as a table for screen readers and keyboard users.
import { api } from "../../api.js";
import { flowGraph, PALETTE } from "../../components/graph.js";
import { field, select } from "../../components/ui.js";
import { h } from "../../dom.js";
import { t } from "../../i18n.js";
import { ZONES, zoneLabel } from "./catalog.js";

const COLUMN = { source: 0, raw: 1, quarantine: 1, std: 2, base: 3, topic: 4 };

export async function lineageTab(charts, chosen) {
  const all = (await api("/api/v1/catalog/datasets?page_size=500&sort=zone,name")).items;
  if (!all.length) return { el: h("p", { class: "empty" }, t("governance.noDatasets")) };
  const start = chosen ?? all.find((d) => d.zone === "topic") ?? all[all.length - 1];
  const picker = select("lineage-dataset", all.map((d) => [`${d.zone}/${d.name}`, `${zoneLabel(d.zone)} · ${d.name}`]), `${start.zone}/${start.name}`);
  const box = h("div", { class: "chart lineage-chart", id: "lineage-chart", role: "img" });
  const edges = h("div", { id: "lineage-edges" });
  const draw = async () => {
    const [zone, ...rest] = picker.value.split("/");
    const name = rest.join("/");
    const graph = await api(`/api/v1/catalog/datasets/${zone}/${encodeURIComponent(name)}/lineage`);
    charts.splice(0).forEach((c) => c.dispose());
    const zones = ZONES.filter((z) => graph.nodes.some((n) => n.zone === z));
    const categories = zones.map((z, i) => ({ name: zoneLabel(z), itemStyle: { color: PALETTE[i % PALETTE.length] } }));
    const nodes = graph.nodes.map((n) => ({ id: n.id, label: n.name, column: COLUMN[n.zone] ?? 2, category: zones.indexOf(n.zone), root: n.id === graph.root }));
    box.setAttribute("aria-label", t("governance.lineageLabel", { name, nodes: nodes.length, edges: graph.edges.length }));
    box.dataset.nodes = String(nodes.length);
    charts.push(flowGraph(box, nodes, graph.edges, categories));
    edges.replaceChildren(h("table", { class: "data-table" }, h("caption", {}, t("governance.lineageEdges")),
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, t("governance.upstream")), h("th", { scope: "col" }, t("governance.downstream")), h("th", { scope: "col" }, t("governance.kind")))),
      h("tbody", {}, graph.edges.map((e) => h("tr", {}, h("td", {}, e.source), h("td", {}, e.target), h("td", {}, e.kind))))));
  };
  picker.addEventListener("change", draw);
  return { el: h("div", {}, h("div", { class: "toolbar" }, field(t("governance.dataset"), picker)), box, edges), draw };
}
