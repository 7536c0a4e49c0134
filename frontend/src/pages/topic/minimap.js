// A small map of one topic's findings over the street boundaries (the city's own layers only).
import maplibregl from "maplibre-gl";
import "maplibre-gl/dist/maplibre-gl.css";
import { api } from "../../api.js";
import { h } from "../../dom.js";
import { pick, t } from "../../i18n.js";
import { legendList, pointColour } from "../map-legend.js";

const BLANK = { version: 8, sources: {}, layers: [{ id: "bg", type: "background", paint: { "background-color": "#eef1f4" } }] };

function extend(bounds, coords) {
  if (typeof coords[0] === "number") bounds.extend(coords);
  else coords.forEach((c) => extend(bounds, c));
}

/** Draw into ``container``; resolves to the map (remove it on leave). ``own``: the topic's layers
 * drawn from a table of its own (air stations by AQI category), each with its legend in words. */
export async function miniMap(container, topic, layer, own = []) {
  const layerUrl = (l) => `/api/v1/map/topics/${encodeURIComponent(topic)}/layers/${encodeURIComponent(l.id)}`;
  const [streets, findings, ...tables] = await Promise.all([
    api("/api/v1/map/areas?level=street&simplify=0.0005"),
    api(`/api/v1/map/topics/${encodeURIComponent(topic)}/findings`),
    ...own.map((l) => api(layerUrl(l))),
  ]);
  const map = new maplibregl.Map({ container, style: BLANK, center: [104, 35], zoom: 3, attributionControl: false,
    locale: { "NavigationControl.ZoomIn": t("map.zoomIn"), "NavigationControl.ZoomOut": t("map.zoomOut") } });
  map.addControl(new maplibregl.NavigationControl({ showCompass: false }));
  await new Promise((resolve) => map.on("load", resolve));
  map.addSource("streets", { type: "geojson", data: { type: "FeatureCollection", features: streets.features } });
  map.addLayer({ id: "streets-line", type: "line", source: "streets", paint: { "line-color": "#0b5cad", "line-width": 1.5 } });
  map.addSource("findings", { type: "geojson", data: { type: "FeatureCollection", features: findings.features } });
  const color = layer?.color ?? "#d9480f";
  map.addLayer({ id: "findings-fill", type: "fill", source: "findings", filter: ["==", ["geometry-type"], "Polygon"],
    paint: { "fill-color": color, "fill-opacity": 0.45 } });
  map.addLayer({ id: "findings-circle", type: "circle", source: "findings", filter: ["==", ["geometry-type"], "Point"],
    paint: { "circle-radius": 5, "circle-color": color, "circle-stroke-color": "#fff", "circle-stroke-width": 1 } });
  own.forEach((l, i) => {
    map.addSource(`own-${l.id}`, { type: "geojson", data: { type: "FeatureCollection", features: tables[i].features } });
    map.addLayer(l.kind === "lines" // road segments by speed: their lines, under the findings
      ? { id: `own-${l.id}-line`, type: "line", source: `own-${l.id}`, paint: { "line-color": pointColour(l), "line-width": 4 } }
      : { id: `own-${l.id}-circle`, type: "circle", source: `own-${l.id}`, // under the findings
        paint: { "circle-radius": 7, "circle-color": pointColour(l), "circle-stroke-color": "#fff", "circle-stroke-width": 1 } }, "findings-fill");
    container.dataset[`own_${l.id}`] = String(tables[i].total ?? tables[i].features.length);
    const legend = legendList({ ...l, title: pick(l, "title") }, `mini-legend-${l.id}`);
    if (legend) container.after(h("div", { class: "mini-legend" }, h("strong", {}, pick(l, "title")), legend));
  });
  const bounds = new maplibregl.LngLatBounds();
  [...streets.features, ...findings.features, ...tables.flatMap((x) => x.features)].forEach((f) => f.geometry && extend(bounds, f.geometry.coordinates));
  if (!bounds.isEmpty()) map.fitBounds(bounds, { padding: 24, duration: 0 });
  container.dataset.features = String(findings.total ?? findings.features.length);
  container.append(h("span", { class: "visually-hidden" }, t("topic.mapFeatures", { count: findings.total ?? findings.features.length })));
  return map;
}
