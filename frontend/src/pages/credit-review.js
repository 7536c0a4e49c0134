// 信用修复审核: the credit steward's queue of the firms' disputes (filed on the portal). Each shows
// the firm, its grade now, the record disputed and the firm's words; the steward upholds it (the
// record is withdrawn and the grade redone) or rejects it with a note the firm reads on its page.
import { api } from "../api.js";
import { allowed, errorNote, field, formatTime, known, section, stillHere } from "../components/ui.js";
import { h } from "../dom.js";
import { t } from "../i18n.js";

const json = (body) => ({ method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
const grade = (d) => (d.grade ? t("creditReview.gradeNow", { grade: d.grade, score: d.score ?? "—" }) : t("creditReview.notGraded"));

function facts(d) {
  const rows = [
    [t("creditReview.record"), `${known("creditReview.kind", d.kind)} ${d.record_id}`],
    ...Object.entries(d.record).map(([name, value]) => [known("creditReview.field", name), value]),
    [t("creditReview.filed"), t("creditReview.filedBy", { at: formatTime(d.filed_at), by: d.filed_by })],
  ];
  return h("dl", { class: "kv" }, rows.flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]));
}

/** One open dispute, with its note field and the two decisions; ``done()`` after a decision. */
function pendingItem(d, done) {
  const id = `review-note-${d.id}`;
  const note = h("textarea", { id, rows: 2, maxlength: 2000 });
  const status = h("p", { class: "review-status", "aria-live": "polite" });
  const decide = async (decision, button) => {
    if (decision === "reject" && !note.value.trim()) {
      status.replaceChildren(h("span", { class: "error", role: "alert" }, t("creditReview.noteNeeded")));
      note.focus();
      return;
    }
    for (const b of buttons.querySelectorAll("button")) b.disabled = true;
    try {
      const out = await api(`/api/v1/credit/disputes/${d.id}/review`, json({ decision, note: note.value.trim() }));
      done(out.status === "upheld"
        ? t("creditReview.upheld", { firm: d.firm || d.uscc, before: `${out.grade_before} (${out.score_before})`, after: `${out.grade_after} (${out.score_after})` })
        : t("creditReview.rejected", { firm: d.firm || d.uscc }));
    } catch (e) {
      status.replaceChildren(h("span", { class: "error", role: "alert" }, t("creditReview.refused", { message: e.message })));
      for (const b of buttons.querySelectorAll("button")) b.disabled = false;
      button.focus();
    }
  };
  const uphold = h("button", { type: "button", class: "button primary-action", "data-decision": "uphold" }, t("creditReview.uphold"));
  const reject = h("button", { type: "button", class: "button", "data-decision": "reject" }, t("creditReview.reject"));
  uphold.addEventListener("click", () => decide("uphold", uphold));
  reject.addEventListener("click", () => decide("reject", reject));
  const buttons = h("div", { class: "button-row" }, uphold, reject);
  const title = `dispute-${d.id}-title`;
  return h("li", { class: "card dispute", "data-dispute": d.id, "aria-labelledby": title },
    h("h3", { id: title }, `${d.firm || t("creditReview.unnamed")} · ${d.uscc}`),
    h("p", { class: "grade-now" }, grade(d)), facts(d),
    h("p", { class: "firm-words" }, h("strong", {}, t("creditReview.words")), ` ${d.reason}`),
    field(t("creditReview.note"), note, t("creditReview.noteHint")), buttons, status);
}

function decidedItem(d) {
  return h("li", { "data-dispute": d.id, "data-status": d.status },
    `${known("creditReview.status", d.status)} · ${d.firm || d.uscc} · ${known("creditReview.kind", d.kind)} ${d.record_id}`,
    d.review_note ? ` · ${t("creditReview.noteShown", { note: d.review_note })}` : "",
    d.reviewed_by ? ` · ${d.reviewed_by}` : "");
}

export default {
  async render(main) {
    if (!allowed(main, "credit.review", "/credit-review")) return;
    const told = h("p", { id: "review-told", role: "status" });
    const queue = h("ul", { id: "dispute-queue", class: "stack", style: "list-style: none; padding: 0" });
    const decided = h("ul", { id: "disputes-decided" });
    main.append(h("h2", { class: "page-title" }, t("creditReview.title")), h("p", {}, t("creditReview.lead")), told,
      section("credit-review-queue", t("creditReview.queue"), queue),
      section("credit-review-decided", t("creditReview.decided"), decided));
    const here = stillHere();
    const load = async () => {
      const [open, done] = await Promise.all([api("/api/v1/credit/disputes"), api("/api/v1/credit/disputes?status=decided")]);
      if (!here()) return;
      queue.replaceChildren(...(open.length ? open.map((d) => pendingItem(d, async (message) => {
        told.textContent = message;
        await load();
      })) : [h("li", { class: "empty" }, t("creditReview.empty"))]));
      decided.replaceChildren(...(done.length ? done.slice(0, 20).map(decidedItem) : [h("li", { class: "empty" }, t("creditReview.noneDecided"))]));
      queue.dataset.count = String(open.length);
    };
    try {
      await load();
    } catch (error) {
      if (here()) main.append(errorNote(error));
    }
    if (here()) main.dataset.ready = "1";
  },
};
