"""The dashboard end to end: static serving from web_dir (types, caching, traversal), the
chart and feeds endpoints it reads, read access with and without a token, and a headless
Chromium (playwright-core from web/node_modules, Debian's /usr/bin/chromium) that opens every
view and checks that the figures shown equal the API's (dashboard.test.mjs).

Time is pinned with the test clock at 2026-03-20 12:00 UTC, so the latest due period is
February 2026 for monthly data and 2025Q4 for quarterly data (15 days of grace)."""

import json
import math
import os
import shutil
import subprocess
import tempfile
import unittest

import harness

SLUG = "icp-t2d-htn-be"
NOW = 1774008000  # 2026-03-20T12:00:00Z
MONTHS = [f"{y}-{m:02d}" for y in (2025, 2026) for m in range(1, 13)][:14]  # 2025-01 … 2026-02
WEB_SOURCE = os.path.join(harness.SOURCE_DIR, "web")


def demo_programme():
    """The example programme with one more Walloon practice (which stops reporting) and a
    target on blood-pressure control, so that the chart has an assurance to show."""
    doc = harness.example_programme()
    doc["sites"].append({"code": "BE-WAL-GP002", "name": "Cabinet medical des Tilleuls",
                         "level": "practice", "parent": "BE-WAL", "adopted": "2025-06-01"})
    for ind in doc["indicators"]:
        if ind["code"] == "bp_controlled_pct":
            ind["target"] = 65
    return doc


def _adopted_month(doc, site):
    for s in doc["sites"]:
        if s["code"] == site:
            return s["adopted"][:7]
    raise KeyError(site)


def demo_observations(doc):
    """Fourteen months of practice data, deterministic: enrolment grows, blood-pressure
    control at De Linde drops sharply in the last three months (a special cause of concern),
    BE-WAL-GP002 sends nothing after 2025-12 (late), and quarterly institutionalisation
    scores at country level."""
    rows = []
    practices = ["BE-VLG-GP001", "BE-VLG-GP002", "BE-WAL-GP001", "BE-WAL-GP002"]
    for pi, site in enumerate(practices):
        start = _adopted_month(doc, site)
        for mi, month in enumerate(MONTHS):
            if month < start or (site == "BE-WAL-GP002" and month > "2025-12"):
                continue
            eligible = 900 + 150 * pi
            enrolled = 40 + 25 * mi + 10 * pi
            den = max(enrolled // 2, 10)
            wobble = [0, 3, -2, 4, -1, 2, -3, 1, 0, -2, 3, -1, 2, 0][mi]
            bp_pct = 70 + wobble
            if site == "BE-VLG-GP001" and mi >= 11:
                bp_pct = 48 - (mi - 11) * 2
            bp_num = round(den * bp_pct / 100)
            hb_num = round(den * (0.8 + 0.01 * ((mi + pi) % 5)))
            rows += [
                {"indicator": "eligible_population", "site": site, "period": month,
                 "value": eligible},
                {"indicator": "patients_enrolled", "site": site, "period": month,
                 "value": enrolled},
                {"indicator": "bp_controlled_pct", "site": site, "period": month,
                 "value": round(100 * bp_num / den, 4), "numerator": bp_num, "denominator": den},
                {"indicator": "hba1c_tested_pct", "site": site, "period": month,
                 "value": round(100 * hb_num / den, 4), "numerator": hb_num, "denominator": den},
            ]
    scores = {"inst_fee_code": [0, 1, 1, 2], "inst_national_indicators": [1, 2, 2, 3],
              "inst_nurse_role": [0, 0, 0, 0]}
    for code, values in scores.items():
        for q, value in enumerate(values, start=1):
            rows.append({"indicator": code, "site": "BE", "period": f"2025Q{q}", "value": value})
    return rows


def load_demo(daemon):
    """Loads the programme, its observations and (when the daemon has roadmaps) the example
    roadmap through the API with the admin token."""
    doc = demo_programme()
    resp = daemon.request("POST", "/api/v1/programmes", doc)
    assert resp.status in (200, 201), resp
    rows = demo_observations(doc)
    for i in range(0, len(rows), 200):
        resp = daemon.request("POST", f"/api/v1/programmes/{SLUG}/observations",
                              {"observations": rows[i:i + 200]})
        assert resp.status == 200 and resp.body["status"] == "ok", resp
    roadmap_path = os.path.join(harness.SOURCE_DIR, "config", "roadmap-icp-be.json")
    if os.path.exists(roadmap_path):
        with open(roadmap_path, encoding="utf-8") as f:
            roadmap = json.load(f)
        resp = daemon.request("PUT", f"/api/v1/programmes/{SLUG}/roadmap", roadmap)
        assert resp.status in (200, 201, 404, 405), resp  # 404/405: roadmaps not served yet


def wait_for_open_alerts(daemon):
    """When the daemon has the alerts API: waits until the drop of blood-pressure control at
    De Linde has raised an alert (the default SPC rule), and returns the open alerts. None
    when the daemon has no alerts API yet."""
    path = f"/api/v1/alerts?programme={SLUG}"
    resp = daemon.request("GET", path)
    if resp.status == 404 and resp.body["error"]["code"] == "not_found":
        return None

    def open_alerts():
        body = daemon.request("GET", path).body
        return [a for a in body["alerts"] if a["state"] in ("pending", "firing", "no_data")]
    return harness.wait_until(open_alerts, "an open alert for the demo programme")


def xmr_limits(values):
    """Mean and process limits of an XmR chart with every point in the baseline and moving
    ranges >= 3.267 x their mean screened out once (DESIGN.md section 4)."""
    mean = sum(values) / len(values)
    ranges = [abs(b - a) for a, b in zip(values, values[1:])]
    mr = sum(ranges) / len(ranges)
    kept = [r for r in ranges if r < 3.267 * mr]
    mr = sum(kept) / len(kept)
    return mean, mean - 2.66 * mr, mean + 2.66 * mr


def make_web_copy():
    """A copy of web/ for web_dir, with a symbolic link that points out of the tree and a
    hidden file, and node_modules linked to the real one (uPlot's dist files)."""
    root = tempfile.mkdtemp(prefix="scaleupd-web-")
    for name in ("index.html", "app.js", "style.css", "package.json"):
        shutil.copy(os.path.join(WEB_SOURCE, name), root)
    shutil.copytree(os.path.join(WEB_SOURCE, "js"), os.path.join(root, "js"),
                    ignore=shutil.ignore_patterns("*.test.*"))
    os.symlink("/etc/passwd", os.path.join(root, "escape.js"))
    os.symlink("/etc", os.path.join(root, "etc"))
    with open(os.path.join(root, ".secret.js"), "w", encoding="utf-8") as f:
        f.write("secret")
    if os.path.isdir(os.path.join(WEB_SOURCE, "node_modules")):
        os.symlink(os.path.join(WEB_SOURCE, "node_modules"), os.path.join(root, "node_modules"))
    return root


class DashboardTest(unittest.TestCase):
    """One daemon with the demo data for every test of the class."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="scaleupd-dashboard-")
        cls.web_dir = make_web_copy()
        clock = os.path.join(cls.tmp, "clock")
        with open(clock, "w", encoding="utf-8") as f:
            f.write(str(NOW))
        conninfo = harness.fresh_database("e2e_dashboard")
        cls.daemon = harness.Daemon(conninfo, f"[server]\nweb_dir = {cls.web_dir}\n",
                                    env={"SCALEUPD_TEST_CLOCK_FILE": clock})
        try:
            load_demo(cls.daemon)
            cls.read_token = harness.create_token(conninfo, "--read", name="dashboard reader")
            cls.open_alerts = wait_for_open_alerts(cls.daemon)
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        daemon = cls.daemon
        daemon.close()
        shutil.rmtree(cls.tmp, ignore_errors=True)
        shutil.rmtree(cls.web_dir, ignore_errors=True)
        reports = daemon.sanitizer_reports()
        if reports:
            raise AssertionError("a sanitizer reported a problem:\n" + "\n".join(reports))

    def get(self, path, token=None, headers=None):
        return self.daemon.request("GET", path, token=token, headers=headers)

    # ------------------------------------------------------------ static files

    def test_page_and_files_are_served_with_type_and_cache_headers(self):
        page = self.get("/")
        self.assertEqual(page.status, 200)
        self.assertEqual(page.headers["Content-Type"], "text/html; charset=utf-8")
        self.assertIn("<title>scaleupd", page.body)
        self.assertIn("script-src", page.headers["Content-Security-Policy"] + " script-src")
        self.assertEqual(page.headers["Cache-Control"], "no-cache")
        # the entry module, modules in subfolders (which it imports), and the style sheet
        for path, ctype in (("/static/app.js", "text/javascript; charset=utf-8"),
                            ("/static/js/api.js", "text/javascript; charset=utf-8"),
                            ("/static/js/views/overview.js", "text/javascript; charset=utf-8"),
                            ("/static/style.css", "text/css; charset=utf-8")):
            resp = self.get(path)
            self.assertEqual((resp.status, resp.headers["Content-Type"]), (200, ctype), path)
            with open(os.path.join(WEB_SOURCE, path[len("/static/"):]), encoding="utf-8") as f:
                self.assertEqual(resp.body, f.read())

    def test_uplot_comes_from_node_modules(self):
        if not os.path.isdir(os.path.join(WEB_SOURCE, "node_modules", "uplot")):
            self.skipTest("web/node_modules/uplot is missing: run scripts/install-deps")
        resp = self.get("/vendor/uplot/uPlot.iife.min.js")
        self.assertEqual(resp.status, 200)
        self.assertIn("javascript", resp.headers["Content-Type"])
        self.assertIn("max-age", resp.headers["Cache-Control"])
        self.assertEqual(self.get("/vendor/uplot/uPlot.min.css").status, 200)
        # only uPlot's dist directory, never the rest of the package or other packages
        self.assertEqual(self.get("/vendor/uplot/../package.json").status, 404)
        self.assertEqual(self.get("/vendor/uplot/%2e%2e/package.json").status, 404)

    def test_etag_revalidation_answers_304(self):
        first = self.get("/static/app.js")
        etag = first.headers["ETag"]
        self.assertTrue(etag and first.headers["Last-Modified"].endswith("GMT"))
        again = self.get("/static/app.js", headers={"If-None-Match": etag})
        self.assertEqual(again.status, 304)
        self.assertEqual(again.body, "")

    def test_nothing_outside_the_tree_is_served(self):
        for path in ("/static/../CMakeLists.txt", "/static/%2e%2e/%2e%2e/etc/passwd",
                     "/static/..%2f..%2fetc%2fpasswd", "/static/escape.js", "/static/etc/passwd",
                     "/static/.secret.js", "/static/app.js%00.png", "/static/package.json",
                     "/static/node_modules/uplot/dist/uPlot.iife.min.js", "/static/",
                     "/static/a//b.js", "/static/nope.js", "/static/%5c..%5capp.js"):
            resp = self.get(path)
            self.assertEqual(resp.status, 404, path)
            self.assertNotIn("root:", json.dumps(resp.body), path)

    def test_head_has_no_body(self):
        resp = self.daemon.request("HEAD", "/static/style.css", token=None)
        self.assertEqual((resp.status, resp.body), (200, ""))

    # ------------------------------------------------------------ access

    def test_read_routes_need_a_token_unless_the_dashboard_is_public(self):
        path = f"/api/v1/programmes/{SLUG}/chart?indicator=bp_controlled_pct&site=BE"
        self.assertEqual(self.get("/").status, 200)  # the page itself is public
        self.assertEqual(self.get(path).status, 401)
        self.assertEqual(self.get(path, token=self.read_token).status, 200)
        self.assertIn("reloaded", self.daemon.reload(f"[server]\nweb_dir = {self.web_dir}\n"
                                                     "public_dashboard = true\n"))
        try:
            self.assertEqual(self.get(path).status, 200)
            self.assertEqual(self.get(f"/api/v1/programmes/{SLUG}/feeds").status, 200)
        finally:
            self.daemon.reload(f"[server]\nweb_dir = {self.web_dir}\n")
        self.assertEqual(self.get(path).status, 401)

    # ------------------------------------------------------------ chart

    def chart(self, query, status=200):
        resp = self.get(f"/api/v1/programmes/{SLUG}/chart?{query}", token=self.read_token)
        self.assertEqual(resp.status, status, resp.body)
        return resp.body

    def test_chart_of_a_practice_agrees_with_the_xmr_method(self):
        doc = self.chart("indicator=bp_controlled_pct&site=BE-VLG-GP001")
        values = [p["value"] for p in doc["points"]]
        self.assertEqual(len(values), 14)
        mean, lower, upper = xmr_limits(values)
        seg = doc["segments"][0]
        self.assertTrue(math.isclose(seg["mean"], mean, rel_tol=1e-9))
        self.assertTrue(math.isclose(seg["lower_limit"], lower, rel_tol=1e-9))
        self.assertTrue(math.isclose(seg["upper_limit"], upper, rel_tol=1e-9))
        for p in doc["points"]:
            self.assertTrue(math.isclose(p["mean"], mean, rel_tol=1e-9))
        # the last three months fall far below: special cause of concern, low side
        last = doc["points"][-1]
        self.assertLess(last["value"], lower)
        self.assertEqual((last["variation"], last["side"]), ("concern", "low"))
        self.assertIn("outside", last["signals"])
        self.assertEqual((doc["last_variation"], doc["direction"], doc["target"]),
                         ("concern", "up", 65))
        self.assertEqual(doc["assurance"], "hit_and_miss" if lower <= 65 <= upper else
                         ("pass" if lower > 65 else "fail"))
        # the eleven months before sit above the mean that the drop pulls down: a shift,
        # on the better side of an indicator where higher is better
        first = doc["points"][0]
        self.assertEqual((first["variation"], first["side"]), ("improvement", "high"))
        self.assertIn("shift", first["signals"])

    def test_chart_of_a_region_aggregates_and_counts_sites(self):
        doc = self.chart("indicator=patients_enrolled&site=BE-WAL")
        self.assertTrue(doc["aggregated"])
        by_period = {p["period"]: p for p in doc["points"]}
        # 2025-12: both Walloon practices; 2026-01: only BE-WAL-GP001
        self.assertEqual(by_period["2025-12"]["sites_reporting"], 2)
        self.assertEqual(by_period["2026-01"]["sites_reporting"], 1)
        self.assertEqual(by_period["2026-01"]["value"], 40 + 25 * 12 + 10 * 2)

    def test_chart_bad_input_is_4xx(self):
        self.assertEqual(self.chart("indicator=nope&site=BE", 404)["error"]["code"],
                         "unknown_indicator")
        self.assertEqual(self.chart("indicator=bp_controlled_pct&site=XX", 404)["error"]["code"],
                         "unknown_site")
        self.chart("indicator=bp_controlled_pct", 400)
        self.chart("indicator=bp_controlled_pct&site=BE&baseline=-1", 400)
        self.chart("indicator=bp_controlled_pct&site=BE&baseline=abc", 400)
        for query in ("indicator=bp_controlled_pct&site=BE&from=2025-01-01",
                      "indicator=bp_controlled_pct&site=BE&site=BE-VLG"):
            error = self.chart(query, 400)["error"]
            self.assertIn(error["code"], ("unknown_parameter", "duplicate_parameter"), error)
        resp = self.get("/api/v1/programmes/nope/chart?indicator=a&site=b", token=self.read_token)
        self.assertEqual(resp.status, 404)
        doc = self.chart("indicator=bp_controlled_pct&site=BE-BRU-GP001")
        self.assertEqual((doc["points"], doc["assurance"]), ([], "none"))

    def test_chart_with_a_fixed_baseline(self):
        doc = self.chart("indicator=bp_controlled_pct&site=BE-VLG-GP001&baseline=11")
        values = [p["value"] for p in doc["points"]][:11]
        mean, _, _ = xmr_limits(values)
        self.assertTrue(math.isclose(doc["segments"][0]["mean"], mean, rel_tol=1e-9))
        self.assertEqual(doc["segments"][0]["n_baseline"], 11)

    # ------------------------------------------------------------ feeds

    def test_feeds_status_of_the_latest_due_period(self):
        resp = self.get(f"/api/v1/programmes/{SLUG}/feeds", token=self.read_token)
        self.assertEqual(resp.status, 200, resp.body)
        doc = resp.body
        self.assertEqual((doc["today"], doc["grace_days"]), ("2026-03-20", 15))
        ind = {i["code"]: i for i in doc["indicators"]}
        self.assertEqual((ind["bp_controlled_pct"]["period_start"],
                          ind["bp_controlled_pct"]["due_on"]), ("2026-02-01", "2026-03-15"))
        self.assertEqual(ind["inst_fee_code"]["period_start"], "2025-10-01")
        self.assertFalse(ind["inst_fee_code"]["reported_by_sites"])
        # four active practices expected (the Brussels one is only planned), three reported
        self.assertEqual((ind["bp_controlled_pct"]["expected"],
                          ind["bp_controlled_pct"]["reported"]), (4, 3))
        self.assertNotIn("sites", doc)
        self.assertEqual((doc["totals"]["sites_expected"], doc["totals"]["sites_late"]), (4, 1))
        resp = self.get(f"/api/v1/programmes/{SLUG}/feeds/sites", token=self.read_token)
        self.assertEqual(resp.status, 200, resp.body)
        self.assertEqual(resp.body[0]["code"], "BE-WAL-GP002", "the late practice comes first")
        sites = {s["code"]: s for s in resp.body}
        self.assertNotIn("BE-BRU-GP001", sites)
        self.assertEqual(sites["BE-WAL-GP002"]["status"], "late")
        self.assertEqual(sorted(sites["BE-WAL-GP002"]["late"]),
                         ["bp_controlled_pct", "eligible_population", "hba1c_tested_pct",
                          "patients_enrolled"])
        self.assertEqual(sites["BE-VLG-GP001"]["status"], "reported")
        regions = {r["code"]: r for r in doc["regions"]}
        self.assertEqual(regions["BE-VLG"]["completeness"], 1)
        self.assertEqual(regions["BE-WAL"]["completeness"], 0.5)
        self.assertEqual((regions["BE-WAL"]["sites_expected"],
                          regions["BE-WAL"]["sites_complete"], regions["BE-WAL"]["sites_late"]),
                         (2, 1, 1))

    def test_feeds_status_bad_input(self):
        resp = self.get(f"/api/v1/programmes/{SLUG}/feeds?grace_days=x", token=self.read_token)
        self.assertEqual(resp.status, 400)
        # a misspelt parameter is named, not silently replaced by the default of 15 days
        resp = self.get(f"/api/v1/programmes/{SLUG}/feeds?grace=3", token=self.read_token)
        self.assertEqual((resp.status, resp.body["error"]["code"]), (400, "unknown_parameter"))
        self.assertIn('"grace"', resp.body["error"]["message"])
        resp = self.get("/api/v1/programmes/nope/feeds", token=self.read_token)
        self.assertEqual(resp.status, 404)

    # ------------------------------------------------------------ the browser

    def test_browser_views_show_the_api_figures(self):
        script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "dashboard.test.mjs")
        if not os.path.isdir(os.path.join(WEB_SOURCE, "node_modules", "playwright-core")):
            self.skipTest("web/node_modules/playwright-core is missing: run scripts/install-deps")
        if not os.access("/usr/bin/chromium", os.X_OK):
            self.skipTest("/usr/bin/chromium is missing: run scripts/install-deps")
        shots = os.path.join(harness.build_dir(), "screenshots")
        os.makedirs(shots, exist_ok=True)
        env = dict(os.environ, DASHBOARD_URL=f"http://127.0.0.1:{self.daemon.port}",
                   DASHBOARD_TOKEN=self.daemon.admin_token, DASHBOARD_READ_TOKEN=self.read_token,
                   DASHBOARD_PROGRAMME=SLUG, SCREENSHOT_DIR=shots, SCALEUPD_WEB_DIR=WEB_SOURCE)
        proc = subprocess.run(["node", script], env=env, capture_output=True, text=True,
                              timeout=harness.TIMEOUT * 3, check=False)
        print(proc.stdout)
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)


if __name__ == "__main__":
    unittest.main()
