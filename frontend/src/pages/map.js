// One map (一张图): the city's own base map (vector tiles cut from the address register, served by
// this host), the city's layers over it with toggles, popups in words, area names on hover and a
// place search. Overlay layers come from /api/v1/map/*; every topic's from what /api/v1/topics lists.
import { api, can } from "../api.js";
import { h } from "../dom.js";
import { formatNumber, pick, t } from "../i18n.js";
import { onLive } from "../live.js";
import { bi, known, stillHere } from "../components/ui.js";
import { baseMap, maplibregl } from "./map-base.js";
import { legendList, legendWords, pointColour } from "./map-legend.js";
import { liveVehicles } from "./map-live.js";
import { densityLayer, densityOpacity, densityPopup } from "./map-density.js";

const BASE_LAYERS = [
  { id: "streets", key: "map.streets", url: "/api/v1/map/areas?level=street&simplify=0.0001", kind: "polygons", color: "#0b5cad", on: true },
  { id: "communities", key: "map.communities", url: "/api/v1/map/areas?level=community&simplify=0.0001", kind: "polygons", color: "#15803d", on: false },
  { id: "grids", key: "map.grids", url: "/api/v1/map/areas?level=grid&simplify=0.0001", kind: "polygons", color: "#7e22ce", on: false },
  { id: "buildings", key: "map.buildings", url: "/api/v1/map/buildings", kind: "points", color: "#475569", on: false },
  { id: "cases", key: "map.cases", url: "/api/v1/map/cases", kind: "points", color: "#be123c", on: true },
];
let map = null;
const chosen = new Map(); // layer id → on/off, kept while the app runs (e.g. across a language switch)

const POINT = ["==", ["geometry-type"], "Point"];
const POLYGON = ["==", ["geometry-type"], "Polygon"];
const LINE = ["==", ["geometry-type"], "LineString"];

function styleLayers(layer) {
  const source = layer.id;
  const circle = { id: `${source}-circle`, type: "circle", source, filter: POINT,
    paint: { "circle-radius": layer.source ? 7 : 5, "circle-color": pointColour(layer), "circle-stroke-color": "#fff", "circle-stroke-width": 1 } };
  const fill = { id: `${source}-fill`, type: "fill", source, filter: POLYGON,
    paint: { "fill-color": layer.color, "fill-opacity": layer.density ? densityOpacity : layer.byView ? 0.45 : 0.05 } };
  const line = { id: `${source}-line`, type: "line", source, filter: POLYGON, paint: { "line-color": layer.color, "line-width": 1.5 } };
  if (layer.byView) return [fill, line, circle]; // points when few, H3 cells when many
  if (layer.kind === "lines") { // a topic's own lines (road segments by speed), coloured by its legend
    return [{ id: `${source}-line`, type: "line", source, filter: LINE,
      paint: { "line-color": pointColour(layer), "line-width": 5 } }, circle]; // a row without a line: its point
  }
  return layer.kind === "points" ? [circle] : [fill, line];
}

function topicLayers(topics) {
  return topics.flatMap((tp) => tp.map_layers.map((layer) => (layer.source && layer.kind === "h3" ? densityLayer(tp, layer) : layer.source ? { // a table of the topic's own: all its points
    id: `topic-${layer.id}`, title: pick(layer, "title"), color: layer.color, kind: layer.kind === "lines" ? "lines" : "points", on: true, source: layer.source,
    url: `/api/v1/map/topics/${encodeURIComponent(tp.name)}/layers/${encodeURIComponent(layer.id)}`,
    colorBy: layer.color_by, legend: layer.legend, properties: layer.properties, titles: layer,
  } : {
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
    // every topic asked at once: one after another, a slow page (software rendering, a busy
    // machine) waited a round trip per topic before the view was whole
    const following = layers.filter((l) => l.byView);
    await Promise.all(following.map(async (layer) => {
      const data = await api(`${layer.url}?${query}`);
      if (mine !== generation || !map) return;
      map.getSource(layer.id).setData({ type: "FeatureCollection", features: data.features });
      map.getContainer().dataset[`kind_${layer.id.replaceAll("-", "_")}`] = data.kind;
    }));
    if (mine !== generation || !map) return;
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

const areaLine = (p) => [p.street_name, p.community_name, p.grid_name].filter(Boolean).join(" / ");
const row = (key, value) => (value == null || value === "" ? null : h("div", {}, h("dt", {}, t(key)), h("dd", {}, String(value))));

/** One popup per click, for the topmost thing under it: a finding, a case, a building, an area. */
function clickable(on, layers) {
  const order = [...layers.filter((l) => l.byView || l.source), ...layers.filter((l) => l.id === "cases"),
    ...layers.filter((l) => l.id === "buildings"), { id: "base-buildings", base: true },
    ...layers.filter((l) => !l.byView && !l.source && !["cases", "buildings"].includes(l.id))];
  const ids = (l) => (l.base ? [l.id] : styleLayers(l).map((s) => s.id));
  on.on("click", (e) => {
    for (const layer of order) {
      const shown = ids(layer).filter((id) => on.getLayer(id) && on.getLayoutProperty(id, "visibility") !== "none");
      const found = shown.length ? on.queryRenderedFeatures(e.point, { layers: shown }) : [];
      if (found.length) {
        new maplibregl.Popup({ maxWidth: "22rem" }).setLngLat(e.lngLat).setDOMContent(details(layer.id, found[0].properties, layer)).addTo(on);
        return;
      }
    }
  });
  const hand = order.flatMap(ids);
  on.on("mousemove", (e) => {
    const live = hand.filter((id) => on.getLayer(id) && on.getLayoutProperty(id, "visibility") !== "none" && !id.endsWith("-fill"));
    on.getCanvas().style.cursor = on.queryRenderedFeatures(e.point, { layers: live }).length ? "pointer" : "";
  });
}

/** What a click on the map says, in words: the place, the reasons and where to go next. */
function details(layerId, props, layer = {}) {
  const p = props;
  const title = (text) => h("strong", { class: "popup-title" }, text);
  let head;
  let rows = [];
  let links = [];
  if (layer.density) { // a cell of a density layer (bikes): how many, and of whom
    [head, rows] = densityPopup(layer, p, title);
  } else if (layer.source) { // a point of a topic's own table (an air station): its declared properties
    const [first, ...rest] = layer.properties;
    head = title(`${p[first] ?? ""} · ${layer.title}`);
    rows = [h("div", {}, h("dt", {}, t("map.legend")), h("dd", {}, String(legendWords(layer, p[layer.colorBy]) ?? "—"))),
      ...rest.map((k) => h("div", {}, h("dt", {}, k), h("dd", {}, p[k] == null || p[k] === "" ? "—" : String(p[k]))))];
  } else if (layerId.startsWith("topic-")) { // a finding, or a cell of many
    if (p.h3) {
      head = title(t("map.cell", { count: formatNumber(p.count) }));
      rows = [row("map.high", formatNumber(p.high)), row("map.maxScore", Number(p.max_score).toFixed(2))];
    } else {
      head = title(bi(p, "topic_title") || p.topic);
      rows = [row("map.address", p.address ?? t("map.noAddress")), row("map.areas", areaLine(p)),
        row("map.reasons", bi(p, "reasons")), row("map.level", `${known("level", p.level)} · ${Number(p.score).toFixed(2)}`),
        row("map.period", p.period)];
      if (p.case_id) links.push(h("a", { href: `#/case?id=${p.case_id}`, class: "popup-case" }, t("map.openCase", { id: p.case_id })));
      if (p.dwelling_id && can("entities.read")) links.push(h("a", { href: `#/entity?kind=dwelling&id=${encodeURIComponent(p.dwelling_id)}` }, t("map.open360")));
    }
  } else if (layerId === "cases") {
    head = title(`#${p.id} ${bi(p, "topic_title") || p.topic}`);
    rows = [row("map.address", p.address ?? t("map.noAddress")), row("map.areas", areaLine(p)),
      row("map.status", known("status", p.status)), row("map.level", known("level", p.level)), row("map.department", p.department)];
    links = [h("a", { href: `#/case?id=${p.id}`, class: "popup-case" }, t("map.openCase", { id: p.id }))];
  } else if (layerId === "buildings" || layerId === "base-buildings") {
    head = title(p.full_address ?? p.address ?? p.name);
    rows = [row("map.building", p.name ?? (p.estate_name ? `${p.estate_name}${p.building_no}栋` : null))];
  } else { // an area
    head = title(p.name);
    rows = [row("map.kind", known("map.place", p.level)), row("map.code", p.code)];
  }
  return h("div", { class: "popup" }, head, h("dl", {}, rows.filter(Boolean)), links.length ? h("p", { class: "popup-links" }, links) : null);
}

/** The names of the areas under the pointer (街道 / 社区 / 网格), in a line over the map. */
function hoverNames(map, label) {
  const levels = ["street", "community", "grid"];
  map.on("mousemove", (e) => {
    const found = map.queryRenderedFeatures(e.point, { layers: ["base-areas-hit"] });
    const names = levels.map((lv) => found.find((f) => f.properties.level === lv)?.properties.name).filter(Boolean);
    label.textContent = names.join(" / ");
    label.hidden = names.length === 0;
  });
  map.on("mouseout", () => { label.hidden = true; });
}

/** Search a street, community, grid, road (also by its old name), building or address → fly there. */
function searchBox(map) {
  const input = h("input", { type: "search", id: "place-search", autocomplete: "off", placeholder: t("map.searchHint"), "aria-label": t("map.search") });
  const results = h("ul", { class: "place-results", id: "place-results", role: "listbox" });
  const go = (place) => {
    const point = place.west === place.east && place.south === place.north;
    if (point) map.flyTo({ center: [place.west, place.south], zoom: 17, duration: 600 });
    else map.fitBounds([[place.west, place.south], [place.east, place.north]], { padding: 40, maxZoom: 17, duration: 600 });
    map.once("moveend", () => { map.getContainer().dataset.flown = place.name; });
    new maplibregl.Popup().setLngLat([(place.west + place.east) / 2, (place.south + place.north) / 2])
      .setDOMContent(h("div", { class: "popup" }, h("strong", { class: "popup-title" }, place.name), h("p", {}, known("map.place", place.kind)))).addTo(map);
  };
  const form = h("form", { class: "place-search", role: "search" }, input, h("button", { type: "submit", class: "button" }, t("map.searchGo")));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const q = input.value.trim();
    if (!q) return;
    const found = await api(`/api/v1/map/search?q=${encodeURIComponent(q)}`);
    results.replaceChildren(...(found.length ? found.map((place) => {
      const b = h("button", { type: "button", class: "link" }, place.name, h("span", { class: "hint" }, ` ${known("map.place", place.kind)}`));
      b.addEventListener("click", () => go(place));
      return h("li", {}, b);
    }) : [h("li", { class: "empty" }, t("map.notFound"))]));
    if (found.length) go(found[0]);
  });
  return h("div", { class: "place-search-box" }, form, results);
}

/** The map element lists the layers on show (data-visible), for people's tools and tests alike. */
function markVisible(on, layers) {
  on.getContainer().dataset.visible = layers.filter((l) => l.on).map((l) => l.id).join(" ");
}

function toggle(layer, count, layers) {
  const mine = map; // the map this toggle was drawn with, never a later one
  const box = h("input", { type: "checkbox", id: `layer-${layer.id}`, checked: layer.on });
  box.addEventListener("change", () => {
    layer.on = box.checked;
    chosen.set(layer.id, layer.on);
    styleLayers(layer).forEach((s) => mine.setLayoutProperty(s.id, "visibility", layer.on ? "visible" : "none"));
    markVisible(mine, layers);
  });
  const swatch = h("span", { class: "swatch", style: `background:${layer.color}`, "aria-hidden": "true" });
  return h("li", {}, box, h("label", { for: `layer-${layer.id}` }, swatch, layer.title ?? t(layer.key),
    h("span", { class: "count" }, t("map.features", { count: formatNumber(count) }))), legendList(layer, `legend-${layer.id}`));
}

export const mapPage = {
  titleKey: "map.title",
  needs: "map.read",
  async render(main) {
    const here = stillHere(); // false once the visitor has gone on, even while this chunk loaded
    const topics = can("topics.read") ? await api("/api/v1/topics") : [];
    const layers = [...BASE_LAYERS, ...topicLayers(topics)].map((l) => ({ ...l, on: chosen.get(l.id) ?? l.on }));
    const data = await Promise.all(layers.map((l) => api(l.url)));
    if (!here()) return; // left while the layers were loading
    const container = h("div", { class: "map", id: "map", role: "region", "aria-label": t("map.region") });
    const hover = h("div", { class: "map-hover", id: "map-hover", hidden: true, "aria-live": "polite" });
    const list = h("ul", { class: "layer-list" });
    const aside = h("aside", { class: "card layers", "aria-labelledby": "layers-title" }, h("h2", { id: "layers-title" }, t("map.layers")), list);
    main.append(h("div", { class: "map-page" }, aside, h("div", { class: "map-frame" }, container, hover)));
    const made = await baseMap(container);
    if (!here()) { made.map.remove(); return; }
    map = made.map;
    map.addControl(new maplibregl.NavigationControl({ showCompass: false }));
    container.maplibre = map; // for benchmarks/web.py, which measures frame times on it
    aside.prepend(searchBox(map));
    // an invisible fill under the area outlines, so the pointer can ask which areas it is over
    map.addLayer({ id: "base-areas-hit", type: "fill", source: "base", "source-layer": "areas", paint: { "fill-opacity": 0 } }, "base-areas");
    hoverNames(map, hover);
    const bounds = new maplibregl.LngLatBounds();
    layers.forEach((layer, i) => {
      map.addSource(layer.id, { type: "geojson", data: { type: "FeatureCollection", features: data[i].features } });
      for (const style of styleLayers(layer)) {
        map.addLayer({ ...style, layout: { visibility: layer.on ? "visible" : "none" } });
      }
      data[i].features.forEach((f) => f.geometry && extend(bounds, f.geometry.coordinates));
      list.append(toggle(layer, data[i].total, layers));
    });
    markVisible(map, layers);
    clickable(map, layers);
    onEvents(layers, followView(layers));
    unsubscribe.push(liveVehicles(map, list)); // trucks and bikes moving, from the live feed
    if (!bounds.isEmpty()) map.fitBounds(bounds, { padding: 40, duration: 0 });
    else map.fitBounds(made.bounds, { padding: 20, duration: 0 });
    // ready once the first view's tiles are drawn: nothing left loading when the visitor goes on
    await new Promise((resolve) => { map.once("idle", resolve); setTimeout(resolve, 10000); });
    if (!here()) return;
    container.dataset.idle = "1";
    main.dataset.ready = "1";
  },
  leave() {
    unsubscribe.forEach((off) => off());
    unsubscribe = [];
    pending.forEach(clearTimeout);
    pending.clear();
    map?.remove();
    map = null;
  },
};

export default mapPage;
