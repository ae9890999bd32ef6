"""Silences and acknowledgements end to end, as people use them: a region's silence mutes
its practices (no e-mail, and each alert says which silences mute it, in the list and on its
own), negative and regex matchers, a regex POSIX and RE2 read differently refused, past
silences listed with ?expired, and acknowledgements that record who and why, through the API
and through scaleupctl (who and the author default to the user)."""

import json
import os
import unittest

import test_alerts as base
from harness import fresh_database, psql, scaleupctl


class SilencesTest(unittest.TestCase):
    # the daemon, clock, SMTP sink and drift programme of the alerting tests
    setUp = base.AlertingTest.setUp
    tearDown = base.AlertingTest.tearDown
    set_clock = base.AlertingTest.set_clock
    advance = base.AlertingTest.advance
    start_daemon = base.AlertingTest.start_daemon
    daemon_config = base.AlertingTest.daemon_config
    use_mdc = base.AlertingTest.use_mdc
    setup_programme = base.AlertingTest.setup_programme
    push = base.AlertingTest.push
    alerts = base.AlertingTest.alerts
    wait_alerts = base.AlertingTest.wait_alerts
    wait_dispatched = base.AlertingTest.wait_dispatched
    wait_outbox_empty = base.AlertingTest.wait_outbox_empty

    def drift(self, name):
        self.sink.start()
        d = self.start_daemon(fresh_database(name))
        self.setup_programme(d)
        self.push(d, [("2026-01", 30)])
        firing = self.wait_alerts(d, "firing", 2)
        return d, {a["site"]: a["id"] for a in firing}

    def silenced_by(self, d):
        return {a["site"]: a["silenced_by"] for a in self.alerts(d, "firing")}

    def test_region_negative_regex_and_expired(self):
        d, ids = self.drift("e2e_silences_region")
        self.assertEqual(self.silenced_by(d), {"GP1": [], "GP2": []})
        # Flanders' silence covers both of its practices: nobody is told
        r = d.request("POST", "/api/v1/silences", {
            "programme": "drift-be", "matchers": ["region=BE-VLG"], "duration": "2h",
            "author": "e2e", "reason": "regional data migration"})
        self.assertEqual(r.status, 201, r.body)
        region = r.body["id"]
        self.assertEqual(r.body["matchers"], [
            {"name": "region", "value": "BE-VLG", "isRegex": False, "isEqual": True}])
        self.advance(60)
        self.wait_dispatched(d)
        self.wait_outbox_empty(d)
        self.assertEqual(self.sink.messages(), [])
        self.assertEqual(psql(d.conninfo, "SELECT count(*) FROM alert_event WHERE "
                                          "outcome = 'dropped'"), "2")
        self.assertEqual(self.silenced_by(d), {"GP1": [region], "GP2": [region]})
        # a negative regex and a regex (Alertmanager's object form): GP2 only
        r = d.request("POST", "/api/v1/silences", {
            "matchers": [{"name": "site", "value": "GP1", "isRegex": True, "isEqual": False},
                         {"name": "indicator", "value": "bp_.*", "isRegex": True}],
            "duration": "3h", "author": "e2e"})
        self.assertEqual(r.status, 201, r.body)
        gp2 = r.body["id"]
        # another region's, and one anchored regex that matches no whole site code
        for matchers in (["region=BE-WAL"], ["site=~GP"], ["region!=BE-VLG", "kind=spc"]):
            r = d.request("POST", "/api/v1/silences", {
                "programme": "drift-be", "matchers": matchers, "duration": "1h",
                "author": "e2e"})
            self.assertEqual(r.status, 201, r.body)
        self.assertEqual(self.silenced_by(d), {"GP1": [region], "GP2": [region, gp2]})
        shown = d.request("GET", f"/api/v1/alerts/{ids['GP2']}")
        self.assertEqual(shown.status, 200, shown.body)
        self.assertEqual(shown.body["silenced_by"], [region, gp2])
        self.assertEqual(shown.body["site"], "GP2")
        self.assertEqual(d.request("GET", "/api/v1/alerts/999999").status, 404)
        self.assertEqual(d.request("GET", "/api/v1/alerts/x1").status, 404)
        # what POSIX and RE2 would read differently is refused, and says why
        for value, code in (("GP\\d", "unsupported_regex"), ("(?i)gp1", "unsupported_regex"),
                            ("GP(1", "invalid_regex")):
            r = d.request("POST", "/api/v1/silences", {
                "matchers": [f"site=~{value}"], "duration": "1h", "author": "e2e"})
            self.assertEqual(r.status, 422, r.body)
            self.assertEqual([(p["path"], p["code"]) for p in r.body["error"]["details"]],
                             [("$.matchers[0]", code)])
        r = d.request("POST", "/api/v1/silences", {
            "matchers": ["site=~.*"], "duration": "1h", "author": "e2e"})
        self.assertEqual((r.status, r.body["error"]["details"][0]["code"]),
                         (422, "matches_everything"))
        # ended silences: expired by hand, and run out; the current list no longer has them
        self.assertEqual(d.request("DELETE", f"/api/v1/silences/{region}").status, 200)
        self.advance(3600 + 60)  # past the three one-hour silences
        current = [s["id"] for s in d.request("GET", "/api/v1/silences").body["silences"]]
        self.assertEqual(current, [gp2])
        past = d.request("GET", "/api/v1/silences?expired=true").body["silences"]
        self.assertEqual(len(past), 4)
        self.assertIn(region, [s["id"] for s in past])
        self.assertEqual(self.silenced_by(d), {"GP1": [], "GP2": [gp2]})

    def test_ack_records_who_and_why(self):
        d, ids = self.drift("e2e_silences_ack")
        r = d.request("POST", f"/api/v1/alerts/{ids['GP1']}/ack",
                      {"by": "Ann Peeters", "comment": "GP1 changed its EHR export"})
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(r.body, {"id": ids["GP1"], "acked_by": "Ann Peeters",
                                  "ack_comment": "GP1 changed its EHR export",
                                  "ack_token": "e2e admin"})
        shown = d.request("GET", f"/api/v1/alerts/{ids['GP1']}").body
        self.assertEqual((shown["acked_by"], shown["ack_comment"], shown["ack_token"]),
                         ("Ann Peeters", "GP1 changed its EHR export", "e2e admin"))
        self.assertIsNotNone(shown["acked_at"])
        # refused bodies name what is wrong; nothing is acknowledged by them
        for body, path in (({"by": ""}, "$.by"), ({"by": "x", "note": "y"}, "$"),
                           ({"comment": 5}, "$.comment"), (["Ann"], "$")):
            r = d.request("POST", f"/api/v1/alerts/{ids['GP2']}/ack", body)
            self.assertEqual(r.status, 422, (body, r.body))
            self.assertEqual(r.body["error"]["details"][0]["path"], path, r.body)
        self.assertIsNone(d.request("GET", f"/api/v1/alerts/{ids['GP2']}").body["acked_at"])
        # without a body the token's name is who, as before
        r = d.request("POST", f"/api/v1/alerts/{ids['GP2']}/ack", "")
        self.assertEqual((r.status, r.body["acked_by"]), (200, "e2e admin"), r.body)
        # scaleupctl: who is the user unless --by says otherwise
        base_args = ["--url", f"http://127.0.0.1:{d.port}", "--token", d.admin_token]
        old_user = os.environ.get("USER")
        os.environ["USER"] = "carol"
        try:
            out = json.loads(scaleupctl(*base_args, "alert", "ack", str(ids["GP2"]),
                                        "--comment", "looking at it").stdout)
            self.assertEqual((out["acked_by"], out["ack_comment"]), ("carol", "looking at it"))
            # acknowledged again without a reason: the first acknowledgement and its reason
            # stand (a bare ack, or an e-mail's one-click link, erased "changed its EHR export")
            out = json.loads(scaleupctl(*base_args, "ack", str(ids["GP1"]), "--by",
                                        "Dr. Janssens").stdout)
            self.assertEqual((out["acked_by"], out.get("ack_comment")),
                             ("Ann Peeters", "GP1 changed its EHR export"))
            # with a reason, it is the new acknowledgement
            out = json.loads(scaleupctl(*base_args, "ack", str(ids["GP1"]), "--by",
                                        "Dr. Janssens", "--comment", "re-sent").stdout)
            self.assertEqual((out["acked_by"], out.get("ack_comment")), ("Dr. Janssens", "re-sent"))
            shown = json.loads(scaleupctl(*base_args, "alert", "show", str(ids["GP2"])).stdout)
            self.assertEqual((shown["acked_by"], shown["ack_comment"], shown["silenced_by"]),
                             ("carol", "looking at it", []))
            listed = json.loads(scaleupctl(*base_args, "alert", "list", "--state",
                                           "firing").stdout)["alerts"]
            self.assertEqual({a["acked_by"] for a in listed}, {"carol", "Dr. Janssens"})
            # silence add: --duration, and the author is the user
            added = json.loads(scaleupctl(*base_args, "silence", "add", "--programme",
                                          "drift-be", "--region", "BE-VLG", "indicator=~bp_.*",
                                          "--duration", "2h").stdout)
            silences = json.loads(scaleupctl(*base_args, "silence", "list").stdout)["silences"]
            self.assertEqual([(s["id"], s["author"]) for s in silences], [(added["id"], "carol")])
            self.assertEqual(silences[0]["matchers"], [
                {"name": "region", "value": "BE-VLG", "isRegex": False, "isEqual": True},
                {"name": "indicator", "value": "bp_.*", "isRegex": True, "isEqual": True}])
            self.assertEqual(self.silenced_by(d), {"GP1": [added["id"]], "GP2": [added["id"]]})
            bad = scaleupctl(*base_args, "silence", "add", "site=~GP\\d", "--duration", "2h",
                             check=False)
            self.assertNotEqual(bad.returncode, 0)
            self.assertIn("$.matchers[0]: GP\\d is not a POSIX", bad.stderr)
            bad = scaleupctl(*base_args, "silence", "add", "--site", "GP1", "--duration", "2 h",
                             check=False)
            self.assertIn("$.duration", bad.stderr)
            scaleupctl(*base_args, "silence", "expire", str(added["id"]))
            past = json.loads(scaleupctl(*base_args, "silence", "list", "--expired").stdout)
            self.assertEqual([s["id"] for s in past["silences"]], [added["id"]])
            self.assertEqual(json.loads(scaleupctl(*base_args, "silence", "list").stdout),
                             {"silences": []})
        finally:
            if old_user is None:
                del os.environ["USER"]
            else:
                os.environ["USER"] = old_user


if __name__ == "__main__":
    unittest.main()
