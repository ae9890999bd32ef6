"""Shared machinery of the end-to-end tests: the real scaleupd binary over HTTP.

Run through ctest, which starts the throwaway PostgreSQL cluster of the ``pg_cluster``
fixture and sets:

  SCALEUPD_TEST_PGDIR   the fixture cluster's directory (its conninfo is in DIR/conninfo)
  SCALEUPD_BUILD_DIR    where the scaleupd and scaleupctl binaries are
  SCALEUPD_SOURCE_DIR   the repository (for scripts/pgcluster)

What a test uses:

  fresh_database(name)       a new, empty database in the fixture cluster; returns its conninfo
  psql(conninfo, sql)        runs SQL with the psql client, returns its unaligned output
  Daemon(conninfo, extra_config="", env=None)
                             a running scaleupd (listening on a free port, log level debug),
                             ready (GET /readyz is 200) when the constructor returns; a
                             context manager that always stops it and removes its files
  Daemon.request(...)        one HTTP request -> Response(status, headers, body)
  private_cluster()          a PostgreSQL cluster of the test's own, to stop and start
  locked_table(conninfo, t)  holds an exclusive lock so that requests touching t wait
  parse_metrics(text)        the samples of a Prometheus text exposition
  EXAMPLE_PROGRAMME          the Belgian example programme document (a fresh copy each time:
                             example_programme())

Waits are bounded polls, never fixed sleeps: daemons under AddressSanitizer are slow, so the
bound (TIMEOUT seconds, $SCALEUPD_TEST_TIMEOUT, default 120) is generous, but a passing test
waits only as long as it must.

Databases are shared by every e2e test file of a ctest run (which may run in parallel), so
name them after the test file (``e2e_lifecycle_reload``...).
"""

import collections
import concurrent.futures
import contextlib
import copy
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

TIMEOUT = float(os.environ.get("SCALEUPD_TEST_TIMEOUT", "120"))

SOURCE_DIR = os.environ.get("SCALEUPD_SOURCE_DIR") or os.path.dirname(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# The sanitizers' reports: any of these in a daemon's log fails the test that ran it.
SANITIZER_REPORT = re.compile(
    r"ERROR: (AddressSanitizer|LeakSanitizer|ThreadSanitizer)|runtime error:|"
    r"SUMMARY: (Address|Leak|UndefinedBehavior)Sanitizer")

# A sentinel for Daemon.request(token=...): the daemon's admin token.
ADMIN = object()


def _required_env(name):
    value = os.environ.get(name)
    if not value:
        raise RuntimeError(f"{name} is not set: run the e2e tests through ctest")
    return value


def build_dir():
    """The CMake build directory holding scaleupd and scaleupctl."""
    return _required_env("SCALEUPD_BUILD_DIR")


def cluster_conninfo():
    """The libpq conninfo of the fixture cluster (its database "postgres")."""
    path = os.path.join(_required_env("SCALEUPD_TEST_PGDIR"), "conninfo")
    with open(path, encoding="utf-8") as f:
        return f.read().strip()


def wait_until(predicate, what, timeout=None, interval=0.05):
    """Polls predicate() until it returns something true, and returns that; raises
    AssertionError naming `what` after timeout seconds (default TIMEOUT)."""
    deadline = time.monotonic() + (TIMEOUT if timeout is None else timeout)
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(interval)
        interval = min(interval * 1.5, 0.5)


def truncate(conninfo, tables):
    """Empties tables under a running daemon: its background work (the evaluator, 200 ms
    after a push) may hold locks on some of them and want others, and when PostgreSQL
    resolves that deadlock by aborting the TRUNCATE, it is run again."""
    for attempt in range(10):
        try:
            return psql(conninfo, f"TRUNCATE {tables}")
        except AssertionError as e:
            if "deadlock detected" not in str(e) or attempt == 9:
                raise
            time.sleep(0.1)
    return None


def psql(conninfo, sql, check=True):
    """Runs sql (one or more statements) with psql against conninfo and returns its
    unaligned, tuples-only output without the final newline. Raises AssertionError with
    psql's message when a statement fails and check is true."""
    proc = subprocess.run(
        ["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", conninfo, "-c", sql],
        capture_output=True, text=True, timeout=TIMEOUT, check=False)
    if check and proc.returncode != 0:
        raise AssertionError(f"psql failed ({proc.returncode}) for {sql!r}: {proc.stderr}")
    return proc.stdout.rstrip("\n")


def fresh_database(name, cluster=None):
    """Drops and creates database `name` (a-z, 0-9, _) in the fixture cluster, or in the
    cluster whose conninfo is `cluster`, and returns the new database's conninfo."""
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", name):
        raise ValueError(f"bad database name {name!r}")
    base = cluster or cluster_conninfo()
    psql(base, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    psql(base, f"CREATE DATABASE {name}")
    # a later dbname= overrides the one in the cluster's conninfo
    return f"{base} dbname={name}"


def scaleupctl(*args, check=True):
    """Runs scaleupctl with args; returns the CompletedProcess (text mode)."""
    proc = subprocess.run([os.path.join(build_dir(), "scaleupctl"), *args],
                          capture_output=True, text=True, timeout=TIMEOUT, check=False)
    if check and proc.returncode != 0:
        raise AssertionError(
            f"scaleupctl {' '.join(args)} exited {proc.returncode}: {proc.stderr}")
    return proc


def create_token(conninfo, *scope, name="e2e"):
    """Creates a token directly in the database (scaleupctl --database) and returns its
    secret. scope is ("--admin",), ("--read",) or ("--feed", "PROGRAMME")."""
    proc = scaleupctl("--database", conninfo, "token", "create", *scope, "--name", name)
    secret = proc.stdout.strip()
    if not secret.startswith("sud_"):
        raise AssertionError(f"scaleupctl printed no token: {proc.stdout!r} {proc.stderr!r}")
    return secret


Response = collections.namedtuple("Response", "status headers body")
Response.__doc__ = """One HTTP answer: status (int), headers (case-insensitive
http.client.HTTPMessage) and body (parsed JSON when the answer is JSON, else text)."""


def _decode_body(raw, headers):
    ctype = headers.get("Content-Type", "")
    if "json" in ctype and raw:
        return json.loads(raw)
    return raw.decode("utf-8", "replace")


def read_response(sock):
    """Reads one HTTP response from a connected raw socket -> Response."""
    resp = http.client.HTTPResponse(sock)
    resp.begin()
    raw = resp.read()
    return Response(resp.status, resp.headers, _decode_body(raw, resp.headers))


class Daemon:
    """A running scaleupd for one test (or one test class).

    The constructor writes an INI file (listen_port = 0, log level debug, then
    extra_config) into a temporary directory, starts ``$SCALEUPD_BUILD_DIR/scaleupd -c FILE``
    with SCALEUPD_DATABASE=conninfo (plus env), collects its stderr line by line, learns the
    port from "listening on 127.0.0.1:PORT" and waits until GET /readyz answers 200.

    Use it as a context manager: on exit it stops the daemon (SIGTERM, then SIGKILL if it
    hangs), removes its files, prints the end of its log when the test failed, and fails
    the test if a sanitizer reported anything. With wait_ready=False the constructor returns
    once the port is known (for a daemon whose database is not reachable yet).

    Attributes: conninfo, port, proc (the Popen), config_path.
    """

    BASE_CONFIG = "[server]\nlisten_address = 127.0.0.1\nlisten_port = 0\n[log]\nlevel = debug\n"

    def __init__(self, conninfo, extra_config="", env=None, wait_ready=True):
        self.conninfo = conninfo
        self.port = None
        self.proc = None
        self._admin_token = None
        self._lines = []
        self._cond = threading.Condition()
        self._eof = False
        self._dir = tempfile.mkdtemp(prefix="scaleupd-e2e-")
        self.config_path = os.path.join(self._dir, "scaleupd.conf")
        self._write_config(extra_config)
        try:
            self._start(env)
            if wait_ready:
                self.wait_ready()
        except BaseException:
            self._dump_log()
            self.close()
            raise

    # ---------------------------------------------------------------- process

    def _write_config(self, extra_config):
        with open(self.config_path, "w", encoding="utf-8") as f:
            f.write(self.BASE_CONFIG)
            # the link key of e-mails in the daemon's own directory, not /var/lib/scaleupd
            f.write(f"[links]\nstate_directory = {self._dir}\n")
            f.write(extra_config)
            if extra_config and not extra_config.endswith("\n"):
                f.write("\n")

    def _start(self, env):
        full_env = dict(os.environ)
        full_env["SCALEUPD_DATABASE"] = self.conninfo
        full_env.pop("JOURNAL_STREAM", None)  # plain log lines, with timestamps
        full_env.pop("NOTIFY_SOCKET", None)
        full_env.update(env or {})
        self.proc = subprocess.Popen(  # pylint: disable=consider-using-with
            [os.path.join(build_dir(), "scaleupd"), "-c", self.config_path],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            env=full_env)
        self._reader = threading.Thread(target=self._read_stderr, daemon=True)
        self._reader.start()
        _, match = self.wait_for_log(r"listening on 127\.0\.0\.1:(\d+)")
        self.port = int(match.group(1))

    def _read_stderr(self):
        for raw in self.proc.stderr:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            with self._cond:
                self._lines.append(line)
                self._cond.notify_all()
        with self._cond:
            self._eof = True
            self._cond.notify_all()

    def running(self):
        """True while the process has not exited."""
        return self.proc is not None and self.proc.poll() is None

    def wait_ready(self, timeout=None):
        """Polls GET /readyz until it answers 200."""
        def ready():
            try:
                return self.request("GET", "/readyz", token=None, timeout=10).status == 200
            except OSError:
                if not self.running():
                    raise AssertionError(f"scaleupd exited with {self.proc.returncode} "
                                         "before it was ready") from None
                return False
        wait_until(ready, "GET /readyz to answer 200", timeout)

    def signal(self, sig):
        """Sends a signal to the daemon."""
        self.proc.send_signal(sig)

    def wait_exit(self, timeout=None):
        """Waits for the process to exit (bounded) and returns its exit code."""
        code = self.proc.wait(TIMEOUT if timeout is None else timeout)
        self._reader.join(TIMEOUT)
        return code

    def stop(self, timeout=None):
        """SIGTERM, wait for the exit, return the exit code (0 for a clean stop)."""
        if self.running():
            self.signal(signal.SIGTERM)
        return self.wait_exit(timeout)

    def kill(self):
        """SIGKILL and wait; returns the exit code (-9)."""
        if self.running():
            self.proc.kill()
        return self.wait_exit()

    def reload(self, extra_config):
        """Rewrites the configuration (the base lines, then extra_config), sends SIGHUP and
        waits for the daemon's verdict; returns that log line ("configuration reloaded…" or
        "could not reload configuration…")."""
        mark = self.log_mark()
        self._write_config(extra_config)
        self.signal(signal.SIGHUP)
        line, _ = self.wait_for_log(r"configuration reloaded|could not reload configuration",
                                    since=mark)
        return line

    # ---------------------------------------------------------------- log

    def log_mark(self):
        """The number of log lines so far: pass it as `since` to look only at later ones."""
        with self._cond:
            return len(self._lines)

    def log_lines(self, since=0):
        """A copy of the log lines (stderr) from index `since` on."""
        with self._cond:
            return list(self._lines[since:])

    def wait_for_log(self, pattern, since=0, timeout=None):
        """Waits for a log line (from index `since`) matching the regular expression
        pattern; returns (line, match). Fails if the daemon exits or time runs out first."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + (TIMEOUT if timeout is None else timeout)
        with self._cond:
            index = since
            while True:
                while index < len(self._lines):
                    match = regex.search(self._lines[index])
                    if match:
                        return self._lines[index], match
                    index += 1
                remaining = deadline - time.monotonic()
                if self._eof or remaining <= 0:
                    why = "the daemon exited" if self._eof else "timed out"
                    raise AssertionError(f"{why} before logging /{pattern}/")
                self._cond.wait(min(remaining, 1.0))

    def wait_request_logged(self, request_id, since=0):
        """Waits for the access-log line of a request (by its X-Request-Id), which the daemon
        writes just after sending the answer; returns the line."""
        line, _ = self.wait_for_log(rf"\[{re.escape(request_id)}\] [A-Z]+ \S+ \d{{3}} ", since)
        return line

    def sanitizer_reports(self):
        """Log lines in which AddressSanitizer/UBSan/LeakSanitizer reported something."""
        return [line for line in self.log_lines() if SANITIZER_REPORT.search(line)]

    def _dump_log(self, last=80):
        lines = self.log_lines()
        if lines:
            print(f"\n---- last {min(last, len(lines))} lines of scaleupd's log ----")
            print("\n".join(lines[-last:]))
            print("---- end of log ----", flush=True)

    # ---------------------------------------------------------------- HTTP

    @property
    def admin_token(self):
        """An admin token of the daemon's database, created on first use with
        ``scaleupctl --database CONNINFO token create --admin``."""
        if self._admin_token is None:
            self._admin_token = create_token(self.conninfo, "--admin", name="e2e admin")
        return self._admin_token

    def request(self, method, path, body=None, headers=None, token=ADMIN, timeout=None):
        """One request on a new connection -> Response(status, headers, body).

        body: a dict or list (sent as JSON with Content-Type application/json), str or bytes
        (sent as is), or None. token: ADMIN (the default: the admin token), None (no
        Authorization header) or a secret. Raises OSError (ConnectionRefusedError…) when the
        daemon cannot be reached."""
        hdrs = {}
        if token is ADMIN:
            token = self.admin_token
        if token is not None:
            hdrs["Authorization"] = f"Bearer {token}"
        data = body
        if isinstance(body, (dict, list)):
            data = json.dumps(body).encode()
            hdrs["Content-Type"] = "application/json"
        elif isinstance(body, str):
            data = body.encode()
        hdrs.update(headers or {})
        conn = http.client.HTTPConnection("127.0.0.1", self.port,
                                          timeout=TIMEOUT if timeout is None else timeout)
        try:
            conn.request(method, path, body=data, headers=hdrs)
            resp = conn.getresponse()
            raw = resp.read()
        finally:
            conn.close()
        return Response(resp.status, resp.headers, _decode_body(raw, resp.headers))

    def request_async(self, *args, **kwargs):
        """request() on a thread of its own; returns a concurrent.futures.Future of the
        Response (or of the exception)."""
        future = concurrent.futures.Future()

        def run():
            try:
                future.set_result(self.request(*args, **kwargs))
            except BaseException as e:  # pylint: disable=broad-except
                future.set_exception(e)
        threading.Thread(target=run, daemon=True).start()
        return future

    def connect(self, timeout=None):
        """A raw TCP connection to the daemon, for requests http.client cannot make."""
        return socket.create_connection(("127.0.0.1", self.port),
                                        timeout=TIMEOUT if timeout is None else timeout)

    def metrics(self):
        """GET /metrics, parsed: {(name, frozenset(labels.items())): value}."""
        resp = self.request("GET", "/metrics", token=None)
        if resp.status != 200:
            raise AssertionError(f"GET /metrics answered {resp.status}: {resp.body}")
        return parse_metrics(resp.body)

    # ---------------------------------------------------------------- clean-up

    def close(self):
        """Stops the daemon if it still runs (SIGTERM, then SIGKILL after TIMEOUT) and
        removes its files. Safe to call more than once."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(TIMEOUT)
        if self.proc is not None:
            self._reader.join(TIMEOUT)
            self.proc.stderr.close()
        shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        self.close()
        if exc_type is not None:
            self._dump_log()
            return False
        reports = self.sanitizer_reports()
        if reports:
            self._dump_log(400)
            raise AssertionError("a sanitizer reported a problem:\n" + "\n".join(reports))
        return False


def parse_metrics(text):
    """Parses a Prometheus text exposition into {(name, frozenset(labels.items())): value},
    checking the format as it goes: every sample line is `name{labels} value`, and every
    sample belongs to a family announced by # HELP and # TYPE lines. Raises AssertionError
    on a malformed line."""
    samples = {}
    typed = set()
    sample_re = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$")
    label_re = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(?:,|$)')
    for line in text.splitlines():
        if not line:
            continue
        if line.startswith("# HELP ") or line.startswith("# TYPE "):
            parts = line.split(" ", 3)
            if len(parts) < 4:
                raise AssertionError(f"malformed metrics comment: {line!r}")
            if parts[1] == "TYPE":
                if parts[3] not in ("counter", "gauge", "histogram", "summary", "untyped"):
                    raise AssertionError(f"unknown metric type: {line!r}")
                typed.add(parts[2])
            continue
        match = sample_re.match(line)
        if not match:
            raise AssertionError(f"malformed metrics line: {line!r}")
        name, labels_text, value = match.groups()
        labels = {}
        if labels_text:
            pos = 0
            while pos < len(labels_text):
                lm = label_re.match(labels_text, pos)
                if not lm:
                    raise AssertionError(f"malformed labels in metrics line: {line!r}")
                labels[lm.group(1)] = lm.group(2)
                pos = lm.end()
        family = re.sub(r"_(bucket|sum|count)$", "", name)
        if name not in typed and family not in typed:
            raise AssertionError(f"metric {name} has no # TYPE line")
        samples[(name, frozenset(labels.items()))] = float(value)
    return samples


def metric(samples, name, **labels):
    """The value of one sample of parse_metrics' result, or None when absent."""
    return samples.get((name, frozenset(labels.items())))


class PrivateCluster:
    """A PostgreSQL cluster of one test (scripts/pgcluster start DIR), for tests that stop
    and start the database under a running daemon. conninfo is its "postgres" database."""

    def __init__(self, directory):
        self.dir = directory
        self.conninfo = None

    def _pgcluster(self, command):
        proc = subprocess.run([os.path.join(SOURCE_DIR, "scripts", "pgcluster"), command, self.dir],
                              capture_output=True, text=True, timeout=TIMEOUT * 2, check=False)
        if proc.returncode != 0:
            raise AssertionError(f"pgcluster {command} failed: {proc.stderr}")

    def start(self):
        """Starts the cluster (creating it the first time); waits until it accepts
        connections."""
        self._pgcluster("start")
        with open(os.path.join(self.dir, "conninfo"), encoding="utf-8") as f:
            self.conninfo = f.read().strip()

    def stop(self):
        """Stops the cluster (fast shutdown: sessions are disconnected)."""
        self._pgcluster("stop")

    def remove(self):
        """Stops the cluster and removes every file of it."""
        with contextlib.suppress(AssertionError):
            self.stop()
        root_file = os.path.join(self.dir, "root")
        if os.path.exists(root_file):
            with open(root_file, encoding="utf-8") as f:
                root = f.read().strip()
            # as root, the data area is a postgres-owned directory outside self.dir
            if root.startswith("/tmp/scaleupd-pg."):
                shutil.rmtree(root, ignore_errors=True)
        shutil.rmtree(self.dir, ignore_errors=True)


@contextlib.contextmanager
def private_cluster():
    """A PostgreSQL cluster of the test's own, started, with .conninfo, .stop() and
    .start(); removed at the end whatever happens."""
    cluster = PrivateCluster(tempfile.mkdtemp(prefix="scaleupd-e2e-cluster-"))
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.remove()


@contextlib.contextmanager
def locked_table(conninfo, table):
    """Holds an ACCESS EXCLUSIVE lock on `table` in an open transaction of a psql session
    until the block ends, so that a request touching the table waits in the database: a
    way to keep a request in flight. Note the daemon's lock_timeout (10 s): release the
    lock before that. Yields a function returning how many sessions wait for the lock."""
    proc = subprocess.Popen(  # pylint: disable=consider-using-with
        ["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", conninfo],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        proc.stdin.write(f"BEGIN;\nLOCK TABLE {table} IN ACCESS EXCLUSIVE MODE;\n"
                         "SELECT 'locked';\n")
        proc.stdin.flush()
        line = proc.stdout.readline()
        if line.strip() != "locked":
            raise AssertionError(f"could not lock {table}: {line!r} {proc.stderr.read()}")

        def waiting():
            return int(psql(conninfo, "SELECT count(*) FROM pg_locks WHERE NOT granted AND "
                                      "database = (SELECT oid FROM pg_database WHERE "
                                      f"datname = current_database()) AND "
                                      f"relation = '{table}'::regclass"))
        yield waiting
    finally:
        with contextlib.suppress(OSError):
            proc.stdin.write("ROLLBACK;\n")
            proc.stdin.close()
        try:
            proc.wait(TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()


def connection_refused(port):
    """True when nothing accepts TCP connections on 127.0.0.1:port."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            return False
    except ConnectionRefusedError:
        return True


# The example programme as config/ ships it (identical to ../shared/examples).
with open(os.path.join(SOURCE_DIR, "config", "programme-icp-be.json"), encoding="utf-8") as _f:
    EXAMPLE_PROGRAMME = json.load(_f)


def example_programme(**changes):
    """A deep copy of EXAMPLE_PROGRAMME (config/programme-icp-be.json), with
    top-level members replaced by `changes` (slug="other"…)."""
    doc = copy.deepcopy(EXAMPLE_PROGRAMME)
    doc.update(changes)
    return doc
