// Load runs with their manifests, and the rows each load quarantined with the reasons.
import { api, can } from "../../api.js";
import { listQuery, pagedTable } from "../../components/table.js";
import { field, formatTime, select } from "../../components/ui.js";
import { h } from "../../dom.js";
import { formatNumber, t } from "../../i18n.js";
import { value } from "../entity/view.js";

const STATUS = { succeeded: "ok", failed: "bad", running: "neutral" };

async function manifest(box, load) {
  const detail = await api(`/api/v1/loads/${encodeURIComponent(load.load_id)}`);
  box.replaceChildren(h("h3", { id: "manifest-title", tabindex: "-1" }, t("governance.manifestOf", { id: load.load_id })),
    h("p", {}, h("span", { class: `badge ${detail.reconciled ? "ok" : "bad"}` }, t(detail.reconciled ? "governance.reconciled" : "governance.notReconciled"))),
    detail.manifest ? h("div", { id: "manifest" }, value(detail.manifest)) : h("p", { class: "empty" }, t("governance.noManifest")));
  box.querySelector("#manifest-title").focus();
}

async function quarantine(box, load) {
  const reason = select("quarantine-reason", [["", t("governance.allReasons")], ...Object.keys(load.quarantined_by_reason).map((r) => [r, r])]);
  const columns = [
    { key: "row", label: t("governance.row"), sort: "row" },
    { key: "line", label: t("governance.line") },
    { key: "file", label: t("governance.file") },
    { key: "reason", label: t("governance.reason") },
    { key: "values", label: t("governance.values"), cell: (r) => Object.entries(r.values).map(([k, v]) => `${k}=${v ?? ""}`).join("; ") || (r.raw ?? "—") },
  ];
  const table = pagedTable(columns, (paging) => api(`/api/v1/loads/${encodeURIComponent(load.load_id)}/quarantine?${listQuery(paging, { reason: reason.value })}`),
    { id: "quarantine-table", sort: "row", caption: t("governance.quarantineOf", { id: load.load_id }) });
  reason.addEventListener("change", () => table.reload());
  await table.reload();
  const title = h("h3", { id: "quarantine-title", tabindex: "-1" }, t("governance.quarantineOf", { id: load.load_id }));
  box.replaceChildren(title, h("div", { class: "toolbar" }, field(t("governance.reason"), reason)), table.el);
  title.focus();
}

export async function loadsTab() {
  const detail = h("div", { id: "load-detail", class: "stack" });
  const mayQuarantine = can("quarantine.read");
  const status = select("loads-status", [["", t("governance.allStatuses")], ...Object.keys(STATUS).map((s) => [s, t(`governance.load.${s}`)])]);
  const columns = [
    { key: "load_id", label: t("governance.loadId"), sort: "load_id" },
    { key: "source_system", label: t("governance.source"), sort: "source_system" },
    { key: "status", label: t("desk.status"), cell: (l) => h("span", { class: `badge ${STATUS[l.status]}` }, t(`governance.load.${l.status}`)) },
    { key: "started_at", label: t("governance.started"), sort: "started_at", cell: (l) => formatTime(l.started_at) },
    { key: "rows_read", label: t("governance.read"), sort: "rows_read", cell: (l) => formatNumber(l.rows_read) },
    { key: "rows_landed", label: t("governance.landed"), cell: (l) => formatNumber(l.rows_landed) },
    { key: "rows_quarantined", label: t("governance.quarantined"), sort: "rows_quarantined", cell: (l) => formatNumber(l.rows_quarantined) },
    { key: "open", label: t("governance.details"), cell: (l) => h("div", { class: "button-row" },
      h("button", { type: "button", class: "button", "data-manifest": l.load_id, onclick: () => manifest(detail, l) }, t("governance.manifest")),
      mayQuarantine && l.rows_quarantined ? h("button", { type: "button", class: "button", "data-quarantine": l.load_id, onclick: () => quarantine(detail, l) }, t("governance.quarantine")) : null) },
  ];
  const table = pagedTable(columns, (paging) => api(`/api/v1/loads?${listQuery(paging, { status: status.value })}`),
    { id: "loads-table", sort: "-started_at", caption: t("governance.loads") });
  status.addEventListener("change", () => table.reload());
  await table.reload();
  return h("div", { class: "stack" }, h("div", {}, h("div", { class: "toolbar" }, field(t("desk.status"), status)), table.el), detail);
}
