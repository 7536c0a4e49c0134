// One screen (一屏会商): headline figures, cases, findings by topic and the tiles topics contribute.
// ?wall=1 lays it out for a 1920×1080 wall and rotates the panels (?rotate=seconds, default 10).
import { api, can, currentUser } from "../api.js";
import { barChart, pieChart } from "../charts.js";
import { h } from "../dom.js";
import { formatNumber, getLang, pick, t } from "../i18n.js";

const STATUSES = ["new", "dispatched", "accepted", "in_progress", "returned", "closed", "archived"];
let charts = [];
let timer = null;

function card(id, label, value) {
  return h("section", { class: "card figure", id }, h("div", { class: "label" }, label), h("div", { class: "value" }, value));
}

function panel(id, titleKey, ...body) {
  return h("section", { class: "card panel", id, "aria-labelledby": `${id}-title` }, h("h2", { id: `${id}-title` }, t(titleKey)), ...body);
}

async function headline() {
  const o = await api("/api/v1/overview");
  return { city: o.city, cards: [
    card("fig-systems", t("overview.systems"), formatNumber(o.systems_connected)),
    card("fig-records", t("overview.records"), formatNumber(o.records_aggregated)),
    card("fig-datasets", t("overview.datasets"), formatNumber(o.datasets)),
  ] };
}

async function casePanel(cards) {
  const m = await api("/api/v1/cases/metrics");
  if (m.scope_limited) return panel("panel-cases", "overview.casesByStatus", h("p", {}, t("overview.scopeLimited")));
  cards.push(card("fig-cases", t("overview.cases"), formatNumber(m.total)), card("fig-overdue", t("overview.overdue"), formatNumber(m.overdue)));
  const chartBox = h("div", { class: "chart", role: "img", "aria-label": t("overview.casesByStatus") });
  const items = STATUSES.filter((s) => m.by_status[s]).map((s) => ({ name: t(`status.${s}`), value: m.by_status[s] }));
  const body = items.length ? chartBox : h("p", { class: "empty" }, t("overview.noData"));
  return { el: panel("panel-cases", "overview.casesByStatus", body), draw: () => items.length && charts.push(pieChart(chartBox, items)) };
}

async function topicPanels(cards) {
  const topics = await api("/api/v1/topics");
  const withFindings = can("findings.read") ? topics.filter((tp) => tp.has_findings) : [];
  const summaries = await Promise.all(withFindings.map((tp) => api(`/api/v1/topics/${tp.name}/findings/summary`)));
  const totals = Object.fromEntries(summaries.map((s) => [s.topic, s.total]));
  for (const tp of topics) {
    for (const tile of tp.overview_tiles) {
      const unit = pick(tile, "unit");
      cards.push(card(`tile-${tile.id}`, pick(tile, "title"), `${formatNumber(totals[tp.name] ?? 0)}${unit ? ` ${unit}` : ""}`));
    }
  }
  const chartBox = h("div", { class: "chart", role: "img", "aria-label": t("overview.findingsByTopic") });
  const labels = topics.map((tp) => pick(tp, "title"));
  const values = topics.map((tp) => totals[tp.name] ?? 0);
  const list = h("ul", { class: "topics" }, topics.map((tp) =>
    h("li", {}, h("strong", {}, pick(tp, "title")), " · ", t(tp.readiness.ready ? "overview.ready" : "overview.notReady"))));
  return {
    el: panel("panel-findings", "overview.findingsByTopic", topics.length ? chartBox : h("p", { class: "empty" }, t("overview.noData")), list),
    draw: () => topics.length && charts.push(barChart(chartBox, labels, values)),
  };
}

const zoneLabel = (zone) => (t(`zone.${zone}`) === `zone.${zone}` ? zone : t(`zone.${zone}`));

async function catalogPanel(cards) {
  const c = await api("/api/v1/catalog/headline");
  const when = c.last_load_at ? new Date(c.last_load_at).toLocaleString(getLang()) : "—";
  cards.push(card("fig-last-load", t("overview.lastLoad"), when));
  const zones = Object.keys(c.datasets_by_zone);
  const chartBox = h("div", { class: "chart", role: "img", "aria-label": t("overview.datasetsByZone") });
  return {
    el: panel("panel-catalog", "overview.datasetsByZone", zones.length ? chartBox : h("p", { class: "empty" }, t("overview.noData"))),
    draw: () => zones.length && charts.push(barChart(chartBox, zones.map(zoneLabel), zones.map((z) => c.datasets_by_zone[z]))),
  };
}

function rotate(panels, seconds) {
  let active = 0;
  const show = () => panels.forEach((p, i) => p.classList.toggle("hidden", i !== active));
  show();
  timer = setInterval(() => {
    active = (active + 1) % panels.length;
    show();
    charts.forEach((c) => c.resize());
  }, seconds * 1000);
}

export function overviewPage(shell) {
  return {
    titleKey: "overview.title",
    async render(main) {
      const wall = new URLSearchParams(location.search).get("wall") === "1";
      document.documentElement.classList.toggle("wall", wall);
      const { city, cards } = await headline();
      shell.setCity(city);
      const parts = [];
      if (can("catalog.read")) parts.push(await catalogPanel(cards));
      if (can("metrics.read")) parts.push(await casePanel(cards));
      if (can("topics.read")) parts.push(await topicPanels(cards));
      const panels = parts.map((p) => p.el ?? p);
      const grid = h("div", { class: "figures", id: "figures" }, cards);
      main.append(h("h2", { class: "page-title" }, t("overview.title")), grid,
        h("div", { class: "panels", id: "panels" }, panels.length || currentUser() ? panels : h("p", { class: "card" }, t("overview.signInForMore"))));
      parts.forEach((p) => p.draw && p.draw());
      if (wall && panels.length > 1) rotate(panels, Number(new URLSearchParams(location.search).get("rotate")) || 10);
      main.dataset.ready = "1";
    },
    leave() {
      clearInterval(timer);
      charts.forEach((c) => c.dispose());
      charts = [];
    },
  };
}
