"""The feeds status at scale, end to end: GET …/feeds (the summary per indicator, region and
in total) and GET …/feeds/sites (the member sites a page at a time, late ones first,
filtered by status, region and indicator), through the real daemon.

Time is pinned at 2026-03-20 12:00 UTC: the latest due month is February 2026 (15 days of
grace). Every answer is checked twice: with the series' latest periods (series_latest) unknown
(the daemon looks the due period up in the observations) and filled as the rollup service
keeps them (the daemon decides from the series alone), and both must agree."""

import base64
import os
import re
import shutil
import subprocess
import tempfile
import unittest
import urllib.parse

import harness

SLUG = "feeds-scale"
API = f"/api/v1/programmes/{SLUG}"
NOW = 1774008000  # 2026-03-20T12:00:00Z
MONTHLY = ["m1", "m2", "m3"]
NAMES = {"m1": "Patients enrolled", "m2": "Patients tested", "m3": "Patients controlled"}

# practice: (region, months it reported per indicator); a missing indicator sent nothing
PRACTICES = {
    "XA-P1": ("XA", {"m1": ["01", "02"], "m2": ["01", "02"], "m3": ["02"]}),   # reported
    "XA-P2": ("XA", {"m1": ["02"], "m2": ["02"], "m3": ["01"]}),               # partial
    "XA-P3": ("XA", {"m1": ["01"], "m2": ["01"], "m3": ["01"]}),               # late
    "XA-P4": ("XA", {"m1": ["02"], "m2": ["02"], "m3": ["02"]}),               # reported
    "XB-P1": ("XB", {}),                                                       # late, nothing
    "XB-P2": ("XB", {"m1": ["02"]}),                                           # partial
    "XB-P3": ("XB", {"m1": ["02"], "m2": ["02"], "m3": ["02"]}),               # reported
    "XB-P4": ("XB", {"m1": ["02"]}),                                           # planned
    "XC-P1": ("XC", {"m1": ["01"]}),                  # withdrawn before February: not owed
    "XC-P2": ("XC", {"m1": ["02"], "m2": ["02"]}),    # withdrawn during February: partial
    "XC-P3": ("XC", {"m1": ["03"]}),                  # adopted in March: not owed
    "XC-P4": ("XC", {"m1": ["01"], "m2": ["01"]}),    # late
    "XC-P5": ("XC", {"m1": ["02", "03"], "m2": ["01", "03"], "m3": ["02"]}),  # a gap: partial
    "XC-P6": ("XC", {"m1": ["03"], "m2": ["03"], "m3": ["03"]}),  # March early, no Feb: late
    "X-P0": (None, {"m1": ["02"], "m2": ["02"], "m3": ["02"]}),   # no region: reported
}
EXPECTED = {
    "XA-P1": "reported", "XA-P2": "partial", "XA-P3": "late", "XA-P4": "reported",
    "XB-P1": "late", "XB-P2": "partial", "XB-P3": "reported", "XC-P2": "partial",
    "XC-P4": "late", "XC-P5": "partial", "XC-P6": "late", "X-P0": "reported",
}
RANK = {"late": 0, "partial": 1, "reported": 2}


def programme():
    sites = [{"code": "X", "name": "Xland", "level": "country"}]
    for region in ("XA", "XB", "XC"):
        sites.append({"code": region, "name": f"Region {region}", "level": "region",
                      "parent": "X"})
    for code, (region, _) in PRACTICES.items():
        site = {"code": code, "name": f"Practice {code}", "level": "practice",
                "parent": region or "X", "adopted": "2025-01-01"}
        if code == "XB-P4":
            site = dict(site, status="planned")
            del site["adopted"]
        if code in ("XC-P1", "XC-P2"):
            site["status"] = "withdrawn"
        if code == "XC-P3":
            site["adopted"] = "2026-03-01"
        sites.append(site)
    indicators = [{"code": c, "name": NAMES[c], "unit": "patients", "value_type": "count",
                   "period_type": "monthly"} for c in MONTHLY]
    indicators.append({"code": "score", "name": "National score", "unit": "", "value_type":
                       "score", "period_type": "quarterly"})
    return {"slug": SLUG, "name": "Feeds at scale", "time_zone": "UTC", "sites": sites,
            "indicators": indicators}


def observations():
    rows = []
    for code, (_, sent) in PRACTICES.items():
        for indicator, months in sent.items():
            rows += [{"indicator": indicator, "site": code, "period": f"2026-{m}", "value": 1}
                     for m in months]
    rows.append({"indicator": "score", "site": "X", "period": "2025Q4", "value": 2})
    return rows


def next_link(resp):
    """The target of the answer's Link rel="next", or None."""
    link = resp.headers.get("Link")
    if link is None:
        return None
    match = re.fullmatch(r'<([^>]+)>; rel="next"', link)
    assert match, link
    return match.group(1)


class FeedsStatusTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="scaleupd-feeds-")
        clock = os.path.join(cls.tmp, "clock")
        with open(clock, "w", encoding="utf-8") as f:
            f.write(str(NOW))
        cls.conninfo = harness.fresh_database("e2e_feeds_status")
        cls.daemon = harness.Daemon(cls.conninfo, env={"SCALEUPD_TEST_CLOCK_FILE": clock})
        try:
            resp = cls.daemon.request("POST", "/api/v1/programmes", programme())
            assert resp.status in (200, 201), resp
            resp = cls.daemon.request("POST", f"{API}/observations",
                                      {"observations": observations()})
            assert resp.status == 200 and resp.body["status"] == "ok", resp
            # the tests rewrite series_latest themselves (fill_last_period): the rollup
            # service's fold of these observations, which writes it too, must be done first
            # (under the sanitizers it ran late, and the two deadlocked)
            harness.wait_until(lambda: harness.psql(cls.conninfo, "SELECT count(*) FROM"
                                                    " rollup_dirty") == "0",
                               "the rollup service to fold the observations")
            # withdrawal dates are the day a document withdrew a site: set them as stored
            harness.psql(cls.conninfo, "UPDATE membership m SET withdrawn_on = CASE s.code"
                         " WHEN 'XC-P1' THEN DATE '2026-01-15' ELSE DATE '2026-02-10' END"
                         " FROM site s WHERE s.id = m.site_id AND s.code IN ('XC-P1', 'XC-P2')")
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.daemon.close()
        shutil.rmtree(cls.tmp, ignore_errors=True)
        reports = cls.daemon.sanitizer_reports()
        if reports:
            raise AssertionError("a sanitizer reported a problem:\n" + "\n".join(reports))

    def fill_last_period(self, filled):
        """series_latest as the rollup service keeps it (filled), or unknown."""
        if filled:
            harness.psql(self.conninfo, "DELETE FROM series_latest; INSERT INTO series_latest"
                         " (programme_id, series_id, last_period, last_changed_at)"
                         " SELECT programme_id, series_id, max(period_start), max(received_at)"
                         " FROM observation GROUP BY 1, 2 ON CONFLICT (programme_id, series_id)"
                         " DO UPDATE SET last_period = excluded.last_period,"
                         " last_changed_at = excluded.last_changed_at")
        else:
            harness.psql(self.conninfo, "DELETE FROM series_latest")

    def both(self, check):
        for filled in (False, True):
            with self.subTest(last_period="filled" if filled else "unknown"):
                self.fill_last_period(filled)
                check()

    def get(self, path, status=200):
        resp = self.daemon.request("GET", path)
        self.assertEqual(resp.status, status, resp.body)
        return resp

    def walk(self, query):
        """Every row of the list for query, a page at a time; the pages' sizes."""
        rows, sizes = [], []
        path = f"{API}/feeds/sites?{query}"
        while path is not None:
            resp = self.get(path)
            self.assertIsInstance(resp.body, list)
            rows += resp.body
            sizes.append(len(resp.body))
            path = next_link(resp)
            self.assertLess(len(sizes), 100, "the pages never end")
        return rows, sizes

    # ------------------------------------------------------------ the list

    def check_list(self):
        rows, _ = self.walk("limit=1000")
        self.assertEqual({r["code"]: r["status"] for r in rows}, EXPECTED)
        keys = [(RANK[r["status"]], r["region"] or "", r["code"]) for r in rows]
        self.assertEqual(keys, sorted(keys), "late, partial, reported; then region, code")
        by_code = {r["code"]: r for r in rows}
        gap = by_code["XC-P5"]
        self.assertEqual((gap["expected"], gap["reported"], gap["late"]), (3, 2, ["m2"]))
        self.assertEqual(gap["missing"], [{"code": "m2", "name": NAMES["m2"]}])
        self.assertEqual((gap["region"], gap["region_name"]), ("XC", "Region XC"))
        self.assertEqual(by_code["XC-P6"]["late"], MONTHLY)
        self.assertIsNone(by_code["XB-P1"]["last_received_at"])
        self.assertIsNotNone(by_code["XC-P6"]["last_received_at"])
        self.assertEqual((by_code["X-P0"]["region"], by_code["X-P0"]["missing"]), (None, []))

    def test_the_list_owes_what_membership_says_in_its_order(self):
        self.both(self.check_list)

    def check_pages(self):
        everything, _ = self.walk("limit=1000")
        rows, sizes = self.walk("limit=2")
        self.assertEqual(rows, everything, "no gap, no repeat, the same order")
        self.assertEqual(sizes, [2] * 6, "a last full page has no next link")
        late, sizes = self.walk("status=late&limit=2")
        self.assertEqual([r["code"] for r in late],
                         [r["code"] for r in everything if r["status"] == "late"])
        self.assertEqual(sizes, [2, 2])
        first = self.get(f"{API}/feeds/sites")
        self.assertEqual(first.body, everything)
        self.assertIsNone(next_link(first))

    def test_pagination_walks_every_row_once(self):
        self.both(self.check_pages)

    def check_filters(self):
        rows, _ = self.walk("region=XC&limit=3")
        self.assertEqual({r["code"] for r in rows},
                         {"XC-P2", "XC-P4", "XC-P5", "XC-P6"})
        rows, _ = self.walk("region=XA&status=partial")
        self.assertEqual([r["code"] for r in rows], ["XA-P2"])
        rows, _ = self.walk("indicator=m3&status=late&limit=1")
        self.assertEqual([r["code"] for r in rows],
                         ["XA-P2", "XA-P3", "XB-P1", "XB-P2", "XC-P2", "XC-P4", "XC-P6"])
        for r in rows:
            self.assertEqual((r["expected"], r["reported"], r["late"]), (1, 0, ["m3"]))
        rows, _ = self.walk("indicator=m1")
        self.assertEqual(len(rows), len(EXPECTED))
        self.assertEqual({r["code"] for r in rows if r["status"] == "late"},
                         {"XA-P3", "XB-P1", "XC-P4", "XC-P6"})

    def test_filters_by_status_region_and_indicator(self):
        self.both(self.check_filters)

    # ------------------------------------------------------------ the summary

    def check_summary_adds_up(self):
        doc = self.get(f"{API}/feeds").body
        self.assertNotIn("sites", doc)
        rows, _ = self.walk("limit=1000")
        def counts(rs):
            statuses = [r["status"] for r in rs]
            expected = sum(r["expected"] for r in rs)
            reported = sum(r["reported"] for r in rs)
            return {"sites_expected": len(rs), "sites_complete": statuses.count("reported"),
                    "sites_partial": statuses.count("partial"),
                    "sites_late": statuses.count("late"), "values_expected": expected,
                    "values_reported": reported,
                    "completeness": round(reported / expected, 4) if expected else None}
        regions = {r["code"]: r for r in doc["regions"]}
        self.assertEqual([r["code"] for r in doc["regions"]], ["XA", "XB", "XC", None])
        for code, region in regions.items():
            mine = [r for r in rows if r["region"] == code]
            self.assertEqual({k: region[k] for k in counts(mine)}, counts(mine), code)
        self.assertEqual(regions[None]["name"], None)
        self.assertEqual(doc["totals"], counts(rows))
        self.assertEqual(doc["totals"]["sites_late"], 4)
        indicators = {i["code"]: i for i in doc["indicators"]}
        for code in MONTHLY:
            owed, _ = self.walk(f"indicator={code}")
            self.assertEqual((indicators[code]["expected"], indicators[code]["reported"]),
                             (len(owed), sum(r["reported"] for r in owed)), code)
            self.assertEqual(indicators[code]["period_start"], "2026-02-01")
        score = indicators["score"]
        self.assertEqual((score["reported_by_sites"], score["period_start"], score["reported"],
                          score["expected"]), (False, "2025-10-01", 1, 0))

    def test_the_summary_equals_what_the_list_adds_up_to(self):
        self.both(self.check_summary_adds_up)

    def test_grace_days_moves_the_due_period(self):
        self.fill_last_period(True)
        doc = self.get(f"{API}/feeds?grace_days=0").body
        self.assertEqual(doc["grace_days"], 0)
        # with no grace, February is still the latest month due on 20 March
        self.assertEqual(doc["indicators"][0]["period_start"], "2026-02-01")
        doc = self.get(f"{API}/feeds?grace_days=30").body
        self.assertEqual(doc["indicators"][0]["period_start"], "2026-01-01")
        rows, _ = self.walk("grace_days=30")
        self.assertEqual({r["code"]: r["status"] for r in rows}["XA-P3"], "reported")

    # ------------------------------------------------------------ bad input

    def test_bad_parameters_are_400_naming_the_parameter(self):
        cursor = base64.urlsafe_b64encode(b"7\nXA\nXA-P1").rstrip(b"=").decode()
        cases = [("limit=0", "limit"), ("limit=1001", "limit"), ("limit=x", "limit"),
                 ("limit=-1", "limit"), ("after=%21%21", "after"), (f"after={cursor}", "after"),
                 ("after=YQ", "after"), ("status=behind", "status"), ("region=XA-P1", "region"),
                 ("region=nowhere", "region"), ("indicator=nope", "indicator"),
                 ("grace_days=x", "grace_days")]
        for query, parameter in cases:
            with self.subTest(query=query):
                body = self.get(f"{API}/feeds/sites?{query}", 400).body
                self.assertEqual(body["error"]["code"], "invalid_parameter", body)
                self.assertEqual(body["error"]["path"], parameter, body)
        body = self.get(f"{API}/feeds/sites?state=late", 400).body
        self.assertEqual(body["error"]["code"], "unknown_parameter")
        self.assertIn('"state"', body["error"]["message"])
        body = self.get(f"{API}/feeds?grace_days=400", 400).body
        self.assertEqual(body["error"]["path"], "grace_days")
        self.get("/api/v1/programmes/nope/feeds/sites", 404)

    def test_a_cursor_from_a_link_keeps_its_query(self):
        self.fill_last_period(True)
        resp = self.get(f"{API}/feeds/sites?status=late&limit=1&region=XC")
        link = urllib.parse.urlsplit(next_link(resp))
        self.assertEqual(link.path, f"{API}/feeds/sites")
        query = urllib.parse.parse_qs(link.query)
        self.assertEqual((query["status"], query["limit"], query["region"]),
                         (["late"], ["1"], ["XC"]))
        self.assertEqual(len(query["after"]), 1)


class FeedsPagesBrowserTest(unittest.TestCase):
    """The Feeds view of 240 practices (130 late) in headless Chromium: feeds_pages.test.mjs."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="scaleupd-feeds-pages-")
        clock = os.path.join(cls.tmp, "clock")
        with open(clock, "w", encoding="utf-8") as f:
            f.write(str(NOW))
        conninfo = harness.fresh_database("e2e_feeds_pages")
        web = os.path.join(harness.SOURCE_DIR, "web")
        cls.daemon = harness.Daemon(conninfo, f"[server]\nweb_dir = {web}\n",
                                    env={"SCALEUPD_TEST_CLOCK_FILE": clock})
        try:
            sites = [{"code": "X", "name": "Xland", "level": "country"}]
            sites += [{"code": r, "name": f"Region {r}", "level": "region", "parent": "X"}
                      for r in ("XA", "XB")]
            codes = [f"{r}-P{n:03d}" for r in ("XA", "XB") for n in range(120)]
            sites += [{"code": c, "name": f"Practice {c}", "level": "practice",
                       "parent": c[:2], "adopted": "2025-01-01"} for c in codes]
            doc = {"slug": SLUG, "name": "Feeds pages", "time_zone": "UTC", "sites": sites,
                   "indicators": [{"code": "m1", "name": NAMES["m1"], "value_type": "count",
                                   "period_type": "monthly"}]}
            assert cls.daemon.request("POST", "/api/v1/programmes", doc).status in (200, 201)
            # every practice whose number is 65 or more sends February: 130 send nothing
            rows = [{"indicator": "m1", "site": c, "period": "2026-02", "value": 1}
                    for c in codes if int(c[-3:]) >= 65]
            resp = cls.daemon.request("POST", f"{API}/observations", {"observations": rows})
            assert resp.status == 200, resp
            cls.read_token = harness.create_token(conninfo, "--read", name="feeds reader")
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.daemon.close()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_next_pages_and_late_only_in_the_browser(self):
        web = os.path.join(harness.SOURCE_DIR, "web")
        if not os.path.isdir(os.path.join(web, "node_modules", "playwright-core")):
            self.skipTest("web/node_modules/playwright-core is missing: run scripts/install-deps")
        if not os.access("/usr/bin/chromium", os.X_OK):
            self.skipTest("/usr/bin/chromium is missing: run scripts/install-deps")
        shots = os.path.join(harness.build_dir(), "screenshots")
        os.makedirs(shots, exist_ok=True)
        script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "feeds_pages.test.mjs")
        env = dict(os.environ, DASHBOARD_URL=f"http://127.0.0.1:{self.daemon.port}",
                   DASHBOARD_READ_TOKEN=self.read_token, DASHBOARD_PROGRAMME=SLUG,
                   SCREENSHOT_DIR=shots, SCALEUPD_WEB_DIR=web)
        proc = subprocess.run(["node", script], env=env, capture_output=True, text=True,
                              timeout=harness.TIMEOUT * 3, check=False)
        print(proc.stdout)
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)


if __name__ == "__main__":
    unittest.main()
