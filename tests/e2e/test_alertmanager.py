"""Alertmanager conformance, end to end (README, "Webhooks" and "Connecting an Alertmanager"):
the webhook payload a receiver gets is Alertmanager's version 4 exactly (checked with
jsonschema against tests/fixtures/alertmanager_webhook_v4.schema.json, derived from
Alertmanager's notify/webhook/webhook.go and template/template.go), webhooks carry their
Authorization (kept out of the log and out of GET receivers), their own send_resolved and
max_alerts; and a receiver of kind alertmanager hands alerts to a real Alertmanager (Debian's
prometheus-alertmanager, started here on loopback with a config of its own), read back with
its API v2: firing, kept alive by re-posts, resolved by endsAt."""

import json
import os
import shutil
import subprocess
import tempfile
import time
import unittest
import urllib.request

import jsonschema

from harness import Daemon, fresh_database, psql, wait_until
from smtp_sink import SmtpSink, free_port
from test_alerts import PROGRAMME, STABLE, WebhookSink, rows

SCHEMA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures",
                      "alertmanager_webhook_v4.schema.json")
ALERTMANAGER = shutil.which("prometheus-alertmanager")
BEARER = "s3cr3t-bearer-token-e2e"
PASSWORD = "pa55-word-e2e"
RULE = "spc-bp_controlled_pct"


def months_before(t, n):
    """The month n months before the month of t (seconds since 1970), as "YYYY-MM"."""
    tm = time.gmtime(t)
    index = tm.tm_year * 12 + tm.tm_mon - 1 - n
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


class EndpointTest(unittest.TestCase):
    """A daemon on a test clock, its programme with the MDC spc rule, and helpers."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="scaleupd-am-")
        self.clock_file = os.path.join(self.tmp, "clock")
        self.sink = SmtpSink(os.path.join(self.tmp, "mail"))
        self.daemon = None
        # the test clock starts 400 s behind the real one: Alertmanager judges endsAt by its
        # own clock, so a firing alert (posted to end 4 re-post intervals on) stays active
        # and a resolved one (ending when it resolved) is past, however the test clock moves
        self.set_clock(int(time.time()) - 400)

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

    def start(self, db, receivers):
        config = ("[alerts]\ngroup_wait = 30s\ngroup_interval = 60s\nrepeat_interval = 4h\n"
                  "evaluate_interval = 1s\ndeliver_interval = 1s\ndelivery_max_age = 2d\n"
                  f"[smtp]\nurl = smtp://127.0.0.1:{self.sink.port}\ntls = none\n"
                  "from = scaleupd@alerts.example\n"
                  "[server]\nbase_url = https://scaleup.example\n")
        self.daemon = Daemon(db, config, env={"SCALEUPD_TEST_CLOCK_FILE": self.clock_file})
        d = self.daemon
        self.assertEqual(d.request("POST", "/api/v1/programmes", PROGRAMME).status, 201)
        r = d.request("POST", "/api/v1/programmes/drift-be/rules", {
            "name": RULE, "kind": "spc", "indicator": "bp_controlled_pct", "method": "mdc"})
        self.assertIn(r.status, (200, 201), r.body)
        r = d.request("PUT", "/api/v1/programmes/drift-be/receivers", {"receivers": receivers})
        self.assertEqual(r.status, 200, r.body)
        return d, r.body

    def push_history(self, d):
        """A stable year ending 3 months before the clock's month."""
        values = [(months_before(self.now, 14 - i), v) for i, v in enumerate(STABLE)]
        self.push(d, values)

    def push(self, d, values):
        r = d.request("POST", "/api/v1/programmes/drift-be/observations", rows(values))
        self.assertEqual(r.status, 200, r.body)

    def drift_period(self):
        return months_before(self.now, 2)

    def recovery_period(self):
        return months_before(self.now, 1)

    def alerts(self, d, state):
        r = d.request("GET", f"/api/v1/alerts?programme=drift-be&state={state}")
        self.assertEqual(r.status, 200, r.body)
        return [a for a in r.body["alerts"] if a.get("rule") in (None, RULE)]

    def wait_alerts(self, d, state, n):
        wait_until(lambda: len(self.alerts(d, state)) == n, f"{n} {state} alerts")

    def wait_outbox_empty(self, d):
        wait_until(lambda: psql(d.conninfo, "SELECT count(*) FROM outbox WHERE sent_at IS NULL "
                                            "AND dead_at IS NULL") == "0",
                   "the outbox to drain")


class WebhookTest(EndpointTest):
    def test_payload_credentials_send_resolved_max_alerts(self):
        with open(SCHEMA, encoding="utf-8") as f:
            schema = json.load(f)
        bearer, basic, plain = WebhookSink(), WebhookSink(), WebhookSink()
        for sink in (bearer, basic, plain):
            self.addCleanup(sink.stop)
        d, stored = self.start(fresh_database("e2e_am_webhook"), [{
            "name": "ops",
            "webhook": [
                {"url": bearer.url, "max_alerts": 1,
                 "authorization": {"type": "Bearer", "credentials": BEARER}},
                {"url": basic.url, "send_resolved": False,
                 "basic_auth": {"username": "scaleupd", "password": PASSWORD}},
                plain.url]}])
        # the answer and GET show the options, never the secrets
        r = d.request("GET", "/api/v1/programmes/drift-be/receivers")
        self.assertEqual(r.status, 200, r.body)
        for shown in (stored, r.body):
            text = json.dumps(shown)
            self.assertNotIn(BEARER, text)
            self.assertNotIn(PASSWORD, text)
            hooks = shown["receivers"][0]["webhook"]
            self.assertEqual(hooks[0]["authorization"],
                             {"type": "Bearer", "credentials": "<redacted>"})
            self.assertEqual(hooks[0]["max_alerts"], 1)
            self.assertEqual(hooks[1]["basic_auth"],
                             {"username": "scaleupd", "password": "<redacted>"})
            self.assertIs(hooks[1]["send_resolved"], False)
            self.assertEqual(hooks[2], plain.url)
        # sending the redaction back is refused: the secret must be given again
        r = d.request("PUT", "/api/v1/programmes/drift-be/receivers", r.body)
        self.assertEqual(r.status, 422, r.body)
        self.assertIn("redacted_secret", json.dumps(r.body))

        # the receiver's test message goes to each webhook with its credentials
        r = d.request("POST", "/api/v1/programmes/drift-be/receivers/ops/test")
        self.assertIn(r.status, (200, 202), r.body)
        for sink in (bearer, basic, plain):
            wait_until(lambda s=sink: len(s.received()) == 1, "the test POST")
        headers, payload = bearer.received()[0]
        self.assertEqual(headers["Authorization"], f"Bearer {BEARER}")
        jsonschema.validate(payload, schema)
        self.assertEqual(payload["alerts"], [])

        self.push_history(d)
        self.push(d, [(self.drift_period(), 30)])
        self.wait_alerts(d, "firing", 2)
        self.advance(60)
        for sink in (bearer, basic, plain):
            wait_until(lambda s=sink: len(s.received()) == 2, "the firing POST")
        self.wait_outbox_empty(d)

        headers, payload = bearer.received()[1]
        self.assertEqual(headers["Authorization"], f"Bearer {BEARER}")
        jsonschema.validate(payload, schema)
        self.assertEqual(len(payload["alerts"]), 1, "max_alerts 1")
        self.assertEqual(payload["truncatedAlerts"], 1)
        self.assertEqual(payload["notification_reason"], "first notification")
        headers, payload = basic.received()[1]
        self.assertEqual(headers["Authorization"],
                         "Basic c2NhbGV1cGQ6cGE1NS13b3JkLWUyZQ==")  # scaleupd:pa55-word-e2e
        headers, payload = plain.received()[1]
        self.assertNotIn("Authorization", headers)
        jsonschema.validate(payload, schema)
        self.assertEqual(payload["truncatedAlerts"], 0)
        self.assertEqual(sorted(a["labels"]["site"] for a in payload["alerts"]), ["GP1", "GP2"])
        common = payload["commonLabels"]
        self.assertEqual(common["alertname"], RULE)
        self.assertEqual(common["severity"], "warning")
        self.assertNotIn("site", common)
        self.assertEqual(payload["commonAnnotations"]["summary"], "below lower limit")
        first = payload["alerts"][0]
        self.assertEqual(first["annotations"]["value"], "30")
        self.assertTrue(first["generatorURL"].startswith(
            "https://scaleup.example/#/chart?programme=drift-be&indicator=bp_controlled_pct"
            "&site=GP"), first["generatorURL"])
        self.assertTrue(first["generatorURL"].endswith(f"&period={self.drift_period()}"))

        # the recovery: the webhooks with send_resolved get it, the one without does not
        self.push(d, [(self.recovery_period(), 62)])
        self.wait_alerts(d, "resolved", 2)
        self.advance(120)
        wait_until(lambda: len(plain.received()) == 3 and len(bearer.received()) == 3,
                   "the resolved POSTs")
        self.wait_outbox_empty(d)
        _, payload = plain.received()[2]
        jsonschema.validate(payload, schema)
        self.assertEqual(payload["status"], "resolved")
        self.assertEqual(payload["notification_reason"], "all alerts resolved")
        self.assertEqual(len(basic.received()), 2, "send_resolved false: no resolved POST")
        log = "\n".join(d.log_lines())
        self.assertNotIn(BEARER, log)
        self.assertNotIn(PASSWORD, log)


def alertmanager_config(directory):
    path = os.path.join(directory, "alertmanager.yml")
    with open(path, "w", encoding="utf-8") as f:
        f.write("route:\n  receiver: blackhole\n  group_wait: 1h\nreceivers:\n"
                "  - name: blackhole\n")
    return path


@unittest.skipUnless(ALERTMANAGER, "prometheus-alertmanager is not installed "
                                   "(scripts/install-deps)")
class AlertmanagerTest(EndpointTest):
    def start_alertmanager(self):
        port = free_port()
        storage = os.path.join(self.tmp, "am-data")
        os.makedirs(storage)
        log = open(os.path.join(self.tmp, "alertmanager.log"), "w", encoding="utf-8")
        self.addCleanup(log.close)
        proc = subprocess.Popen(  # pylint: disable=consider-using-with
            [ALERTMANAGER, f"--config.file={alertmanager_config(self.tmp)}",
             f"--storage.path={storage}", f"--web.listen-address=127.0.0.1:{port}",
             "--cluster.listen-address=", "--log.level=warn"],
            stdout=log, stderr=subprocess.STDOUT)

        def stop():
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.addCleanup(stop)
        self.am_url = f"http://127.0.0.1:{port}"

        def ready():
            try:
                with urllib.request.urlopen(self.am_url + "/-/ready", timeout=2) as r:
                    return r.status == 200
            except OSError:
                return False
        wait_until(ready, "Alertmanager to be ready")

    def am_alerts(self):
        """Alertmanager's own view, GET /api/v2/alerts (active, not resolved), of our rule."""
        with urllib.request.urlopen(self.am_url + "/api/v2/alerts", timeout=5) as r:
            alerts = json.load(r)
        return [a for a in alerts if a["labels"].get("alertname") == RULE]

    def test_alerts_reach_alertmanager_then_resolve(self):
        self.start_alertmanager()
        d, _ = self.start(fresh_database("e2e_am_api"), [{
            "name": "pager", "alertmanager": [{"url": self.am_url + "/", "resend_interval": 120}]}])
        self.push_history(d)
        self.push(d, [(self.drift_period(), 30)])
        self.wait_alerts(d, "firing", 2)
        self.advance(60)
        got = wait_until(lambda: len(self.am_alerts()) == 2 and self.am_alerts(),
                         "2 alerts in Alertmanager")
        self.wait_outbox_empty(d)
        self.assertEqual(psql(d.conninfo, "SELECT channel || ' ' || target FROM outbox"),
                         f"alertmanager {self.am_url}/api/v2/alerts")
        self.assertEqual(sorted(a["labels"]["site"] for a in got), ["GP1", "GP2"])
        for a in got:
            self.assertEqual(a["status"]["state"], "active")
            self.assertEqual(a["labels"]["programme"], "drift-be")
            self.assertEqual(a["labels"]["receiver"], "pager")
            self.assertEqual(a["labels"]["severity"], "warning")
            self.assertEqual(a["annotations"]["summary"], "below lower limit")
            self.assertEqual(a["annotations"]["value"], "30")
            self.assertIn("/#/chart?programme=drift-be&indicator=bp_controlled_pct",
                          a["generatorURL"])
        ends = {a["labels"]["site"]: a["endsAt"] for a in got}
        # and as amtool reads them
        amtool = subprocess.run(
            ["amtool", "alert", "query", f"--alertmanager.url={self.am_url}", "-o", "json",
             f"alertname={RULE}"], capture_output=True, text=True, timeout=30, check=True)
        self.assertEqual(sorted(a["labels"]["site"] for a in json.loads(amtool.stdout)),
                         ["GP1", "GP2"])

        # while they fire, a re-post one interval later moves their end on
        self.advance(120)
        wait_until(lambda: psql(d.conninfo, "SELECT count(*) FROM outbox") == "2",
                   "the re-post")
        self.wait_outbox_empty(d)
        later = wait_until(
            lambda: all(a["endsAt"] > ends[a["labels"]["site"]] for a in self.am_alerts())
            and self.am_alerts(), "Alertmanager to take the re-post")
        self.assertEqual(len(later), 2)

        # the recovery resolves them in Alertmanager by their endsAt
        self.push(d, [(self.recovery_period(), 62)])
        self.wait_alerts(d, "resolved", 2)
        self.advance(60)
        wait_until(lambda: not self.am_alerts(), "Alertmanager to resolve both")
        self.wait_outbox_empty(d)
        last = json.loads(psql(d.conninfo, "SELECT body FROM outbox ORDER BY id DESC LIMIT 1"))
        self.assertEqual(len(last), 2)
        for a in last:
            self.assertLess(a["endsAt"], time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
        # nothing fires: no more re-posts
        self.assertEqual(psql(d.conninfo, "SELECT count(*) FROM receiver_endpoint WHERE "
                                          "next_post_at IS NOT NULL"), "0")
        # the receiver's test message: an empty list, which Alertmanager takes
        r = d.request("POST", "/api/v1/programmes/drift-be/receivers/pager/test")
        self.assertIn(r.status, (200, 202), r.body)
        self.wait_outbox_empty(d)
        self.assertEqual(psql(d.conninfo, "SELECT body || ' ' || (sent_at IS NOT NULL) FROM "
                                          "outbox WHERE is_test"), "[] true")


if __name__ == "__main__":
    unittest.main()
