"""The clients of bench/hostile.sh (run by it; each subcommand prints one JSON line):

  brackets URL TOKEN SLUG BYTES TIMEOUT  POST BYTES of nested brackets as observations;
                                          seconds to the answer (or the timeout) and status
  big URL TOKEN BYTES                    POST /api/v1/programmes with Content-Length BYTES and
                                          the whole body, no Expect; the answer as received
  probe URL TOKEN PATH N RATE            N GETs of PATH, each on a new connection, RATE a
                                          second (a normal client); p50/p99/max in ms
  slow URL N SECONDS                     N connections that trickle a header byte a second,
                                          reopened when the daemon cuts them; what it said
"""

import http.client
import json
import selectors
import socket
import statistics
import sys
import threading
import time
import urllib.parse


def host_port(url):
    parts = urllib.parse.urlsplit(url)
    return parts.hostname, parts.port


def brackets(url, token, slug, size, timeout):
    half = size // 2
    body = b"[" * half + b"]" * half
    host, port = host_port(url)
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    started = time.monotonic()
    try:
        conn.request("POST", f"/api/v1/programmes/{slug}/observations", body=body,
                     headers={"Authorization": f"Bearer {token}",
                              "Content-Type": "application/json"})
        resp = conn.getresponse()
        text = resp.read()[:200].decode("utf-8", "replace")
        status = resp.status
    except (socket.timeout, TimeoutError):
        status, text = None, f"no answer within {timeout} s"
    finally:
        conn.close()
    return {"bytes": len(body), "seconds": time.monotonic() - started, "status": status,
            "body": text}


def big(url, token, size):
    host, port = host_port(url)
    sock = socket.create_connection((host, port), timeout=60)
    head = (f"POST /api/v1/programmes HTTP/1.1\r\nHost: {host}\r\n"
            f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {size}\r\n\r\n").encode()
    sent = [0]

    def send():
        try:
            sock.sendall(head)
            chunk = b"x" * 65536
            while sent[0] < size:
                sock.sendall(chunk[:min(len(chunk), size - sent[0])])
                sent[0] += min(len(chunk), size - sent[0])
        except OSError as e:
            sent.append(str(e))
    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    try:
        resp = http.client.HTTPResponse(sock)
        resp.begin()
        answer = {"status": resp.status, "content_type": resp.getheader("Content-Type"),
                  "body": resp.read().decode("utf-8", "replace")}
    except (OSError, http.client.HTTPException) as e:
        answer = {"status": None, "error": repr(e)}
    sender.join(60)
    sock.close()
    answer["body_bytes_sent"] = sent[0]
    return answer


def probe(url, token, path, count, rate):
    host, port = host_port(url)
    times, statuses = [], {}
    start = time.monotonic()
    for i in range(count):
        wait = start + i / rate - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        t0 = time.monotonic()
        try:
            conn = http.client.HTTPConnection(host, port, timeout=30)
            conn.request("GET", path, headers={"Authorization": f"Bearer {token}"})
            resp = conn.getresponse()
            resp.read()
            status = resp.status
            conn.close()
        except (OSError, http.client.HTTPException) as e:
            status = type(e).__name__
        times.append((time.monotonic() - t0) * 1000)
        statuses[str(status)] = statuses.get(str(status), 0) + 1
    times.sort()
    return {"count": count, "p50_ms": statistics.median(times),
            "p99_ms": times[max(0, int(len(times) * 0.99) - 1)], "max_ms": times[-1],
            "statuses": statuses}


def slow(url, count, seconds):
    """count connections, each sending a header byte a second; one poll loop for all."""
    host, port = host_port(url)
    sel = selectors.DefaultSelector()
    stats = {"opened": 0, "max_open": 0, "connect_errors": 0, "answers": {}}
    stop = time.monotonic() + seconds

    def open_one():
        sock = socket.socket()
        sock.setblocking(False)
        try:
            sock.connect_ex((host, port))
            sel.register(sock, selectors.EVENT_READ, [b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: "])
        except OSError:
            stats["connect_errors"] += 1
            sock.close()
            return
        stats["opened"] += 1

    for i in range(count):  # in steps, within the listen backlog
        open_one()
        if i % 100 == 99:
            time.sleep(0.05)
    next_tick = time.monotonic()
    while time.monotonic() < stop:
        now = time.monotonic()
        if now >= next_tick:  # every second, one more byte on every connection
            for key in list(sel.get_map().values()):
                try:
                    key.fileobj.send(key.data[0] if key.data else b"a")
                    key.data.clear()
                except (BlockingIOError, InterruptedError):
                    pass
                except OSError:
                    pass  # answered and closed: the read side says so
            stats["max_open"] = max(stats["max_open"], len(sel.get_map()))
            next_tick = now + 1.0
        for key, _ in sel.select(max(0.0, min(next_tick, stop) - time.monotonic())):
            sock = key.fileobj
            try:
                answer = sock.recv(64)
            except OSError:
                answer = b"(reset)"
            name = answer[9:12].decode("ascii", "replace") if answer.startswith(b"HTTP/") \
                else (answer.decode("ascii", "replace") or "(closed)")
            stats["answers"][name] = stats["answers"].get(name, 0) + 1
            sel.unregister(sock)
            sock.close()
            open_one()
    for key in list(sel.get_map().values()):
        key.fileobj.close()
    return stats


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "brackets":
        out = brackets(args[0], args[1], args[2], int(args[3]), float(args[4]))
    elif cmd == "big":
        out = big(args[0], args[1], int(args[2]))
    elif cmd == "probe":
        out = probe(args[0], args[1], args[2], int(args[3]), float(args[4]))
    elif cmd == "slow":
        out = slow(args[0], int(args[1]), float(args[2]))
    else:
        raise SystemExit(__doc__)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
