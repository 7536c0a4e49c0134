// ECharts, with only the parts the pages use (keeps the bundle small).
import { BarChart, LineChart, PieChart } from "echarts/charts";
import { GridComponent, LegendComponent, TooltipComponent } from "echarts/components";
import * as echarts from "echarts/core";
import { SVGRenderer } from "echarts/renderers";

echarts.use([BarChart, LineChart, PieChart, GridComponent, LegendComponent, TooltipComponent, SVGRenderer]);

const PALETTE = ["#0b5cad", "#c2410c", "#15803d", "#7e22ce", "#b45309", "#0e7490", "#be123c"];

/** A bar chart of label → value pairs into el; returns the chart (dispose it on leave). */
export function barChart(el, labels, values) {
  const chart = echarts.init(el, null, { renderer: "svg" });
  chart.setOption({
    color: PALETTE,
    textStyle: { fontFamily: "inherit", fontSize: 14, color: "#1a1f2b" },
    tooltip: { trigger: "axis" },
    grid: { left: 48, right: 16, top: 16, bottom: 40 },
    xAxis: { type: "category", data: labels, axisLabel: { color: "#1a1f2b", interval: 0 } },
    yAxis: { type: "value", axisLabel: { color: "#1a1f2b" }, minInterval: 1 },
    series: [{ type: "bar", data: values, itemStyle: { color: PALETTE[0] } }],
  });
  return chart;
}

export function pieChart(el, items) {
  const chart = echarts.init(el, null, { renderer: "svg" });
  chart.setOption({
    color: PALETTE,
    textStyle: { fontFamily: "inherit", fontSize: 14, color: "#1a1f2b" },
    tooltip: { trigger: "item" },
    legend: { bottom: 0, textStyle: { color: "#1a1f2b" } },
    series: [{ type: "pie", radius: ["35%", "65%"], data: items, label: { color: "#1a1f2b" } }],
  });
  return chart;
}

/** Lines over shared x labels: series is [{ name, values }]. */
export function lineChart(el, labels, series) {
  const chart = echarts.init(el, null, { renderer: "svg" });
  chart.setOption({
    color: PALETTE,
    textStyle: { fontFamily: "inherit", fontSize: 14, color: "#1a1f2b" },
    tooltip: { trigger: "axis" },
    legend: { bottom: 0, textStyle: { color: "#1a1f2b" } },
    grid: { left: 48, right: 16, top: 16, bottom: 56 },
    xAxis: { type: "category", data: labels, axisLabel: { color: "#1a1f2b" } },
    yAxis: { type: "value", axisLabel: { color: "#1a1f2b" }, minInterval: 1 },
    series: series.map((s) => ({ type: "line", name: s.name, data: s.values, symbolSize: 8 })),
  });
  return chart;
}
