// Photos that came with the reports of a case (巡查、无人机、市民上报): those attached when the case
// was opened or a report was merged into it; the on-site result's photos are shown by its form.
// Fetched signed (an <img src> would carry no token), at most MAX_SHOWN, the rest counted.
import { openStream } from "../api.js";
import { h } from "../dom.js";
import { t } from "../i18n.js";
import "./patrol.css";

const MAX_SHOWN = 12;

export function reportedPhotos(detail) {
  const photos = detail.history
    .filter((e) => e.action !== "close")
    .flatMap((e) => (e.attachments ?? []).filter((a) => a.kind === "photo" && a.url));
  if (!photos.length) return null;
  const box = h("div", { class: "reported-photos", id: "reported-photos" });
  photos.slice(0, MAX_SHOWN).forEach(async (p) => {
    try {
      const blob = await (await openStream(p.url)).blob();
      box.append(h("img", { src: URL.createObjectURL(blob), alt: p.name, width: 160, onload: (e) => URL.revokeObjectURL(e.target.src) }));
    } catch {
      box.append(h("span", { class: "hint" }, p.name));
    }
  });
  const more = photos.length > MAX_SHOWN ? h("p", { class: "hint" }, t("patrol.morePhotos", { count: photos.length - MAX_SHOWN })) : null;
  return h("div", {}, h("h3", {}, t("patrol.reportedPhotos", { count: photos.length })), box, more);
}
