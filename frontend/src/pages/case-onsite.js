// The on-site result (现场核查结果): 属实 / 不属实 / 无法入户 with a note; closing the case with it
// makes a label the topic learns from. Shown while the case is being handled (处置中).
import { api, can, openStream } from "../api.js";
import { field } from "../components/ui.js";
import { h } from "../dom.js";
import { t } from "../i18n.js";

const RESULTS = ["confirmed", "rejected", "no_entry"];
const TYPES = "image/jpeg,image/png,image/webp";
const MAX_BYTES = 10 * 1024 * 1024;

// The photos of the closing event, fetched signed (an <img src> would carry no token).
function recordedPhotos(detail) {
  const closing = [...detail.history].reverse().find((e) => e.action === "close");
  const photos = (closing?.attachments ?? []).filter((a) => a.kind === "photo" && a.url);
  const box = h("div", { class: "onsite-photos", id: "onsite-photos" });
  photos.forEach(async (p) => {
    try {
      const blob = await (await openStream(p.url)).blob();
      box.append(h("img", { src: URL.createObjectURL(blob), alt: p.name, class: "onsite-photo", width: 160, onload: (e) => URL.revokeObjectURL(e.target.src) }));
    } catch {
      box.append(h("span", { class: "hint" }, p.name));
    }
  });
  return box;
}

async function upload(caseId, files) {
  const out = [];
  for (const file of files) {
    const body = new FormData();
    body.append("file", file, file.name);
    const stored = await api(`/api/v1/cases/${caseId}/photos`, { method: "POST", body });
    out.push({ name: stored.name, url: stored.url, kind: "photo" });
  }
  return out;
}

/** The form, or a hint of what must happen first; ``done(detail)`` gets the case after. */
export function onSiteForm(detail, done) {
  const c = detail.case;
  if (c.status === "closed" || c.status === "archived") {
    return h("div", {}, h("p", { id: "onsite-recorded" }, t("case.onsite.recorded", { outcome: c.outcome_zh ?? "—" })), recordedPhotos(detail));
  }
  if (!can("cases.write")) return h("p", { class: "hint" }, t("desk.noActions"));
  if (!detail.allowed_actions.includes("close")) return h("p", { class: "hint", id: "onsite-later" }, t("case.onsite.startFirst"));
  const radios = RESULTS.map((r) => h("label", { class: "choice" },
    h("input", { type: "radio", name: "onsite-result", value: r, id: `onsite-${r}`, required: true }), " ", t(`case.onsite.${r}`)));
  const note = h("textarea", { id: "onsite-note", rows: 3, maxlength: 4000 });
  // On a phone, capture opens the camera; on a desk, the file picker.
  const photos = h("input", { type: "file", id: "onsite-photos-input", accept: TYPES, capture: "environment", multiple: true });
  const error = h("p", { class: "error", role: "alert", id: "onsite-error" });
  const form = h("form", { class: "stack", id: "onsite-form" },
    h("fieldset", {}, h("legend", {}, t("case.onsite.result")), h("div", { class: "button-row" }, radios)),
    field(t("case.onsite.note"), note),
    field(t("case.onsite.photos"), photos, t("case.onsite.photosHint")),
    error,
    h("button", { type: "submit", class: "button primary-action", id: "onsite-submit" }, t("case.onsite.submit")));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const result = form.querySelector("input[name=onsite-result]:checked")?.value;
    if (!result) {
      error.textContent = t("case.onsite.pick");
      return;
    }
    const files = [...photos.files];
    const wrong = files.find((f) => !TYPES.split(",").includes(f.type) || f.size > MAX_BYTES);
    if (wrong) {
      error.textContent = t("case.onsite.badPhoto", { name: wrong.name });
      return;
    }
    try {
      const attachments = await upload(c.id, files);
      done(await api(`/api/v1/cases/${c.id}/on-site`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ version: c.version, result, comment: note.value.trim(), attachments }),
      }));
    } catch (err) {
      error.textContent = err.status === 409 ? t("desk.conflict", { message: err.message }) : t("error.load", { message: err.message });
    }
  });
  return form;
}
