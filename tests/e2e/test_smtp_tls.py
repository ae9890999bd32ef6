"""E-mail over TLS end to end: the real daemon, real aiosmtpd servers with a certificate of a
throwaway CA made with the openssl command at test time, peer verification left on. A
receiver's test message arrives through a server that requires STARTTLS and AUTH, and through
an implicit-TLS (smtps) server, logged in as the configured user. A wrong password delivers
nothing, crashes nothing and is recorded as a failed attempt that is retried, and delivered
once the password is fixed by a reload; a server whose CA is not trusted is never given the
password."""

import os
import shutil
import ssl
import subprocess
import tempfile
import unittest

from harness import TIMEOUT, Daemon, fresh_database, metric, psql, wait_until
from smtp_sink import SmtpSink

START = 1770724800  # 2026-02-10T12:00:00Z
LOGIN, PASSWORD = "alerts@scaleup.example", "correct horse battery staple"

PROGRAMME = {
    "slug": "tls-be",
    "name": "TLS test programme",
    "time_zone": "Europe/Brussels",
    "sites": [{"code": "BE", "name": "Belgium", "level": "country"}],
    "indicators": [
        {"code": "patients_enrolled", "name": "Patients enrolled", "unit": "patients",
         "value_type": "count", "period_type": "monthly", "direction": "up",
         "aggregate": "sum"},
    ],
}


def openssl(*args, cwd):
    proc = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=TIMEOUT, check=False)
    if proc.returncode != 0:
        raise AssertionError(f"openssl {' '.join(args)} failed: {proc.stderr}")


EC_KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]


def make_ca(directory, name):
    """A self-signed CA, NAME.pem and NAME.key, valid for a day; returns the .pem's path."""
    openssl("req", "-x509", *EC_KEY, "-keyout", f"{name}.key", "-out", f"{name}.pem",
            "-days", "1", "-subj", f"/CN=scaleupd e2e throwaway {name}",
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=directory)
    return os.path.join(directory, f"{name}.pem")


def make_certificates(directory):
    """A CA (ca.pem) and a server certificate it signs (server.pem, server.key) for
    localhost and 127.0.0.1, valid for a day, P-256 keys; returns their paths."""
    make_ca(directory, "ca")
    openssl("req", *EC_KEY, "-keyout", "server.key", "-out", "server.csr",
            "-subj", "/CN=localhost", cwd=directory)
    with open(os.path.join(directory, "server.ext"), "w", encoding="ascii") as f:
        f.write("basicConstraints = CA:FALSE\n"
                "keyUsage = critical, digitalSignature\n"
                "extendedKeyUsage = serverAuth\n"
                "subjectAltName = DNS:localhost, IP:127.0.0.1\n")
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-CAcreateserial", "-days", "1", "-extfile", "server.ext", "-out", "server.pem",
            cwd=directory)
    return tuple(os.path.join(directory, name) for name in ("ca.pem", "server.pem", "server.key"))


class SmtpTlsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.certs = tempfile.mkdtemp(prefix="scaleupd-smtp-tls-certs-")
        cls.ca_file, cert, key = make_certificates(cls.certs)
        cls.other_ca_file = make_ca(cls.certs, "other-ca")
        cls.server_tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        cls.server_tls.load_cert_chain(cert, key)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.certs, ignore_errors=True)

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="scaleupd-smtp-tls-")
        self.clock_file = os.path.join(self.tmp, "clock")
        self.now = START
        self.set_clock(START)
        self.sink = None
        self.daemon = None

    def tearDown(self):
        reports = []
        if self.daemon is not None:
            self.daemon.close()
            reports = self.daemon.sanitizer_reports()
        if self.sink is not None:
            self.sink.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)
        self.assertEqual(reports, [], "a sanitizer reported a problem")

    def set_clock(self, t):
        self.now = t
        with open(self.clock_file + ".tmp", "w", encoding="ascii") as f:
            f.write(f"{t}\n")
        os.replace(self.clock_file + ".tmp", self.clock_file)

    def start_sink(self, **tls):
        self.sink = SmtpSink(os.path.join(self.tmp, "mail"), users={LOGIN: PASSWORD}, **tls)
        self.sink.start()
        return self.sink

    @staticmethod
    def smtp_config(url, password=PASSWORD, ca_file=None, tls=None):
        return ("[alerts]\ndeliver_interval = 1s\ndelivery_max_age = 2d\n"
                f"[smtp]\nurl = {url}\nfrom = scaleupd@alerts.example\ntimeout = 5s\n"
                f"username = {LOGIN}\npassword = {password}\n"
                + (f"tls = {tls}\n" if tls else "")
                + (f"ca_file = {ca_file}\n" if ca_file else ""))

    def start_daemon(self, db_name, config):
        self.daemon = Daemon(fresh_database(db_name), config,
                             env={"SCALEUPD_TEST_CLOCK_FILE": self.clock_file})
        d = self.daemon
        self.assertEqual(d.request("POST", "/api/v1/programmes", PROGRAMME).status, 201)
        r = d.request("PUT", "/api/v1/programmes/tls-be/receivers", {"receivers": [
            {"name": "ops", "email": ["ops@example.org"]}]})
        self.assertEqual(r.status, 200, r.body)
        return d

    def send_test_message(self, d):
        r = d.request("POST", "/api/v1/programmes/tls-be/receivers/ops/test")
        self.assertEqual(r.status, 202, r.body)

    def outbox(self, d):
        """(attempts, last_error, sent, dead) of the only outbox row, once it is not leased."""
        row = psql(d.conninfo, "SELECT attempts, coalesce(last_error, ''), sent_at IS NOT NULL,"
                               " dead_at IS NOT NULL FROM outbox WHERE lease_until IS NULL")
        if not row:
            return None
        attempts, last_error, sent, dead = row.split("|")
        return int(attempts), last_error, sent == "t", dead == "t"

    def wait_sent(self, d):
        """Waits for the message to be marked sent; returns its number of attempts."""
        row = wait_until(lambda: (row := self.outbox(d)) and row[2] and row,
                         "the send to be recorded")
        return row[0]

    def wait_attempts(self, d, attempts):
        """Waits for `attempts` failed attempts to be recorded, the message neither sent nor
        given up; returns the last error."""
        row = wait_until(lambda: (row := self.outbox(d)) and row[0] == attempts and row,
                         f"failed attempt {attempts} to be recorded")
        _, last_error, sent, dead = row
        self.assertEqual((sent, dead), (False, False), "neither sent nor given up")
        self.assertTrue(last_error)
        return last_error

    def assert_delivered(self, d):
        mail = wait_until(self.sink.messages, "the test e-mail")[0]
        self.assertEqual(self.wait_sent(d), 1)
        self.assertEqual(len(self.sink.messages()), 1)
        self.assertTrue(mail["Subject"].startswith("[scaleupd] TEST "), mail["Subject"])
        self.assertEqual(mail["X-Envelope-To"], "ops@example.org")
        self.assertIn(mail["X-Sink-TLS"], ("TLSv1.2", "TLSv1.3"))
        self.assertEqual(mail["X-Sink-Auth"], LOGIN)
        self.assertEqual(self.sink.auth_failures, 0)
        self.wait_metric(d, 1, "scaleupd_notifications_sent_total", channel="email")
        self.wait_metric(d, 0, "scaleupd_outbox_depth")

    @staticmethod
    def wait_metric(d, value, name, **labels):
        """Waits for a sample of /metrics to reach value (the delivery thread updates the
        metrics just after it records an outcome)."""
        wait_until(lambda: metric(d.metrics(), name, **labels) == value,
                   f"{name}{labels} to be {value}")

    def test_starttls_required_with_auth(self):
        sink = self.start_sink(starttls=self.server_tls)
        d = self.start_daemon("e2e_smtp_tls_starttls", self.smtp_config(
            f"smtp://127.0.0.1:{sink.port}", tls="starttls", ca_file=self.ca_file))
        self.send_test_message(d)
        self.assert_delivered(d)

    def test_implicit_tls_with_auth(self):
        sink = self.start_sink(implicit_tls=self.server_tls)
        # by name this time: the certificate's DNS name is checked, not its IP address
        d = self.start_daemon("e2e_smtp_tls_smtps", self.smtp_config(
            f"smtps://localhost:{sink.port}", ca_file=self.ca_file))
        self.send_test_message(d)
        self.assert_delivered(d)

    def test_wrong_password_is_retried_not_lost(self):
        sink = self.start_sink(starttls=self.server_tls)
        url = f"smtp://127.0.0.1:{sink.port}"
        d = self.start_daemon("e2e_smtp_tls_badpass", self.smtp_config(
            url, password="wrong", tls="starttls", ca_file=self.ca_file))
        self.send_test_message(d)
        # the 535 is the daemon's fault, not the recipient's: a failed attempt, not given up
        self.assertIn("535", self.wait_attempts(d, 1))
        self.assertEqual(sink.auth_failures, 1)
        self.assertEqual(sink.messages(), [])
        self.assertTrue(d.running())
        self.assertEqual(d.request("GET", "/healthz", token=None).status, 200)
        self.wait_metric(d, 1, "scaleupd_notifications_failed_total", channel="email",
                         reason="auth")
        self.wait_metric(d, 1, "scaleupd_outbox_depth")
        samples = d.metrics()
        self.assertIsNone(metric(samples, "scaleupd_notifications_sent_total", channel="email"))
        self.assertIsNone(metric(samples, "scaleupd_notifications_dead_total", channel="email",
                                 reason="permanent"))
        # retried after the backoff, and refused again
        self.set_clock(self.now + 3600)
        self.assertIn("535", self.wait_attempts(d, 2))
        self.assertEqual(sink.auth_failures, 2)
        self.wait_metric(d, 2, "scaleupd_notifications_failed_total", channel="email",
                         reason="auth")
        # the password is fixed by a reload; past the backoff the message goes out, once
        self.assertIn("configuration reloaded",
                      d.reload(self.smtp_config(url, tls="starttls", ca_file=self.ca_file)))
        self.set_clock(self.now + 7200)
        mail = wait_until(sink.messages, "the e-mail after the password was fixed")[0]
        self.assertEqual(mail["X-Sink-Auth"], LOGIN)
        self.assertEqual(self.wait_sent(d), 3)
        self.assertEqual(len(sink.messages()), 1)
        self.assertEqual(sink.auth_failures, 2)
        self.wait_metric(d, 1, "scaleupd_notifications_sent_total", channel="email")

    def test_password_never_goes_in_clear_with_the_default_tls(self):
        # a server without STARTTLS: with a login, the default tls = try insists on it
        sink = self.start_sink()
        d = self.start_daemon("e2e_smtp_tls_cleartext", self.smtp_config(
            f"smtp://127.0.0.1:{sink.port}"))
        self.send_test_message(d)
        self.assertIn("SSL", self.wait_attempts(d, 1))
        self.assertEqual(sink.auth_attempts, 0, "the password went out in clear")
        self.assertEqual(sink.messages(), [])
        self.wait_metric(d, 1, "scaleupd_notifications_failed_total", channel="email",
                         reason="tls")

    def test_certificate_of_the_system_cas_only_is_refused_before_auth(self):
        # no ca_file: the throwaway CA is in no system store
        self.check_refused_before_auth("e2e_smtp_tls_untrusted", ca_file=None)

    def test_certificate_of_another_ca_than_ca_file_is_refused_before_auth(self):
        self.check_refused_before_auth("e2e_smtp_tls_other_ca", ca_file=self.other_ca_file)

    def check_refused_before_auth(self, db_name, ca_file):
        sink = self.start_sink(starttls=self.server_tls)
        d = self.start_daemon(db_name, self.smtp_config(
            f"smtp://127.0.0.1:{sink.port}", tls="starttls", ca_file=ca_file))
        with self.assertLogs("mail.log", "ERROR") as server_log:
            self.send_test_message(d)
            last_error = self.wait_attempts(d, 1)
        self.assertIn("certificate", last_error)
        # the daemon, not the server, broke off the handshake
        self.assertIn("UNKNOWN_CA", "\n".join(server_log.output))
        self.assertEqual(sink.messages(), [])
        self.assertEqual(sink.auth_attempts, 0, "the password went to an unverified server")
        self.wait_metric(d, 1, "scaleupd_notifications_failed_total", channel="email",
                         reason="tls")
        self.assertTrue(d.running())


if __name__ == "__main__":
    unittest.main()
