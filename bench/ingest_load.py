#!/usr/bin/env python3
"""Load generator of bench/ingest.sh: the synthetic programme and its observations, N
concurrent clients POSTing JSON batches, and a probe timing 10-row POSTs meanwhile.

  ingest_load.py programme            prints the programme document (JSON)
  ingest_load.py load URL TOKEN SLUG  runs the load and prints one JSON line of results

The synthetic programme: SITES practices in REGIONS regions, INDICATORS monthly indicators
(60 % counts, 40 % percentages with numerator and denominator) and MONTHS months of data:
500 × 10 × 36 = 180,000 observations, sent as batches of BATCH rows by CLIENTS processes,
each on one keep-alive connection.

ORDER=teams (the default) is how feeds arrive: each client is one data team that owns a share
of the practices (every CLIENTS-th) and pushes its months in order, all indicators of a slice
of its practices per batch. ORDER=interleaved deals one common month-ordered list of batches
out to the clients in turn, so a practice's next month, sent by another client, often
overtakes its previous one: rows that arrive before an earlier period of their series cannot
take the COPY path of new periods and are looked up (see daemon/storage/observations_write.c).
"""

import http.client
import json
import multiprocessing
import os
import sys
import time
import urllib.parse

SITES = int(os.environ.get("SITES", "500"))
REGIONS = 5
INDICATORS = int(os.environ.get("INDICATORS", "10"))
MONTHS = int(os.environ.get("MONTHS", "36"))
FIRST_YEAR = 2023
BATCH = int(os.environ.get("BATCH", "1000"))
CLIENTS = int(os.environ.get("CLIENTS", "4"))
ORDER = os.environ.get("ORDER", "teams")
PASSES = os.environ.get("PASSES", "insert,update").split(",")
PROBE_ROWS = 10
PROBE_PAUSE = 0.02  # seconds between probes: steady, not a flood


def site_code(s):
    return f"SY-R{s % REGIONS}-GP{s:04d}"


def indicator_code(i):
    return f"ind{i:02d}_{'count' if is_count(i) else 'pct'}"


def is_count(i):
    return i % 5 < 3


def programme():
    sites = [{"code": "SY", "name": "Synthetia", "level": "country"}]
    sites += [{"code": f"SY-R{r}", "name": f"Region {r}", "level": "region", "parent": "SY"}
              for r in range(REGIONS)]
    sites += [{"code": site_code(s), "name": f"Practice {s}", "level": "practice",
               "parent": f"SY-R{s % REGIONS}", "adopted": "2022-01-01"} for s in range(SITES)]
    indicators = [{"code": indicator_code(i), "name": f"Indicator {i}",
                   "value_type": "count" if is_count(i) else "percentage",
                   "period_type": "monthly", "direction": "up",
                   "aggregate": "sum" if is_count(i) else "weighted"}
                  for i in range(INDICATORS)]
    return {"slug": "bench", "name": "Synthetic benchmark programme", "time_zone": "UTC",
            "sites": sites, "indicators": indicators}


def period(m):
    return f"{FIRST_YEAR + m // 12}-{m % 12 + 1:02d}"


def row(i, s, m, bump):
    base = (i * 7919 + s * 104729 + m * 1299709) % 1000
    if is_count(i):
        return {"indicator": indicator_code(i), "site": site_code(s), "period": period(m),
                "value": base + bump}
    den = 100 + base
    num = (den * (40 + (base + bump) % 50)) // 100
    return {"indicator": indicator_code(i), "site": site_code(s), "period": period(m),
            "value": round(100.0 * num / den, 4), "numerator": num, "denominator": den}


def bodies_of(rows):
    return [json.dumps({"observations": rows[k:k + BATCH]}).encode()
            for k in range(0, len(rows), BATCH)]


def shares(bump):
    """Every observation once, as each client's list of JSON bodies of BATCH rows."""
    if ORDER == "interleaved":
        everything = bodies_of([row(i, s, m, bump) for m in range(MONTHS) for s in range(SITES)
                                for i in range(INDICATORS)])
        return [everything[c::CLIENTS] for c in range(CLIENTS)]
    return [bodies_of([row(i, s, m, bump) for m in range(MONTHS)
                       for s in range(c, SITES, CLIENTS) for i in range(INDICATORS)])
            for c in range(CLIENTS)]


def post(conn, path, token, body):
    conn.request("POST", path, body, {"Authorization": f"Bearer {token}",
                                      "Content-Type": "application/json"})
    resp = conn.getresponse()
    data = resp.read()
    return resp.status, data


def client(url, token, path, bodies, start, results):
    """Sends bodies[k] for k = its share of the queue; reports rows per outcome."""
    u = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=300)
    start.wait()
    totals = {"requests": 0, "imported": 0, "updated": 0, "unchanged": 0, "rejected": 0,
              "errors": 0}
    for body in bodies:
        status, data = post(conn, path, token, body)
        totals["requests"] += 1
        if status != 200:
            totals["errors"] += 1
            sys.stderr.write(f"ingest_load: answer {status}: {data[:200]!r}\n")
            continue
        report = json.loads(data)
        for key in ("imported", "updated", "unchanged", "rejected"):
            totals[key] += report[key]
    results.put(totals)


def probe(url, token, path, done, results):
    """10-row POSTs, one at a time, until done; reports each latency in seconds."""
    u = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=300)
    latencies, n = [], 0
    while not done.is_set():
        n += 1
        # ten keys of their own (the month before the data starts), a new value each time:
        # every probe after the first updates with revision history
        rows = [{"indicator": indicator_code(0), "site": site_code(s), "period": "2022-12",
                 "value": n} for s in range(PROBE_ROWS)]
        body = json.dumps({"observations": rows}).encode()
        t0 = time.perf_counter()
        status, _ = post(conn, path, token, body)
        latencies.append(time.perf_counter() - t0)
        if status != 200:
            sys.stderr.write(f"ingest_load: probe answer {status}\n")
        time.sleep(PROBE_PAUSE)
    results.put(latencies)


def percentile(values, p):
    values = sorted(values)
    if not values:
        return float("nan")
    k = min(len(values) - 1, max(0, int(round(p / 100.0 * len(values) + 0.5)) - 1))
    return values[k]


def run_pass(url, token, path, client_bodies):
    """Each client's bodies through its own process, with the probe running; returns the
    figures."""
    ctx = multiprocessing.get_context("fork")
    start, done = ctx.Event(), ctx.Event()
    results, probe_results = ctx.Queue(), ctx.Queue()
    procs = [ctx.Process(target=client, args=(url, token, path, share, start, results))
             for share in client_bodies]
    prober = ctx.Process(target=probe, args=(url, token, path, done, probe_results))
    for p in procs:
        p.start()
    time.sleep(0.5)  # let every client connect
    prober.start()
    time.sleep(0.2)
    t0 = time.perf_counter()
    start.set()
    totals = [results.get() for _ in procs]
    elapsed = time.perf_counter() - t0
    done.set()
    latencies = probe_results.get()
    for p in procs + [prober]:
        p.join()
    sums = {k: sum(t[k] for t in totals) for k in totals[0]}
    rows = sums["imported"] + sums["updated"] + sums["unchanged"]
    return {"rows": rows, "seconds": elapsed, "rows_per_second": rows / elapsed,
            "probe_count": len(latencies), "probe_p50_ms": 1000 * percentile(latencies, 50),
            "probe_p99_ms": 1000 * percentile(latencies, 99),
            "probe_max_ms": 1000 * max(latencies) if latencies else float("nan"), **sums}


def main():
    if len(sys.argv) == 2 and sys.argv[1] == "programme":
        json.dump(programme(), sys.stdout)
        return
    if len(sys.argv) != 5 or sys.argv[1] != "load":
        sys.exit(__doc__)
    url, token, slug = sys.argv[2:5]
    path = f"/api/v1/programmes/{slug}/observations"
    out = {"clients": CLIENTS, "batch": BATCH, "order": ORDER}
    for name in PASSES:
        out[name] = run_pass(url, token, path, shares(0 if name == "insert" else 1))
    print(json.dumps(out))


if __name__ == "__main__":
    main()
