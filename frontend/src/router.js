// A hash router over a page table it is given: pages are { titleKey, render(main, params), leave? }.
// It imports no page; main.js registers them (addRoute), so no page or component imports it.
import { countVisit, parse, visit } from "./nav.js";

const routes = new Map();
let current = null;
let onRoute = () => {};

export const addRoute = (path, page) => routes.set(path, page);
export const setRouteListener = (fn) => (onRoute = fn);

export async function render(main) {
  const { path, params } = parse();
  if (current?.leave) current.leave();
  current = routes.get(path) || routes.get("*");
  countVisit();
  main.replaceChildren();
  delete main.dataset.ready; // each page marks itself ready when its data is drawn
  onRoute(path, current);
  await current.render(main, params);
}

export function start(main) {
  window.addEventListener("hashchange", () => render(main));
  return render(main);
}

/** A page whose module (default export { render, leave? }) loads on first visit, as its own chunk. */
export function lazyPage(titleKey, load) {
  let page = null;
  return {
    titleKey,
    async render(main, params) {
      const mine = visit();
      page ??= (await load()).default;
      // Another render began while the chunk loaded (the page was left, or entered twice): only the
      // latest may draw, or two copies of the page end up in main.
      if (visit() !== mine) return undefined;
      return page.render(main, params);
    },
    leave: () => page?.leave?.(),
  };
}
