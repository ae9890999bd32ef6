/* Indicators: the XmR control chart of one indicator at the programme, a region or a site,
 * as the daemon computed it (limits, variation, assurance), read NHS "Making Data Count"
 * style, with a summary and the table of points; ?period=P marks that period's point (the
 * chart view of an e-mail's link, views/chart.js). */
import { ApiError, getChart } from "../api.js";
import { COLOURS, UPlot, axisWidth, mountChart } from "../charts.js";
import { badge, figure, h, table, th } from "../dom.js";
import {
  MISSING, STATUS, directionText, fmtCount, fmtPeriod, fmtSignals, fmtValue, isNum,
} from "../format.js";
import { go, whenRendered } from "../router.js";
import { indicators, sites, state } from "../state.js";

function sitePicker(selected) {
  const all = sites();
  const root = all.filter((s) => !s.parent);
  const regions = all.filter((s) => s.level === "region");
  const practices = all.filter((s) => s.parent && s.level !== "region");
  const opt = (s, prefix) => h("option", { value: s.code, selected: s.code === selected }, (prefix || "") + s.name);
  return h("select", { id: "site-select", name: "site" },
    h("optgroup", { label: "Programme" }, root.map((s) => opt(s, "Whole programme — "))),
    regions.length ? h("optgroup", { label: "Regions" }, regions.map((s) => opt(s))) : null,
    practices.length ? h("optgroup", { label: "Sites" }, practices.map((s) => opt(s))) : null);
}

function xmrChart(doc, width, marked) {
  const pts = doc.points;
  /* one slot per reported period (a missing period is absent, never a zero), labelled by period */
  const xs = pts.map((p, i) => i);
  const label = (i) => (Number.isInteger(i) && pts[i] ? fmtPeriod(pts[i].period) : "");
  const only = (kind) => pts.map((p) => (p.variation === kind ? p.value : null));
  const limit = (f) => pts.map((p) => (p.has_limits ? p[f] : null));
  const fmt = (u, v) => (v === null || v === undefined ? MISSING : fmtValue(v, doc.indicator));
  const markers = (kind, shape) => ({
    label: STATUS[kind][1].replace("Special cause: ", "") + " " + shape,
    stroke: COLOURS[kind], paths: () => null, value: fmt,
    points: { show: true, size: 11, width: 2, fill: COLOURS[kind], stroke: COLOURS[kind] },
  });
  const series = [
    { label: "Period", value: (u, v) => (v === null ? MISSING : label(v)) },
    { label: "Value", stroke: COLOURS.value, width: 1.5, points: { show: true, size: 5, fill: "#fff" }, value: fmt },
    { label: "Mean", stroke: COLOURS.mean, width: 1.5, points: { show: false }, value: fmt },
    { label: "Upper limit", stroke: COLOURS.limit, width: 1.5, dash: [5, 4], points: { show: false }, value: fmt },
    { label: "Lower limit", stroke: COLOURS.limit, width: 1.5, dash: [5, 4], points: { show: false }, value: fmt },
    markers("improvement", "▲"), markers("concern", "▼"), markers("neutral", "◆"),
  ];
  const data = [xs, pts.map((p) => p.value), pts.map((p) => p.mean), limit("upper_limit"), limit("lower_limit"),
    only("improvement"), only("concern"), only("neutral")];
  if (marked) {
    series.push({ label: "Marked ◯", stroke: COLOURS.marked, paths: () => null, value: fmt,
      points: { show: true, size: 18, width: 3, fill: "transparent", stroke: COLOURS.marked } });
    data.push(pts.map((p) => (p.period === marked ? p.value : null)));
  }
  if (isNum(doc.target)) {
    series.push({ label: "Target", stroke: COLOURS.target, width: 2, dash: [2, 4], points: { show: false }, value: fmt });
    data.push(pts.map(() => doc.target));
  }
  return new UPlot({
    width, height: 320,
    scales: { x: { time: false, range: (u, min, max) => [min - 0.5, max + 0.5] } },
    axes: [{ space: 60, values: (u, v) => v.map(label) },
      { size: axisWidth, values: (u, v) => v.map((x) => fmtValue(x, doc.indicator)) }],
    series,
  }, data, null);
}

function chartSummary(doc) {
  const last = doc.points[doc.points.length - 1];
  const seg = doc.segments[doc.segments.length - 1];
  const ind = doc.indicator;
  return h("dl", { class: "kv", id: "chart-summary" },
    h("dt", {}, "Latest"), h("dd", {}, figure("chart.latest", last.value, fmtValue(last.value, ind)),
      " in " + fmtPeriod(last.period) +
      (doc.aggregated ? ` (${fmtCount(last.sites_reporting)} of ${fmtCount(doc.sites_expected)} sites reporting)` : "")),
    h("dt", {}, "Variation"), h("dd", { "data-field": "chart.variation", "data-value": doc.last_variation },
      badge(doc.last_variation, doc.last_side ? "(" + doc.last_side + ")" : "")),
    h("dt", {}, "Assurance"), h("dd", { "data-field": "chart.assurance", "data-value": doc.assurance },
      badge(doc.assurance), isNum(doc.target) ? " — target " + fmtValue(doc.target, ind) : ""),
    h("dt", {}, "Mean"), h("dd", {}, figure("chart.mean", seg.mean, fmtValue(seg.mean, ind))),
    h("dt", {}, "Process limits"), h("dd", {}, seg.has_limits
      ? [figure("chart.lower_limit", seg.lower_limit, fmtValue(seg.lower_limit, ind)), " to ",
        figure("chart.upper_limit", seg.upper_limit, fmtValue(seg.upper_limit, ind)),
        seg.short_baseline ? " (provisional: fewer than 12 points)" : ""]
      : "not enough points for limits"),
    h("dt", {}, "Direction"), h("dd", {}, directionText(doc.direction)));
}

/* The marked period's point, said in words above the chart. */
function markedPoint(doc, marked) {
  if (!marked) return null;
  const p = doc.points.find((x) => x.period === marked);
  if (!p) return h("div", { class: "callout", id: "marked-point", "data-period": marked }, `No point for ${fmtPeriod(marked)} here.`);
  return h("div", { class: "callout info", id: "marked-point", "data-period": marked },
    h("strong", {}, "Marked: " + fmtPeriod(marked) + " — "), figure("chart.marked", p.value, fmtValue(p.value, doc.indicator)),
    " ", badge(p.variation, p.side ? "(" + p.side + ")" : ""),
    p.has_limits ? ` (limits ${fmtValue(p.lower_limit, doc.indicator)} to ${fmtValue(p.upper_limit, doc.indicator)})` : "");
}

function pointTable(doc, marked) {
  const rows = doc.points.slice().reverse().map((p) => h("tr", { "data-period": p.period, class: p.period === marked ? "marked" : null },
    h("td", {}, fmtPeriod(p.period)),
    h("td", { class: "num" }, figure("point.value", p.value, fmtValue(p.value, doc.indicator))),
    doc.aggregated ? h("td", { class: "num" }, fmtCount(p.sites_reporting)) : null,
    h("td", {}, badge(p.variation, p.side ? "(" + p.side + ")" : "")),
    h("td", {}, fmtSignals(p.signals))));
  return table("point-table", [th("Period"), th("Value", true),
    doc.aggregated ? th("Sites reporting", true) : null, th("Variation"), th("Signals")], rows);
}

export async function indicatorsView(params) {
  const all = indicators();
  if (!all.length) return [h("h1", {}, "Indicators"), h("p", { class: "muted" }, "This programme has no indicators.")];
  const code = params.get("indicator") || all[0].code;
  const root = sites().find((s) => !s.parent);
  const site = params.get("site") || (root ? root.code : sites()[0].code);
  const indSelect = h("select", { id: "indicator-select", name: "indicator" },
    all.map((i) => h("option", { value: i.code, selected: i.code === code }, i.name)));
  const siteSelect = sitePicker(site);
  const change = () => go("indicators", { indicator: indSelect.value, site: siteSelect.value });
  indSelect.addEventListener("change", change);
  siteSelect.addEventListener("change", change);
  const head = [h("h1", {}, "Indicators"),
    h("p", { class: "subtitle" }, "XmR control chart, as NHS \"Making Data Count\" reads it: ▲ blue = special cause of improvement, ▼ orange = concern, ◆ purple = neutral; grey = common cause."),
    h("div", { class: "controls" }, h("label", {}, "Indicator", indSelect), h("label", {}, "Programme, region or site", siteSelect))];
  let doc;
  try {
    doc = await getChart(state.programme, code, site);
  } catch (err) {
    /* unknown_indicator or unknown_site: a stale link; the pickers lead on */
    if (err instanceof ApiError && err.status === 404) return [head, h("div", { class: "callout" }, err.message)];
    throw err;
  }
  const ind = doc.indicator;
  const box = h("section", { class: "chart-box" },
    h("h3", {}, ind.name + " — " + doc.site.name + (ind.unit ? ` (${ind.unit})` : "")),
    h("div", { class: "chart", id: "xmr-chart" }));
  if (!doc.points.length)
    return [head, box, h("p", { class: "muted", id: "no-points" }, "No values reported yet for this indicator here.")];
  const marked = params.get("period");
  whenRendered(() => mountChart(document.getElementById("xmr-chart"), (width) => xmrChart(doc, width, marked)));
  return [head, markedPoint(doc, marked), box, h("h2", {}, "Reading the chart"), chartSummary(doc), h("h2", {}, "Points"),
    pointTable(doc, marked)];
}
