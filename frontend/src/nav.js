// Where the visitor is: the hash (#/overview, #/map, #/login?next=…) and a count of page visits.
// Pages and components move the visitor with navigate() and never import the router, which sits
// above them: main.js hands it the page table.
let visits = 0; // one per route render: a page still loading can tell it has been left

export function parse() {
  const [path, query = ""] = (location.hash.slice(1) || "/overview").split("?");
  return { path, params: new URLSearchParams(query) };
}

export function navigate(path) {
  location.hash = `#${path}`;
}

export const visit = () => visits;
export const countVisit = () => (visits += 1);
