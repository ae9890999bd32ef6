"""A real SMTP server for the e2e tests (Debian's python3-aiosmtpd) that saves every message
it accepts, one file per recipient, into a directory.

  sink = SmtpSink(directory, port=0); sink.start(); sink.port; sink.messages(); sink.stop()
  python3 smtp_sink.py DIRECTORY PORT      (the same, in the foreground)

SmtpSink(directory, reject={"bad@example.org"}) answers 550 to those recipients.
SilentServer(port) accepts TCP connections and never answers (an SMTP server that hangs).
"""

import email
import email.policy
import os
import select
import socket
import sys
import threading

from aiosmtpd.controller import Controller


class _SaveHandler:
    def __init__(self, directory, reject):
        self.directory = directory
        self.reject = set(reject or ())
        self.lock = threading.Lock()
        self.count = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # pylint: disable=invalid-name,too-many-arguments
        if address in self.reject:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # pylint: disable=invalid-name
        with self.lock:
            for rcpt in envelope.rcpt_tos:
                self.count += 1
                path = os.path.join(self.directory, f"{self.count:04d}.eml")
                with open(path + ".tmp", "wb") as f:
                    f.write(b"X-Envelope-To: " + rcpt.encode() + b"\r\n")
                    f.write(envelope.original_content or envelope.content)
                os.rename(path + ".tmp", path)
        return "250 OK"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SmtpSink:
    """An SMTP server on 127.0.0.1:port saving messages into directory."""

    def __init__(self, directory, port=0, reject=None):
        self.directory = directory
        os.makedirs(directory, exist_ok=True)
        self.port = port or free_port()
        self._handler = _SaveHandler(directory, reject)
        self._controller = None

    def start(self):
        self._controller = Controller(self._handler, hostname="127.0.0.1", port=self.port)
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
