// One map (一张图): the city's own layers on a blank style (no outside tiles), with toggles.
// Base layers come from /api/v1/map/*; every topic's layers from what /api/v1/topics lists.
import maplibregl from "maplibre-gl";
import "maplibre-gl/dist/maplibre-gl.css";
import { api, can } from "../api.js";
import { h } from "../dom.js";
import { formatNumber, pick, t } from "../i18n.js";
import { onLive } from "../live.js";

const BASE_LAYERS = [
  { id: "streets", key: "map.streets", url: "/api/v1/map/areas?level=street&simplify=0.0001", kind: "polygons", color: "#0b5cad", on: true },
  { id: "communities", key: "map.communities", url: "/api/v1/map/areas?level=community&simplify=0.0001", kind: "polygons", color: "#15803d", on: false },
  { id: "grids", key: "map.grids", url: "/api/v1/map/areas?level=grid&simplify=0.0001", kind: "polygons", color: "#7e22ce", on: false },
  { id: "buildings", key: "map.buildings", url: "/api/v1/map/buildings", kind: "points", color: "#475569", on: false },
  { id: "cases", key: "map.cases", url: "/api/v1/map/cases", kind: "points", color: "#be123c", on: true },
];
const BLANK_STYLE = {
  version: 8,
  sources: {},
  layers: [{ id: "background", type: "background", paint: { "background-color": "#eef1f4" } }],
};
let map = null;
const chosen = new Map(); // layer id → on/off, kept while the app runs (e.g. across a language switch)

const POINT = ["==", ["geometry-type"], "Point"];
const POLYGON = ["==", ["geometry-type"], "Polygon"];

function styleLayers(layer) {
  const source = layer.id;
  const circle = { id: `${source}-circle`, type: "circle", source, filter: POINT,
    paint: { "circle-radius": 5, "circle-color": layer.color, "circle-stroke-color": "#fff", "circle-stroke-width": 1 } };
  const fill = { id: `${source}-fill`, type: "fill", source, filter: POLYGON,
    paint: { "fill-color": layer.color, "fill-opacity": layer.byView ? 0.45 : 0.08 } };
  const line = { id: `${source}-line`, type: "line", source, filter: POLYGON, paint: { "line-color": layer.color, "line-width": 1.5 } };
  if (layer.byView) return [fill, line, circle]; // points when few, H3 cells when many
  return layer.kind === "points" ? [circle] : [fill, line];
}

function topicLayers(topics) {
  return topics.flatMap((tp) => tp.map_layers.map((layer) => ({
    id: `topic-${layer.id}`, title: pick(layer, "title"), color: layer.color, kind: layer.kind, on: true,
    url: `/api/v1/map/topics/${encodeURIComponent(tp.name)}/findings`, byView: true,
  })));
}

/** A topic's findings follow the view: the server counts them into H3 cells when there are many.
 * Returns the refresh, which live events call too (a new run, a new case). */
function followView(layers) {
  let generation = 0;
  const clamp = (v, limit) => Math.max(-limit, Math.min(limit, v)).toFixed(5);
  const refresh = async () => {
    if (!map) return;
    const mine = ++generation;
    const b = map.getBounds();
    const bbox = [clamp(b.getWest(), 180), clamp(b.getSouth(), 90), clamp(b.getEast(), 180), clamp(b.getNorth(), 90)].join(",");
    const query = `zoom=${Math.round(map.getZoom())}&bbox=${bbox}`;
    for (const layer of layers.filter((l) => l.byView)) {
      const data = await api(`${layer.url}?${query}`);
      if (mine !== generation || !map) return;
      map.getSource(layer.id).setData({ type: "FeatureCollection", features: data.features });
      map.getContainer().dataset[`kind_${layer.id.replaceAll("-", "_")}`] = data.kind;
    }
    map.getContainer().dataset.view = String(mine);
  };
  map.on("moveend", refresh);
  return refresh;
}

async function refreshCases(layers) {
  const cases = layers.find((l) => l.id === "cases");
  if (!map || !cases) return;
  const data = await api(cases.url);
  map?.getSource("cases").setData({ type: "FeatureCollection", features: data.features });
}

let unsubscribe = [];
const pending = new Set();
let visit = 0; // bumped on leave, so a render still loading when the page is left stops

/** Redraw on live events, once per burst (a pipeline run opens many cases at once). */
function onEvents(layers, refresh) {
  const later = (fn) => {
    let timer = null;
    return () => {
      clearTimeout(timer);
      pending.delete(timer);
      timer = setTimeout(fn, 1000);
      pending.add(timer);
    };
  };
  unsubscribe = [onLive("case.", later(() => refreshCases(layers))), onLive("finding.", later(refresh))];
}

function extend(bounds, coords) {
  if (typeof coords[0] === "number") bounds.extend(coords);
  else coords.forEach((c) => extend(bounds, c));
}

function details(props) {
  const rows = Object.entries(props).map(([k, v]) => h("div", {}, h("dt", {}, k), h("dd", {}, String(v ?? "—"))));
  return h("div", { class: "popup" }, h("strong", {}, t("map.details")), h("dl", {}, rows));
}

/** The map element lists the layers on show (data-visible), for people's tools and tests alike. */
function markVisible(layers) {
  map.getContainer().dataset.visible = layers.filter((l) => l.on).map((l) => l.id).join(" ");
}

function toggle(layer, count, layers) {
  const box = h("input", { type: "checkbox", id: `layer-${layer.id}`, checked: layer.on });
  box.addEventListener("change", () => {
    layer.on = box.checked;
    chosen.set(layer.id, layer.on);
    styleLayers(layer).forEach((s) => map.setLayoutProperty(s.id, "visibility", layer.on ? "visible" : "none"));
    markVisible(layers);
  });
  const swatch = h("span", { class: "swatch", style: `background:${layer.color}`, "aria-hidden": "true" });
  return h("li", {}, box, h("label", { for: `layer-${layer.id}` }, swatch, layer.title ?? t(layer.key),
    h("span", { class: "count" }, t("map.features", { count: formatNumber(count) }))));
}

export const mapPage = {
  titleKey: "map.title",
  needs: "map.read",
  async render(main) {
    const mine = visit;
    const topics = can("topics.read") ? await api("/api/v1/topics") : [];
    const layers = [...BASE_LAYERS, ...topicLayers(topics)].map((l) => ({ ...l, on: chosen.get(l.id) ?? l.on }));
    const data = await Promise.all(layers.map((l) => api(l.url)));
    if (mine !== visit) return; // left while the layers were loading
    const container = h("div", { class: "map", id: "map", role: "region", "aria-label": t("map.region") });
    const list = h("ul", { class: "layer-list" });
    main.append(h("div", { class: "map-page" },
      h("aside", { class: "card layers", "aria-labelledby": "layers-title" }, h("h2", { id: "layers-title" }, t("map.layers")), list), container));
    map = new maplibregl.Map({ container, style: BLANK_STYLE, center: [104, 35], zoom: 3, attributionControl: false,
      locale: { "NavigationControl.ZoomIn": t("map.zoomIn"), "NavigationControl.ZoomOut": t("map.zoomOut") } });
    map.addControl(new maplibregl.NavigationControl({ showCompass: false }));
    container.maplibre = map; // for benchmarks/web.py, which measures frame times on it
    const bounds = new maplibregl.LngLatBounds();
    await new Promise((resolve) => map.on("load", resolve));
    if (mine !== visit) return;
    layers.forEach((layer, i) => {
      map.addSource(layer.id, { type: "geojson", data: { type: "FeatureCollection", features: data[i].features } });
      for (const style of styleLayers(layer)) {
        map.addLayer({ ...style, layout: { visibility: layer.on ? "visible" : "none" } });
        map.on("click", style.id, (e) => new maplibregl.Popup().setLngLat(e.lngLat).setDOMContent(details(e.features[0].properties)).addTo(map));
      }
      data[i].features.forEach((f) => f.geometry && extend(bounds, f.geometry.coordinates));
      list.append(toggle(layer, data[i].total, layers));
    });
    markVisible(layers);
    onEvents(layers, followView(layers));
    if (!bounds.isEmpty()) map.fitBounds(bounds, { padding: 40, duration: 0 });
    main.dataset.ready = "1";
  },
  leave() {
    visit += 1;
    unsubscribe.forEach((off) => off());
    unsubscribe = [];
    pending.forEach(clearTimeout);
    pending.clear();
    map?.remove();
    map = null;
  },
};

export default mapPage;
