// A paged, sortable table over any loader: load({ page, pageSize, sort }) → { items, total }.
// Sorting is the server's (a column's `sort` names the API field); headers are real buttons.
import { h } from "../dom.js";
import { formatNumber, t } from "../i18n.js";
import "./components.css";

/**
 * columns: [{ key, label, sort?, cell?(row) }]; options: { id, caption, pageSize, sort, empty, cards }.
 * With `cards`, a phone shows each row as a card whose cells carry their column's label.
 * Returns { el, reload(resetPage) }.
 */
export function pagedTable(columns, load, options = {}) {
  const state = { page: 1, pageSize: options.pageSize ?? 20, sort: options.sort ?? "", total: 0 };
  const body = h("tbody");
  const head = h("thead");
  const status = h("p", { class: "pager-status", "aria-live": "polite" });
  const prev = h("button", { type: "button", class: "button", "data-pager": "prev", onclick: () => go(state.page - 1) }, t("table.prev"));
  const next = h("button", { type: "button", class: "button", "data-pager": "next", onclick: () => go(state.page + 1) }, t("table.next"));
  const table = h("table", { class: options.cards ? "data-table cards-on-phone" : "data-table", id: options.id },
    options.caption ? h("caption", { class: "visually-hidden" }, options.caption) : null, head, body);
  const el = h("div", { class: "table-box" }, h("div", { class: "table-scroll" }, table), h("div", { class: "pager" }, prev, status, next));

  function header() {
    const [current, descending] = state.sort.startsWith("-") ? [state.sort.slice(1), true] : [state.sort, false];
    head.replaceChildren(h("tr", {}, columns.map((col) => {
      if (!col.sort) return h("th", { scope: "col" }, col.label);
      const active = current === col.sort;
      const sorted = active ? (descending ? "descending" : "ascending") : null;
      const flip = () => {
        state.sort = active && !descending ? `-${col.sort}` : col.sort;
        go(1);
      };
      return h("th", { scope: "col", "aria-sort": sorted },
        h("button", { type: "button", class: "sort", "data-sort": col.sort, onclick: flip },
          col.label, h("span", { "aria-hidden": "true" }, active ? (descending ? " ▼" : " ▲") : " ↕")));
    })));
  }

  let latest = 0; // a slower answer to an earlier request never overwrites a later one

  async function go(page) {
    const mine = ++latest;
    state.page = Math.max(1, page);
    table.dataset.loading = "1";
    header();
    const result = await load({ page: state.page, pageSize: state.pageSize, sort: state.sort });
    if (mine !== latest) return;
    state.total = result.total;
    const pages = Math.max(1, Math.ceil(state.total / state.pageSize));
    body.replaceChildren(...(result.items.length
      ? result.items.map((row) => h("tr", {}, columns.map((col) => h("td", { "data-col": col.key, "data-label": col.label }, col.cell ? col.cell(row) : (row[col.key] ?? "—")))))
      : [h("tr", {}, h("td", { colspan: columns.length, class: "empty" }, options.empty ?? t("table.empty")))]));
    status.textContent = t("table.status", { page: state.page, pages, total: formatNumber(state.total) });
    prev.disabled = state.page <= 1;
    next.disabled = state.page >= pages;
    // What is on show, for assistive tools and tests: set once the rows are in.
    Object.assign(table.dataset, { total: String(state.total), sort: state.sort, page: String(state.page) });
    delete table.dataset.loading;
  }

  return { el, reload: (reset = true) => go(reset ? 1 : state.page) };
}

/** The query string for an API list: page, page_size, sort and every non-empty filter. */
export function listQuery({ page, pageSize, sort }, filters = {}) {
  const query = new URLSearchParams({ page: String(page), page_size: String(pageSize) });
  if (sort) query.set("sort", sort);
  for (const [name, value] of Object.entries(filters)) if (value !== "" && value != null) query.set(name, String(value));
  return query.toString();
}
