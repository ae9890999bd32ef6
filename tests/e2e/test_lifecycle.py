"""The daemon's life: reloading its configuration on SIGHUP, draining on SIGTERM, exiting at
once on a second SIGTERM, and riding out the loss of its database."""

import http.client
import json
import signal
import time
import unittest

import harness
from harness import Daemon, example_programme, metric


def config_line(path, key):
    """The 1-based line number of `key = …` in the configuration file at path."""
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if line.split("=")[0].strip() == key:
                return number
    raise AssertionError(f"{key} is not in {path}")


class NewerSchemaTest(unittest.TestCase):
    """A daemon started on a database a newer scaleupd migrated (a downgrade, a package rolled
    back) stops with status 78, which the systemd unit does not restart, instead of writing to a
    schema it does not know. (One already running through an upgrade is not stopped: the check
    is made when it starts.)"""

    def test_a_newer_schema_stops_the_daemon(self):
        conninfo = harness.fresh_database("e2e_lifecycle_newer_schema")
        with Daemon(conninfo):
            pass  # migrated to this build's head
        harness.psql(conninfo, "INSERT INTO schema_migration (version, name)"
                               " SELECT max(version) + 1, 'from_a_newer_scaleupd' FROM schema_migration")
        d = Daemon(conninfo, wait_ready=False)
        try:
            _, match = d.wait_for_log(r"ERROR: (the database was migrated by a newer scaleupd.*)")
            self.assertIn("from_a_newer_scaleupd", match.group(1))
            self.assertIn("run the newer version", match.group(1))
            self.assertEqual(d.proc.wait(timeout=harness.TIMEOUT), 78)
        finally:
            d.close()
        count = harness.psql(conninfo, "SELECT count(*) FROM schema_migration"
                                       " WHERE name = 'from_a_newer_scaleupd'")
        self.assertEqual(count.strip(), "1")


class ReloadTest(unittest.TestCase):
    """SIGHUP re-reads the configuration file."""

    @classmethod
    def setUpClass(cls):
        cls.conninfo = harness.fresh_database("e2e_lifecycle_reload")

    def test_a_reloadable_key_takes_effect(self):
        with Daemon(self.conninfo, "[server]\npublic_dashboard = false\n") as d:
            resp = d.request("GET", "/api/v1/programmes", token=None)
            self.assertEqual(resp.status, 401, resp.body)

            line = d.reload("[server]\npublic_dashboard = true\n")
            self.assertIn("configuration reloaded", line)
            resp = d.request("GET", "/api/v1/programmes", token=None)
            self.assertEqual(resp.status, 200, resp.body)

            # a key that needs a restart keeps its value and is named in a warning
            mark = d.log_mark()
            line = d.reload("[server]\npublic_dashboard = false\nworker_threads = 2\n")
            self.assertIn("configuration reloaded", line)
            warning, _ = d.wait_for_log(r"need a restart", since=mark)
            self.assertIn("[server] worker_threads", warning)
            self.assertEqual(d.request("GET", "/api/v1/programmes", token=None).status, 401)
            self.assertEqual(d.stop(), 0)

    def test_a_broken_config_keeps_the_old_one(self):
        with Daemon(self.conninfo, "[server]\npublic_dashboard = false\n") as d:
            # public_dashboard comes first: a partial application would show
            cases = [
                ("[server]\npublic_dashboard = true\nmax_body_bytes = 12\n",
                 "max_body_bytes", "[server] max_body_bytes: 12 is out of range"),
                ("[server]\npublic_dashboard = true\nno_such_key = 1\n",
                 "no_such_key", "[server] no_such_key: unknown key"),
                ("[server]\npublic_dashboard = true\nidle_timeout = soon\n",
                 "idle_timeout", "[server] idle_timeout: \"soon\" is not a duration"),
            ]
            for extra, key, why in cases:
                with self.subTest(key=key):
                    line = d.reload(extra)
                    number = config_line(d.config_path, key)
                    self.assertIn("could not reload configuration", line)
                    self.assertIn("ERROR:", line)
                    self.assertIn(f"{d.config_path}:{number}: {why}", line)
                    self.assertEqual(d.request("GET", "/api/v1/programmes", token=None).status,
                                     401, "the old configuration should still be in force")
                    self.assertEqual(d.request("GET", "/healthz", token=None).status, 200)
            # a syntax error
            line = d.reload("[server]\npublic_dashboard = true\nthis is not ini\n")
            number = config_line(d.config_path, "this is not ini")
            self.assertIn(f"{d.config_path}:{number}: syntax error", line)
            self.assertEqual(d.request("GET", "/api/v1/programmes", token=None).status, 401)
            # the file fixed: the next reload works
            line = d.reload("[server]\npublic_dashboard = true\n")
            self.assertIn("configuration reloaded", line)
            self.assertEqual(d.request("GET", "/api/v1/programmes", token=None).status, 200)
            self.assertTrue(d.running())
            self.assertEqual(d.stop(), 0)


class StopTest(unittest.TestCase):
    """SIGTERM finishes the requests in flight, then exits 0; a second one exits at once."""

    def setUp(self):
        self.conninfo = harness.fresh_database("e2e_lifecycle_stop")

    def test_sigterm_lets_a_request_in_the_database_finish(self):
        with Daemon(self.conninfo) as d:
            token = d.admin_token  # before the lock: tokens are made in the database
            with harness.locked_table(self.conninfo, "programme") as waiting:
                future = d.request_async("POST", "/api/v1/programmes", example_programme(),
                                         token=token)
                harness.wait_until(lambda: waiting() > 0, "the request to wait for the lock")
                mark = d.log_mark()
                d.signal(signal.SIGTERM)
                d.wait_for_log(r"received SIGTERM: finishing 1 requests in flight", since=mark)
                harness.wait_until(lambda: harness.connection_refused(d.port),
                                   "new connections to be refused after SIGTERM")
                self.assertTrue(d.running(), "exited with a request in flight")
                self.assertFalse(future.done())
            # the lock is gone: the request completes with its answer, then the daemon exits
            resp = future.result(harness.TIMEOUT)
            self.assertEqual(resp.status, 201, resp.body)
            self.assertEqual(resp.body["slug"], "icp-t2d-htn-be")
            self.assertEqual(d.wait_exit(), 0)
            self.assertEqual(harness.psql(self.conninfo, "SELECT count(*) FROM programme"), "1")

    def test_sigterm_while_a_body_is_still_arriving(self):
        with Daemon(self.conninfo) as d:
            body = json.dumps(example_programme()).encode()
            token = d.admin_token
            with d.connect() as sock:
                # one whole request first, so that the connection is surely accepted
                sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                self.assertEqual(harness.read_response(sock).status, 200)
                head = (f"POST /api/v1/programmes HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                        f"Authorization: Bearer {token}\r\n"
                        f"Content-Type: application/json\r\n"
                        f"Content-Length: {len(body)}\r\n\r\n").encode()
                half = len(body) // 2
                sock.sendall(head + body[:half])
                mark = d.log_mark()
                d.signal(signal.SIGTERM)
                d.wait_for_log(r"received SIGTERM", since=mark)
                harness.wait_until(lambda: harness.connection_refused(d.port),
                                   "new connections to be refused after SIGTERM")
                # the rest of the body, as a slow client sends it: ten pieces a tenth of a
                # second apart (a slow client is the point here, not a wait for the daemon)
                step = (len(body) - half) // 10 + 1
                try:
                    for i in range(half, len(body), step):
                        time.sleep(0.1)
                        sock.sendall(body[i:i + step])
                    resp = harness.read_response(sock)
                except (OSError, http.client.HTTPException) as e:
                    self.fail("the daemon dropped a request whose body was still arriving when "
                              f"SIGTERM came ({e!r}); it should finish it before exiting")
                self.assertEqual(resp.status, 201, resp.body)
            self.assertEqual(d.wait_exit(), 0)
            self.assertEqual(harness.psql(self.conninfo, "SELECT count(*) FROM programme"), "1")

    def test_a_second_sigterm_exits_at_once(self):
        with Daemon(self.conninfo) as d:
            token = d.admin_token
            with harness.locked_table(self.conninfo, "programme") as waiting:
                future = d.request_async("POST", "/api/v1/programmes", example_programme(),
                                         token=token)
                harness.wait_until(lambda: waiting() > 0, "the request to wait for the lock")
                mark = d.log_mark()
                d.signal(signal.SIGTERM)
                d.wait_for_log(r"received SIGTERM", since=mark)
                d.signal(signal.SIGTERM)
                # it exits while the request still waits for the lock
                code = d.wait_exit()
                self.assertEqual(code, 1)
                self.assertTrue(any("second stop signal" in line for line in d.log_lines(mark)))
            self.assertIsNotNone(future.exception(harness.TIMEOUT),
                                 "the abandoned request cannot have had an answer")


class DatabaseLossTest(unittest.TestCase):
    """PostgreSQL stops under a running daemon and comes back."""

    def test_503_while_the_database_is_down_then_recovery(self):
        with harness.private_cluster() as cluster:
            conninfo = harness.fresh_database("e2e_lifecycle_dbloss", cluster=cluster.conninfo)
            # a short backoff cap, so that recovery is quick once the database is back
            with Daemon(conninfo, "[database]\nreconnect_max_delay = 1s\n") as d:
                token = d.admin_token
                resp = d.request("GET", "/api/v1/programmes", token=token)
                self.assertEqual(resp.status, 200, resp.body)
                self.assertEqual(metric(d.metrics(), "scaleupd_db_reconnects_total"), 0)

                cluster.stop()
                # more requests than workers (4), so that every worker meets the loss
                for _ in range(8):
                    resp = d.request("GET", "/api/v1/programmes", token=token)
                    self.assertEqual(resp.status, 503, resp.body)
                    self.assertEqual(resp.body["error"]["code"], "database_unavailable")
                    self.assertTrue(resp.headers["Retry-After"].isdigit(), resp.headers)
                resp = d.request("GET", "/readyz", token=None)
                self.assertEqual(resp.status, 503, resp.body)
                self.assertIn("Retry-After", resp.headers)
                self.assertEqual(d.request("GET", "/healthz", token=None).status, 200)
                self.assertTrue(d.running())

                cluster.start()
                harness.wait_until(
                    lambda: d.request("GET", "/api/v1/programmes", token=token).status == 200,
                    "the daemon to use the database again")
                harness.wait_until(
                    lambda: d.request("GET", "/readyz", token=None).status == 200,
                    "GET /readyz to be 200 again")
                samples = d.metrics()
                self.assertGreaterEqual(metric(samples, "scaleupd_db_reconnects_total"), 1)
                self.assertGreaterEqual(metric(samples, "scaleupd_db_connect_failures_total"), 1)
                # and writes work again too, once every worker is back: one still waiting
                # out its backoff (at most reconnect_max_delay) answers 503 and stores nothing
                answers = []
                harness.wait_until(
                    lambda: answers.append(
                        d.request("POST", "/api/v1/programmes", example_programme()))
                    or answers[-1].status != 503,
                    "a write to be accepted")
                self.assertEqual(answers[-1].status, 201, answers[-1].body)
                self.assertEqual(d.stop(), 0)

    def test_a_terminated_backend_is_replaced_before_a_request_meets_it(self):
        # a backend that an administrator (or a restart of the database) ended has told its
        # connection why and closed it: a worker notices before it runs a request, so no
        # request pays for it with a 503
        conninfo = harness.fresh_database("e2e_lifecycle_terminated")
        with Daemon(conninfo) as d:
            token = d.admin_token
            # more requests than workers (4), so that every worker has its connection
            for _ in range(8):
                resp = d.request("GET", "/api/v1/programmes", token=token)
                self.assertEqual(resp.status, 200, resp.body)
            ours = ("FROM pg_stat_activity WHERE datname = current_database()"
                    " AND application_name = 'scaleupd'")
            pids = harness.psql(conninfo, f"SELECT string_agg(pid::text, ',') {ours}")
            self.assertTrue(pids, "the daemon's connections are in pg_stat_activity")
            harness.psql(conninfo, f"SELECT pg_terminate_backend(pid) {ours}")
            harness.wait_until(
                lambda: harness.psql(conninfo, "SELECT count(*) FROM pg_stat_activity"
                                               f" WHERE pid IN ({pids})") == "0",
                "the terminated backends to be gone")
            for _ in range(8):
                resp = d.request("GET", "/api/v1/programmes", token=token)
                self.assertEqual(resp.status, 200, resp.body)
            self.assertGreaterEqual(metric(d.metrics(), "scaleupd_db_reconnects_total"), 1)
            self.assertEqual(d.stop(), 0)


if __name__ == "__main__":
    unittest.main()
