"""Indicator feeds end to end: the example files as they are, every kind of bad input a data
team sends (each a row error or a 4xx, never a 500, valid rows kept), atomic and dry runs,
Idempotency-Key replays, revisions, DHIS2's import summary and `scaleupctl push`.

The daemon runs with the test clock at 2025-06-15 12:00 UTC, so 2025-06 is the current
month and 2025-07 a future one.
"""

import calendar
import json
import os
import re
import tempfile
import unittest

import harness

SLUG = "icp-t2d-htn-be"
OBS = f"/api/v1/programmes/{SLUG}/observations"
SERIES = f"/api/v1/programmes/{SLUG}/series"
JSON = {"Content-Type": "application/json"}
CSV = {"Content-Type": "text/csv"}

# /work/shared/examples/observations.json, verbatim.
EXAMPLE_JSON = """{
  "observations": [
    { "indicator": "patients_enrolled", "site": "BE-VLG-GP001", "period": "2025-03", "value": 143 },
    { "indicator": "eligible_population", "site": "BE-VLG-GP001", "period": "2025-03", "value": 1210 },
    { "indicator": "hba1c_tested_pct", "site": "BE-VLG-GP001", "period": "2025-03", "value": 78.5, "numerator": 62, "denominator": 79 },
    { "indicator": "inst_fee_code", "site": "BE", "period": "2025Q1", "value": 1 }
  ]
}
"""

# /work/shared/examples/observations.csv, verbatim.
EXAMPLE_CSV = """indicator,site,period,value,numerator,denominator
patients_enrolled,BE-VLG-GP002,2025-04,37,,
eligible_population,BE-VLG-GP002,2025-04,884,,
bp_controlled_pct,BE-VLG-GP002,2025-04,61.2,19,31
"""

# /work/shared/examples/dhis2-dataValueSets.json, verbatim.
EXAMPLE_DHIS2 = """{
  "dataValues": [
    { "dataElement": "patients_enrolled", "period": "202505", "orgUnit": "BE-VLG-GP001", "value": "151" },
    { "dataElement": "eligible_population", "period": "202505", "orgUnit": "BE-VLG-GP001", "value": "1214" }
  ]
}
"""

CLOCK = calendar.timegm((2025, 6, 15, 12, 0, 0))
MAX_BODY = 65536


def obs(indicator, site, period, value, **extra):
    """One JSON observation."""
    return dict(indicator=indicator, site=site, period=period, value=value, **extra)


def batch(*rows):
    """A JSON observations document (bytes) of rows."""
    return json.dumps({"observations": list(rows)}).encode()


def valid_row(period="2025-02", value=10):
    """A row that is always accepted."""
    return obs("patients_enrolled", "BE-VLG-GP001", period, value)


class FeedsTest(unittest.TestCase):
    """One daemon for the whole file; each test starts from empty observation tables."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="scaleupd-e2e-feeds-")
        clock = os.path.join(cls.tmp, "clock")
        with open(clock, "w", encoding="utf-8") as f:
            f.write(f"{CLOCK}\n")
        cls.conninfo = harness.fresh_database("e2e_feeds")
        cls.daemon = harness.Daemon(cls.conninfo, f"[server]\nmax_body_bytes = {MAX_BODY}\n",
                                    env={"SCALEUPD_TEST_CLOCK_FILE": clock})
        try:
            for doc in (harness.example_programme(), cls.other_programme()):
                resp = cls.daemon.request("POST", "/api/v1/programmes", doc)
                assert resp.status == 201, resp
            cls.feed = harness.create_token(cls.conninfo, "--feed", SLUG, name="feed-icp")
            cls.other_feed = harness.create_token(cls.conninfo, "--feed", "other",
                                                  name="feed-other")
        except BaseException:
            cls.daemon.close()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.daemon.__exit__(None, None, None)
        for name in os.listdir(cls.tmp):
            os.unlink(os.path.join(cls.tmp, name))
        os.rmdir(cls.tmp)

    @staticmethod
    def other_programme():
        return harness.example_programme(
            slug="other", name="Another programme",
            sites=[{"code": "NL-GP001", "name": "Elders", "level": "practice",
                    "adopted": "2025-01-01"}],
            indicators=[{"code": "patients_enrolled", "name": "Enrolled",
                         "value_type": "count", "period_type": "monthly"}])

    def setUp(self):
        # series stay: the daemon never deletes one, and its ingest path remembers them
        harness.truncate(self.conninfo,
                         "observation, observation_revision, dirty_series, idempotency")
        self.log_mark = self.daemon.log_mark()

    def tearDown(self):
        # bad input never logs at ERROR level (and never crashes the daemon)
        errors = [l for l in self.daemon.log_lines(self.log_mark)
                  if re.search(r"\b(ERROR|FATAL|PANIC)\b", l)]
        self.assertEqual(errors, [])
        self.assertTrue(self.daemon.running())

    # ------------------------------------------------------------------ helpers

    def post(self, body, headers=JSON, query="", token=None, path=OBS):
        return self.daemon.request("POST", path + query, body, headers,
                                   token=token or self.feed)

    def summary(self, resp):
        """The import summary in DHIS2's WebMessage (the unversioned path answers as 2.38 and
        later do), after checking that the envelope agrees with the HTTP status."""
        body = resp.body
        self.assertEqual(body["httpStatusCode"], resp.status, body)
        self.assertEqual(body["httpStatus"], {200: "OK", 400: "Bad Request",
                                              409: "Conflict"}[resp.status], body)
        summary = body["response"]
        self.assertEqual(summary["responseType"], "ImportSummary", body)
        want = {"SUCCESS": "OK"}.get(summary["status"], summary["status"])
        self.assertEqual(body["status"], want, body)
        return summary

    def count(self, table):
        return int(harness.psql(self.conninfo, f"SELECT count(*) FROM {table}"))

    def value_of(self, indicator, site, period_start):
        return harness.psql(
            self.conninfo,
            "SELECT o.value FROM observation o JOIN series s ON s.id = o.series_id"
            " JOIN indicator i ON i.id = s.indicator_id JOIN site t ON t.id = s.site_id"
            f" WHERE i.code = '{indicator}' AND t.code = '{site}'"
            f" AND o.period_start = '{period_start}'")

    def assert_report(self, resp, http=200, **counts):
        self.assertEqual(resp.status, http, resp.body)
        for key, value in counts.items():
            self.assertEqual(resp.body[key], value, f"{key} in {resp.body}")

    def assert_rejects(self, resp, expected):
        """expected: [(row, field, code)]; every rejection has a message."""
        got = [(r["row"], r["field"], r["code"]) for r in resp.body["rejections"]]
        self.assertEqual(got, expected, resp.body)
        for r in resp.body["rejections"]:
            self.assertTrue(r["message"], r)

    def assert_document_error(self, resp, status, code):
        self.assertEqual(resp.status, status, resp.body)
        self.assertEqual(resp.body["error"]["code"], code, resp.body)
        self.assertTrue(resp.body["error"]["message"])
        self.assertEqual(self.count("observation"), 0)

    # ------------------------------------------------------------------ the examples

    def test_example_files_as_they_are(self):
        resp = self.post(EXAMPLE_JSON)
        self.assert_report(resp, status="ok", rows=4, imported=4, updated=0, unchanged=0,
                           rejected=0, rejections=[])
        resp = self.post(EXAMPLE_CSV, CSV)
        self.assert_report(resp, rows=3, imported=3, rejected=0)
        resp = self.post(EXAMPLE_DHIS2, path="/api/dataValueSets")
        self.assertEqual(resp.status, 200, resp.body)
        self.assertEqual(self.summary(resp)["status"], "SUCCESS")
        self.assertEqual(self.summary(resp)["importCount"],
                         {"imported": 2, "updated": 0, "ignored": 0, "deleted": 0})
        self.assertEqual(self.count("observation"), 9)
        self.assertEqual(self.value_of("bp_controlled_pct", "BE-VLG-GP002", "2025-04-01"),
                         "61.2")
        # sent again: all unchanged, no revisions
        self.assert_report(self.post(EXAMPLE_JSON), unchanged=4, imported=0, updated=0)
        self.assert_report(self.post(EXAMPLE_CSV, CSV), unchanged=3)
        self.assertEqual(self.count("observation_revision"), 0)
        # an admin token may push too, and a charset parameter is fine
        resp = self.post(EXAMPLE_JSON, {"Content-Type": "application/json; charset=utf-8"},
                         token=self.daemon.admin_token)
        self.assert_report(resp, unchanged=4)

    # ------------------------------------------------------------------ whole-document errors

    def test_malformed_json(self):
        for body in (b'{"observations": [{"indicator": "x",', b"not json", b"[1, 2",
                     b'{"observations": [}'):
            resp = self.post(body)
            self.assert_document_error(resp, 400, "malformed_json")
            self.assertIn("line", resp.body["error"], resp.body)

    def test_wrong_json_shape(self):
        for body in (b"[]", b'{"rows": []}', b'{"observations": {}}', b'"observations"'):
            resp = self.post(body)
            self.assertEqual(resp.status, 400, (body, resp.body))
            self.assertIn(resp.body["error"]["code"],
                          ("invalid_document", "missing_field"), resp.body)

    def test_empty_batch_and_body(self):
        self.assert_document_error(self.post(b'{"observations": []}'), 400, "empty_batch")
        self.assert_document_error(self.post(b"indicator,site,period,value\n", CSV), 400,
                                   "empty_batch")
        self.assert_document_error(self.post(b""), 400, "empty_body")

    def test_csv_unterminated_quote(self):
        body = b'indicator,site,period,value\npatients_enrolled,"BE-VLG-GP001,2025-02,10\n'
        self.assert_document_error(self.post(body, CSV), 400, "unterminated_quote")

    def test_csv_missing_unknown_and_duplicate_header(self):
        self.assert_document_error(
            self.post(b"indicator,site,period\npatients_enrolled,BE-VLG-GP001,2025-02\n", CSV),
            400, "missing_column")
        self.assert_document_error(
            self.post(b"indicator,site,period,value,colour\n"
                      b"patients_enrolled,BE-VLG-GP001,2025-02,10,red\n", CSV),
            400, "unknown_column")
        self.assert_document_error(
            self.post(b"indicator,site,period,value,value\n"
                      b"patients_enrolled,BE-VLG-GP001,2025-02,10,10\n", CSV),
            400, "duplicate_column")
        # a file without a header: its first data row is read as the header
        self.assertEqual(
            self.post(b"patients_enrolled,BE-VLG-GP001,2025-02,10\n", CSV).status, 400)

    def test_csv_bom_crlf_quotes_and_column_order(self):
        body = ("\ufeffsite,Indicator,value,period\r\n"
                "BE-VLG-GP001,patients_enrolled,10,2025-01\r\n"
                "\"BE-VLG-GP001\", patients_enrolled , 11 ,\"2025-02\"\r\n"
                "\r\n"
                "BE-VLG-GP001,patients_enrolled,12,2025-03").encode()
        resp = self.post(body, CSV)
        self.assert_report(resp, status="ok", rows=3, imported=3, rejected=0)
        self.assertEqual(self.value_of("patients_enrolled", "BE-VLG-GP001", "2025-03-01"), "12")

    def test_body_over_the_cap(self):
        rows = [valid_row(f"{2000 + i // 12}-{i % 12 + 1:02d}", i) for i in range(1200)]
        body = batch(*rows)
        self.assertGreater(len(body), MAX_BODY)
        resp = self.post(body)
        self.assertEqual(resp.status, 413)
        self.assertEqual(resp.body["error"]["code"], "body_too_large")
        # far over the cap, evhttp refuses it itself: still 413, never a 500
        self.assertEqual(self.post(body * 3).status, 413)
        self.assertEqual(self.count("observation"), 0)

    def test_wrong_content_type(self):
        for ctype in ("text/plain", "application/x-www-form-urlencoded", "application/xml"):
            resp = self.post(EXAMPLE_JSON, {"Content-Type": ctype})
            self.assertEqual(resp.status, 415, (ctype, resp.body))
            self.assertEqual(resp.body["error"]["code"], "unsupported_media_type")
        resp = self.post(EXAMPLE_JSON, {})
        self.assertEqual(resp.status, 415)
        resp = self.post(EXAMPLE_DHIS2, {"Content-Type": "application/xml"},
                         path="/api/dataValueSets")
        self.assertEqual(resp.status, 415)
        self.assertEqual(self.count("observation"), 0)

    def test_tokens(self):
        resp = self.post(EXAMPLE_JSON, token=self.other_feed)
        self.assertEqual(resp.status, 403, resp.body)
        self.assertEqual(resp.body["error"]["code"], "forbidden")
        resp = self.daemon.request("POST", OBS, EXAMPLE_JSON, JSON, token=None)
        self.assertEqual(resp.status, 401)
        resp = self.daemon.request("POST", OBS, EXAMPLE_JSON, JSON, token="sud_nope")
        self.assertEqual(resp.status, 401)
        read = harness.create_token(self.conninfo, "--read", name="reader")
        self.assertEqual(self.post(EXAMPLE_JSON, token=read).status, 403)
        resp = self.post(EXAMPLE_JSON, path="/api/v1/programmes/nope/observations",
                         token=self.daemon.admin_token)
        self.assertEqual(resp.status, 404)
        self.assertEqual(self.count("observation"), 0)

    # ------------------------------------------------------------------ row errors

    def test_json_row_errors_keep_valid_rows(self):
        rows = [
            valid_row("2025-01", 1),                                           # 1 ok
            obs("patients_enrolled", "BE-VLG-GP001", "2025-02", "12"),          # 2 string value
            obs("patients_enrolled", 7, "2025-02", 12),                         # 3 site number
            {"indicator": "patients_enrolled", "site": "BE-VLG-GP001", "value": 1},  # 4
            obs("patients_enrolled", "BE-VLG-GP001", "2025-02", 1, colour="red"),  # 5
            obs("patients_enrolled", "BE-VLG-GP001", "2025-02", -3),            # 6 negative
            obs("patients_enrolled", "BE-VLG-GP001", "2025-02", 2.5),           # 7 fraction
            obs("hba1c_tested_pct", "BE-VLG-GP001", "2025-02", 100.5),          # 8
            obs("hba1c_tested_pct", "BE-VLG-GP001", "2025-03", -0.1),           # 9
            obs("inst_fee_code", "BE", "2025Q1", 5),                            # 10 score > 4
            obs("inst_fee_code", "BE", "2024Q4", -1),                           # 11 score < 0
            obs("inst_fee_code", "BE", "2024Q3", 2.5),                          # 12
            obs("nope", "BE-VLG-GP001", "2025-02", 1),                          # 13
            obs("patients_enrolled", "BE-XX-GP999", "2025-02", 1),              # 14
            obs("patients_enrolled", "NL-GP001", "2025-02", 1),                 # 15 other prog.
            obs("patients_enrolled", "BE-VLG-GP001", "2025-13", 1),             # 16
            obs("patients_enrolled", "BE-VLG-GP001", "2025-00", 1),             # 17
            obs("patients_enrolled", "BE-VLG-GP001", "2025Q1", 1),              # 18 type
            obs("patients_enrolled", "BE-VLG-GP001", "2025-07", 1),             # 19 future
            obs("inst_fee_code", "BE", "2025Q3", 1),                            # 20 future
            obs("hba1c_tested_pct", "BE-VLG-GP001", "2025-04", 50,
                numerator=-1, denominator=10),                                  # 21
            obs("hba1c_tested_pct", "BE-VLG-GP001", "2025-05", 50,
                numerator=11, denominator=10),                                  # 22
            "not an object",                                                    # 23
            obs("patients_enrolled", "BE-VLG-GP002", "2025-06", 9),             # 24 ok (now)
            obs("patients_enrolled", "BE-VLG-GP001", "2025-02", None),          # 25 null
        ]
        resp = self.post(batch(*rows))
        self.assert_report(resp, status="partial", rows=25, imported=2, rejected=23)
        self.assert_rejects(resp, [
            (2, "value", "invalid_type"), (3, "site", "invalid_type"),
            (4, "period", "missing_field"), (5, "colour", "unknown_field"),
            (6, "value", "out_of_range"), (7, "value", "out_of_range"),
            (8, "value", "out_of_range"), (9, "value", "out_of_range"),
            (10, "value", "out_of_range"), (11, "value", "out_of_range"),
            (12, "value", "out_of_range"), (13, "indicator", "unknown_indicator"),
            (14, "site", "unknown_site"), (15, "site", "unknown_site"),
            (16, "period", "invalid_period"), (17, "period", "invalid_period"),
            (18, "period", "period_type_mismatch"), (19, "period", "future_period"),
            (20, "period", "future_period"), (21, "numerator", "out_of_range"),
            (22, "numerator", "out_of_range"), (23, "", "invalid_type"),
            (25, "value", resp.body["rejections"][-1]["code"])])
        # obs_parse.h documents null as missing_field; the parser says invalid_type
        self.assertIn(resp.body["rejections"][-1]["code"], ("missing_field", "invalid_type"))
        self.assertEqual(self.count("observation"), 2)

    def test_impossible_periods(self):
        rows = [obs("patients_enrolled", "BE-VLG-GP001", p, 1)
                for p in ("2025-13", "2025-00", "2025-1", "March 2025", "")]
        rows += [obs("inst_fee_code", "BE", p, 1) for p in ("2025Q5", "2025Q0", "2025q1")]
        resp = self.post(batch(*rows, valid_row()))
        self.assert_report(resp, imported=1, rejected=8)
        codes = [r["code"] for r in resp.body["rejections"]]
        self.assertEqual(codes, ["invalid_period"] * 4 + ["missing_field"] +
                         ["invalid_period"] * 3, resp.body)
        # weeks are checked by the period syntax before the indicator's type
        resp = self.post(batch(*[obs("patients_enrolled", "BE-VLG-GP001", p, 1)
                                 for p in ("2025W54", "2025W00", "2025W53", "2020W53")]))
        self.assert_report(resp, http=422, rejected=4)
        self.assertEqual([r["code"] for r in resp.body["rejections"]],
                         ["invalid_period"] * 3 + ["period_type_mismatch"], resp.body)

    def test_not_finite_numbers(self):
        body = ('{"observations": ['
                '{"indicator": "patients_enrolled", "site": "BE-VLG-GP001", "period": "2025-01",'
                ' "value": NaN},'
                '{"indicator": "patients_enrolled", "site": "BE-VLG-GP001", "period": "2025-02",'
                ' "value": Infinity},'
                '{"indicator": "patients_enrolled", "site": "BE-VLG-GP001", "period": "2025-03",'
                ' "value": -Infinity},'
                '{"indicator": "patients_enrolled", "site": "BE-VLG-GP001", "period": "2025-04",'
                ' "value": 1e400},'
                '{"indicator": "patients_enrolled", "site": "BE-VLG-GP001", "period": "2025-05",'
                ' "value": 5}]}')
        resp = self.post(body)
        self.assert_report(resp, imported=1, rejected=4)
        self.assert_rejects(resp, [(i, "value", "not_finite") for i in range(1, 5)])
        csv = ("indicator,site,period,value,numerator,denominator\n"
               "patients_enrolled,BE-VLG-GP002,2025-01,NaN,,\n"
               "patients_enrolled,BE-VLG-GP002,2025-02,inf,,\n"
               "patients_enrolled,BE-VLG-GP002,2025-03,1e400,,\n"
               "patients_enrolled,BE-VLG-GP002,2025-04,twelve,,\n"
               "hba1c_tested_pct,BE-VLG-GP002,2025-04,50,1e999,10\n"
               "patients_enrolled,BE-VLG-GP002,2025-05,12,,\n")
        resp = self.post(csv, CSV)
        self.assert_report(resp, imported=1, rejected=5)
        self.assert_rejects(resp, [(1, "value", "not_finite"), (2, "value", "not_finite"),
                                   (3, "value", "not_finite"), (4, "value", "invalid_number"),
                                   (5, "numerator", "not_finite")])

    def test_csv_row_errors(self):
        csv = ("indicator,site,period,value\n"
               "patients_enrolled,BE-VLG-GP001,2025-01,1\n"
               "patients_enrolled,BE-VLG-GP001,2025-02\n"
               "patients_enrolled,BE-VLG-GP001,2025-03,3,extra\n"
               ",BE-VLG-GP001,2025-04,4\n"
               "patients_enrolled,BE-VLG-GP001,2025-05,-5\n"
               "patients_enrolled,BE-VLG-GP001,2025-06,6\n")
        resp = self.post(csv, CSV)
        self.assert_report(resp, status="partial", rows=6, imported=2, rejected=4)
        self.assert_rejects(resp, [(2, "", "column_count"), (3, "", "column_count"),
                                   (4, "indicator", "missing_field"),
                                   (5, "value", "out_of_range")])

    def test_invalid_utf8(self):
        json_body = (b'{"observations": [{"indicator": "patients_enrolled", "site": "BE-VLG-\xff",'
                     b' "period": "2025-01", "value": 1},'
                     b'{"indicator": "patients_enrolled", "site": "BE-VLG-GP001",'
                     b' "period": "2025-02", "value": 2, "comment": "caf\xc3"}, '
                     + json.dumps(valid_row("2025-03")).encode() + b"]}")
        resp = self.post(json_body)
        self.assert_report(resp, imported=1, rejected=2)
        self.assert_rejects(resp, [(1, "site", "invalid_utf8"), (2, "comment", "invalid_utf8")])
        for r in resp.body["rejections"]:  # the message quotes no raw bytes
            self.assertNotIn("\ufffd", r["message"])
        csv_body = (b"indicator,site,period,value,comment\n"
                    b"patients_enrolled,BE-VLG-GP002,2025-01,1,\xe2\x28\xa1\n"
                    b"patients_enrolled,BE-VLG-GP002,2025-02,2,ok\n")
        resp = self.post(csv_body, CSV)
        self.assert_report(resp, imported=1, rejected=1)
        self.assert_rejects(resp, [(1, "comment", "invalid_utf8")])
        # whatever was stored is valid UTF-8 (the database would refuse anything else)
        self.assertEqual(self.count("observation WHERE comment IS NOT NULL"), 1)

    def test_same_key_twice_rejects_both(self):
        resp = self.post(batch(valid_row("2025-01", 1), valid_row("2025-02", 2),
                               valid_row("2025-01", 3), valid_row("2025-03", 4)))
        self.assert_report(resp, imported=2, rejected=2)
        self.assert_rejects(resp, [(1, "", "duplicate_key"), (3, "", "duplicate_key")])
        # each names the other row
        self.assertIn("3", resp.body["rejections"][0]["message"])
        self.assertIn("1", resp.body["rejections"][1]["message"])
        self.assertEqual(self.value_of("patients_enrolled", "BE-VLG-GP001", "2025-01-01"), "")

    def test_all_rows_rejected_is_422_and_stores_nothing(self):
        resp = self.post(batch(obs("nope", "BE-VLG-GP001", "2025-01", 1)))
        self.assert_report(resp, http=422, imported=0, rejected=1)
        self.assertEqual(resp.body["status"], "rejected")
        self.assertEqual(self.count("observation"), 0)

    # ------------------------------------------------------------------ atomic, dry run

    def test_atomic_stores_nothing_when_a_row_is_rejected(self):
        body = batch(valid_row("2025-01"), valid_row("2025-02"),
                     obs("patients_enrolled", "BE-VLG-GP001", "2025-13", 1))
        resp = self.post(body, query="?atomic=true")
        self.assert_report(resp, http=422, imported=0, updated=0, unchanged=0, rejected=1)
        self.assertEqual(resp.body["status"], "rejected")
        self.assertTrue(resp.body["atomic"])
        self.assertEqual(self.count("observation"), 0)
        self.assertEqual(self.count("dirty_series"), 0)
        # without a rejected row an atomic batch is stored whole
        resp = self.post(batch(valid_row("2025-01"), valid_row("2025-02")), query="?atomic=true")
        self.assert_report(resp, imported=2)
        self.assertEqual(self.count("observation"), 2)
        self.assertEqual(self.post(EXAMPLE_JSON, query="?atomic=maybe").status, 400)

    def test_dry_run_reports_counts_and_stores_nothing(self):
        self.assert_report(self.post(batch(valid_row("2025-01", 1))), imported=1)
        body = batch(valid_row("2025-01", 2), valid_row("2025-02", 2), valid_row("2025-03", 3),
                     obs("nope", "BE-VLG-GP001", "2025-01", 1))
        resp = self.post(body, query="?dry_run=true")
        self.assert_report(resp, imported=2, updated=1, unchanged=0, rejected=1)
        self.assertTrue(resp.body["dry_run"])
        self.assertEqual(self.count("observation"), 1)
        self.assertEqual(self.count("observation_revision"), 0)
        self.assertEqual(self.value_of("patients_enrolled", "BE-VLG-GP001", "2025-01-01"), "1")
        # a dry run with a key stores no answer: the real run afterwards is not a replay
        resp = self.post(body, {**JSON, "Idempotency-Key": "dry"}, query="?dry_run=true")
        self.assertEqual(resp.status, 200)
        self.assertEqual(self.count("idempotency"), 0)
        resp = self.post(EXAMPLE_DHIS2, query="?dry_run=true", path="/api/dataValueSets")
        self.assertEqual(resp.status, 200, resp.body)
        self.assertEqual(self.summary(resp)["importCount"]["imported"], 2)
        self.assertEqual(self.count("observation"), 1)

    def test_dry_run_of_a_new_series_then_the_real_push(self):
        # the data team's "validate, then send": the dry run's series never existed, and the
        # real push must not be stored under it (a series this file uses nowhere else)
        rows = batch(obs("eligible_population", "BE-BRU-GP001", "2025-01", 900),
                     obs("eligible_population", "BE-BRU-GP001", "2025-02", 905))
        self.assert_report(self.post(rows, query="?dry_run=true"), imported=2)
        self.assert_report(self.post(rows), imported=2)
        self.assert_report(self.post(batch(obs("eligible_population", "BE-BRU-GP001", "2025-03",
                                               910))), imported=1)
        orphans = harness.psql(self.conninfo, "SELECT count(*) FROM observation o WHERE NOT"
                               " EXISTS (SELECT 1 FROM series s WHERE s.programme_id ="
                               " o.programme_id AND s.id = o.series_id)")
        self.assertEqual(orphans, "0")
        resp = self.daemon.request(
            "GET", f"{SERIES}?indicator=eligible_population&site=BE-BRU-GP001")
        self.assertEqual(resp.status, 200, resp.body)
        self.assertEqual([(p["period"], p["value"]) for p in resp.body["points"]],
                         [("2025-01", 900), ("2025-02", 905), ("2025-03", 910)])

    # ------------------------------------------------------------------ upsert and revisions

    def test_update_keeps_revision_and_series_shows_it(self):
        self.assert_report(self.post(batch(valid_row("2025-01", 10), valid_row("2025-02", 20))),
                           imported=2)
        resp = self.post(batch(valid_row("2025-01", 11), valid_row("2025-02", 20)),
                         token=self.daemon.admin_token)
        self.assert_report(resp, imported=0, updated=1, unchanged=1)
        self.assertEqual(self.count("observation_revision"), 1)
        # (the dirty mark of the update is checked in tests/pg/test_observations.c: here the
        # daemon's evaluator consumes it at once)
        resp = self.daemon.request(
            "GET", f"{SERIES}?indicator=patients_enrolled&site=BE-VLG-GP001&revisions=true")
        self.assertEqual(resp.status, 200, resp.body)
        points = resp.body["points"]
        self.assertEqual([(p["period"], p["value"]) for p in points],
                         [("2025-01", 11), ("2025-02", 20)])
        revisions = points[0]["revisions"]
        self.assertEqual(len(revisions), 1)
        self.assertEqual(revisions[0]["value"], 10)
        self.assertEqual(revisions[0]["token"], "feed-icp")
        self.assertEqual(revisions[0]["replaced_by"], "e2e admin")
        self.assertIn("replaced_at", revisions[0])
        # without revisions=true the history is left out
        resp = self.daemon.request(
            "GET", f"{SERIES}?indicator=patients_enrolled&site=BE-VLG-GP001")
        self.assertNotIn("revisions", resp.body["points"][0])

    def test_path_and_query_values_that_are_not_utf8_are_400(self):
        """%FF decodes to a byte that is not UTF-8: it names nothing and the database refuses
        it as text, which answered 500. Now 400 invalid_encoding, naming the parameter."""
        for path, name in ((f"{SERIES}?indicator=patients_enrolled&site=%FF%FEx", "site"),
                           ("/api/v1/programmes/%FFx/series?indicator=a&site=b", "slug")):
            with self.subTest(path=path):
                resp = self.daemon.request("GET", path)
                self.assertEqual(resp.status, 400, resp.body)
                self.assertEqual(resp.body["error"]["code"], "invalid_encoding")
                self.assertIn(f'"{name}"', resp.body["error"]["message"])
        resp = self.daemon.request("POST", OBS, batch(), headers={"Idempotency-Key": b"\xff",
                                                                 "Content-Type": "application/json"})
        self.assertEqual(resp.status, 400, resp.body)
        self.assertEqual(resp.body["error"]["code"], "invalid_idempotency_key")
        resp = self.daemon.request("POST", "/api/dataValueSets?programme=%FF", {"dataValues": []})
        self.assertEqual(resp.status, 400, resp.body)
        self.assertEqual(resp.body["error"]["code"], "invalid_encoding")

    def test_series_region_aggregates_and_bounds(self):
        self.post(EXAMPLE_JSON)
        self.post(EXAMPLE_CSV, CSV)
        self.post(batch(obs("hba1c_tested_pct", "BE-VLG-GP002", "2025-03", 50,
                            numerator=10, denominator=20)))
        resp = self.daemon.request("GET", f"{SERIES}?indicator=hba1c_tested_pct&site=BE-VLG")
        self.assertEqual(resp.status, 200, resp.body)
        self.assertTrue(resp.body["aggregated"])
        point = resp.body["points"][0]
        self.assertEqual(point["period"], "2025-03")
        self.assertAlmostEqual(point["value"], 72 / 99 * 100)
        self.assertEqual(point["sites_reporting"], 2)
        resp = self.daemon.request(
            "GET", f"{SERIES}?indicator=patients_enrolled&site=BE&from=2025-04-01&to=2025-04-30")
        self.assertEqual([(p["period"], p["value"], p["sites_reporting"])
                          for p in resp.body["points"]], [("2025-04", 37, 1)])
        for query, status in (("indicator=nope&site=BE", 404),
                              ("indicator=patients_enrolled&site=NL-GP001", 404),
                              ("indicator=patients_enrolled", 400),
                              ("indicator=patients_enrolled&site=BE&from=2025-13-01", 400),
                              ("indicator=patients_enrolled&site=BE&revisions=perhaps", 400)):
            resp = self.daemon.request("GET", f"{SERIES}?{query}")
            self.assertEqual(resp.status, status, (query, resp.body))
        # another programme's feed token may not read this one
        resp = self.daemon.request("GET", f"{SERIES}?indicator=patients_enrolled&site=BE",
                                   token=self.other_feed)
        self.assertIn(resp.status, (403,), resp.body)

    def test_concurrent_overlapping_batches_never_deadlock(self):
        # batches that share series in different orders and sizes, sent at once: each is
        # committed whole (no 500 from a deadlock between their dirty-series marks)
        sites = ["BE-VLG-GP001", "BE-VLG-GP002", "BE-WAL-GP001"]
        indicators = ["patients_enrolled", "eligible_population"]
        months = [f"{2020 + m // 12}-{m % 12 + 1:02d}" for m in range(60)]
        futures = []
        for k in range(8):
            rows = [obs(i, s, p, k) for p in months[k * 7:k * 7 + 7 + k]
                    for s in sites[k % 3:] + sites[:k % 3] for i in indicators]
            if k % 2:
                rows.reverse()
            futures.append(self.daemon.request_async("POST", OBS, batch(*rows), JSON,
                                                     token=self.feed))
        for f in futures:
            resp = f.result()
            self.assertEqual(resp.status, 200, resp.body)
            self.assertEqual(resp.body["rejected"], 0)

    # ------------------------------------------------------------------ idempotency

    def test_idempotency_key_replays_without_applying(self):
        self.post(batch(valid_row("2025-01", 1)))
        keyed = batch(valid_row("2025-01", 2))
        headers = {**JSON, "Idempotency-Key": "push-2025-01"}
        first = self.post(keyed, headers)
        self.assert_report(first, updated=1)
        self.post(batch(valid_row("2025-01", 3)))  # someone corrects it since
        self.assertEqual(self.count("observation_revision"), 2)

        again = self.post(keyed, headers)
        self.assertEqual(again.status, first.status)
        self.assertEqual(again.body, first.body)
        self.assertEqual(again.headers.get("Idempotent-Replayed"), "true")
        self.assertEqual(self.count("observation_revision"), 2)
        self.assertEqual(self.value_of("patients_enrolled", "BE-VLG-GP001", "2025-01-01"), "3")

        other = self.post(batch(valid_row("2025-01", 4)), headers)
        self.assertEqual(other.status, 422, other.body)
        self.assertEqual(other.body["error"]["code"], "idempotency_key_reused")
        self.assertEqual(self.value_of("patients_enrolled", "BE-VLG-GP001", "2025-01-01"), "3")
        # the same body with other options is another request
        self.assertEqual(self.post(keyed, headers, query="?atomic=true").status, 422)
        # a key is per token: the admin's push-2025-01 is new
        resp = self.post(keyed, headers, token=self.daemon.admin_token)
        self.assert_report(resp, updated=1)
        self.assertEqual(self.post(keyed, {**JSON, "Idempotency-Key": "k" * 256}).status, 400)

    def test_idempotency_replays_a_rejection(self):
        headers = {**JSON, "Idempotency-Key": "bad-batch"}
        body = batch(obs("nope", "BE-VLG-GP001", "2025-01", 1))
        first = self.post(body, headers)
        self.assertEqual(first.status, 422)
        again = self.post(body, headers)
        self.assertEqual((again.status, again.body), (first.status, first.body))

    # ------------------------------------------------------------------ DHIS2

    def test_dhis2_import_summary_with_conflicts(self):
        body = json.dumps({"period": "202504", "orgUnit": "BE-VLG-GP002",
                           "dataValues": [
                               {"dataElement": "patients_enrolled", "value": "40",
                                "categoryOptionCombo": "HllvX50cXC0"},
                               {"dataElement": "nope", "value": "1"},
                               {"dataElement": "eligible_population", "value": "abc"},
                               {"dataElement": "eligible_population", "period": "2025W5",
                                "value": "1"},
                               {"dataElement": "eligible_population", "orgUnit": "BE-VLG-GP001",
                                "value": 900}]})
        resp = self.post(body, path="/api/dataValueSets")
        # DHIS2 2.38 and later: a WebMessage, 409 when any value conflicts
        self.assertEqual(resp.status, 409, resp.body)
        summary = self.summary(resp)
        self.assertEqual(summary["status"], "WARNING")
        self.assertEqual(summary["importCount"],
                         {"imported": 2, "updated": 0, "ignored": 3, "deleted": 0})
        conflicts = summary["conflicts"]
        self.assertEqual(len(conflicts), 3)
        self.assertEqual([c["indexes"] for c in conflicts], [[1], [2], [3]])
        self.assertEqual(summary["rejectedIndexes"], [1, 2, 3])
        # DHIS2's E-codes: data element not found, value not of its type, period type
        self.assertEqual([c["errorCode"] for c in conflicts], ["E7610", "E7619", "E7632"])
        self.assertEqual([c.get("property") for c in conflicts],
                         ["dataElement", "value", None])
        self.assertEqual([c["objects"] for c in conflicts],
                         [{"dataElement": "nope"}, {"dataElement": "eligible_population"},
                          {"period": "2025W5", "dataElement": "eligible_population"}])
        for c in conflicts:
            self.assertTrue(c["object"] and c["value"], c)
        # versions before 38 answer the bare summary, with 200, as DHIS2 did
        harness.truncate(self.conninfo, "observation, observation_revision, dirty_series")
        resp = self.post(body, path="/api/37/dataValueSets")
        self.assertEqual(resp.status, 200, resp.body)
        self.assertEqual((resp.body["responseType"], resp.body["status"]),
                         ("ImportSummary", "WARNING"))
        self.assertEqual(resp.body["rejectedIndexes"], [1, 2, 3])
        self.assertEqual(self.value_of("eligible_population", "BE-VLG-GP001", "2025-04-01"),
                         "900")
        # the same again: everything that was imported is now ignored as unchanged
        resp = self.post(body, path="/api/dataValueSets")
        self.assertEqual(self.summary(resp)["importCount"]["ignored"], 5)
        # nothing acceptable: ERROR
        resp = self.post(json.dumps({"dataValues": [
            {"dataElement": "nope", "period": "202501", "orgUnit": "BE", "value": "1"}]}),
            path="/api/dataValueSets")
        self.assertEqual(resp.status, 409, resp.body)
        self.assertEqual(self.summary(resp)["status"], "ERROR")
        # every version DHIS2 serves, and no other
        for version in (28, 38, 40, 42):
            resp = self.post(EXAMPLE_DHIS2, path=f"/api/{version}/dataValueSets")
            self.assertEqual(resp.status, 200, (version, resp.body))
        for segment in ("27", "43", "v1", "4O"):
            resp = self.post(EXAMPLE_DHIS2, path=f"/api/{segment}/dataValueSets")
            self.assertEqual(resp.status, 404, (segment, resp.body))
        # an admin token names the programme; without it, 400
        resp = self.post(EXAMPLE_DHIS2, path="/api/dataValueSets",
                         token=self.daemon.admin_token)
        self.assertEqual(resp.status, 400, resp.body)
        resp = self.post(EXAMPLE_DHIS2, path="/api/dataValueSets", query=f"?programme={SLUG}",
                         token=self.daemon.admin_token)
        self.assertEqual(resp.status, 200, resp.body)

    def test_feed_token_cannot_tell_other_programmes_sites(self):
        """A site code of another programme and a code nobody has read the same to a feed
        token (code and message); an admin is told which is which."""
        rows = [obs("patients_enrolled", "NL-GP001", "2025-02", 1),     # the other programme's
                obs("patients_enrolled", "NL-GP002", "2025-02", 1)]     # nobody's
        resp = self.post(batch(*rows))
        self.assertEqual(resp.status, 422, resp.body)
        got = [(r["code"], r["message"].replace("NL-GP001", "X").replace("NL-GP002", "X"))
               for r in resp.body["rejections"]]
        self.assertEqual(got[0], got[1], got)
        self.assertEqual(got[0][0], "unknown_site")
        # the same through DHIS2's route
        body = json.dumps({"period": "202502", "dataValues": [
            {"dataElement": "patients_enrolled", "orgUnit": code, "value": "1"}
            for code in ("NL-GP001", "NL-GP002")]})
        resp = self.post(body, path="/api/dataValueSets")
        self.assertEqual(resp.status, 409, resp.body)
        got = [(c["errorCode"], c["value"].replace("NL-GP001", "X").replace("NL-GP002", "X"),
                c["objects"]["organisationUnit"].replace("NL-GP001", "X").replace("NL-GP002", "X"))
               for c in self.summary(resp)["conflicts"]]
        self.assertEqual(got[0], got[1], got)
        # an admin may be told that the code is another programme's
        resp = self.post(batch(*rows), token=self.daemon.admin_token)
        self.assertEqual([r["code"] for r in resp.body["rejections"]],
                         ["site_not_in_programme", "unknown_site"], resp.body)
        self.assertEqual(self.count("observation"), 0)

    # ------------------------------------------------------------------ query parameters

    def test_unknown_query_parameter_is_400_and_stores_nothing(self):
        cases = [("?dryrun=true", "unknown_parameter", "dryrun"),  # a typo once stored the data
                 ("?dry_run=true&dryRun=true", "unknown_parameter", "dryRun"),
                 ("?programme=" + SLUG, "unknown_parameter", "programme"),
                 ("?atomic=true&atomic=false", "duplicate_parameter", "atomic")]
        for query, code, name in cases:
            with self.subTest(query=query):
                resp = self.post(EXAMPLE_JSON, query=query)
                self.assertEqual(resp.status, 400, resp.body)
                self.assertEqual(resp.body["error"]["code"], code)
                self.assertIn(f'"{name}"', resp.body["error"]["message"])
        self.assertEqual(self.count("observation"), 0)

    def assert_dhis2_refused(self, resp, parameter, code="unsupported_parameter"):
        """A 400 WebMessage refusing the request for parameter, nothing imported."""
        self.assertEqual(resp.status, 400, resp.body)
        summary = self.summary(resp)
        self.assertIn(parameter, resp.body["message"])
        self.assertEqual(summary["status"], "ERROR")
        self.assertEqual(summary["importCount"],
                         {"imported": 0, "updated": 0, "ignored": 0, "deleted": 0})
        (conflict,) = summary["conflicts"]
        self.assertEqual((conflict["object"], conflict["errorCode"]), (parameter, code),
                         conflict)
        self.assertIn(parameter, conflict["value"])

    def test_dhis2_dry_run_parameter_validates_and_stores_nothing(self):
        for query in ("?dryRun=true", "?dryRun=TRUE&importStrategy=CREATE_AND_UPDATE"):
            with self.subTest(query=query):
                resp = self.post(EXAMPLE_DHIS2, {**JSON, "Idempotency-Key": "dry-" + query},
                                 query=query, path="/api/dataValueSets")
                self.assertEqual(resp.status, 200, resp.body)
                self.assertEqual(self.summary(resp)["importCount"]["imported"], 2)
                self.assertTrue(self.summary(resp)["description"].startswith("Dry run"), resp.body)
        self.assertEqual(self.count("observation"), 0)
        self.assertEqual(self.count("idempotency"), 0)
        # a row error in a dry run is reported all the same
        body = json.dumps({"dataValues": [
            {"dataElement": "nope", "period": "202501", "orgUnit": "BE", "value": "1"}]})
        resp = self.post(body, query="?dryRun=true", path="/api/dataValueSets")
        self.assertEqual(resp.status, 409, resp.body)
        self.assertEqual(self.summary(resp)["conflicts"][0]["errorCode"], "E7610")
        # dryRun and our dry_run may not disagree
        resp = self.post(EXAMPLE_DHIS2, query="?dryRun=true&dry_run=false",
                         path="/api/dataValueSets")
        self.assert_dhis2_refused(resp, "dryRun", "invalid_parameter")
        self.assertEqual(self.count("observation"), 0)
        # dryRun=false is a real import
        resp = self.post(EXAMPLE_DHIS2, query="?dryRun=false", path="/api/dataValueSets")
        self.assertEqual(resp.status, 200, resp.body)
        self.assertEqual(self.count("observation"), 2)

    def test_dhis2_parameters_are_honoured_or_refused_never_ignored(self):
        honoured = ("?importStrategy=CREATE_AND_UPDATE&idScheme=CODE&dataElementIdScheme=code"
                    "&orgUnitIdScheme=CODE&async=false&preheatCache=true&skipAudit=false"
                    "&skipExistingCheck=false&force=false&strictPeriods=true"
                    "&strictOrganisationUnits=false&requireCategoryOptionCombo=false")
        resp = self.post(EXAMPLE_DHIS2, query=honoured, path="/api/dataValueSets")
        self.assertEqual(resp.status, 200, resp.body)
        self.assertEqual(self.summary(resp)["importCount"]["imported"], 2)
        harness.truncate(self.conninfo, "observation, observation_revision, dirty_series")
        refused = [
            ("importStrategy=MERGE", "importStrategy", "unsupported_parameter"),
            ("strategy=SYNC", "strategy", "unsupported_parameter"),
            ("idScheme=ATTRIBUTE:abc", "idScheme", "unsupported_parameter"),
            ("orgUnitIdScheme=NAME", "orgUnitIdScheme", "unsupported_parameter"),
            ("categoryOptionComboIdScheme=CODE", "categoryOptionComboIdScheme",
             "unsupported_parameter"),
            ("async=maybe", "async", "invalid_parameter"),
            ("skipAudit=true", "skipAudit", "unsupported_parameter"),
            ("strictPeriods=false", "strictPeriods", "unsupported_parameter"),
            ("dryRun=maybe", "dryRun", "invalid_parameter"),
            ("dryrun=true", "dryrun", "unknown_parameter"),
            ("mergeMode=MERGE", "mergeMode", "unknown_parameter"),
            ("dryRun=true&dryRun=false", "dryRun", "duplicate_parameter"),
            ("dryRun=true&idScheme=NAME", "idScheme", "unsupported_parameter"),
            # a hostile value is quoted printable (evhttp decodes values), never a 500
            ("importStrategy=%22%FF%0A", "importStrategy", "unsupported_parameter"),
        ]
        for query, parameter, code in refused:
            with self.subTest(query=query):
                resp = self.post(EXAMPLE_DHIS2, query="?" + query, path="/api/dataValueSets")
                self.assert_dhis2_refused(resp, parameter, code)
        self.assertIn("importStrategy=??? is not supported", self.summary(resp)["conflicts"][0]["value"])
        # an admin's request is refused the same way, before its programme is looked up
        resp = self.post(EXAMPLE_DHIS2, query=f"?programme={SLUG}&importStrategy=MERGE",
                         path="/api/dataValueSets", token=self.daemon.admin_token)
        self.assert_dhis2_refused(resp, "importStrategy")
        self.assertEqual(self.count("observation"), 0)

    # ------------------------------------------------------------------ the set's own options

    def post_set(self, query="", headers=JSON, token=None, **members):
        """EXAMPLE_DHIS2's data values in a set with the given members."""
        body = json.dumps({**members, "dataValues": json.loads(EXAMPLE_DHIS2)["dataValues"]})
        return self.post(body, headers, query=query, path="/api/dataValueSets", token=token)

    def test_dhis2_set_dry_run_validates_and_stores_nothing(self):
        # the set's dryRun is a dry run, as the query's is (this once stored the data)
        resp = self.post_set(headers={**JSON, "Idempotency-Key": "set-dry"}, dryRun=True)
        self.assertEqual(resp.status, 200, resp.body)
        self.assertEqual(self.summary(resp)["importCount"]["imported"], 2)
        self.assertTrue(self.summary(resp)["description"].startswith("Dry run"), resp.body)
        self.assertEqual(self.count("observation"), 0)
        self.assertEqual(self.count("idempotency"), 0)
        # as in DHIS2, the set's dryRun wins over the query's, both ways
        resp = self.post_set(query="?dryRun=false", dryRun=True)
        self.assertEqual(resp.status, 200, resp.body)
        self.assertTrue(self.summary(resp)["description"].startswith("Dry run"), resp.body)
        self.assertEqual(self.count("observation"), 0)
        # but it may not disagree with our dry_run
        resp = self.post_set(query="?dry_run=false", dryRun=True)
        self.assert_dhis2_refused(resp, "dryRun", "invalid_parameter")
        resp = self.post_set(query="?dryRun=true&dry_run=true", dryRun=False)
        self.assert_dhis2_refused(resp, "dryRun", "invalid_parameter")
        self.assertEqual(self.count("observation"), 0)
        # a dryRun that is not a JSON boolean is refused, never read as false
        for value in ("true", 1, [True], {}):
            with self.subTest(dryRun=value):
                resp = self.post_set(dryRun=value)
                self.assert_dhis2_refused(resp, "dryRun", "invalid_parameter")
                self.assertIn("must be a boolean", self.summary(resp)["conflicts"][0]["value"])
        self.assertEqual(self.count("observation"), 0)
        # the set's dryRun: false is a real import even when the query asked for a dry run
        resp = self.post_set(query="?dryRun=true", dryRun=False)
        self.assertEqual(resp.status, 200, resp.body)
        self.assertEqual(self.count("observation"), 2)
        # null is not given (as DHIS2 reads it): a real import
        harness.truncate(self.conninfo, "observation, observation_revision, dirty_series")
        resp = self.post_set(dryRun=None)
        self.assertEqual((resp.status, self.count("observation")), (200, 2), resp.body)

    def test_dhis2_set_strategy_that_is_none_is_refused_and_stores_nothing(self):
        """A strategy that is not DHIS2's is refused (test_dhis2_clients.py has the ones that
        are: CREATE, UPDATE and DELETE)."""
        resp = self.post_set(headers={**JSON, "Idempotency-Key": "set-merge"},
                             strategy="MERGE")
        self.assert_dhis2_refused(resp, "strategy")
        self.assertIn('strategy "MERGE" is not supported', self.summary(resp)["conflicts"][0]["value"])
        self.assertEqual(self.count("observation"), 0)
        self.assertEqual(self.count("idempotency"), 0)
        # refused even in a dry run, and whatever the query says
        resp = self.post_set(query="?importStrategy=CREATE_AND_UPDATE", strategy="merge",
                             dryRun=True)
        self.assert_dhis2_refused(resp, "strategy")
        # an admin's write is refused the same way
        resp = self.post_set(query=f"?programme={SLUG}", token=self.daemon.admin_token,
                             strategy="MERGE")
        self.assert_dhis2_refused(resp, "strategy")
        self.assertEqual(self.count("observation"), 0)
        # the strategies scaleupd follows are honoured
        resp = self.post_set(strategy="NEW_AND_UPDATES")
        self.assertEqual((resp.status, self.count("observation")), (200, 2), resp.body)

    def test_dhis2_set_options_are_honoured_or_refused_never_ignored(self):
        resp = self.post_set(idScheme="CODE", dataElementIdScheme="code", orgUnitIdScheme="Code",
                             strategy="CREATE_AND_UPDATE", dryRun=False)
        self.assertEqual(resp.status, 200, resp.body)
        self.assertEqual(self.summary(resp)["importCount"]["imported"], 2)
        harness.truncate(self.conninfo, "observation, observation_revision, dirty_series")
        refused = [
            ({"idScheme": "ATTRIBUTE:abc"}, "idScheme", "unsupported_parameter"),
            ({"orgUnitIdScheme": "NAME"}, "orgUnitIdScheme", "unsupported_parameter"),
            ({"dataElementIdScheme": "ATTRIBUTE:abc"}, "dataElementIdScheme",
             "unsupported_parameter"),
            ({"categoryOptionComboIdScheme": "CODE"}, "categoryOptionComboIdScheme",
             "unsupported_parameter"),
            ({"dataSetIdScheme": "NAME"}, "dataSetIdScheme", "unsupported_parameter"),
            ({"attributeOptionComboIdScheme": "CODE"}, "attributeOptionComboIdScheme",
             "unsupported_parameter"),
            # a completeDate that is not one (dataSet and completeDate are honoured:
            # test_dhis2_clients.py)
            ({"completeDate": "2025-05-32"}, "completeDate", "invalid_parameter"),
            # set-level properties scaleupd does not map: an attribute option combination
            # other than the default (taken: below), or not a string
            ({"attributeOptionCombo": "Xy1234567ab"}, "attributeOptionCombo",
             "unsupported_parameter"),
            ({"attributeOptionCombo": {"cat": "opt"}}, "attributeOptionCombo",
             "invalid_parameter"),
            ({"attributeCategoryOptions": ["a", "b"]}, "attributeCategoryOptions",
             "unsupported_parameter"),
            ({"deletion": {"orgUnits": ["BE"]}}, "deletion", "unsupported_parameter"),
            # a scheme or strategy that is not a string
            ({"idScheme": 5}, "idScheme", "invalid_parameter"),
            ({"strategy": ["DELETE"]}, "strategy", "invalid_parameter"),
            # a hostile value is quoted printable, never a 500
            ({"idScheme": "\"\u00ff\n"}, "idScheme", "unsupported_parameter"),
            ({"idScheme": "CODE" * 40}, "idScheme", "unsupported_parameter"),
        ]
        for members, member, code in refused:
            with self.subTest(members=members):
                resp = self.post_set(**members)
                self.assert_dhis2_refused(resp, member, code)
        self.assertEqual(self.count("observation"), 0)
        # the default attribute option combination, as an exported data value set names it
        resp = self.post_set(attributeOptionCombo="HllvX50cXC0")
        self.assertEqual((resp.status, self.count("observation")), (200, 2), resp.body)
        harness.truncate(self.conninfo, "observation, observation_revision, dirty_series")
        # a member given twice is a document error, as any top-level key twice
        body = '{"dryRun": false, "dryRun": true, ' + EXAMPLE_DHIS2.strip()[1:]
        resp = self.post(body, path="/api/dataValueSets")
        self.assert_document_error(resp, 400, "invalid_document")
        self.assertIn("dryRun", resp.body["error"]["message"])

    def test_dhis2_set_members_dhis2_does_not_read_are_ignored(self):
        """DHIS2 reads a data value set with FAIL_ON_UNKNOWN_PROPERTIES off: a member that is
        not one of DataValueSet's is ignored, by DHIS2 and so by scaleupd, even when it is named
        like a query parameter (those are read from the query only)."""
        resp = self.post_set(**{"storedBy": "admin", "created": "2025-06-01", "async": True,
                                "skipAudit": True, "importStrategy": "DELETE",
                                "preheatCache": "maybe", "dryrun": True})
        self.assertEqual(resp.status, 200, resp.body)
        self.assertEqual(self.summary(resp)["importCount"]["imported"], 2)
        self.assertEqual(self.count("observation"), 2)

    # ------------------------------------------------------------------ scaleupctl push

    def push(self, name, content, *args, token=None):
        path = os.path.join(self.tmp, name)
        with open(path, "w", encoding="utf-8") as f:
            f.write(content)
        try:
            return harness.scaleupctl(
                "--url", f"http://127.0.0.1:{self.daemon.port}", "--token", token or self.feed,
                "push", path, *args, check=False)
        finally:
            os.unlink(path)

    def test_scaleupctl_push(self):
        proc = self.push("obs.json", EXAMPLE_JSON, "--programme", SLUG)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(json.loads(proc.stdout)["imported"], 4)
        proc = self.push("obs.csv", EXAMPLE_CSV, "--programme", SLUG)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(json.loads(proc.stdout)["imported"], 3)
        self.assertIn("3 rows: 3 imported", proc.stderr)

        bad = EXAMPLE_CSV.replace("2025-04,37", "2025-13,37").replace("04,884", "05,884")
        proc = self.push("bad.CSV", bad, "--programme", SLUG)
        self.assertEqual(proc.returncode, 1, proc.stderr)
        report = json.loads(proc.stdout)
        self.assertEqual((report["imported"], report["rejected"]), (1, 1))
        self.assertIn("row 1, period: invalid_period", proc.stderr)

        proc = self.push("none.json", json.dumps({"observations": [
            obs("nope", "BE", "2025-01", 1)]}), "--programme", SLUG)
        self.assertEqual(proc.returncode, 1)
        self.assertEqual(json.loads(proc.stdout)["status"], "rejected")

        stored = self.count("observation")
        proc = self.push("dry.json", json.dumps({"observations": [valid_row("2025-05")]}),
                         "--programme", SLUG, "--dry-run")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertTrue(json.loads(proc.stdout)["dry_run"])
        self.assertEqual(json.loads(proc.stdout)["imported"], 1)
        self.assertEqual(self.count("observation"), stored)

        proc = self.push("obs.json", EXAMPLE_JSON, "--programme", "other")
        self.assertEqual(proc.returncode, 1)
        self.assertIn("403", proc.stderr)
        proc = self.push("obs.json", EXAMPLE_JSON)  # no programme named
        self.assertEqual(proc.returncode, 2)
        proc = self.push("broken.json", "{", "--programme", SLUG)
        self.assertEqual(proc.returncode, 1)
        self.assertIn("400", proc.stderr)


if __name__ == "__main__":
    unittest.main()
