// SLA countdown: the time left to a case's deadline, or how long it is overdue; ticks each 30 s.
import { h } from "../../dom.js";
import { t } from "../../i18n.js";

const OPEN = new Set(["dispatched", "accepted", "in_progress"]);
let timer = null;

function span(ms) {
  const minutes = Math.round(Math.abs(ms) / 60000);
  const days = Math.floor(minutes / 1440);
  const hours = Math.floor((minutes % 1440) / 60);
  if (days) return t("desk.sla.days", { days, hours });
  return t("desk.sla.hours", { hours, minutes: minutes % 60 });
}

function fill(el) {
  const left = new Date(el.dataset.due).getTime() - Date.now();
  const overdue = left < 0;
  el.className = `badge sla ${overdue ? "overdue" : left < 4 * 3600000 ? "warn" : "ok"}`;
  el.textContent = overdue ? t("desk.sla.overdue", { span: span(left) }) : t("desk.sla.left", { span: span(left) });
  el.dataset.overdue = String(overdue);
}

/** The countdown badge of a case (a dash when it has no running deadline). */
export function slaBadge(c) {
  if (!c.sla_due_at || !OPEN.has(c.status)) return h("span", { class: "hint" }, "—");
  const el = h("span", { "data-due": c.sla_due_at });
  fill(el);
  return el;
}

export function startTicking(root) {
  stopTicking();
  timer = setInterval(() => root.querySelectorAll("[data-due]").forEach(fill), 30000);
}

export function stopTicking() {
  clearInterval(timer);
  timer = null;
}
