// The app must run on an isolated network: the bundle may name no outside URL. Libraries carry a
// few inert ones (a logo link, a warning's issue link, a URL-parsing base); they are rewritten here,
// and the build fails on any other http(s) URL except XML namespace names (identifiers, never fetched).
const INERT = [
  ["https://github.com/mapbox/mapbox-gl-js/issues/2907", "mapbox-gl-js issue 2907"],
  ["https://maplibre.org/", "#"],
  // maplibre's HTML sanitizer resolves relative links against a dummy base: use the page's own.
  ["`https://maplibre.invalid/`", "location.href"],
];
const NAMESPACE = /^http:\/\/www\.w3\.org\/(2000\/svg|2000\/xmlns\/|1999\/xlink|1999\/xhtml|XML\/1998\/namespace)$/;
const URL_PATTERN = /https?:\/\/[^\s"'`)<>\\]+/g;

export function externalUrls(text) {
  return [...text.matchAll(URL_PATTERN)].map((m) => m[0]).filter((url) => !NAMESPACE.test(url));
}

export function noExternalUrls() {
  return {
    name: "citybrain-no-external-urls",
    enforce: "post",
    generateBundle(_, bundle) {
      for (const file of Object.values(bundle)) {
        const isChunk = file.type === "chunk";
        let text = isChunk ? file.code : typeof file.source === "string" ? file.source : null;
        if (text == null) continue;
        for (const [from, to] of INERT) text = text.split(from).join(to);
        const found = externalUrls(text);
        if (found.length) this.error(`${file.fileName} names outside URLs: ${[...new Set(found)].join(", ")}`);
        if (isChunk) file.code = text;
        else file.source = text;
      }
    },
  };
}
