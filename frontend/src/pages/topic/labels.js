// The labels a topic learns from: each subject-month an on-site check judged 属实 or 不属实.
import { api } from "../../api.js";
import { h } from "../../dom.js";
import { t } from "../../i18n.js";

export async function labelsPanel(topic) {
  const found = await api(`/api/v1/topics/${encodeURIComponent(topic)}/labels`);
  if (!found.total) return h("p", { class: "empty", id: "labels-table" }, t("topic.noLabels"));
  return h("table", { class: "data-table", id: "labels-table" },
    h("caption", {}, t("topic.labelsCaption", { total: found.total, positives: found.positives })),
    h("tr", {}, [t("topic.subject"), t("topic.period"), t("topic.label")].map((c) => h("th", { scope: "col" }, c))),
    found.items.map((l) => h("tr", { "data-label": l.label },
      h("td", {}, l.address ? [l.address, h("span", { class: "hint code" }, ` (${l.subject_id})`)] : l.subject_id),
      h("td", {}, l.period),
      h("td", {}, h("span", { class: `badge ${l.label ? "high" : "neutral"}` }, l.label_zh)))));
}
