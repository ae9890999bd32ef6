// The Feeds view of a programme with more sites than a page, in headless Chromium (as
// dashboard.test.mjs): the list shows the first 100 sites late first, "Next 100" appends the
// rest in the API's order, and "late only" pages the late ones. Run by test_feeds_status.py
// with the daemon's URL and a read token in the environment. Exit 0 = pass.
import { createRequire } from "node:module";
import path from "node:path";
import assert from "node:assert/strict";

const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run through test_feeds_status.py`);
  return v;
};
const URL_BASE = env("DASHBOARD_URL");
const READER = env("DASHBOARD_READ_TOKEN");
const SLUG = env("DASHBOARD_PROGRAMME");
const SHOTS = env("SCREENSHOT_DIR");
const require = createRequire(path.join(env("SCALEUPD_WEB_DIR"), "package.json"));
const { chromium } = require("playwright-core");

async function api(p) {
  const resp = await fetch(URL_BASE + p, { headers: { Authorization: "Bearer " + READER } });
  return { status: resp.status, link: resp.headers.get("Link"), body: await resp.json() };
}

/* Every row of the list at query, through the API's next links. */
async function walk(query) {
  const rows = [];
  let next = `/api/v1/programmes/${SLUG}/feeds/sites?${query}`;
  while (next) {
    const page = await api(next);
    assert.equal(page.status, 200);
    rows.push(...page.body);
    const m = /<([^>]*)>; rel="next"/.exec(page.link || "");
    next = m ? m[1] : null;
  }
  return rows;
}

const ready = (page) => page.waitForSelector('main[data-view="feeds"][data-ready="true"]', { timeout: 30000 });
const shownCodes = (page) => page.locator("#feeds-sites tbody tr").evaluateAll((rows) => rows.map((r) => r.dataset.site));

async function main() {
  const browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
      "--disable-component-update", "--disable-sync", "--no-first-run"],
  });
  const errors = [];
  try {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    await context.addInitScript(([token, slug]) => {
      localStorage.setItem("scaleupd.token", token);
      localStorage.setItem("scaleupd.programme", slug);
    }, [READER, SLUG]);
    const page = await context.newPage();
    page.on("pageerror", (err) => errors.push(String(err)));
    await page.goto(URL_BASE + "/#/feeds");
    await ready(page);
    const all = await walk("limit=1000");
    assert.ok(all.length > 200, `a programme of more than two pages: ${all.length} sites`);
    assert.deepEqual(await shownCodes(page), all.slice(0, 100).map((s) => s.code), "the first page, late first");
    assert.equal(all[0].status, "late");
    await page.screenshot({ path: path.join(SHOTS, "feeds-pages.png"), fullPage: false });
    await page.click("#feeds-more");
    await page.waitForFunction(() => document.querySelectorAll("#feeds-sites tbody tr").length > 100);
    assert.deepEqual(await shownCodes(page), all.slice(0, 200).map((s) => s.code), "next 100 appends the second page");
    await page.click("#feeds-more");
    await page.waitForFunction((n) => document.querySelectorAll("#feeds-sites tbody tr").length === n, all.length);
    assert.deepEqual(await shownCodes(page), all.map((s) => s.code), "every site once, in the API's order");
    assert.ok(await page.locator("#feeds-more").isHidden(), "no next page after the last");
    await page.locator("#feeds-late-only").check();
    await ready(page);
    const late = await walk("status=late&limit=1000");
    assert.deepEqual(await shownCodes(page), late.slice(0, 100).map((s) => s.code));
    assert.ok(await page.locator("#feeds-more").isVisible(), "more late sites than a page");
    await page.click("#feeds-more");
    await page.waitForFunction((n) => document.querySelectorAll("#feeds-sites tbody tr").length === n, late.length);
    assert.deepEqual(await shownCodes(page), late.map((s) => s.code));
    assert.deepEqual(errors, [], "no JavaScript error");
    console.log(`ok    ${all.length} sites in three pages, ${late.length} late ones in two`);
  } finally {
    await browser.close();
  }
}

main().catch((err) => {
  console.log(`FAIL  ${(err && err.stack) || err}`);
  process.exit(1);
});
