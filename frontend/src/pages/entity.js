// Entity 360 (一企一档 / 一房一档 / 一人一档): search, then a firm, a dwelling or a person as the
// API answers it for the caller's role (masked), with a firm's credit report and an unmask action.
import { api, can } from "../api.js";
import { allowed, apiPaths, bi, errorNote, field, notAvailable, offers, section, select, stillHere } from "../components/ui.js";
import { h } from "../dom.js";
import { navigate } from "../nav.js";
import { t } from "../i18n.js";
import { unmaskButton } from "./entity/unmask.js";
import { value } from "./entity/view.js";

const KINDS = ["enterprise", "dwelling", "person"];
const USCC = /^[0-9A-HJ-NPQRTUWXY]{18}$/;
/** The entity routes this server offers (they arrive with the entity-360 API). */
async function routes() {
  const paths = Object.keys(await apiPaths());
  const of = (kind) => paths.find((p) => p.startsWith(`/api/v1/entities/${kind}/{`));
  return { search: await offers("/api/v1/entities/search"), ...Object.fromEntries(KINDS.map((k) => [k, of(k)])) };
}

function searchForm(kind, query, onSearch) {
  const kindSelect = select("entity-kind", KINDS.map((k) => [k, t(`entity.kind.${k}`)]), kind);
  const input = h("input", { id: "entity-q", type: "search", value: query ?? "", required: true, maxlength: 128 });
  const form = h("form", { class: "toolbar", role: "search", "aria-label": t("entity.search") },
    field(t("entity.kindLabel"), kindSelect), field(t("entity.query"), input, t("entity.queryHint")),
    h("button", { type: "submit", class: "button primary-action", id: "entity-search" }, t("entity.search")));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    onSearch(kindSelect.value, input.value.trim());
  });
  return form;
}

async function results(kind, q, available) {
  // A firm's credit code opens the firm itself (its credit report works without the entity API).
  if (kind === "enterprise" && USCC.test(q)) return navigate(`/entity?kind=enterprise&id=${q}`);
  if (!available.search) return notAvailable(t("entity.searchFeature"));
  const found = await api(`/api/v1/entities/search?kind=${kind}&q=${encodeURIComponent(q)}`);
  const items = found.items ?? found;
  if (!items.length) return h("p", { class: "empty", id: "entity-results" }, t("entity.noResults"));
  return h("ul", { class: "entity-results", id: "entity-results" }, items.map((item) => {
    const id = item.id ?? item.entity_id ?? item[`${kind}_id`] ?? item.uscc;
    return h("li", {}, h("a", { href: `#/entity?kind=${kind}&id=${encodeURIComponent(id)}` }, item.name ?? item.label ?? id),
      item.summary ? ` · ${item.summary}` : "");
  }));
}

async function creditReport(id) {
  if (!can("credit.read") || !USCC.test(id)) return null;
  try {
    const r = await api(`/api/v1/enterprises/${id}/credit-report`);
    const facts = h("dl", { class: "kv" }, [["entity.field.name", r.name], ["entity.field.status", r.status], ["entity.field.legal_rep_name", r.legal_rep_name], ["entity.field.industry_code", r.industry_code]]
      .flatMap(([k, v]) => [h("dt", {}, t(k)), h("dd", {}, v ?? "—")]));
    // No grade (the credit topic has not run, or had too little data): 未评级 and why, no score.
    if (!r.graded) {
      return section("entity-credit", t("entity.credit"),
        h("p", { class: "credit-score" }, h("strong", { id: "credit-score" }, t("entity.notGraded"))),
        h("p", { class: "hint", id: "credit-not-graded" }, r.not_graded ? bi(r.not_graded, "text") : ""), facts);
    }
    return section("entity-credit", t("entity.credit"),
      h("p", { class: "credit-score" }, h("strong", { id: "credit-score" }, t("entity.score", { score: r.score, grade: r.grade })),
        r.period ? h("span", { class: "hint", id: "credit-period" }, ` ${t("entity.gradePeriod", { period: r.period })}`) : null),
      facts,
      h("h3", {}, t("entity.reasons")),
      r.reasons.length ? h("ul", { class: "reasons", id: "credit-reasons" }, r.reasons.map((x) => h("li", {}, `${x.points > 0 ? "+" : ""}${x.points} · ${bi(x, "text")}`)))
        : h("p", { class: "empty" }, t("entity.noReasons")));
  } catch (error) {
    if (error.status === 404) return section("entity-credit", t("entity.credit"), h("p", { class: "empty" }, t("entity.noCredit")));
    throw error;
  }
}

/** A resident's credit grade (守信通·个人): personal data, so withheld unless a grant covers the person. */
async function personCredit(id) {
  if (!can("credit.read") || !can("entities.read")) return null;
  try {
    const r = await api(`/api/v1/entities/person/${encodeURIComponent(id)}/credit-report`);
    const head = (text) => h("p", { class: "credit-score" }, h("strong", { id: "credit-score" }, text),
      r.period ? h("span", { class: "hint", id: "credit-period" }, ` ${t("entity.gradePeriod", { period: r.period })}`) : null);
    if (!r.graded) {
      return section("entity-credit", t("entity.personCredit"), head(t("entity.notGraded")),
        h("p", { class: "hint", id: "credit-not-graded" }, r.not_graded ? bi(r.not_graded, "text") : ""));
    }
    if (r.masked) {
      return section("entity-credit", t("entity.personCredit"), head(t("entity.creditMasked")),
        h("p", { class: "hint", id: "credit-masked" }, r.masked_text ? bi(r.masked_text, "text") : ""));
    }
    return section("entity-credit", t("entity.personCredit"), head(t("entity.score", { score: r.score, grade: r.grade })),
      h("h3", {}, t("entity.reasons")),
      r.reasons.length ? h("ul", { class: "reasons", id: "credit-reasons" }, r.reasons.map((x) => h("li", {}, `${x.points > 0 ? "+" : ""}${x.points} · ${bi(x, "text")}`)))
        : h("p", { class: "empty" }, t("entity.noReasons")));
  } catch (error) {
    if (error.status === 404 || error.status === 403) return null;
    throw error;
  }
}

/** The golden record and its linked records by system; masked unless a grant covers it. */
function entityView(main, kind, id, record, purpose) {
  const reopen = (stated) => render(main, new URLSearchParams({ kind, id }), stated);
  const unmask = record.masked && can("pii.unmask") ? unmaskButton(record.id, reopen) : null;
  return section("entity-profile", t(`entity.kind.${kind}`),
    h("p", {}, h("span", { class: `badge ${record.masked ? "neutral" : "warn"}`, id: "entity-masked" }, t(record.masked ? "entity.masked" : "entity.clear")),
      purpose ? h("span", { class: "hint" }, ` ${t("entity.purpose")}：${purpose}`) : null),
    unmask,
    h("div", { id: "entity-record", class: "stack" },
      h("h3", {}, t("entity.golden")), value(record.golden),
      h("h3", {}, t("entity.records", { count: record.record_count })), value(record.records)));
}

async function profile(main, kind, id, available, purpose) {
  const parts = [];
  if (available[kind]) {
    try {
      // The purpose of an unmasked look goes to the audit log with it (X-Purpose, percent-encoded).
      const headers = purpose ? { "X-Purpose": encodeURIComponent(purpose) } : {};
      const record = await api(available[kind].replace(/\{[^}]+\}/, encodeURIComponent(id)), { headers });
      parts.push(entityView(main, kind, id, record, purpose));
    } catch (error) {
      if (error.status !== 404) throw error;
      parts.push(section("entity-profile", t(`entity.kind.${kind}`), h("p", { class: "empty" }, t("entity.notFound", { id }))));
    }
  } else {
    parts.push(section("entity-profile", t(`entity.kind.${kind}`), notAvailable(t("entity.profileOf", { kind: t(`entity.kind.${kind}`) }))));
  }
  if (kind === "enterprise") parts.push(await creditReport(id));
  if (kind === "person") parts.push(await personCredit(id));
  return parts;
}

async function render(main, params, purpose = null) {
  const kind = KINDS.includes(params.get("kind")) ? params.get("kind") : "enterprise";
  const id = params.get("id");
  const here = stillHere();
  const available = await routes();
  if (!here()) return;
  const out = h("div", { class: "stack", id: "entity-body" });
  const onSearch = async (k, q) => out.replaceChildren(await results(k, q, available) ?? "");
  main.replaceChildren(h("h2", { class: "page-title" }, t("entity.title")), h("div", { class: "card" }, searchForm(kind, params.get("q") ?? id, onSearch)), out);
  try {
    if (id) out.append(...(await profile(main, kind, id, available, purpose)).filter(Boolean));
  } catch (error) {
    out.append(errorNote(error));
  }
  if (here()) main.dataset.ready = "1";
}

export default {
  async render(main, params) {
    if (!allowed(main, "entities.read", `/entity${params.size ? `?${params}` : ""}`)) return;
    await render(main, params);
  },
};
