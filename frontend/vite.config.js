// Builds the web app into the Python package, where the API serves it (citybrain.web.static_dir).
import { defineConfig } from "vite";
import { noExternalUrls } from "./build/no-external-urls.js";

export default defineConfig({
  root: ".",
  base: "/",
  plugins: [noExternalUrls()],
  build: {
    outDir: "../src/citybrain/web/dist",
    emptyOutDir: true,
    // Pages load on first visit (dynamic import() in main.js and router.js); maplibre and echarts
    // each get a chunk of their own, fetched only by the pages that draw maps or charts.
    chunkSizeWarningLimit: 1100, // maplibre alone is ~1 MB minified
    rolldownOptions: {
      // Two pages: the government web app and the public portal (served at /portal/).
      input: { main: "index.html", portal: "portal.html" },
      output: {
        advancedChunks: {
          groups: [
            { name: "maplibre", test: /node_modules[\\/]maplibre-gl/ },
            { name: "echarts", test: /node_modules[\\/](echarts|zrender)/ },
          ],
        },
      },
    },
    // License banners carry project URLs; the licenses ship in node_modules, not in the bundle.
    license: false,
  },
  esbuild: { legalComments: "none" },
});
