"""Values near 1e308 stored before the API bounded them (issue 12, part 2): no read of stored
data answers 500 and the evaluator never stalls on them.

Before, a region whose sum left double's range failed in SQL ("value out of range:
overflow"): GET …/series and …/chart of the region answered 500, and the evaluator logged
"could not evaluate the series changed by ingest" on every pass with its marks coming back
for ever. The values are written with SQL straight into the database, since the API refuses
them now; then every read of the programme answers 2xx, each unrepresentable point shown as
missing ("out_of_range"), never as a zero.

The clock is fixed at 2025-10-15 12:00 UTC: September 2025 is the latest complete month.
"""

import calendar
import math
import os
import re
import tempfile
import unittest

import harness

SLUG = "icp-t2d-htn-be"
API = f"/api/v1/programmes/{SLUG}"
CLOCK = calendar.timegm((2025, 10, 15, 12, 0, 0))

with open(os.path.join(harness.SOURCE_DIR, "config", "roadmap-icp-be.json"),
          encoding="utf-8") as _f:
    ROADMAP = _f.read()


def obs(indicator, site, period, value, **extra):
    return dict(indicator=indicator, site=site, period=period, value=value, **extra)


# Ordinary values for July to September at two Flemish practices and one Walloon.
DATA = [obs(ind, site, period, value)
        for period in ("2025-07", "2025-08", "2025-09")
        for site, ind, value in (("BE-VLG-GP001", "patients_enrolled", 100),
                                 ("BE-VLG-GP002", "patients_enrolled", 20),
                                 ("BE-WAL-GP001", "patients_enrolled", 10),
                                 ("BE-VLG-GP001", "eligible_population", 1000),
                                 ("BE-VLG-GP002", "eligible_population", 500),
                                 ("BE-WAL-GP001", "eligible_population", 500))] + [
    obs("hba1c_tested_pct", site, period, 50, numerator=50, denominator=100)
    for period in ("2025-07", "2025-08", "2025-09") for site in ("BE-VLG-GP001", "BE-VLG-GP002")]

RULES = [
    {"name": "enrolled-flanders", "kind": "threshold", "indicator": "patients_enrolled",
     "site": "BE-VLG", "max": 100000, "aggregate": True},
    {"name": "enrolled-practice", "kind": "threshold", "indicator": "patients_enrolled",
     "max": 100000},
    {"name": "hba1c-flanders", "kind": "spc", "indicator": "hba1c_tested_pct", "site": "BE-VLG",
     "aggregate": True},
]

# August and September at both Flemish practices: 1.7e308 enrolled and eligible each (the
# region's sums, 3.4e308, and the country's are beyond double's range, and so is the
# programme's coverage), and in September an HbA1c numerator of 1.7e308 over 1 patient.
POISON = """
UPDATE observation o SET value = 1.7e308 FROM series se, indicator i, site s
 WHERE se.programme_id = o.programme_id AND se.id = o.series_id AND i.id = se.indicator_id
 AND s.id = se.site_id AND i.code IN ('patients_enrolled', 'eligible_population')
 AND s.code IN ('BE-VLG-GP001', 'BE-VLG-GP002') AND o.period_start >= '2025-08-01';
UPDATE observation o SET numerator = 1.7e308, denominator = 1 FROM series se, indicator i, site s
 WHERE se.programme_id = o.programme_id AND se.id = o.series_id AND i.id = se.indicator_id
 AND s.id = se.site_id AND i.code = 'hba1c_tested_pct' AND o.period_start = '2025-09-01';
INSERT INTO dirty_series (programme_id, series_ids, since_periods)
 SELECT programme_id, array_agg(id ORDER BY id), array_agg(date '2025-07-01' ORDER BY id)
 FROM series GROUP BY programme_id;
INSERT INTO progress_dirty (programme_id, since_period)
 SELECT id, date '2025-07-01' FROM programme;
INSERT INTO rollup_dirty (programme_id) SELECT id FROM programme;
"""

STALLED = "could not evaluate the series changed by ingest"


class OverflowTest(unittest.TestCase):
    """One daemon, one data set, poisoned once; each test reads some of it."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="scaleupd-e2e-overflow-")
        clock = os.path.join(cls.tmp, "clock")
        with open(clock, "w", encoding="utf-8") as f:
            f.write(f"{CLOCK}\n")
        cls.conninfo = harness.fresh_database("e2e_overflow")
        cls.daemon = harness.Daemon(cls.conninfo, env={"SCALEUPD_TEST_CLOCK_FILE": clock},
                                    extra_config="[alerts]\nevaluate_interval = 1s\n")
        try:
            cls.setup_data()
        except BaseException:
            cls.daemon.close()
            raise

    @classmethod
    def setup_data(cls):
        d = cls.daemon
        resp = d.request("POST", "/api/v1/programmes", harness.example_programme())
        assert resp.status == 201, resp
        resp = d.request("PUT", f"{API}/roadmap", ROADMAP, {"Content-Type": "application/json"})
        assert resp.status == 201, resp
        for rule in RULES:
            resp = d.request("POST", f"{API}/rules", rule)
            assert resp.status in (200, 201), resp
        resp = d.request("POST", f"{API}/observations", {"observations": DATA})
        assert resp.status == 200 and resp.body["rejected"] == 0, resp
        cls.wait_evaluated("the ordinary data to be evaluated")
        cls.mark = d.log_mark()
        harness.psql(cls.conninfo, POISON)
        cls.wait_evaluated("the poisoned series to be evaluated")

    @classmethod
    def wait_evaluated(cls, what):
        """Waits until the evaluator has consumed every dirty mark, or says it could not (then
        cls.stalled holds the line, for test_the_evaluator_went_on_and_set_nothing_aside to
        fail with; the reads are still tried). GET …/progress brings the progress snapshots
        up to date itself."""
        def done():
            cls.stalled = [l for l in cls.daemon.log_lines(getattr(cls, "mark", 0))
                           if STALLED in l]
            return cls.stalled or harness.psql(cls.conninfo,
                                               "SELECT count(*) FROM dirty_series") == "0"
        harness.wait_until(done, what)

    @classmethod
    def tearDownClass(cls):
        cls.daemon.__exit__(None, None, None)
        for name in os.listdir(cls.tmp):
            os.unlink(os.path.join(cls.tmp, name))
        os.rmdir(cls.tmp)

    def get(self, path):
        resp = self.daemon.request("GET", path)
        self.assertTrue(200 <= resp.status < 300, f"GET {path}: {resp.status} {resp.body}")
        return resp.body

    def points(self, kind, indicator, site):
        doc = self.get(f"{API}/{kind}?indicator={indicator}&site={site}")
        return {p["period"]: p for p in doc["points"]}

    def assert_finite_numbers(self, doc, path="$"):
        """Every number of a document is finite (Python's json would read NaN or Infinity)."""
        if isinstance(doc, dict):
            for key, value in doc.items():
                self.assert_finite_numbers(value, f"{path}.{key}")
        elif isinstance(doc, list):
            for i, value in enumerate(doc):
                self.assert_finite_numbers(value, f"{path}[{i}]")
        elif isinstance(doc, float):
            self.assertTrue(math.isfinite(doc), f"{path} is {doc}")

    def test_the_region_and_country_series_show_the_sum_as_out_of_range(self):
        for site in ("BE-VLG", "BE"):
            points = self.points("series", "patients_enrolled", site)
            self.assertNotIn("value", points["2025-09"], "missing, never a zero")
            self.assertEqual(points["2025-09"]["out_of_range"], ["value"])
            self.assertEqual(points["2025-09"]["sites_reporting"], 3 if site == "BE" else 2)
        points = self.points("series", "patients_enrolled", "BE-VLG")
        self.assertEqual(points["2025-07"]["value"], 120)
        self.assertNotIn("out_of_range", points["2025-07"])

    def test_a_weighted_ratio_shows_what_fits(self):
        point = self.points("series", "hba1c_tested_pct", "BE-VLG")["2025-09"]
        self.assertEqual(point["out_of_range"], ["value", "numerator"])
        self.assertEqual(point["denominator"], 2)
        self.assertNotIn("value", point)

    def test_the_practice_series_shows_its_stored_value(self):
        point = self.points("series", "patients_enrolled", "BE-VLG-GP001")["2025-09"]
        self.assertEqual(point["value"], 1.7e308)

    def test_charts_leave_the_points_out_and_chart_the_others(self):
        for site in ("BE-VLG", "BE", "BE-VLG-GP001"):
            doc = self.get(f"{API}/chart?indicator=patients_enrolled&site={site}")
            self.assert_finite_numbers(doc)
            points = {p["period"]: p for p in doc["points"]}
            self.assertNotIn("value", points["2025-09"], site)
            self.assertEqual(points["2025-09"]["out_of_range"], ["value"], site)
            self.assertFalse(points["2025-09"]["has_limits"], site)
            self.assertIn("mean", points["2025-07"], site)
        doc = self.get(f"{API}/chart?indicator=hba1c_tested_pct&site=BE-VLG")
        self.assertEqual(doc["segments"][0]["n_points"], 3, "every point of the document")

    def test_feeds_progress_and_alerts_answer(self):
        for path in (f"{API}/feeds", f"{API}/progress", f"{API}/progress/history",
                     f"/api/v1/alerts?programme={SLUG}", f"{API}/rules"):
            self.assert_finite_numbers(self.get(path))

    def test_the_evaluator_went_on_and_set_nothing_aside(self):
        self.assertEqual(self.stalled, [])
        alerts = self.get(f"/api/v1/alerts?programme={SLUG}")["alerts"]
        fired = {(a["rule"], a["site"]) for a in alerts if a["state"] in ("pending", "firing")}
        # the practices' own rule sees 1.7e308 > 100000; the region's rule has no September
        self.assertIn(("enrolled-practice", "BE-VLG-GP001"), fired)
        self.assertNotIn(("enrolled-flanders", "BE-VLG"), fired)
        self.assertEqual(harness.psql(self.conninfo,
                                      "SELECT count(*) FROM evaluation_set_aside"), "0")
        samples = harness.wait_until(
            lambda: (lambda m: m if harness.metric(m, "scaleupd_evaluation_set_aside") is not None
                     else None)(self.daemon.metrics()), "the set-aside gauge")
        self.assertEqual(harness.metric(samples, "scaleupd_evaluation_set_aside"), 0)
        log = self.daemon.log_lines(self.mark)
        self.assertEqual([l for l in log if STALLED in l or "overflow" in l], [])
        self.assertEqual([l for l in log if re.search(r"\b(ERROR|FATAL|PANIC)\b", l)], [])


if __name__ == "__main__":
    unittest.main()
