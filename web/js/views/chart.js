/* Chart: what a link from an e-mail or a webhook's generatorURL opens,
 * #/chart?programme=P&indicator=I&site=S&period=YYYY-MM — the XmR chart of that indicator at
 * that site (views/indicators.js), in that programme, with the alert's period marked. */
import { h } from "../dom.js";
import { useProgramme } from "../router.js";
import { indicatorsView } from "./indicators.js";

export async function chartView(params) {
  const slug = params.get("programme");
  if (!(await useProgramme(slug)))
    return [h("h1", {}, "Chart"), h("div", { class: "callout", id: "unknown-programme" },
      `No programme "${slug}" that this token may read.`)];
  return indicatorsView(params);
}
