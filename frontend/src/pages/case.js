// One case on the desk: what it is, its evidence with reasons, the actions open now, its history.
import { api, can } from "../api.js";
import { allowed, bi, errorNote, formatTime, section, stillHere } from "../components/ui.js";
import { h } from "../dom.js";
import { formatNumber, t } from "../i18n.js";
import { onLive } from "../live.js";
import { evidenceCharts } from "./case-evidence.js";
import "./case.css";
import { caseMap, removeCaseMap } from "./case-map.js";
import { onSiteForm } from "./case-onsite.js";
import { reportedPhotos } from "../patrol/evidence.js";
import { checkSheetButton } from "./case-sheet.js";
import { areaCell, areaWords, subjectCell, topicCell } from "./case-words.js";
import { actionBar } from "./desk/actions.js";
import { slaBadge, startTicking, stopTicking } from "./desk/sla.js";

const dash = (v) => (v == null || v === "" ? "—" : v);
let unsubscribe = null;
let charts = [];

function disposeCharts() {
  charts.forEach((c) => c.dispose());
  charts = [];
}

// The place in words first: where the clerk must go, the areas, and the dwelling's 360.
function place(c) {
  const dwelling = ["dwelling", "address"].includes(c.subject_type);
  // Straight to the dwelling's 360 once the base has it; else a search for its address.
  const target = c.entity_id ? `id=${encodeURIComponent(c.entity_id)}` : `q=${encodeURIComponent(c.address ?? c.subject_id)}`;
  return h("div", { class: "case-place", id: "case-place" },
    h("p", { class: "case-address" }, h("strong", {}, c.address ?? t("case.noAddress"))),
    h("p", { class: "case-areas" }, areaWords(c) || "—"),
    dwelling && can("entities.read")
      ? h("p", {}, h("a", { href: `#/entity?kind=dwelling&${target}`, id: "case-360" }, t("case.open360")),
        h("span", { class: "hint" }, ` ${t("case.masked360")}`))
      : null,
    checkSheetButton(c));
}

function earlierCases(items) {
  if (!items.length) return h("p", { class: "empty", id: "case-earlier" }, t("case.noEarlier"));
  return h("ul", { class: "earlier", id: "case-earlier" }, items.map((e) => h("li", {},
    h("a", { href: `#/case?id=${e.id}` }, `#${e.id} ${e.title}`), " · ", topicCell(e), " · ",
    t(`status.${e.status}`), e.outcome_zh ? ` · ${e.outcome_zh}` : "", ` · ${formatTime(e.created_at)}`)));
}

function facts(c) {
  const rows = [
    ["desk.topic", topicCell(c)], ["desk.address", c.address ? h("span", { id: "case-address" }, c.address) : null],
    ["desk.subject", c.address ? subjectCell(c) : c.subject_id], ["desk.period", c.period],
    ["topic.score", c.score.toFixed(2)], ["desk.department", c.department], ["desk.assignee", c.assignee],
    ["topic.area.label", h("span", { id: "case-areas" }, areaCell(c))],
    ["desk.deadlineAt", formatTime(c.sla_due_at)], ["desk.created", formatTime(c.created_at)],
    ["desk.outcomeLabel", c.outcome ? t(`desk.outcome.${c.outcome}`) : null],
    ["desk.extension", c.extension_requested_hours ? t("desk.extensionHours", { hours: formatNumber(c.extension_requested_hours) }) : null],
  ];
  return h("dl", { class: "kv", id: "case-facts" }, rows.flatMap(([k, v]) => [h("dt", {}, t(k)), h("dd", {}, dash(v))]));
}

function evidence(items) {
  if (!items.length) return h("p", { class: "empty" }, t("desk.noEvidence"));
  return h("ul", { class: "evidence" }, items.map((e) => h("li", {},
    h("strong", {}, `${e.period} · ${t(`level.${e.level}`)} · ${e.score.toFixed(2)}`),
    h("ul", { class: "reasons" }, e.reasons.map((r) => h("li", {}, bi(r, "text")))))));
}

function history(events) {
  const label = (a) => (t(`desk.action.${a}`) === `desk.action.${a}` ? a : t(`desk.action.${a}`));
  return h("table", { class: "data-table", id: "case-history" },
    h("caption", { class: "visually-hidden" }, t("desk.history")),
    h("thead", {}, h("tr", {}, ["desk.when", "desk.actor", "desk.actionCol", "desk.status", "desk.commentCol"].map((k) => h("th", { scope: "col" }, t(k))))),
    h("tbody", {}, events.map((e) => h("tr", {},
      h("td", {}, formatTime(e.at)), h("td", {}, e.actor), h("td", {}, label(e.action)),
      h("td", {}, `${e.from_status ? `${t(`status.${e.from_status}`)} → ` : ""}${t(`status.${e.to_status}`)}`),
      h("td", {}, dash(e.comment))))));
}

function show(main, detail, evidenceEl, mapEl) {
  const c = detail.case;
  const redraw = (next) => show(main, next, evidenceEl, mapEl);
  main.replaceChildren(
    h("p", {}, h("a", { href: "#/desk" }, t("desk.back"))),
    h("div", { class: "page-head" },
      h("h2", { class: "page-title", id: "case-title" }, `#${c.id} ${c.title}`),
      h("span", { class: "badge neutral", id: "case-status", "data-case": c.id, "data-status": c.status, "data-version": c.version }, t(`status.${c.status}`)),
      h("span", { class: `badge ${c.level}` }, t(`level.${c.level}`)), slaBadge(c)),
    h("div", { class: "case-place-row" }, section("case-place-panel", t("case.place"), place(c)),
      section("case-map-panel", t("case.map"), mapEl)),
    h("div", { class: "grid-2" },
      section("case-detail", t("desk.details"), facts(c)),
      section("case-act", t("desk.act"), actionBar(detail, redraw), h("p", { class: "visually-hidden", role: "status" }, t(`status.${c.status}`))),
      section("case-onsite", t("case.onsite.title"), onSiteForm(detail, redraw)),
      section("case-evidence", t("desk.evidence"), evidence(detail.evidence), reportedPhotos(detail))),
    section("case-charts", t("case.charts"), evidenceEl),
    section("case-earlier-panel", t("case.earlier"), earlierCases(detail.earlier ?? [])),
    section("case-history-panel", t("desk.history"), history(detail.history)));
  main.dataset.ready = "1";
}

export default {
  async render(main, params) {
    const id = params.get("id");
    if (!allowed(main, "cases.read", `/case?id=${id}`)) return;
    const here = stillHere();
    try {
      const detail = await api(`/api/v1/cases/${encodeURIComponent(id)}`);
      const drawn = await evidenceCharts(id, charts).catch((error) => ({ el: errorNote(error) }));
      if (!here()) return;
      const small = caseMap(detail.case);
      show(main, detail, drawn.el, small.el);
      drawn.draw?.();
      // ready once the small map has drawn its tiles (or could not): nothing left loading
      delete main.dataset.ready;
      await small.draw().catch((error) => small.el.replaceChildren(errorNote(error)));
      if (!here()) return;
      main.dataset.ready = "1";
      startTicking(main);
      // Someone else acted on this case: show its new state, unless a form of ours is open.
      unsubscribe = onLive("case.", async (event) => {
        if (String(event.data.case_id) !== id) return;
        const fresh = await api(`/api/v1/cases/${encodeURIComponent(id)}`);
        const status = main.querySelector(`#case-status[data-case="${fresh.case.id}"]`); // gone once left
        if (status && fresh.case.version > Number(status.dataset.version) && !main.querySelector("dialog[open]")) show(main, fresh, drawn.el, small.el);
      });
    } catch (error) {
      if (!here()) return;
      main.append(error.status === 404 ? h("p", { class: "card" }, t("desk.notFound", { id })) : errorNote(error));
      main.dataset.ready = "1";
    }
  },
  leave() {
    removeCaseMap();
    disposeCharts();
    stopTicking();
    unsubscribe?.();
    unsubscribe = null;
  },
};
