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
    chunkSizeWarningLimit: 2000,
    // License banners carry project URLs; the licenses ship in node_modules, not in the bundle.
    license: false,
  },
  esbuild: { legalComments: "none" },
});
