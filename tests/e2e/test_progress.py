"""Roadmaps and progress end to end: the example roadmap as it is, versions, progress against
hand-computed figures for a small data set, the region breakdown, history after a late
revision, scaleupctl, and every kind of bad input answered with the right 4xx.

The clock is fixed at 2025-10-15 12:00 UTC: September 2025 is the latest complete month.
"""

import calendar
import datetime
import json
import os
import tempfile
import unittest

import harness

SLUG = "icp-t2d-htn-be"
CLOCK = calendar.timegm((2025, 10, 15, 12, 0, 0))

# /work/shared/examples/roadmap-icp-be.json, verbatim.
EXAMPLE_ROADMAP = """{
  "programme": "icp-t2d-htn-be",
  "label": "Roadmap 2025-2027, version of January 2025",
  "baseline_date": "2025-01-01",
  "themes": [
    { "key": "practice-organisation", "name": "Primary care practice organisation" },
    { "key": "data-monitoring", "name": "Data and monitoring" },
    { "key": "financing", "name": "Healthcare financing" }
  ],
  "coverage": {
    "numerator": "patients_enrolled",
    "denominator": "eligible_population",
    "baseline": 0.04,
    "milestones": [
      { "date": "2025-12-31", "target": 0.15 },
      { "date": "2026-12-31", "target": 0.30 },
      { "date": "2027-12-31", "target": 0.50 }
    ],
    "tolerance": { "behind": 0.02, "at_risk": 0.05 }
  },
  "expansion": {
    "active_within_periods": 3,
    "sites": {
      "baseline": 1,
      "milestones": [ { "date": "2025-12-31", "target": 3 }, { "date": "2027-12-31", "target": 4 } ]
    },
    "regions": {
      "baseline": 1,
      "milestones": [ { "date": "2026-06-30", "target": 3 } ]
    },
    "tolerance": { "behind": 0.10, "at_risk": 0.25 }
  },
  "institutionalisation": {
    "items": [
      { "key": "fee-code", "theme": "financing", "indicator": "inst_fee_code", "target": 4, "due": "2027-06-30",
        "name": "Fee code for the package in the nomenclature" },
      { "key": "national-indicators", "theme": "data-monitoring", "indicator": "inst_national_indicators", "target": 4, "due": "2026-12-31",
        "name": "Package indicators in the national primary-care data system" },
      { "key": "nurse-role", "theme": "practice-organisation", "indicator": "inst_nurse_role", "target": 3, "due": "2027-12-31",
        "name": "Practice-nurse role in job classification" }
    ],
    "baseline": 0.10,
    "milestones": [ { "date": "2026-06-30", "target": 0.40 }, { "date": "2027-12-31", "target": 0.85 } ],
    "tolerance": { "behind": 0.05, "at_risk": 0.15 }
  }
}
"""


def obs(indicator, site, period, value, **extra):
    return dict(indicator=indicator, site=site, period=period, value=value, **extra)


def coverage(site, period, enrolled, eligible):
    return [obs("patients_enrolled", site, period, enrolled),
            obs("eligible_population", site, period, eligible)]


# Coverage: July (100 + 20) / 1500 = 0.08, August (120 + 30) / 1500 = 0.10, September
# (130 + 40 + 10) / 2000 = 0.09. The fee code is stalled at 1 of 4 for three quarters.
DATA = (coverage("BE-VLG-GP001", "2025-07", 100, 1000) + coverage("BE-VLG-GP002", "2025-07", 20, 500)
        + coverage("BE-VLG-GP001", "2025-08", 120, 1000)
        + coverage("BE-VLG-GP002", "2025-08", 30, 500)
        + coverage("BE-VLG-GP001", "2025-09", 130, 1000)
        + coverage("BE-VLG-GP002", "2025-09", 40, 500)
        + coverage("BE-WAL-GP001", "2025-09", 10, 500)
        + [obs("inst_fee_code", "BE", "2025Q1", 1, comment="draft submitted"),
           obs("inst_fee_code", "BE", "2025Q2", 1, comment="in committee"),
           obs("inst_fee_code", "BE", "2025Q3", 1, comment="awaiting INAMI committee"),
           obs("inst_national_indicators", "BE", "2025Q3", 2)])


def day(y, m, d):
    return datetime.date(y, m, d).toordinal()


# Days after the baseline date 2025-01-01: 2025-10-15 is day 287, 2025-12-31 day 364,
# 2026-06-30 day 545.
AT = 287


class ProgressTest(unittest.TestCase):
    """One daemon and database for the file; tests that change data restore it."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="scaleupd-e2e-progress-")
        clock = os.path.join(cls.tmp, "clock")
        with open(clock, "w", encoding="utf-8") as f:
            f.write(f"{CLOCK}\n")
        cls.conninfo = harness.fresh_database("e2e_progress")
        cls.daemon = harness.Daemon(cls.conninfo, env={"SCALEUPD_TEST_CLOCK_FILE": clock},
                                    extra_config="[alerts]\nevaluate_interval = 1s\n")
        try:
            resp = cls.daemon.request("POST", "/api/v1/programmes", harness.example_programme())
            assert resp.status == 201, resp
            resp = cls.daemon.request("PUT", f"/api/v1/programmes/{SLUG}/roadmap",
                                      EXAMPLE_ROADMAP, {"Content-Type": "application/json"})
            assert resp.status == 201, resp
            cls.first_put = resp
            resp = cls.push(DATA)
            assert resp.status == 200 and resp.body["rejected"] == 0, resp
            cls.wait_fresh()
        except BaseException:
            cls.daemon.close()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.daemon.__exit__(None, None, None)
        for name in os.listdir(cls.tmp):
            os.unlink(os.path.join(cls.tmp, name))
        os.rmdir(cls.tmp)

    @classmethod
    def push(cls, rows):
        return cls.daemon.request("POST", f"/api/v1/programmes/{SLUG}/observations",
                                  {"observations": rows})

    @classmethod
    def wait_fresh(cls):
        """Waits for the background refresh to take in every change (reads never compute
        snapshots), and returns the fresh GET …/progress."""
        def fresh():
            resp = cls.daemon.request("GET", f"/api/v1/programmes/{SLUG}/progress")
            assert resp.status == 200, resp
            return resp.body if resp.body["stale"] is False else None
        return harness.wait_until(fresh, "fresh progress snapshots")

    def months_computed(self):
        return harness.metric(self.daemon.metrics(), "scaleupd_progress_months_computed_total")

    def assert_no_error_logged(self, since):
        """Bad input is the client's business: never an ERROR line in the daemon's log."""
        errors = [line for line in self.daemon.log_lines(since) if " ERROR: " in line]
        self.assertEqual(errors, [])

    def get(self, path, status=200):
        resp = self.daemon.request("GET", f"/api/v1/programmes/{SLUG}{path}")
        self.assertEqual(resp.status, status, resp.body)
        return resp.body

    # ------------------------------------------------------------------ roadmaps

    def test_put_example_roadmap_then_versions_grow(self):
        first = self.first_put.body
        self.assertEqual(first["version"], 1)
        self.assertEqual(first["label"], "Roadmap 2025-2027, version of January 2025")
        self.assertIsNotNone(first["token_id"])
        self.assertEqual(first["roadmap"]["coverage"]["milestones"][2]["target"], 0.5)
        before = len(self.get("/roadmap")["versions"])
        resp = self.daemon.request("PUT", f"/api/v1/programmes/{SLUG}/roadmap", EXAMPLE_ROADMAP,
                                   {"Content-Type": "application/json"})
        self.assertEqual(resp.status, 200, resp.body)
        self.wait_fresh()
        self.assertEqual(resp.body["version"], before + 1)
        doc = self.get("/roadmap")
        self.assertEqual(doc["version"], before + 1)
        self.assertEqual([v["version"] for v in doc["versions"]], list(range(1, before + 2)))
        self.assertEqual([v["in_force"] for v in doc["versions"]], [False] * before + [True])
        self.assertEqual(self.get("/roadmap/versions/1")["version"], 1)
        self.get("/roadmap/versions/999", status=404)

    def test_roadmap_bad_input(self):
        mark = self.daemon.log_mark()
        resp = self.daemon.request("PUT", "/api/v1/programmes/no-such-programme/roadmap",
                                   EXAMPLE_ROADMAP)
        self.assertEqual(resp.status, 404)
        self.assertEqual(resp.body["error"]["code"], "unknown_programme")
        text = '{\n  "baseline_date": "2025-01-01",\n  "coverage": {'
        resp = self.daemon.request("PUT", f"/api/v1/programmes/{SLUG}/roadmap", text)
        self.assertEqual(resp.status, 400, resp.body)
        self.assertEqual(resp.body["error"]["line"], 3)
        self.assertGreater(resp.body["error"]["position"], 0)
        doc = json.loads(EXAMPLE_ROADMAP)
        doc["programme"] = "another"
        doc["coverage"]["numerator"] = "no_such_indicator"
        doc["coverage"]["milestones"][1]["date"] = "2025-06-30"  # before milestone 0
        doc["expansion"]["tolerance"] = {"behind": 0.3, "at_risk": 0.1}
        doc["institutionalisation"]["items"][0]["indicator"] = "hba1c_tested_pct"
        resp = self.daemon.request("PUT", f"/api/v1/programmes/{SLUG}/roadmap", doc)
        self.assertEqual(resp.status, 422, resp.body)
        paths = {d["path"] for d in resp.body["error"]["details"]}
        for path in ("$.programme", "$.coverage.numerator", "$.coverage.milestones[1].date",
                     "$.expansion.tolerance", "$.institutionalisation.items[0].indicator"):
            self.assertTrue(any(p.startswith(path) for p in paths), (path, paths))
        for bad in ("[1, 2]", "", "null", '{"baseline_date": NaN}'):
            resp = self.daemon.request("PUT", f"/api/v1/programmes/{SLUG}/roadmap", bad)
            self.assertIn(resp.status, (400, 422), (bad, resp))
        resp = self.daemon.request("GET", "/api/v1/programmes/no-such-programme/roadmap")
        self.assertEqual(resp.status, 404)
        self.assert_no_error_logged(mark)

    # ------------------------------------------------------------------ progress

    def test_progress_against_hand_computed_figures(self):
        doc = self.get("/progress")
        self.assertEqual(doc["at"], "2025-10-15")
        self.assertEqual(doc["period"], "2025-09")
        cov = doc["dimensions"]["coverage"]
        planned = 0.04 + 0.11 * AT / 364
        self.assertAlmostEqual(cov["actual"], 0.09, places=9)
        self.assertAlmostEqual(cov["planned"], planned, places=9)
        self.assertAlmostEqual(cov["gap"], 0.09 - planned, places=9)
        self.assertAlmostEqual(cov["progress"], 0.05 / 0.46, places=9)
        self.assertEqual(cov["status"], "behind")  # 3.7 points below, tolerance 2 to 5
        self.assertEqual(cov["period"], "2025-09")
        self.assertEqual(cov["sites_covered"], 3)
        self.assertEqual(cov["forecast"], self.expected_forecast(
            [(day(2025, 8, 1), 0.08), (day(2025, 9, 1), 0.10), (day(2025, 10, 1), 0.09)], 0.5))
        exp = doc["dimensions"]["expansion"]
        self.assertEqual(exp["sites"]["actual"], 3)
        self.assertAlmostEqual(exp["sites"]["planned"], 1 + 2 * AT / 364, places=9)
        self.assertEqual(exp["regions"]["actual"], 2)
        self.assertAlmostEqual(exp["regions"]["planned"], 1 + 2 * AT / 545, places=9)
        self.assertEqual(exp["status"], "on_track")
        inst = doc["dimensions"]["institutionalisation"]
        self.assertAlmostEqual(inst["actual"], (1 / 4 + 2 / 4 + 0) / 3, places=9)
        self.assertAlmostEqual(inst["planned"], 0.10 + 0.30 * AT / 545, places=9)
        self.assertEqual(inst["status"], "on_track")
        fee = inst["items"][0]
        self.assertEqual((fee["key"], fee["score"], fee["target"], fee["ratio"]),
                         ("fee-code", 1, 4, 0.25))
        self.assertEqual(fee["comment"], "awaiting INAMI committee")
        self.assertEqual(fee["due"], "2027-06-30")
        self.assertFalse(fee["overdue"])
        self.assertIsNone(inst["items"][2]["score"])

    @staticmethod
    def expected_forecast(points, target):
        """The forecast of core/progress.h (progress_forecast): least squares, the day the
        line reaches the target."""
        n = len(points)
        mx = sum(p[0] for p in points) / n
        my = sum(p[1] for p in points) / n
        slope = (sum((x - mx) * (y - my) for x, y in points)
                 / sum((x - mx) ** 2 for x, _ in points))
        if slope <= 0:
            return "not at this rate"
        reached = max(round(mx + (target - my) / slope), points[-1][0])
        return datetime.date.fromordinal(reached).isoformat()

    def test_trajectory_rule_fires_for_the_dimension_behind_only(self):
        """Coverage is behind the roadmap (see above): the default trajectory rule of coverage
        fires with actual and planned, while expansion and institutionalisation stay quiet."""
        self.get("/progress")  # snapshots are current before the evaluator reads them

        def trajectory_alerts():
            resp = self.daemon.request("GET", f"/api/v1/alerts?programme={SLUG}")
            return {a["rule"]: a for a in resp.body["alerts"] if a["kind"] == "trajectory"}

        alerts = harness.wait_until(
            lambda: "trajectory-coverage" in trajectory_alerts() and trajectory_alerts(),
            "the trajectory alert of coverage")
        coverage = alerts["trajectory-coverage"]
        self.assertEqual(coverage["state"], "firing")
        planned = 0.04 + 0.11 * AT / 364
        # shares read as the progress view shows them, not as fractions
        self.assertIn(f"coverage is behind the roadmap: 9.0 % actual, {100 * planned:.1f} % planned",
                      coverage["summary"])
        self.assertAlmostEqual(coverage["value"], 0.09, places=9)
        self.assertAlmostEqual(coverage["centre"], planned, places=9)
        for quiet in ("trajectory-expansion", "trajectory-institutionalisation"):
            self.assertNotEqual(alerts.get(quiet, {}).get("state"), "firing", alerts.get(quiet))

    def firing_expansion_alert(self, slug, target):
        """A copy of the example programme as slug, its roadmap's first milestone of expansion
        made target(roadmap) (sites or regions), the example data pushed: its firing
        trajectory alert of expansion, once the evaluator has opened it."""
        resp = self.daemon.request("POST", "/api/v1/programmes", harness.example_programme(slug=slug))
        self.assertEqual(resp.status, 201, resp.body)
        roadmap = json.loads(EXAMPLE_ROADMAP)
        roadmap["programme"] = slug
        target(roadmap["expansion"])
        resp = self.daemon.request("PUT", f"/api/v1/programmes/{slug}/roadmap", roadmap)
        self.assertEqual(resp.status, 201, resp.body)
        resp = self.daemon.request("POST", f"/api/v1/programmes/{slug}/observations",
                                   {"observations": DATA})
        self.assertEqual((resp.status, resp.body["rejected"]), (200, 0), resp.body)

        def firing():
            resp = self.daemon.request("GET", f"/api/v1/alerts?programme={slug}")
            return next((a for a in resp.body["alerts"] if a["rule"] == "trajectory-expansion"
                         and a["state"] == "firing"), None)

        return harness.wait_until(firing, "the trajectory alert of expansion")

    def test_an_expansion_behind_alerts_with_its_sites(self):
        """Expansion's figures are its sites' (under "sites" in the progress document): its
        trajectory alert carries them as value and centre, and says them in whole sites."""
        other = "icp-expansion-behind"
        # 3 sites active against a plan of 1 + 29 x 287 / 364 = 23.9 by 2025-10-15: 87 % short,
        # beyond the 25 % of "at_risk"
        alert = self.firing_expansion_alert(
            other, lambda e: e["sites"]["milestones"][0].update(target=30))
        planned = 1 + 29 * AT / 364
        self.assertEqual(alert["dimension"], "expansion")
        self.assertEqual(alert["value"], 3)
        self.assertAlmostEqual(alert["centre"], planned, places=9)
        self.assertIn(f"expansion is at risk against the roadmap: 3 sites actual, {planned:.1f} planned",
                      alert["summary"])
        resp = self.daemon.request("GET", f"/api/v1/incidents?programme={other}&kind=alert")
        titles = [n["title"] for n in resp.body["incidents"]]
        self.assertIn("Expansion against the roadmap", titles)

    def test_an_expansion_behind_by_its_regions_alerts_with_its_regions(self):
        """Expansion's status is the worse of its sites' and its regions': when the regions make
        it (sites on track), the alert's figures are the regions', so that they do not say the
        opposite of its status."""
        # 3 sites against 2.6 planned (on track); 2 regions against 1 + 19 x 287 / 545 = 11.0
        alert = self.firing_expansion_alert(
            "icp-regions-behind", lambda e: e["regions"]["milestones"][0].update(target=20))
        planned = 1 + 19 * AT / 545
        self.assertEqual(alert["value"], 2)
        self.assertAlmostEqual(alert["centre"], planned, places=9)
        self.assertIn(f"expansion is at risk against the roadmap: 2 regions actual, {planned:.1f} planned",
                      alert["summary"])

    def test_progress_by_region_names_the_lagging_region(self):
        doc = self.get("/progress?by=region")
        regions = {r["code"]: r for r in doc["regions"]}
        self.assertAlmostEqual(regions["BE-VLG"]["coverage"]["actual"], 170 / 1500, places=9)
        self.assertAlmostEqual(regions["BE-WAL"]["coverage"]["actual"], 10 / 500, places=9)
        self.assertIsNone(regions["BE-BRU"]["coverage"]["actual"])
        self.assertEqual(regions["BE-BRU"]["coverage"]["status"], "no_data")
        self.assertEqual(regions["BE-VLG"]["expansion"]["active_sites"], 2)
        self.assertEqual(regions["BE-BRU"]["expansion"]["planned_sites"], 1)
        self.assertEqual(doc["lagging_region"]["code"], "BE-WAL")

    def test_progress_at_a_past_date(self):
        doc = self.get("/progress?at=2025-09-10")  # August is the latest complete month
        self.assertEqual(doc["period"], "2025-08")
        self.assertAlmostEqual(doc["dimensions"]["coverage"]["actual"], 0.10, places=9)
        self.assertAlmostEqual(doc["dimensions"]["coverage"]["planned"],
                               0.04 + 0.11 * 252 / 364, places=9)
        doc = self.get("/progress?at=2024-06-01")  # before any data
        self.assertIsNone(doc["dimensions"]["coverage"]["actual"])
        self.assertEqual(doc["dimensions"]["coverage"]["status"], "no_data")

    def test_progress_bad_input(self):
        mark = self.daemon.log_mark()
        # a date after today would judge the latest figures against a later plan
        for query in ("at=2025-02-30", "at=yesterday", "at=20251001", "at=", "by=site",
                      "at=2999-01-01"):
            resp = self.daemon.request("GET", f"/api/v1/programmes/{SLUG}/progress?{query}")
            self.assertEqual(resp.status, 400, (query, resp.body))
            self.assertEqual(resp.body["error"]["code"], "invalid_parameter")
        resp = self.daemon.request("GET", "/api/v1/programmes/no-such-programme/progress")
        self.assertEqual(resp.status, 404)
        resp = self.daemon.request("GET", f"/api/v1/programmes/{SLUG}/progress", token=None)
        self.assertEqual(resp.status, 401)
        self.assert_no_error_logged(mark)

    def test_progress_unknown_parameter_is_400(self):
        mark = self.daemon.log_mark()
        cases = [("/progress?by=region&region=BE-VLG", "unknown_parameter", "region"),
                 ("/progress?date=2025-06-01", "unknown_parameter", "date"),  # ?at= ignored it
                 ("/progress?at=2025-06-01&at=2025-01-01", "duplicate_parameter", "at"),
                 ("/progress/history?at=2025-06-01", "unknown_parameter", "at"),
                 ("/roadmap?version=1", "unknown_parameter", "version"),
                 ("/roadmap/versions/1?format=yaml", "unknown_parameter", "format")]
        for path, code, name in cases:
            with self.subTest(path=path):
                body = self.get(path, 400)
                self.assertEqual(body["error"]["code"], code)
                self.assertIn(f'"{name}"', body["error"]["message"])
        # what the dashboard and scaleupctl send still works
        self.get("/progress?by=region")
        self.get("/progress?at=2025-06-01&by=region")
        self.get("/progress/history?by=region")
        self.assert_no_error_logged(mark)

    def test_no_roadmap_yet(self):
        other = harness.example_programme(slug="no-roadmap")
        self.assertEqual(self.daemon.request("POST", "/api/v1/programmes", other).status, 201)
        resp = self.daemon.request("GET", "/api/v1/programmes/no-roadmap/progress")
        self.assertEqual(resp.status, 404)
        self.assertEqual(resp.body["error"]["code"], "no_roadmap")

    def test_history_after_a_late_revision(self):
        history = self.get("/progress/history")
        points = history["dimensions"]["coverage"]["points"]
        self.assertEqual([p["period"] for p in points][:1] + [points[-1]["period"]],
                         ["2025-01", "2025-09"])
        self.assertEqual(len(points), 9)
        self.assertIsNone(points[0]["actual"])
        self.assertAlmostEqual(points[-1]["actual"], 0.09, places=9)
        plans = history["dimensions"]["coverage"]["plans"]
        self.assertEqual(plans[0]["milestones"][0], {"date": "2025-12-31", "target": 0.15})
        try:
            # Wallonia's practice corrects September: (130 + 40 + 60) / 2000
            resp = self.push([obs("patients_enrolled", "BE-WAL-GP001", "2025-09", 60)])
            self.assertEqual(resp.body["updated"], 1, resp.body)
            self.wait_fresh()
            history = self.get("/progress/history?by=region")
            points = history["dimensions"]["coverage"]["points"]
            self.assertAlmostEqual(points[-1]["actual"], 0.115, places=9)
            self.assertAlmostEqual(points[-2]["actual"], 0.10, places=9)
            wal = [r for r in history["regions"] if r["code"] == "BE-WAL"][0]
            self.assertAlmostEqual(wal["coverage"]["points"][-1]["actual"], 60 / 500, places=9)
            self.assertAlmostEqual(self.get("/progress")["dimensions"]["coverage"]["actual"],
                                   0.115, places=9)
        finally:
            self.push([obs("patients_enrolled", "BE-WAL-GP001", "2025-09", 10)])
        self.assertAlmostEqual(self.wait_fresh()["dimensions"]["coverage"]["actual"], 0.09,
                               places=9)

    def test_a_burst_of_pushes_is_taken_in_by_few_refreshes(self):
        """The refresh is kicked by every push that changes data, but the kicks of a burst
        share a run (the task's kick delay): a feed's batches are not each recomputed."""
        self.wait_fresh()
        samples = self.daemon.metrics()
        runs = harness.metric(samples, "scaleupd_progress_refreshes_total")
        months = harness.metric(samples, "scaleupd_progress_months_computed_total")
        batches = 20
        try:
            for i in range(batches):
                resp = self.push([obs("patients_enrolled", "BE-WAL-GP001", "2025-09", 11 + i)])
                self.assertEqual(resp.body["updated"], 1, resp.body)
            fresh = self.wait_fresh()
            self.assertAlmostEqual(fresh["dimensions"]["coverage"]["actual"],
                                   (130 + 40 + 11 + batches - 1) / 2000, places=9)
            samples = self.daemon.metrics()
            taken = harness.metric(samples, "scaleupd_progress_refreshes_total") - runs
            self.assertGreaterEqual(taken, 1)
            self.assertLessEqual(taken, batches // 4, f"{taken} refreshes for {batches} pushes")
            self.assertEqual(harness.metric(samples, "scaleupd_progress_months_computed_total")
                             - months, taken, "September alone each time")
        finally:
            self.push([obs("patients_enrolled", "BE-WAL-GP001", "2025-09", 10)])
            self.wait_fresh()

    def test_a_read_right_after_a_push_answers_the_previous_snapshot_marked_stale(self):
        """Reads never compute snapshots: right after a revision a read answers at once from
        the previous snapshot, saying it is stale and since when; the background refresh,
        kicked by the push, then brings the fresh one."""
        before = self.wait_fresh()
        self.assertIsNone(before["pending_since"])
        as_of = before["as_of"]
        self.assertRegex(as_of, r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
        computed = self.months_computed()
        self.assertIsNotNone(computed, "the setup's refresh computed months")
        try:
            # Wallonia's practice corrects September: (130 + 40 + 60) / 2000
            resp = self.push([obs("patients_enrolled", "BE-WAL-GP001", "2025-09", 60)])
            self.assertEqual(resp.body["updated"], 1, resp.body)
            for path in ("/progress", "/progress?by=region", "/progress/history"):
                doc = self.get(path)
                self.assertIs(doc["stale"], True, path)
                self.assertIsNotNone(doc["pending_since"], path)
                self.assertEqual(doc["as_of"], as_of, path)
            stale = self.get("/progress")
            self.assertAlmostEqual(stale["dimensions"]["coverage"]["actual"], 0.09, places=9,
                                   msg="the previous snapshot, not a recomputation")
            self.assertEqual(self.months_computed(), computed, "the reads computed nothing")
            fresh = self.wait_fresh()
            self.assertAlmostEqual(fresh["dimensions"]["coverage"]["actual"], 0.115, places=9)
            self.assertIsNone(fresh["pending_since"])
            self.assertGreater(fresh["as_of"], as_of)
            # September is the latest month: the revision recomputes September alone
            self.assertEqual(self.months_computed(), computed + 1)
        finally:
            self.push([obs("patients_enrolled", "BE-WAL-GP001", "2025-09", 10)])
            self.wait_fresh()

    # ------------------------------------------------------------------ scaleupctl

    def test_scaleupctl_roadmap_apply_and_progress(self):
        url = f"http://127.0.0.1:{self.daemon.port}"
        path = os.path.join(self.tmp, "roadmap.json")
        with open(path, "w", encoding="utf-8") as f:
            f.write(EXAMPLE_ROADMAP)
        common = ("--url", url, "--token", self.daemon.admin_token)
        proc = harness.scaleupctl(*common, "roadmap", "apply", path)
        self.assertIn('"version"', proc.stdout)
        self.wait_fresh()  # a new version: every month is recomputed in the background
        proc = harness.scaleupctl(*common, "progress", SLUG, "--by-region")
        lines = proc.stdout.splitlines()
        coverage = [line for line in lines if line.startswith("coverage")][0]
        self.assertIn("9.0 %", coverage)
        self.assertIn("behind", coverage)
        self.assertTrue(any(line.startswith("lagging most: Wallonia") for line in lines),
                        proc.stdout)
        proc = harness.scaleupctl(*common, "progress", SLUG, "--at", "2025-02-30", check=False)
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("at must be a date", proc.stderr)


    def test_scaleupctl_escapes_control_characters_from_the_server(self):
        """A comment is whatever a feed sent: scaleupctl must not hand its escape sequences
        (colours, cursor moves, a C1 CSI) to the terminal."""
        url = f"http://127.0.0.1:{self.daemon.port}"
        common = ("--url", url, "--token", self.daemon.admin_token)
        hostile = "awaiting \x1b[2J\x1b]0;owned\x07 committee \u009b31m"
        self.push([obs("inst_fee_code", "BE", "2025Q3", 1, comment=hostile)])
        self.wait_fresh()
        try:
            proc = harness.scaleupctl(*common, "progress", SLUG)
            self.assertNotIn("\x1b", proc.stdout)
            self.assertNotIn("\x07", proc.stdout)
            self.assertNotIn("\u009b", proc.stdout)
            line = [l for l in proc.stdout.splitlines() if "fee-code" in l][0]
            self.assertIn('"awaiting \\x1b[2J\\x1b]0;owned\\x07 committee \\x9b31m"', line)
        finally:
            self.push([obs("inst_fee_code", "BE", "2025Q3", 1, comment="awaiting INAMI committee")])
            self.wait_fresh()

if __name__ == "__main__":
    unittest.main()
