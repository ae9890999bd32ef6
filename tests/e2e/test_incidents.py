"""Incidents end to end (docs/ARCHITECTURE.md, "Incidents"): the demo of scripts/run (the
programme scaled to forty practices, scripts/demo-data.py) loaded with the default rules
raises its late-feed alerts for the Walloon practices that stopped reporting, and they are one
incident per practice listing its missing indicators, with the period and due date and no
value; the incidents API's pages, one incident, its acknowledgement and its 4xx answers;
scaleupctl incidents list, show and ack.

Time is pinned with the test clock at 2026-12-02 12:00 UTC and the demo generated for that
day, so its history ends with 2026-11 and the latest due period is 2026-10 (due 2026-11-15)."""

import json
import os
import subprocess
import sys
import tempfile
import shutil
import unittest

import harness

SLUG = "icp-t2d-htn-be"
TODAY = "2026-12-02"
NOW = 1796212800  # 2026-12-02T12:00:00Z


def generate_demo(outdir):
    subprocess.run([sys.executable, os.path.join(harness.SOURCE_DIR, "scripts", "demo-data.py"),
                    outdir, "--today", TODAY], check=True, stdout=subprocess.DEVNULL)
    batches = sorted(f for f in os.listdir(outdir) if f.startswith("observations-"))

    def load(name):
        with open(os.path.join(outdir, name), encoding="utf-8") as f:
            return json.load(f)
    return load("programme.json"), load("roadmap.json"), [load(b) for b in batches]


class IncidentsTest(unittest.TestCase):
    """One daemon with the demo loaded for every test of the class."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="scaleupd-incidents-")
        clock = os.path.join(cls.tmp, "clock")
        with open(clock, "w", encoding="utf-8") as f:
            f.write(str(NOW))
        programme, roadmap, batches = generate_demo(os.path.join(cls.tmp, "demo"))
        cls.daemon = harness.Daemon(harness.fresh_database("e2e_incidents"),
                                    "[alerts]\nevaluate_interval = 1s\n",
                                    env={"SCALEUPD_TEST_CLOCK_FILE": clock})
        try:
            d = cls.daemon
            resp = d.request("POST", "/api/v1/programmes", programme)
            assert resp.status in (200, 201), resp
            resp = d.request("PUT", f"/api/v1/programmes/{SLUG}/roadmap", roadmap)
            assert resp.status in (200, 201), resp
            for batch in batches:
                resp = d.request("POST", f"/api/v1/programmes/{SLUG}/observations", batch)
                assert resp.status == 200 and resp.body["status"] == "ok", resp
            cls.late = harness.wait_until(cls.settled_late_feeds, "the demo's late feeds")
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        daemon = cls.daemon
        daemon.close()
        shutil.rmtree(cls.tmp, ignore_errors=True)
        reports = daemon.sanitizer_reports()
        if reports:
            raise AssertionError("a sanitizer reported a problem:\n" + "\n".join(reports))

    @classmethod
    def firing_late_feeds(cls):
        body = cls.daemon.request("GET", f"/api/v1/alerts?programme={SLUG}&state=firing"
                                  "&limit=1000").body
        return [a for a in body["alerts"] if a["kind"] == "late_feed"]

    @classmethod
    def settled_late_feeds(cls):
        """The firing late-feed alerts once the four practices that stopped reporting are
        late and no practice that reported 2026-10 is (the timer may run mid-load)."""
        late = cls.firing_late_feeds()
        sites = {a["site"] for a in late}
        quiet = {"BE-WAL-GP004", "BE-WAL-GP007", "BE-WAL-GP009", "BE-WAL-GP012"}
        if not quiet <= sites or any(a["period"] != "2026-10-01" for a in late):
            return None
        return late if len(late) == 20 else None

    def incidents(self, query=""):
        resp = self.daemon.request("GET", f"/api/v1/incidents?programme={SLUG}{query}")
        self.assertEqual(resp.status, 200, resp)
        return resp

    def test_the_demo_late_feeds_are_one_incident_per_practice(self):
        late = self.late
        practices = {a["site"] for a in late}
        self.assertEqual((len(late), len(practices)), (20, 5), "the demo: 20 late feeds, 5 practices")
        incidents = self.incidents("&kind=late_feed&state=open").body["incidents"]
        self.assertEqual(len(incidents), 5, [n["title"] for n in incidents])
        self.assertEqual({n["site"] for n in incidents}, practices)
        for n in incidents:
            mine = sorted(a["id"] for a in late if a["site"] == n["site"])
            self.assertEqual(sorted(m["id"] for m in n["members"]), mine, n["title"])
            self.assertEqual((n["period"], n["due"], n["period_start"]),
                             ("2026-10", "2026-11-15", "2026-10-01"))
            self.assertIn("no report for 2026-10 (due 2026-11-15)", n["title"])
            for m in n["members"]:
                self.assertIsNone(m["value"], "a missing report is not a value")
                self.assertEqual((m["period"], m["due"]), ("2026-10-01", "2026-11-15"))
        for a in late:
            self.assertIsNone(a["value"])
            self.assertEqual(a["due"], "2026-11-15")
            self.assertIn(a["incident_id"], {n["id"] for n in incidents})

    def test_pages_of_incidents(self):
        everything = self.incidents("&limit=1000").body["incidents"]
        seen, path = [], f"/api/v1/incidents?programme={SLUG}&limit=2"
        while path:
            resp = self.daemon.request("GET", path)
            self.assertEqual(resp.status, 200, resp)
            seen += [n["id"] for n in resp.body["incidents"]]
            link = resp.headers.get("Link") or resp.headers.get("link")
            path = link[1:link.index(">")] if link else None
        self.assertEqual(seen, [n["id"] for n in everything])
        self.assertEqual(seen, sorted(seen, reverse=True), "newest first")

    def test_one_incident_and_its_acknowledgement(self):
        n = self.incidents("&kind=late_feed&state=open").body["incidents"][0]
        resp = self.daemon.request("GET", f"/api/v1/incidents/{n['id']}")
        self.assertEqual(resp.status, 200)
        self.assertEqual(resp.body["title"], n["title"])
        resp = self.daemon.request("POST", f"/api/v1/incidents/{n['id']}/ack")
        self.assertEqual(resp.status, 200, resp)
        self.assertEqual(sorted(resp.body["acked"]), sorted(m["id"] for m in n["members"]))
        after = self.daemon.request("GET", f"/api/v1/incidents/{n['id']}").body
        self.assertTrue(after["acked"])
        self.assertTrue(all(m["acked_at"] for m in after["members"]))

    def test_scaleupctl_incidents_list_show_ack(self):
        d = self.daemon
        base = ["--url", f"http://127.0.0.1:{d.port}", "--token", d.admin_token]
        listed = json.loads(harness.scaleupctl(*base, "incidents", "list", "--programme", SLUG,
                                               "--open", "--limit", "1000").stdout)["incidents"]
        api = self.incidents("&state=open&limit=1000").body["incidents"]
        self.assertEqual([n["id"] for n in listed], [n["id"] for n in api])
        self.assertTrue(all(n["state"] == "open" for n in listed))
        every = json.loads(harness.scaleupctl(*base, "incidents", "list").stdout)["incidents"]
        self.assertGreaterEqual(len(every), len(listed))
        late = json.loads(harness.scaleupctl(*base, "incidents", "list", "--kind", "late_feed",
                                             "--open").stdout)["incidents"]
        self.assertEqual(len(late), 5)
        target = next(n for n in late if not n["acked"])
        shown = json.loads(harness.scaleupctl(*base, "incidents", "show", str(target["id"])).stdout)
        self.assertEqual((shown["id"], shown["title"]), (target["id"], target["title"]))
        acked = json.loads(harness.scaleupctl(
            *base, "incidents", "ack", str(target["id"]), "--by", "Ann Peeters", "--comment",
            "called the practice").stdout)
        self.assertEqual(sorted(acked["acked"]), sorted(m["id"] for m in target["members"]))
        self.assertEqual(acked["acked_by"], "Ann Peeters")
        after = d.request("GET", f"/api/v1/incidents/{target['id']}").body
        self.assertTrue(after["acked"])
        self.assertEqual({m["acked_by"] for m in after["members"]}, {"Ann Peeters"})
        again = json.loads(harness.scaleupctl(*base, "incidents", "ack", str(target["id"]),
                                              "--by", "Bob").stdout)
        self.assertEqual(again["acked"], [], "acknowledged before: kept as it was")
        missing = harness.scaleupctl(*base, "incidents", "show", "99999999", check=False)
        self.assertEqual(missing.returncode, 1)
        self.assertIn("404: no incident 99999999", missing.stderr)
        for bad in (["incidents"], ["incidents", "show", "x"], ["incidents", "list", "--state"],
                    ["incidents", "list", "--programme", "a b"], ["incidents", "ack"]):
            proc = harness.scaleupctl(*base, *bad, check=False)
            self.assertEqual(proc.returncode, 2, bad)
            self.assertIn("usage", proc.stderr, bad)

    def test_bad_requests_are_4xx(self):
        d = self.daemon
        for path, status, code in [
                ("/api/v1/incidents?state=closed", 400, "invalid_parameter"),
                ("/api/v1/incidents?kind=row", 400, "invalid_parameter"),
                ("/api/v1/incidents?limit=0", 400, "invalid_parameter"),
                ("/api/v1/incidents?after=!!", 400, "invalid_parameter"),
                ("/api/v1/incidents/0", 404, "unknown_incident"),
                ("/api/v1/incidents/x1", 404, "unknown_incident"),
                ("/api/v1/incidents/99999999", 404, "unknown_incident"),
                ("/api/v1/incidents/99999999999999999999", 404, "unknown_incident")]:
            resp = d.request("GET", path)
            self.assertEqual((resp.status, resp.body["error"]["code"]), (status, code), path)
        resp = d.request("POST", "/api/v1/incidents/99999999/ack")
        self.assertEqual((resp.status, resp.body["error"]["code"]), (404, "unknown_incident"))


if __name__ == "__main__":
    unittest.main()
