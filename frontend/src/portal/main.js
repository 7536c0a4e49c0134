// The public portal (市民 and 企业): a second entry of the web build, served at /portal/.
// One task per screen (#/report, #/follow, #/firm), zh-CN by default with an English switch, and a
// 长辈版 (large type, large targets, high contrast) kept across visits. Loads nothing from elsewhere.
import "./portal.css";
import { h } from "../dom.js";
import zh from "./i18n/zh-CN.json";
import en from "./i18n/en.json";

const DICTS = { "zh-CN": zh, en };
const LANG_KEY = "citybrain.portal.lang";
const ELDER_KEY = "citybrain.portal.elder";
const TOKEN_KEY = "citybrain.portal.firm";
const RESIDENT_KEY = "citybrain.portal.resident";
let lang = DICTS[localStorage.getItem(LANG_KEY)] ? localStorage.getItem(LANG_KEY) : "zh-CN";
const main = document.getElementById("portal-main");
const status = document.getElementById("portal-status");
// What a resident typed survives a language switch or a mode switch (no timeout loses it).
const draft = {};

const t = (key, vars = {}) =>
  (DICTS[lang][key] ?? zh[key] ?? key).replace(/\{(\w+)\}/g, (_, n) => String(vars[n] ?? ""));

function announce(text) {
  status.textContent = "";
  requestAnimationFrame(() => (status.textContent = text));
}

class ApiError extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

async function call(path, { method = "GET", json, form, token } = {}) {
  const headers = {};
  let body;
  if (json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(json);
  } else if (form) body = form;
  if (token) headers.Authorization = `Bearer ${token}`;
  const response = await fetch(path, { method, headers, body });
  const data = await response.json().catch(() => null);
  if (!response.ok) {
    const detail = data?.detail;
    const message = typeof detail === "string" ? detail : Array.isArray(detail) ? detail.map((d) => d.msg).join("; ") : response.statusText;
    throw new ApiError(response.status, message);
  }
  return data;
}

function errorBox(error) {
  const text = error.code === 404 && error.notFound ? t("notFound") : t("error", { message: error.message });
  announce(text);
  return h("p", { class: "error", role: "alert" }, text);
}

function field(id, labelKey, control, hintKey) {
  const hint = hintKey ? h("span", { class: "hint", id: `${id}-hint` }, t(hintKey)) : null;
  if (hint) control.setAttribute("aria-describedby", `${id}-hint`);
  control.id = id;
  return h("div", { class: "field" }, h("label", { for: id }, t(labelKey)), hint, control);
}

function keep(el, key) {
  if (draft[key] != null) el.value = draft[key];
  el.addEventListener("input", () => (draft[key] = el.value));
  return el;
}

function screen(titleKey, ...content) {
  const title = h("h2", { id: "screen-title", tabindex: "-1" }, t(titleKey));
  const back = h("p", {}, h("a", { href: "#/", class: "back" }, t("back")));
  return [title, ...content, back];
}

// --- home -------------------------------------------------------------------------------------

function home() {
  const tile = (href, key, hintKey, id) =>
    h("li", {}, h("a", { href, class: "tile", id }, h("strong", {}, t(key)), h("span", {}, t(hintKey))));
  return [
    h("h2", { id: "screen-title", tabindex: "-1" }, t("title")),
    h("p", { class: "lead" }, t("home.lead")),
    h("ul", { class: "tiles" },
      tile("#/report", "home.report", "home.reportHint", "go-report"),
      tile("#/follow", "home.follow", "home.followHint", "go-follow"),
      tile("#/mine", "home.mine", "home.mineHint", "go-mine"),
      tile("#/near", "home.near", "home.nearHint", "go-near"),
      tile("#/firm", "home.firm", "home.firmHint", "go-firm")),
  ];
}

// --- report a problem --------------------------------------------------------------------------

function report() {
  const category = keep(h("select", { required: true }, h("option", { value: "" }, t("report.choose"))), "category");
  call("/open311/v2/services.json")
    .then((services) => {
      for (const s of services) category.append(h("option", { value: s.service_code }, s.service_name));
      if (draft.category) category.value = draft.category;
    })
    .catch((e) => form.prepend(errorBox(e)));
  const text = keep(h("textarea", { rows: "4", required: true, maxlength: "2000" }), "text");
  const address = keep(h("input", { type: "text", required: true, maxlength: "200", autocomplete: "street-address" }), "address");
  const resolved = h("div", { id: "address-result", "aria-live": "polite" });
  const confirm = h("input", { type: "checkbox", id: "address-confirm", disabled: true });
  const confirmRow = h("div", { class: "check" }, confirm, h("label", { for: "address-confirm" }, t("report.confirm")));
  let checkedFor = null;
  address.addEventListener("input", () => {
    confirm.checked = false;
    confirm.disabled = true;
    resolved.replaceChildren();
    checkedFor = null;
  });
  const checkButton = h("button", { type: "button", id: "address-check", class: "secondary" }, t("report.check"));
  checkButton.addEventListener("click", async () => {
    resolved.replaceChildren(h("p", {}, t("report.checking")));
    try {
      const found = await call("/api/v1/portal/address", { method: "POST", json: { text: address.value } });
      const parts = Object.values(found.components).join(" · ");
      const areas = [found.street, found.community, found.grid].filter(Boolean).join(" / ");
      resolved.replaceChildren(
        h("p", { class: found.matched ? "found" : "not-found", id: "address-found" },
          found.matched ? t("report.found", { address: found.full_address }) : t("report.notFound", { address: found.text })),
        areas ? h("p", {}, t("report.area", { areas })) : null,
        parts ? h("p", { class: "hint" }, t("report.read", { parts })) : null,
      );
      checkedFor = address.value;
      confirm.disabled = false;
      confirm.focus();
    } catch (e) {
      resolved.replaceChildren(errorBox(e));
    }
  });
  const photo = h("input", { type: "file", accept: "image/jpeg,image/png,image/webp" });
  const keepLocation = h("input", { type: "checkbox", id: "photo-keep-location" });
  const name = keep(h("input", { type: "text", maxlength: "64", autocomplete: "name" }), "name");
  const phone = keep(h("input", { type: "tel", maxlength: "32", autocomplete: "tel" }), "phone");
  const result = h("div", { id: "report-result", "aria-live": "polite" });
  const submit = h("button", { type: "submit", id: "report-submit" }, t("report.submit"));
  const form = h("form", { id: "report-form", novalidate: true },
    field("report-category", "report.category", category),
    field("report-text", "report.text", text, "report.textHint"),
    field("report-address", "report.address", address, "report.addressHint"),
    checkButton, resolved, confirmRow,
    field("report-photo", "report.photo", photo),
    h("div", { class: "check" }, keepLocation, h("label", { for: "photo-keep-location" }, t("report.keepLocation"))),
    field("report-name", "report.name", name),
    field("report-phone", "report.phone", phone),
    submit, result);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!form.reportValidity()) return;
    if (!confirm.checked || checkedFor !== address.value) {
      result.replaceChildren(h("p", { class: "error", role: "alert" }, t("report.needAddress")));
      return;
    }
    submit.disabled = true;
    result.replaceChildren(h("p", {}, t("report.sending")));
    try {
      let sha = null;
      if (photo.files.length) {
        const body = new FormData();
        body.append("file", photo.files[0]);
        body.append("keep_location", keepLocation.checked ? "true" : "false");
        sha = (await call("/api/v1/portal/photos", { method: "POST", form: body })).sha256;
      }
      const sent = await call("/api/v1/portal/reports", {
        method: "POST",
        json: { service_code: category.value, description: text.value, address: address.value, photo: sha, name: name.value || null, phone: phone.value || null },
      });
      for (const key of Object.keys(draft)) delete draft[key];
      const done = h("section", { class: "receipt", "aria-labelledby": "receipt-title" },
        h("h3", { id: "receipt-title", tabindex: "-1" }, t("report.done")),
        h("p", {}, t("report.receipt")),
        h("p", { class: "receipt-number", id: "receipt-number" }, sent.receipt),
        h("p", {}, t("report.keep")),
        h("p", {}, h("a", { href: `#/follow?receipt=${encodeURIComponent(sent.receipt)}`, class: "button" }, t("report.followIt"))));
      main.replaceChildren(...screen("report.title", done));
      done.querySelector("h3").focus();
      announce(`${t("report.done")} ${sent.receipt}`);
    } catch (e) {
      result.replaceChildren(errorBox(e));
      submit.disabled = false;
    }
  });
  return screen("report.title", form);
}

// --- follow and rate --------------------------------------------------------------------------

function follow(params) {
  const receipt = keep(h("input", { type: "text", required: true, maxlength: "40", autocomplete: "off", spellcheck: "false" }), "receipt");
  if (params.get("receipt")) receipt.value = draft.receipt = params.get("receipt");
  const out = h("div", { id: "follow-result", "aria-live": "polite" });
  const form = h("form", { id: "follow-form" }, field("follow-receipt", "follow.receipt", receipt, "follow.receiptHint"),
    h("button", { type: "submit", id: "follow-submit" }, t("follow.submit")));
  const show = async () => {
    try {
      const found = await call(`/api/v1/portal/receipts/${encodeURIComponent(receipt.value.trim())}`);
      out.replaceChildren(followed(found));
      announce(`${t("follow.status")}: ${found.status_zh}`);
    } catch (e) {
      e.notFound = true;
      out.replaceChildren(errorBox(e));
    }
  };
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (form.reportValidity()) show();
  });
  if (receipt.value) show();
  return screen("follow.title", form, out);
}

function followed(found) {
  const row = (key, value, id) => [h("dt", {}, t(key)), h("dd", { id }, value ?? "—")];
  // The city's own clock: the API gives local time with its offset.
  const deadline = found.deadline ? found.deadline.slice(0, 16).replace("T", " ") : null;
  const card = h("section", { class: "card", id: "follow-card", "data-status": found.status },
    h("dl", {},
      row("follow.what", found.service_name ? `${found.service_name}：${found.description}` : found.description),
      row("follow.address", found.address),
      row("follow.status", lang === "en" ? found.status.replace("_", " ") : found.status_zh, "follow-status"),
      row("follow.department", found.department, "follow-department"),
      row("follow.deadline", deadline, "follow-deadline"),
      row("follow.answer", found.answer ?? t("follow.noAnswer"), "follow-answer")));
  if (found.rating) card.append(h("p", { id: "follow-rated", class: "found" }, t("follow.rated", { rating: t(`follow.rate${found.rating}`) })));
  if (found.can_rate) card.append(rating(found.receipt, card));
  return card;
}

function rating(receipt, card) {
  const options = [5, 4, 3, 2, 1].map((n) =>
    h("div", { class: "check" },
      h("input", { type: "radio", name: "rating", value: String(n), id: `rate-${n}`, required: true }),
      h("label", { for: `rate-${n}` }, t(`follow.rate${n}`))));
  const form = h("form", { id: "rate-form" },
    h("fieldset", {}, h("legend", {}, t("follow.rateTitle")), ...options),
    h("button", { type: "submit", id: "rate-submit" }, t("follow.rateSubmit")));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const picked = form.querySelector("input[name=rating]:checked");
    if (!picked) return form.reportValidity();
    try {
      const found = await call(`/api/v1/portal/receipts/${encodeURIComponent(receipt)}/rating`, { method: "POST", json: { rating: Number(picked.value) } });
      const next = followed(found);
      card.replaceWith(next);
      next.querySelector("#follow-rated")?.setAttribute("tabindex", "-1");
      next.querySelector("#follow-rated")?.focus();
      announce(t("follow.rated", { rating: t(`follow.rate${found.rating}`) }));
    } catch (e) {
      form.append(errorBox(e));
    }
  });
  return form;
}

// --- my reports, signed in by phone ------------------------------------------------------------

function mine() {
  const out = h("div", { id: "mine-area" });
  const token = sessionStorage.getItem(RESIDENT_KEY);
  if (token) loadMine(out, token);
  else out.append(phoneSignIn(out));
  return screen("mine.title", out);
}

function phoneSignIn(out) {
  const phone = keep(h("input", { type: "tel", required: true, maxlength: "20", autocomplete: "tel", inputmode: "tel", pattern: "[+]?[0-9][0-9 \\-]{9,18}" }), "minePhone");
  const code = h("input", { type: "text", required: true, inputmode: "numeric", autocomplete: "one-time-code", pattern: "[0-9]{6}", maxlength: "6" });
  const codeRow = h("div", { hidden: true, id: "phone-code-row" }, field("phone-code", "mine.code", code, "mine.codeHint"),
    h("button", { type: "submit", id: "phone-verify" }, t("mine.signIn")));
  const message = h("div", { "aria-live": "polite", id: "phone-message" });
  const send = h("button", { type: "button", id: "phone-send", class: "secondary" }, t("mine.send"));
  const number = () => phone.value.replace(/[\s-]/g, "");
  send.addEventListener("click", async () => {
    if (!phone.reportValidity()) return;
    try {
      const sent = await call("/api/v1/portal/phone/code", { method: "POST", json: { phone: number() } });
      message.replaceChildren(h("p", { class: "found", id: "phone-sent" }, lang === "en" ? sent.notice_en : sent.notice_zh));
      announce(lang === "en" ? sent.notice_en : sent.notice_zh);
      codeRow.hidden = false;
      code.focus();
    } catch (e) {
      message.replaceChildren(errorBox(e));
    }
  });
  const form = h("form", { id: "phone-form", "aria-labelledby": "phone-sign-in" },
    h("h3", { id: "phone-sign-in" }, t("mine.signInTitle")), h("p", { class: "hint" }, t("mine.lead")),
    field("phone-number", "mine.phone", phone, "mine.phoneHint"), send, message, codeRow);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (codeRow.hidden || !form.reportValidity()) return;
    try {
      const signed = await call("/api/v1/portal/phone/session", { method: "POST", json: { phone: number(), code: code.value.trim() } });
      sessionStorage.setItem(RESIDENT_KEY, signed.access_token);
      await loadMine(out, signed.access_token);
    } catch (e) {
      message.replaceChildren(errorBox(e));
    }
  });
  return form;
}

async function loadMine(out, token) {
  try {
    const got = await call("/api/v1/portal/my/reports", { token });
    const signOut = h("button", { type: "button", class: "secondary", id: "mine-sign-out" }, t("mine.signOut"));
    signOut.addEventListener("click", () => {
      sessionStorage.removeItem(RESIDENT_KEY);
      out.replaceChildren(phoneSignIn(out));
      announce(t("mine.signedOut"));
    });
    const item = (r) => h("li", { class: "card", "data-receipt": r.receipt },
      h("p", {}, h("strong", {}, r.service_name ? `${r.service_name}：${r.description.slice(0, 60)}` : r.description.slice(0, 60))),
      h("p", {}, `${t("follow.status")}：${lang === "en" ? r.status.replace("_", " ") : r.status_zh} · ${t("follow.department")}：${r.department ?? "—"}`),
      r.deadline ? h("p", {}, `${t("follow.deadline")}：${r.deadline.slice(0, 16).replace("T", " ")}`) : null,
      r.answer ? h("p", { class: "found" }, `${t("follow.answer")}：${r.answer}`) : null,
      r.rating ? h("p", {}, t("follow.rated", { rating: t(`follow.rate${r.rating}`) })) : null,
      h("p", {}, h("a", { href: `#/follow?receipt=${encodeURIComponent(r.receipt)}`, class: "target-link" },
        r.can_rate ? t("mine.rate", { receipt: r.receipt }) : t("mine.open", { receipt: r.receipt }))));
    out.replaceChildren(
      h("h3", { id: "mine-heading", tabindex: "-1" }, t("mine.heading", { phone: got.phone ?? "" })),
      got.reports.length ? h("ul", { id: "mine-reports", class: "plain" }, got.reports.map(item)) : h("p", { id: "mine-none" }, t("mine.none")),
      signOut);
    out.querySelector("#mine-heading").focus();
    announce(t("mine.heading", { phone: got.phone ?? "" }));
  } catch (e) {
    sessionStorage.removeItem(RESIDENT_KEY);
    out.replaceChildren(errorBox(e), phoneSignIn(out));
  }
}

// --- near me: free parking and the air ----------------------------------------------------------

function near() {
  const address = keep(h("input", { type: "text", required: true, minlength: "2", maxlength: "200", autocomplete: "street-address" }), "nearAddress");
  const out = h("div", { id: "near-result", "aria-live": "polite" });
  const form = h("form", { id: "near-form" },
    field("near-address", "near.address", address, "report.addressHint"),
    h("button", { type: "submit", id: "near-submit" }, t("near.submit")), out);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!form.reportValidity()) return;
    const q = encodeURIComponent(address.value.trim());
    out.replaceChildren(h("p", {}, t("report.checking")));
    const [parking, air, notices] = await Promise.allSettled([
      call(`/api/v1/parking/nearest?k=3&address=${q}`), call(`/api/v1/portal/air?k=2&address=${q}`),
      call(`/api/v1/portal/notices?address=${q}`)]);
    const cards = [];
    if (parking.status === "fulfilled") {
      const p = parking.value;
      cards.push(h("p", { class: "found", id: "near-place" }, t("report.found", { address: p.point.matched ?? address.value })));
      cards.push(h("section", { class: "card", "aria-labelledby": "parking-title" },
        h("h3", { id: "parking-title" }, t("near.parking")),
        p.lots.length
          ? h("ul", { id: "near-parking" }, p.lots.map((l) => h("li", {}, t("near.lot", { name: l.name ?? l.lot_id, free: l.free, metres: Math.round(l.distance_m) }))))
          : h("p", {}, t("near.noParking"))));
    } else cards.push(errorBox(parking.reason));
    if (air.status === "fulfilled") {
      const a = air.value;
      cards.push(h("section", { class: "card", "aria-labelledby": "air-title" },
        h("h3", { id: "air-title" }, t("near.air")),
        a.stations.length
          ? h("ul", { id: "near-air" }, a.stations.map((s) => h("li", {}, t("near.station", { aqi: s.aqi, category: (lang === "en" ? s.category_en : s.category_zh) ?? "", date: s.date, metres: Math.round(s.distance_m) }))))
          : h("p", {}, t("near.noAir"))));
    }
    if (notices.status === "fulfilled") {
      const n = notices.value;
      cards.push(h("section", { class: "card", "aria-labelledby": "notices-title" },
        h("h3", { id: "notices-title" }, t("near.notices", { community: n.place.community ?? "" })),
        n.notices.length
          ? h("ul", { id: "near-notices" }, n.notices.map((x) => h("li", {}, t("near.notice", { title: lang === "en" ? x.title_en : x.title_zh, from: x.first_day ?? "", to: x.last_day ?? "", households: x.households }))))
          : h("p", {}, t("near.noNotices"))));
    }
    out.replaceChildren(...cards);
    announce(t("near.done"));
  });
  return screen("near.title", form);
}

// --- enterprises ------------------------------------------------------------------------------

function firm() {
  const token = sessionStorage.getItem(TOKEN_KEY);
  const out = h("div", { id: "firm-area" });
  if (token) loadFirm(out, token);
  else out.append(firmSignIn(out));
  return screen("firm.title", out);
}

function firmSignIn(out) {
  const uscc = keep(h("input", { type: "text", required: true, maxlength: "18", autocomplete: "organization", spellcheck: "false" }), "uscc");
  const account = h("input", { type: "text", required: true, maxlength: "64", autocomplete: "username" });
  const password = h("input", { type: "password", required: true, autocomplete: "current-password" });
  const message = h("div", { "aria-live": "polite" });
  const form = h("form", { id: "firm-form", "aria-labelledby": "firm-sign-in" },
    h("h3", { id: "firm-sign-in" }, t("firm.signIn")),
    field("firm-uscc", "firm.uscc", uscc), field("firm-account", "firm.account", account),
    field("firm-password", "firm.password", password),
    h("button", { type: "submit", id: "firm-submit" }, t("firm.submit")), message);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!form.reportValidity()) return;
    try {
      // The server checks that the account is this firm's (its USCC), not the browser.
      const pair = await call("/api/v1/portal/firm/session", {
        method: "POST", json: { uscc: uscc.value.trim(), username: account.value, password: password.value } });
      const credit = await call("/api/v1/portal/firm/credit", { token: pair.access_token });
      sessionStorage.setItem(TOKEN_KEY, pair.access_token);
      showFirm(out, credit, pair.access_token);
    } catch (e) {
      message.replaceChildren(errorBox(e));
    }
  });
  return form;
}

async function loadFirm(out, token) {
  try {
    const credit = await call("/api/v1/portal/firm/credit", { token });
    showFirm(out, credit, token);
  } catch (e) {
    sessionStorage.removeItem(TOKEN_KEY);
    out.replaceChildren(errorBox(e), firmSignIn(out));
  }
}

function showFirm(out, credit, token) {
  const signOut = h("button", { type: "button", class: "secondary", id: "firm-sign-out" }, t("firm.signOut"));
  signOut.addEventListener("click", () => {
    sessionStorage.removeItem(TOKEN_KEY);
    out.replaceChildren(firmSignIn(out));
  });
  const grade = h("section", { class: "card grade", "aria-labelledby": "grade-title" },
    h("h3", { id: "grade-title" }, `${credit.name ?? ""} ${credit.uscc}`),
    credit.grade
      ? [h("p", { class: `grade-letter grade-${credit.grade}`, id: "firm-grade" }, `${t("firm.grade")} ${credit.grade}`),
        h("p", {}, t("firm.score", { score: credit.score }), credit.period ? ` · ${t("firm.period", { period: credit.period })}` : "")]
      : h("p", { id: "firm-grade" }, t("firm.noGrade")));
  const reasons = h("section", { class: "card", "aria-labelledby": "reasons-title" },
    h("h3", { id: "reasons-title" }, t("firm.reasons")),
    h("ul", { id: "firm-reasons" }, credit.reasons.map((r) => h("li", {}, `${lang === "en" ? r.text_en : r.text_zh}（${r.points > 0 ? "+" : ""}${r.points}）`))));
  const history = h("section", { class: "card", "aria-labelledby": "history-title" },
    h("h3", { id: "history-title" }, t("firm.history")),
    h("table", { id: "firm-history" },
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, t("firm.historyAt")), h("th", { scope: "col" }, t("firm.grade")), h("th", { scope: "col" }, t("firm.historyCause")))),
      h("tbody", {}, credit.history.map((p) => h("tr", {}, h("td", {}, p.at.slice(0, 16).replace("T", " ")), h("td", {}, `${p.grade} (${p.score})`), h("td", {}, t(`firm.cause.${p.cause}`)))))));
  const records = h("section", { class: "card", "aria-labelledby": "records-title" },
    h("h3", { id: "records-title" }, t("firm.records")),
    credit.records.length ? h("ul", { id: "firm-records", class: "records" }, credit.records.map((r) => record(r, token, out))) : h("p", {}, t("firm.noRecords")));
  const extra = h("div", { id: "firm-extra" });
  out.replaceChildren(grade, reasons, history, records, extra, signOut);
  firmExtras(extra, token);
}

function policyAnswers(p, token, extra) {
  const buttons = ["apply", "decline"].map((answer) => {
    const b = h("button", { type: "button", class: answer === "apply" ? "" : "secondary", "data-answer": answer }, t(`firm.answer.${answer}`));
    b.addEventListener("click", async () => {
      try {
        await call(`/api/v1/portal/firm/policies/${encodeURIComponent(p.policy)}/answer`, { method: "POST", token, json: { answer } });
        announce(t(`firm.answered.${answer}`));
        firmExtras(extra, token);
      } catch (e) {
        b.after(errorBox(e));
      }
    });
    return b;
  });
  return h("p", { class: "answers", "data-policy": p.policy }, ...buttons);
}

async function firmExtras(extra, token) {
  const [policies, requests, commitments] = await Promise.all(
    ["policies", "requests", "commitments"].map((p) => call(`/api/v1/portal/firm/${p}`, { token }).catch(() => null)));
  const sections = [];
  if (policies) {
    sections.push(h("section", { class: "card", "aria-labelledby": "policies-title" },
      h("h3", { id: "policies-title" }, t("firm.policies")),
      policies.length
        ? h("ul", { id: "firm-policies" }, policies.map((p) => h("li", {},
            h("strong", {}, lang === "en" ? p.title_en : p.title_zh), ` · ${p.department}`,
            h("ul", { class: "hint" }, p.reasons.map((r) => h("li", {}, lang === "en" ? r.text_en : r.text_zh))),
            p.case_status ? h("p", { class: "hint" }, t("firm.policyCase", { status: p.outcome ?? p.case_status })) : null,
            p.answer ? h("p", { class: "found" }, t(`firm.answered.${p.answer}`)) : null,
            p.case_status && !["closed", "archived"].includes(p.case_status) ? policyAnswers(p, token, extra) : null)))
        : h("p", {}, t("firm.noPolicies"))));
  }
  if (commitments) {
    const offers = commitments.offers.map((o) => {
      const sign = h("button", { type: "button", class: "secondary", "data-kind": o.kind }, t("firm.sign"));
      sign.addEventListener("click", async () => {
        try {
          await call("/api/v1/portal/firm/commitments", { method: "POST", token, json: { kind: o.kind, accept: true } });
          announce(t("firm.signed"));
          firmExtras(extra, token);
        } catch (e) {
          sign.after(errorBox(e));
        }
      });
      return h("li", { "data-commitment": o.kind }, h("strong", {}, lang === "en" ? o.title_en : o.title_zh),
        h("p", { class: "hint" }, o.text_zh),
        o.allowed ? sign : h("p", { class: "hint" }, lang === "en" ? o.why_en : o.why_zh));
    });
    sections.push(h("section", { class: "card", "aria-labelledby": "commitments-title" },
      h("h3", { id: "commitments-title" }, t("firm.commitments")),
      h("ul", { id: "firm-commitments" }, offers),
      commitments.signed.length
        ? h("ul", { id: "firm-signed" }, commitments.signed.map((c) => h("li", {}, t("firm.signedOne", { title: c.title_zh, at: c.signed_at.slice(0, 10) }))))
        : null));
  }
  if (requests) {
    const text = keep(h("textarea", { rows: "3", required: true, minlength: "2", maxlength: "2000" }), "firmRequest");
    const form = h("form", { id: "firm-request-form" },
      field("firm-request-text", "firm.requestText", text),
      h("button", { type: "submit", id: "firm-request-submit" }, t("firm.requestSubmit")));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (!form.reportValidity()) return;
      try {
        const sent = await call("/api/v1/portal/firm/requests", { method: "POST", token, json: { description: text.value } });
        draft.firmRequest = "";
        announce(lang === "en" ? sent.notice_en : sent.notice_zh);
        firmExtras(extra, token);
      } catch (e) {
        form.append(errorBox(e));
      }
    });
    sections.push(h("section", { class: "card", "aria-labelledby": "requests-title" },
      h("h3", { id: "requests-title" }, t("firm.requests")), form,
      requests.length
        ? h("ul", { id: "firm-requests" }, requests.map((r) => h("li", {},
            h("a", { href: `#/follow?receipt=${encodeURIComponent(r.receipt)}`, class: "target-link" }, r.receipt), ` · ${r.description.slice(0, 40)} · ${r.department ?? ""}`)))
        : null));
  }
  extra.replaceChildren(...sections);
}

function record(r, token, out) {
  const details = Object.entries(r.fields).map(([, v]) => v).join(" · ");
  const item = h("li", { "data-record": r.record_id },
    h("p", {}, h("strong", {}, t(`firm.kind.${r.kind}`)), ` ${r.record_id}`),
    details ? h("p", { class: "hint" }, details) : null);
  if (r.dispute) {
    item.append(h("p", { class: "found dispute-state" }, t(`firm.dispute.${r.dispute}`)));
    if (r.dispute !== "rejected") return item;
  }
  const id = `reason-${r.kind}-${r.record_id}`.replace(/[^\w-]/g, "_");
  const reason = h("textarea", { rows: "3", required: true, minlength: "2", maxlength: "2000" });
  const form = h("form", { class: "dispute-form", hidden: true },
    field(id, "firm.disputeReason", reason), h("button", { type: "submit" }, t("firm.disputeSubmit")));
  const open = h("button", { type: "button", class: "secondary dispute-open", "aria-expanded": "false" }, t("firm.dispute"));
  open.addEventListener("click", () => {
    form.hidden = !form.hidden;
    open.setAttribute("aria-expanded", String(!form.hidden));
    if (!form.hidden) reason.focus();
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!form.reportValidity()) return;
    try {
      await call("/api/v1/portal/firm/disputes", { method: "POST", token, json: { kind: r.kind, record_id: r.record_id, reason: reason.value } });
      announce(t("firm.disputed"));
      await loadFirm(out, token);
    } catch (e) {
      form.append(errorBox(e));
    }
  });
  item.append(open, form);
  return item;
}

// --- shell ------------------------------------------------------------------------------------

const SCREENS = { "": home, report, follow, mine, near, firm };

function render() {
  const [path, query = ""] = location.hash.replace(/^#\/?/, "").split("?");
  const view = SCREENS[path] ?? home;
  main.replaceChildren(...view(new URLSearchParams(query)));
  document.title = `${t(view === home ? "title" : `${path === "firm" ? "firm" : path}.title`)} · ${t("brand")}`;
  main.dataset.ready = "1";
}

function applyChrome() {
  document.documentElement.lang = lang;
  document.querySelectorAll("[data-i18n]").forEach((el) => (el.textContent = t(el.dataset.i18n)));
  const toggle = document.getElementById("lang-toggle");
  toggle.textContent = lang === "en" ? "中文" : "English";
  toggle.lang = lang === "en" ? "zh-CN" : "en";
  const elder = document.documentElement.classList.contains("elder");
  const elderButton = document.getElementById("elder-toggle");
  elderButton.setAttribute("aria-pressed", String(elder));
  elderButton.textContent = elder ? t("elder.off") : t("elder");
}

document.documentElement.classList.toggle("elder", localStorage.getItem(ELDER_KEY) === "1");
document.getElementById("lang-toggle").addEventListener("click", () => {
  lang = lang === "en" ? "zh-CN" : "en";
  localStorage.setItem(LANG_KEY, lang);
  applyChrome();
  render();
});
document.getElementById("elder-toggle").addEventListener("click", () => {
  const on = document.documentElement.classList.toggle("elder");
  localStorage.setItem(ELDER_KEY, on ? "1" : "0");
  applyChrome();
});
window.addEventListener("hashchange", () => {
  render();
  document.getElementById("screen-title")?.focus();
});
applyChrome();
render();
