/* Feeds: for the latest due period, which sites reported, which are late, completeness by
 * region, and each indicator's reporting, all as the daemon's feeds status says. */
import { getFeeds } from "../api.js";
import { badge, figure, h, table, th } from "../dom.js";
import { MISSING, fmtDate, fmtDateTime, fmtPercent, fmtPeriod, isNum, periodLabel } from "../format.js";
import { state } from "../state.js";

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
  return h("tr", { "data-region": r.code || "" },
    h("th", { scope: "row" }, r.name || "No region"),
    h("td", { class: "num" }, figure((r.code || "none") + ".completeness", r.completeness, fmtPercent(r.completeness))),
    h("td", {}, h("div", { class: "bar", role: "img", "aria-label": "completeness " + fmtPercent(r.completeness) },
      h("span", { style: "width:" + (isNum(r.completeness) ? r.completeness * 100 : 0) + "%" }))),
    h("td", { class: "num" }, `${r.values_reported} of ${r.values_expected} values`),
    h("td", { class: "num" }, `${r.sites_complete} of ${r.sites_expected} sites complete`));
}

function siteRow(s) {
  return h("tr", { "data-site": s.code },
    h("th", { scope: "row" }, s.name, h("br"), h("span", { class: "muted small" }, s.code)),
    h("td", {}, s.region_name || MISSING),
    h("td", { "data-field": s.code + ".status", "data-value": s.status }, badge(s.status)),
    h("td", { class: "num" }, `${s.reported} of ${s.expected}`),
    h("td", {}, s.late.length ? s.late.join(", ") : MISSING),
    h("td", {}, fmtDateTime(s.last_received_at)));
}

export async function feeds() {
  const head = [h("h1", {}, "Feeds"), h("p", { class: "subtitle" }, "Which sites reported for the latest due period, which are late, and completeness by region.")];
  const doc = await getFeeds(state.programme);
  const behind = doc.sites.filter((s) => s.status !== "reported").length;
  return [head,
    h("p", { class: "muted small" }, `Today ${fmtDate(doc.today)}; data is due ${doc.grace_days} days after the end of its period.`),
    h("div", { class: behind ? "callout" : "callout info", id: "feeds-summary" },
      behind ? `${behind} of ${doc.sites.length} sites have not sent everything for the latest due period.`
        : `All ${doc.sites.length} sites sent everything for the latest due period.`),
    h("h2", {}, "Completeness by region"),
    table("feeds-regions", [th("Region"), th("Completeness", true), th(""), th("Values", true), th("Sites", true)],
      doc.regions.map(regionRow)),
    h("h2", {}, "Sites"),
    table("feeds-sites", [th("Site"), th("Region"), th("Status"), th("Indicators in", true), th("Missing"), th("Last received")],
      doc.sites.map(siteRow)),
    h("h2", {}, "Latest due period by indicator"),
    table("feeds-indicators", [th("Indicator"), th("Period"), th("Due"), th("Reported", true)],
      doc.indicators.map(indicatorRow))];
}
