// 巡查上报: a grid worker's report from the street, on a phone — category, note, position (the
// phone's GPS or a typed address; else the photo's own GPS) and photos, sent in one request to
// POST /api/v1/patrol/reports. The report id is made once per filled form, so sending again after
// a lost connection files nothing twice. The answer names the case it opened or joined.
import { api } from "../api.js";
import { allowed, bi, errorNote, field, section, stillHere } from "../components/ui.js";
import { h } from "../dom.js";
import { t } from "../i18n.js";
import "./patrol.css";

const TYPES = "image/jpeg,image/png,image/webp";
const MAX_PHOTOS = 6;
const MAX_BYTES = 10 * 1024 * 1024;

const newReportId = () => `web-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`;

function positionPart() {
  const lon = h("input", { type: "hidden", id: "patrol-lon" });
  const lat = h("input", { type: "hidden", id: "patrol-lat" });
  const shown = h("span", { id: "patrol-position", role: "status", "aria-live": "polite" }, t("patrol.noPosition"));
  const locate = h("button", { type: "button", class: "button", id: "patrol-locate" }, t("patrol.locate"));
  locate.addEventListener("click", () => {
    if (!navigator.geolocation) {
      shown.textContent = t("patrol.noGps");
      return;
    }
    shown.textContent = t("patrol.locating");
    navigator.geolocation.getCurrentPosition(
      (where) => {
        lon.value = where.coords.longitude.toFixed(6);
        lat.value = where.coords.latitude.toFixed(6);
        shown.textContent = t("patrol.position", { lon: lon.value, lat: lat.value, metres: Math.round(where.coords.accuracy) });
      },
      (failure) => {
        shown.textContent = t("patrol.gpsFailed", { message: failure.message });
      },
      { enableHighAccuracy: true, timeout: 15000 },
    );
  });
  return { lon, lat, element: h("div", { class: "patrol-position" }, locate, " ", shown, lon, lat) };
}

function form(services, done) {
  let reportId = newReportId();
  const category = h("select", { id: "patrol-category", required: true },
    h("option", { value: "" }, t("patrol.pick")),
    services.map((s) => h("option", { value: s.service_code }, s.group ? `${s.group} · ${s.service_name}` : s.service_name)));
  const note = h("textarea", { id: "patrol-note", rows: 3, maxlength: 2000 });
  const place = positionPart();
  const address = h("input", { type: "text", id: "patrol-address", maxlength: 200, autocomplete: "off" });
  // On a phone, capture opens the camera; on a desk, the file picker.
  const photos = h("input", { type: "file", id: "patrol-photos", accept: TYPES, capture: "environment", multiple: true });
  const keep = h("input", { type: "checkbox", id: "patrol-keep" });
  const error = h("p", { class: "error", role: "alert", id: "patrol-error" });
  const send = h("button", { type: "submit", class: "button primary-action", id: "patrol-submit" }, t("patrol.submit"));
  const el = h("form", { class: "stack patrol-form", id: "patrol-form" },
    field(t("patrol.category"), category),
    field(t("patrol.note"), note),
    h("fieldset", {}, h("legend", {}, t("patrol.where")), place.element, field(t("patrol.address"), address, t("patrol.addressHint"))),
    field(t("patrol.photos"), photos, t("patrol.photosHint", { count: MAX_PHOTOS })),
    h("label", { class: "choice" }, keep, " ", t("patrol.keepLocation")),
    error, send);
  // A changed form is a new report; an unchanged one sent again is the same report.
  el.addEventListener("input", () => { reportId = newReportId(); });
  el.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    if (!category.value) {
      error.textContent = t("patrol.pickFirst");
      return;
    }
    const files = [...photos.files];
    const wrong = files.find((f) => !TYPES.split(",").includes(f.type) || f.size > MAX_BYTES);
    if (files.length > MAX_PHOTOS || wrong) {
      error.textContent = wrong ? t("patrol.badPhoto", { name: wrong.name }) : t("patrol.tooMany", { count: MAX_PHOTOS });
      return;
    }
    const body = new FormData();
    body.append("category", category.value);
    body.append("note", note.value.trim());
    body.append("report_id", reportId);
    body.append("keep_location", keep.checked ? "true" : "false");
    if (place.lon.value && place.lat.value) {
      body.append("lon", place.lon.value);
      body.append("lat", place.lat.value);
    } else if (address.value.trim()) {
      body.append("address", address.value.trim());
    }
    files.forEach((file) => body.append("photos", file, file.name));
    send.disabled = true;
    try {
      done(await api("/api/v1/patrol/reports", { method: "POST", body }));
    } catch (err) {
      error.textContent = t("error.load", { message: err.message }); // typed text stays in the form
    } finally {
      send.disabled = false;
    }
  });
  return el;
}

function answer(filed) {
  const where = filed.place;
  return h("div", { id: "patrol-answer", class: "patrol-answer", role: "status" },
    h("p", { id: "patrol-message" }, bi(filed, "message")),
    h("p", {}, t("patrol.placed", { address: where.address ?? "—", areas: [where.street, where.community, where.grid].filter(Boolean).join(" / ") || "—" })),
    h("p", {}, t("patrol.photosLanded", { count: filed.photos.length })),
    h("a", { href: `#/case?id=${filed.case_id}`, id: "patrol-case-link", class: "button" }, t("patrol.openCase", { id: filed.case_id })));
}

export default {
  async render(main) {
    if (!allowed(main, "cases.write", "/patrol")) return;
    const here = stillHere();
    main.append(h("h2", { class: "page-title" }, t("patrol.title")), h("p", { class: "hint" }, t("patrol.hint")));
    try {
      const response = await fetch("/open311/v2/services.json");
      const services = response.ok ? await response.json() : [];
      if (!here()) return;
      const result = h("div", { id: "patrol-result" });
      main.append(section("patrol-report", t("patrol.form"), form(services, (filed) => result.replaceChildren(answer(filed))), result));
    } catch (error) {
      if (here()) main.append(errorNote(error));
    }
    if (here()) main.dataset.ready = "1";
  },
};
