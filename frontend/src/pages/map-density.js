// Density layers (单车密度): a topic's table counted into H3 cells by the server, whose size
// follows the map's zoom (MapLayer kind "h3" with a source). Each cell is shaded by its density
// (its count against the fullest cell in view) and its popup says how many, and of whom.
import { h } from "../dom.js";
import { formatNumber, pick, t } from "../i18n.js";

/** The map's description of a density layer: it follows the view like a topic's findings. */
export function densityLayer(topic, layer) {
  return {
    id: `topic-${layer.id}`, title: pick(layer, "title"), color: layer.color, kind: "h3", on: true,
    source: layer.source, density: true, byView: true, properties: layer.properties, titles: layer,
    url: `/api/v1/map/topics/${encodeURIComponent(topic.name)}/layers/${encodeURIComponent(layer.id)}`,
  };
}

/** Fill opacity by the cell's density: faint where few stand, strong at the fullest cell. */
export const densityOpacity = ["interpolate", ["linear"], ["coalesce", ["get", "density"], 0], 0, 0.1, 1, 0.75];

/** The popup's head and rows: the count, then each counted property in words where known. */
export function densityPopup(layer, p, title) {
  const head = title(`${layer.title} · ${t("map.bikesHere", { count: formatNumber(p.count) })}`);
  const words = (key) => { const k = `map.operator.${key}`; const w = t(k); return w === k ? key : w; };
  const rows = (layer.properties ?? []).slice(1).filter((key) => p[key] != null)
    .map((key) => h("div", {}, h("dt", {}, words(key)), h("dd", {}, formatNumber(p[key]))));
  return [head, rows];
}
