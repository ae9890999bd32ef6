"""Drift detection and alerting end to end: the real daemon, a real SMTP server (aiosmtpd),
time moved through the test clock file. A drifting series gives exactly one grouped e-mail,
its recovery one resolved e-mail, a silence none; mail survives an SMTP outage and a kill -9
(also between the claim and the send); a hanging SMTP server does not hold up ingest; a
dead-lettered message raises a self alert; webhooks are retried under one Idempotency-Key."""

import http.server
import json
import os
import shutil
import tempfile
import threading
import time
import unittest

from harness import (Daemon, create_token, fresh_database, metric, psql, scaleupctl,
                     wait_until)
from smtp_sink import SilentServer, SmtpSink, free_port

START = 1770724800  # 2026-02-10T12:00:00Z: December 2025 is the latest period due

PROGRAMME = {
    "slug": "drift-be",
    "name": "Drift test programme",
    "time_zone": "Europe/Brussels",
    "sites": [
        {"code": "BE", "name": "Belgium", "level": "country"},
        {"code": "BE-VLG", "name": "Flanders", "level": "region", "parent": "BE"},
        {"code": "GP1", "name": "Praktijk Een", "level": "practice", "parent": "BE-VLG",
         "adopted": "2024-01-01"},
        {"code": "GP2", "name": "Praktijk Twee", "level": "practice", "parent": "BE-VLG",
         "adopted": "2024-01-01"},
    ],
    "indicators": [
        {"code": "bp_controlled_pct", "name": "Blood pressure under control", "unit": "%",
         "value_type": "percentage", "period_type": "monthly", "direction": "up",
         "aggregate": "weighted"},
    ],
}

STABLE = [60, 62, 61, 63, 62, 61, 62, 63, 61, 62, 61, 62]  # 2025-01 .. 2025-12


def rows(values_by_period, sites=("GP1", "GP2")):
    return {"observations": [
        {"indicator": "bp_controlled_pct", "site": site, "period": period, "value": value}
        for period, value in values_by_period for site in sites]}


def expected_limits(values):
    """XmR limits worked independently: mean of all points; moving ranges screened once at
    3.267 x their mean; mean -+ 2.66 x mean moving range, as the e-mail prints them."""
    mean = sum(values) / len(values)
    ranges = [abs(b - a) for a, b in zip(values, values[1:])]
    mr = sum(ranges) / len(ranges)
    kept = [r for r in ranges if r < 3.267 * mr]
    mr = sum(kept) / len(kept)
    return f"{mean - 2.66 * mr:.4g} .. {mean + 2.66 * mr:.4g}"


class WebhookSink:
    """An HTTP server on 127.0.0.1 recording each POST (headers and JSON body) and answering
    the statuses of `answers` in turn, then 200."""

    def __init__(self, answers=()):
        sink = self
        self.posts = []
        self.answers = list(answers)
        self.lock = threading.Lock()

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # pylint: disable=invalid-name
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with sink.lock:
                    sink.posts.append((dict(self.headers), json.loads(body)))
                    status = sink.answers.pop(0) if sink.answers else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):  # pylint: disable=arguments-differ
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def received(self):
        with self.lock:
            return list(self.posts)

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def history():
    return [(f"2025-{m:02d}", v) for m, v in enumerate(STABLE, start=1)]


class AlertingTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="scaleupd-alerts-")
        self.clock_file = os.path.join(self.tmp, "clock")
        self.now = START
        self.set_clock(START)
        self.sink = SmtpSink(os.path.join(self.tmp, "mail"))
        self.daemon = None

    def tearDown(self):
        if self.daemon is not None:
            self.daemon.close()
        self.sink.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def set_clock(self, t):
        self.now = t
        with open(self.clock_file + ".tmp", "w", encoding="ascii") as f:
            f.write(f"{t}\n")
        os.replace(self.clock_file + ".tmp", self.clock_file)

    def advance(self, seconds):
        self.set_clock(self.now + seconds)

    def start_daemon(self, db, smtp_timeout="5s", extra=""):
        config = self.daemon_config(smtp_timeout, extra)
        self.daemon = Daemon(db, config, env={"SCALEUPD_TEST_CLOCK_FILE": self.clock_file})
        return self.daemon

    def daemon_config(self, smtp_timeout="5s", extra=""):
        return ("[alerts]\ngroup_wait = 30s\ngroup_interval = 60s\nrepeat_interval = 4h\n"
                "evaluate_interval = 1s\ndeliver_interval = 1s\ndelivery_max_age = 2d\n"
                f"[smtp]\nurl = smtp://127.0.0.1:{self.sink.port}\ntls = none\n"
                f"from = scaleupd@alerts.example\ntimeout = {smtp_timeout}\n"
                "[server]\nbase_url = https://scaleup.example\n" + extra)

    def use_mdc(self, d):
        r = d.request("POST", "/api/v1/programmes/drift-be/rules", {
            "name": "spc-bp_controlled_pct", "kind": "spc", "indicator": "bp_controlled_pct",
            "method": "mdc"})
        self.assertIn(r.status, (200, 201), r.body)

    def setup_programme(self, d, method="mdc"):
        """The programme, its receiver and a year of stable data. These tests are about what
        happens to an alert once raised, with figures worked from Making Data Count's chart: the
        spc rule keeps its name but alerts as the chart signals ("method": "mdc"); the default
        rule (the detector, with its false-alert budget) is test_the_default_rule_*'s."""
        self.assertEqual(d.request("POST", "/api/v1/programmes", PROGRAMME).status, 201)
        if method == "mdc":
            self.use_mdc(d)
        r = d.request("PUT", "/api/v1/programmes/drift-be/receivers", {"receivers": [
            {"name": "change-team", "email": ["team@example.org"],
             "time_zone": "Europe/Brussels"}]})
        self.assertEqual(r.status, 200, r.body)
        self.push(d, history())

    def push(self, d, values):
        r = d.request("POST", "/api/v1/programmes/drift-be/observations", rows(values))
        self.assertEqual(r.status, 200, r.body)

    def alerts(self, d, state):
        r = d.request("GET", f"/api/v1/alerts?programme=drift-be&state={state}")
        self.assertEqual(r.status, 200, r.body)
        return r.body["alerts"]

    def wait_alerts(self, d, state, n):
        return wait_until(lambda: len(self.alerts(d, state)) == n and self.alerts(d, state),
                          f"{n} {state} alerts")

    def wait_dispatched(self, d):
        wait_until(lambda: psql(d.conninfo, "SELECT count(*) FROM alert_event WHERE "
                                            "dispatched_at IS NULL") == "0",
                   "every alert event dispatched")

    @staticmethod
    def wait_metric(d, what, name, **labels):
        """Waits until what(value) holds for a sample of /metrics (None when absent): the
        delivery thread counts an outcome just after it records it in the outbox, so a test
        that has seen the record may read the metrics before the count."""
        return wait_until(lambda: what(metric(d.metrics(), name, **labels)),
                          f"{name}{labels} in /metrics")

    def wait_outbox_empty(self, d):
        wait_until(lambda: psql(d.conninfo, "SELECT count(*) FROM outbox WHERE sent_at IS NULL "
                                            "AND dead_at IS NULL") == "0",
                   "the outbox to drain")

    def test_drift_recovery_silence(self):
        self.sink.start()
        d = self.start_daemon(fresh_database("e2e_alerts_drift"))
        self.setup_programme(d)
        rules = d.request("GET", "/api/v1/programmes/drift-be/rules").body["rules"]
        names = {r["name"] for r in rules}
        self.assertIn("spc-bp_controlled_pct", names)
        self.assertIn("late-feed-bp_controlled_pct", names)

        # both practices drop far below their lower limit in January 2026
        self.mails_before_wait = 0
        self.push(d, [("2026-01", 30)])
        firing = self.wait_alerts(d, "firing", 2)
        self.assertEqual({a["site"] for a in firing}, {"GP1", "GP2"})
        self.assertEqual(firing[0]["summary"], "below lower limit")
        self.wait_dispatched_after_wait(d)
        mails = wait_until(lambda: len(self.sink.messages()) >= 1 and self.sink.messages(),
                           "the firing e-mail")
        self.wait_outbox_empty(d)
        mails = self.sink.messages()
        self.assertEqual(len(mails), 1, [m["Subject"] for m in mails])
        mail = mails[0]
        self.assertEqual(mail["Subject"], "Flanders: Blood pressure under control below lower "
                                          "limit at 2 practices")
        self.assertEqual(mail["To"], "team@example.org")
        self.assertRegex(mail["Message-ID"], r"^<scaleupd\.\d+\.drift-be@alerts\.example>$")
        text = mail.get_body(("plain",)).get_content()
        html = mail.get_body(("html",)).get_content()
        self.assertIn("Praktijk Een: 30 % (", text)
        self.assertIn("January 2026", text)
        self.assertIn(f"limits {expected_limits(STABLE + [30])}", text)  # MDC's, as the chart's
        self.assertIn("Europe/Brussels", text)
        self.assertIn("https://scaleup.example/#/chart?programme=drift-be&indicator="
                      "bp_controlled_pct&site=GP1&period=2026-01", text)
        self.assertIn("In the dashboard: https://scaleup.example/#/alerts?programme=drift-be&incident=", text)
        self.assertIn("<table", html)
        first_id = mail["Message-ID"]

        # recovery: one resolved e-mail in the same thread
        self.push(d, [("2026-02", 62)])
        self.wait_alerts(d, "resolved", 2)
        self.advance(120)
        wait_until(lambda: len(self.sink.messages()) >= 2, "the resolved e-mail")
        self.wait_outbox_empty(d)
        mails = self.sink.messages()
        self.assertEqual(len(mails), 2)
        self.assertTrue(mails[1]["Subject"].startswith("Resolved \u2014 Flanders: "),
                        mails[1]["Subject"])
        self.assertEqual(mails[1]["References"], first_id)

        # a silence: the next drift fires but nobody is told
        r = d.request("POST", "/api/v1/silences", {
            "programme": "drift-be", "matchers": {"indicator": "bp_controlled_pct"},
            "ends_at": "2030-01-01T00:00:00Z", "author": "e2e", "reason": "known outage"})
        self.assertEqual(r.status, 201, r.body)
        self.mails_before_wait = 2
        self.push(d, [("2026-02", 30)])  # a revision re-evaluates the series too
        self.wait_alerts(d, "firing", 2)
        self.wait_dispatched_after_wait(d)
        self.wait_outbox_empty(d)
        self.assertEqual(len(self.sink.messages()), 2)
        self.assertEqual(psql(d.conninfo, "SELECT count(*) FROM alert_event WHERE "
                                          "outcome = 'dropped'"), "2")
        samples = d.metrics()
        self.assertEqual(metric(samples, "scaleupd_notifications_sent_total", channel="email"), 2)
        self.assertEqual(metric(samples, "scaleupd_outbox_depth"), 0)

    def wait_dispatched_after_wait(self, d):
        """Nothing leaves before group_wait; then the group is dispatched."""
        wait_until(lambda: psql(d.conninfo, "SELECT count(*) FROM alert_event WHERE "
                                            "dispatched_at IS NULL") != "0", "alert events")
        self.assertEqual(len(self.sink.messages()), self.mails_before_wait)
        self.advance(60)
        self.wait_dispatched(d)

    def test_the_default_rule_alerts_under_its_budget(self):
        """The default spc rule (the detector): a year of data is the chart's baseline (12
        points, each joining it once judged), so a drop in the 13th month is judged against it
        and, far below the mean, fires at once; the e-mail says why, with the limits of the
        baseline it was judged against; the year before arriving late rebuilds each state
        (January is then judged against the 24 months before it) and the alerts stay the two."""
        self.sink.start()
        d = self.start_daemon(fresh_database("e2e_alerts_default"))
        self.setup_programme(d, method=None)
        rule = [r for r in d.request("GET", "/api/v1/programmes/drift-be/rules").body["rules"]
                if r["name"] == "spc-bp_controlled_pct"][0]
        self.assertTrue(rule["default"], rule)
        self.push(d, [("2026-01", 30)])
        firing = self.wait_alerts(d, "firing", 2)
        self.assertEqual({a["site"] for a in firing}, {"GP1", "GP2"})
        self.assertTrue(firing[0]["summary"].startswith("far below the mean (z -"),
                        firing[0]["summary"])
        self.assertEqual(psql(d.conninfo, "SELECT count(*) FROM detector_state"), "2",
                         "one state per (rule, series)")
        self.advance(60)
        mail = wait_until(lambda: self.sink.messages() and self.sink.messages()[0],
                          "the firing e-mail")
        text = mail.get_body(("plain",)).get_content()
        self.assertIn("Praktijk Een: 30 % (", text)
        # the detector's limits are its baseline before the point, and say so (the chart
        # beside them draws MDC's, of every point)
        self.assertIn(f"limits of the periods before: {expected_limits(STABLE)}", text)
        # a revision of old periods rebuilds each state from the 25 months
        rebuilds = ("scaleupd_detector_rebuilds_total", frozenset())
        before = d.metrics().get(rebuilds, 0)
        self.push(d, [(f"2024-{m:02d}", v) for m, v in enumerate(STABLE, start=1)])
        wait_until(lambda: d.metrics().get(rebuilds, 0) >= before + 2, "the two rebuilds")
        self.assertEqual({a["id"] for a in self.alerts(d, "firing")}, {a["id"] for a in firing},
                         "January still holds: the same two alerts, no new one")

    def test_history_is_append_only_and_ack(self):
        self.sink.start()
        d = self.start_daemon(fresh_database("e2e_alerts_ack"))
        self.setup_programme(d)
        self.push(d, [("2026-01", 30)])
        firing = self.wait_alerts(d, "firing", 2)
        r = d.request("POST", f"/api/v1/alerts/{firing[0]['id']}/ack", {})
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(d.request("POST", "/api/v1/alerts/999999/ack", {}).status, 404)
        acked = [a for a in self.alerts(d, "firing") if a["id"] == firing[0]["id"]][0]
        self.assertIsNotNone(acked["acked_at"])
        hist = psql(d.conninfo, "SELECT from_state || '>' || to_state FROM alert_history "
                                "ORDER BY at, alert_id")
        self.assertEqual(hist.split("\n"), ["inactive>firing", "inactive>firing"])

    def test_smtp_down_then_back_and_kill_9(self):
        # no SMTP server yet: the message is queued and retried
        db = fresh_database("e2e_alerts_outage")
        d = self.start_daemon(db)
        self.setup_programme(d)
        self.push(d, [("2026-01", 30)])
        self.wait_alerts(d, "firing", 2)
        self.advance(60)
        wait_until(lambda: psql(db, "SELECT count(*) FROM outbox WHERE attempts > 0 AND "
                                    "last_error IS NOT NULL AND sent_at IS NULL") == "1",
                   "a failed delivery attempt")
        self.wait_metric(d, lambda v: (v or 0) >= 1, "scaleupd_notifications_failed_total",
                         channel="email", reason="connect")
        # kill -9 with the message still in the outbox, then the server comes back
        d.kill()
        self.daemon = None
        self.sink.start()
        self.advance(7200)  # past any backoff
        d = self.start_daemon(db)
        wait_until(lambda: len(self.sink.messages()) >= 1, "the queued e-mail after restart")
        self.wait_outbox_empty(d)
        mails = self.sink.messages()
        self.assertEqual(len(mails), 1)
        self.assertTrue(mails[0]["Subject"].startswith("Flanders: "))
        self.assertEqual(psql(db, "SELECT count(*) FROM outbox WHERE sent_at IS NOT NULL"), "1")

    def test_hanging_smtp_never_slows_ingest(self):
        # an SMTP server that accepts the connection and never answers, on the sink's port
        silent = SilentServer(self.sink.port)
        silent.start()
        try:
            db = fresh_database("e2e_alerts_hang")
            d = self.start_daemon(db, smtp_timeout="20s",
                                  extra="[server]\nworker_threads = 1\n")
            self.setup_programme(d)
            self.push(d, [("2026-01", 30)])
            self.wait_alerts(d, "firing", 2)
            self.advance(60)
            wait_until(lambda: silent.accepted >= 1, "delivery to connect to the silent server")
            # with one database worker, ingest and reads keep answering while the send hangs
            for _ in range(10):
                self.push(d, history())
                self.assertEqual(len(self.alerts(d, "firing")), 2)
            self.assertEqual(silent.closed, 0, "requests waited for the hanging delivery")
            # the [smtp] timeout ends the attempt; it is retried later
            wait_until(lambda: silent.closed >= 1, "the SMTP timeout")
            wait_until(lambda: psql(db, "SELECT count(*) FROM outbox WHERE attempts = 1 AND "
                                        "last_error IS NOT NULL AND sent_at IS NULL") == "1",
                       "the failed attempt to be recorded")
            self.wait_metric(d, lambda v: v == 1, "scaleupd_notifications_failed_total",
                             channel="email", reason="timeout")
        finally:
            silent.stop()
        self.sink.start()
        self.advance(7200)  # past the backoff
        wait_until(lambda: self.sink.messages(), "the e-mail on the retry")
        self.wait_outbox_empty(d)
        self.assertEqual(len(self.sink.messages()), 1)
        self.assertEqual(psql(db, "SELECT attempts FROM outbox"), "2")

    def self_alerts(self, d):
        return [a for a in self.alerts(d, "firing") if a["rule"] == "notification-delivery"]

    def test_permanent_smtp_failure_raises_a_self_alert(self):
        self.sink = SmtpSink(os.path.join(self.tmp, "mail"), reject={"bad@example.org"})
        self.sink.start()
        db = fresh_database("e2e_alerts_dead")
        d = self.start_daemon(db)
        self.assertEqual(d.request("POST", "/api/v1/programmes", PROGRAMME).status, 201)
        self.use_mdc(d)
        r = d.request("PUT", "/api/v1/programmes/drift-be/receivers", {"receivers": [
            {"name": "change-team", "email": ["bad@example.org"]},
            {"name": "ops", "email": ["ops@example.org"]}]})
        self.assertEqual(r.status, 200, r.body)
        self.push(d, history())
        self.push(d, [("2026-01", 30)])
        self.wait_alerts(d, "firing", 2)
        self.advance(60)
        # 550 for bad@: dead-lettered at the first attempt, and the self alert fires
        wait_until(lambda: self.self_alerts(d), "the self alert")
        alert = self.self_alerts(d)[0]
        self.assertEqual(alert["kind"], "self")
        self.assertEqual(alert["summary"], "could not deliver to change-team")
        self.assertEqual(psql(db, "SELECT attempts || ' ' || (last_error LIKE '%550%') FROM"
                                  " outbox WHERE dead_at IS NOT NULL"), "1 true")
        self.wait_metric(d, lambda v: v == 1, "scaleupd_notifications_dead_total",
                         channel="email", reason="permanent")
        # ops, the programme's other receiver, is told after group_interval; change-team is
        # not told about itself
        self.advance(120)
        wait_until(lambda: any("Could not deliver to change-team" in
                               m.get_body(("plain",)).get_content()
                               for m in self.sink.messages()), "the self alert e-mail to ops")
        self.wait_outbox_empty(d)
        self.assertEqual({m["X-Envelope-To"] for m in self.sink.messages()}, {"ops@example.org"})
        self.assertEqual(psql(db, "SELECT count(*) FROM outbox WHERE receiver = 'change-team'"
                                  " AND dead_at IS NULL"), "0")

    def test_max_age_dead_letters_and_raises_a_self_alert(self):
        db = fresh_database("e2e_alerts_max_age")  # no SMTP server at all
        d = self.start_daemon(db)
        self.setup_programme(d)
        self.push(d, [("2026-01", 30)])
        self.wait_alerts(d, "firing", 2)
        self.advance(60)
        wait_until(lambda: psql(db, "SELECT count(*) FROM outbox WHERE last_error IS NOT NULL")
                   == "1", "a failed attempt")
        self.assertEqual(self.self_alerts(d), [])
        self.advance(2 * 86400 + 60)  # past delivery_max_age, and past the backoff
        wait_until(lambda: self.self_alerts(d), "the self alert after max age")
        self.assertEqual(psql(db, "SELECT count(*) FROM outbox WHERE dead_at IS NOT NULL"), "1")
        self.wait_metric(d, lambda v: v == 1, "scaleupd_notifications_dead_total",
                         channel="email", reason="max_age")

    def test_webhook_retried_until_success_with_one_idempotency_key(self):
        hook = WebhookSink(answers=[500])
        self.addCleanup(hook.stop)
        db = fresh_database("e2e_alerts_webhook")
        d = self.start_daemon(db)
        self.assertEqual(d.request("POST", "/api/v1/programmes", PROGRAMME).status, 201)
        self.use_mdc(d)
        r = d.request("PUT", "/api/v1/programmes/drift-be/receivers", {"receivers": [
            {"name": "ops", "webhook": [hook.url]}]})
        self.assertEqual(r.status, 200, r.body)
        self.push(d, history())
        self.push(d, [("2026-01", 30)])
        self.wait_alerts(d, "firing", 2)
        self.advance(60)
        wait_until(lambda: len(hook.received()) == 1, "the first POST (answered 500)")
        wait_until(lambda: psql(db, "SELECT count(*) FROM outbox WHERE last_error LIKE"
                                    " '%500%' AND lease_until IS NULL") == "1",
                   "the 500 to be recorded")
        self.advance(3600)  # past the backoff of a first retry
        self.wait_outbox_empty(d)
        posts = hook.received()
        self.assertEqual(len(posts), 2, "retried exactly until it succeeded")
        keys = [headers["Idempotency-Key"] for headers, _ in posts]
        self.assertEqual(keys[0], keys[1])
        self.assertTrue(keys[0])
        self.assertEqual(posts[0][1], posts[1][1], "the same payload")
        payload = posts[1][1]
        self.assertEqual(payload["version"], "4")
        self.assertEqual(payload["status"], "firing")
        self.assertEqual(payload["receiver"], "ops")
        self.assertEqual(payload["groupLabels"], {"programme": "drift-be", "receiver": "ops"})
        self.assertEqual(sorted(a["labels"]["site"] for a in payload["alerts"]), ["GP1", "GP2"])
        first = payload["alerts"][0]
        self.assertEqual(first["status"], "firing")
        self.assertEqual(first["labels"]["alertname"], "spc-bp_controlled_pct")
        self.assertEqual(first["annotations"]["summary"], "below lower limit")
        self.assertEqual(first["annotations"]["value"], "30")
        self.assertEqual(first["endsAt"], "0001-01-01T00:00:00Z")
        self.assertTrue(first["generatorURL"].startswith("https://scaleup.example/#/"))
        self.assertEqual(psql(db, "SELECT attempts FROM outbox"), "2")
        # the recovery: one resolved POST under a new key
        self.push(d, [("2026-02", 62)])
        self.wait_alerts(d, "resolved", 2)
        self.advance(120)
        wait_until(lambda: len(hook.received()) == 3, "the resolved POST")
        self.wait_outbox_empty(d)
        headers, payload = hook.received()[2]
        self.assertEqual(payload["status"], "resolved")
        self.assertEqual({a["status"] for a in payload["alerts"]}, {"resolved"})
        self.assertNotEqual(headers["Idempotency-Key"], keys[0])
        self.assertEqual(len(hook.received()), 3)

    def test_kill_9_between_claim_and_send(self):
        self.sink.start()
        db = fresh_database("e2e_alerts_claimed")
        # the test hook stops the delivery thread right after its claim has committed
        d = self.daemon = Daemon(db, self.daemon_config(),
                                 env={"SCALEUPD_TEST_CLOCK_FILE": self.clock_file,
                                      "SCALEUPD_TEST_HOLD_AFTER_CLAIM": "1"})
        self.setup_programme(d)
        self.push(d, [("2026-01", 30)])
        self.wait_alerts(d, "firing", 2)
        self.advance(60)
        d.wait_for_log(r"holding 1 claimed notifications before sending")
        self.assertEqual(psql(db, "SELECT count(*) FROM outbox WHERE lease_until IS NOT NULL"
                                  " AND attempts = 1 AND sent_at IS NULL"), "1")
        d.kill()
        self.daemon = None
        self.assertEqual(self.sink.messages(), [])
        # after the restart the lease expires and the message is claimed and sent, once
        d = self.start_daemon(db)
        self.advance(600)  # past the lease (2 x timeout + 30 s)
        wait_until(lambda: self.sink.messages(), "the claimed e-mail after the restart")
        self.wait_outbox_empty(d)
        mails = self.sink.messages()
        self.assertEqual(len(mails), 1)
        self.assertTrue(mails[0]["Subject"].startswith("Flanders: "))
        self.assertEqual(psql(db, "SELECT attempts FROM outbox"), "2")

    def test_bad_input(self):
        self.sink.start()
        d = self.start_daemon(fresh_database("e2e_alerts_bad"))
        self.assertEqual(d.request("POST", "/api/v1/programmes", PROGRAMME).status, 201)
        cases = [
            ("POST", "/api/v1/programmes/drift-be/rules",
             {"name": "x", "kind": "threshold", "indicator": "nope", "min": 1},
             422, "$.indicator"),
            ("POST", "/api/v1/programmes/drift-be/rules",
             {"name": "x", "kind": "spc", "for": -1}, 422, "$.for"),
            ("PUT", "/api/v1/programmes/drift-be/receivers",
             {"receivers": [{"name": "ops", "webhook": ["ftp://example.org/hook"]}]},
             422, "$.receivers[0].webhook[0]"),
            ("POST", "/api/v1/silences",
             {"matchers": {"site": "GP1"}, "starts_at": "2026-03-01T00:00:00Z",
              "ends_at": "2026-02-01T00:00:00Z", "author": "me"}, 422, "$.ends_at"),
            ("POST", "/api/v1/silences",
             {"matchers": {"colour": "red"}, "ends_at": "2026-03-01T00:00:00Z",
              "author": "me"}, 422, "$.matchers.colour"),
            ("PUT", "/api/v1/programmes/drift-be/receivers",
             {"receivers": [{"name": "ops"}, {"name": "ops"}]}, 422, "$.receivers"),
            ("PUT", "/api/v1/programmes/drift-be/receivers",
             {"receivers": [{"name": "ops", "time_zone": "Mars/Olympus"}]}, 422, "$.receivers"),
            ("PUT", "/api/v1/programmes/drift-be/receivers", {"teams": []}, 422, "$.receivers"),
            ("POST", "/api/v1/silences",
             {"matchers": {"site": "GP1"}, "ends_at": "2026-02-30T00:00:00Z", "author": "me"},
             422, "$.ends_at"),
            ("POST", "/api/v1/silences",
             {"matchers": {"site": "GP1"}, "ends_at": "2026-03-01T00:00:00+16:00",
              "author": "me"}, 422, "$.ends_at"),
            ("POST", "/api/v1/silences",
             {"matchers": {"site": "GP1"}, "ends_at": "2026-03-01", "author": "me"},
             422, "$.ends_at"),
            ("POST", "/api/v1/silences",
             {"programme": "nowhere", "matchers": {"site": "GP1"},
              "ends_at": "2030-03-01T00:00:00Z", "author": "me"}, 422, "$.programme"),
            ("POST", "/api/v1/silences", ["not", "an", "object"], 422, "$"),
        ]
        for method, path, body, status, where in cases:
            r = d.request(method, path, body)
            self.assertEqual(r.status, status, (path, r.body))
            paths = [p["path"] for p in r.body["error"]["details"]]
            self.assertIn(where, paths, r.body)
        r = d.request("POST", "/api/v1/programmes/drift-be/rules",
                      {"name": "bp-min", "kind": "threshold", "indicator": "bp_controlled_pct",
                       "site": "BE-VLG", "min": 40, "for": 2, "resolve": 2})
        self.assertEqual(r.status, 201, r.body)
        self.assertEqual(d.request("DELETE", "/api/v1/programmes/drift-be/rules/bp-min").status,
                         200)
        self.assertEqual(d.request("DELETE", "/api/v1/programmes/drift-be/rules/bp-min").status,
                         404)
        self.assertEqual(d.request("GET", "/api/v1/alerts?state=open").status, 400)
        # a parameter the route does not read is named, never ignored (status is not state)
        for path, name in (("/api/v1/alerts?status=firing", "status"),
                           ("/api/v1/alerts?programme=drift-be&rule=x", "rule"),
                           ("/api/v1/silences?programme=drift-be", "programme"),
                           ("/api/v1/programmes/drift-be/rules?kind=spc", "kind"),
                           ("/api/v1/programmes/drift-be/receivers?name=ops", "name")):
            r = d.request("GET", path)
            self.assertEqual((r.status, r.body["error"]["code"]), (400, "unknown_parameter"),
                             (path, r.body))
            self.assertIn(f'"{name}"', r.body["error"]["message"])
        r = d.request("GET", "/api/v1/alerts?programme=drift-be&programme=other")
        self.assertEqual((r.status, r.body["error"]["code"]), (400, "duplicate_parameter"))
        self.assertEqual(d.request("GET", "/api/v1/alerts?programme=drift-be&state=firing"
                                          "&indicator=bp_controlled_pct&site=BE").status, 200)
        # nothing of the refused documents was stored
        self.assertEqual(d.request("GET", "/api/v1/programmes/drift-be/receivers").body,
                         {"receivers": []})
        self.assertEqual(d.request("GET", "/api/v1/silences").body, {"silences": []})

    def test_only_an_open_alert_or_incident_is_acknowledged(self):
        d = self.start_daemon(fresh_database("e2e_alerts_ack_open"))
        self.setup_programme(d)
        self.push(d, [("2026-01", 30)])
        firing = self.wait_alerts(d, "firing", 2)
        incident = firing[0]["incident_id"]
        self.assertIsNotNone(incident)
        self.push(d, [("2026-02", 62)])
        resolved = self.wait_alerts(d, "resolved", 2)
        r = d.request("POST", f"/api/v1/alerts/{resolved[0]['id']}/ack", {"by": "Ann"})
        self.assertEqual((r.status, r.body["error"]["code"]), (409, "alert_not_open"), r.body)
        self.assertIn("not open", r.body["error"]["message"])
        r = d.request("POST", f"/api/v1/incidents/{incident}/ack", {"by": "Ann"})
        self.assertEqual((r.status, r.body["error"]["code"]), (409, "incident_not_open"), r.body)
        self.assertEqual(d.request("POST", "/api/v1/alerts/999999/ack", {}).status, 404)
        after = d.request("GET", f"/api/v1/alerts/{resolved[0]['id']}").body
        self.assertIsNone(after["acked_at"])
        self.assertEqual(psql(d.conninfo, "SELECT count(*) FROM alert WHERE acked_at IS NOT NULL"),
                         "0", "nothing was acknowledged")

    def test_a_programme_token_reads_only_its_programme_alerts_and_incidents(self):
        # a feed token reads when the dashboard is public: as on the programme routes, only its
        # own programme (403 naming another, 404 for another's alert or incident)
        d = self.start_daemon(fresh_database("e2e_alerts_scope"),
                              extra="public_dashboard = true\n")
        self.setup_programme(d)
        other = dict(PROGRAMME, slug="other-be", name="Another programme")
        self.assertEqual(d.request("POST", "/api/v1/programmes", other).status, 201)
        self.push(d, [("2026-01", 30)])
        firing = self.wait_alerts(d, "firing", 2)
        alert, incident = firing[0]["id"], firing[0]["incident_id"]
        mine = create_token(d.conninfo, "--feed", "drift-be", name="drift team")
        theirs = create_token(d.conninfo, "--feed", "other-be", name="other team")
        for path, key in [("/api/v1/alerts", "alerts"), ("/api/v1/incidents", "incidents")]:
            r = d.request("GET", path, token=theirs)
            self.assertEqual((r.status, r.body[key]), (200, []), path)
            r = d.request("GET", path + "?programme=drift-be", token=theirs)
            self.assertEqual((r.status, r.body["error"]["code"]), (403, "forbidden"), path)
            self.assertIn("drift-be", r.body["error"]["message"])
            r = d.request("GET", path + "?programme=other-be", token=theirs)
            self.assertEqual((r.status, r.body[key]), (200, []), path)
            r = d.request("GET", path, token=mine)
            self.assertEqual(r.status, 200, path)
            self.assertTrue(r.body[key], path)
            self.assertEqual({x["programme"] for x in r.body[key]}, {"drift-be"}, path)
            r = d.request("GET", path, token=None)  # the public dashboard reads everything
            self.assertTrue(r.body[key], path)
        for path, code in [(f"/api/v1/alerts/{alert}", "unknown_alert"),
                           (f"/api/v1/incidents/{incident}", "unknown_incident")]:
            r = d.request("GET", path, token=theirs)
            self.assertEqual((r.status, r.body["error"]["code"]), (404, code), path)
            self.assertEqual(d.request("GET", path, token=mine).status, 200, path)
            r = d.request("POST", path + "/ack", {"by": "x"}, token=theirs)
            self.assertEqual((r.status, r.body["error"]["code"]), (403, "forbidden"), path)
            r = d.request("POST", path + "/ack", {"by": "x"}, token=mine)
            self.assertEqual(r.status, 403, "acknowledging takes an admin token")
        self.assertEqual(psql(d.conninfo, "SELECT count(*) FROM alert WHERE acked_at IS NOT NULL"),
                         "0")

    def test_scaleupctl_rule_receiver_test_silence_ack(self):
        self.sink.start()
        d = self.start_daemon(fresh_database("e2e_alerts_ctl"))
        self.setup_programme(d)
        base = ["--url", f"http://127.0.0.1:{d.port}", "--token", d.admin_token]
        rule_file = os.path.join(self.tmp, "rule.json")
        with open(rule_file, "w", encoding="utf-8") as f:
            json.dump({"name": "bp-floor", "kind": "threshold", "indicator": "bp_controlled_pct",
                       "site": "BE-VLG", "min": 40, "for": 1}, f)
        scaleupctl(*base, "rule", "apply", rule_file, "--programme", "drift-be")
        listed = json.loads(scaleupctl(*base, "rule", "list", "--programme", "drift-be").stdout)
        self.assertIn("bp-floor", [r["name"] for r in listed["rules"]])
        # a marked test message goes through the outbox and SMTP
        scaleupctl(*base, "receiver", "test", "change-team", "--programme", "drift-be")
        mail = wait_until(lambda: self.sink.messages(), "the test e-mail")[0]
        self.assertTrue(mail["Subject"].startswith("[scaleupd] TEST "), mail["Subject"])
        self.assertIn("TEST message", mail.get_body(("plain",)).get_content())
        bad = scaleupctl(*base, "receiver", "test", "nobody", "--programme", "drift-be",
                         check=False)
        self.assertNotEqual(bad.returncode, 0)
        # drift fires both the spc and the threshold rule; ack one from the command line
        self.push(d, [("2026-01", 30)])
        self.wait_alerts(d, "firing", 4)
        out = json.loads(scaleupctl(*base, "alerts", "--programme", "drift-be", "--state",
                                    "firing", "--site", "GP1").stdout)
        self.assertEqual({a["rule"] for a in out["alerts"]}, {"spc-bp_controlled_pct", "bp-floor"})
        scaleupctl(*base, "ack", str(out["alerts"][0]["id"]))
        silence = json.loads(scaleupctl(
            *base, "silence", "add", "--programme", "drift-be", "--site", "GP2", "--ends",
            "2030-01-01T00:00:00Z", "--author", "ops", "--reason", "maintenance").stdout)
        listed = json.loads(scaleupctl(*base, "silence", "list").stdout)["silences"]
        self.assertEqual([s["id"] for s in listed], [silence["id"]])
        scaleupctl(*base, "silence", "expire", str(silence["id"]))
        self.assertEqual(json.loads(scaleupctl(*base, "silence", "list").stdout)["silences"], [])
        late = scaleupctl(*base, "silence", "add", "--site", "GP2", "--starts",
                          "2030-01-02T00:00:00Z", "--ends", "2030-01-01T00:00:00Z",
                          "--author", "ops", check=False)
        self.assertNotEqual(late.returncode, 0)
        self.assertIn("$.ends_at", late.stderr)


if __name__ == "__main__":
    unittest.main()
