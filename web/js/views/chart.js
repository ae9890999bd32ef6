/* Chart: what a link from an e-mail or a webhook's generatorURL opens,
 * #/chart?programme=P&indicator=I&site=S&period=YYYY-MM — the XmR chart of that indicator at
 * that site (views/indicators.js), in that programme, with the alert's period marked. */
import { getProgramme } from "../api.js";
import { h } from "../dom.js";
import { state } from "../state.js";
import { indicatorsView } from "./indicators.js";

/* Switches the page to the link's programme when this token may read it. */
export async function useProgramme(slug) {
  if (!slug || slug === state.programme) return true;
  if (!state.programmes.some((p) => p.slug === slug)) return false;
  state.programme = slug;
  state.detail = await getProgramme(slug);
  const select = document.getElementById("programme");
  if (select) select.value = slug;
  return true;
}

export async function chartView(params) {
  const slug = params.get("programme");
  if (!(await useProgramme(slug)))
    return [h("h1", {}, "Chart"), h("div", { class: "callout", id: "unknown-programme" },
      `No programme "${slug}" that this token may read.`)];
  return indicatorsView(params);
}
