// The on-site result (现场核查结果): 属实 / 不属实 / 无法入户 with a note; closing the case with it
// makes a label the topic learns from. Shown while the case is being handled (处置中).
import { api, can } from "../api.js";
import { field } from "../components/ui.js";
import { h } from "../dom.js";
import { t } from "../i18n.js";

const RESULTS = ["confirmed", "rejected", "no_entry"];

/** The form, or a hint of what must happen first; ``done(detail)`` gets the case after. */
export function onSiteForm(detail, done) {
  const c = detail.case;
  if (c.status === "closed" || c.status === "archived") {
    return h("p", { id: "onsite-recorded" }, t("case.onsite.recorded", { outcome: c.outcome_zh ?? "—" }));
  }
  if (!can("cases.write")) return h("p", { class: "hint" }, t("desk.noActions"));
  if (!detail.allowed_actions.includes("close")) return h("p", { class: "hint", id: "onsite-later" }, t("case.onsite.startFirst"));
  const radios = RESULTS.map((r) => h("label", { class: "choice" },
    h("input", { type: "radio", name: "onsite-result", value: r, id: `onsite-${r}`, required: true }), " ", t(`case.onsite.${r}`)));
  const note = h("textarea", { id: "onsite-note", rows: 3, maxlength: 4000 });
  const error = h("p", { class: "error", role: "alert", id: "onsite-error" });
  const form = h("form", { class: "stack", id: "onsite-form" },
    h("fieldset", {}, h("legend", {}, t("case.onsite.result")), h("div", { class: "button-row" }, radios)),
    field(t("case.onsite.note"), note),
    error,
    h("button", { type: "submit", class: "button primary-action", id: "onsite-submit" }, t("case.onsite.submit")));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const result = form.querySelector("input[name=onsite-result]:checked")?.value;
    if (!result) {
      error.textContent = t("case.onsite.pick");
      return;
    }
    try {
      done(await api(`/api/v1/cases/${c.id}/on-site`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ version: c.version, result, comment: note.value.trim() }),
      }));
    } catch (err) {
      error.textContent = err.status === 409 ? t("desk.conflict", { message: err.message }) : t("error.load", { message: err.message });
    }
  });
  return form;
}
