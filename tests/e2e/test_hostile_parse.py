"""Hostile bodies end to end (issue 12): nesting deeper than the formats need is a 400
`too_deep` with the position of the bracket, answered at once (200,000 brackets held a
worker 54 s before); counts beyond the bound are row errors and the rest of the batch is
stored (a count near 1e308 used to be stored and overflow a region's aggregate).

The daemon runs with the test clock at 2025-06-15 12:00 UTC.
"""

import calendar
import os
import tempfile
import time
import unittest

import harness

SLUG = "icp-t2d-htn-be"
OBS = f"/api/v1/programmes/{SLUG}/observations"
JSON = {"Content-Type": "application/json"}
CLOCK = calendar.timegm((2025, 6, 15, 12, 0, 0))
DEPTH_MAX = 32  # OBS_JSON_DEPTH_MAX


class HostileParseTest(unittest.TestCase):
    """One daemon for the whole file; each test starts from empty observation tables."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="scaleupd-e2e-hostile-")
        clock = os.path.join(cls.tmp, "clock")
        with open(clock, "w", encoding="utf-8") as f:
            f.write(f"{CLOCK}\n")
        cls.conninfo = harness.fresh_database("e2e_hostile_parse")
        cls.daemon = harness.Daemon(cls.conninfo, "[server]\nmax_body_bytes = 1048576\n",
                                    env={"SCALEUPD_TEST_CLOCK_FILE": clock})
        try:
            resp = cls.daemon.request("POST", "/api/v1/programmes", harness.example_programme())
            assert resp.status == 201, resp
            cls.feed = harness.create_token(cls.conninfo, "--feed", SLUG, name="feed-hostile")
        except BaseException:
            cls.daemon.close()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.daemon.__exit__(None, None, None)
        for name in os.listdir(cls.tmp):
            os.unlink(os.path.join(cls.tmp, name))
        os.rmdir(cls.tmp)

    def setUp(self):
        harness.truncate(self.conninfo,
                         "observation, observation_revision, dirty_series, idempotency")

    def post(self, body, path=OBS):
        return self.daemon.request("POST", path, body, JSON, token=self.feed)

    def count(self):
        return int(harness.psql(self.conninfo, "SELECT count(*) FROM observation"))

    def test_deep_nesting_is_a_400_with_the_position_of_the_bracket(self):
        prefix = b'{"observations":'
        body = prefix + b"[" * 200000 + b"]" * 200000 + b"}"
        started = time.monotonic()
        resp = self.post(body)
        elapsed = time.monotonic() - started
        self.assertEqual(resp.status, 400, resp.body)
        error = resp.body["error"]
        self.assertEqual(error["code"], "too_deep", error)
        # the root object is level 1: the bracket that opens level 33 is the 32nd
        position = len(prefix) + DEPTH_MAX - 1
        self.assertEqual(error["position"], position, error)
        self.assertEqual(error["line"], 1, error)
        self.assertEqual(error["column"], position + 1, error)
        self.assertLess(elapsed, 5, "a deep body must not hold a worker")
        self.assertEqual(self.count(), 0)

    def test_deep_nesting_in_a_dhis2_body(self):
        prefix = b'{"dataValues":[{"x":'  # the first '[' after it opens level 4
        body = prefix + b"[" * 100000 + b"]" * 100000 + b"}]}"
        resp = self.post(body, path="/api/dataValueSets")
        self.assertEqual(resp.status, 400, resp.body)
        self.assertEqual(resp.body["error"]["code"], "too_deep", resp.body)
        self.assertEqual(resp.body["error"]["position"], len(prefix) + DEPTH_MAX - 3, resp.body)
        self.assertEqual(self.count(), 0)

    def test_nesting_at_the_limit_is_accepted(self):
        ignored = "[" * (DEPTH_MAX - 1) + "]" * (DEPTH_MAX - 1)
        body = ('{"ignored":' + ignored + ',"observations":[{"indicator":"patients_enrolled",'
                '"site":"BE-VLG-GP001","period":"2025-02","value":10}]}')
        resp = self.post(body)
        self.assertEqual(resp.status, 200, resp.body)
        self.assertEqual(resp.body["imported"], 1, resp.body)

    def test_counts_beyond_the_bound_are_row_errors_and_the_rest_goes_in(self):
        rows = [
            {"indicator": "patients_enrolled", "site": "BE-VLG-GP001", "period": "2025-02",
             "value": 10},
            {"indicator": "patients_enrolled", "site": "BE-VLG-GP002", "period": "2025-02",
             "value": 1.7e308},
            {"indicator": "eligible_population", "site": "BE-VLG-GP001", "period": "2025-02",
             "value": 10000000000},
            {"indicator": "hba1c_tested_pct", "site": "BE-VLG-GP001", "period": "2025-02",
             "value": 50, "numerator": 1, "denominator": 1e300},
        ]
        resp = self.post({"observations": rows})
        self.assertEqual(resp.status, 200, resp.body)
        self.assertEqual(resp.body["imported"], 2, resp.body)
        got = [(r["row"], r["field"], r["code"]) for r in resp.body["rejections"]]
        self.assertEqual(got, [(2, "value", "out_of_range"),
                               (4, "denominator", "out_of_range")], resp.body)
        for r in resp.body["rejections"]:
            self.assertIn("10000000000", r["message"], r)
        self.assertEqual(self.count(), 2)
        # the region's series reads back (it answered 500 once a count overflowed it)
        resp = self.daemon.request(
            "GET", f"/api/v1/programmes/{SLUG}/series?indicator=patients_enrolled&site=BE-VLG",
            token=self.feed)
        self.assertLess(resp.status, 500, resp.body)


if __name__ == "__main__":
    unittest.main()
