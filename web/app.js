/* scaleupd dashboard: one page, hash routing, no framework. Reads the daemon's API only;
 * uPlot (window.uPlot, served from /vendor/uplot/) draws the charts. Views whose endpoint the
 * daemon does not have yet say so instead of failing. */
(function () {
  "use strict";

  // Width of a y axis that fits its longest tick label (uPlot calls this with the labels).
  function axisWidth(u, values) {
    if (!values || values.length === 0) return 50;
    const longest = Math.max(...values.map((v) => String(v).length));
    return Math.min(160, 16 + longest * 7.5);
  }

  const TOKEN_KEY = "scaleupd.token";
  const PROGRAMME_KEY = "scaleupd.programme";
  const AUTHOR_KEY = "scaleupd.author";
  const DIMENSIONS = ["coverage", "expansion", "institutionalisation"];
  const DIMENSION_NAMES = {
    coverage: "Coverage",
    expansion: "Expansion",
    institutionalisation: "Institutionalisation",
  };
  const STATUS = {
    on_track: ["✔", "On track"],
    behind: ["▼", "Behind"],
    at_risk: ["⚠", "At risk"],
    no_data: ["–", "No data"],
    reported: ["✔", "Reported"],
    partial: ["◐", "Partial"],
    late: ["✖", "Late"],
    pass: ["✔", "Consistently meets the target"],
    fail: ["✖", "Consistently misses the target"],
    hit_and_miss: ["≈", "Hit and miss: sometimes meets the target"],
    none: ["–", "No target"],
    improvement: ["▲", "Special cause: improvement"],
    concern: ["▼", "Special cause: concern"],
    neutral: ["◆", "Special cause: neutral"],
    common: ["●", "Common cause"],
    firing: ["!", "Firing"],
    pending: ["…", "Pending"],
    resolved: ["✔", "Resolved"],
    acknowledged: ["✓", "Acknowledged"],
    silenced: ["∅", "Silenced"],
  };
  const COLOURS = {
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
  };

  const state = { programmes: [], programme: null, detail: null, charts: [] };

  /* ---------------------------------------------------------------- small helpers */

  class NotAvailable extends Error {}
  class AuthNeeded extends Error {}
  class ApiError extends Error {
    constructor(status, body) {
      const msg = body && body.error ? body.error.message : `HTTP ${status}`;
      super(msg);
      this.status = status;
      this.body = body;
    }
  }

  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "class") el.className = v;
      else if (k === "text") el.textContent = v;
      else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
      else el.setAttribute(k, v === true ? "" : String(v));
    }
    for (const c of children.flat()) {
      if (c === null || c === undefined || c === false) continue;
      el.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return el;
  }

  function token() {
    return localStorage.getItem(TOKEN_KEY) || "";
  }

  async function api(path, options) {
    const opts = options || {};
    const headers = { Accept: "application/json" };
    if (token()) headers.Authorization = "Bearer " + token();
    let body;
    if (opts.body !== undefined) {
      headers["Content-Type"] = "application/json";
      body = JSON.stringify(opts.body);
    }
    const resp = await fetch(path, { method: opts.method || "GET", headers, body, cache: "no-store" });
    let doc = null;
    const text = await resp.text();
    try {
      doc = text ? JSON.parse(text) : null;
    } catch (e) {
      doc = null;
    }
    if (resp.status === 401) {
      askToken(token() ? "The saved token was refused (unknown or revoked). Paste another one."
        : "The API needs a token to show this programme's data.");
      throw new AuthNeeded("a token is needed");
    }
    const code = doc && doc.error ? doc.error.code : "";
    if ((resp.status === 404 && code === "not_found") || resp.status === 405 || resp.status === 501)
      throw new NotAvailable(path);
    if (!resp.ok) throw new ApiError(resp.status, doc);
    return doc;
  }

  function isNum(v) {
    return typeof v === "number" && Number.isFinite(v);
  }

  function fmtNum(v, digits) {
    if (!isNum(v)) return "–";
    return v.toLocaleString("en-GB", { minimumFractionDigits: digits, maximumFractionDigits: digits });
  }

  /* A value with its unit: percentages with one decimal, counts whole, scores with one. */
  function fmtValue(v, indicator) {
    if (!isNum(v)) return "–";
    const unit = (indicator && indicator.unit) || "";
    const type = indicator && indicator.value_type;
    if (type === "percentage" || unit === "%") return fmtNum(v, 1) + " %";
    if (type === "count") return fmtNum(v, Number.isInteger(v) ? 0 : 1) + (unit ? " " + unit : "");
    if (type === "score") return fmtNum(v, 1) + " / 4";
    return fmtNum(v, 2) + (unit ? " " + unit : "");
  }

  /* A dimension's figure: coverage and institutionalisation are fractions shown as %,
     expansion counts sites. */
  function fmtDim(dim, v, what) {
    if (!isNum(v)) return "–";
    if (dim === "expansion") return fmtNum(v, Number.isInteger(v) ? 0 : 1) + " " + (what || "sites");
    return fmtNum(v * 100, 1) + " %";
  }

  function fmtGap(dim, v) {
    if (!isNum(v)) return "–";
    const sign = v > 0 ? "+" : v < 0 ? "−" : "±";
    if (dim === "expansion") return sign + fmtNum(Math.abs(v), 1) + " sites";
    return sign + fmtNum(Math.abs(v) * 100, 1) + " points";
  }

  function parseDate(s) {
    if (!s) return null;
    const d = new Date(/^\d{4}-\d{2}-\d{2}$/.test(s) ? s + "T00:00:00Z" : s);
    return Number.isNaN(d.getTime()) ? null : d;
  }

  function fmtDate(s) {
    const d = parseDate(s);
    if (!d) return s ? String(s) : "–";
    return d.toLocaleDateString("en-GB", { day: "numeric", month: "short", year: "numeric", timeZone: "UTC" });
  }

  function fmtDateTime(s) {
    const d = parseDate(s);
    if (!d) return s ? String(s) : "–";
    return d.toLocaleString("en-GB", {
      day: "numeric", month: "short", year: "numeric", hour: "2-digit", minute: "2-digit",
      timeZone: "UTC", timeZoneName: "short",
    });
  }

  function fmtPeriod(p, periodType) {
    if (!p) return "–";
    if (/^\d{4}-\d{2}$/.test(p)) {
      const d = parseDate(p + "-01");
      return d.toLocaleDateString("en-GB", { month: "short", year: "numeric", timeZone: "UTC" });
    }
    return p + (periodType ? "" : "");
  }

  function badge(kind, extra) {
    const [icon, text] = STATUS[kind] || ["?", kind || "unknown"];
    return h("span", { class: "status " + (kind || "unknown"), "data-status": kind || "unknown" },
      h("span", { "aria-hidden": "true" }, icon), text + (extra ? " " + extra : ""));
  }

  function unavailable(what, why) {
    return h("div", { class: "unavailable", "data-state": "unavailable" },
      h("strong", {}, what + " is not available yet."), " ",
      why || "This daemon does not serve that part of the API yet; the view will fill in once it does.");
  }

  function errorBox(err) {
    if (err instanceof NotAvailable) return unavailable("This view");
    if (err instanceof AuthNeeded)
      return h("div", { class: "callout" }, "A token is needed to read this programme. ",
        h("button", { type: "button", class: "ghost", onclick: () => askToken() }, "Enter a token"));
    return h("div", { class: "callout error", role: "alert" }, "Could not load: " + err.message);
  }

  function figure(field, value, text) {
    return h("span", { "data-field": field, "data-value": isNum(value) ? String(value) : "" }, text);
  }

  function destroyCharts() {
    for (const c of state.charts) c.destroy();
    state.charts = [];
  }

  function slugPath() {
    return "/api/v1/programmes/" + encodeURIComponent(state.programme);
  }

  function sites() {
    return (state.detail && state.detail.sites) || [];
  }

  function siteName(code) {
    const s = sites().find((x) => x.code === code);
    return s ? s.name : code;
  }

  /* ---------------------------------------------------------------- token */

  function askToken(reason) {
    const dialog = document.getElementById("token-dialog");
    if (reason) document.getElementById("token-reason").textContent = reason;
    document.getElementById("token-input").value = "";
    if (!dialog.open) dialog.showModal();
  }

  function setupToken() {
    const dialog = document.getElementById("token-dialog");
    document.getElementById("token-button").addEventListener("click", () =>
      askToken("Paste a read token, or an admin token to acknowledge and silence alerts."));
    document.getElementById("token-form").addEventListener("submit", (ev) => {
      ev.preventDefault();
      const value = document.getElementById("token-input").value.trim();
      if (value) localStorage.setItem(TOKEN_KEY, value);
      dialog.close();
      start();
    });
    document.getElementById("token-clear").addEventListener("click", () => {
      localStorage.removeItem(TOKEN_KEY);
      dialog.close();
      start();
    });
  }

  /* ---------------------------------------------------------------- routing */

  function route() {
    const hash = location.hash.replace(/^#\/?/, "");
    const [path, query] = hash.split("?");
    const name = path.split("/")[0] || "overview";
    return { name, params: new URLSearchParams(query || "") };
  }

  function go(name, params) {
    const q = params ? new URLSearchParams(params).toString() : "";
    location.hash = "#/" + name + (q ? "?" + q : "");
  }

  const VIEWS = {};

  async function render() {
    const { name, params } = route();
    const view = VIEWS[name] ? name : "overview";
    for (const a of document.querySelectorAll("nav a")) {
      if (a.dataset.view === view) a.setAttribute("aria-current", "page");
      else a.removeAttribute("aria-current");
    }
    const main = document.getElementById("view");
    destroyCharts();
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
      const content = await VIEWS[view](params);
      main.replaceChildren(...[content].flat(Infinity));
      for (const fn of main._after || []) fn();
      main._after = [];
    } catch (err) {
      main.replaceChildren(errorBox(err));
      if (!(err instanceof NotAvailable || err instanceof AuthNeeded)) console.error(err);
    }
    main.dataset.ready = "true";
  }

  /* Runs fn once the view's nodes are in the document (charts need their width). */
  function afterRender(fn) {
    const main = document.getElementById("view");
    main._after = main._after || [];
    main._after.push(fn);
  }

  /* ---------------------------------------------------------------- progress helpers */

  /* Accepts {dimensions:{coverage:{…}}} or {dimensions:[{dimension:"coverage",…}]}. */
  function dimensionsOf(doc) {
    const d = doc && (doc.dimensions || doc);
    const out = {};
    if (Array.isArray(d)) {
      for (const x of d) if (x && (x.dimension || x.name)) out[x.dimension || x.name] = x;
    } else if (d && typeof d === "object") {
      for (const k of DIMENSIONS) if (d[k]) out[k] = d[k];
    }
    /* expansion keeps its site and region counts apart: the sites carry the headline */
    const e = out.expansion;
    if (e && e.sites && typeof e.sites === "object" && !("actual" in e))
      out.expansion = { ...e.sites, status: e.status, progress: e.progress ?? e.sites.progress,
        period: e.period ?? e.sites.period, regions_measure: e.regions };
    return out;
  }

  function forecastText(f, basis) {
    if (f === null || f === undefined)
      return basis && basis.kind === "insufficient_data" ? "not enough data yet" : "not at this rate";
    if (typeof f === "string") return /^\d{4}-\d{2}-\d{2}/.test(f) ? fmtDate(f) : f.replace(/_/g, " ");
    if (typeof f === "object") {
      if (f.date) return fmtDate(f.date);
      if (f.reachable === false || f.status) return (f.status || "not at this rate").replace(/_/g, " ");
    }
    return String(f);
  }

  const STATUS_RANK = { at_risk: 3, behind: 2, no_data: 1, on_track: 0 };

  /* The region that holds the programme back most: worst status, then the largest shortfall
     against plan relative to the plan. */
  function laggingRegion(regions) {
    let worst = null;
    for (const r of regions) {
      const dims = dimensionsOf(r);
      let rank = -1, short = -Infinity, dimName = null;
      for (const k of DIMENSIONS) {
        const d = dims[k];
        if (!d) continue;
        const rr = STATUS_RANK[d.status] ?? 0;
        const s = isNum(d.planned) && d.planned > 0 && isNum(d.actual) ? (d.planned - d.actual) / d.planned : 0;
        if (rr > rank || (rr === rank && s > short)) [rank, short, dimName] = [rr, s, k];
      }
      if (rank < 0) continue;
      if (!worst || rank > worst.rank || (rank === worst.rank && short > worst.short))
        worst = { region: r, rank, short, dimension: dimName };
    }
    return worst;
  }

  function regionsOf(doc) {
    if (!doc) return [];
    const r = doc.regions || doc.by_region || [];
    return Array.isArray(r) ? r : Object.entries(r).map(([code, v]) => ({ code, ...v }));
  }

  /* ---------------------------------------------------------------- Overview */

  /* Progress needs a roadmap; without one (or without the endpoint) say which. */
  function noProgress(err, what) {
    if (err instanceof ApiError && err.body && err.body.error && err.body.error.code === "no_roadmap")
      return h("div", { class: "callout info", "data-state": "no-roadmap" },
        h("strong", {}, "No roadmap yet. "), "Progress is measured against the programme's roadmap: " +
        "load one (scaleupctl roadmap apply FILE) and the figures appear here.");
    return unavailable(what, err instanceof ApiError ? err.message + "." : undefined);
  }

  function dimensionCard(dim, d) {
    const progress = isNum(d.progress) ? Math.max(0, Math.min(1, d.progress)) : null;
    return h("section", { class: "card", "data-dimension": dim },
      h("h3", {}, DIMENSION_NAMES[dim], badge(d.status || "no_data")),
      h("div", { class: "figure" },
        figure(dim + ".actual", d.actual, fmtDim(dim, d.actual)),
        h("span", { class: "of" }, " actual, planned ",
          figure(dim + ".planned", d.planned, fmtDim(dim, d.planned)))),
      h("div", { class: "bar", role: "img", "aria-label": "share of the way to the final target: " +
          (progress === null ? "unknown" : fmtNum(progress * 100, 0) + " %") },
        h("span", { style: "width:" + (progress === null ? 0 : progress * 100) + "%" })),
      h("dl", { class: "kv" },
        h("dt", {}, "Progress"), h("dd", {}, figure(dim + ".progress", d.progress,
          isNum(d.progress) ? fmtNum(d.progress * 100, 1) + " % of the way to the final target" : "–")),
        h("dt", {}, "Gap to plan"), h("dd", {}, figure(dim + ".gap", d.gap, fmtGap(dim, d.gap))),
        h("dt", {}, "Forecast"), h("dd", { "data-field": dim + ".forecast" },
          d.forecast === "reached" ? "final target reached" : "final target " +
          (typeof d.forecast === "string" && /^\d/.test(d.forecast) ? "reached on " : "") +
          forecastText(d.forecast, d.forecast_basis)),
        d.regions_measure ? h("dt", {}, "Regions") : null,
        d.regions_measure ? h("dd", {}, figure(dim + ".regions", d.regions_measure.actual,
          fmtNum(d.regions_measure.actual, 0)), " with an active site, " +
          fmtNum(d.regions_measure.planned, 1) + " planned") : null,
        Array.isArray(d.items) && d.items.length ? h("dt", {}, "Items") : null,
        Array.isArray(d.items) && d.items.length ? h("dd", {}, h("ul", { class: "items" }, d.items.map((it) =>
          h("li", {}, `${it.name || it.key}: score ${fmtNum(it.score, 0)} of ${fmtNum(it.target, 0)}`,
            it.overdue ? [" ", badge("at_risk", "(overdue)")] : it.due ? h("span", { class: "muted" }, ` · due ${fmtDate(it.due)}`) : null)))) : null,
        d.as_of || d.period ? h("dt", {}, "As of") : null,
        d.as_of || d.period ? h("dd", {}, d.period ? "data of " + fmtPeriod(d.period) : fmtDate(d.as_of)) : null));
  }

  function regionTable(regions) {
    const head = h("tr", {}, h("th", {}, "Region"),
      DIMENSIONS.map((k) => h("th", {}, DIMENSION_NAMES[k])));
    const rows = regions.map((r) => {
      const dims = dimensionsOf(r);
      return h("tr", { "data-region": r.code || r.site || r.name },
        h("th", { scope: "row" }, r.name || siteName(r.code)),
        DIMENSIONS.map((k) => {
          const d = dims[k];
          if (!d) return h("td", { class: "muted" }, k === "institutionalisation" ? "set nationally (see above)" : "–");
          if (!isNum(d.actual) && !("active_sites" in d))
            return h("td", {}, "no data yet; " + fmtDim(k, d.planned) + " planned ", h("br"), badge(d.status || "no_data"));
          if (k === "expansion" && "active_sites" in d)
            return h("td", {}, figure(`${r.code}.expansion.active_sites`, d.active_sites, String(d.active_sites)),
              ` of ${d.adopted_sites} adopted sites active `, h("br"), badge(d.status || "no_data"));
          return h("td", {},
            figure(`${r.code}.${k}.actual`, d.actual, fmtDim(k, d.actual)), " of ",
            fmtDim(k, d.planned), " planned ", h("br"), badge(d.status || "no_data"));
        }));
    });
    return h("div", { class: "table-wrap" }, h("table", { id: "region-table" }, h("thead", {}, head), h("tbody", {}, rows)));
  }

  function membershipSummary() {
    const practices = sites().filter((s) => s.status || s.adopted);
    const by = {};
    for (const s of practices) {
      const region = s.parent || "—";
      by[region] = by[region] || { active: 0, planned: 0, withdrawn: 0 };
      by[region][s.status || "active"] = (by[region][s.status || "active"] || 0) + 1;
    }
    return h("div", { class: "table-wrap" }, h("table", { id: "membership-table" },
      h("thead", {}, h("tr", {}, h("th", {}, "Region"), h("th", { class: "num" }, "Active sites"),
        h("th", { class: "num" }, "Planned"), h("th", { class: "num" }, "Withdrawn"))),
      h("tbody", {}, Object.entries(by).map(([code, c]) => h("tr", {},
        h("th", { scope: "row" }, siteName(code)), h("td", { class: "num" }, c.active),
        h("td", { class: "num" }, c.planned), h("td", { class: "num" }, c.withdrawn))))));
  }

  VIEWS.overview = async function () {
    const title = [h("h1", {}, state.detail.name || state.programme),
      h("p", { class: "subtitle" }, "Where the programme stands on the three dimensions of the scale-up cube, against its roadmap.")];
    let progress, byRegion;
    try {
      [progress, byRegion] = await Promise.all([api(slugPath() + "/progress"),
        api(slugPath() + "/progress?by=region").catch((e) => (e instanceof NotAvailable ? null : Promise.reject(e)))]);
    } catch (err) {
      if (!(err instanceof NotAvailable) && !(err instanceof ApiError && err.status === 404)) throw err;
      return [title, noProgress(err, "Scale-up progress"),
        h("h2", {}, "Sites taking part"), membershipSummary()];
    }
    const dims = dimensionsOf(progress);
    const cards = h("div", { class: "cards", id: "dimension-cards" },
      DIMENSIONS.map((k) => dimensionCard(k, dims[k] || { status: "no_data" })));
    const regions = regionsOf(byRegion || progress);
    let lag = laggingRegion(regions);
    const api_lag = (byRegion || progress).lagging_region;
    if (api_lag && api_lag.code) {
      const region = regions.find((r) => r.code === api_lag.code) || api_lag;
      lag = { region, dimension: api_lag.by === "share_active" ? "expansion" : "coverage" };
    }
    const asOf = progress.at || progress.as_of || progress.date;
    const out = [title];
    if (asOf) out.push(h("p", { class: "muted small" }, "As of ", h("span", { "data-field": "at" }, fmtDate(asOf)),
      progress.roadmap ? `, against roadmap version ${progress.roadmap.version}` +
        (progress.roadmap.label ? ` (${progress.roadmap.label})` : "") : ""));
    out.push(cards);
    if (lag) {
      const d = dimensionsOf(lag.region)[lag.dimension] || {};
      const text = lag.dimension === "expansion" && "active_sites" in d
        ? `Expansion: ${d.active_sites} of ${d.adopted_sites} adopted sites active `
        : DIMENSION_NAMES[lag.dimension] + " " + fmtDim(lag.dimension, d.actual) + " against " +
          fmtDim(lag.dimension, d.planned) + " planned ";
      out.push(h("div", { class: "callout", id: "lagging-region", "data-region": lag.region.code },
        h("strong", {}, (d.status === "on_track" ? "Closest to falling behind: "
          : "Lags most: ") + (lag.region.name || siteName(lag.region.code))), " — ",
        text, badge(d.status || "no_data")));
    }
    out.push(h("h2", {}, "By region"));
    out.push(regions.length ? regionTable(regions) : h("p", { class: "muted" }, "No per-region figures."));
    return out;
  };

  /* ---------------------------------------------------------------- Trajectory */

  function toTime(s) {
    const d = parseDate(s);
    return d ? d.getTime() / 1000 : null;
  }

  /* Normalises the history into {dim: [{t, actual, planned}]}; accepts a list of snapshots
     with per-dimension members, or per-dimension lists. */
  function historyOf(doc) {
    const out = {};
    for (const k of DIMENSIONS) out[k] = [];
    const list = doc && (doc.history || doc.snapshots || doc.points);
    if (Array.isArray(list)) {
      for (const snap of list) {
        const t = toTime(snap.date || snap.at || snap.period_end || snap.period_start);
        const dims = dimensionsOf(snap);
        for (const k of DIMENSIONS)
          if (dims[k] && t !== null) out[k].push({ t, actual: dims[k].actual, planned: dims[k].planned });
      }
    } else {
      const dims = (doc && doc.dimensions) || doc || {};
      for (const k of DIMENSIONS)
        for (const p of Array.isArray(dims[k]) ? dims[k] : (dims[k] && dims[k].points) || []) {
          const t = toTime(p.as_of || p.date || p.at || p.period_end || p.period_start ||
            (p.period && /^\d{4}-\d{2}$/.test(p.period) ? p.period + "-01" : null));
          if (t !== null) out[k].push({ t, actual: p.actual, planned: p.planned });
        }
    }
    return out;
  }

  function milestonesOf(roadmapDoc, dim, history) {
    const plans = history && history.dimensions && history.dimensions[dim] && history.dimensions[dim].plans;
    if (Array.isArray(plans) && plans.length) {
      const plan = plans[plans.length - 1];
      const ms = (dim === "expansion" ? plan.sites && plan.sites.milestones : plan.milestones) || [];
      return ms.map((m) => ({ t: toTime(m.date), target: m.target, date: m.date }));
    }
    const rm = roadmapDoc && (roadmapDoc.roadmap || roadmapDoc);
    const d = rm && rm[dim];
    if (!d) return [];
    const ms = dim === "expansion" ? (d.sites && d.sites.milestones) || [] : d.milestones || [];
    return ms.map((m) => ({ t: toTime(m.date), target: m.target, date: m.date }));
  }

  function trajectoryChart(dim, points, milestones, width) {
    const xs = [...new Set([...points.map((p) => p.t), ...milestones.map((m) => m.t)])].sort((a, b) => a - b);
    const byT = new Map(points.map((p) => [p.t, p]));
    const msByT = new Map(milestones.map((m) => [m.t, m.target]));
    const scale = dim === "expansion" ? 1 : 100;
    const col = (f) => xs.map((t) => { const p = byT.get(t); return p && isNum(p[f]) ? p[f] * scale : null; });
    /* the plan is linear between milestones, so the milestones carry it beyond the last snapshot */
    const planned = xs.map((t) => {
      const p = byT.get(t);
      if (p && isNum(p.planned)) return p.planned * scale;
      return msByT.has(t) && t > points[points.length - 1].t ? msByT.get(t) * scale : null;
    });
    const data = [xs, col("actual"), planned, xs.map((t) => (msByT.has(t) ? msByT.get(t) * scale : null))];
    const unit = dim === "expansion" ? " sites" : " %";
    return new uPlot({
      width, height: 260,
      scales: { x: { time: true } },
      axes: [{}, { values: (u, v) => v.map((x) => x + unit), size: axisWidth }],
      series: [
        { label: "Date", value: (u, v) => (v === null ? "–" : fmtDate(new Date(v * 1000).toISOString())) },
        { label: "Actual", stroke: COLOURS.actual, width: 2, spanGaps: true, points: { show: true, size: 5 },
          value: (u, v) => (v === null ? "–" : fmtNum(v, 1) + unit) },
        { label: "Planned", stroke: COLOURS.planned, width: 2, dash: [6, 4], spanGaps: true, points: { show: false },
          value: (u, v) => (v === null ? "–" : fmtNum(v, 1) + unit) },
        { label: "Milestone ◆", stroke: COLOURS.milestone, paths: () => null,
          points: { show: true, size: 11, fill: COLOURS.milestone, stroke: COLOURS.milestone },
          value: (u, v) => (v === null ? "–" : fmtNum(v, 1) + unit) },
      ],
    }, data, null);
  }

  VIEWS.trajectory = async function () {
    const title = [h("h1", {}, "Trajectory"),
      h("p", { class: "subtitle" }, "Actual against planned over time for each dimension; ◆ marks the roadmap's milestones.")];
    let history;
    try {
      history = await api(slugPath() + "/progress/history");
    } catch (err) {
      if (err instanceof NotAvailable || (err instanceof ApiError && err.status === 404))
        return [title, noProgress(err, "The progress history")];
      throw err;
    }
    const roadmap = await api(slugPath() + "/roadmap").catch(() => null);
    const series = historyOf(history);
    const grid = h("div", { class: "chart-grid" });
    for (const k of DIMENSIONS) {
      const box = h("section", { class: "chart-box", "data-dimension": k },
        h("h3", {}, DIMENSION_NAMES[k]),
        h("div", { class: "chart", id: "trajectory-" + k }),
        h("p", { class: "legend-note" }, series[k].length + " snapshots"));
      grid.append(box);
      afterRender(() => {
        const el = document.getElementById("trajectory-" + k);
        if (!series[k].length) {
          el.replaceWith(h("p", { class: "muted" }, "No snapshots yet."));
          return;
        }
        const chart = trajectoryChart(k, series[k], milestonesOf(roadmap, k, history), Math.max(300, el.clientWidth));
        el.append(chart.root);
        state.charts.push(chart);
      });
    }
    return [title, grid];
  };

  /* ---------------------------------------------------------------- Indicators (XmR) */

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

  function xmrChart(doc, width) {
    const pts = doc.points;
    /* one slot per reported period (a missing period is absent, never a zero), labelled by period */
    const xs = pts.map((p, i) => i);
    const label = (i) => (Number.isInteger(i) && pts[i] ? fmtPeriod(pts[i].period) : "");
    const only = (kind) => pts.map((p) => (p.variation === kind ? p.value : null));
    const lim = (f) => pts.map((p) => (p.has_limits ? p[f] : null));
    const target = isNum(doc.target) ? pts.map(() => doc.target) : null;
    const fmt = (u, v) => (v === null || v === undefined ? "–" : fmtValue(v, doc.indicator));
    const markers = (kind, shape) => ({
      label: STATUS[kind][1].replace("Special cause: ", "") + " " + shape,
      stroke: COLOURS[kind], paths: () => null, value: fmt,
      points: { show: true, size: 11, width: 2, fill: COLOURS[kind], stroke: COLOURS[kind] },
    });
    const series = [
      { label: "Period", value: (u, v) => (v === null ? "–" : label(v)) },
      { label: "Value", stroke: COLOURS.value, width: 1.5, points: { show: true, size: 5, fill: "#fff" }, value: fmt },
      { label: "Mean", stroke: COLOURS.mean, width: 1.5, points: { show: false }, value: fmt },
      { label: "Upper limit", stroke: COLOURS.limit, width: 1.5, dash: [5, 4], points: { show: false }, value: fmt },
      { label: "Lower limit", stroke: COLOURS.limit, width: 1.5, dash: [5, 4], points: { show: false }, value: fmt },
      markers("improvement", "▲"), markers("concern", "▼"), markers("neutral", "◆"),
    ];
    const data = [xs, pts.map((p) => p.value), pts.map((p) => p.mean), lim("upper_limit"), lim("lower_limit"),
      only("improvement"), only("concern"), only("neutral")];
    if (target) {
      series.push({ label: "Target", stroke: COLOURS.target, width: 2, dash: [2, 4], points: { show: false }, value: fmt });
      data.push(target);
    }
    return new uPlot({
      width, height: 320,
      scales: { x: { time: false, range: (u, min, max) => [min - 0.5, max + 0.5] } },
      axes: [{ space: 60, values: (u, v) => v.map(label) }, { size: axisWidth, values: (u, v) => v.map((x) => fmtValue(x, doc.indicator)) }],
      series,
    }, data, null);
  }

  function chartSummary(doc) {
    const pts = doc.points;
    const last = pts[pts.length - 1];
    const seg = doc.segments && doc.segments[doc.segments.length - 1];
    const ind = doc.indicator;
    const dl = h("dl", { class: "kv", id: "chart-summary" },
      h("dt", {}, "Latest"), h("dd", {}, figure("chart.latest", last.value, fmtValue(last.value, ind)),
        " in " + fmtPeriod(last.period) + (doc.aggregated ? ` (${last.sites_reporting} of ${doc.sites_expected ?? "?"} sites reporting)` : "")),
      h("dt", {}, "Variation"), h("dd", { "data-field": "chart.variation", "data-value": doc.last_variation },
        badge(doc.last_variation, doc.last_side ? "(" + doc.last_side + ")" : "")),
      h("dt", {}, "Assurance"), h("dd", { "data-field": "chart.assurance", "data-value": doc.assurance },
        badge(doc.assurance), isNum(doc.target) ? " — target " + fmtValue(doc.target, ind) : ""),
      h("dt", {}, "Mean"), h("dd", {}, figure("chart.mean", seg && seg.mean, fmtValue(seg && seg.mean, ind))),
      h("dt", {}, "Process limits"), h("dd", {}, seg && seg.has_limits
        ? [figure("chart.lower_limit", seg.lower_limit, fmtValue(seg.lower_limit, ind)), " to ",
          figure("chart.upper_limit", seg.upper_limit, fmtValue(seg.upper_limit, ind)),
          seg.short_baseline ? " (provisional: fewer than 12 points)" : ""]
        : "not enough points for limits"),
      h("dt", {}, "Direction"), h("dd", {}, doc.direction === "up" ? "higher is better"
        : doc.direction === "down" ? "lower is better" : "neither way is better"));
    return dl;
  }

  function pointTable(doc) {
    const rows = doc.points.slice().reverse().map((p) => h("tr", { "data-period": p.period },
      h("td", {}, fmtPeriod(p.period)),
      h("td", { class: "num" }, figure("point.value", p.value, fmtValue(p.value, doc.indicator))),
      doc.aggregated ? h("td", { class: "num" }, p.sites_reporting) : null,
      h("td", {}, badge(p.variation, p.side ? "(" + p.side + ")" : "")),
      h("td", {}, (p.signals || []).map((s) => s.replace(/_/g, " ")).join(", ") || "–")));
    return h("div", { class: "table-wrap" }, h("table", { id: "point-table" },
      h("thead", {}, h("tr", {}, h("th", {}, "Period"), h("th", { class: "num" }, "Value"),
        doc.aggregated ? h("th", { class: "num" }, "Sites reporting") : null,
        h("th", {}, "Variation"), h("th", {}, "Signals"))),
      h("tbody", {}, rows)));
  }

  VIEWS.indicators = async function (params) {
    const indicators = state.detail.indicators || [];
    if (!indicators.length) return [h("h1", {}, "Indicators"), h("p", { class: "muted" }, "This programme has no indicators.")];
    const code = params.get("indicator") || indicators[0].code;
    const root = sites().find((s) => !s.parent);
    const site = params.get("site") || (root ? root.code : sites()[0].code);
    const indSelect = h("select", { id: "indicator-select", name: "indicator" },
      indicators.map((i) => h("option", { value: i.code, selected: i.code === code }, i.name)));
    const siteSelect = sitePicker(site);
    const change = () => go("indicators", { indicator: indSelect.value, site: siteSelect.value });
    indSelect.addEventListener("change", change);
    siteSelect.addEventListener("change", change);
    const head = [h("h1", {}, "Indicators"),
      h("p", { class: "subtitle" }, "XmR control chart, as NHS \"Making Data Count\" reads it: ▲ blue = special cause of improvement, ▼ orange = concern, ◆ purple = neutral; grey = common cause."),
      h("div", { class: "controls" }, h("label", {}, "Indicator", indSelect), h("label", {}, "Programme, region or site", siteSelect))];
    let doc;
    try {
      doc = await api(`${slugPath()}/chart?indicator=${encodeURIComponent(code)}&site=${encodeURIComponent(site)}`);
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) return [head, h("div", { class: "callout" }, err.message)];
      throw err;
    }
    const ind = doc.indicator;
    const box = h("section", { class: "chart-box" },
      h("h3", {}, ind.name + " — " + (doc.site.name || site) + (ind.unit ? ` (${ind.unit})` : "")),
      h("div", { class: "chart", id: "xmr-chart" }));
    if (!doc.points.length)
      return [head, box, h("p", { class: "muted", id: "no-points" }, "No values reported yet for this indicator here.")];
    afterRender(() => {
      const el = document.getElementById("xmr-chart");
      const chart = xmrChart(doc, Math.max(300, el.clientWidth));
      el.append(chart.root);
      state.charts.push(chart);
    });
    return [head, box, h("h2", {}, "Reading the chart"), chartSummary(doc), h("h2", {}, "Points"), pointTable(doc)];
  };

  /* ---------------------------------------------------------------- Feeds */

  function pct(v) {
    return isNum(v) ? fmtNum(v * 100, 1) + " %" : "–";
  }

  VIEWS.feeds = async function () {
    const head = [h("h1", {}, "Feeds"), h("p", { class: "subtitle" }, "Which sites reported for the latest due period, which are late, and completeness by region.")];
    let doc;
    try {
      doc = await api(slugPath() + "/feeds");
    } catch (err) {
      if (err instanceof NotAvailable) return [head, unavailable("The feeds status")];
      throw err;
    }
    const indRows = doc.indicators.map((i) => h("tr", { "data-indicator": i.code },
      h("td", {}, i.name), h("td", {}, fmtPeriod(period(i), i.period_type) + " (" + fmtDate(i.period_start) + " – " + fmtDate(i.period_end) + ")"),
      h("td", {}, fmtDate(i.due_on)),
      h("td", { class: "num" }, i.reported_by_sites
        ? [figure(i.code + ".reported", i.reported, String(i.reported)), " of ", figure(i.code + ".expected", i.expected, String(i.expected)), " sites"]
        : [i.reported > 0 ? "reported" : "not reported", " (programme level)"])));
    const regionRows = doc.regions.map((r) => h("tr", { "data-region": r.code || "" },
      h("th", { scope: "row" }, r.name || "No region"),
      h("td", { class: "num" }, figure((r.code || "none") + ".completeness", r.completeness, pct(r.completeness))),
      h("td", {}, h("div", { class: "bar", role: "img", "aria-label": "completeness " + pct(r.completeness) },
        h("span", { style: "width:" + (isNum(r.completeness) ? r.completeness * 100 : 0) + "%" }))),
      h("td", { class: "num" }, `${r.values_reported} of ${r.values_expected} values`),
      h("td", { class: "num" }, `${r.sites_complete} of ${r.sites_expected} sites complete`)));
    const siteRows = doc.sites.map((s) => h("tr", { "data-site": s.code },
      h("th", { scope: "row" }, s.name, h("br"), h("span", { class: "muted small" }, s.code)),
      h("td", {}, s.region_name || "–"),
      h("td", { "data-field": s.code + ".status", "data-value": s.status }, badge(s.status)),
      h("td", { class: "num" }, `${s.reported} of ${s.expected}`),
      h("td", {}, s.late.length ? s.late.join(", ") : "–"),
      h("td", {}, s.last_received_at ? fmtDateTime(s.last_received_at) : "–")));
    const late = doc.sites.filter((s) => s.status !== "reported").length;
    return [head,
      h("p", { class: "muted small" }, `Today ${fmtDate(doc.today)}; data is due ${doc.grace_days} days after the end of its period.`),
      h("div", { class: late ? "callout" : "callout info", id: "feeds-summary" },
        late ? `${late} of ${doc.sites.length} sites have not sent everything for the latest due period.`
          : `All ${doc.sites.length} sites sent everything for the latest due period.`),
      h("h2", {}, "Completeness by region"),
      h("div", { class: "table-wrap" }, h("table", { id: "feeds-regions" },
        h("thead", {}, h("tr", {}, h("th", {}, "Region"), h("th", { class: "num" }, "Completeness"), h("th", {}, ""),
          h("th", { class: "num" }, "Values"), h("th", { class: "num" }, "Sites"))), h("tbody", {}, regionRows))),
      h("h2", {}, "Sites"),
      h("div", { class: "table-wrap" }, h("table", { id: "feeds-sites" },
        h("thead", {}, h("tr", {}, h("th", {}, "Site"), h("th", {}, "Region"), h("th", {}, "Status"),
          h("th", { class: "num" }, "Indicators in"), h("th", {}, "Missing"), h("th", {}, "Last received"))),
        h("tbody", {}, siteRows))),
      h("h2", {}, "Latest due period by indicator"),
      h("div", { class: "table-wrap" }, h("table", { id: "feeds-indicators" },
        h("thead", {}, h("tr", {}, h("th", {}, "Indicator"), h("th", {}, "Period"), h("th", {}, "Due"), h("th", { class: "num" }, "Reported"))),
        h("tbody", {}, indRows)))];
  };

  function period(i) {
    const s = i.period_start || "";
    if (i.period_type === "monthly") return s.slice(0, 7);
    if (i.period_type === "quarterly") return s.slice(0, 4) + "Q" + (Math.floor((Number(s.slice(5, 7)) - 1) / 3) + 1);
    if (i.period_type === "yearly") return s.slice(0, 4);
    return "week of " + fmtDate(s);
  }

  /* ---------------------------------------------------------------- Alerts */

  function alertWhat(a) {
    const what = a.summary || a.rule || a.kind || "alert";
    const ind = (state.detail.indicators || []).find((i) => i.code === a.indicator);
    const where = [ind ? ind.name : a.indicator, a.site ? siteName(a.site) : null, a.rule ? "rule " + a.rule : null,
      a.period ? "period " + fmtDate(a.period) : null].filter(Boolean).join(" — ");
    return [typeof what === "object" ? JSON.stringify(what) : what, where];
  }

  function alertValue(a) {
    const ind = (state.detail.indicators || []).find((i) => i.code === a.indicator);
    if (!isNum(a.value) || /late|completeness|no_data/.test(a.kind || "") || a.state === "no_data") return "–";
    const limits = isNum(a.lower_limit) && isNum(a.upper_limit)
      ? ` (limits ${fmtValue(a.lower_limit, ind)} – ${fmtValue(a.upper_limit, ind)})` : "";
    return fmtValue(a.value, ind) + limits;
  }

  function alertSince(a) {
    return a.since || a.active_since || a.started_at || a.fired_at || a.starts_at || a.created_at;
  }

  function author() {
    return localStorage.getItem(AUTHOR_KEY) || "dashboard";
  }

  function alertActions(a, refresh) {
    const msg = h("span", { class: "small muted", role: "status" });
    const acked = Boolean(a.acked_at || a.acknowledged || a.acknowledged_at);
    const ack = h("button", { type: "button", "data-action": "ack", disabled: acked ? true : null,
      onclick: async () => {
        ack.disabled = true;
        try {
          await api(`/api/v1/alerts/${encodeURIComponent(a.id)}/ack`, { method: "POST", body: { author: author() } });
          msg.textContent = "Acknowledged.";
          refresh();
        } catch (err) {
          ack.disabled = false;
          msg.textContent = err instanceof ApiError && err.status === 403 ? "This token may not acknowledge: use an admin token." : "Could not acknowledge: " + err.message;
        }
      } }, acked ? "Acknowledged" : "Acknowledge");
    const hours = h("select", { "aria-label": "silence for" }, [1, 4, 24, 72, 168].map((n) => h("option", { value: n }, n < 24 ? n + " h" : n / 24 + " d")));
    const reason = h("input", { type: "text", placeholder: "reason", "aria-label": "reason", size: 14 });
    const silence = h("button", { type: "button", class: "ghost", "data-action": "silence", onclick: async () => {
      const now = new Date();
      const body = {
        programme: a.programme || state.programme,
        matchers: Object.fromEntries(Object.entries({ indicator: a.indicator, site: a.site, rule: a.rule }).filter(([, v]) => typeof v === "string" && v !== "")),
        starts_at: now.toISOString(), ends_at: new Date(now.getTime() + Number(hours.value) * 3600e3).toISOString(),
        author: author(), reason: reason.value || "silenced from the dashboard",
      };
      try {
        await api("/api/v1/silences", { method: "POST", body });
        msg.textContent = "Silenced.";
        refresh();
      } catch (err) {
        msg.textContent = err instanceof ApiError && err.status === 403 ? "This token may not silence: use an admin token." : "Could not silence: " + err.message;
      }
    } }, "Silence");
    return h("div", { class: "inline-form" }, ack, hours, reason, silence, msg);
  }

  function listOf(doc, key) {
    if (Array.isArray(doc)) return doc;
    return (doc && (doc[key] || doc.items)) || [];
  }

  VIEWS.alerts = async function () {
    const head = [h("h1", {}, "Alerts"), h("p", { class: "subtitle" }, "Open alerts with since when; acknowledge or silence them here (an admin token is needed for that). Resolved alerts of the last 30 days below.")];
    let doc;
    try {
      doc = await api("/api/v1/alerts?programme=" + encodeURIComponent(state.programme));
    } catch (err) {
      if (err instanceof NotAvailable) return [head, unavailable("Alerting")];
      throw err;
    }
    const alerts = listOf(doc, "alerts").filter((a) => !a.programme || a.programme === state.programme);
    const open = alerts.filter((a) => a.state !== "resolved" && a.state !== "inactive");
    const cutoff = Date.now() - 30 * 86400e3;
    const resolved = alerts.filter((a) => a.state === "resolved" && (parseDate(a.resolved_at || a.ended_at || a.updated_at)?.getTime() ?? Date.now()) >= cutoff);
    const refresh = () => render();
    const openRows = open.map((a) => {
      const [what, where] = alertWhat(a);
      return h("tr", { "data-alert": a.id, "data-state": a.state },
        h("td", {}, badge(a.state), a.acked_at || a.acknowledged || a.acknowledged_at
          ? [" ", badge("acknowledged", a.acked_by ? "by " + a.acked_by : "")] : null,
          a.silenced ? [" ", badge("silenced")] : null),
        h("td", {}, h("strong", {}, what), h("br"), h("span", { class: "muted small" }, where)),
        h("td", {}, fmtDateTime(alertSince(a))),
        h("td", {}, alertValue(a)),
        h("td", {}, alertActions(a, refresh)));
    });
    const resolvedRows = resolved.map((a) => {
      const [what, where] = alertWhat(a);
      return h("tr", { "data-alert": a.id }, h("td", {}, badge("resolved")), h("td", {}, what, h("br"), h("span", { class: "muted small" }, where)),
        h("td", {}, fmtDateTime(alertSince(a))), h("td", {}, fmtDateTime(a.resolved_at || a.ended_at || a.updated_at)));
    });
    let silences = null;
    try {
      silences = listOf(await api("/api/v1/silences"), "silences");
    } catch (err) {
      silences = null;
    }
    const silenceRows = (silences || []).map((s) => h("tr", { "data-silence": s.id },
      h("td", {}, JSON.stringify(s.matchers || {})), h("td", {}, fmtDateTime(s.starts_at)), h("td", {}, fmtDateTime(s.ends_at)),
      h("td", {}, (s.author || "–") + (s.reason ? ": " + s.reason : "")),
      h("td", {}, h("button", { type: "button", class: "ghost", onclick: async () => {
        try { await api("/api/v1/silences/" + encodeURIComponent(s.id), { method: "DELETE" }); refresh(); } catch (e) { alert("Could not expire: " + e.message); }
      } }, "Expire"))));
    const authorInput = h("input", { type: "text", value: author(), "aria-label": "your name", size: 16,
      onchange: (e) => localStorage.setItem(AUTHOR_KEY, e.target.value.trim() || "dashboard") });
    return [head,
      h("p", { class: "small muted" }, h("label", {}, "Acting as ", authorInput)),
      h("h2", {}, `Open (${open.length})`),
      open.length ? h("div", { class: "table-wrap" }, h("table", { id: "open-alerts" },
        h("thead", {}, h("tr", {}, h("th", {}, "State"), h("th", {}, "What"), h("th", {}, "Since"), h("th", {}, "Value"), h("th", {}, "Action"))),
        h("tbody", {}, openRows))) : h("p", { class: "muted", id: "no-open-alerts" }, "No open alerts."),
      h("h2", {}, "Silences"),
      silences === null ? unavailable("Silences") : silences.length ? h("div", { class: "table-wrap" }, h("table", { id: "silences" },
        h("thead", {}, h("tr", {}, h("th", {}, "Matchers"), h("th", {}, "From"), h("th", {}, "Until"), h("th", {}, "Who, why"), h("th", {}, ""))),
        h("tbody", {}, silenceRows))) : h("p", { class: "muted" }, "No active silences."),
      h("h2", {}, `Resolved in the last 30 days (${resolved.length})`),
      resolved.length ? h("div", { class: "table-wrap" }, h("table", { id: "resolved-alerts" },
        h("thead", {}, h("tr", {}, h("th", {}, "State"), h("th", {}, "What"), h("th", {}, "Since"), h("th", {}, "Resolved"))),
        h("tbody", {}, resolvedRows))) : h("p", { class: "muted" }, "None.")];
  };

  /* ---------------------------------------------------------------- start-up */

  async function loadProgramme(slug) {
    state.programme = slug;
    state.detail = slug ? await api("/api/v1/programmes/" + encodeURIComponent(slug)) : null;
  }

  async function start() {
    const select = document.getElementById("programme");
    const foot = document.getElementById("foot-status");
    foot.textContent = token() ? "Using a saved token." : "No token saved.";
    try {
      const list = await api("/api/v1/programmes");
      state.programmes = list.programmes || [];
      select.replaceChildren(...state.programmes.map((p) => h("option", { value: p.slug }, p.name)));
      const saved = localStorage.getItem(PROGRAMME_KEY);
      const slug = state.programmes.some((p) => p.slug === saved) ? saved : (state.programmes[0] || {}).slug;
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

  document.addEventListener("DOMContentLoaded", () => {
    setupToken();
    document.getElementById("programme").addEventListener("change", async (ev) => {
      localStorage.setItem(PROGRAMME_KEY, ev.target.value);
      await loadProgramme(ev.target.value);
      render();
    });
    window.addEventListener("hashchange", render);
    let resizeTimer = null;
    window.addEventListener("resize", () => {
      clearTimeout(resizeTimer);
      resizeTimer = setTimeout(() => {
        for (const c of state.charts) {
          const parent = c.root.parentElement;
          if (parent) c.setSize({ width: Math.max(300, parent.clientWidth), height: c.height });
        }
      }, 150);
    });
    start();
  });
})();
