// Places and topics in words for the case desk, a case and a topic's findings: the name first,
// the code beside it in a quieter hint (never the code alone where a name exists).
import { h } from "../dom.js";
import { getLang } from "../i18n.js";

const LEVELS = [["street", "street_id"], ["community", "community_id"], ["grid", "grid_id"]];

/** "科技园街道 / 锦城社区 / 一网格" (a code stands in only where the register has no name). */
export function areaWords(row) {
  const names = row.area_names ?? {};
  return LEVELS.map(([level, key]) => names[level] ?? row[key]).filter(Boolean).join(" / ");
}

/** The area names with their codes in a hint after them; "—" when the row has no area. */
export function areaCell(row) {
  const words = areaWords(row);
  if (!words) return "—";
  const codes = LEVELS.map(([, key]) => row[key]).filter(Boolean).join(" / ");
  return h("span", { class: "place-area" }, words, codes && codes !== words ? h("span", { class: "hint code" }, ` (${codes})`) : null);
}

/** The topic's display name (群租房) with its key beside. */
export function topicCell(row) {
  const title = (getLang() === "en" ? row.topic_title_en : row.topic_title_zh) || row.topic_title_zh;
  if (!title) return row.topic;
  return h("span", { class: "topic-name" }, title, h("span", { class: "hint code" }, ` (${row.topic})`));
}

/** The subject's address in words with its id beside; the id alone where no address is known. */
export function subjectCell(row) {
  if (!row.address) return row.subject_id;
  return h("span", { class: "place-address" }, row.address, h("span", { class: "hint code" }, ` (${row.subject_id})`));
}
