// A case's evidence as charts: each signal of its subject month by month, what was observed
// against what comparable subjects show (group rental: water per person against flats of the same
// building and size, deliveries, recipient phones, residence-permit churn). Served by
// /api/v1/cases/{id}/evidence/series from the topic's findings.
import { api } from "../api.js";
import { lineChart } from "../charts.js";
import { bi } from "../components/ui.js";
import { h } from "../dom.js";
import { formatNumber, t } from "../i18n.js";
import { dwellingCharts } from "./case-dwelling.js";

const label = (signal) => (t(`case.signal.${signal}`) === `case.signal.${signal}` ? signal : t(`case.signal.${signal}`));
const num = (v) => (v == null ? "—" : formatNumber(Math.round(v * 100) / 100));

/** The charts' element, and draw() to call once it is in the page (charts are pushed to ``charts``):
 * the dwelling's raw months beside similar flats (when its subject is a dwelling), then the signals. */
export async function evidenceCharts(caseId, charts) {
  const [dwelling, signals] = await Promise.all([dwellingCharts(caseId, charts), signalCharts(caseId, charts)]);
  if (!dwelling) return signals;
  return {
    el: h("div", {}, dwelling.el, h("h3", { class: "evidence-sub" }, t("case.dwelling.signals")), signals.el),
    draw: () => { dwelling.draw(); signals.draw?.(); },
  };
}

async function signalCharts(caseId, charts) {
  const series = await api(`/api/v1/cases/${encodeURIComponent(caseId)}/evidence/series`);
  if (!series.periods.length || !series.signals.length) return { el: h("p", { class: "empty", id: "evidence-charts" }, t("case.noSeries")) };
  const boxes = series.signals.map((s) => ({
    s,
    box: h("div", { class: "chart-sm evidence-chart", id: `evidence-chart-${s.signal}`, "data-signal": s.signal, role: "img",
      "aria-label": t("case.chartLabel", { signal: label(s.signal) }) }),
  }));
  const el = h("div", { class: "evidence-charts", id: "evidence-charts" }, boxes.map(({ s, box }) => h("figure", { class: "evidence-figure" },
    h("figcaption", {}, h("strong", {}, label(s.signal)), s.text_zh ? h("span", { class: "hint" }, ` · ${bi(s, "text")}`) : null),
    box,
    h("table", { class: "data-table visually-hidden" }, h("caption", {}, label(s.signal)),
      h("tr", {}, [t("topic.period"), t("case.observed"), t("case.expected")].map((c) => h("th", { scope: "col" }, c))),
      series.periods.map((p, i) => h("tr", {}, h("td", {}, p), h("td", {}, num(s.observed[i])), h("td", {}, num(s.expected[i]))))))));
  return {
    el,
    draw: () => boxes.forEach(({ s, box }) => charts.push(lineChart(box, series.periods, [
      { name: t("case.observed"), values: s.observed },
      { name: t("case.expected"), values: s.expected },
    ]))),
  };
}
