/* The trajectory: for each dimension, the monthly snapshots' actual against planned over
 * time, with the milestones of the latest roadmap version. */
import { getProgressHistory, isNoRoadmap } from "../api.js";
import { COLOURS, UPlot, axisWidth, mountChart } from "../charts.js";
import { h, noRoadmap } from "../dom.js";
import { DIMENSION_NAMES, DIMENSIONS, MISSING, fmtDate, fmtNum, isNum, toTime } from "../format.js";
import { whenRendered } from "../router.js";
import { state } from "../state.js";

/* A dimension's snapshots as {t, actual, planned}, t the day the snapshot speaks for. */
function pointsOf(history, dim) {
  return history.dimensions[dim].points.map((p) => ({ t: toTime(p.as_of), actual: p.actual, planned: p.planned }));
}

/* The milestones of the latest roadmap version that plans the dimension. */
function milestonesOf(history, dim) {
  const plans = history.dimensions[dim].plans;
  if (!plans.length) return [];
  const plan = plans[plans.length - 1];
  const milestones = dim === "expansion" ? plan.sites.milestones : plan.milestones;
  return milestones.map((m) => ({ t: toTime(m.date), target: m.target }));
}

function trajectoryChart(dim, points, milestones, width) {
  const xs = [...new Set([...points.map((p) => p.t), ...milestones.map((m) => m.t)])].sort((a, b) => a - b);
  const byT = new Map(points.map((p) => [p.t, p]));
  const msByT = new Map(milestones.map((m) => [m.t, m.target]));
  const scale = dim === "expansion" ? 1 : 100;
  const last = points[points.length - 1].t;
  const actual = xs.map((t) => { const p = byT.get(t); return p && isNum(p.actual) ? p.actual * scale : null; });
  /* the plan is linear between milestones, so the milestones carry it beyond the last snapshot */
  const planned = xs.map((t) => {
    const p = byT.get(t);
    if (p && isNum(p.planned)) return p.planned * scale;
    return msByT.has(t) && t > last ? msByT.get(t) * scale : null;
  });
  const marks = xs.map((t) => (msByT.has(t) ? msByT.get(t) * scale : null));
  const unit = dim === "expansion" ? " sites" : " %";
  const shown = (u, v) => (v === null ? MISSING : fmtNum(v, 1) + unit);
  return new UPlot({
    width, height: 260,
    scales: { x: { time: true } },
    axes: [{}, { values: (u, v) => v.map((x) => x + unit), size: axisWidth }],
    series: [
      { label: "Date", value: (u, v) => (v === null ? MISSING : fmtDate(new Date(v * 1000).toISOString())) },
      { label: "Actual", stroke: COLOURS.actual, width: 2, spanGaps: true, points: { show: true, size: 5 }, value: shown },
      { label: "Planned", stroke: COLOURS.planned, width: 2, dash: [6, 4], spanGaps: true, points: { show: false }, value: shown },
      { label: "Milestone ◆", stroke: COLOURS.milestone, paths: () => null,
        points: { show: true, size: 11, fill: COLOURS.milestone, stroke: COLOURS.milestone }, value: shown },
    ],
  }, [xs, actual, planned, marks], null);
}

export async function trajectory() {
  const title = [h("h1", {}, "Trajectory"),
    h("p", { class: "subtitle" }, "Actual against planned over time for each dimension; ◆ marks the roadmap's milestones.")];
  let history;
  try {
    history = await getProgressHistory(state.programme);
  } catch (err) {
    if (!isNoRoadmap(err)) throw err;
    return [title, noRoadmap()];
  }
  const grid = h("div", { class: "chart-grid" });
  for (const k of DIMENSIONS) {
    const points = pointsOf(history, k);
    grid.append(h("section", { class: "chart-box", "data-dimension": k },
      h("h3", {}, DIMENSION_NAMES[k]),
      h("div", { class: "chart", id: "trajectory-" + k }),
      h("p", { class: "legend-note" }, points.length + " snapshots")));
    whenRendered(() => {
      const el = document.getElementById("trajectory-" + k);
      if (!points.length) {
        el.replaceWith(h("p", { class: "muted" }, "No snapshots yet."));
        return;
      }
      mountChart(el, (width) => trajectoryChart(k, points, milestonesOf(history, k), width));
    });
  }
  return [title, grid];
}
