// A page per topic (专题页), driven by /api/v1/topics alone: findings with reasons, a small map,
// the trend over runs, the evaluation against truth, and the panels the topic contributes.
import { api, can } from "../api.js";
import { allowed, bi, errorNote, section, stillHere } from "../components/ui.js";
import { h } from "../dom.js";
import { formatNumber, t } from "../i18n.js";
import { findingsSection } from "./topic/findings.js";
import { miniMap } from "./topic/minimap.js";
import { labelsPanel } from "./topic/labels.js";
import { contributed, evaluation, trend } from "./topic/panels.js";

let charts = [];
let map = null;

function topicList(main, topics) {
  main.append(h("h2", { class: "page-title" }, t("topic.listTitle")),
    h("ul", { class: "card topic-list", id: "topic-list" }, topics.map((tp) =>
      h("li", {}, h("a", { href: `#/topic?name=${encodeURIComponent(tp.name)}` }, bi(tp, "title")), " · ",
        t(tp.readiness.ready ? "overview.ready" : "overview.notReady")))));
}

function figures(summary) {
  const card = (id, label, value) => h("div", { class: "card figure", id }, h("div", { class: "label" }, label), h("div", { class: "value" }, value));
  return h("div", { class: "figures" },
    card("fig-findings", t("topic.findingsCount"), formatNumber(summary.total)),
    ["high", "medium", "low"].map((l) => card(`fig-${l}`, t(`level.${l}`), formatNumber(summary.by_level[l] ?? 0))));
}

async function topicPage(main, info, here) {
  const name = info.name;
  const summary = await api(`/api/v1/topics/${encodeURIComponent(name)}/findings/summary`);
  if (!here()) return;
  const canMap = can("map.read");
  const ready = info.readiness.ready;
  main.append(
    h("div", { class: "page-head" }, h("h2", { class: "page-title", id: "topic-title" }, bi(info, "title")),
      h("span", { class: `badge ${ready ? "ok" : "warn"}` }, t(ready ? "overview.ready" : "overview.notReady")),
      h("span", { class: "hint" }, t("topic.version", { version: info.version }))),
    ...(ready ? [] : [h("p", { class: "not-available" }, info.readiness.message)]), // append(null) prints "null"
    figures(summary));
  const labelsEl = can("cases.read") ? labelsPanel(name).catch((error) => errorNote(error)) : null;
  const [findings, runs, evalEl, labels] = await Promise.all([findingsSection(name, canMap), trend(name, charts), evaluation(name), labelsEl]);
  if (!here()) return;
  const extra = info.page_panels?.map((p) => ({ panel: p, ...contributed(p, summary, { ...summary.street_names, ...findings.names }, charts) })) ?? [];
  const mapBox = h("div", { class: "mini-map", id: "topic-map", role: "region", "aria-label": t("topic.map") });
  main.append(h("div", { class: "stack" },
    section("topic-findings", t("topic.findings"), findings.el),
    h("div", { class: "grid-2" },
      canMap ? section("topic-map-panel", t("topic.map"), mapBox) : null,
      section("topic-trend", t("topic.trend"), runs.el),
      section("topic-evaluation", t("topic.evaluation"), evalEl),
      labels ? section("topic-labels", t("topic.labels"), labels) : null,
      extra.map((x) => section(`panel-${x.panel.id}`, bi(x.panel, "title"), x.el)))));
  runs.draw?.();
  extra.forEach((x) => x.draw?.());
  if (canMap) {
    const drawn = await miniMap(mapBox, name, info.map_layers.find((l) => !l.source), info.map_layers.filter((l) => l.source));
    if (here()) map = drawn;
    else drawn.remove();
  }
}

export default {
  async render(main, params) {
    if (!allowed(main, "topics.read", `/topic${params.size ? `?${params}` : ""}`)) return;
    const name = params.get("name");
    const here = stillHere();
    try {
      if (!name) {
        const topics = await api("/api/v1/topics");
        if (here()) topicList(main, topics);
      } else {
        const info = await api(`/api/v1/topics/${encodeURIComponent(name)}`);
        if (here()) await topicPage(main, info, here);
      }
    } catch (error) {
      if (here()) main.append(errorNote(error));
    }
    if (here()) main.dataset.ready = "1";
  },
  leave() {
    charts.forEach((c) => c.dispose());
    charts = [];
    map?.remove();
    map = null;
  },
};
