// Moving vehicles on the one map: muck trucks (渣土车) and shared bikes (共享单车) from the live feed's
// `vehicle.position` events. Each vehicle keeps its newest position; events are gathered and drawn
// once per animation frame, and both the vehicles kept and the events waiting are capped, so a
// burst of thousands of pings never stalls the page.
import { can } from "../api.js";
import { h } from "../dom.js";
import { formatNumber, t } from "../i18n.js";
import { onLive } from "../live.js";
import "./map-live.css";

export const LIVE_SOURCE = "live-vehicles";
const MAX_VEHICLES = 20000; // positions kept: the oldest-moved vehicle goes first
const MAX_WAITING = 50000; // events waiting for the next frame: the oldest go first
const KINDS = [
  { id: "live-trucks", kind: "muck_truck", key: "map.liveTrucks", color: "#b45309", radius: 6 },
  { id: "live-bikes", kind: "bike", key: "map.liveBikes", color: "#0891b2", radius: 3 },
];
const chosen = new Map(); // layer id → on/off, kept while the app runs

const vehicleId = (d) => (d.kind === "bike" ? `bike:${d.operator ?? ""}:${d.bike_id}` : `${d.kind}:${d.plate}`);

function feature(d) {
  const properties = { kind: d.kind, t: d.t ?? null };
  if (d.plate != null) properties.plate = d.plate;
  if (d.bike_id != null) Object.assign(properties, { bike_id: d.bike_id, operator: d.operator ?? null });
  if (d.speed != null) properties.speed = d.speed;
  return { type: "Feature", geometry: { type: "Point", coordinates: [d.lon, d.lat] }, properties };
}

/** Draw live vehicles on `map`, their toggles in a list of their own after the layer `list`;
 * returns the stop function. */
export function liveVehicles(map, list) {
  // the feed sends positions to those who may read findings: no toggles for what never comes
  if (!can("findings.read")) return () => {};
  const vehicles = new Map(); // id → feature, in the order they last moved
  let waiting = [];
  let frame = 0;
  const container = map.getContainer();
  map.addSource(LIVE_SOURCE, { type: "geojson", data: { type: "FeatureCollection", features: [] } });
  const counts = new Map();
  const toggles = h("ul", { class: "live-list", id: "live-list" });
  list.after(h("section", { class: "live-layers", "aria-labelledby": "live-layers-title" },
    h("h3", { id: "live-layers-title" }, t("map.liveLayers")), toggles));
  for (const k of KINDS) {
    const on = chosen.get(k.id) ?? true;
    map.addLayer({ id: k.id, type: "circle", source: LIVE_SOURCE, filter: ["==", ["get", "kind"], k.kind],
      layout: { visibility: on ? "visible" : "none" },
      paint: { "circle-radius": k.radius, "circle-color": k.color, "circle-stroke-color": "#fff", "circle-stroke-width": 1 } });
    const box = h("input", { type: "checkbox", id: `layer-${k.id}`, checked: on });
    box.addEventListener("change", () => {
      chosen.set(k.id, box.checked);
      map.setLayoutProperty(k.id, "visibility", box.checked ? "visible" : "none");
      markLive();
    });
    const count = h("span", { class: "count", id: `count-${k.id}` }, t("map.features", { count: formatNumber(0) }));
    counts.set(k.kind, count);
    const swatch = h("span", { class: "swatch", style: `background:${k.color}`, "aria-hidden": "true" });
    toggles.append(h("li", {}, box, h("label", { for: `layer-${k.id}` }, swatch, t(k.key), count)));
  }
  // the live layers on show and how many vehicles each has, for people's tools and tests alike
  const markLive = () => {
    container.dataset.live = KINDS.filter((k) => chosen.get(k.id) ?? true).map((k) => k.id).join(" ");
  };
  markLive();

  const draw = () => {
    frame = 0;
    const batch = waiting;
    waiting = [];
    for (const d of batch) {
      if (!Number.isFinite(d.lon) || !Number.isFinite(d.lat)) continue; // no place: nothing to draw
      const id = vehicleId(d);
      vehicles.delete(id); // re-inserted last: the map's order is the order of movement
      vehicles.set(id, feature(d));
    }
    for (const id of vehicles.keys()) {
      if (vehicles.size <= MAX_VEHICLES) break;
      vehicles.delete(id);
    }
    const features = [...vehicles.values()];
    map.getSource(LIVE_SOURCE)?.setData({ type: "FeatureCollection", features });
    for (const k of KINDS) {
      const n = features.filter((f) => f.properties.kind === k.kind).length;
      counts.get(k.kind).textContent = t("map.features", { count: formatNumber(n) });
      container.dataset[k.id === "live-trucks" ? "liveTrucks" : "liveBikes"] = String(n);
    }
  };
  const off = onLive("vehicle.position", (event) => {
    waiting.push(event.data);
    if (waiting.length > MAX_WAITING) waiting = waiting.slice(-MAX_WAITING);
    if (!frame) frame = requestAnimationFrame(draw);
  });
  return () => {
    off();
    if (frame) cancelAnimationFrame(frame);
    frame = 0;
    waiting = [];
  };
}
