// 代办: a clerk enters the report of a resident who phoned (category, what they said, the address as
// they said it — read and placed by the address register, shown back — and their phone). The answer
// is the receipt number the clerk reads out; the resident follows it on the portal (/portal/).
import { api, can } from "../../api.js";
import { field, select } from "../../components/ui.js";
import { h } from "../../dom.js";
import { t } from "../../i18n.js";

const json = (body) => ({ method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
const newId = () => `desk-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`;

/** The 代办 section of the case desk, for those who may write cases; ``done()`` after a report. */
export function assistedSection(done) {
  if (!can("cases.write")) return null;
  const category = select("assisted-category", [["", t("assisted.choose")]]);
  category.required = true;
  api("/open311/v2/services.json")
    .then((services) => category.append(...services.map((s) => h("option", { value: s.service_code }, s.service_name))))
    .catch((e) => result.replaceChildren(h("p", { class: "error", role: "alert" }, t("error.load", { message: e.message }))));
  const text = h("textarea", { id: "assisted-text", rows: 3, maxlength: 2000, required: true });
  const address = h("input", { id: "assisted-address", type: "text", maxlength: 200, minlength: 2, required: true, autocomplete: "off" });
  const phone = h("input", { id: "assisted-phone", type: "tel", maxlength: 20, required: true, inputmode: "tel", pattern: "[+]?[0-9][0-9 \\-]{9,18}" });
  const name = h("input", { id: "assisted-name", type: "text", maxlength: 64 });
  const placed = h("div", { id: "assisted-place", "aria-live": "polite" });
  const result = h("div", { id: "assisted-result", "aria-live": "polite" });
  const check = h("button", { type: "button", class: "button", id: "assisted-check" }, t("assisted.check"));
  let requestId = newId(); // one per entry: a double click files it once
  check.addEventListener("click", async () => {
    if (!address.reportValidity()) return;
    placed.replaceChildren(h("p", {}, t("assisted.checking")));
    try {
      const found = await api("/api/v1/portal/address", json({ text: address.value.trim() }));
      const areas = [found.street, found.community, found.grid].filter(Boolean).join(" / ");
      placed.replaceChildren(h("p", { class: found.matched ? "ok" : "error", id: "assisted-found" },
        found.matched ? t("assisted.found", { address: found.full_address, areas: areas || "—" }) : t("assisted.notFound")));
    } catch (e) {
      placed.replaceChildren(h("p", { class: "error", role: "alert" }, t("error.load", { message: e.message })));
    }
  });
  address.addEventListener("input", () => placed.replaceChildren());
  const submit = h("button", { type: "submit", class: "button primary-action", id: "assisted-submit" }, t("assisted.submit"));
  const form = h("form", { id: "assisted-form", class: "stack", hidden: true },
    field(t("assisted.category"), category),
    field(t("assisted.text"), text, t("assisted.textHint")),
    field(t("assisted.address"), address, t("assisted.addressHint")),
    h("div", { class: "button-row" }, check), placed,
    field(t("assisted.phone"), phone, t("assisted.phoneHint")),
    field(t("assisted.name"), name),
    h("div", { class: "button-row" }, submit), result);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!form.reportValidity()) return;
    submit.disabled = true;
    try {
      const sent = await api("/api/v1/portal/assisted-reports", json({
        service_code: category.value, description: text.value.trim(), address: address.value.trim(),
        phone: phone.value.replace(/[\s-]/g, ""), name: name.value.trim() || null, request_id: requestId }));
      result.replaceChildren(h("section", { class: "card", id: "assisted-receipt", "aria-labelledby": "assisted-receipt-title" },
        h("h3", { id: "assisted-receipt-title", tabindex: "-1" }, t("assisted.done")),
        h("p", {}, t("assisted.readOut")),
        h("p", { class: "receipt-number", id: "assisted-receipt-number" }, sent.receipt),
        h("p", {}, t("assisted.where", { address: sent.address.full_address ?? sent.address.text })),
        h("p", {}, h("a", { href: `#/case?id=${sent.case_id}`, class: "case-link" }, t("assisted.openCase", { id: sent.case_id })))));
      for (const control of [text, address, phone, name]) control.value = "";
      placed.replaceChildren();
      requestId = newId();
      result.querySelector("h3").focus();
      done?.();
    } catch (e) {
      result.replaceChildren(h("p", { class: "error", role: "alert" }, t("assisted.refused", { message: e.message })));
    } finally {
      submit.disabled = false;
    }
  });
  const open = h("button", { type: "button", class: "button", id: "assisted-open", "aria-expanded": "false", "aria-controls": "assisted-form" }, t("assisted.open"));
  open.addEventListener("click", () => {
    form.hidden = !form.hidden;
    open.setAttribute("aria-expanded", String(!form.hidden));
    if (!form.hidden) category.focus();
  });
  return h("section", { class: "card", "aria-labelledby": "assisted-title" },
    h("h3", { id: "assisted-title" }, t("assisted.title")), h("p", { class: "hint" }, t("assisted.lead")), open, form);
}
