// The case desk (案件工作台) for clerks: my queue, filtered by status, the nearest deadline first.
import { api } from "../api.js";
import { listQuery, pagedTable } from "../components/table.js";
import { allowed, field, formatTime, select, stillHere } from "../components/ui.js";
import { h } from "../dom.js";
import { t } from "../i18n.js";
import { onLive } from "../live.js";
import { areaCell, subjectCell, topicCell } from "./case-words.js";
import { assistedSection } from "./desk/assisted.js";
import { slaBadge, startTicking, stopTicking } from "./desk/sla.js";

const STATUSES = ["dispatched", "accepted", "in_progress", "returned", "closed", "new", "archived"];
const remembered = { mine: true, status: "", overdue: false };
let unsubscribe = null;
let pending = null;

export default {
  async render(main) {
    if (!allowed(main, "cases.read", "/desk")) return;
    const status = select("desk-status", [["", t("desk.allStatuses")], ...STATUSES.map((s) => [s, t(`status.${s}`)])], remembered.status);
    const mine = h("input", { type: "checkbox", id: "desk-mine", checked: remembered.mine });
    const overdue = h("input", { type: "checkbox", id: "desk-overdue", checked: remembered.overdue });
    const columns = [
      { key: "id", label: t("desk.id"), sort: "id", cell: (c) => `#${c.id}` },
      { key: "title", label: t("desk.caseTitle"), cell: (c) => h("a", { href: `#/case?id=${c.id}`, class: "case-link" }, c.title) },
      { key: "topic", label: t("desk.topic"), cell: topicCell },
      { key: "address", label: t("desk.address"), cell: subjectCell },
      { key: "area", label: t("topic.area.label"), cell: areaCell },
      { key: "level", label: t("topic.level"), cell: (c) => h("span", { class: `badge ${c.level}` }, t(`level.${c.level}`)) },
      { key: "status", label: t("desk.status"), sort: "status", cell: (c) => t(`status.${c.status}`) },
      { key: "department", label: t("desk.department") },
      { key: "sla_due_at", label: t("desk.deadline"), sort: "sla_due_at", cell: slaBadge },
      { key: "created_at", label: t("desk.created"), sort: "created_at", cell: (c) => formatTime(c.created_at) },
    ];
    const table = pagedTable(columns, (paging) => api(`/api/v1/cases?${listQuery(paging, {
      mine: mine.checked ? "true" : "", status: status.value, overdue: overdue.checked ? "true" : "" })}`),
    { id: "case-queue", sort: "sla_due_at", caption: t("desk.queue"), empty: t("desk.empty"), cards: true });
    for (const control of [status, mine, overdue]) {
      control.addEventListener("change", () => {
        Object.assign(remembered, { status: status.value, mine: mine.checked, overdue: overdue.checked });
        table.reload();
      });
    }
    const check = (box, key) => h("div", { class: "field check" }, h("label", { for: box.id }, box, " ", t(key)));
    main.append(h("h2", { class: "page-title" }, t("desk.title")),
      h("section", { class: "card", "aria-label": t("desk.queue") },
        h("div", { class: "toolbar" }, field(t("desk.status"), status), check(mine, "desk.mine"), check(overdue, "desk.overdueOnly")),
        table.el),
      assistedSection(() => table.reload(false)));
    const here = stillHere();
    await table.reload();
    if (!here()) return;
    startTicking(main);
    // A case opened or moved anywhere in the caller's area: redraw the queue (same page), once
    // per burst of events.
    unsubscribe = onLive("case.", () => {
      clearTimeout(pending);
      pending = setTimeout(() => table.reload(false), 300);
    });
    main.dataset.ready = "1";
  },
  leave() {
    stopTicking();
    clearTimeout(pending);
    unsubscribe?.();
    unsubscribe = null;
  },
};
