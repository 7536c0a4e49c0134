// Reports for leaders (大数据专报): the daily reports `citybrain run` and `citybrain report daily`
// write, newest first; the HTML opens in the page, the PDF saves. Both are fetched signed (the
// API serves them to findings.read only), so they open as local blob URLs, never as bare links.
import { api, apiBlob } from "../api.js";
import { allowed, bi, errorNote, section, stillHere } from "../components/ui.js";
import { h } from "../dom.js";
import { t } from "../i18n.js";
import "./reports.css";

let urls = []; // blob URLs made on this visit, released on leave

function keep(blob) {
  const url = URL.createObjectURL(blob);
  urls.push(url);
  return url;
}

/** Show the HTML report in a sandboxed frame below the list (no script runs in it). */
async function openHtml(item, viewer, status) {
  status.textContent = t("reports.opening", { date: item.date });
  try {
    const url = keep(await apiBlob(item.html));
    const frame = h("iframe", { id: "report-frame", class: "report-frame", src: url, sandbox: "", title: bi(item, "title") });
    frame.addEventListener("load", () => { frame.dataset.loaded = "1"; }, { once: true });
    viewer.replaceChildren(h("h3", { id: "report-open-title" }, bi(item, "title")), frame);
    viewer.hidden = false;
    status.textContent = "";
    viewer.scrollIntoView({ block: "start" });
  } catch (error) {
    status.replaceChildren(errorNote(error));
  }
}

/** Save the PDF under its own name (browsers show it from the downloads). */
async function savePdf(item, status) {
  status.textContent = t("reports.opening", { date: item.date });
  try {
    const url = keep(await apiBlob(item.pdf));
    const link = h("a", { href: url, download: item.pdf.split("/").pop(), hidden: true });
    document.body.append(link);
    link.click();
    link.remove();
    status.textContent = "";
  } catch (error) {
    status.replaceChildren(errorNote(error));
  }
}

function list(items, viewer, status) {
  if (!items.length) return h("p", { class: "empty", id: "reports-empty" }, t("reports.empty"));
  const rows = items.map((item) => {
    const html = h("button", { type: "button", class: "button report-html", "data-date": item.date }, t("reports.openHtml"));
    html.addEventListener("click", () => openHtml(item, viewer, status));
    const pdf = item.pdf
      ? h("button", { type: "button", class: "button report-pdf", "data-date": item.date }, t("reports.savePdf"))
      : h("span", { class: "hint" }, t("reports.noPdf"));
    if (item.pdf) pdf.addEventListener("click", () => savePdf(item, status));
    return h("tr", { "data-date": item.date }, h("td", {}, item.date), h("td", {}, bi(item, "title")), h("td", {}, html, " ", pdf));
  });
  return h("table", { class: "table", id: "reports-table" },
    h("thead", {}, h("tr", {}, h("th", { scope: "col" }, t("reports.date")), h("th", { scope: "col" }, t("reports.name")), h("th", { scope: "col" }, t("reports.open")))),
    h("tbody", {}, rows));
}

export default {
  async render(main) {
    if (!allowed(main, "findings.read", "/reports")) return;
    const here = stillHere();
    main.append(h("h2", { class: "page-title" }, t("reports.title")), h("p", { class: "hint" }, t("reports.hint")));
    try {
      const items = await api("/api/v1/reports");
      if (!here()) return;
      const status = h("div", { id: "reports-status", role: "status", "aria-live": "polite" });
      const viewer = h("div", { id: "report-viewer", class: "report-viewer", hidden: true });
      main.append(section("reports-list", t("reports.list"), list(items, viewer, status), status), viewer);
    } catch (error) {
      if (here()) main.append(errorNote(error));
    }
    if (here()) main.dataset.ready = "1";
  },
  leave() {
    urls.forEach((url) => URL.revokeObjectURL(url));
    urls = [];
  },
};
