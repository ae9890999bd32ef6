/* The overview: where the programme stands on the three dimensions against its roadmap
 * (one card each), the region that lags most, and each region's figures; without a
 * roadmap, which sites take part. */
import { getProgress, isNoRoadmap } from "../api.js";
import { badge, figure, h, noRoadmap, table, th } from "../dom.js";
import {
  DIMENSION_NAMES, DIMENSIONS, MISSING, fmtCount, fmtDate, fmtDimension, fmtGap, fmtNum,
  fmtPercent, fmtPeriod, forecastText, isNum,
} from "../format.js";
import { sites, siteName, state } from "../state.js";

/* How many member sites of each region are active, planned or withdrawn. */
function membershipSummary() {
  const by = {};
  for (const s of sites().filter((x) => x.status)) {
    const region = s.parent || "—";
    by[region] = by[region] || { active: 0, planned: 0, withdrawn: 0 };
    by[region][s.status] += 1;
  }
  return table("membership-table",
    [th("Region"), th("Active sites", true), th("Planned", true), th("Withdrawn", true)],
    Object.entries(by).map(([code, c]) => h("tr", {},
      h("th", { scope: "row" }, siteName(code)), h("td", { class: "num" }, c.active),
      h("td", { class: "num" }, c.planned), h("td", { class: "num" }, c.withdrawn))));
}

/* A card's figures. Expansion's headline is its site count (d.sites), with its status and
 * progress over sites and regions together, and the regions as a second measure. */
function cardFigures(dim, d) {
  if (dim === "expansion")
    return { status: d.status, progress: d.progress, measure: d.sites, period: d.period, regions: d.regions, items: [] };
  return { status: d.status, progress: d.progress, measure: d, period: d.period, regions: null,
    items: dim === "institutionalisation" ? d.items : [] };
}

function itemList(items) {
  return h("ul", { class: "items" }, items.map((it) =>
    h("li", {}, `${it.name || it.key}: score ${fmtNum(it.score, 0)} of ${fmtNum(it.target, 0)}`,
      it.overdue ? [" ", badge("at_risk", "(overdue)")]
        : it.due ? h("span", { class: "muted" }, ` · due ${fmtDate(it.due)}`) : null)));
}

function dimensionCard(dim, d) {
  const { status, progress, measure, period, regions, items } = cardFigures(dim, d);
  const share = isNum(progress) ? Math.max(0, Math.min(1, progress)) : null;
  return h("section", { class: "card", "data-dimension": dim },
    h("h3", {}, DIMENSION_NAMES[dim], badge(status)),
    h("div", { class: "figure" },
      figure(dim + ".actual", measure.actual, fmtDimension(dim, measure.actual)),
      h("span", { class: "of" }, " actual, planned ",
        figure(dim + ".planned", measure.planned, fmtDimension(dim, measure.planned)))),
    h("div", { class: "bar", role: "img", "aria-label": "share of the way to the final target: " +
        (share === null ? "unknown" : fmtPercent(share, 0)) },
      h("span", { style: "width:" + (share === null ? 0 : share * 100) + "%" })),
    h("dl", { class: "kv" },
      h("dt", {}, "Progress"), h("dd", {}, figure(dim + ".progress", progress,
        isNum(progress) ? fmtPercent(progress) + " of the way to the final target" : MISSING)),
      h("dt", {}, "Gap to plan"), h("dd", {}, figure(dim + ".gap", measure.gap, fmtGap(dim, measure.gap))),
      h("dt", {}, "Forecast"), h("dd", { "data-field": dim + ".forecast" },
        forecastText(measure.forecast, measure.forecast_basis)),
      regions ? [h("dt", {}, "Regions"), h("dd", {}, figure(dim + ".regions", regions.actual,
        fmtNum(regions.actual, 0)), " with an active site, " + fmtNum(regions.planned, 1) + " planned")] : null,
      items.length ? [h("dt", {}, "Items"), h("dd", {}, itemList(items))] : null,
      period ? [h("dt", {}, "As of"), h("dd", {}, "data of " + fmtPeriod(period))] : null));
}

/* A region's cell of one dimension. */
function regionCell(region, dim) {
  const d = region[dim];
  if (!d) return h("td", { class: "muted" }, dim === "institutionalisation" ? "set nationally (see above)" : MISSING);
  if (dim === "expansion") {
    if (d.status === "no_data") return h("td", {}, "no data yet ", h("br"), badge(d.status));
    return h("td", {}, figure(`${region.code}.expansion.active_sites`, d.active_sites, fmtCount(d.active_sites)),
      ` of ${fmtCount(d.adopted_sites)} adopted sites active `, h("br"), badge(d.status));
  }
  if (!isNum(d.actual))
    return h("td", {}, "no data yet; " + fmtDimension(dim, d.planned) + " planned ", h("br"), badge(d.status));
  return h("td", {}, figure(`${region.code}.${dim}.actual`, d.actual, fmtDimension(dim, d.actual)), " of ",
    fmtDimension(dim, d.planned), " planned ", h("br"), badge(d.status));
}

function regionTable(regions) {
  return table("region-table", [th("Region"), DIMENSIONS.map((k) => th(DIMENSION_NAMES[k]))],
    regions.map((r) => h("tr", { "data-region": r.code },
      h("th", { scope: "row" }, r.name), DIMENSIONS.map((k) => regionCell(r, k)))));
}

/* The callout on the region the daemon found lagging most (by coverage gap, else by the
 * share of its adopted sites that are active), or null when it found none. */
function laggingCallout(progress) {
  const lag = progress.lagging_region;
  if (!lag) return null;
  const region = progress.regions.find((r) => r.code === lag.code);
  const dim = lag.by === "share_active" ? "expansion" : "coverage";
  const d = region[dim];
  const text = dim === "expansion"
    ? `Expansion: ${fmtCount(d.active_sites)} of ${fmtCount(d.adopted_sites)} adopted sites active `
    : DIMENSION_NAMES[dim] + " " + fmtDimension(dim, d.actual) + " against " +
      fmtDimension(dim, d.planned) + " planned ";
  return h("div", { class: "callout", id: "lagging-region", "data-region": lag.code },
    h("strong", {}, (d.status === "on_track" ? "Closest to falling behind: " : "Lags most: ") + lag.name),
    " — ", text, badge(d.status));
}

export async function overview() {
  const title = [h("h1", {}, state.detail.name),
    h("p", { class: "subtitle" }, "Where the programme stands on the three dimensions of the scale-up cube, against its roadmap.")];
  let progress;
  try {
    progress = await getProgress(state.programme);
  } catch (err) {
    if (!isNoRoadmap(err)) throw err;
    return [title, noRoadmap(), h("h2", {}, "Sites taking part"), membershipSummary()];
  }
  const roadmap = progress.roadmap;
  return [title,
    h("p", { class: "muted small" }, "As of ", h("span", { "data-field": "at" }, fmtDate(progress.at)),
      `, against roadmap version ${roadmap.version}` + (roadmap.label ? ` (${roadmap.label})` : "")),
    h("div", { class: "cards", id: "dimension-cards" },
      DIMENSIONS.map((k) => (progress.dimensions[k] ? dimensionCard(k, progress.dimensions[k])
        : absentCard(k)))),
    laggingCallout(progress),
    h("h2", {}, "By region"),
    progress.regions.length ? regionTable(progress.regions) : h("p", { class: "muted" }, "No per-region figures.")];
}

/* A dimension the roadmap does not plan. */
function absentCard(dim) {
  return h("section", { class: "card", "data-dimension": dim },
    h("h3", {}, DIMENSION_NAMES[dim], badge("no_data")),
    h("p", { class: "muted" }, "The roadmap does not plan this dimension."));
}
