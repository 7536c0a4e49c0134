// What a topic page shows besides its findings: trend over runs, evaluation, contributed panels.
import { api, can } from "../../api.js";
import { barChart, lineChart } from "../../charts.js";
import { bi, formatTime, notAvailable, offers } from "../../components/ui.js";
import { h } from "../../dom.js";
import { formatNumber, t } from "../../i18n.js";

const pct = (v) => (v == null ? "—" : `${(v * 100).toFixed(1)}%`);

/** Findings per run, from the catalog's record counts of the topic's findings table. */
export async function trend(topic, charts) {
  if (!can("catalog.read")) return { el: h("p", { class: "hint" }, t("topic.trendNeedsCatalog")) };
  let detail;
  try {
    detail = await api(`/api/v1/catalog/datasets/topic/${encodeURIComponent(`${topic}_findings`)}`);
  } catch (error) {
    if (error.status === 404) return { el: h("p", { class: "empty" }, t("topic.noRuns")) };
    throw error;
  }
  const runs = detail.history.filter((p) => p.run_id);
  if (!runs.length) return { el: h("p", { class: "empty" }, t("topic.noRuns")) };
  const box = h("div", { class: "chart-sm", id: "trend-chart", role: "img", "aria-label": t("topic.trendLabel", { runs: runs.length }) });
  const table = h("table", { class: "data-table visually-hidden" }, h("caption", {}, t("topic.trend")),
    h("tr", {}, h("th", { scope: "col" }, t("topic.run")), h("th", { scope: "col" }, t("topic.findingsCount"))),
    runs.map((p) => h("tr", {}, h("td", {}, formatTime(p.recorded_at)), h("td", {}, formatNumber(p.rows)))));
  return {
    el: h("div", {}, box, table),
    draw: () => charts.push(lineChart(box, runs.map((p) => formatTime(p.recorded_at)), [{ name: t("topic.findingsCount"), values: runs.map((p) => p.rows) }])),
  };
}

/** Precision, recall and F1 against the synthetic city's truth, with the baselines side by side. */
export async function evaluation(topic) {
  const path = "/api/v1/topics/{topic}/evaluation";
  if (!(await offers(path))) return notAvailable(t("topic.evaluation"));
  // null until `citybrain topic evaluate` has scored the topic against ground truth.
  const ev = await api(`/api/v1/topics/${encodeURIComponent(topic)}/evaluation`);
  if (!ev) return h("p", { class: "empty" }, t("topic.noEvaluation"));
  const rows = [[t("topic.model"), ev], ...Object.entries(ev.baselines ?? {}).map(([name, b]) => [name, b])];
  return h("table", { class: "data-table", id: "evaluation-table" },
    h("caption", {}, t("topic.evaluationCaption", { support: formatNumber(ev.support), flagged: formatNumber(ev.flagged) })),
    h("tr", {}, [t("topic.method"), "Precision", "Recall", "F1"].map((c) => h("th", { scope: "col" }, c))),
    rows.map(([name, m]) => h("tr", {}, h("th", { scope: "row" }, name), h("td", {}, pct(m.precision)), h("td", {}, pct(m.recall)), h("td", {}, pct(m.f1)))));
}

/** A panel the topic declared (see citybrain.topics.PagePanel): a note or a breakdown chart. */
export function contributed(panel, summary, names, charts) {
  if (panel.kind === "note") return { el: h("p", { class: "note" }, bi(panel, "text")) };
  const counts = panel.by === "level" ? summary.by_level : summary.by_street;
  const keys = Object.keys(counts ?? {});
  if (!keys.length) return { el: h("p", { class: "empty" }, t("topic.noFindings")) };
  const labels = keys.map((k) => (panel.by === "level" ? t(`level.${k}`) : names[k] ?? k));
  const box = h("div", { class: "chart-sm", role: "img", "aria-label": bi(panel, "title") });
  return { el: box, draw: () => charts.push(barChart(box, labels, keys.map((k) => counts[k]))) };
}
