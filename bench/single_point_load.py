#!/usr/bin/env python3
"""Load generator of bench/single_point.sh: CONNECTIONS keep-alive connections, each POSTing
1-observation JSON batches to POST /api/v1/programmes/{slug}/observations one after the other
(the next only when the daemon has answered, that is after its commit).

  single_point_load.py warmup URL TOKEN SLUG  stores months 0 and 1 of every series (not timed)
  single_point_load.py load URL TOKEN SLUG    the timed run, DURATION seconds; prints one JSON
                                              line of results

The programme is bench/ingest_load.py's (SITES practices, INDICATORS monthly indicators).
Connection c owns the sites s with s % CONNECTIONS == c and every indicator of them, so no two
connections write the same key. Months count backwards from last month (month 0), so that
the warm-up leaves no site late and the evaluator sees a programme that reports on time.
MODE=new (the default): request n of a connection stores a new key, series n % own, month
FIRST_MONTH + n // own, an older month (the script moves FIRST_MONTH on between runs, so
each run stores new keys). MODE=update: every request changes the value of one of the keys
of month 0 (a revision is written and the latest point of a series changes).

One asyncio process drives every connection (a raw HTTP/1.1 client on asyncio.Protocol, so
the client costs tens of microseconds per request); its CPU time is reported so that a
client-bound run can be recognised. CPU_PIDS="daemon=PID postgres=PID" (the postmaster) also
reports the CPU seconds those processes (and the postmaster's children) used in the timed run.
"""

import asyncio
import json
import os
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ingest_load  # noqa: E402  (the synthetic programme: site and indicator codes)

CONNECTIONS = int(os.environ.get("CONNECTIONS", "32"))
DURATION = float(os.environ.get("DURATION", "10"))
MODE = os.environ.get("MODE", "new")
FIRST_MONTH = int(os.environ.get("FIRST_MONTH", "2"))  # of the timed run (MODE=new)
WARM_MONTHS = 2


def period(k):
    """Month k before last month, as YYYY-MM."""
    today = time.gmtime()
    m = today.tm_year * 12 + today.tm_mon - 1 - 1 - k
    return f"{m // 12}-{m % 12 + 1:02d}"


def row(i, s, k, bump):
    """bench/ingest_load.py's row of indicator i, site s, with its month k and value bump."""
    r = ingest_load.row(i, s, 0, bump + k)
    r["period"] = period(k)
    return r


class HttpConnection(asyncio.Protocol):
    """One keep-alive connection; request() sends a request and waits for its whole answer."""

    def __init__(self):
        self.transport = None
        self.buffer = bytearray()
        self.waiter = None
        self.closed = None

    def connection_made(self, transport):
        self.transport = transport

    def connection_lost(self, exc):
        self.closed = exc or ConnectionError("the daemon closed the connection")
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(self.closed)

    def data_received(self, data):
        self.buffer += data
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0 or self.waiter is None or self.waiter.done():
            return
        head = bytes(self.buffer[:end]).decode("latin-1").split("\r\n")
        length = None
        for line in head[1:]:
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-length":
                length = int(value)
        if length is None:
            self.waiter.set_exception(ValueError("an answer without Content-Length"))
            return
        if len(self.buffer) < end + 4 + length:
            return
        body = bytes(self.buffer[end + 4:end + 4 + length])
        del self.buffer[:end + 4 + length]
        self.waiter.set_result((int(head[0].split()[1]), body))

    async def request(self, data):
        if self.closed is not None:
            raise self.closed
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(data)
        return await self.waiter


def request_bytes(host, path, token, obs):
    body = json.dumps({"observations": [obs]}, separators=(",", ":")).encode()
    return (f"POST {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body


def owned_series(c):
    return [(i, s) for s in range(c, ingest_load.SITES, CONNECTIONS)
            for i in range(ingest_load.INDICATORS)]


async def client(c, url, token, path, deadline_box, start, counts, latencies):
    """counts["warm"] and counts["timed"] add up the answers of the warm-up and the timed run."""
    u = urllib.parse.urlsplit(url)
    loop = asyncio.get_running_loop()
    _, conn = await loop.create_connection(HttpConnection, u.hostname, u.port)
    host = f"{u.hostname}:{u.port}"
    own = owned_series(c)

    async def send(obs, timed):
        t0 = time.perf_counter()
        status, body = await conn.request(request_bytes(host, path, token, obs))
        if timed:
            latencies.append(time.perf_counter() - t0)
        totals = counts["timed" if timed else "warm"]
        totals["requests"] += 1
        if status != 200:
            totals["errors"] += 1
            if totals["errors"] <= 5:
                sys.stderr.write(f"single_point_load: answer {status}: {body[:200]!r}\n")
            return
        report = json.loads(body)
        for key in ("imported", "updated", "unchanged", "rejected"):
            totals[key] += report[key]

    if start is None:  # the warm-up
        for k in range(WARM_MONTHS):
            for i, s in own:
                await send(row(i, s, k, 0), False)
        conn.transport.close()
        return
    await start.wait()
    n = 0
    while time.perf_counter() < deadline_box[0]:
        i, s = own[n % len(own)]
        if MODE == "new":
            await send(row(i, s, FIRST_MONTH + n // len(own), 0), True)
        else:  # a changed value of a key the warm-up stored
            await send(row(i, s, 0, 1 + n // len(own)), True)
        n += 1
    counts["last"] = max(counts["last"], time.perf_counter())
    conn.transport.close()


def process_cpu(pid):
    """User + system seconds of a process, with those of its exited children; 0 if gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return sum(int(x) for x in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def cpu_snapshot():
    """{name: {pid: seconds}} for CPU_PIDS; a postmaster's share includes its children."""
    snap = {}
    for spec in os.environ.get("CPU_PIDS", "").split():
        name, pid = spec.split("=")
        pids = [pid]
        if name == "postgres":
            for d in os.listdir("/proc"):
                try:
                    with open(f"/proc/{d}/stat") as f:
                        if f.read().rsplit(")", 1)[1].split()[1] == pid:
                            pids.append(d)
                except (OSError, IndexError):
                    pass
        snap[name] = {p: process_cpu(p) for p in pids}
    return snap


def cpu_used(before, after):
    return {name: round(sum(s - before.get(name, {}).get(p, 0.0) for p, s in procs.items()), 2)
            for name, procs in after.items()}


def percentile(values, p):
    values = sorted(values)
    if not values:
        return float("nan")
    k = min(len(values) - 1, max(0, int(round(p / 100.0 * len(values) + 0.5)) - 1))
    return values[k]


async def run(url, token, slug):
    path = f"/api/v1/programmes/{slug}/observations"
    start = asyncio.Event()
    deadline_box = [float("inf")]
    zero = ("requests", "imported", "updated", "unchanged", "rejected", "errors")
    counts = {"warm": dict.fromkeys(zero, 0), "timed": dict.fromkeys(zero, 0), "last": 0.0}
    totals = counts["timed"]
    latencies = []
    tasks = [asyncio.create_task(client(c, url, token, path, deadline_box, start, counts,
                                        latencies)) for c in range(CONNECTIONS)]
    await asyncio.sleep(0.2)  # every connection made
    for t in tasks:
        if t.done() and t.exception() is not None:
            raise t.exception()
    procs0 = cpu_snapshot()
    cpu0 = time.process_time()
    t0 = time.perf_counter()
    deadline_box[0] = t0 + DURATION
    start.set()
    await asyncio.gather(*tasks)
    elapsed = counts["last"] - t0
    cpu = time.process_time() - cpu0
    used = cpu_used(procs0, cpu_snapshot())
    return {"connections": CONNECTIONS, "mode": MODE, "requests": totals["requests"],
            "seconds": elapsed,
            "requests_per_second": totals["requests"] / elapsed,
            "p50_ms": 1000 * percentile(latencies, 50), "p99_ms": 1000 * percentile(latencies, 99),
            "max_ms": 1000 * max(latencies) if latencies else float("nan"),
            "client_cpu": cpu, "cpu": used,
            **{k: totals[k] for k in ("imported", "updated", "unchanged", "rejected", "errors")}}


async def warmup(url, token, slug):
    path = f"/api/v1/programmes/{slug}/observations"
    zero = ("requests", "imported", "updated", "unchanged", "rejected", "errors")
    counts = {"warm": dict.fromkeys(zero, 0), "timed": dict.fromkeys(zero, 0), "last": 0.0}
    t0 = time.perf_counter()
    await asyncio.gather(*(client(c, url, token, path, None, None, counts, [])
                           for c in range(CONNECTIONS)))
    return {"seconds": time.perf_counter() - t0, **counts["warm"]}


def main():
    if len(sys.argv) != 5 or sys.argv[1] not in ("warmup", "load"):
        sys.exit(__doc__)
    url, token, slug = sys.argv[2:5]
    what = warmup if sys.argv[1] == "warmup" else run
    print(json.dumps(asyncio.run(what(url, token, slug))))


if __name__ == "__main__":
    main()
