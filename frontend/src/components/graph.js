// The lineage graph (ECharts graph series); bar and line charts are the shared ../charts.js.
import { GraphChart } from "echarts/charts";
import { LegendComponent, TooltipComponent } from "echarts/components";
import * as echarts from "echarts/core";
import { SVGRenderer } from "echarts/renderers";

echarts.use([GraphChart, LegendComponent, TooltipComponent, SVGRenderer]);

const INK = "#1a1f2b";
// The shared charts' palette (../charts.js), so a zone keeps its colour across pages.
export const PALETTE = ["#0b5cad", "#c2410c", "#15803d", "#7e22ce", "#b45309", "#0e7490", "#be123c"];

/** A left-to-right graph: nodes [{ id, label, column, category, root }], edges [{ source, target }]. */
export function flowGraph(el, nodes, edges, categories) {
  const chart = echarts.init(el, null, { renderer: "svg" });
  const rows = {};
  const data = nodes.map((n) => {
    rows[n.column] = (rows[n.column] ?? 0) + 1;
    return { id: n.id, name: n.label, x: n.column * 220, y: rows[n.column] * 70, category: n.category,
      symbolSize: n.root ? 26 : 18, label: { show: true, position: "bottom", color: INK } };
  });
  chart.setOption({
    animation: false,
    color: PALETTE,
    textStyle: { fontFamily: "inherit", fontSize: 14, color: INK },
    tooltip: {},
    legend: { bottom: 0, itemGap: 24, data: categories.map((c) => c.name), textStyle: { color: INK } },
    series: [{
      type: "graph", layout: "none", roam: true, data, categories,
      links: edges.map((e) => ({ source: e.source, target: e.target })),
      edgeSymbol: ["none", "arrow"], edgeSymbolSize: 9, lineStyle: { color: "#5b6475", width: 1.5 },
    }],
  });
  return chart;
}
