// A received e-mail in headless Chromium (Debian's /usr/bin/chromium, playwright-core from
// web/node_modules), run by test_email.py: renders its HTML in a 600 px pane (screenshot),
// follows its chart link (the chart view marks the alert's point) and its acknowledge link
// (the page acknowledges on load), and opens a forged link (403 page). Exit 0 = pass.
import { createRequire } from "node:module";
import path from "node:path";
import assert from "node:assert/strict";

const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run through test_email.py`);
  return v;
};
const URL_BASE = env("DASHBOARD_URL");
const SHOTS = env("SCREENSHOT_DIR");
const ACK_URL = env("ACK_URL");
const require = createRequire(path.join(env("SCALEUPD_WEB_DIR"), "package.json"));
const { chromium } = require("playwright-core");

let failed = 0;
async function step(name, fn) {
  try {
    await fn();
    console.log(`ok    ${name}`);
  } catch (err) {
    failed++;
    console.log(`FAIL  ${name}\n      ${(err && err.stack) || err}`);
  }
}

async function main() {
  const browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
      "--disable-component-update", "--disable-sync", "--no-first-run"],
  });
  const pane = await browser.newContext({ viewport: { width: 600, height: 900 }, deviceScaleFactor: 1 });
  const mail = await pane.newPage();
  let links = {};

  await step("the HTML reads in a 600 px pane, its charts shown", async () => {
    await mail.goto("file://" + env("EMAIL_HTML"));
    await mail.screenshot({ path: path.join(SHOTS, "email.png"), fullPage: true });
    const width = await mail.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(width <= 600, `the e-mail is ${width} px wide`);
    const images = await mail.evaluate(() => [...document.images].map((i) => [i.naturalWidth, i.getBoundingClientRect().width]));
    assert.equal(images.length, 1, "one chart: the signal incident's");
    for (const [natural, shown] of images) {
      assert.ok(natural > 0, "an image did not load");
      assert.ok(shown <= 600, `an image is ${shown} px wide`);
    }
    links = await mail.evaluate(() => [...document.links].map((a) => a.href));
  });

  const context = await browser.newContext({ viewport: { width: 1100, height: 900 }, deviceScaleFactor: 1 });
  const token = env("DASHBOARD_READ_TOKEN");
  await context.addInitScript((t) => localStorage.setItem("scaleupd.token", t), token);
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (err) => errors.push(String(err)));

  await step("the chart link opens that indicator and site with the point marked", async () => {
    const chart = links.find((h) => h.includes("#/chart?") && h.includes("site=GP1"));
    assert.ok(chart, "no chart link for GP1: " + links.join(" "));
    await page.goto(chart);
    await page.waitForSelector('main[data-view="chart"][data-ready="true"]', { timeout: 30000 });
    await page.waitForTimeout(200);
    const marked = page.locator("#marked-point");
    assert.equal(await marked.getAttribute("data-period"), "2026-01");
    assert.equal(await page.locator('[data-field="chart.marked"]').getAttribute("data-value"), "30");
    assert.equal(await page.locator('#point-table tr.marked').getAttribute("data-period"), "2026-01");
    const title = await page.locator(".chart-box h3").innerText();
    assert.ok(title.includes("Blood pressure under control") && title.includes("Praktijk Een"), title);
    assert.ok(await page.locator("#xmr-chart canvas").count() > 0, "the chart is drawn");
    await page.screenshot({ path: path.join(SHOTS, "email-chart-link.png"), fullPage: true });
    assert.deepEqual(errors, []);
  });

  await step("the incident link opens the alerts view", async () => {
    const incident = links.find((h) => h.includes("#/alerts?"));
    assert.ok(incident, "no incident link");
    await page.goto(incident);
    await page.waitForSelector('main[data-view="alerts"][data-ready="true"]', { timeout: 30000 });
    const id = new URLSearchParams(incident.split("?")[1]).get("incident");
    assert.ok(id, "the link names its incident: " + incident);
    await page.waitForSelector(`#linked tr[data-incident="${id}"]`, { timeout: 30000 });
    const text = await page.locator("#linked").innerText();
    assert.match(text, /signals in Flanders/);
    await page.screenshot({ path: path.join(SHOTS, "email-incident-link.png"), fullPage: true });
    assert.deepEqual(errors, []);
  });

  const bare = await browser.newContext({ viewport: { width: 800, height: 600 } });
  const ack = await bare.newPage();
  await step("the acknowledge link acknowledges in one click, without a login", async () => {
    assert.ok(links.includes(ACK_URL), "the HTML carries the text part's first ack link");
    await ack.goto(ACK_URL);
    await ack.waitForSelector('#ack[data-state="acknowledged"]', { timeout: 30000 });
    const text = await ack.locator("#ack-done").innerText();
    assert.match(text, /^2 alerts acknowledged as lead@example\.org/);
    await ack.screenshot({ path: path.join(SHOTS, "email-ack.png"), fullPage: true });
  });

  await step("a forged link gets a clear 403 page", async () => {
    const dot = ACK_URL.lastIndexOf(".");
    const forged = ACK_URL.slice(0, dot + 1) + (ACK_URL[dot + 1] === "A" ? "B" : "A") + ACK_URL.slice(dot + 2);
    const resp = await ack.goto(forged);
    assert.equal(resp.status(), 403);
    await ack.waitForSelector('#ack[data-state="forged"]');
    assert.match(await ack.locator("h1").innerText(), /not valid/);
  });

  await browser.close();
  process.exit(failed ? 1 : 0);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
