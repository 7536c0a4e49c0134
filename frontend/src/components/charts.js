// ECharts parts the pages add to the shared ones: a line (trends) and a graph (lineage).
import { BarChart, GraphChart, LineChart } from "echarts/charts";
import { GridComponent, LegendComponent, TooltipComponent } from "echarts/components";
import * as echarts from "echarts/core";
import { SVGRenderer } from "echarts/renderers";

echarts.use([BarChart, LineChart, GraphChart, GridComponent, LegendComponent, TooltipComponent, SVGRenderer]);

const INK = "#1a1f2b";
export const PALETTE = ["#0b5cad", "#c2410c", "#15803d", "#7e22ce", "#b45309", "#0e7490", "#be123c"];
// No animation: charts are read at once (and people who get motion-sick are spared it).
const base = { animation: false, color: PALETTE, textStyle: { fontFamily: "inherit", fontSize: 14, color: INK } };

/** A line over labels; series: [{ name, values }]. */
export function lineChart(el, labels, series) {
  const chart = echarts.init(el, null, { renderer: "svg" });
  chart.setOption({
    ...base,
    tooltip: { trigger: "axis" },
    legend: { bottom: 0, textStyle: { color: INK } },
    grid: { left: 56, right: 16, top: 16, bottom: 56 },
    xAxis: { type: "category", data: labels, axisLabel: { color: INK } },
    yAxis: { type: "value", axisLabel: { color: INK }, minInterval: 1 },
    series: series.map((s) => ({ type: "line", name: s.name, data: s.values, symbolSize: 8 })),
  });
  return chart;
}

export function barChart(el, labels, values, name = "") {
  const chart = echarts.init(el, null, { renderer: "svg" });
  chart.setOption({
    ...base,
    tooltip: { trigger: "axis" },
    grid: { left: 56, right: 16, top: 16, bottom: 40 },
    xAxis: { type: "category", data: labels, axisLabel: { color: INK, interval: 0 } },
    yAxis: { type: "value", axisLabel: { color: INK } },
    series: [{ type: "bar", name, data: values }],
  });
  return chart;
}

/** A left-to-right graph: nodes [{ id, label, column, category }], edges [{ source, target }]. */
export function flowGraph(el, nodes, edges, categories) {
  const chart = echarts.init(el, null, { renderer: "svg" });
  const rows = {};
  const data = nodes.map((n) => {
    rows[n.column] = (rows[n.column] ?? 0) + 1;
    return { id: n.id, name: n.label, x: n.column * 220, y: rows[n.column] * 70, category: n.category,
      symbolSize: n.root ? 26 : 18, label: { show: true, position: "bottom", color: INK } };
  });
  chart.setOption({
    ...base,
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
