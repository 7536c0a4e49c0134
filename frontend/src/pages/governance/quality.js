// Quality: each source's scores and the open alerts, from the quality API when the server has it.
import { api } from "../../api.js";
import { bi, formatTime, known, notAvailable, offers } from "../../components/ui.js";
import { h } from "../../dom.js";
import { t } from "../../i18n.js";

const pct = (v) => (typeof v === "number" ? (v <= 1 ? `${(v * 100).toFixed(1)}%` : v.toFixed(1)) : v ?? "—");

function sourcesTable(sources) {
  if (!sources.length) return h("p", { class: "empty" }, t("governance.noQuality"));
  const scoreKeys = [...new Set(sources.flatMap((s) => Object.keys(s.scores ?? {})))];
  return h("div", { class: "table-scroll" }, h("table", { class: "data-table", id: "quality-table" },
    h("caption", {}, t("governance.qualityScores")),
    h("thead", {}, h("tr", {}, h("th", { scope: "col" }, t("governance.source")), h("th", { scope: "col" }, t("governance.score")),
      scoreKeys.map((k) => h("th", { scope: "col" }, known("governance.dim", k))))),
    h("tbody", {}, sources.map((s) => h("tr", {},
      h("th", { scope: "row" }, s.source ?? s.name ?? s.source_system ?? "—"),
      h("td", {}, pct(s.score ?? s.overall)),
      scoreKeys.map((k) => h("td", {}, pct(s.scores?.[k]))))))));
}

function alertsList(alerts) {
  if (!alerts.length) return h("p", { class: "empty", id: "quality-alerts" }, t("governance.noAlerts"));
  return h("ul", { class: "alerts", id: "quality-alerts" }, alerts.map((a) => h("li", {},
    h("span", { class: `badge ${a.severity === "error" || a.severity === "high" ? "bad" : "warn"}` }, known("governance.severity", a.severity ?? "warn")), " ",
    h("strong", {}, a.source ?? a.source_system ?? ""), " ", bi(a, "message") || bi(a, "text") || a.message || "", " ",
    h("span", { class: "hint" }, formatTime(a.raised_at ?? a.at ?? a.created_at)))));
}

export async function qualityTab() {
  const [hasSources, hasAlerts] = await Promise.all([offers("/api/v1/quality/sources"), offers("/api/v1/quality/alerts")]);
  if (!hasSources && !hasAlerts) return notAvailable(t("governance.quality"));
  const [sources, alerts] = await Promise.all([
    hasSources ? api("/api/v1/quality/sources") : null,
    hasAlerts ? api("/api/v1/quality/alerts") : null,
  ]);
  const items = (x) => (Array.isArray(x) ? x : x?.items ?? []);
  return h("div", { class: "stack" },
    sources ? sourcesTable(items(sources)) : notAvailable(t("governance.qualityScores")),
    h("h3", {}, t("governance.alerts")),
    alerts ? alertsList(items(alerts)) : notAvailable(t("governance.alerts")));
}

