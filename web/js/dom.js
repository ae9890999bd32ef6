/* Building the page: h() makes an element, and the small pieces every view shows (a status
 * badge, a figure the e2e test can read back, a table in its scrolling wrapper). */
import { isNum, statusLabel } from "./format.js";

/* An element: attrs set attributes ("class", "text", "onclick"…; null/false skip one),
 * children are nodes or text (null/false skip one; arrays are flattened). */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") el.className = v;
    else if (k === "text") el.textContent = v;
    else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

/* A status in icon and words; extra follows the words ("(low)", "by admin"). */
export function badge(kind, extra) {
  const s = statusLabel(kind);
  return h("span", { class: "status " + s.kind, "data-status": s.kind },
    h("span", { "aria-hidden": "true" }, s.icon), s.text + (extra ? " " + extra : ""));
}

/* A figure shown as text, with the API's value in data-value ("" when missing) so that the
 * browser test compares what is shown with what the API sent. */
export function figure(field, value, text) {
  return h("span", { "data-field": field, "data-value": isNum(value) ? String(value) : "" }, text);
}

/* A table with its head cells and body rows, in the wrapper that scrolls it on a phone. */
export function table(id, headCells, rows) {
  return h("div", { class: "table-wrap" }, h("table", { id },
    h("thead", {}, h("tr", {}, headCells)), h("tbody", {}, rows)));
}

/* A head cell; numeric columns are right-aligned. */
export function th(text, numeric) {
  return h("th", numeric ? { class: "num" } : {}, text);
}

/* What the progress views show for a programme without a roadmap (404 no_roadmap). */
export function noRoadmap() {
  return h("div", { class: "callout info", "data-state": "no-roadmap" },
    h("strong", {}, "No roadmap yet. "), "Progress is measured against the programme's roadmap: " +
    "load one (scaleupctl roadmap apply FILE) and the figures appear here.");
}
