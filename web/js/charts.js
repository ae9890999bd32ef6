/* What the chart views share: uPlot (loaded as a classic script from /vendor/uplot/), the
 * colours of the series, the y axis width, and the charts on the page (destroyed when the
 * view changes, resized with the window). */

/* uPlot's constructor: the page loads uPlot.iife.min.js before the modules. */
export const UPlot = window.uPlot;

export const COLOURS = {
  value: "#3b4a5a",
  mean: "#2f2f2f",
  limit: "#9aa5b1",
  target: "#c2185b",
  improvement: "#289de0",
  concern: "#e46c0a",
  neutral: "#7b5ea7",
  actual: "#005eb8",
  planned: "#8a94a3",
  milestone: "#c2185b",
  marked: "#c0161a",
};

/* Width of a y axis that fits its longest tick label (uPlot calls this with the labels). */
export function axisWidth(u, values) {
  if (!values || values.length === 0) return 50;
  const longest = Math.max(...values.map((v) => String(v).length));
  return Math.min(160, 16 + longest * 7.5);
}

let charts = [];

/* Draws a chart into el, as wide as el (at least 300 px), and keeps it for resizing. */
export function mountChart(el, make) {
  const chart = make(Math.max(300, el.clientWidth));
  el.append(chart.root);
  charts.push(chart);
}

export function destroyCharts() {
  for (const c of charts) c.destroy();
  charts = [];
}

export function resizeCharts() {
  for (const c of charts) {
    const parent = c.root.parentElement;
    if (parent) c.setSize({ width: Math.max(300, parent.clientWidth), height: c.height });
  }
}
