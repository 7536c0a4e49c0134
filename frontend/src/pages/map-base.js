// The city's own base map (offline): the style from /api/v1/map/style.json, whose vector tiles the
// server cuts from the address register. The style names no glyph server, so MapLibre draws every
// label (Chinese and Latin alike) with the browser's local fonts; no request leaves this host.
import maplibregl from "maplibre-gl";
import "maplibre-gl/dist/maplibre-gl.css";
import "./map.css";
import { api } from "../api.js";
import { t } from "../i18n.js";

export { maplibregl };

export const LOCAL_FONTS = "'Noto Sans CJK SC', 'Noto Sans SC', 'Source Han Sans SC', 'PingFang SC', 'Microsoft YaHei', sans-serif";
/** The base layers a test or a person may ask for rendered features. */
export const BASE_LAYERS = ["base-areas", "base-roads", "base-buildings", "base-labels", "base-road-labels"];

/** A map on the base style; resolves once it has loaded. ``bounds``: the city's box. */
export async function baseMap(container, { interactive = true, ...options } = {}) {
  const style = await api("/api/v1/map/style.json");
  const [w, s, e, n] = style.sources.base.bounds;
  const map = new maplibregl.Map({
    container, style, interactive, attributionControl: false, localIdeographFontFamily: LOCAL_FONTS,
    bounds: [[w, s], [e, n]], fitBoundsOptions: { padding: 20 }, maxZoom: 19,
    locale: { "NavigationControl.ZoomIn": t("map.zoomIn"), "NavigationControl.ZoomOut": t("map.zoomOut") },
    ...options,
  });
  await new Promise((resolve) => map.once("load", resolve));
  return { map, bounds: [[w, s], [e, n]] };
}
