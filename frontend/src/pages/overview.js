// One screen (一屏会商): headline figures, cases, findings by topic and the tiles topics contribute.
// ?wall=1 lays it out for a 1920×1080 wall and rotates the panels (?rotate=seconds, default 10).
import { api, can, currentUser } from "../api.js";
import { barChart, lineChart, pieChart } from "../charts.js";
import { h } from "../dom.js";
import { formatNumber, getLang, pick, t } from "../i18n.js";
import { onLive } from "../live.js";
import { stillHere } from "../components/ui.js";

const STATUSES = ["new", "dispatched", "accepted", "in_progress", "returned", "closed", "archived"];
let charts = [];
let timer = null;
let unsubscribe = [];
let pending = null;
const REFRESH_DELAY = 1500; // a burst of live events (a pipeline run) redraws once

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

/** Per topic from /overview/topics: tiles with their values, findings, open and overdue cases. */
async function topicPanels(cards) {
  const topics = await api("/api/v1/overview/topics");
  for (const tp of topics) {
    for (const tile of tp.tiles) {
      const unit = pick(tile, "unit");
      cards.push(card(`tile-${tile.id}`, pick(tile, "title"), `${formatNumber(tile.value)}${unit ? ` ${unit}` : ""}`));
    }
  }
  const chartBox = h("div", { class: "chart", role: "img", "aria-label": t("overview.findingsByTopic") });
  const trendBox = h("div", { class: "chart", role: "img", "aria-label": t("overview.trend") });
  const rows = topics.map((tp) => h("tr", { "data-topic": tp.topic },
    h("th", { scope: "row" }, pick(tp, "title")),
    h("td", {}, formatNumber(tp.findings)),
    h("td", {}, formatNumber(tp.open_cases)),
    h("td", { class: tp.overdue_cases ? "overdue" : null }, formatNumber(tp.overdue_cases)),
    h("td", {}, tp.last_run_at ? new Date(tp.last_run_at).toLocaleString(getLang()) : "—")));
  const table = h("table", { class: "topic-table", id: "topic-table" },
    h("thead", {}, h("tr", {}, ["overview.topic", "overview.findings", "overview.openCases", "overview.overdue", "overview.freshness"]
      .map((key) => h("th", { scope: "col" }, t(key))))),
    h("tbody", {}, rows));
  const periods = [...new Set(topics.flatMap((tp) => Object.keys(tp.by_period)))].sort();
  return [
    {
      el: panel("panel-findings", "overview.findingsByTopic", topics.length ? chartBox : h("p", { class: "empty" }, t("overview.noData")), table),
      draw: () => topics.length && charts.push(barChart(chartBox, topics.map((tp) => pick(tp, "title")), topics.map((tp) => tp.findings))),
    },
    {
      el: panel("panel-trend", "overview.trend", periods.length ? trendBox : h("p", { class: "empty" }, t("overview.noData"))),
      draw: () => periods.length && charts.push(lineChart(trendBox, periods,
        topics.map((tp) => ({ name: pick(tp, "title"), values: periods.map((p) => tp.by_period[p] ?? 0) })))),
    },
  ];
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

/** Fetch everything, then swap it in at once: a live refresh never blanks the screen. */
async function draw(main, shell) {
  const here = stillHere(); // a draw still fetching when the page is left is dropped
  const wall = new URLSearchParams(location.search).get("wall") === "1";
  document.documentElement.classList.toggle("wall", wall);
  const { city, cards } = await headline();
  shell.setCity(city);
  const parts = [];
  if (can("catalog.read")) parts.push(await catalogPanel(cards));
  if (can("metrics.read")) parts.push(await casePanel(cards));
  if (can("findings.read")) parts.push(...(await topicPanels(cards)));
  if (!here()) return; // left the page meanwhile
  const panels = parts.map((p) => p.el ?? p);
  const grid = h("div", { class: "figures", id: "figures" }, cards);
  clearInterval(timer);
  charts.forEach((c) => c.dispose());
  charts = [];
  main.replaceChildren(h("h2", { class: "page-title" }, t("overview.title")), grid,
    h("div", { class: "panels", id: "panels" }, panels.length || currentUser() ? panels : h("p", { class: "card" }, t("overview.signInForMore"))));
  parts.forEach((p) => p.draw && p.draw());
  if (wall && panels.length > 1) rotate(panels, Number(new URLSearchParams(location.search).get("rotate")) || 10);
  main.dataset.ready = "1";
}

export default function overviewPage(shell) {
  return {
    titleKey: "overview.title",
    async render(main) {
      const redraw = () => {
        clearTimeout(pending);
        pending = setTimeout(() => draw(main, shell), REFRESH_DELAY);
      };
      unsubscribe = [onLive("case.", redraw), onLive("finding.", redraw)];
      await draw(main, shell);
    },
    leave() {
      unsubscribe.forEach((off) => off());
      unsubscribe = [];
      clearTimeout(pending);
      clearInterval(timer);
      charts.forEach((c) => c.dispose());
      charts = [];
    },
  };
}
