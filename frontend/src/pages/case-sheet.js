// The on-site check sheet (现场核查单): a PDF the server prints (A4, Chinese fonts) with the address,
// what to check, the evidence in brief and room for the findings and signatures; saved or opened by
// the browser, ready to print.
import { apiBlob } from "../api.js";
import { h } from "../dom.js";
import { t } from "../i18n.js";

export function checkSheetButton(c) {
  const note = h("span", { class: "hint", id: "check-sheet-note", role: "status" });
  const button = h("button", { type: "button", class: "primary", id: "check-sheet" }, t("case.sheet.print"));
  button.addEventListener("click", async () => {
    button.disabled = true;
    note.textContent = t("case.sheet.printing");
    try {
      const blob = await apiBlob(`/api/v1/cases/${encodeURIComponent(c.id)}/check-sheet.pdf`);
      const url = URL.createObjectURL(blob);
      const link = h("a", { href: url, download: t("case.sheet.file", { id: c.id }) });
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60_000);
      note.textContent = t("case.sheet.ready");
    } catch (error) {
      note.textContent = t("error.load", { message: error.message });
    } finally {
      button.disabled = false;
    }
  });
  return h("p", { class: "check-sheet" }, button, " ", note);
}
