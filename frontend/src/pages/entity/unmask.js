// Unmask (查看明文): a time-limited grant for one subject, with a purpose that goes to the audit log.
import { api } from "../../api.js";
import { field } from "../../components/ui.js";
import { h } from "../../dom.js";
import { t } from "../../i18n.js";

const MIN_PURPOSE = 10;

/** A button that asks for a purpose, opens the grant, then calls ``done(purpose)``. */
export function unmaskButton(subject, done) {
  const dialog = h("dialog", { class: "modal", id: "unmask-dialog", "aria-labelledby": "unmask-title" });
  const purpose = h("textarea", { id: "unmask-purpose", rows: 3, minlength: MIN_PURPOSE, maxlength: 1000, required: true });
  const minutes = h("input", { id: "unmask-minutes", type: "number", min: 1, max: 240, value: 15, required: true });
  const error = h("p", { class: "error", role: "alert", id: "unmask-error" });
  const form = h("form", { method: "dialog", class: "stack" },
    h("h2", { id: "unmask-title" }, t("entity.unmaskTitle")),
    h("p", { class: "hint" }, t("entity.unmaskExplain")),
    field(t("entity.purpose"), purpose, t("entity.purposeHint", { min: MIN_PURPOSE })),
    field(t("entity.minutes"), minutes),
    error,
    h("div", { class: "button-row" },
      h("button", { type: "submit", class: "button primary-action", id: "unmask-submit" }, t("entity.unmaskConfirm")),
      h("button", { type: "button", class: "button", onclick: () => dialog.close() }, t("desk.cancel"))));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (purpose.value.trim().length < MIN_PURPOSE) {
      error.textContent = t("entity.purposeHint", { min: MIN_PURPOSE });
      purpose.focus();
      return;
    }
    try {
      await api("/api/v1/unmask-grants", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ purpose: purpose.value.trim(), minutes: Number(minutes.value), subjects: [subject] }),
      });
      dialog.close();
      done(purpose.value.trim());
    } catch (err) {
      error.textContent = t("error.load", { message: err.message });
    }
  });
  dialog.append(form);
  const button = h("button", { type: "button", class: "button", id: "unmask", onclick: () => { error.textContent = ""; dialog.showModal(); purpose.focus(); } }, t("entity.unmask"));
  return h("div", {}, button, dialog);
}
