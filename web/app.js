/* scaleupd dashboard, the entry module: wires the token dialog, the programme picker and
 * the hash router, then loads the programmes and renders the view. Reads the daemon's API
 * only (js/api.js); one module per view under js/views/, formatters in js/format.js. */
import { getProgramme, listProgrammes } from "./js/api.js";
import { resizeCharts } from "./js/charts.js";
import { h } from "./js/dom.js";
import { errorBox, render, setViews } from "./js/router.js";
import { state } from "./js/state.js";
import { savedToken, setupTokenDialog } from "./js/token.js";
import { alerts } from "./js/views/alerts.js";
import { chartView } from "./js/views/chart.js";
import { feeds } from "./js/views/feeds.js";
import { indicatorsView } from "./js/views/indicators.js";
import { overview } from "./js/views/overview.js";
import { trajectory } from "./js/views/trajectory.js";

const PROGRAMME_KEY = "scaleupd.programme";

setViews({ overview, trajectory, indicators: indicatorsView, feeds, alerts, chart: chartView });

async function loadProgramme(slug) {
  state.programme = slug;
  state.detail = slug ? await getProgramme(slug) : null;
}

/* Loads the programmes this token may read, picks the saved one (else the first), renders. */
async function start() {
  const select = document.getElementById("programme");
  document.getElementById("foot-status").textContent = savedToken() ? "Using a saved token." : "No token saved.";
  try {
    state.programmes = await listProgrammes();
    select.replaceChildren(...state.programmes.map((p) => h("option", { value: p.slug }, p.name)));
    const saved = localStorage.getItem(PROGRAMME_KEY);
    const slug = state.programmes.some((p) => p.slug === saved) ? saved
      : state.programmes.length ? state.programmes[0].slug : null;
    select.value = slug || "";
    await loadProgramme(slug);
  } catch (err) {
    const main = document.getElementById("view");
    main.replaceChildren(h("h1", {}, "scaleupd"), errorBox(err));
    main.dataset.ready = "true";
    return;
  }
  await render();
}

function setup() {
  setupTokenDialog(start);
  document.getElementById("programme").addEventListener("change", async (ev) => {
    localStorage.setItem(PROGRAMME_KEY, ev.target.value);
    await loadProgramme(ev.target.value);
    render();
  });
  window.addEventListener("hashchange", render);
  let resizeTimer = null;
  window.addEventListener("resize", () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(resizeCharts, 150);
  });
  start();
}

/* a module runs after the document is parsed, so the elements are there */
setup();
