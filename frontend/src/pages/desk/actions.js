// Acting on a case: each action a real button; its form (comment, outcome, hours) in a modal dialog.
import { api, can } from "../../api.js";
import { field, select } from "../../components/ui.js";
import { h } from "../../dom.js";
import { t } from "../../i18n.js";

// allowed_actions name → route, permission, and which extra fields its form asks for.
const ACTIONS = {
  accept: { path: "accept", needs: "cases.write" },
  start: { path: "start", needs: "cases.write" },
  attach: { path: "note", needs: "cases.write", comment: "required" },
  close: { path: "close", needs: "cases.write", outcome: true },
  return: { path: "return", needs: "cases.write", comment: "required" },
  request_extension: { path: "extension/request", needs: "cases.write", hours: true, comment: "required" },
  dispatch: { path: "dispatch", needs: "cases.dispatch" },
  approve_extension: { path: "extension/approve", needs: "cases.dispatch" },
  refuse_extension: { path: "extension/refuse", needs: "cases.dispatch", comment: "required" },
  archive: { path: "archive", needs: "cases.dispatch" },
};
const OUTCOMES = ["confirmed", "rejected", "unverifiable"];

function form(name, spec, onSubmit, onCancel) {
  const comment = h("textarea", { id: "action-comment", rows: 3, maxlength: 4000, required: spec.comment === "required" });
  const outcome = spec.outcome ? select("action-outcome", OUTCOMES.map((o) => [o, t(`desk.outcome.${o}`)])) : null;
  const hours = spec.hours ? h("input", { id: "action-hours", type: "number", min: 1, max: 2160, step: 1, value: 24, required: true }) : null;
  const error = h("p", { class: "error", role: "alert", id: "action-error" });
  const el = h("form", { method: "dialog", class: "stack" },
    h("h2", { id: "action-title" }, t(`desk.action.${name}`)),
    outcome && field(t("desk.outcomeLabel"), outcome),
    hours && field(t("desk.hours"), hours),
    field(t(spec.comment ? "desk.commentRequired" : "desk.comment"), comment),
    error,
    h("div", { class: "button-row" },
      h("button", { type: "submit", class: "button primary-action", id: "action-submit" }, t("desk.submit")),
      h("button", { type: "button", class: "button", id: "action-cancel", onclick: onCancel }, t("desk.cancel"))));
  el.addEventListener("submit", (event) => {
    event.preventDefault();
    const body = { comment: comment.value.trim() };
    if (outcome) body.outcome = outcome.value;
    if (hours) body.hours = Number(hours.value);
    onSubmit(body, error);
  });
  return el;
}

/** The action buttons of a case the caller may take now; ``done(detail)`` gets the new state. */
export function actionBar(detail, done) {
  const dialog = h("dialog", { class: "modal", id: "action-dialog", "aria-labelledby": "action-title" });
  const open = (name, spec) => {
    let stale = false; // refused because the case moved on: closing the form shows its new state
    const close = async () => {
      dialog.close();
      if (stale) done(await api(`/api/v1/cases/${detail.case.id}`));
    };
    dialog.replaceChildren(form(name, spec, async (body, error) => {
      try {
        const next = await api(`/api/v1/cases/${detail.case.id}/${spec.path}`, {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ ...body, version: detail.case.version }),
        });
        dialog.close();
        done(next);
      } catch (err) {
        stale = err.status === 409;
        error.textContent = stale ? t("desk.conflict", { message: err.message }) : t("error.load", { message: err.message });
      }
    }, close));
    dialog.showModal();
    dialog.querySelector("textarea, select, input")?.focus();
  };
  const buttons = detail.allowed_actions
    .filter((name) => ACTIONS[name] && can(ACTIONS[name].needs))
    .map((name) => h("button", { type: "button", class: "button", "data-action": name, onclick: () => open(name, ACTIONS[name]) }, t(`desk.action.${name}`)));
  return h("div", {}, buttons.length ? h("div", { class: "button-row", id: "case-actions" }, buttons) : h("p", { class: "hint" }, t("desk.noActions")), dialog);
}
