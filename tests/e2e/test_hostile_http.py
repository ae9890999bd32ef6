"""Hostile and broken HTTP clients against the real daemon: trickling connections are cut at
the header and body deadlines, connections past the cap get 503 while admitted ones are
still served, a request without a valid token is refused before its body is sent, a token
past its rate gets 429, and every refusal libevent would make itself (413, 400, 408, 501,
505) comes in the API's JSON error shape.

Nothing here waits for a wall-clock threshold: each test asserts states and byte counts
(the 401 arrives while no body byte has been sent; the 408 arrives while the trickle is
still incomplete). Deadlines are configured small (1 s) and the tests' timeouts are only
safety nets."""

import contextlib
import http.client
import json
import os
import select
import socket
import threading
import time
import unittest

import harness
from harness import Daemon, TIMEOUT

ADMIN_POST = ("POST /api/v1/programmes HTTP/1.1\r\nHost: 127.0.0.1\r\n"
              "Content-Type: application/json\r\n")


def read_answer(sock):
    """One response from a raw socket, or None when the daemon closed without one."""
    try:
        return harness.read_response(sock)
    except (ConnectionResetError, http.client.RemoteDisconnected, http.client.BadStatusLine):
        return None


class _OneReader:
    """A socket stand-in whose makefile() is always the same buffered reader, so that
    several responses can be read from one connection without losing bytes between them."""

    class _KeptOpen:
        """The reader, except that a finished response does not close it."""

        def __init__(self, reader):
            self.reader = reader

        def __getattr__(self, name):
            return getattr(self.reader, name)

        def close(self):
            pass

    def __init__(self, sock):
        self.reader = self._KeptOpen(sock.makefile("rb"))

    def makefile(self, *args, **kwargs):  # pylint: disable=unused-argument
        return self.reader


def read_answers(sock, count):
    """count responses read in order from one connection -> [Response]."""
    one = _OneReader(sock)
    answers = []
    for _ in range(count):
        resp = http.client.HTTPResponse(one)
        resp.begin()
        raw = resp.read()
        body = json.loads(raw) if "json" in resp.getheader("Content-Type", "") and raw else raw
        answers.append(harness.Response(resp.status, resp.headers, body))
    return answers


def closed_after(sock):
    """True when the daemon closes the connection (EOF or reset) after its answer."""
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True


def cpu_seconds(pid):
    """User and system CPU seconds the process has used (all its threads)."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def trickle(sock, byte=b"a"):
    """Sends one byte every 0.2 s until the daemon answers or closes; returns the bytes
    sent. Fails after TIMEOUT seconds (the daemon never cut the connection)."""
    sent = 0
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        readable, _, _ = select.select([sock], [], [], 0.2)
        if readable:
            return sent
        try:
            sock.sendall(byte)
        except (BrokenPipeError, ConnectionResetError):
            return sent
        sent += 1
    raise AssertionError(f"the daemon let a connection trickle {sent} bytes for {TIMEOUT} s")


class JsonErrors(unittest.TestCase):
    """Shared assertions."""

    daemon = None

    def assert_json_error(self, resp, status, code):
        """resp is {"error":{"code","message"}} with this status and code."""
        self.assertIsNotNone(resp, "the daemon closed the connection without an answer")
        self.assertEqual(resp.status, status, resp.body)
        self.assertTrue(resp.headers.get("Content-Type", "").startswith("application/json"),
                        f"not JSON: {resp.headers.get('Content-Type')}: {resp.body!r}")
        self.assertEqual(list(resp.body), ["error"], resp.body)
        self.assertEqual(resp.body["error"]["code"], code, resp.body)
        self.assertTrue(resp.body["error"]["message"].strip(), resp.body)
        return resp.body["error"]

    def assert_still_serving(self):
        self.assertEqual(self.daemon.request("GET", "/healthz", token=None).status, 200)

    @classmethod
    def start(cls, database, config):
        cls.daemon = Daemon(harness.fresh_database(database), config)

    @classmethod
    def tearDownClass(cls):
        code = cls.daemon.stop()
        cls.daemon.__exit__(None, None, None)
        if code != 0:
            raise AssertionError(f"scaleupd exited with {code} after SIGTERM")


class DeadlinesTest(JsonErrors):
    """header_timeout and body_timeout of 1 s; the idle timeout (60 s) is per read, so
    without the deadlines a byte every 0.2 s would hold a connection for ever."""

    @classmethod
    def setUpClass(cls):
        cls.start("e2e_hostile_deadlines", "[server]\nheader_timeout = 1s\nbody_timeout = 1s\n")

    def test_a_trickled_header_block_is_cut_at_the_header_deadline(self):
        with self.daemon.connect() as sock:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
            trickle(sock)  # a header value that never ends
            error = self.assert_json_error(read_answer(sock), 408, "header_timeout")
            self.assertIn("1 s", error["message"])
            self.assertTrue(closed_after(sock))
        self.assert_still_serving()

    def test_a_silent_connection_is_cut_at_the_header_deadline(self):
        with self.daemon.connect() as sock:
            readable, _, _ = select.select([sock], [], [], TIMEOUT)
            self.assertTrue(readable, "a connection that sends nothing was never cut")
            self.assert_json_error(read_answer(sock), 408, "header_timeout")

    def test_a_trickled_body_is_cut_at_the_body_deadline(self):
        declared = 1000
        with self.daemon.connect() as sock:
            sock.sendall((f"{ADMIN_POST}Authorization: Bearer {self.daemon.admin_token}\r\n"
                          f"Content-Length: {declared}\r\n\r\n{{").encode())
            sent = 1 + trickle(sock, b" ")
            self.assertLess(sent, declared, "the whole body went in: nothing was cut")
            self.assert_json_error(read_answer(sock), 408, "body_timeout")
            self.assertTrue(closed_after(sock))
        self.assert_still_serving()

    def test_keep_alive_and_pipelining_still_work(self):
        with self.daemon.connect() as sock:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
                         b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
                         b"GET /nowhere HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            first, second, third = read_answers(sock, 3)
            self.assertEqual((first.status, second.status), (200, 200))
            self.assert_json_error(third, 404, "not_found")


class ConnectionCapTest(JsonErrors):
    """max_connections = 4: a fifth connection is answered 503 and closed, while a client
    admitted earlier is still served on its connection."""

    CAP = 4

    @classmethod
    def setUpClass(cls):
        cls.start("e2e_hostile_cap", f"[server]\nmax_connections = {cls.CAP}\n"
                                     "header_timeout = 1h\n")

    def test_connections_past_the_cap_get_503_and_admitted_ones_are_served(self):
        admitted = self.daemon.connect()
        idle = []
        try:
            admitted.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            self.assertEqual(read_answer(admitted).status, 200)
            # the cap's other slots, held by connections that send nothing (accepted in
            # order: once the daemon accepts the next one, these are counted)
            idle = [self.daemon.connect() for _ in range(self.CAP - 1)]
            with self.daemon.connect() as extra:
                extra.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
                resp = read_answer(extra)
                self.assert_json_error(resp, 503, "too_many_connections")
                self.assertGreaterEqual(int(resp.headers["Retry-After"]), 1)
                self.assertTrue(closed_after(extra))
            # the admitted client is served as before, on its own connection
            admitted.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            self.assertEqual(read_answer(admitted).status, 200)
            # a slot that frees up is taken by the next client
            idle.pop().close()
            harness.wait_until(lambda: self.status_of_new_connection() == 200,
                               "a freed slot to admit a new connection")
        finally:
            admitted.close()
            for sock in idle:
                sock.close()

    def status_of_new_connection(self):
        with self.daemon.connect() as sock:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            resp = read_answer(sock)
            return resp.status if resp else None


class TokenBeforeBodyTest(JsonErrors):
    """The token is checked from the header block: a POST to a protected route gets its
    401 or 403 while not one byte of its 4 MB body has been sent."""

    BODY = 4 * 1024 * 1024  # under max_body_bytes (8 MiB): only the token is wrong

    @classmethod
    def setUpClass(cls):
        cls.start("e2e_hostile_token", "")

    def head_only(self, authorization):
        """Sends the header block of a 4 MB POST and not one byte of its body; returns the
        answer, which must come and be followed by the end of the connection."""
        with self.daemon.connect() as sock:
            sock.sendall((f"{ADMIN_POST}{authorization}Content-Length: {self.BODY}\r\n\r\n")
                         .encode())
            resp = read_answer(sock)  # today's evhttp waits for the 4 MB here
            self.assertTrue(resp is None or closed_after(sock))
            return resp

    def test_no_token_is_401_before_the_body(self):
        resp = self.head_only("")
        self.assert_json_error(resp, 401, "unauthenticated")
        self.assertTrue(resp.headers["WWW-Authenticate"].startswith("Bearer"))

    def test_an_unknown_token_is_401_before_the_body(self):
        resp = self.head_only("Authorization: Bearer sud_" + "A" * 43 + "\r\n")
        self.assert_json_error(resp, 401, "invalid_token")

    def test_a_read_token_on_an_admin_route_is_403_before_the_body(self):
        read = harness.create_token(self.daemon.conninfo, "--read", name="e2e read")
        resp = self.head_only(f"Authorization: Bearer {read}\r\n")
        self.assert_json_error(resp, 403, "forbidden")

    def test_a_body_held_while_its_token_is_checked_costs_no_cpu(self):
        """While the token lookup waits in the database, the body's first bytes are held
        and the socket is not read further: the daemon sleeps. (With a read high watermark
        on the socket, libevent 2.1 ran its read callback in every pass of the loop until
        the lookup ended: a core at 100 % for each held request.)"""
        body = json.dumps({"slug": "e2e-held-body", "name": "x" * (256 * 1024)}).encode()
        token = self.daemon.admin_token  # created before the table is locked
        with self.daemon.connect() as sock:
            with harness.locked_table(self.daemon.conninfo, "token") as waiting:
                sock.sendall((f"{ADMIN_POST}Authorization: Bearer {token}"
                              f"\r\nContent-Length: {len(body)}\r\n\r\n").encode())
                sock.setblocking(False)
                sent = 0
                with contextlib.suppress(BlockingIOError):  # as much as the kernel takes
                    while sent < len(body):
                        sent += sock.send(body[sent:sent + 65536])
                sock.setblocking(True)
                harness.wait_until(lambda: waiting() > 0, "the token lookup to wait")
                before = cpu_seconds(self.daemon.proc.pid)
                time.sleep(2)
                used = cpu_seconds(self.daemon.proc.pid) - before
                self.assertLess(used, 0.1, f"the daemon used {used:.2f} CPU-s in 2 s while "
                                           "it held a request whose token was being checked")
            sock.sendall(body[sent:])  # the lookup goes on: the request is served
            resp = read_answer(sock)
            self.assertIsNotNone(resp)
            self.assertLess(resp.status, 500, resp.body)  # answered once the body is read

    def test_the_request_log_says_how_long_a_request_took_to_arrive(self):
        """A body that comes half a second after its head: the request's log line says it
        arrived over that half second, apart from the time the daemon spent on it."""
        body = b'{"slug": "e2e-slow-arrival", "name": "Slow"}'
        mark = self.daemon.log_mark()
        with self.daemon.connect() as sock:
            sock.sendall((f"{ADMIN_POST}Authorization: Bearer {self.daemon.admin_token}\r\n"
                          f"Content-Length: {len(body)}\r\n\r\n").encode())
            time.sleep(0.5)
            sock.sendall(body)
            self.assertEqual(read_answer(sock).status, 201)
        _, match = self.daemon.wait_for_log(
            r"POST /api/v1/programmes 201 ([0-9.]+) ms \(([0-9.]+) ms waiting for a worker, "
            rf"{len(body)} bytes in, ([0-9.]+) ms arriving before\)", since=mark)
        handled, arriving = float(match.group(1)), float(match.group(3))
        self.assertGreaterEqual(arriving, 500, match.group(0))
        self.assertLess(handled, arriving, match.group(0))

    def test_a_connection_opened_early_does_not_count_its_idle_time(self):
        """A client that connects and sends its first request half a second later (a pool, a
        browser's preconnect): the request is timed from its first byte, not from the accept
        (which the header deadline still runs from)."""
        body = b'{"slug": "e2e-early-connection", "name": "Early"}'
        mark = self.daemon.log_mark()
        with self.daemon.connect() as sock:
            time.sleep(0.5)
            sock.sendall((f"{ADMIN_POST}Authorization: Bearer {self.daemon.admin_token}\r\n"
                          f"Content-Length: {len(body)}\r\n\r\n").encode() + body)
            self.assertEqual(read_answer(sock).status, 201)
        _, match = self.daemon.wait_for_log(
            r"POST /api/v1/programmes 201 ([0-9.]+) ms \(([0-9.]+) ms waiting for a worker, "
            rf"{len(body)} bytes in, ([0-9.]+) ms arriving before\)", since=mark)
        handled, arriving = float(match.group(1)), float(match.group(3))
        self.assertLess(arriving, 400, match.group(0))
        self.assertLess(handled, 400, match.group(0))

    def test_a_valid_token_gets_its_body_read(self):
        resp = self.daemon.request("POST", "/api/v1/programmes", {"slug": "e2e-token-body",
                                                                  "name": "Token first"})
        self.assertEqual(resp.status, 201, resp.body)
        # with Expect: 100-continue, the client is told to go on once the token is checked
        with self.daemon.connect() as sock:
            body = b'{"slug": "e2e-token-expect", "name": "Expect"}'
            sock.sendall((f"{ADMIN_POST}Authorization: Bearer {self.daemon.admin_token}\r\n"
                          f"Expect: 100-continue\r\nContent-Length: {len(body)}\r\n\r\n")
                         .encode())
            self.assertTrue(sock.recv(64).startswith(b"HTTP/1.1 100 Continue"))
            sock.sendall(body)
            self.assertEqual(read_answer(sock).status, 201)

    def test_a_client_that_shuts_its_side_after_its_request_is_answered(self):
        """A client may shut its write side once it has sent its request (`nc -N`, a script's
        shutdown()): the token request it sent is answered and stored, pipelined ones too,
        then the connection closes. Before, the EOF came while the token was being checked
        and evhttp dropped the connection: no answer, nothing stored."""
        auth = f"Authorization: Bearer {self.daemon.admin_token}\r\n"
        body = b'{"slug": "e2e-half-closed", "name": "Half closed"}'
        with self.daemon.connect() as sock:
            sock.sendall(f"{ADMIN_POST}{auth}Content-Length: {len(body)}\r\n\r\n".encode() +
                         body + f"GET /api/v1/programmes/e2e-half-closed HTTP/1.1\r\n"
                         f"Host: x\r\n{auth}\r\n".encode())
            sock.shutdown(socket.SHUT_WR)
            created, read = read_answers(sock, 2)
            self.assertEqual(created.status, 201, created.body)
            self.assertEqual((read.status, read.body["slug"]), (200, "e2e-half-closed"))
            self.assertTrue(closed_after(sock))
        # a request cut short by the EOF is not one: the connection closes without an answer
        with self.daemon.connect() as sock:
            sock.sendall(f"{ADMIN_POST}{auth}Content-Length: 99\r\n\r\n{{".encode())
            sock.shutdown(socket.SHUT_WR)
            self.assertIsNone(read_answer(sock))
        self.assert_still_serving()


class RateLimitTest(JsonErrors):
    """rate_limit = 1 request a second per token, rate_burst = 2."""

    @classmethod
    def setUpClass(cls):
        cls.start("e2e_hostile_rate", "[server]\nrate_limit = 1\nrate_burst = 2\n")

    def test_a_token_past_its_rate_gets_429_with_retry_after(self):
        token = harness.create_token(self.daemon.conninfo, "--read", name="e2e fast")
        statuses = []
        resp = None
        for _ in range(20):  # 20 requests in under 18 s is enough to pass 1/s after 2
            resp = self.daemon.request("GET", "/api/v1/programmes", token=token)
            statuses.append(resp.status)
            if resp.status == 429:
                break
        self.assertEqual(statuses[:2], [200, 200], "the burst is served")
        self.assert_json_error(resp, 429, "rate_limited")
        self.assertGreaterEqual(int(resp.headers["Retry-After"]), 1)
        # another token is not held back by this one's rate
        other = harness.create_token(self.daemon.conninfo, "--read", name="e2e other")
        self.assertEqual(self.daemon.request("GET", "/api/v1/programmes", token=other).status,
                         200)
        # and the refused requests never reached the database: the refused token is served
        # again once a request's worth has refilled
        harness.wait_until(
            lambda: self.daemon.request("GET", "/api/v1/programmes", token=token).status == 200,
            "the token's bucket to refill")


class LimitsInJsonTest(JsonErrors):
    """What libevent would answer with its own HTML page (and a reset) comes in JSON."""

    @classmethod
    def setUpClass(cls):
        cls.start("e2e_hostile_limits", "")

    def exchange(self, data):
        with self.daemon.connect() as sock:
            try:
                sock.sendall(data)
            except (BrokenPipeError, ConnectionResetError):
                pass
            return read_answer(sock)

    def test_garbage_request_lines_are_400_in_json(self):
        for data in (b"\x00\x01\x02 NOT HTTP\r\n\r\n", b"garbage\r\n\r\n",
                     b"GET / HTTP/1.1\r\nno colon here\r\n\r\n",
                     b"GET / HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n",
                     b"POST / HTTP/1.1\r\nContent-Length: twelve\r\n\r\n"):
            with self.subTest(data=data):
                self.assert_json_error(self.exchange(data), 400, "malformed_request")
        self.assert_json_error(self.exchange(b"BREW /pot HTTP/1.1\r\n\r\n"), 501,
                               "not_implemented")
        self.assert_json_error(self.exchange(b"GET / HTTP/2.0\r\n\r\n"), 505,
                               "http_version_not_supported")
        self.assert_json_error(
            self.exchange(b"GET / HTTP/1.1\r\nExpect: something-else\r\n\r\n"), 417,
            "expectation_failed")
        self.assert_still_serving()

    def test_an_encoded_body_or_another_charset_is_415_and_repeated_headers_400(self):
        """Read as they are, a gzip or UTF-16 body would be refused as "not JSON"; of two
        Content-Types or Idempotency-Keys the first used to win, silently."""
        auth = f"Authorization: Bearer {self.daemon.admin_token}\r\n"
        body = b'{"slug": "e2e-encoded", "name": "Encoded"}'
        post = "POST /api/v1/programmes HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        for head, status, code in (
                ("Content-Type: application/json\r\nContent-Encoding: gzip\r\n", 415,
                 "unsupported_media_type"),
                ("Content-Type: application/json; charset=utf-16\r\n", 415,
                 "unsupported_media_type"),
                ("Content-Type: application/json\r\nContent-Type: text/csv\r\n", 400,
                 "malformed_request"),
                ("Content-Type: application/json\r\nIdempotency-Key: a\r\n"
                 "Idempotency-Key: b\r\n", 400, "malformed_request")):
            with self.subTest(head=head):
                resp = self.exchange(f"{post}{auth}{head}Content-Length: {len(body)}"
                                     "\r\n\r\n".encode() + body)
                self.assert_json_error(resp, status, code)
        # UTF-8 said out loud is UTF-8
        resp = self.exchange(f"{post}{auth}Content-Type: application/json; charset=UTF-8\r\n"
                             f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
        self.assertEqual(resp.status, 201, resp.body)
        self.assert_still_serving()

    def test_a_17_mb_body_without_expect_is_413_in_json(self):
        size = 17 * 1024 * 1024
        head = (f"{ADMIN_POST}Authorization: Bearer {self.daemon.admin_token}\r\n"
                f"Content-Length: {size}\r\n\r\n").encode()
        with self.daemon.connect() as sock:
            sent = [0]

            def send_all():
                try:
                    sock.sendall(head)
                    chunk = b"x" * 65536
                    for _ in range(size // len(chunk)):
                        sock.sendall(chunk)
                        sent[0] += len(chunk)
                except OSError:
                    pass  # the daemon may close once it has answered and drained enough
            sender = threading.Thread(target=send_all, daemon=True)
            sender.start()
            error = self.assert_json_error(read_answer(sock), 413, "body_too_large")
            self.assertIn(str(size), error["message"])
            sender.join(TIMEOUT)
        self.assert_still_serving()

    def test_a_chunked_body_over_the_limit_is_413_in_json(self):
        head = (f"{ADMIN_POST}Authorization: Bearer {self.daemon.admin_token}\r\n"
                "Transfer-Encoding: chunked\r\n\r\n").encode()
        chunk = b"%x\r\n%s\r\n" % (65536, b"x" * 65536)
        with self.daemon.connect() as sock:
            def send_all():
                try:
                    sock.sendall(head)
                    for _ in range(13 * 16):  # 13 MiB of chunks, past 8 MiB and a half
                        sock.sendall(chunk)
                except OSError:
                    pass
            sender = threading.Thread(target=send_all, daemon=True)
            sender.start()
            self.assert_json_error(read_answer(sock), 413, "body_too_large")
            sender.join(TIMEOUT)
        self.assert_still_serving()

    def test_chunked_bodies_are_read_to_their_end_and_bad_framing_is_400_in_json(self):
        auth = f"Authorization: Bearer {self.daemon.admin_token}\r\n"
        body = b'{"slug": "e2e-chunked", "name": "Chunked"}'
        with self.daemon.connect() as sock:  # a chunked POST, then a GET on the same connection
            sock.sendall(f"{ADMIN_POST}{auth}Transfer-Encoding: chunked\r\n\r\n".encode() +
                         b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body) +
                         b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            created, health = read_answers(sock, 2)
            self.assertEqual(created.status, 201, created.body)
            self.assertEqual(health.status, 200)
        for framing in (b"5;ext=1\r\nhello\r\n0\r\n\r\n", b"zz\r\n", b"5\r\nhelloX\r\n"):
            with self.subTest(framing=framing):
                resp = self.exchange(
                    f"{ADMIN_POST}{auth}Transfer-Encoding: chunked\r\n\r\n".encode() + framing)
                self.assert_json_error(resp, 400, "malformed_request")
        self.assert_still_serving()

    def test_a_header_block_over_the_limit_is_413_in_json(self):
        big = "a" * (16384 * 3)  # three times max_header_bytes, past evhttp's own limit
        self.assert_json_error(
            self.exchange(f"GET /healthz HTTP/1.1\r\nX-Big: {big}\r\n\r\n".encode()), 413,
            "headers_too_large")


if __name__ == "__main__":
    unittest.main()
