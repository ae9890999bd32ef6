/* Hash routing ("#/feeds", "#/indicators?indicator=X&site=Y"): renders the view the hash
 * names into <main id="view">, marks the nav link, and says when the view is ready
 * (main[data-ready="true"], which the browser test waits for). */
import { AuthNeeded, getProgramme } from "./api.js";
import { destroyCharts } from "./charts.js";
import { h } from "./dom.js";
import { state } from "./state.js";
import { askToken } from "./token.js";

const DEFAULT_VIEW = "overview";
let views = {};
let afterRender = [];

/* Sets the views: name -> async function (URLSearchParams) -> nodes. */
export function setViews(table) {
  views = table;
}

function route() {
  const hash = location.hash.replace(/^#\/?/, "");
  const [path, query] = hash.split("?");
  return { name: path.split("/")[0] || DEFAULT_VIEW, params: new URLSearchParams(query || "") };
}

/* Goes to view name with the given query parameters. */
export function go(name, params) {
  const q = params ? new URLSearchParams(params).toString() : "";
  location.hash = "#/" + name + (q ? "?" + q : "");
}

/* Runs fn once the view's nodes are in the document (charts need their width). */
export function whenRendered(fn) {
  afterRender.push(fn);
}

/* What a view shows when it could not load. */
export function errorBox(err) {
  if (err instanceof AuthNeeded)
    return h("div", { class: "callout" }, "A token is needed to read this programme. ",
      h("button", { type: "button", class: "ghost", onclick: () => askToken() }, "Enter a token"));
  return h("div", { class: "callout error", role: "alert" }, "Could not load: " + err.message);
}

/* Switches the page to programme slug (a link's ?programme=) when this token may read it;
 * false when it may not. */
export async function useProgramme(slug) {
  if (!slug || slug === state.programme) return true;
  if (!state.programmes.some((p) => p.slug === slug)) return false;
  const detail = await getProgramme(slug);
  state.programme = slug;
  state.detail = detail;
  const select = document.getElementById("programme");
  if (select) select.value = slug;
  return true;
}

/* Renders the view of the current hash, in the programme it names, if any (links from
 * e-mails, digests and webhooks say which): once switched to, the programme is dropped from
 * the hash, so that the programme picker decides again afterwards. A programme this token may
 * not read stays in the hash for the view to say so. */
export async function render() {
  const { name, params } = route();
  const slug = params.get("programme");
  try {
    if (slug && (await useProgramme(slug))) {
      params.delete("programme");
      const rest = params.toString();
      history.replaceState(null, "", "#/" + location.hash.replace(/^#\/?/, "").split("?")[0] + (rest ? "?" + rest : ""));
    }
  } catch (err) {
    console.error(err);
  }
  const view = Object.hasOwn(views, name) ? name : DEFAULT_VIEW;
  for (const a of document.querySelectorAll("nav a")) {
    if (a.dataset.view === view) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  const main = document.getElementById("view");
  destroyCharts();
  afterRender = [];
  main.dataset.view = view;
  main.dataset.ready = "false";
  main.replaceChildren(h("p", { class: "muted" }, "Loading…"));
  if (!state.programme) {
    main.replaceChildren(h("h1", {}, "No programme"),
      h("p", { class: "muted" }, "The daemon has no programme yet, or the token may not read it."));
    main.dataset.ready = "true";
    return;
  }
  try {
    const content = await views[view](params);
    /* null/false skip a piece, as in h() (else replaceChildren would print "null") */
    main.replaceChildren(...[content].flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false));
    const pending = afterRender;
    afterRender = [];
    for (const fn of pending) fn();
  } catch (err) {
    main.replaceChildren(errorBox(err));
    if (!(err instanceof AuthNeeded)) console.error(err);
  }
  main.dataset.ready = "true";
}
