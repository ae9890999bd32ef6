"""A real SMTP server for the e2e tests (Debian's python3-aiosmtpd) that saves every message
it accepts, one file per recipient, into a directory.

  sink = SmtpSink(directory, port=0); sink.start(); sink.port; sink.messages(); sink.stop()
  python3 smtp_sink.py DIRECTORY PORT      (the same, in the foreground)

SmtpSink(directory, reject={"bad@example.org"}) answers 550 to those recipients.
SmtpSink(directory, starttls=CONTEXT) offers STARTTLS and refuses mail before it;
SmtpSink(directory, implicit_tls=CONTEXT) speaks TLS from the first byte (smtps);
SmtpSink(directory, users={"login": "password"}) refuses mail before a successful AUTH.
CONTEXT is an ssl.SSLContext holding the server's certificate. A sink with any of these
adds X-Sink-TLS (the TLS version, or "none") and X-Sink-Auth (the login, or "none") to the
messages it saves, and counts the logins tried in auth_attempts, those refused in
auth_failures.
SilentServer(port) accepts TCP connections and never answers (an SMTP server that hangs).
"""

import email
import email.policy
import logging
import os
import select
import socket
import sys
import threading
import warnings

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult


class _SaveHandler:
    def __init__(self, directory, reject, trace=False):
        self.directory = directory
        self.reject = set(reject or ())
        self.trace = trace
        self.lock = threading.Lock()
        self.count = 0

    @staticmethod
    def _trace_headers(server, session):
        ssl_object = server.transport.get_extra_info("ssl_object") if server.transport else None
        tls = ssl_object.version() if ssl_object is not None else "none"
        login = session.auth_data if session.authenticated else "none"
        return f"X-Sink-TLS: {tls}\r\nX-Sink-Auth: {login}\r\n".encode()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # pylint: disable=invalid-name,too-many-arguments
        if address in self.reject:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # pylint: disable=invalid-name
        trace = self._trace_headers(server, session) if self.trace else b""
        with self.lock:
            for rcpt in envelope.rcpt_tos:
                self.count += 1
                path = os.path.join(self.directory, f"{self.count:04d}.eml")
                with open(path + ".tmp", "wb") as f:
                    f.write(b"X-Envelope-To: " + rcpt.encode() + b"\r\n")
                    f.write(trace)
                    f.write(envelope.original_content or envelope.content)
                os.rename(path + ".tmp", path)
        return "250 OK"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Authenticator:
    """aiosmtpd's authenticator: accepts the logins of users (PLAIN or LOGIN), counts the
    attempts and the refusals."""

    def __init__(self, users):
        self.users = {login.encode(): password.encode() for login, password in users.items()}
        self.attempts = 0
        self.failures = 0

    def __call__(self, server, session, envelope, mechanism, auth_data):  # pylint: disable=too-many-arguments
        self.attempts += 1
        login, password = auth_data
        if self.users.get(login) == password:
            return AuthResult(success=True, auth_data=login.decode())
        self.failures += 1
        return AuthResult(success=False, handled=False)


class _KnownNoise(logging.Filter):  # pylint: disable=too-few-public-methods
    """Drops aiosmtpd's warnings about what a sink does on purpose: AUTH on an implicit-TLS
    server, and aiosmtpd's own use, at every login, of the login_data it deprecates."""

    NOISE = ("Session.login_data is deprecated",
             "auth_required == True but auth_require_tls == False")

    def filter(self, record):
        return not record.getMessage().startswith(self.NOISE)


logging.getLogger("mail.log").addFilter(_KnownNoise())


class _QuietController(Controller):
    """A Controller whose SMTP does not warn that AUTH is allowed without STARTTLS: on an
    implicit-TLS server the whole session is encrypted, which aiosmtpd cannot tell."""

    def factory(self):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return SMTP(self.handler, **self.SMTP_kwargs)


class SmtpSink:
    """An SMTP server on 127.0.0.1:port saving messages into directory."""

    def __init__(self, directory, port=0, reject=None, starttls=None, implicit_tls=None,
                 users=None):  # pylint: disable=too-many-arguments
        self.directory = directory
        os.makedirs(directory, exist_ok=True)
        self.port = port or free_port()
        self._handler = _SaveHandler(directory, reject,
                                     trace=bool(starttls or implicit_tls or users))
        self._authenticator = _Authenticator(users) if users else None
        self._starttls = starttls
        self._implicit_tls = implicit_tls
        self._controller = None

    @property
    def auth_attempts(self):
        """How many AUTH attempts the sink saw."""
        return self._authenticator.attempts if self._authenticator else 0

    @property
    def auth_failures(self):
        """How many AUTH attempts the sink refused."""
        return self._authenticator.failures if self._authenticator else 0

    def start(self):
        kwargs = {}
        if self._starttls is not None:
            kwargs.update(tls_context=self._starttls, require_starttls=True)
        if self._implicit_tls is not None:
            kwargs.update(ssl_context=self._implicit_tls)
        if self._authenticator is not None:
            # AUTH waits for STARTTLS where there is one; aiosmtpd does not count implicit
            # TLS as TLS, so there it must not ask for it
            kwargs.update(authenticator=self._authenticator, auth_required=True,
                          auth_require_tls=self._starttls is not None)
        self._controller = _QuietController(self._handler, hostname="127.0.0.1",
                                            port=self.port, **kwargs)
        self._controller.start()

    def stop(self):
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def messages(self):
        """The saved messages, oldest first, as email.message.EmailMessage objects."""
        out = []
        for name in sorted(os.listdir(self.directory)):
            if name.endswith(".eml"):
                with open(os.path.join(self.directory, name), "rb") as f:
                    out.append(email.message_from_binary_file(f, policy=email.policy.default))
        return out


class SilentServer:
    """Accepts TCP connections on 127.0.0.1:port and never sends a byte. accepted counts
    the connections opened, closed those the client has closed again."""

    def __init__(self, port=0):
        self.port = port or free_port()
        self.accepted = 0
        self.closed = 0
        self._sock = socket.socket()
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", self.port))
        self._sock.listen(8)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self):
        self._thread.start()

    def _run(self):
        conns = []
        while not self._stop.is_set():
            readable, _, _ = select.select([self._sock] + conns, [], [], 0.1)
            for sock in readable:
                if sock is self._sock:
                    conn, _ = sock.accept()
                    conns.append(conn)
                    self.accepted += 1
                elif not sock.recv(4096):
                    conns.remove(sock)
                    sock.close()
                    self.closed += 1
        for conn in conns:
            conn.close()
        self._sock.close()

    def stop(self):
        self._stop.set()
        self._thread.join()


if __name__ == "__main__":
    sink = SmtpSink(sys.argv[1], int(sys.argv[2]))
    sink.start()
    print(f"listening on 127.0.0.1:{sink.port}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        sink.stop()
