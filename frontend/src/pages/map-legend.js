// A topic layer coloured by a property (air stations by AQI category): the MapLibre colour of its
// points and its legend in words, as the topic declares them (MapLayer.color_by and legend).
import { h } from "../dom.js";
import { pick, t } from "../i18n.js";
import "./map-legend.css";

/** The circle colour: the legend's colour for the point's value, the layer's colour otherwise. */
export function pointColour(layer) {
  const legend = layer.legend ?? [];
  const by = layer.color_by ?? layer.colorBy;
  if (!by || !legend.length) return layer.color;
  return ["match", ["coalesce", ["get", by], ""], ...legend.flatMap((e) => [e.value, e.color]), layer.color];
}

/** The legend as a list: a swatch and the words of each value ("优（I级）", "Good (II)" …). */
export function legendList(layer, id) {
  const legend = layer.legend ?? [];
  if (!legend.length) return null;
  return h("ul", { class: "legend", id, "aria-label": `${t("map.legend")}: ${layer.title ?? pick(layer, "title")}` },
    legend.map((e) => h("li", { "data-value": e.value, "data-color": e.color },
      h("span", { class: "swatch", style: `background:${e.color}`, "aria-hidden": "true" }), pick(e, "label"))));
}

/** The words of a point's value (its legend label), or the value itself. */
export function legendWords(layer, value) {
  const entry = (layer.legend ?? []).find((e) => e.value === (value ?? ""));
  return entry ? pick(entry, "label") : value;
}
