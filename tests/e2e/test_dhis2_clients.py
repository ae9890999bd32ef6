"""DHIS2's own clients, unchanged, against the real daemon: what they send is read from their
sources, and their answers are parsed the way those clients parse them.

- dhis2.py (`Api(server, username, password, api_version)`, `Api.post("dataValueSets", json=…,
  params=…)`): a requests.Session with `auth = (username, password)` posting JSON to
  `{server}/api[/{version}]/dataValueSets`; any answer that is not `ok` raises, so a caller reads
  the WebMessage's `response` (the import summary) of a 200.
- DHIS2's aggregate data exchange (dhis2-core, `Dhis2Client.saveDataValueSet`): POST
  `{url}/api/dataValueSets` with `Authorization: ApiToken …` (or Basic), `Accept` and
  `Content-Type: application/json`, the id schemes, `importStrategy`, `skipAudit` and `dryRun`
  as query parameters only when they are not DHIS2's defaults, and a DataValueSet as Jackson
  writes it (null members included). It reads the WebMessage's `response` as an ImportSummary,
  on 200 and on 409 alike.

The programme maps DHIS2 UIDs: data elements (with a category option combination for the two
disaggregations of one data element) to indicators, organisation units to sites."""

import json
import time
import unittest

import requests

import harness
from harness import Daemon

SLUG = "icp-t2d-htn-be"

# UIDs as DHIS2 makes them (CodeGenerator: 11 letters and digits, the first a letter)
DE_ENROLLED = "fbfJHSPpUQD"
DE_VISITS = "cYeuwXTCPkU"
COC_FIXED = "Prlt0C1RF0s"
COC_OUTREACH = "V6L425pT3A0"
DEFAULT_COC = "HllvX50cXC0"
OU_GP001 = "DiszpKrYNg8"
OU_GP002 = "Rp268JB6Ne4"
DS_MONTHLY = "pBOMPrpg1QX"


def mapped_programme():
    doc = harness.example_programme()
    for ind in doc["indicators"]:
        if ind["code"] == "patients_enrolled":
            ind["dhis2"] = {"dataElement": DE_ENROLLED}
    doc["indicators"] += [
        {"code": "visits_fixed", "name": "Visits at the practice", "value_type": "count",
         "period_type": "monthly", "dhis2": {"dataElement": DE_VISITS,
                                             "categoryOptionCombo": COC_FIXED}},
        {"code": "visits_outreach", "name": "Outreach visits", "value_type": "count",
         "period_type": "monthly", "dhis2": {"dataElement": DE_VISITS,
                                             "categoryOptionCombo": COC_OUTREACH,
                                             "categoryOptions": {"SERVICE": "OUTREACH"}}},
    ]
    for site in doc["sites"]:
        if site["code"] == "BE-VLG-GP001":
            site["dhis2"] = {"orgUnit": OU_GP001}
        if site["code"] == "BE-VLG-GP002":
            site["dhis2"] = {"orgUnit": OU_GP002}
    doc["dhis2"] = {"dataSets": [{"id": DS_MONTHLY, "code": "ICP_MONTHLY"}]}
    return doc


def jackson_data_value(data_element, period, org_unit, value, coc=None):
    """A DataValue as dhis2-core's Jackson writes it for the aggregate data exchange: every
    member, null when unset."""
    return {"dataElement": data_element, "period": period, "orgUnit": org_unit,
            "categoryOptionCombo": coc, "attributeOptionCombo": None, "value": value,
            "storedBy": None, "created": None, "lastUpdated": None, "comment": None,
            "followup": None, "deleted": None}


def jackson_data_value_set(values):
    return {"dataSet": None, "completeDate": None, "period": None, "orgUnit": None,
            "attributeOptionCombo": None, "dataValues": values}


class Dhis2ClientsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.conninfo = harness.fresh_database("e2e_dhis2_clients")
        cls.daemon = Daemon(cls.conninfo)
        try:
            resp = cls.daemon.request("POST", "/api/v1/programmes", mapped_programme())
            if resp.status != 201:
                raise AssertionError(f"creating the programme answered {resp.status}: {resp.body}")
            cls.feed = harness.create_token(cls.conninfo, "--feed", SLUG, name="dhis2-clients")
        except BaseException:
            cls.daemon.__exit__(Exception, None, None)
            raise
        cls.server = f"http://127.0.0.1:{cls.daemon.port}"

    @classmethod
    def tearDownClass(cls):
        code = cls.daemon.stop()
        cls.daemon.__exit__(None, None, None)
        if code != 0:
            raise AssertionError(f"scaleupd exited with {code} after SIGTERM")

    def setUp(self):
        harness.truncate(self.conninfo, "observation, observation_revision, dirty_series, "
                                        "idempotency, rollup_dirty, rollup, dhis2_value_meta, "
                                        "dhis2_complete_registration")

    # ------------------------------------------------------------------ helpers

    def dhis2_py_post(self, data, params=None, api_version=None, username="admin"):
        """dhis2.py's Api.post("dataValueSets", json=data, params=params): its session, its
        URL, its check of the answer (RequestException unless r.ok)."""
        with requests.Session() as session:
            session.auth = (username, self.feed)
            api_url = f"{self.server}/api/{api_version}" if api_version else f"{self.server}/api"
            return session.post(url=f"{api_url}/dataValueSets", params=params, json=data)

    def exchange_post(self, data_value_set, params=None, auth=None):
        """Dhis2Client.saveDataValueSet: its headers, its query, and its reading of the answer
        (the WebMessage's response as an ImportSummary, on 200 and on 409)."""
        headers = {"Authorization": auth or f"ApiToken {self.feed}",
                   "Accept": "application/json", "Content-Type": "application/json"}
        r = requests.post(f"{self.server}/api/dataValueSets", params=params or {},
                          data=json.dumps(data_value_set), headers=headers)
        self.assertIn(r.status_code, (200, 409), r.text)
        message = r.json()
        self.assertEqual(message["httpStatusCode"], r.status_code)
        summary = message["response"]
        self.assertEqual(summary["responseType"], "ImportSummary")
        return r, summary

    def count(self, table, where="true"):
        return int(harness.psql(self.conninfo, f"SELECT count(*) FROM {table} WHERE {where}"))

    def assert_region_periods(self, want):
        """The periods of BE-VLG's patients_enrolled, read from its rollups. A read folds the
        rollup marks still waiting first, but answers as the rollups stand while a background
        fold runs (docs/ARCHITECTURE.md "Rollups"): read again, a bounded number of times."""
        for _ in range(200):
            resp = self.daemon.request(
                "GET", f"/api/v1/programmes/{SLUG}/series?indicator=patients_enrolled&site=BE-VLG")
            self.assertEqual(resp.status, 200, resp.body)
            got = [p["period"] for p in resp.body["points"]]
            if got == want:
                return
        self.assertEqual(got, want)

    def value_of(self, indicator, site, period_start):
        return harness.psql(
            self.conninfo,
            "SELECT o.value FROM observation o JOIN series s ON s.id = o.series_id"
            " JOIN indicator i ON i.id = s.indicator_id JOIN site t ON t.id = s.site_id"
            f" WHERE i.code = '{indicator}' AND t.code = '{site}'"
            f" AND o.period_start = '{period_start}'")

    # ------------------------------------------------------------------ dhis2.py

    def test_dhis2_py_pushes_uids_on_every_version(self):
        data = {"dataValues": [
            {"dataElement": DE_ENROLLED, "period": "202505", "orgUnit": OU_GP001, "value": "151"},
            {"dataElement": DE_VISITS, "categoryOptionCombo": COC_FIXED, "period": "202505",
             "orgUnit": OU_GP001, "value": "40"},
            {"dataElement": DE_VISITS, "categoryOptionCombo": COC_OUTREACH, "period": "202505",
             "orgUnit": OU_GP001, "value": "7"}]}
        r = self.dhis2_py_post(data, api_version=40)
        self.assertTrue(r.ok, r.text)  # dhis2.py raises otherwise
        summary = r.json()["response"]
        self.assertEqual(summary["status"], "SUCCESS")
        # two disaggregations of one data element are two indicators, not a duplicate
        self.assertEqual(summary["importCount"],
                         {"imported": 3, "updated": 0, "ignored": 0, "deleted": 0})
        self.assertEqual(self.value_of("visits_outreach", "BE-VLG-GP001", "2025-05-01"), "7")
        self.assertEqual(self.value_of("patients_enrolled", "BE-VLG-GP001", "2025-05-01"), "151")
        # without a version (dhis2.py's default) and with an old one: the same import
        r = self.dhis2_py_post(data)
        self.assertTrue(r.ok, r.text)
        self.assertEqual(r.json()["response"]["importCount"]["ignored"], 3)
        r = self.dhis2_py_post(data, api_version=36)
        self.assertTrue(r.ok, r.text)
        self.assertEqual(r.json()["importCount"]["ignored"], 3, "a bare summary before 2.38")
        # the default combination, by UID or by name, is the indicator's own
        r = self.dhis2_py_post({"dataValues": [
            {"dataElement": DE_ENROLLED, "categoryOptionCombo": DEFAULT_COC, "period": "202505",
             "orgUnit": OU_GP002, "value": "12"}]}, params={"idScheme": "UID"}, api_version=41)
        self.assertTrue(r.ok, r.text)
        self.assertEqual(self.value_of("patients_enrolled", "BE-VLG-GP002", "2025-05-01"), "12")

    def test_dhis2_py_sees_conflicts_as_a_409_with_e_codes(self):
        data = {"dataValues": [
            {"dataElement": DE_ENROLLED, "period": "202505", "orgUnit": OU_GP001, "value": "1"},
            {"dataElement": "xxxxxxxxxxx", "period": "202505", "orgUnit": OU_GP001, "value": "1"},
            {"dataElement": DE_ENROLLED, "period": "202505", "orgUnit": "yyyyyyyyyyy",
             "value": "1"},
            {"dataElement": DE_VISITS, "period": "202505", "orgUnit": OU_GP001, "value": "1"},
            {"dataElement": DE_VISITS, "categoryOptionCombo": "zzzzzzzzzzz", "period": "202505",
             "orgUnit": OU_GP001, "value": "1"},
            {"dataElement": DE_ENROLLED, "attributeOptionCombo": "aaaaaaaaaaa",
             "period": "202506", "orgUnit": OU_GP001, "value": "1"}]}
        r = self.dhis2_py_post(data, params={"idScheme": "UID"})
        self.assertEqual(r.status_code, 409, r.text)
        self.assertFalse(r.ok)  # dhis2.py raises RequestException(409, url, r.text)
        summary = json.loads(r.text)["response"]
        self.assertEqual(summary["status"], "WARNING")
        self.assertEqual(summary["importCount"]["imported"], 1)
        self.assertEqual(summary["rejectedIndexes"], [1, 2, 3, 4, 5])
        self.assertEqual([(c["errorCode"], c["property"], c["indexes"])
                          for c in summary["conflicts"]],
                         [("E7610", "dataElement", [1]), ("E7612", "orgUnit", [2]),
                          ("E7630", "categoryOptionCombo", [3]),
                          ("E7613", "categoryOptionCombo", [4]),
                          ("E7615", "attributeOptionCombo", [5])])
        self.assertEqual(summary["conflicts"][0]["object"], "xxxxxxxxxxx")
        self.assertEqual(summary["conflicts"][1]["objects"], {"organisationUnit": "yyyyyyyyyyy"})

    # ------------------------------------------------------------------ aggregate data exchange

    def test_aggregate_data_exchange_push(self):
        values = [jackson_data_value(DE_ENROLLED, "202504", OU_GP001, "90"),
                  jackson_data_value(DE_VISITS, "202504", OU_GP002, "30", COC_FIXED)]
        # the target's defaults: UIDs, CREATE_AND_UPDATE, no query parameter at all
        r, summary = self.exchange_post(jackson_data_value_set(values))
        self.assertEqual(r.status_code, 200)
        self.assertEqual(summary["importCount"]["imported"], 2)
        # Basic, as Dhis2Client.withBasicAuth sends it
        r, summary = self.exchange_post(jackson_data_value_set(values),
                                        auth=requests.auth._basic_auth_str("exchange", self.feed))
        self.assertEqual(summary["importCount"]["ignored"], 2)
        # a target configured with codes and a strategy: the parameters Dhis2Client adds
        coded = [jackson_data_value("patients_enrolled", "202504", "BE-VLG-GP002", "91")]
        r, summary = self.exchange_post(
            jackson_data_value_set(coded),
            params={"dataElementIdScheme": "CODE", "orgUnitIdScheme": "CODE",
                    "importStrategy": "CREATE", "dryRun": "true"})
        self.assertEqual((r.status_code, summary["importCount"]["imported"]), (200, 1))
        self.assertEqual(self.count("observation"), 2, "a dry run stores nothing")
        # a refused parameter is a 400 that names it
        r = requests.post(f"{self.server}/api/dataValueSets", params={"skipAudit": "true"},
                          data=json.dumps(jackson_data_value_set(values)),
                          headers={"Authorization": f"ApiToken {self.feed}",
                                   "Content-Type": "application/json"})
        self.assertEqual(r.status_code, 400, r.text)
        self.assertIn("skipAudit", r.json()["message"])
        # a conflict comes back as the 409 the client reads as a summary
        bad = [jackson_data_value(DE_ENROLLED, "2025-13", OU_GP001, "1")]
        r, summary = self.exchange_post(jackson_data_value_set(bad))
        self.assertEqual((r.status_code, summary["status"]), (409, "ERROR"))
        self.assertEqual(summary["conflicts"][0]["errorCode"], "E7611")

    # ------------------------------------------------------------------ import strategies

    def test_create_update_and_delete(self):
        def push(value, strategy, period="202503"):
            return self.dhis2_py_post({"dataValues": [
                {"dataElement": DE_ENROLLED, "period": period, "orgUnit": OU_GP001,
                 "value": value}]}, params={"importStrategy": strategy})

        # UPDATE leaves a value that is not stored alone; CREATE creates it
        summary = push("10", "UPDATE").json()["response"]
        self.assertEqual(summary["importCount"], {"imported": 0, "updated": 0, "ignored": 1,
                                                  "deleted": 0})
        self.assertEqual(self.count("observation"), 0)
        summary = push("10", "CREATE").json()["response"]
        self.assertEqual(summary["importCount"]["imported"], 1)
        # CREATE leaves a stored value alone; UPDATE changes it, keeping the old as a revision
        summary = push("11", "CREATE").json()["response"]
        self.assertEqual(summary["importCount"]["ignored"], 1)
        self.assertEqual(self.value_of("patients_enrolled", "BE-VLG-GP001", "2025-03-01"), "10")
        summary = push("11", "UPDATE").json()["response"]
        self.assertEqual(summary["importCount"]["updated"], 1)
        # DELETE: the value goes, its history stays, and it is marked as any change is: the
        # region's rollup, folded from the marks, loses it
        self.assert_region_periods(["2025-03"])
        summary = push("11", "DELETE").json()["response"]
        self.assertEqual(summary["importCount"], {"imported": 0, "updated": 0, "ignored": 0,
                                                  "deleted": 1})
        self.assertEqual(self.count("observation"), 0)
        self.assertEqual(harness.psql(
            self.conninfo, "SELECT string_agg(value::text, ',' ORDER BY replaced_at, id)"
                           " FROM observation_revision"), "10,11")
        self.assert_region_periods([])
        # deleting what is not stored deletes nothing and is ignored
        summary = push("11", "DELETE").json()["response"]
        self.assertEqual(summary["importCount"]["ignored"], 1)
        # a data value's "deleted": true deletes it under the default strategy
        push("5", "CREATE_AND_UPDATE", period="202502")
        r = self.dhis2_py_post({"dataValues": [
            {"dataElement": DE_ENROLLED, "period": "202502", "orgUnit": OU_GP001, "value": "5",
             "deleted": True},
            {"dataElement": DE_ENROLLED, "period": "202501", "orgUnit": OU_GP001, "value": "4"}]})
        self.assertEqual(r.json()["response"]["importCount"],
                         {"imported": 1, "updated": 0, "ignored": 0, "deleted": 1})
        self.assertEqual(self.count("observation"), 1)
        self.assert_region_periods(["2025-01"])

    def test_comment_stored_by_and_followup_are_kept(self):
        def meta():
            return harness.psql(self.conninfo,
                                "SELECT string_agg(coalesce(stored_by, '-') || ':' ||"
                                " coalesce(followup::text, '-'), ',' ORDER BY period_start)"
                                " FROM dhis2_value_meta")
        r = self.dhis2_py_post({"dataValues": [
            {"dataElement": DE_ENROLLED, "period": "202501", "orgUnit": OU_GP001, "value": "1",
             "comment": "checked", "storedBy": "district-officer", "followup": True},
            {"dataElement": DE_ENROLLED, "period": "202502", "orgUnit": OU_GP001, "value": "2",
             "storedBy": "admin"},
            {"dataElement": DE_ENROLLED, "period": "202503", "orgUnit": OU_GP001, "value": "3",
             "followup": "yes"}]})
        self.assertEqual(r.status_code, 409, r.text)
        self.assertEqual(r.json()["response"]["rejectedIndexes"], [2])
        self.assertEqual(meta(), "district-officer:true,admin:-")
        self.assertEqual(harness.psql(self.conninfo, "SELECT comment FROM observation"
                                      " WHERE comment IS NOT NULL"), "checked")
        # where a user reads the value: the site's series points
        resp = self.daemon.request(
            "GET", f"/api/v1/programmes/{SLUG}/series?indicator=patients_enrolled"
                   "&site=BE-VLG-GP001")
        self.assertEqual(resp.status, 200, resp.body)
        points = {p["period"]: p for p in resp.body["points"]}
        self.assertEqual((points["2025-01"]["stored_by"], points["2025-01"]["followup"],
                          points["2025-01"]["comment"]), ("district-officer", True, "checked"))
        self.assertEqual(points["2025-02"]["stored_by"], "admin")
        self.assertNotIn("followup", points["2025-02"])  # not given: not shown as false
        # the last import that gives them wins; CSV gives them by position
        csv = f"{DE_ENROLLED},202502,{OU_GP001},,,2,nurse,,,true,\n"
        r = requests.post(f"{self.server}/api/dataValueSets", data=csv,
                          headers={"Content-Type": "application/csv",
                                   "Authorization": f"ApiToken {self.feed}"})
        self.assertEqual(r.status_code, 200, r.text)
        self.assertEqual(meta(), "district-officer:true,nurse:true")

        def shown(period):
            resp = self.daemon.request(
                "GET", f"/api/v1/programmes/{SLUG}/series?indicator=patients_enrolled"
                       "&site=BE-VLG-GP001")
            point = {p["period"]: p for p in resp.body["points"]}[period]
            return point["value"], point.get("stored_by"), point.get("followup")
        self.assertEqual(shown("2025-02"), (2, "nurse", True))
        # a later change that does not say who stored it (a native push, or a data value
        # without storedBy) is not shown as the nurse's
        resp = self.daemon.request("POST", f"/api/v1/programmes/{SLUG}/observations",
                                   {"observations": [{"indicator": "patients_enrolled",
                                                      "site": "BE-VLG-GP001",
                                                      "period": "2025-02", "value": 5}]})
        self.assertIn(resp.status, (200, 201), resp.body)
        self.assertEqual(shown("2025-02"), (5, None, None))
        # the same value given again with the same storedBy and followup names who stored it
        # once more (the kept ones, unchanged, are renewed for it)
        self.dhis2_py_post({"dataValues": [
            {"dataElement": DE_ENROLLED, "period": "202502", "orgUnit": OU_GP001, "value": "5",
             "storedBy": "nurse", "followup": True}]})
        self.assertEqual(shown("2025-02"), (5, "nurse", True))
        self.dhis2_py_post({"dataValues": [
            {"dataElement": DE_ENROLLED, "period": "202502", "orgUnit": OU_GP001, "value": "6"}]})
        self.assertEqual(shown("2025-02"), (6, None, None))
        # a delete takes them with the value
        self.dhis2_py_post({"dataValues": [
            {"dataElement": DE_ENROLLED, "period": "202501", "orgUnit": OU_GP001, "value": "1"}]},
            params={"importStrategy": "DELETE"})
        self.assertEqual(meta(), "nurse:true")

    def test_a_dry_run_delete_deletes_nothing(self):
        self.dhis2_py_post({"dataValues": [
            {"dataElement": DE_ENROLLED, "period": "202503", "orgUnit": OU_GP001, "value": "3"}]})
        r = self.dhis2_py_post({"dataValues": [
            {"dataElement": DE_ENROLLED, "period": "202503", "orgUnit": OU_GP001, "value": "3"}]},
            params={"importStrategy": "DELETE", "dryRun": "true"})
        self.assertEqual(r.json()["response"]["importCount"]["deleted"], 1, r.text)
        self.assertEqual(self.count("observation"), 1)
        self.assertEqual(self.count("observation_revision"), 0)

    def test_delete_by_key_without_a_value(self):
        """DHIS2 deletes by key: a DELETE (or a value marked deleted) needs no value, in JSON,
        CSV and ADX; without one, any other strategy is a conflict E7618."""
        self.dhis2_py_post({"dataValues": [
            {"dataElement": DE_ENROLLED, "period": p, "orgUnit": OU_GP001, "value": "1"}
            for p in ("202501", "202502", "202503", "202504")]})
        self.assertEqual(self.count("observation"), 4)
        r = self.dhis2_py_post({"dataValues": [
            {"dataElement": DE_ENROLLED, "period": "202501", "orgUnit": OU_GP001}]},
            params={"importStrategy": "DELETE"})
        self.assertEqual(r.json()["response"]["importCount"]["deleted"], 1, r.text)
        csv = f"dataelement,period,orgunit,catoptcombo,attroptcombo,value\n" \
              f"{DE_ENROLLED},202502,{OU_GP001},,,\n"
        r = requests.post(f"{self.server}/api/dataValueSets?importStrategy=DELETE", data=csv,
                          headers={"Content-Type": "application/csv",
                                   "Authorization": f"ApiToken {self.feed}"})
        self.assertEqual(r.json()["response"]["importCount"]["deleted"], 1, r.text)
        # a CSV record may stop at the key (DHIS2's CsvReader reads missing columns as empty),
        # header or not: deleted under DELETE, E7618 under any other strategy
        for query, want in (("importStrategy=CREATE_AND_UPDATE", None),
                            ("importStrategy=DELETE&firstRowIsHeader=true", 1)):
            r = requests.post(f"{self.server}/api/dataValueSets?{query}",
                              data=f"{DE_ENROLLED},202505,{OU_GP001}\n",
                              headers={"Content-Type": "application/csv",
                                       "Authorization": f"ApiToken {self.feed}"})
            summary = r.json()["response"]
            if want is None:
                self.assertEqual((r.status_code, summary["conflicts"][0]["errorCode"]),
                                 (409, "E7618"), r.text)
                self.dhis2_py_post({"dataValues": [{"dataElement": DE_ENROLLED, "period": "202505",
                                                    "orgUnit": OU_GP001, "value": "5"}]})
            else:
                self.assertEqual(summary["importCount"]["deleted"], want, r.text)
        adx = (f'<adx xmlns="urn:ihe:qrph:adx:2015"><group orgUnit="{OU_GP001}" '
               f'period="2025-03-01/P1M"><dataValue dataElement="{DE_ENROLLED}" value=""/>'
               f'</group></adx>')
        r = requests.post(f"{self.server}/api/dataValueSets?importStrategy=DELETE", data=adx,
                          headers={"Content-Type": "application/adx+xml",
                                   "Authorization": f"ApiToken {self.feed}"})
        self.assertEqual(r.json()["response"]["importCount"]["deleted"], 1, r.text)
        r = self.dhis2_py_post({"dataValues": [
            {"dataElement": DE_ENROLLED, "period": "202504", "orgUnit": OU_GP001,
             "deleted": True}]})
        self.assertEqual(r.json()["response"]["importCount"]["deleted"], 1, r.text)
        self.assertEqual(self.count("observation"), 0)
        self.assertEqual(self.count("observation_revision"), 5)
        # no value and no delete: DHIS2's "Data value or comment not specified"
        r = self.dhis2_py_post({"dataValues": [
            {"dataElement": DE_ENROLLED, "period": "202506", "orgUnit": OU_GP001}]})
        self.assertEqual(r.status_code, 409, r.text)
        self.assertEqual(r.json()["response"]["conflicts"][0]["errorCode"], "E7618")

    # ------------------------------------------------------------------ data sets

    def registrations(self, **params):
        r = requests.get(f"{self.server}/api/completeDataSetRegistrations", params=params,
                         headers={"Authorization": f"ApiToken {self.feed}"})
        self.assertEqual(r.status_code, 200, r.text)
        return r.json()["completeDataSetRegistrations"]

    def test_registrations_of_another_programme_are_not_found(self):
        """A feed token reads only its own programme's registrations: naming another
        programme is answered as a programme that does not exist, and carries none of its."""
        other = harness.example_programme()
        other["slug"] = "other-dhis2"
        other.pop("dhis2", None)
        resp = self.daemon.request("POST", "/api/v1/programmes", other)
        self.assertIn(resp.status, (200, 201), resp.body)
        r = requests.get(f"{self.server}/api/completeDataSetRegistrations",
                         params={"programme": "other-dhis2"},
                         headers={"Authorization": f"ApiToken {self.feed}"})
        self.assertEqual(r.status_code, 404, r.text)
        self.assertNotIn("completeDataSetRegistrations", r.json())
        r = requests.get(f"{self.server}/api/completeDataSetRegistrations",
                         params={"programme": SLUG},
                         headers={"Authorization": f"ApiToken {self.feed}"})
        self.assertEqual(r.status_code, 200, r.text)

    def test_data_set_completed_with_its_values(self):
        """dataSet and completeDate register the data set complete for the set's period and
        organisation unit, as DHIS2 does, in the import's transaction; a data set the
        programme does not declare aborts the import (E7600)."""
        data = {"dataSet": DS_MONTHLY, "completeDate": "2025-05-31", "period": "202505",
                "orgUnit": OU_GP001, "dataValues": [
                    {"dataElement": DE_ENROLLED, "value": "12"}]}
        r = self.dhis2_py_post(data)
        self.assertEqual(r.status_code, 200, r.text)
        self.assertEqual(r.json()["response"]["dataSetComplete"], "2025-05-31")
        got = self.registrations(dataSet=DS_MONTHLY, period="202505", orgUnit=OU_GP001)
        self.assertEqual(len(got), 1, got)
        self.assertEqual((got[0]["dataSet"], got[0]["period"], got[0]["organisationUnit"],
                          got[0]["attributeOptionCombo"], got[0]["date"], got[0]["storedBy"],
                          got[0]["completed"]),
                         (DS_MONTHLY, "202505", OU_GP001, DEFAULT_COC, "2025-05-31",
                          "dhis2-clients", True))
        # again, by the data set's code and with "true" (today): the registration is replaced
        data.update(dataSet="ICP_MONTHLY", completeDate="true")
        r = self.dhis2_py_post(data, params={"dataSetIdScheme": "CODE"})
        self.assertEqual(r.status_code, 200, r.text)
        today = harness.psql(self.conninfo, "SELECT to_char(current_date, 'YYYY-MM-DD')")
        self.assertEqual(r.json()["response"]["dataSetComplete"], today)
        self.assertEqual([g["date"] for g in self.registrations()], [today])
        # a dry run registers nothing; a data set without completeDate registers nothing
        harness.psql(self.conninfo, "TRUNCATE dhis2_complete_registration")
        data.update(dataSet=DS_MONTHLY, completeDate="2025-05-30")
        self.dhis2_py_post(data, params={"dryRun": "true"})
        del data["completeDate"]
        r = self.dhis2_py_post(data)
        self.assertEqual(r.json()["response"]["dataSetComplete"], "false", r.text)
        self.assertEqual(self.registrations(), [])
        # an unknown data set: the whole import is aborted, as DHIS2 aborts it
        data.update(dataSet="xxxxxxxxxxx", completeDate="2025-05-31")
        data["dataValues"][0]["value"] = "13"
        r = self.dhis2_py_post(data)
        self.assertEqual(r.status_code, 409, r.text)
        summary = r.json()["response"]
        self.assertEqual((summary["status"], summary["description"]),
                         ("ERROR", "Import process was aborted"))
        self.assertEqual((summary["conflicts"][0]["errorCode"],
                          summary["conflicts"][0]["property"]), ("E7600", "dataSet"))
        self.assertEqual(self.value_of("patients_enrolled", "BE-VLG-GP001", "2025-05-01"), "12")
        # the query's dataSet is checked too (CSV has no set-level members)
        r = requests.post(f"{self.server}/api/dataValueSets?dataSet=nOpE0000000",
                          data=f"de,pe,ou,co,ao,value\n{DE_ENROLLED},202505,{OU_GP001},,,14\n",
                          headers={"Content-Type": "application/csv",
                                   "Authorization": f"ApiToken {self.feed}"})
        self.assertEqual(r.json()["response"]["conflicts"][0]["errorCode"], "E7600", r.text)
        # a completeDate without the set's orgUnit cannot register: a conflict, values stored
        r = self.dhis2_py_post({"dataSet": DS_MONTHLY, "completeDate": "true", "dataValues": [
            {"dataElement": DE_ENROLLED, "period": "202504", "orgUnit": OU_GP001,
             "value": "4"}]})
        summary = r.json()["response"]
        self.assertEqual(summary["dataSetComplete"], "false", r.text)
        self.assertEqual(summary["conflicts"][0]["value"], "Must be provided to complete data set")
        self.assertEqual(summary["importCount"]["imported"], 1)

    # ------------------------------------------------------------------ CSV

    def test_csv_with_and_without_its_header(self):
        header = ("dataelement,period,orgunit,categoryoptioncombo,attributeoptioncombo,value,"
                  "storedby,lastupdated,comment,followup,deleted\n")
        rows = (f"{DE_ENROLLED},202505,{OU_GP001},{DEFAULT_COC},{DEFAULT_COC},21,admin,"
                f"2025-06-01T10:00:00.000,\"checked, twice\",false,\n"
                f"{DE_VISITS},202505,{OU_GP001},{COC_OUTREACH},,3,,,,,\n")
        r = requests.post(f"{self.server}/api/40/dataValueSets", data=header + rows,
                          headers={"Content-Type": "application/csv",
                                   "Authorization": f"ApiToken {self.feed}"})
        self.assertEqual(r.status_code, 200, r.text)
        self.assertEqual(r.json()["response"]["importCount"]["imported"], 2)
        self.assertEqual(harness.psql(self.conninfo, "SELECT comment FROM observation"
                                      " WHERE comment IS NOT NULL"), "checked, twice")
        # no header: no row is lost, with firstRowIsHeader=false or without it
        for params in ({"firstRowIsHeader": "false"}, {}):
            r = requests.post(f"{self.server}/api/dataValueSets", data=rows, params=params,
                              headers={"Content-Type": "application/csv",
                                       "Authorization": f"ApiToken {self.feed}"})
            self.assertEqual(r.status_code, 200, r.text)
            self.assertEqual(r.json()["response"]["importCount"]["ignored"], 2, params)
        # a row DHIS2 would refuse is a conflict with its index, the header not counted
        r = requests.post(f"{self.server}/api/dataValueSets",
                          data=header + rows + f"{DE_ENROLLED},202513,{OU_GP001},,,1\n",
                          headers={"Content-Type": "application/csv",
                                   "Authorization": f"ApiToken {self.feed}"})
        self.assertEqual(r.status_code, 409, r.text)
        self.assertEqual(r.json()["response"]["rejectedIndexes"], [2])
        self.assertEqual(r.json()["response"]["conflicts"][0]["errorCode"], "E7611")

    # ------------------------------------------------------------------ ADX

    def test_adx(self):
        adx = (f'<?xml version="1.0" encoding="UTF-8"?>'
               f'<adx xmlns="urn:ihe:qrph:adx:2015" exported="2025-06-01T10:00:00Z">'
               f'<group orgUnit="{OU_GP001}" period="2025-02-01/P1M" dataSet="pBOMPrpg1QX">'
               f'<dataValue dataElement="{DE_ENROLLED}" value="31">'
               f'<annotation>from the ADX</annotation></dataValue>'
               f'<dataValue dataElement="{DE_VISITS}" SERVICE="OUTREACH" value="2" '
               f'storedBy="district-officer" followup="true" comment="outreach day" '
               f'lastUpdated="2025-03-01T08:00:00.000"/>'
               f'<dataValue dataElement="{DE_VISITS}" SERVICE="HOME" value="1"/>'
               f'</group>'
               f'<group orgUnit="{OU_GP001}" period="2025-02-01/P1M" FUNDER="EU">'
               f'<dataValue dataElement="{DE_ENROLLED}" value="1"/></group></adx>')
        headers = {"Content-Type": "application/adx+xml",
                   "Authorization": f"ApiToken {self.feed}"}
        r = requests.post(f"{self.server}/api/39/dataValueSets", data=adx, headers=headers)
        self.assertEqual(r.status_code, 409, r.text)
        summary = r.json()["response"]
        self.assertEqual(summary["importCount"]["imported"], 2)
        # the data value's categories name the combination the programme maps them to (the
        # indicator's categoryOptions); others are no combination scaleupd maps, and a group's
        # category (an attribute option combination) is not mapped
        self.assertEqual(self.value_of("visits_outreach", "BE-VLG-GP001", "2025-02-01"), "2")
        self.assertEqual([(c["errorCode"], c["indexes"]) for c in summary["conflicts"]],
                         [("E7613", [2]), ("E7615", [3])])
        # the attributes DHIS2's ADX reader reads of a data value are no categories: its
        # comment, storedBy and followup are kept and shown as JSON's are
        resp = self.daemon.request(
            "GET", f"/api/v1/programmes/{SLUG}/series?indicator=visits_outreach&site=BE-VLG-GP001")
        point = resp.body["points"][0]
        self.assertEqual((point["comment"], point["stored_by"], point["followup"]),
                         ("outreach day", "district-officer", True), point)
        self.assertEqual(self.value_of("patients_enrolled", "BE-VLG-GP001", "2025-02-01"), "31")
        # a group's dataSet and completeDate register the data set complete for the group
        complete = adx.replace('dataSet="pBOMPrpg1QX"',
                               'dataSet="pBOMPrpg1QX" completeDate="2025-03-05"')
        r = requests.post(f"{self.server}/api/dataValueSets", data=complete, headers=headers)
        self.assertEqual(r.json()["response"]["dataSetComplete"], "2025-03-05", r.text)
        self.assertEqual([(g["period"], g["organisationUnit"], g["date"])
                          for g in self.registrations(dataSet=DS_MONTHLY)],
                         [("202502", OU_GP001, "2025-03-05")])
        # a DTD is refused, whatever it declares: no entity is ever expanded or fetched
        evil = ('<?xml version="1.0"?><!DOCTYPE adx [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
                f'<adx><group orgUnit="{OU_GP001}" period="202502" dataSet="x">'
                f'<dataValue dataElement="{DE_ENROLLED}" value="1"><annotation>&x;</annotation>'
                '</dataValue></group></adx>')
        r = requests.post(f"{self.server}/api/dataValueSets", data=evil, headers=headers)
        self.assertEqual(r.status_code, 400, r.text)
        self.assertEqual(r.json()["error"]["code"], "invalid_document")
        r = requests.post(f"{self.server}/api/dataValueSets", data="<adx><group", headers=headers)
        self.assertEqual((r.status_code, r.json()["error"]["code"]), (400, "malformed_xml"))

    # ------------------------------------------------------------------ Import/Export app

    def import_export_upload(self, body, fmt="csv", **values):
        """The Import/Export app's data import (DataImport/form-helper.js, utils/xhr.js): its
        query (async=true always), its Content-Type (utils/mime.js) and Content-Disposition,
        and extractIdAndMessage's reading of the answer (response.id, message, created)."""
        params = {"async": "true", "dryRun": "false", "strategy": "NEW_AND_UPDATES",
                  "preheatCache": "false", "skipAudit": "false", "dataElementIdScheme": "UID",
                  "orgUnitIdScheme": "UID", "idScheme": "UID", "skipExistingCheck": "false"}
        if fmt == "csv":
            params["firstRowIsHeader"] = "true"
        params.update(values)
        query = "&".join(f"{k}={v}" for k, v in params.items())
        mime = {"json": "application/json", "csv": "application/csv"}[fmt]
        r = requests.post(f"{self.server}/api/dataValueSets?{query}", data=body,
                          headers={"Content-Type": mime,
                                   "Content-Disposition": f'attachment filename="data.{fmt}"',
                                   "Authorization": requests.auth._basic_auth_str("admin",
                                                                                  self.feed)})
        self.assertEqual(r.status_code // 100, 2, r.text)
        data = r.json()
        self.assertNotEqual(data.get("status"), "ERROR", data)
        response = data["response"]
        self.assertTrue(response["id"], data)  # an asynchronous import: the job's id
        self.assertTrue(data["message"], data)
        self.assertRegex(response["created"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d")
        self.assertEqual(response["relativeNotifierEndpoint"],
                         f"/api/system/tasks/DATAVALUE_IMPORT/{response['id']}")
        return response["id"], response["relativeNotifierEndpoint"]

    def poll(self, endpoint, job_id):
        """The polling of a DHIS2 task as the Import/Export app does it (hooks/useTasks.js,
        createFetchEvents): the notifications, newest first, until the newest is completed
        (`events[0].completed`), an ERROR level being the task's error; then the summary."""
        auth = {"Authorization": f"ApiToken {self.feed}"}
        # a bound on requests, with a pause between them (the app polls each second): 50 polls
        # in a row could all come before a queued job ran (a fresh-clone CI run, 2026-12-07)
        for attempt in range(600):
            if attempt:
                time.sleep(0.05)
            events = requests.get(f"{self.server}{endpoint}", headers=auth).json()
            self.assertIsInstance(events, list)
            for e in events:  # what the app keeps of each
                self.assertTrue(e["uid"] and e["level"] and e["message"], e)
                self.assertRegex(e["time"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d")
            self.assertFalse([e for e in events if e["level"] == "ERROR"], events)
            if events and events[0]["completed"]:
                self.assertEqual(events[0]["message"], "Import done")
                break
        else:
            self.fail("the task never completed")
        r = requests.get(f"{self.server}/api/system/taskSummaries/DATAVALUE_IMPORT/{job_id}",
                         headers=auth)
        self.assertEqual(r.status_code, 200, r.text)
        return r.json()

    def test_import_export_app_async_csv_upload_then_polling(self):
        header = "dataelement,period,orgunit,catoptcombo,attroptcombo,value,storedby,timestamp\n"
        body = (header + f"{DE_ENROLLED},202504,{OU_GP002},{DEFAULT_COC},{DEFAULT_COC},44,a,\n"
                f"{DE_VISITS},202504,{OU_GP002},{COC_FIXED},,9,a,\n"
                f"{DE_VISITS},202504,{OU_GP002},xxxxxxxxxxx,,9,a,\n")
        job_id, endpoint = self.import_export_upload(body)
        summary = self.poll(endpoint, job_id)
        self.assertEqual(summary["responseType"], "ImportSummary")
        self.assertEqual(summary["status"], "WARNING")
        self.assertEqual(summary["importCount"], {"imported": 2, "updated": 0, "ignored": 1,
                                                  "deleted": 0})
        self.assertEqual(summary["conflicts"][0]["errorCode"], "E7613")
        self.assertEqual(self.value_of("visits_fixed", "BE-VLG-GP002", "2025-04-01"), "9")
        # the versioned task paths answer the same; another token sees no such job
        r = requests.get(f"{self.server}/api/40/system/taskSummaries/DATAVALUE_IMPORT/{job_id}",
                         headers={"Authorization": f"ApiToken {self.feed}"})
        self.assertEqual(r.json(), summary)
        other = harness.create_token(self.conninfo, "--feed", SLUG, name="another-feed")
        r = requests.get(f"{self.server}/api/system/tasks/DATAVALUE_IMPORT/{job_id}",
                         headers={"Authorization": f"ApiToken {other}"})
        self.assertEqual((r.status_code, r.json()), (200, []))
        r = requests.get(f"{self.server}/api/system/taskSummaries/DATAVALUE_IMPORT/{job_id}",
                         headers={"Authorization": f"ApiToken {other}"})
        self.assertEqual((r.status_code, r.text), (200, ""))
        # a dry run as a job: counted, not stored
        job_id, endpoint = self.import_export_upload(
            json.dumps({"dataValues": [{"dataElement": DE_ENROLLED, "period": "202503",
                                        "orgUnit": OU_GP002, "value": "1"}]}),
            fmt="json", dryRun="true")
        self.assertEqual(self.poll(endpoint, job_id)["importCount"]["imported"], 1)
        self.assertEqual(self.value_of("patients_enrolled", "BE-VLG-GP002", "2025-03-01"), "")

    def test_import_export_app_sees_the_import_running(self):
        """async=true answers before the import: while the import waits (here for a lock a
        test session holds on the observations) the task says it runs and its summary is
        empty; once it ends the polling finds it done."""
        body = f"dataelement,period,orgunit,catoptcombo,attroptcombo,value\n" \
               f"{DE_ENROLLED},202506,{OU_GP002},,,61\n"
        auth = {"Authorization": f"ApiToken {self.feed}"}
        with harness.locked_table(self.conninfo, "observation") as waiting:
            job_id, endpoint = self.import_export_upload(body)
            harness.wait_until(lambda: waiting() > 0, "the import waiting for the lock")
            notes = requests.get(f"{self.server}{endpoint}", headers=auth).json()
            self.assertEqual([(n["message"], n["completed"], n["level"]) for n in notes],
                             [("Process started", False, "INFO")])
            r = requests.get(f"{self.server}/api/system/taskSummaries/DATAVALUE_IMPORT/{job_id}",
                             headers=auth)
            self.assertEqual((r.status_code, r.text), (200, ""))
        summary = self.poll(endpoint, job_id)
        self.assertEqual(summary["importCount"]["imported"], 1, summary)
        self.assertEqual(self.value_of("patients_enrolled", "BE-VLG-GP002", "2025-06-01"), "61")
        # a body the worker cannot read ends the job as failed, as DHIS2's job that threw
        job_id, endpoint = self.import_export_upload('{"dataValues": [', fmt="json")
        notes = harness.wait_until(
            lambda: [n for n in requests.get(f"{self.server}{endpoint}", headers=auth).json()
                     if n["completed"]], "the job to end")
        self.assertEqual(notes[0]["level"], "ERROR", notes)
        self.assertIn("malformed_json", notes[0]["message"])
        r = requests.get(f"{self.server}/api/system/taskSummaries/DATAVALUE_IMPORT/{job_id}",
                         headers=auth)
        self.assertEqual(r.json()["status"], "ERROR", r.text)

    def test_a_job_whose_daemon_stopped_says_it_did_not_finish(self):
        """A second daemon on the same database takes an async import and is killed while the
        import waits: nothing of it is stored, and the job, read through this daemon, says it
        failed rather than running forever or vanishing."""
        other = Daemon(self.conninfo)
        try:
            with harness.locked_table(self.conninfo, "observation") as waiting:
                r = requests.post(
                    f"http://127.0.0.1:{other.port}/api/dataValueSets?async=true",
                    json={"dataValues": [{"dataElement": DE_ENROLLED, "period": "202507",
                                          "orgUnit": OU_GP002, "value": "71"}]},
                    headers={"Authorization": f"ApiToken {self.feed}"})
                self.assertEqual(r.status_code, 200, r.text)
                job_id = r.json()["response"]["id"]
                harness.wait_until(lambda: waiting() > 0, "the import waiting for the lock")
                other.kill()
            endpoint = f"{self.server}/api/system/tasks/DATAVALUE_IMPORT/{job_id}"
            auth = {"Authorization": f"ApiToken {self.feed}"}
            # the killed daemon's session ends once its statement gets the lock and finds
            # its client gone: then the job is failed by its next reader
            notes = harness.wait_until(
                lambda: [n for n in requests.get(endpoint, headers=auth).json() if n["completed"]],
                "the job to say it did not finish")
            self.assertEqual(notes[0]["level"], "ERROR", notes)
            self.assertIn("stopped before the import finished", notes[0]["message"])
            r = requests.get(f"{self.server}/api/system/taskSummaries/DATAVALUE_IMPORT/{job_id}",
                             headers=auth)
            self.assertEqual(r.json()["status"], "ERROR", r.text)
            self.assertEqual(self.value_of("patients_enrolled", "BE-VLG-GP002", "2025-07-01"), "")
        finally:
            other.__exit__(None, None, None)

    def test_a_document_error_is_also_a_web_message(self):
        """What the Import/Export app shows of a failed upload is the answer's message
        (utils/helper.js, onError); our error stays beside it."""
        r = requests.post(f"{self.server}/api/dataValueSets", data='{"dataValues": [',
                          headers={"Content-Type": "application/json",
                                   "Authorization": f"ApiToken {self.feed}"})
        self.assertEqual(r.status_code, 400, r.text)
        body = r.json()
        self.assertEqual((body["httpStatusCode"], body["status"]), (400, "ERROR"))
        self.assertTrue(body["message"])
        self.assertEqual(body["error"]["code"], "malformed_json")
        self.assertEqual(body["error"]["message"], body["message"])

    def test_an_unsupported_media_type_is_also_a_web_message(self):
        """DHIS2's XML (dxf2) is refused 415 as the other refused bodies are: our error beside
        a WebMessage's members, on the unversioned path and a versioned one alike."""
        for path in ("/api/dataValueSets", "/api/40/dataValueSets"):
            r = requests.post(f"{self.server}{path}", data="<dataValueSet/>",
                              headers={"Content-Type": "application/xml",
                                       "Authorization": f"ApiToken {self.feed}"})
            self.assertEqual(r.status_code, 415, r.text)
            body = r.json()
            self.assertEqual((body["httpStatus"], body["httpStatusCode"], body["status"]),
                             ("Unsupported Media Type", 415, "ERROR"), path)
            self.assertIn("application/xml", body["message"])
            self.assertEqual(body["error"]["code"], "unsupported_media_type")
            self.assertEqual(body["error"]["message"], body["message"])
        self.assertEqual(self.count("observation"), 0, "nothing is stored")

    # ------------------------------------------------------------------ the mapping itself

    def test_codes_still_work_and_code_scheme_takes_no_disaggregation(self):
        r = self.dhis2_py_post({"dataValues": [
            {"dataElement": "patients_enrolled", "period": "202505", "orgUnit": "BE-VLG-GP001",
             "value": "8"},
            {"dataElement": "visits_fixed", "categoryOptionCombo": COC_FIXED,
             "period": "202505", "orgUnit": "BE-VLG-GP001", "value": "8"}]},
            params={"idScheme": "CODE"})
        self.assertEqual(r.status_code, 409, r.text)
        summary = r.json()["response"]
        self.assertEqual(summary["importCount"]["imported"], 1)
        self.assertEqual(summary["conflicts"][0]["errorCode"], "E7613")

    def test_programme_document_dhis2_identifiers_are_checked(self):
        doc = mapped_programme()
        doc["sites"][4]["dhis2"] = {"orgUnit": "not-a-uid"}
        doc["sites"][5]["dhis2"] = {"orgUnit": OU_GP001, "colour": "red"}
        doc["indicators"][-1]["dhis2"] = {"dataElement": DE_VISITS,
                                          "categoryOptionCombo": COC_FIXED}
        doc["indicators"][-2]["dhis2"]["categoryOptions"] = {"SERVICE": "A,B"}
        doc["dhis2"] = {"dataSets": [{"id": DS_MONTHLY}, {"id": DS_MONTHLY, "code": ""}],
                        "dataElements": []}
        resp = self.daemon.request("POST", "/api/v1/programmes", doc)
        self.assertEqual(resp.status, 422, resp.body)
        got = {(p["path"], p["code"]) for p in resp.body["error"]["details"]}
        self.assertIn(("$.sites[4].dhis2.orgUnit", "invalid_value"), got)
        self.assertIn(("$.sites[5].dhis2", "unknown_member"), got)
        self.assertIn(("$.indicators[8].dhis2", "duplicate_code"), got)
        self.assertIn(("$.indicators[7].dhis2.categoryOptions", "invalid_value"), got)
        self.assertIn(("$.dhis2", "unknown_member"), got)
        self.assertIn(("$.dhis2.dataSets[1]", "duplicate_code"), got)
        self.assertIn(("$.dhis2.dataSets[1].code", "invalid_value"), got)


if __name__ == "__main__":
    unittest.main()
