// A small map around a case's place: the city's own base map (loaded only when a case is opened)
// with the place marked; ready once its tiles are drawn, so no request is left in flight.
import { h } from "../dom.js";
import { t } from "../i18n.js";

let current = null;

/** The panel's body; ``draw`` fills it once the page is on screen. */
export function caseMap(c) {
  const el = h("div", { class: "case-map", id: "case-map", role: "region", "aria-label": t("case.map") });
  if (c.lon == null || c.lat == null) return { el: h("p", { class: "empty", id: "case-map" }, t("case.noAddress")), draw: async () => {} };
  const draw = async () => {
    const { baseMap, maplibregl } = await import("./map-base.js");
    const { map } = await baseMap(el, { center: [c.lon, c.lat], zoom: 16, bounds: undefined, interactive: true });
    if (!el.isConnected) { map.remove(); return; } // the clerk went on while it loaded
    current?.remove();
    current = map;
    map.addControl(new maplibregl.NavigationControl({ showCompass: false }));
    map.addSource("case-place", { type: "geojson", data: { type: "Feature", geometry: { type: "Point", coordinates: [c.lon, c.lat] }, properties: {} } });
    map.addLayer({ id: "case-place", type: "circle", source: "case-place",
      paint: { "circle-radius": 9, "circle-color": "#be123c", "circle-stroke-color": "#fff", "circle-stroke-width": 3 } });
    el.maplibre = map;
    await new Promise((resolve) => { map.once("idle", resolve); setTimeout(resolve, 8000); });
    el.dataset.ready = "1";
  };
  return { el, draw };
}

export function removeCaseMap() {
  current?.remove();
  current = null;
}
