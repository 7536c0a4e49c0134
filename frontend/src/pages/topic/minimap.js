// A small map of one topic's findings over the street boundaries (the city's own layers only).
import maplibregl from "maplibre-gl";
import "maplibre-gl/dist/maplibre-gl.css";
import { api } from "../../api.js";
import { h } from "../../dom.js";
import { t } from "../../i18n.js";

const BLANK = { version: 8, sources: {}, layers: [{ id: "bg", type: "background", paint: { "background-color": "#eef1f4" } }] };

function extend(bounds, coords) {
  if (typeof coords[0] === "number") bounds.extend(coords);
  else coords.forEach((c) => extend(bounds, c));
}

/** Draw into ``container``; resolves to the map (remove it on leave). */
export async function miniMap(container, topic, layer) {
  const [streets, findings] = await Promise.all([
    api("/api/v1/map/areas?level=street&simplify=0.0005"),
    api(`/api/v1/map/topics/${encodeURIComponent(topic)}/findings`),
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
  const bounds = new maplibregl.LngLatBounds();
  [...streets.features, ...findings.features].forEach((f) => f.geometry && extend(bounds, f.geometry.coordinates));
  if (!bounds.isEmpty()) map.fitBounds(bounds, { padding: 24, duration: 0 });
  container.dataset.features = String(findings.total ?? findings.features.length);
  container.append(h("span", { class: "visually-hidden" }, t("topic.mapFeatures", { count: findings.total ?? findings.features.length })));
  return map;
}
