"""The e-mail a system leader reads, end to end: the real daemon sends a grouped e-mail
through a real SMTP server (smtp_sink.py); the test reads it as a mail client would (the
subject in words, the text part on its own, the HTML with its charts by Content-ID), renders
the HTML in a 600 px pane in headless Chromium and looks at it (a screenshot in
build/screenshots/), then follows its links in Chromium: the chart link opens the chart of
that indicator and site with the alert's point marked; the acknowledge link acknowledges in
one click, as the address it was sent to, while a plain GET (a mail scanner) acknowledges
nothing, and a forged or expired link gets a clear 4xx page."""

import base64
import json
import os
import re
import shutil
import subprocess
import tempfile
import unittest
import urllib.parse

import harness
from harness import Daemon, fresh_database, psql, wait_until
from smtp_sink import SmtpSink, free_port

START = 1770724800  # 2026-02-10T12:00:00Z: December 2025 is the latest period due
WEB_SOURCE = os.path.join(harness.SOURCE_DIR, "web")

PROGRAMME = {
    "slug": "mail-be",
    "name": "Integrated care Flanders",
    "time_zone": "Europe/Brussels",
    "sites": [
        {"code": "BE", "name": "Belgium", "level": "country"},
        {"code": "BE-VLG", "name": "Flanders", "level": "region", "parent": "BE"},
        {"code": "GP1", "name": "Praktijk Een", "level": "practice", "parent": "BE-VLG",
         "adopted": "2024-01-01"},
        {"code": "GP2", "name": "Praktijk Twee", "level": "practice", "parent": "BE-VLG",
         "adopted": "2024-01-01"},
        {"code": "GP3", "name": "Praktijk Drie", "level": "practice", "parent": "BE-VLG",
         "adopted": "2024-01-01"},
    ],
    "indicators": [
        {"code": "bp_controlled_pct", "name": "Blood pressure under control", "unit": "%",
         "value_type": "percentage", "period_type": "monthly", "direction": "up",
         "aggregate": "weighted"},
    ],
}

STABLE = [60, 62, 61, 63, 62, 61, 62, 63, 61, 62, 61, 62]  # 2025-01 .. 2025-12


def observations(values, sites):
    return {"observations": [
        {"indicator": "bp_controlled_pct", "site": site, "period": period, "value": value}
        for period, value in values for site in sites]}


def history(months=12):
    return [(f"2025-{m:02d}", v) for m, v in enumerate(STABLE[:months], start=1)]


class EmailTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="scaleupd-email-")
        self.clock_file = os.path.join(self.tmp, "clock")
        self.set_clock(START)
        self.sink = SmtpSink(os.path.join(self.tmp, "mail"))
        self.sink.start()
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.shots = os.path.join(harness.build_dir(), "screenshots")
        os.makedirs(self.shots, exist_ok=True)
        config = ("[alerts]\ngroup_wait = 30s\ngroup_interval = 60s\nrepeat_interval = 4h\n"
                  "evaluate_interval = 1s\ndeliver_interval = 1s\n"
                  f"[smtp]\nurl = smtp://127.0.0.1:{self.sink.port}\ntls = none\n"
                  "from = scaleupd@alerts.example\n"
                  f"[server]\nlisten_port = {self.port}\nbase_url = {self.base}/\n"
                  f"[links]\nstate_directory = {os.path.join(self.tmp, 'state')}\n")
        self.daemon = Daemon(fresh_database("e2e_email"), config,
                             env={"SCALEUPD_TEST_CLOCK_FILE": self.clock_file})

    def tearDown(self):
        self.daemon.close()
        self.sink.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def set_clock(self, t):
        self.now = t
        with open(self.clock_file + ".tmp", "w", encoding="ascii") as f:
            f.write(f"{t}\n")
        os.replace(self.clock_file + ".tmp", self.clock_file)

    def alerts(self, state="firing"):
        r = self.daemon.request("GET", f"/api/v1/alerts?programme=mail-be&state={state}")
        self.assertEqual(r.status, 200, r.body)
        return r.body["alerts"]

    def receive_the_email(self):
        d = self.daemon
        self.assertEqual(d.request("POST", "/api/v1/programmes", PROGRAMME).status, 201)
        r = d.request("POST", "/api/v1/programmes/mail-be/rules", {
            "name": "spc-bp_controlled_pct", "kind": "spc", "indicator": "bp_controlled_pct",
            "method": "mdc"})
        self.assertIn(r.status, (200, 201), r.body)
        r = d.request("PUT", "/api/v1/programmes/mail-be/receivers", {"receivers": [
            {"name": "leaders", "email": ["lead@example.org"], "time_zone": "Europe/Brussels"}]})
        self.assertEqual(r.status, 200, r.body)
        for values, sites in ((history(), ("GP1", "GP2")), (history(11), ("GP3",)),
                              ([("2026-01", 30)], ("GP1", "GP2"))):
            r = d.request("POST", "/api/v1/programmes/mail-be/observations",
                          observations(values, sites))
            self.assertEqual(r.status, 200, r.body)
        # two practices fall below their limits; the third has not reported December
        firing = wait_until(lambda: len(self.alerts()) == 3 and self.alerts(), "3 firing alerts")
        self.assertEqual(sorted(a["site"] for a in firing), ["GP1", "GP2", "GP3"])
        wait_until(lambda: psql(d.conninfo, "SELECT count(*) FROM alert_event WHERE "
                                            "dispatched_at IS NULL") != "0", "alert events")
        self.set_clock(START + 60)  # past group_wait
        return wait_until(lambda: self.sink.messages() and self.sink.messages()[0], "the e-mail")

    def images(self, mail):
        """The PNG parts of the message by Content-ID (without <>)."""
        out = {}
        for part in mail.walk():
            if part.get_content_type() == "image/png":
                out[part["Content-ID"].strip("<>")] = part.get_content()
        return out

    def check_text(self, text):
        self.assertIn("2 incidents open: 1 signal, 1 late feed.", text)
        self.assertIn("- Signal: Blood pressure under control below lower limit at 2 practices "
                      "(January 2026)", text)
        self.assertIn("- Late feed: Praktijk Drie late for December 2025", text)
        self.assertRegex(text, r"Praktijk Een: 30 % \(limits [\d.]+ \.\. [\d.]+ %, centre "
                               r"[\d.]+ %\)")
        self.assertRegex(text, r"== Praktijk Drie: no report for December 2025, due \d+ Jan "
                               r"2026 ==")
        self.assertIn("Blood pressure under control: no value", text)
        self.assertIn("since 2026-02-10 13:00 Europe/Brussels", text)
        self.assertNotIn("bp_controlled_pct below", text)  # names, not codes
        self.assertNotRegex(text, r"value 0\b|limits - ")
        self.assertIn(f"Chart: {self.base}/#/chart?programme=mail-be&indicator="
                      "bp_controlled_pct&site=GP1&period=2026-01", text)
        return re.findall(r"Acknowledge \(one click, no login\): (\S+)", text)

    def save_html(self, html, images):
        """The HTML as a mail client shows it: each cid: image inline, into screenshots/."""
        def inline(match):
            cid = match.group(1)
            self.assertIn(cid, images, f"the HTML shows cid:{cid}, which the message lacks")
            return "data:image/png;base64," + base64.b64encode(images[cid]).decode()
        path = os.path.join(self.shots, "email.html")
        with open(path, "w", encoding="utf-8") as f:
            f.write(re.sub(r"cid:([^\"']+)", inline, html))
        for n, (cid, png) in enumerate(sorted(images.items())):
            with open(os.path.join(self.shots, f"email-chart-{n + 1}.png"), "wb") as f:
                f.write(png)
        return path

    def browse(self, html_path, ack_url):
        script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "email.test.mjs")
        if not os.path.isdir(os.path.join(WEB_SOURCE, "node_modules", "playwright-core")):
            self.skipTest("web/node_modules/playwright-core is missing: run scripts/install-deps")
        if not os.access("/usr/bin/chromium", os.X_OK):
            self.skipTest("/usr/bin/chromium is missing: run scripts/install-deps")
        token = harness.create_token(self.daemon.conninfo, "--read", name="leader")
        env = dict(os.environ, EMAIL_HTML=html_path, DASHBOARD_URL=self.base,
                   DASHBOARD_READ_TOKEN=token, SCREENSHOT_DIR=self.shots, ACK_URL=ack_url,
                   SCALEUPD_WEB_DIR=WEB_SOURCE)
        proc = subprocess.run(["node", script], env=env, capture_output=True, text=True,
                              timeout=harness.TIMEOUT * 3, check=False)
        print(proc.stdout)
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)

    def acked(self):
        return {a["site"]: a["acked_by"] for a in self.alerts()}

    def test_email_reads_in_words_and_its_links_work(self):
        mail = self.receive_the_email()
        self.assertEqual(mail["Subject"], "Flanders: Blood pressure under control below lower "
                                          "limit at 2 practices \u00b7 Praktijk Drie late for "
                                          "December 2025")
        text = mail.get_body(("plain",)).get_content()
        with open(os.path.join(self.shots, "email.txt"), "w", encoding="utf-8") as f:
            f.write(f"Subject: {mail['Subject']}\n\n{text}")
        ack_urls = self.check_text(text)
        self.assertEqual(len(ack_urls), 2, "one one-click link per incident")
        html = mail.get_body(("html",)).get_content()
        images = self.images(mail)
        self.assertEqual(len(images), 1, "a chart per signal incident, none for the late feed")
        for png in images.values():
            self.assertEqual(png[:8], b"\x89PNG\r\n\x1a\n")
        for cid in images:
            self.assertIn(f"cid:{cid}", html)
        self.assertEqual(self.acked(), {"GP1": None, "GP2": None, "GP3": None})

        # a mail scanner's GET shows the page and acknowledges nothing (the second link: the
        # late feed's incident, GP3)
        gp2 = [u for u in ack_urls if u != ack_urls[0]][0]
        r = self.daemon.request("GET", urllib.parse.urlsplit(gp2).path + "?" +
                                urllib.parse.urlsplit(gp2).query, token=None)
        self.assertEqual(r.status, 200)
        self.assertIn("lead@example.org", r.body)
        self.assertEqual(self.acked(), {"GP1": None, "GP2": None, "GP3": None})

        # the browser: the HTML in a 600 px pane, the chart link, the ack link, a forged one
        self.browse(self.save_html(html, images), ack_urls[0])
        acked = self.acked()
        self.assertEqual(acked, {"GP1": "lead@example.org", "GP2": "lead@example.org",
                                 "GP3": None}, "the signal incident's link acknowledges both")

        # an expired link: a clear 410 page, and nothing more acknowledged
        self.set_clock(START + 8 * 86400)
        path = urllib.parse.urlsplit(gp2)
        for method in ("GET", "POST"):
            r = self.daemon.request(method, path.path + "?" + path.query, token=None)
            self.assertEqual(r.status, 410, r.body)
            self.assertIn("This link has expired", r.body)
        self.assertEqual(list(self.acked().values()).count(None), 1)
        r = self.daemon.request("GET", "/ack", token=None)
        self.assertEqual(r.status, 400)
        self.assertIn("Not an acknowledgement link", r.body)
        self.assertTrue(os.path.exists(os.path.join(self.tmp, "state", "ack-link.key")))


if __name__ == "__main__":
    unittest.main()
