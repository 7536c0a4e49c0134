// Data governance (数据治理): catalog, lineage, quality, load runs and quarantine, one tab each.
// Tabs are links (#/governance?tab=…), so each view has an address and the keyboard just works.
import { allowed, errorNote, section, stillHere } from "../components/ui.js";
import { h } from "../dom.js";
import { t } from "../i18n.js";
import { navigate } from "../nav.js";
import { catalogTab } from "./governance/catalog.js";
import { lineageTab } from "./governance/lineage.js";
import { loadsTab } from "./governance/loads.js";
import { qualityTab } from "./governance/quality.js";

const TABS = ["catalog", "lineage", "quality", "loads"];
let charts = [];

async function body(tab, params) {
  if (tab === "lineage") {
    const [zone, ...name] = (params.get("dataset") ?? "").split("/");
    return lineageTab(charts, name.length ? { zone, name: name.join("/") } : null);
  }
  if (tab === "quality") return { el: await qualityTab() };
  if (tab === "loads") return { el: await loadsTab() };
  return { el: await catalogTab((zone, name) => navigate(`/governance?tab=lineage&dataset=${encodeURIComponent(`${zone}/${name}`)}`)) };
}

export default {
  async render(main, params) {
    if (!allowed(main, "catalog.read", `/governance${params.size ? `?${params}` : ""}`)) return;
    const tab = TABS.includes(params.get("tab")) ? params.get("tab") : "catalog";
    const tabs = h("nav", { class: "tabs", "aria-label": t("governance.sections") }, TABS.map((name) =>
      h("a", { href: `#/governance?tab=${name}`, class: "tab", "data-tab": name, "aria-current": name === tab ? "page" : null }, t(`governance.tab.${name}`))));
    main.append(h("h2", { class: "page-title" }, t("governance.title")), tabs);
    const here = stillHere();
    try {
      const view = await body(tab, params);
      if (!here()) return;
      main.append(section(`governance-${tab}`, t(`governance.tab.${tab}`), view.el));
      await view.draw?.();
    } catch (error) {
      if (here()) main.append(errorNote(error));
    }
    if (here()) main.dataset.ready = "1";
  },
  leave() {
    charts.forEach((c) => c.dispose());
    charts = [];
  },
};
