// Quality: each source's score (0–100) and its dimensions, and the open alerts, from /api/v1/quality.
import { api, can } from "../../api.js";
import { listQuery, pagedTable } from "../../components/table.js";
import { bi, formatTime, known, notAvailable, offers } from "../../components/ui.js";
import { h } from "../../dom.js";
import { formatNumber, t } from "../../i18n.js";

// The dimensions citybrain.govern.quality scores (its WEIGHTS), each 0..1.
const DIMENSIONS = ["completeness", "validity", "uniqueness", "consistency", "timeliness"];
const SEVERITY = { critical: "bad", warning: "warn" };
const pct = (v) => (v == null ? "—" : `${(v * 100).toFixed(1)}%`);

function sourcesTable() {
  const columns = [
    { key: "source", label: t("governance.source"), sort: "source" },
    { key: "owner", label: t("governance.owner") },
    { key: "rows", label: t("governance.rows"), sort: "rows", cell: (s) => formatNumber(s.rows) },
    { key: "score", label: t("governance.score"), sort: "score", cell: (s) =>
      h("span", { class: `badge ${s.score >= 90 ? "ok" : s.score >= 75 ? "warn" : "bad"}` }, s.score.toFixed(1)) },
    ...DIMENSIONS.map((d) => ({ key: d, label: known("governance.dim", d), cell: (s) => pct(s.scores[d]) })),
    { key: "recorded_at", label: t("governance.assessed"), sort: "recorded_at", cell: (s) => formatTime(s.recorded_at) },
  ];
  return pagedTable(columns, (paging) => api(`/api/v1/quality/sources?${listQuery(paging)}`),
    { id: "quality-table", sort: "score", caption: t("governance.qualityScores"), empty: t("governance.noQuality") });
}

function alertsTable() {
  const columns = [
    { key: "severity", label: t("governance.severityLabel"), sort: "severity", cell: (a) =>
      h("span", { class: `badge ${SEVERITY[a.severity] ?? "warn"}` }, known("governance.severity", a.severity)) },
    { key: "source", label: t("governance.source"), sort: "source" },
    { key: "dimension", label: t("governance.dimension"), cell: (a) => known("governance.dim", a.dimension) },
    { key: "message", label: t("governance.alertMessage"), cell: (a) => bi(a, "message") },
    { key: "raised_at", label: t("governance.raised"), sort: "raised_at", cell: (a) => formatTime(a.raised_at) },
  ];
  return pagedTable(columns, (paging) => api(`/api/v1/quality/alerts?${listQuery(paging)}`),
    { id: "quality-alerts", sort: "-raised_at", caption: t("governance.alerts"), empty: t("governance.noAlerts") });
}

export async function qualityTab() {
  if (!(await offers("/api/v1/quality/sources"))) return notAvailable(t("governance.quality"));
  if (!can("quality.read")) return h("p", { class: "hint", id: "quality-not-yours" }, t("governance.qualityNotYours"));
  const sources = sourcesTable();
  const alerts = alertsTable();
  await Promise.all([sources.reload(), alerts.reload()]);
  return h("div", { class: "stack" }, sources.el, h("h3", {}, t("governance.alerts")), alerts.el);
}
