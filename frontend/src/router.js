// A hash router: #/overview, #/map, #/login?next=… — pages are { title, render(main, params) }.
const routes = new Map();
let current = null;
let onRoute = () => {};
let visits = 0; // one per route render: a page still loading can tell it has been left

export const addRoute = (path, page) => routes.set(path, page);
export const hasRoute = (path) => routes.has(path);
export const setRouteListener = (fn) => (onRoute = fn);

export function parse() {
  const [path, query = ""] = (location.hash.slice(1) || "/overview").split("?");
  return { path, params: new URLSearchParams(query) };
}

export function navigate(path) {
  location.hash = `#${path}`;
}

export async function render(main) {
  const { path, params } = parse();
  if (current?.leave) current.leave();
  current = routes.get(path) || routes.get("*");
  visits += 1;
  main.replaceChildren();
  delete main.dataset.ready; // each page marks itself ready when its data is drawn
  onRoute(path, current);
  await current.render(main, params);
}

export function start(main) {
  window.addEventListener("hashchange", () => render(main));
  return render(main);
}

export const currentPage = () => current;
export const visit = () => visits;

/** A page whose module (default export { render, leave? }) loads on first visit, as its own chunk. */
export function lazyPage(titleKey, load) {
  let page = null;
  return {
    titleKey,
    async render(main, params) {
      page ??= (await load()).default;
      return page.render(main, params);
    },
    leave: () => page?.leave?.(),
  };
}

// Topic pages, the case desk, entity 360 and data governance (their modules check permissions).
addRoute("/topic", lazyPage("topic.title", () => import("./pages/topic.js")));
addRoute("/desk", lazyPage("desk.title", () => import("./pages/desk.js")));
addRoute("/case", lazyPage("desk.caseTitle", () => import("./pages/case.js")));
addRoute("/entity", lazyPage("entity.title", () => import("./pages/entity.js")));
addRoute("/governance", lazyPage("governance.title", () => import("./pages/governance.js")));
