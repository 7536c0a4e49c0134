// A hash router: #/overview, #/map, #/login?next=… — pages are { title, render(main, params) }.
const routes = new Map();
let current = null;
let onRoute = () => {};

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
  main.replaceChildren();
  onRoute(path, current);
  await current.render(main, params);
}

export function start(main) {
  window.addEventListener("hashchange", () => render(main));
  return render(main);
}

export const currentPage = () => current;
