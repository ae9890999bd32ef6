/* Feeds: for the latest due period, completeness by region and each indicator's reporting
 * (the daemon's summary), then the sites, late ones first, a page at a time, filtered by
 * region, indicator and late only (GET …/feeds/sites). */
import { getFeeds, getFeedsPage, getFeedsSites } from "../api.js";
import { badge, figure, h, table, th } from "../dom.js";
import { MISSING, fmtDate, fmtDateTime, fmtPercent, fmtPeriod, isNum, periodLabel } from "../format.js";
import { state, timeZone } from "../state.js";

const PAGE = 100;

function indicatorRow(i) {
  return h("tr", { "data-indicator": i.code },
    h("td", {}, i.name),
    h("td", {}, fmtPeriod(periodLabel(i.period_type, i.period_start)) +
      " (" + fmtDate(i.period_start) + " – " + fmtDate(i.period_end) + ")"),
    h("td", {}, fmtDate(i.due_on)),
    h("td", { class: "num" }, i.reported_by_sites
      ? [figure(i.code + ".reported", i.reported, String(i.reported)), " of ",
        figure(i.code + ".expected", i.expected, String(i.expected)), " sites"]
      : [i.reported > 0 ? "reported" : "not reported", " (programme level)"]));
}

function regionRow(r) {
  const key = r.code || "none";
  return h("tr", { "data-region": r.code || "" },
    h("th", { scope: "row" }, r.name || "No region"),
    h("td", { class: "num" }, figure(key + ".completeness", r.completeness, fmtPercent(r.completeness))),
    // no bar when nothing was expected: an empty bar would read as 0 %
    h("td", { class: "bar-cell" }, isNum(r.completeness)
      ? h("div", { class: "bar", role: "img", "aria-label": "completeness " + fmtPercent(r.completeness) },
        h("span", { style: "width:" + r.completeness * 100 + "%" }))
      : ""),
    h("td", { class: "num" }, `${r.values_reported} of ${r.values_expected} values`),
    h("td", { class: "num" }, figure(key + ".sites_late", r.sites_late, String(r.sites_late))),
    h("td", { class: "num" }, figure(key + ".sites_partial", r.sites_partial, String(r.sites_partial))),
    h("td", { class: "num" }, `${r.sites_complete} of ${r.sites_expected}`));
}

function siteRow(s) {
  return h("tr", { "data-site": s.code },
    h("th", { scope: "row" }, s.name, h("br"), h("span", { class: "muted small" }, s.code)),
    h("td", {}, s.region_name || MISSING),
    h("td", { "data-field": s.code + ".status", "data-value": s.status }, badge(s.status)),
    h("td", { class: "num" }, `${s.reported} of ${s.expected}`),
    h("td", {}, s.missing.length ? s.missing.map((m) => m.name + " (" + m.code + ")").join(", ") : MISSING),
    h("td", {}, fmtDateTime(s.last_received_at, timeZone())));
}

function option(value, text, selected) {
  return h("option", { value, selected: selected || null }, text);
}

/* The sites list with its filters: a table that grows by a page at each "next". */
function sitesSection(doc) {
  const filters = { region: "", indicator: "", status: "" };
  const body = h("tbody", {});
  const count = h("p", { class: "muted small", id: "feeds-sites-count" });
  const more = h("button", { type: "button", class: "ghost", id: "feeds-more", hidden: true }, `Next ${PAGE}`);
  const list = h("div", { class: "table-wrap" }, h("table", { id: "feeds-sites" },
    h("thead", {}, h("tr", {}, [th("Site"), th("Region"), th("Status"), th("Indicators in", true),
      th("Missing"), th("Last received")])), body));
  let next = null;
  let shown = 0;
  let generation = 0; /* a reload answered after a later one is dropped */
  const show = (page) => {
    body.append(...page.rows.map(siteRow));
    shown += page.rows.length;
    next = page.next;
    more.hidden = !next;
    count.textContent = shown ? `Showing ${shown} site${shown === 1 ? "" : "s"}` + (next ? ", more follow." : ".")
      : "No site matches these filters.";
    list.closest("main")?.setAttribute("data-ready", "true");
  };
  const reload = async () => {
    const mine = ++generation;
    list.closest("main")?.setAttribute("data-ready", "false");
    const page = await getFeedsSites(state.programme, { ...filters, limit: PAGE });
    if (mine !== generation) return;
    body.replaceChildren();
    shown = 0;
    show(page);
  };
  more.addEventListener("click", async () => {
    if (!next) return;
    more.disabled = true;
    const mine = generation;
    try {
      const page = await getFeedsPage(next);
      if (mine === generation) show(page);
    } finally {
      more.disabled = false;
    }
  });
  const region = h("select", { id: "feeds-region", name: "region" }, option("", "All regions"),
    doc.regions.filter((r) => r.code).map((r) => option(r.code, r.name)));
  const indicator = h("select", { id: "feeds-indicator", name: "indicator" }, option("", "All indicators"),
    doc.indicators.filter((i) => i.reported_by_sites).map((i) => option(i.code, i.name)));
  const late = h("input", { type: "checkbox", id: "feeds-late-only", name: "late", style: "min-width:0" });
  region.addEventListener("change", () => { filters.region = region.value; reload(); });
  indicator.addEventListener("change", () => { filters.indicator = indicator.value; reload(); });
  late.addEventListener("change", () => { filters.status = late.checked ? "late" : ""; reload(); });
  return {
    nodes: [h("h2", {}, "Sites, late ones first"),
      h("div", { class: "controls" }, h("label", {}, "Region", region), h("label", {}, "Indicator", indicator),
        h("label", {}, late, " Late only")),
      list, count, more],
    first: async () => show(await getFeedsSites(state.programme, { limit: PAGE })),
  };
}

export async function feeds() {
  const head = [h("h1", {}, "Feeds"), h("p", { class: "subtitle" }, "Completeness by region for the latest due period, then the sites that are late or missing values.")];
  const doc = await getFeeds(state.programme);
  const t = doc.totals;
  const behind = t.sites_late + t.sites_partial;
  const sites = sitesSection(doc);
  await sites.first();
  return [head,
    h("p", { class: "muted small" }, `Today ${fmtDate(doc.today)}; data is due ${doc.grace_days} days after the end of its period.`),
    h("div", { class: behind ? "callout" : "callout info", id: "feeds-summary" },
      behind ? [figure("totals.sites_late", t.sites_late, String(t.sites_late)), " late and ",
        figure("totals.sites_partial", t.sites_partial, String(t.sites_partial)),
        ` partial of ${t.sites_expected} sites for the latest due period.`]
        : `All ${t.sites_expected} sites sent everything for the latest due period.`),
    h("h2", {}, "Completeness by region"),
    table("feeds-regions", [th("Region"), th("Completeness", true), th(""), th("Values", true),
      th("Late", true), th("Partial", true), th("Sites complete", true)], doc.regions.map(regionRow)),
    sites.nodes,
    h("h2", {}, "Latest due period by indicator"),
    table("feeds-indicators", [th("Indicator"), th("Period"), th("Due"), th("Reported", true)],
      doc.indicators.map(indicatorRow))];
}
