"""Digests end to end: the real daemon with a test clock, two daemons on one database, a
real SMTP server. A receiver with "notify": "digest" gets no immediate notices, and at its
schedule (Monday 08:00 in Brussels) exactly one digest with what opened, what resolved,
what is still open, the progress of each dimension and the late feeds; the next one is due
a week later by the wall clock (an hour later in UTC across the end of summer time) and says
how progress changed. The first digest's HTML is rendered by Chromium to a screenshot."""

import datetime
import os
import shutil
import subprocess
import tempfile
import unittest

import harness
from harness import Daemon, fresh_database, psql, wait_until
from smtp_sink import SmtpSink
from test_progress import DATA, EXAMPLE_ROADMAP, coverage  # pylint: disable=wrong-import-order

SLUG = "icp-t2d-htn-be"
# Wallonia's practice has not sent September 2025 (due 2025-10-15) when the digests start
LATE = [row for row in DATA if not (row["site"] == "BE-WAL-GP001" and row["period"] == "2025-09")]
START = 1760529600  # Wednesday 2025-10-15T12:00:00Z
FIRST_DUE = "2025-10-20T06:00:00Z"  # Monday 08:00 CEST
SECOND_DUE = "2025-10-27T07:00:00Z"  # Monday 08:00 CET: summer time ended on the 26th


def epoch(iso):
    return datetime.datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


RECEIVERS = {"receivers": [
    {"name": "leaders", "email": ["leaders@example.org"], "time_zone": "Europe/Brussels",
     "notify": "digest", "digest": {"every": "week", "day": "monday", "hour": 8}},
    {"name": "team", "email": ["team@example.org"], "time_zone": "Europe/Brussels"},
]}


class DigestTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="scaleupd-digests-")
        self.clock_file = os.path.join(self.tmp, "clock")
        self.set_clock(START)
        self.sink = SmtpSink(os.path.join(self.tmp, "mail"))
        self.sink.start()
        self.daemons = []

    def tearDown(self):
        for d in self.daemons:
            d.close()
        self.sink.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def set_clock(self, t):
        with open(self.clock_file + ".tmp", "w", encoding="ascii") as f:
            f.write(f"{t}\n")
        os.replace(self.clock_file + ".tmp", self.clock_file)

    def start_daemon(self, db):
        config = ("[alerts]\ngroup_wait = 30s\ngroup_interval = 60s\nrepeat_interval = 4h\n"
                  "evaluate_interval = 1s\ndeliver_interval = 1s\n"
                  f"[smtp]\nurl = smtp://127.0.0.1:{self.sink.port}\ntls = none\n"
                  "from = scaleupd@alerts.example\ntimeout = 5s\n"
                  "[server]\nbase_url = https://scaleup.example\n")
        d = Daemon(db, config, env={"SCALEUPD_TEST_CLOCK_FILE": self.clock_file})
        self.daemons.append(d)
        return d

    def mails_to(self, address):
        return [m for m in self.sink.messages() if m["To"] == address]

    def receiver(self, d, name):
        r = d.request("GET", f"/api/v1/programmes/{SLUG}/receivers")
        self.assertEqual(r.status, 200, r.body)
        return next(x for x in r.body["receivers"] if x["name"] == name)

    def setup_programme(self, d):
        self.assertEqual(d.request("POST", "/api/v1/programmes",
                                   harness.example_programme()).status, 201)
        r = d.request("PUT", f"/api/v1/programmes/{SLUG}/receivers", RECEIVERS)
        self.assertEqual(r.status, 200, r.body)
        leaders = next(x for x in r.body["receivers"] if x["name"] == "leaders")
        self.assertEqual(leaders["notify"], "digest")
        self.assertEqual(leaders["digest"], {"every": "week", "day": "monday", "hour": 8})
        team = next(x for x in r.body["receivers"] if x["name"] == "team")
        self.assertEqual(team["notify"], "immediate")
        self.assertNotIn("digest", team)
        # the roadmap and data a minute after the receivers asked for digests: what they
        # raise opens within the first digest's period
        self.set_clock(START + 60)
        r = d.request("PUT", f"/api/v1/programmes/{SLUG}/roadmap", EXAMPLE_ROADMAP,
                      {"Content-Type": "application/json"})
        self.assertEqual(r.status, 201, r.body)
        r = d.request("POST", f"/api/v1/programmes/{SLUG}/observations", {"observations": LATE})
        self.assertEqual(r.status, 200, r.body)

    def count(self, d, sql):
        return int(psql(d.conninfo, sql))

    def alerts_changed(self, d, to_state, after, until):
        return self.count(d, "SELECT count(DISTINCT alert_id) FROM alert_history WHERE "
                             f"to_state = '{to_state}' AND at > '{after}' AND at <= '{until}'")

    def test_weekly_digest_in_brussels(self):
        db = fresh_database("e2e_digests_weekly")
        d = self.start_daemon(db)
        self.setup_programme(d)
        wait_until(lambda: self.receiver(d, "leaders").get("next_digest_at") == FIRST_DUE,
                   "the first digest scheduled for Monday 08:00 Brussels time")
        # a second daemon on the same database: the digest must still go once
        self.start_daemon(db)

        # late feeds fire; the immediate receiver is told, the digest receiver is not
        wait_until(lambda: self.count(d, "SELECT count(*) FROM alert WHERE state = 'firing'"),
                   "firing late-feed alerts")
        self.set_clock(START + 180)
        wait_until(lambda: self.mails_to("team@example.org"), "the team's immediate notice")
        wait_until(lambda: self.count(d, "SELECT count(*) FROM alert_event WHERE receiver = "
                                         "'leaders' AND dispatched_at IS NULL") == 0,
                   "the digest receiver's events dispatched")
        self.assertEqual(self.mails_to("leaders@example.org"), [])

        # Monday 08:00: one digest
        self.set_clock(epoch(FIRST_DUE) + 1)
        first = wait_until(lambda: self.mails_to("leaders@example.org"), "the first digest")[0]
        opened = self.alerts_changed(d, "firing", "2025-10-15T12:00:00Z", FIRST_DUE)
        still_open = self.count(d, "SELECT count(*) FROM alert WHERE state = 'firing'")
        self.assertGreater(opened, 0)
        subject = first["Subject"]
        self.assertTrue(subject.startswith(
            f"[scaleupd] Weekly digest \u00b7 {harness.EXAMPLE_PROGRAMME['name']}: "
            f"{opened} opened, 0 resolved, {still_open} open"), subject)
        text = first.get_body(("plain",)).get_content()
        html = first.get_body(("html",)).get_content()
        self.assertIn("From 2025-10-15 14:00 to 2025-10-20 08:00 (Europe/Brussels)", text)
        for section in (f"\nOPENED ({opened})\n", "\nRESOLVED (0)\n- none\n",
                        f"\nSTILL OPEN ({still_open})\n", "\nPROGRESS\n- coverage: ",
                        "\n- expansion: ", "\n- institutionalisation: ", "\nLATE FEEDS\n- "):
            self.assertIn(section, text)
        self.assertIn("(since the last digest: new)", text)
        self.assertIn("\n- Patients enrolled in the care package, 2025-09 (due 2025-10-15): 1 of 3 "
                      "sites sent nothing\n", text)
        self.assertIn(", late feeds for 2 indicators", subject)
        self.assertIn("Dashboard: https://scaleup.example/#/overview?programme=" + SLUG, text)
        self.assertIn("max-width:600px", html)
        self.screenshot(html, "digest-weekly.png", text)
        self.assertEqual(self.count(d, "SELECT count(*) FROM digest_sent"), 1)
        wait_until(lambda: self.receiver(d, "leaders").get("next_digest_at") == SECOND_DUE,
                   "the next digest a week later by the wall clock")

        # Wallonia sends what it owed (its late-feed alerts resolve) and Flanders revises
        # September: coverage moves
        fixes = [row for site in ("BE-WAL-GP001", "BE-VLG-GP001", "BE-VLG-GP002")
                 for row in coverage(site, "2025-09", 200, 500)]
        r = d.request("POST", f"/api/v1/programmes/{SLUG}/observations", {"observations": fixes})
        self.assertEqual(r.status, 200, r.body)
        wait_until(lambda: self.count(d, "SELECT count(*) FROM alert WHERE state = 'resolved'"),
                   "a resolved alert")
        self.set_clock(epoch(SECOND_DUE) + 1)
        mails = wait_until(lambda: len(self.mails_to("leaders@example.org")) >= 2 and
                           self.mails_to("leaders@example.org"), "the second digest")
        second = mails[1]
        resolved = self.alerts_changed(d, "resolved", FIRST_DUE, SECOND_DUE)
        self.assertGreater(resolved, 0)
        text = second.get_body(("plain",)).get_content()
        self.assertIn("From 2025-10-20 08:00 to 2025-10-27 08:00 (Europe/Brussels)", text)
        self.assertIn(f"\nRESOLVED ({resolved})\n", text)
        self.assertNotIn("(since the last digest: new)", text)
        self.assertRegex(text, r"\n- coverage: [a-z ]+, [0-9.]+ % of the way to target \(since "
                               r"the last digest: [^)]*\+[0-9.]+ points\)\n")
        self.assertIn("\nLATE FEEDS\n- none: every member site sent its latest due data\n", text)
        self.assertIn(f", {resolved} resolved, ", second["Subject"])
        self.screenshot(second.get_body(("html",)).get_content(), "digest-weekly-second.png")

        # never twice, whichever daemon claimed it, and the outbox drained
        wait_until(lambda: self.count(d, "SELECT count(*) FROM outbox WHERE sent_at IS NULL") == 0,
                   "the outbox to drain")
        self.assertEqual(len(self.mails_to("leaders@example.org")), 2)
        self.assertEqual(self.count(d, "SELECT count(*) FROM digest_sent"), 2)
        self.assertEqual(self.count(d, "SELECT count(DISTINCT m) FROM digest_sent, "
                                       "unnest(messages) m"), 2)

    def test_bad_digest_fields_are_422(self):
        d = self.start_daemon(fresh_database("e2e_digests_bad"))
        self.assertEqual(d.request("POST", "/api/v1/programmes",
                                   harness.example_programme()).status, 201)
        r = d.request("PUT", f"/api/v1/programmes/{SLUG}/receivers", {"receivers": [
            {"name": "a", "email": ["a@example.org"], "notify": "weekly"},
            {"name": "b", "email": ["b@example.org"], "notify": "digest"},
            {"name": "c", "email": ["c@example.org"], "notify": "both",
             "digest": {"every": "week", "day": "funday"}}]})
        self.assertEqual(r.status, 422, r.body)
        got = {(p["path"], p["code"]) for p in r.body["error"]["details"]}
        self.assertEqual(got, {("$.receivers[0].notify", "invalid_notify"),
                               ("$.receivers[1].notify", "missing_digest"),
                               ("$.receivers[2].digest.day", "invalid_digest")})

    def screenshot(self, html, name, text=None):
        """Renders an e-mail's HTML part in a 600 px wide Chromium window to
        $SCALEUPD_BUILD_DIR/screenshots/NAME (looked at by whoever changes the digest), with
        the text part beside it when given."""
        shots = os.path.join(harness.build_dir(), "screenshots")
        os.makedirs(shots, exist_ok=True)
        if text is not None:
            with open(os.path.join(shots, name.replace(".png", ".txt")), "w",
                      encoding="utf-8") as f:
                f.write(text)
        if not os.access("/usr/bin/chromium", os.X_OK):
            return
        page = os.path.join(self.tmp, name + ".html")
        with open(page, "w", encoding="utf-8") as f:
            f.write(html)
        out = os.path.join(shots, name)
        subprocess.run(["/usr/bin/chromium", "--headless", "--no-sandbox", "--disable-gpu",
                        "--hide-scrollbars", "--window-size=600,900", f"--screenshot={out}",
                        "file://" + page], capture_output=True, timeout=harness.TIMEOUT,
                       check=True)
        self.assertGreater(os.path.getsize(out), 1000)


if __name__ == "__main__":
    unittest.main()
