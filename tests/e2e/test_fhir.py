"""FHIR R4 MeasureReport feeds end to end, through the real daemon: the reports HL7 and the
WHO SMART guidelines publish (tests/fixtures/fhir, see SOURCES.md), posted as they are to
POST /fhir/MeasureReport and in batch and transaction Bundles to POST /fhir, mapped by the
test programme's "fhir" section; the answers are FHIR's (OperationOutcome, response
Bundles) with the same import semantics as the native API: counts, revisions,
Idempotency-Key, dry_run. Hostile bodies get a 4xx OperationOutcome, never a 500.

The daemon runs with the test clock at 2025-06-15 12:00 UTC.
"""

import calendar
import copy
import json
import os
import tempfile
import unittest

import harness

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "fhir")
SLUG = "fhir-test"
SERIES = f"/api/v1/programmes/{SLUG}/series"
FHIR = {"Content-Type": "application/fhir+json"}
CLOCK = calendar.timegm((2025, 6, 15, 12, 0, 0))
COUNTS_URL = "urn:scaleupd:fhir:import-counts"


def fixture(name):
    with open(os.path.join(FIXTURES, name), encoding="utf-8") as f:
        return f.read()


CAT3 = "hl7-MeasureReport-measurereport-cms146-cat3-example.json"
CAT1 = "hl7-MeasureReport-measurereport-cms146-cat1-example.json"
CAT2 = "hl7-MeasureReport-measurereport-cms146-cat2-example.json"
HIV = "hl7-MeasureReport-hiv-indicators.json"
ANC = "who-smart-anc-measurereport-ancind01.json"
ANC_PATIENT = "who-smart-anc-measurereport-numerator-charity-otala-1.json"


def counts(extension_holder):
    """The import counts extension of an OperationOutcome or a Bundle's meta."""
    ext = [e for e in extension_holder.get("extension", []) if e["url"] == COUNTS_URL]
    assert len(ext) == 1, extension_holder
    return {e["url"]: e.get("valueInteger", e.get("valueBoolean")) for e in ext[0]["extension"]}


def errors(outcome):
    return [i for i in outcome["issue"] if i["severity"] == "error"]


def bundle(kind, *resources, method="POST"):
    return json.dumps({"resourceType": "Bundle", "type": kind, "entry": [
        {"resource": json.loads(r) if isinstance(r, str) else r,
         "request": {"method": method, "url": "MeasureReport"}} for r in resources]})


def anc_report(month, numerator):
    """The WHO ANC.IND.01 report for another month and count."""
    doc = json.loads(fixture(ANC))
    doc["period"] = {"start": f"2021-{month:02d}-01",
                     "end": f"2021-{month:02d}-{calendar.monthrange(2021, month)[1]}"}
    for pop in doc["group"][0]["population"]:
        pop["count"] = numerator if pop["id"] != "initial-population" else numerator + 3
    return doc


class FhirTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="scaleupd-e2e-fhir-")
        clock = os.path.join(cls.tmp, "clock")
        with open(clock, "w", encoding="utf-8") as f:
            f.write(f"{CLOCK}\n")
        cls.conninfo = harness.fresh_database("e2e_fhir")
        cls.daemon = harness.Daemon(cls.conninfo, "[server]\nmax_body_bytes = 1048576\n",
                                    env={"SCALEUPD_TEST_CLOCK_FILE": clock})
        try:
            cls.programme = json.loads(fixture("programme-fhir-test.json"))
            resp = cls.daemon.request("POST", "/api/v1/programmes", cls.programme)
            assert resp.status == 201, resp
            cls.feed = harness.create_token(cls.conninfo, "--feed", SLUG, name="feed-fhir")
        except BaseException:
            cls.daemon.close()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.daemon.__exit__(None, None, None)
        for name in os.listdir(cls.tmp):
            os.unlink(os.path.join(cls.tmp, name))
        os.rmdir(cls.tmp)

    def post(self, path, body, headers=None, token=None):
        hdrs = dict(FHIR)
        hdrs.update(headers or {})
        resp = self.daemon.request("POST", path, body, hdrs,
                                   token=self.feed if token is None else token)
        self.assertLess(resp.status, 500, resp)
        return resp

    def points(self, indicator, site, revisions=False):
        resp = self.daemon.request(
            "GET", f"{SERIES}?indicator={indicator}&site={site}"
            + ("&revisions=true" if revisions else ""))
        self.assertEqual(resp.status, 200, resp)
        return resp.body["points"]

    # ------------------------------------------------------------------ the published reports

    def test_hl7_cms146_summary_is_stored_as_a_quarter(self):
        resp = self.post("/fhir/MeasureReport", fixture(CAT3))
        self.assertEqual(resp.headers["Content-Type"], "application/fhir+json")
        self.assertEqual(resp.body["resourceType"], "OperationOutcome")
        self.assertEqual(errors(resp.body), [])
        got = counts(resp.body)
        self.assertEqual(got["rejected"], 0)
        self.assertEqual(got["imported"] + got["unchanged"], 1)
        # 201 Created when it stored a new value, 200 when it only repeated a stored one
        self.assertEqual(resp.status, 201 if got["imported"] else 200, resp.body)
        points = self.points("strep_tested_pct", "GHH")
        self.assertEqual([(p["period"], p["value"]) for p in points], [("2014Q1", 40)])
        # its rollup mark was written with it: the parent's aggregate (weighted) has it
        points = self.points("strep_tested_pct", "ROOT")
        self.assertEqual([(p["period"], p["value"]) for p in points], [("2014Q1", 40)], points)
        # the same report again changes nothing
        again = self.post("/fhir/MeasureReport", fixture(CAT3))
        self.assertEqual(again.status, 200, again.body)
        self.assertEqual(counts(again.body)["unchanged"], 1)

    def test_who_anc_report_is_stored_and_revised(self):
        resp = self.post("/fhir/MeasureReport", fixture(ANC))
        self.assertEqual(resp.status, 201, resp.body)
        self.assertNotIn("Location", resp.headers)  # the report is not kept as a resource
        july = [p for p in self.points("anc_contact1", "ANC-ORG") if p["period"] == "2021-07"]
        self.assertEqual([p["value"] for p in july], [1])
        revised = json.loads(fixture(ANC))
        for pop in revised["group"][0]["population"]:
            pop["count"] = 5
        resp = self.post("/fhir/MeasureReport", json.dumps(revised))
        self.assertEqual(resp.status, 200, resp.body)  # an update of stored values
        self.assertEqual(counts(resp.body)["updated"], 1, resp.body)
        point = [p for p in self.points("anc_contact1", "ANC-ORG", revisions=True)
                 if p["period"] == "2021-07"][0]
        self.assertEqual(point["value"], 5)
        self.assertEqual([r["value"] for r in point["revisions"]], [1])
        self.assertEqual(point["revisions"][0]["token"], "feed-fhir")

    def test_reports_about_patients_are_refused_by_type(self):
        for name, kind in ((CAT1, "individual"), (CAT2, "subject-list"),
                           (ANC_PATIENT, "individual")):
            resp = self.post("/fhir/MeasureReport", fixture(name))
            self.assertEqual(resp.status, 400, (name, resp.body))
            issue, = errors(resp.body)
            self.assertEqual(issue["code"], "not-supported")
            self.assertEqual(issue["expression"], ["MeasureReport.type"])
            self.assertIn(f"type {kind}", issue["diagnostics"])
            self.assertEqual(issue["details"]["coding"][0]["code"], "unsupported_type")

    def test_hl7_hiv_indicators_repeats_one_group_and_nothing_is_stored(self):
        resp = self.post("/fhir/MeasureReport", fixture(HIV))
        self.assertEqual(resp.status, 422, resp.body)
        issues = errors(resp.body)
        self.assertEqual([i["code"] for i in issues], ["duplicate"] * 3)
        self.assertEqual(issues[0]["expression"], ["MeasureReport.group[0]"])
        self.assertEqual(self.points("art_new", "ZW01"), [])

    def test_a_period_that_is_not_the_indicators_is_named(self):
        doc = json.loads(fixture(ANC))
        doc["period"]["end"] = "2021-08-15"
        resp = self.post("/fhir/MeasureReport", json.dumps(doc))
        self.assertEqual(resp.status, 422, resp.body)
        issue, = errors(resp.body)
        self.assertEqual(issue["expression"], ["MeasureReport.period"])
        self.assertEqual(issue["diagnostics"], "period 2021-07-01 to 2021-08-15 is not one "
                         "monthly period of indicator anc_contact1")

    # ------------------------------------------------------------------ Bundles

    def test_a_batch_stores_each_entry_on_its_own(self):
        body = bundle("batch", anc_report(3, 4), fixture(CAT2), anc_report(4, 6))
        resp = self.post("/fhir", body)
        self.assertEqual(resp.status, 200, resp.body)
        self.assertEqual(resp.body["type"], "batch-response")
        self.assertEqual([e["response"]["status"] for e in resp.body["entry"]],
                         ["201 Created", "400 Bad Request", "201 Created"])
        issue, = resp.body["entry"][1]["response"]["outcome"]["issue"]
        self.assertEqual(issue["expression"], ["Bundle.entry[1].resource.type"])
        got = counts(resp.body["meta"])
        self.assertEqual((got["imported"], got["rejected"]), (2, 1))
        values = {p["period"]: p["value"] for p in self.points("anc_contact1", "ANC-ORG")}
        self.assertEqual((values.get("2021-03"), values.get("2021-04")), (4, 6))
        # again: March unchanged, April updated, November new; each entry says which
        resp = self.post("/fhir", bundle("batch", anc_report(3, 4), anc_report(4, 7),
                                         anc_report(11, 1)))
        self.assertEqual(resp.status, 200, resp.body)
        self.assertEqual([e["response"]["status"] for e in resp.body["entry"]],
                         ["200 OK", "200 OK", "201 Created"])
        self.assertTrue(all("outcome" not in e["response"] for e in resp.body["entry"]))
        got = counts(resp.body["meta"])
        self.assertEqual((got["imported"], got["updated"], got["unchanged"]), (1, 1, 1))

    def test_a_transaction_is_all_or_nothing(self):
        bad = anc_report(6, 2)
        bad["reporter"] = {"reference": "Organization/unknown"}
        resp = self.post("/fhir", bundle("transaction", anc_report(5, 3), bad))
        self.assertEqual(resp.status, 422, resp.body)
        self.assertEqual(resp.body["resourceType"], "OperationOutcome")
        issue, = errors(resp.body)
        self.assertEqual(issue["code"], "not-found")
        self.assertEqual(issue["expression"], ["Bundle.entry[1].resource.reporter"])
        self.assertEqual(counts(resp.body)["imported"], 0)
        periods = {p["period"] for p in self.points("anc_contact1", "ANC-ORG")}
        self.assertNotIn("2021-05", periods)
        # both entries good: a transaction-response, both stored
        resp = self.post("/fhir", bundle("transaction", anc_report(5, 3), anc_report(6, 2)))
        self.assertEqual(resp.status, 200, resp.body)
        self.assertEqual(resp.body["type"], "transaction-response")
        self.assertEqual([e["response"]["status"] for e in resp.body["entry"]],
                         ["201 Created", "201 Created"])
        self.assertEqual(counts(resp.body["meta"])["imported"], 2)
        values = {p["period"]: p["value"] for p in self.points("anc_contact1", "ANC-ORG")}
        self.assertEqual((values["2021-05"], values["2021-06"]), (3, 2))
        # an update and a new report with a refused one: nothing, not even the update, stored
        late = anc_report(12, 1)
        late["status"] = "pending"
        resp = self.post("/fhir", bundle("transaction", anc_report(5, 8), anc_report(2, 1),
                                         late))
        self.assertEqual(resp.status, 400, resp.body)
        self.assertEqual(resp.body["resourceType"], "OperationOutcome")
        self.assertEqual([i["expression"] for i in errors(resp.body)],
                         [["Bundle.entry[2].resource.status"]])
        self.assertEqual(counts(resp.body)["updated"], 0)
        values = {p["period"]: p["value"] for p in self.points("anc_contact1", "ANC-ORG")}
        self.assertEqual(values["2021-05"], 3)
        self.assertNotIn("2021-02", values)
        self.assertNotIn("2021-12", values)

    # ------------------------------------------------------------------ ingest semantics

    def test_idempotency_key_replays_the_answer(self):
        body = json.dumps(anc_report(8, 9))
        key = {"Idempotency-Key": "fhir-e2e-1"}
        first = self.post("/fhir/MeasureReport", body, key)
        self.assertEqual(first.status, 201, first.body)
        second = self.post("/fhir/MeasureReport", body, key)
        self.assertEqual(second.status, 201)  # the first answer, replayed
        self.assertEqual(second.headers["Idempotent-Replayed"], "true")
        self.assertEqual(second.body, first.body)
        other = self.post("/fhir/MeasureReport", json.dumps(anc_report(8, 10)), key)
        self.assertEqual(other.status, 422)
        self.assertEqual(other.body["issue"][0]["details"]["coding"][0]["code"],
                         "idempotency_key_reused")

    def test_dry_run_stores_nothing(self):
        resp = self.post("/fhir/MeasureReport?dry_run=true", json.dumps(anc_report(9, 1)))
        self.assertEqual(resp.status, 200, resp.body)
        got = counts(resp.body)
        self.assertEqual((got["imported"], got["dryRun"]), (1, True))
        periods = {p["period"] for p in self.points("anc_contact1", "ANC-ORG")}
        self.assertNotIn("2021-09", periods)

    def test_an_admin_names_the_programme(self):
        body = json.dumps(anc_report(10, 2))
        resp = self.daemon.request("POST", "/fhir/MeasureReport", body, FHIR)
        self.assertEqual(resp.status, 400, resp.body)
        self.assertEqual(resp.body["issue"][0]["details"]["coding"][0]["code"],
                         "missing_programme")
        resp = self.daemon.request("POST", f"/fhir/MeasureReport?programme={SLUG}", body,
                                   {"Content-Type": "application/json"})
        self.assertEqual(resp.status, 201, resp.body)

    def test_a_mapping_that_does_not_check_is_refused_with_the_programme(self):
        doc = copy.deepcopy(self.programme)
        doc["slug"] = "fhir-bad"
        doc["fhir"]["measures"][0]["groups"][0]["indicator"] = "nope"
        resp = self.daemon.request("POST", "/api/v1/programmes", doc)
        self.assertEqual(resp.status, 422, resp.body)
        self.assertIn("$.fhir.measures[0].groups[0].indicator",
                      [p["path"] for p in resp.body["error"]["details"]])

    # ------------------------------------------------------------------ FHIR's HTTP

    def assert_outcome(self, resp, status, code, ours, says):
        """resp is an OperationOutcome of one error issue: FHIR's issue type code, our code
        ours as details, diagnostics saying says."""
        self.assertEqual(resp.status, status, resp.body)
        self.assertEqual(resp.headers["Content-Type"], "application/fhir+json")
        self.assertEqual(resp.body["resourceType"], "OperationOutcome", resp.body)
        issue, = resp.body["issue"]
        self.assertEqual((issue["severity"], issue["code"]), ("error", code), issue)
        self.assertEqual(issue["details"]["coding"][0]["code"], ours)
        self.assertIn(says, issue["diagnostics"])

    def test_refusals_before_the_route_are_operation_outcomes(self):
        body = json.dumps(anc_report(1, 1))
        read = harness.create_token(self.conninfo, "--read", name="read-fhir")
        cases = [  # (method, path, body, headers, token, status, code, ours, says)
            ("POST", "/fhir/MeasureReport", body, FHIR, None, 401, "login", "unauthenticated",
             "token"),
            ("POST", "/fhir/MeasureReport", body, FHIR, "not-a-token", 401, "login",
             "invalid_token", "unknown or revoked"),
            ("POST", "/fhir/MeasureReport", body, FHIR, read, 403, "forbidden", "forbidden",
             "read token"),
            ("POST", "/fhir/Patient", body, FHIR, self.feed, 404, "not-supported", "not_found",
             "/fhir/Patient"),
            ("GET", "/fhir/MeasureReport", None, {}, self.feed, 405, "not-supported",
             "method_not_allowed", "GET"),
            ("POST", "/fhir/MeasureReport", "x" * 1100000, FHIR, self.feed, 413, "too-costly",
             "body_too_large", "1048576"),
            ("POST", "/fhir/MeasureReport", body, {"Content-Type": "application/fhir+xml"},
             self.feed, 415, "not-supported", "unsupported_media_type", "XML is not supported"),
            ("POST", "/fhir/MeasureReport?programme=nope", body, FHIR, None, 404,
             "not-found", "unknown_programme", "nope"),
            ("POST", "/fhir/MeasureReport?_count=1", body, FHIR, self.feed, 400, "invalid",
             "unknown_parameter", "_count"),
            ("POST", "/fhir/MeasureReport", '{"resourceType":"Patient"}', FHIR, self.feed,
             400, "structure", "invalid_document", "MeasureReport"),
        ]
        for method, path, data, headers, token, status, code, ours, says in cases:
            with self.subTest(path=path, status=status):
                if path.endswith("=nope"):  # an admin names a programme that is not there
                    resp = self.daemon.request(method, path, data, headers)
                else:
                    resp = self.daemon.request(method, path, data, headers, token=token)
                self.assert_outcome(resp, status, code, ours, says)
                if status == 401:
                    challenges = resp.headers.get_all("WWW-Authenticate")
                    self.assertTrue(any(c.startswith("Bearer") for c in challenges))
                if status == 405:
                    self.assertEqual(resp.headers["Allow"], "POST")
        # the native API keeps its own errors
        resp = self.daemon.request("GET", "/api/v1/nope", token=self.feed)
        self.assertEqual(resp.status, 404)
        self.assertEqual(resp.body["error"]["code"], "not_found")

    def test_prefer_return(self):
        minimal = self.post("/fhir/MeasureReport", json.dumps(anc_report(1, 2)),
                            {"Prefer": "return=minimal"})
        self.assertEqual(minimal.status, 201)
        self.assertEqual(minimal.body, "")
        self.assertEqual(minimal.headers["Preference-Applied"], "return=minimal")
        outcome = self.post("/fhir/MeasureReport", json.dumps(anc_report(1, 3)),
                            {"Prefer": "return=OperationOutcome"})
        self.assertEqual(outcome.status, 200, outcome.body)
        self.assertEqual(outcome.body["resourceType"], "OperationOutcome")
        self.assertEqual(counts(outcome.body)["updated"], 1)
        self.assertEqual(outcome.headers["Preference-Applied"], "return=OperationOutcome")
        # no resource is kept to represent: the outcome, and no Preference-Applied
        rep = self.post("/fhir/MeasureReport", json.dumps(anc_report(1, 3)),
                        {"Prefer": "return=representation"})
        self.assertEqual(rep.status, 200, rep.body)
        self.assertEqual(rep.body["resourceType"], "OperationOutcome")
        self.assertNotIn("Preference-Applied", rep.headers)
        # a refusal keeps its outcome whatever the preference
        bad = json.loads(fixture(ANC_PATIENT))
        refused = self.post("/fhir/MeasureReport", json.dumps(bad), {"Prefer": "return=minimal"})
        self.assertEqual(refused.status, 400)
        self.assertEqual(refused.body["resourceType"], "OperationOutcome")
        self.assert_outcome(self.post("/fhir/MeasureReport", json.dumps(anc_report(1, 3)),
                                      {"Prefer": "return=everything"}),
                            400, "invalid", "invalid_prefer", "return=everything")
        batch = self.post("/fhir", bundle("batch", anc_report(1, 3)),
                          {"Prefer": "return=minimal"})
        self.assertEqual((batch.status, batch.body), (200, ""))

    def test_json_only_and_xml_refused_by_name(self):
        body = json.dumps(anc_report(2, 5))
        for path, headers in (("/fhir/MeasureReport?_format=xml", {}),
                              ("/fhir/MeasureReport?_format=application/fhir%2Bxml", {}),
                              ("/fhir/MeasureReport", {"Accept": "application/fhir+xml"}),
                              ("/fhir?_format=xml", {})):
            with self.subTest(path=path, headers=headers):
                self.assert_outcome(self.post(path, body, headers), 406, "not-supported",
                                    "not_acceptable", "XML is not supported")
        self.assert_outcome(self.post("/fhir/MeasureReport", body, {"Accept": "text/html"}),
                            406, "not-supported", "not_acceptable", "text/html")
        # nothing was stored by the refused requests
        self.assertNotIn("2021-02", {p["period"] for p in self.points("anc_contact1",
                                                                       "ANC-ORG")})
        for path, headers in (("/fhir/MeasureReport?_format=json", {}),
                              ("/fhir/MeasureReport", {"Accept": "application/fhir+json"}),
                              ("/fhir/MeasureReport", {"Accept": "application/fhir+xml, */*;"
                                                                 "q=0.1"})):
            with self.subTest(path=path, headers=headers):
                resp = self.post(path, body, headers)
                self.assertIn(resp.status, (200, 201), resp.body)
                self.assertEqual(resp.body["resourceType"], "OperationOutcome")

    def test_metadata_is_a_capability_statement(self):
        resp = self.daemon.request("GET", "/fhir/metadata", token=None)
        self.assertEqual(resp.status, 200, resp.body)
        self.assertEqual(resp.headers["Content-Type"], "application/fhir+json")
        cs = resp.body
        self.assertEqual(cs["resourceType"], "CapabilityStatement")
        self.assertEqual((cs["fhirVersion"], cs["kind"], cs["status"]),
                         ("4.0.1", "instance", "active"))
        self.assertEqual(cs["format"], ["json", "application/fhir+json"])
        rest, = cs["rest"]
        self.assertEqual([(r["type"], [i["code"] for i in r["interaction"]])
                          for r in rest["resource"]], [("MeasureReport", ["create"])])
        self.assertEqual([i["code"] for i in rest["interaction"]], ["batch", "transaction"])
        self.assertEqual(self.daemon.request("GET", "/fhir/metadata?mode=full").status, 200)
        self.assert_outcome(self.daemon.request("GET", "/fhir/metadata?_format=xml"), 406,
                            "not-supported", "not_acceptable", "XML")
        self.assert_outcome(self.daemon.request("GET", "/fhir/metadata?mode=terminology"),
                            400, "not-supported", "invalid_parameter", "terminology")

    # ------------------------------------------------------------------ hostile input

    def test_hostile_bodies_are_4xx_outcomes(self):
        cases = [
            ("/fhir/MeasureReport", "", FHIR, 400, "empty_body"),
            ("/fhir/MeasureReport", "{\"resourceType\":", FHIR, 400, "malformed_json"),
            ("/fhir/MeasureReport", "[" * 10000 + "]" * 10000, FHIR, 400, "too_deep"),
            ("/fhir/MeasureReport", "[" + "0," * 500001 + "0]", FHIR, 413, "too_large"),
            ("/fhir/MeasureReport", "{\"a\":1,\"a\":2}", FHIR, 400, "malformed_json"),
            ("/fhir/MeasureReport", bundle("batch", fixture(ANC)), FHIR, 400,
             "invalid_document"),
            ("/fhir", fixture(ANC), FHIR, 400, "invalid_document"),
            ("/fhir", json.dumps({"resourceType": "Bundle", "type": "document"}), FHIR, 400,
             "invalid_document"),
            ("/fhir", json.dumps({"resourceType": "Bundle", "type": "batch", "entry": [7]}),
             FHIR, 200, None),
            ("/fhir/MeasureReport", fixture(ANC), {"Content-Type": "text/plain"}, 415,
             "unsupported_media_type"),
            ("/fhir/MeasureReport?atomic=true", fixture(ANC), FHIR, 400, "invalid_parameter"),
            ("/fhir/MeasureReport", "{\"resourceType\":\"MeasureReport\",\"group\":\"x\","
             "\"type\":\"summary\",\"status\":\"complete\",\"measure\":{}}", FHIR, 400, None),
        ]
        for path, body, headers, status, code in cases:
            with self.subTest(path=path, body=body[:60]):
                resp = self.post(path, body, headers)
                self.assertEqual(resp.status, status, resp.body)
                self.assertEqual(resp.headers["Content-Type"], "application/fhir+json")
                if code is not None:
                    self.assertEqual(resp.body["issue"][0]["details"]["coding"][0]["code"],
                                     code, resp.body)
        resp = self.daemon.request("POST", "/fhir/MeasureReport", fixture(ANC), FHIR,
                                   token=None)
        self.assertEqual(resp.status, 401)


if __name__ == "__main__":
    unittest.main()
