// The dashboard in headless Chromium (Debian's /usr/bin/chromium driven by playwright-core
// from web/node_modules). Run by test_dashboard.py with the daemon's URL and tokens in the
// environment; opens every view, checks that the figures shown equal the API's, acknowledges
// and silences an alert and an incident from the page when the alerts API exists, and saves
// screenshots. Exit 0 = pass.
import { createRequire } from "node:module";
import path from "node:path";
import assert from "node:assert/strict";

const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run through test_dashboard.py`);
  return v;
};
const URL_BASE = env("DASHBOARD_URL");
const ADMIN = env("DASHBOARD_TOKEN");
const READER = env("DASHBOARD_READ_TOKEN");
const SLUG = env("DASHBOARD_PROGRAMME");
const SHOTS = env("SCREENSHOT_DIR");
const require = createRequire(path.join(env("SCALEUPD_WEB_DIR"), "package.json"));
const { chromium } = require("playwright-core");

const results = { passed: 0, failed: 0, skipped: 0 };
const pageErrors = [];

async function api(p, token = READER, options = {}) {
  const resp = await fetch(URL_BASE + p, {
    method: options.method || "GET",
    headers: { Authorization: "Bearer " + token, ...(options.body ? { "Content-Type": "application/json" } : {}) },
    body: options.body ? JSON.stringify(options.body) : undefined,
  });
  const text = await resp.text();
  return { status: resp.status, body: text ? JSON.parse(text) : null };
}

async function step(name, fn) {
  try {
    const outcome = await fn();
    if (outcome === "skip") {
      results.skipped++;
    } else {
      results.passed++;
      console.log(`ok    ${name}`);
    }
  } catch (err) {
    results.failed++;
    console.log(`FAIL  ${name}\n      ${(err && err.stack) || err}`);
  }
}

function skip(name, why) {
  console.log(`skip  ${name}: ${why}`);
  return "skip";
}

async function openView(page, hash) {
  await page.evaluate((h) => { location.hash = h; }, hash);
  const view = hash.replace(/^#\//, "").split("?")[0];
  await page.waitForSelector(`main[data-view="${view}"][data-ready="true"]`, { timeout: 30000 });
  // charts are drawn right after the view's nodes are in place
  await page.waitForTimeout(100);
  const text = await page.locator("main").innerText();
  assert.ok(!/\[object |undefined|NaN/.test(text), `the ${view} view shows a broken value: ${text.slice(0, 400)}`);
}

async function shot(page, name) {
  await page.screenshot({ path: path.join(SHOTS, name + ".png"), fullPage: true });
}

async function field(page, name) {
  const el = page.locator(`[data-field="${name}"]`).first();
  return { value: await el.getAttribute("data-value"), text: (await el.textContent()).trim() };
}

const unavailable = (page) => page.locator('main [data-state="unavailable"]').count();
const close = (a, b) => Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b));

async function main() {
  const browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
      "--disable-component-update", "--disable-sync", "--no-first-run"],
  });
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, deviceScaleFactor: 1 });
  const page = await context.newPage();
  page.on("pageerror", (err) => pageErrors.push(String(err)));
  page.on("console", (msg) => { if (msg.type() === "error" && !/status of 40[134]/.test(msg.text())) pageErrors.push(msg.text()); });
  // nothing but the daemon: any other host is a failure
  await page.route("**/*", (route) => {
    const u = new URL(route.request().url());
    if (u.origin !== URL_BASE) {
      pageErrors.push("request outside the daemon: " + u.href);
      return route.abort();
    }
    return route.continue();
  });

  await step("without a token the page asks for one, and a pasted token is kept", async () => {
    await page.goto(URL_BASE + "/#/overview");
    await page.waitForSelector("#token-dialog[open]", { timeout: 30000 });
    // a read refused asks for a token to read, not for an admin token
    assert.equal(await page.innerText("#token-reason"), "The API needs a token to show this programme's data.");
    await page.fill("#token-input", READER);
    await page.click("#token-save");
    await page.waitForSelector('main[data-view="overview"][data-ready="true"]', { timeout: 30000 });
    assert.equal(await page.evaluate(() => localStorage.getItem("scaleupd.token")), READER);
    const options = await page.locator("#programme option").allTextContents();
    const list = await api("/api/v1/programmes");
    assert.deepEqual(options, list.body.programmes.map((p) => p.name));
  });

  await step("overview shows the progress the API reports", async () => {
    await openView(page, "#/overview");
    await shot(page, "overview");
    const progress = await api(`/api/v1/programmes/${SLUG}/progress`);
    if (progress.status === 404 && progress.body.error.code === "not_found") {
      assert.ok(await unavailable(page), "the overview says progress is not available");
      return skip("overview figures", "GET …/progress is not served yet; the view says so");
    }
    assert.equal(progress.status, 200, JSON.stringify(progress.body));
    const byRegion = await api(`/api/v1/programmes/${SLUG}/progress?by=region`);
    const lag = byRegion.body.lagging_region;
    if (lag) assert.equal(await page.locator("#lagging-region").getAttribute("data-region"), lag.code);
    const regionRows = await page.locator("#region-table tbody tr").count();
    assert.equal(regionRows, byRegion.body.regions.length);
    for (const r of byRegion.body.regions)
      if (r.coverage && typeof r.coverage.actual === "number") {
        const shown = await field(page, `${r.code}.coverage.actual`);
        assert.ok(close(Number(shown.value), r.coverage.actual), `${r.code} coverage`);
      }
    const dims = progress.body.dimensions;
    for (const k of ["coverage", "expansion", "institutionalisation"]) {
      const top = Array.isArray(dims) ? dims.find((x) => (x.dimension || x.name) === k) : dims[k];
      // expansion's headline is its site count
      const d = k === "expansion" && top.sites ? { ...top.sites, status: top.status } : top;
      for (const f of ["actual", "planned"]) {
        const shown = await field(page, `${k}.${f}`);
        if (typeof d[f] === "number") assert.ok(close(Number(shown.value), d[f]), `${k}.${f}: ${shown.value} vs ${d[f]}`);
        else assert.equal(shown.value, "", `${k}.${f} has no value`);
      }
      const status = await page.locator(`[data-dimension="${k}"] .status`).first().getAttribute("data-status");
      assert.equal(status, d.status || "no_data");
    }
  });

  await step("overview on a tablet", async () => {
    await page.setViewportSize({ width: 820, height: 1180 });
    await openView(page, "#/overview");
    await shot(page, "overview-tablet");
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 1, `the page scrolls sideways by ${overflow}px on a tablet`);
    await page.setViewportSize({ width: 1280, height: 900 });
  });

  await step("trajectory draws actual against planned, or says it is not available", async () => {
    await openView(page, "#/trajectory");
    await shot(page, "trajectory");
    const history = await api(`/api/v1/programmes/${SLUG}/progress/history`);
    if (history.status === 404 && history.body.error.code === "not_found") {
      assert.ok(await unavailable(page));
      return skip("trajectory charts", "GET …/progress/history is not served yet; the view says so");
    }
    assert.equal(history.status, 200);
    assert.ok(await page.locator("main .chart-box").count() === 3);
  });

  await step("indicators: the XmR chart of a practice shows the API's figures", async () => {
    const q = "indicator=bp_controlled_pct&site=BE-VLG-GP001";
    await openView(page, "#/indicators?" + q);
    await page.waitForSelector("#xmr-chart canvas", { timeout: 30000 });
    await shot(page, "indicators");
    const chart = (await api(`/api/v1/programmes/${SLUG}/chart?${q}`)).body;
    const last = chart.points[chart.points.length - 1];
    const seg = chart.segments[chart.segments.length - 1];
    const pairs = [["chart.latest", last.value], ["chart.mean", seg.mean],
      ["chart.lower_limit", seg.lower_limit], ["chart.upper_limit", seg.upper_limit]];
    for (const [name, expected] of pairs) {
      const shown = await field(page, name);
      assert.ok(close(Number(shown.value), expected), `${name}: ${shown.value} vs ${expected}`);
      assert.ok(shown.text.includes(expected.toFixed(1)), `${name} reads "${shown.text}", not ${expected.toFixed(1)} %`);
      assert.ok(shown.text.endsWith("%"), `${name} carries its unit`);
    }
    assert.equal((await field(page, "chart.variation")).value, chart.last_variation);
    assert.equal((await field(page, "chart.assurance")).value, chart.assurance);
    const variationText = await page.locator('[data-field="chart.variation"]').textContent();
    assert.match(variationText, /concern/i, "the variation is said in words, not only colour");
    const rows = await page.locator("#point-table tbody tr").count();
    assert.equal(rows, chart.points.length);
    const concernRows = await page.locator('#point-table tbody [data-status="concern"]').count();
    assert.equal(concernRows, chart.points.filter((p) => p.variation === "concern").length);
    assert.equal(await page.locator("#indicator-select").inputValue(), "bp_controlled_pct");
  });

  await step("indicators: picking a region redraws the chart for it", async () => {
    await page.selectOption("#site-select", "BE-WAL");
    await page.waitForFunction(() => location.hash.includes("site=BE-WAL") &&
      document.querySelector('main[data-ready="true"] #xmr-chart canvas'), null, { timeout: 30000 });
    const chart = (await api(`/api/v1/programmes/${SLUG}/chart?indicator=bp_controlled_pct&site=BE-WAL`)).body;
    const shown = await field(page, "chart.latest");
    assert.ok(close(Number(shown.value), chart.points[chart.points.length - 1].value));
    await shot(page, "indicators-region");
  });

  await step("feeds: the region summary, then the sites late first, equal the API's; filters reload the list", async () => {
    await openView(page, "#/feeds");
    await shot(page, "feeds");
    const feeds = await api(`/api/v1/programmes/${SLUG}/feeds`);
    assert.equal(feeds.status, 200);
    for (const r of feeds.body.regions) {
      const shown = await field(page, `${r.code || "none"}.completeness`);
      assert.ok(close(Number(shown.value), r.completeness), `${r.code}: ${shown.value} vs ${r.completeness}`);
      assert.equal(shown.text, (r.completeness * 100).toFixed(1) + " %");
      assert.equal(Number((await field(page, `${r.code || "none"}.sites_late`)).value), r.sites_late);
    }
    assert.equal(Number((await field(page, "totals.sites_late")).value), feeds.body.totals.sites_late);
    const sites = await api(`/api/v1/programmes/${SLUG}/feeds/sites?limit=100`);
    assert.equal(sites.status, 200);
    const rows = page.locator("#feeds-sites tbody tr");
    assert.equal(await rows.count(), sites.body.length);
    for (const [i, s] of sites.body.entries()) {
      assert.equal(await rows.nth(i).getAttribute("data-site"), s.code, "the API's order, late first");
      const shown = await field(page, `${s.code}.status`);
      assert.equal(shown.value, s.status, s.code);
      assert.match(shown.text, /Reported|Partial|Late/, "status in words");
    }
    assert.equal(sites.body[0].status, "late", "the demo has a late practice, shown first");
    for (const m of sites.body[0].missing) assert.ok((await rows.nth(0).innerText()).includes(m.name), m.name);
    assert.ok(await page.locator("#feeds-more").isHidden(), "no next page for four sites");
    await page.locator("#feeds-late-only").check();
    await page.waitForSelector('main[data-view="feeds"][data-ready="true"]');
    const late = await api(`/api/v1/programmes/${SLUG}/feeds/sites?status=late`);
    assert.equal(await rows.count(), late.body.length);
    assert.ok(late.body.length < sites.body.length, "late only leaves the others out");
    await page.locator("#feeds-late-only").uncheck();
    await page.waitForSelector('main[data-view="feeds"][data-ready="true"]');
    const region = feeds.body.regions.find((r) => r.code).code;
    await page.locator("#feeds-region").selectOption(region);
    await page.waitForSelector('main[data-view="feeds"][data-ready="true"]');
    const inRegion = await api(`/api/v1/programmes/${SLUG}/feeds/sites?region=${region}`);
    assert.equal(await rows.count(), inRegion.body.length);
    await shot(page, "feeds-region");
  });

  await step("alerts: acknowledge an open alert from the page", async () => {
    await openView(page, "#/alerts");
    await shot(page, "alerts");
    // a piece a view leaves out is not printed as "null" (the lists without a next page)
    assert.ok(!/^\s*(null|undefined)\s*$/m.test(await page.innerText("main")), "no null printed");
    const alerts = await api(`/api/v1/alerts?programme=${SLUG}`);
    if (alerts.status === 404 && alerts.body.error.code === "not_found") {
      assert.ok(await unavailable(page), "the alerts view says alerting is not available");
      return skip("acknowledging an alert", "GET /api/v1/alerts is not served yet; the view says so");
    }
    assert.equal(alerts.status, 200);
    const list = Array.isArray(alerts.body) ? alerts.body : alerts.body.alerts;
    const open = list.filter((a) => a.state !== "resolved" && a.state !== "inactive" && !a.acked_at);
    if (!open.length) return skip("acknowledging an alert", "the demo data raised no open alert");
    const id = String(open[0].id);
    // acknowledging needs an admin token, and the page says so: without a token (401) and with
    // the read token (403) the token dialog asks for an admin token, and so does the row
    const ack = `tr[data-alert="${id}"] button[data-action="ack"]`;
    const said = `tr[data-alert="${id}"] [role="status"]`;
    for (const [token, reason] of [[null, /^Acknowledging and silencing alerts need an admin token/],
      [READER, /^This token may not do this: acknowledging and silencing alerts need an admin token/]]) {
      await page.evaluate((t) => {
        document.getElementById("token-dialog").close();
        for (const x of document.querySelectorAll("main [role=status]")) x.textContent = "";
        if (t) localStorage.setItem("scaleupd.token", t);
        else localStorage.removeItem("scaleupd.token");
      }, token);
      await page.click(ack);
      await page.waitForSelector("#token-dialog[open]", { timeout: 30000 });
      assert.match(await page.innerText("#token-reason"), reason, token ? "with the read token" : "without a token");
      await page.waitForFunction((sel) => document.querySelector(sel)?.textContent !== "", said, { timeout: 30000 });
      assert.equal(await page.innerText(said), "Only an admin token may acknowledge: paste one in the token dialog.");
    }
    assert.equal((await api(`/api/v1/alerts/${id}`)).body.acked_at, null, "the refused acknowledgement left the alert");
    await shot(page, "alerts-admin-token-needed");
    // paste the admin token in the dialog that asks for it, as a manager would. Saving it
    // reloads the programmes and then renders the view again, and until that render starts the
    // view drawn with the read token is still main[data-ready="true"]: mark its nodes, and
    // wait for a ready view without them (typing into the page it replaces would be lost)
    await page.evaluate(() => document.querySelector("main").firstElementChild?.setAttribute("data-stale", ""));
    await page.fill("#token-input", ADMIN);
    await page.click("#token-save");
    await page.waitForFunction(() => {
      const main = document.querySelector('main[data-view="alerts"][data-ready="true"]');
      return main !== null && main.querySelector("[data-stale]") === null;
    }, null, { timeout: 30000 });
    await page.waitForLoadState("networkidle");
    // nobody typed a name: the field is empty, and an acknowledgement records the token's name
    const name = 'main[data-ready="true"] input[aria-label="your name"]';
    assert.equal(await page.inputValue(name), "");
    assert.match(await page.getAttribute(name, "placeholder"), /token's name/);
    if (open.length > 1) {
      const other = String(open[1].id);
      await page.click(`tr[data-alert="${other}"] button[data-action="ack"]`);
      await page.waitForSelector(`main[data-ready="true"] tr[data-alert="${other}"] [data-status="acknowledged"]`,
        { timeout: 30000 });
      const byToken = (await api(`/api/v1/alerts/${other}`)).body;
      const admins = (await api("/api/v1/tokens", ADMIN)).body.tokens.filter((t) => t.scope === "admin").map((t) => t.name);
      assert.ok(byToken.acked_at, "the API shows the alert acknowledged");
      assert.equal(byToken.acked_by, byToken.ack_token, "who acknowledged is the token's name");
      assert.ok(admins.includes(byToken.acked_by), `${byToken.acked_by} is the admin token's name`);
      await page.waitForLoadState("networkidle");
    } else {
      skip("acknowledging with no name typed", "the demo data raised a single open alert");
    }
    // who acknowledges is the name the page acts as, with the comment typed
    // a render still under way may replace the inputs: type until the page holds both values
    const reason = `tr[data-alert="${id}"] input[aria-label="reason"]`;
    for (let i = 0; i < 40; i++) {
      await page.fill('input[aria-label="your name"]', "Dr. Peeters");
      await page.fill(reason, "called the practice");
      const held = await page.evaluate((sel) => localStorage.getItem("scaleupd.author") === "Dr. Peeters" &&
        document.querySelector('main[data-ready="true"] input[aria-label="your name"]')?.value === "Dr. Peeters" &&
        document.querySelector(sel)?.value === "called the practice", reason);
      if (held) break;
      await page.waitForTimeout(250);
    }
    await page.click(`tr[data-alert="${id}"] button[data-action="ack"]`);
    // the view reloads after the acknowledgement and marks the alert
    await page.waitForSelector(`main[data-ready="true"] tr[data-alert="${id}"] [data-status="acknowledged"]`,
      { timeout: 30000 });
    const after = await api(`/api/v1/alerts?programme=${SLUG}`, ADMIN);
    const list2 = Array.isArray(after.body) ? after.body : after.body.alerts;
    const acked = list2.find((a) => String(a.id) === id);
    assert.ok(acked.acked_at, "the API shows the alert acknowledged");
    assert.equal(acked.acked_by, "Dr. Peeters");
    assert.equal(acked.ack_comment, "called the practice");
    assert.match(await page.innerText(`tr[data-alert="${id}"] [data-status="acknowledged"]`),
      /by Dr\. Peeters: called the practice/);
    assert.ok(await page.locator(`tr[data-alert="${id}"] button[data-action="ack"]`).isDisabled());
    // times are the programme's (Europe/Brussels), as its e-mails write them, not UTC
    const row = await page.innerText(`tr[data-alert="${id}"]`);
    assert.match(row, /\d{2}:\d{2} (CET|CEST)\b/, row);
    assert.doesNotMatch(row, /\bUTC\b/, row);
    await shot(page, "alerts-acknowledged");
  });

  await step("alerts: silence an alert from the page", async () => {
    const alerts = await api(`/api/v1/alerts?programme=${SLUG}`);
    if (alerts.status === 404 && alerts.body.error.code === "not_found")
      return skip("silencing an alert", "the alerts API is not served yet");
    const open = alerts.body.alerts.filter((a) => a.state !== "resolved" && a.state !== "inactive");
    if (!open.length) return skip("silencing an alert", "the demo data raised no open alert");
    const target = open[open.length - 1];
    const row = `tr[data-alert="${target.id}"]`;
    await page.fill(`${row} input[aria-label="reason"]`, "practice on holiday, checked by phone");
    await page.selectOption(`${row} select[aria-label="silence for"]`, "24");
    await page.click(`${row} button[data-action="silence"]`);
    await page.waitForSelector('main[data-ready="true"] #silences tbody tr', { timeout: 30000 });
    const silences = (await api("/api/v1/silences")).body.silences;
    const made = silences.find((x) => x.reason === "practice on holiday, checked by phone");
    assert.ok(made, "the API lists the silence made on the page");
    assert.deepEqual(made.matchers.find((m) => m.name === "rule"),
      { name: "rule", value: target.rule, isRegex: false, isEqual: true });
    // the alert now says which silence mutes it
    await page.waitForSelector(`main[data-ready="true"] ${row} [data-status="silenced"]`, { timeout: 30000 });
    const shown = await api(`/api/v1/alerts/${target.id}`);
    assert.ok(shown.body.silenced_by.includes(made.id), "the API names the silence");
    const hours = (Date.parse(made.ends_at) - Date.parse(made.starts_at)) / 3600e3;
    assert.ok(Math.abs(hours - 24) < 0.1, `silenced for ${hours} h, not 24 h`);
    await shot(page, "alerts-silenced");
  });

  await step("alerts: incidents group the open alerts by cause and are acknowledged as one", async () => {
    // the fixture's coverage is behind its roadmap: wait (up to a minute) for that trajectory
    // alert too, which waits for the progress snapshots, so that a programme-wide incident is
    // checked
    for (let i = 0; i < 120; i++) {
      const firing = (await api(`/api/v1/alerts?programme=${SLUG}&state=firing`)).body.alerts || [];
      if (firing.some((a) => a.kind === "trajectory")) break;
      await new Promise((done) => setTimeout(done, 500));
    }
    const incidents = await api(`/api/v1/incidents?programme=${SLUG}&state=open`);
    if (incidents.status === 404 && incidents.body.error.code === "not_found")
      return skip("incidents", "GET /api/v1/incidents is not served yet");
    assert.equal(incidents.status, 200);
    const list = incidents.body.incidents;
    const alerts = (await api(`/api/v1/alerts?programme=${SLUG}&state=firing`)).body.alerts;
    if (!alerts.length) return skip("incidents", "the demo data raised no firing alert");
    // every firing alert is a member of exactly one open incident, the one it names
    for (const a of alerts) {
      const holders = list.filter((n) => n.members.some((m) => m.id === a.id));
      assert.equal(holders.length, 1, `alert ${a.id} is in one incident`);
      assert.equal(holders[0].id, a.incident_id, `alert ${a.id} names its incident`);
    }
    // late feeds: one incident per practice, listing each of its late indicators
    const late = alerts.filter((a) => a.kind === "late_feed");
    const practices = new Set(late.map((a) => a.site));
    const lateIncidents = list.filter((n) => n.kind === "late_feed");
    assert.equal(lateIncidents.length, practices.size, "one late-feed incident per late practice");
    for (const n of lateIncidents) {
      assert.ok(n.period && n.due, "a late feed carries its period and due date");
      assert.ok(n.members.every((m) => m.site === n.site && m.value === null), "no value for missing data");
    }
    await openView(page, "#/overview"); /* the alerts view again, drawn from the lists above */
    await openView(page, "#/alerts");
    let programmeWide = 0;
    for (const n of list) {
      const row = page.locator(`#incidents tr[data-incident="${n.id}"]`);
      assert.equal(await row.count(), 1, `incident ${n.id} is shown`);
      assert.equal(await row.locator("li[data-member]").count(), n.members.length, `members of ${n.id}`);
      assert.ok((await row.innerText()).includes(n.title), `the title of ${n.id}`);
      // an alert about the whole programme: its member shows its figures as they stand now
      for (const m of n.members.filter((x) => !x.indicator && !x.site && (x.summary || "").includes(": "))) {
        const label = await row.locator(`li[data-member="${m.id}"]`).innerText();
        assert.ok(label.includes(m.summary.slice(m.summary.indexOf(": ") + 2)), `the figures of member ${m.id}: ${label}`);
        programmeWide++;
      }
    }
    if (alerts.some((a) => a.kind === "trajectory"))
      assert.ok(programmeWide > 0, "a firing trajectory alert's incident shows its figures");
    console.log(`  (${programmeWide} programme-wide member(s) shown with their figures)`);
    await shot(page, "alerts-incidents");
    const target = list.find((n) => !n.acked && n.open_members > 1) || list.find((n) => !n.acked);
    if (!target) return skip("acknowledging an incident", "every incident is acknowledged already");
    await page.click(`tr[data-incident="${target.id}"] button[data-action="ack-incident"]`);
    await page.waitForSelector(`main[data-ready="true"] tr[data-incident="${target.id}"] td:first-child [data-status="acknowledged"]`,
      { timeout: 30000 });
    const after = (await api(`/api/v1/incidents/${target.id}`)).body;
    assert.equal(after.acked, true, "the API shows the incident acknowledged");
    const open = after.members.filter((m) => ["pending", "firing", "no_data"].includes(m.state));
    assert.ok(open.length && open.every((m) => m.acked_at), "each open member is acknowledged");
    assert.ok(await page.locator(`tr[data-incident="${target.id}"] button[data-action="ack-incident"]`).isDisabled());
  });

  await step("alerts: silence an incident from the page: its members, for the hours chosen, as the name acting", async () => {
    const incidents = await api(`/api/v1/incidents?programme=${SLUG}&state=open`);
    if (incidents.status === 404) return skip("silencing an incident", "GET /api/v1/incidents is not served yet");
    const list = incidents.body.incidents;
    // a practice's late feeds (one of them silenced on its own above), else any
    const target = list.find((n) => n.kind === "late_feed" && !n.silenced) || list.find((n) => !n.silenced);
    if (!target) return skip("silencing an incident", "no open incident left unsilenced");
    const row = `tr[data-incident="${target.id}"]`;
    const comment = `${row} input[aria-label="comment on the incident"]`;
    const hours = `${row} select[aria-label="silence the incident for"]`;
    await page.waitForLoadState("networkidle");
    // a render still under way may replace the inputs: set them until the page holds them
    for (let i = 0; i < 40; i++) {
      await page.fill(comment, "export fixed, waiting for the next run");
      await page.selectOption(hours, "72");
      const held = await page.evaluate(([c, s]) => document.querySelector(c)?.value === "export fixed, waiting for the next run" &&
        document.querySelector(s)?.value === "72", [comment, hours]);
      if (held) break;
      await page.waitForTimeout(250);
    }
    await page.click(`${row} button[data-action="silence-incident"]`);
    await page.waitForSelector(`main[data-ready="true"] ${row} td:first-child [data-status="silenced"]`, { timeout: 30000 });
    const made = (await api("/api/v1/silences")).body.silences.find((x) => x.reason === "export fixed, waiting for the next run");
    assert.ok(made, "the API lists the incident's silence");
    assert.equal(made.author, "Dr. Peeters", "the author is the name the page acts as");
    const span = (Date.parse(made.ends_at) - Date.parse(made.starts_at)) / 3600e3;
    assert.ok(Math.abs(span - 72) < 0.1, `silenced for ${span} h, not 72 h`);
    const names = made.matchers.map((m) => m.name).sort();
    if (target.kind === "late_feed") {
      assert.deepEqual(names, ["kind", "site"]);
      assert.equal(made.matchers.find((m) => m.name === "site").value, target.site, "the practice");
    } else if (target.kind === "signal") {
      assert.deepEqual(names, ["indicator", "kind", "region"]);
    }
    // exactly the incident's members: each open member muted by it, no other alert
    const after = (await api(`/api/v1/incidents/${target.id}`)).body;
    assert.equal(after.silenced, true, "the API shows the incident silenced");
    const openIds = after.members.filter((m) => ["pending", "firing", "no_data"].includes(m.state)).map((m) => m.id);
    for (const id of openIds) assert.ok((await api(`/api/v1/alerts/${id}`)).body.silenced_by.includes(made.id), `member ${id}`);
    const muted = (await api(`/api/v1/alerts?programme=${SLUG}&limit=1000`)).body.alerts
      .filter((a) => a.silenced_by.includes(made.id)).map((a) => a.id);
    assert.deepEqual(muted.sort(), after.members.map((m) => m.id).filter((id) => muted.includes(id)).sort(),
      "the silence mutes no alert outside the incident");
    assert.ok(openIds.every((id) => muted.includes(id)));
    assert.match(await page.innerText(`${row} td:first-child`), /Silenced/);
    assert.equal(await page.locator(`${row} button[data-action="silence-incident"]`).count(), 0,
      "an incident silenced already is not offered another silence");
    assert.equal(await page.locator(`${row} button[data-action="ack-incident"]`).count(), 1, "it can still be acknowledged");
    await shot(page, "alerts-incident-silenced");
  });

  await step("no JavaScript error and no request outside the daemon", async () => {
    assert.deepEqual(pageErrors, []);
  });

  await browser.close();
  console.log(`${results.passed} passed, ${results.failed} failed, ${results.skipped} skipped`);
  process.exit(results.failed ? 1 : 0);
}

main().catch((err) => {
  console.log("FAIL  " + ((err && err.stack) || err));
  process.exit(1);
});
