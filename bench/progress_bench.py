#!/usr/bin/env python3
"""How fast a programme's progress answers (the promise in docs/ARCHITECTURE.md: "a
programme's progress ... answer[s] in < 100 ms"), measured against a trivial database round trip in the same run.

    bench/progress_bench.py [BUILD_DIR]      (default: build; as root or the postgres user)

Starts a fresh throwaway cluster (scripts/pgcluster start-test) and the daemon, loads a
programme of 500 practices in 10 regions with three years of monthly data (four indicators,
72,000 observations) and the example roadmap, then times, over HTTP:
  - GET /readyz, one trivial indexed query: the floor of a database round trip;
  - GET …/progress and …/progress?by=region from the stored snapshots;
  - GET …/progress/history;
  - the first GET right after the load and right after a late revision of the oldest
    month: answered at once from the stored snapshots (marked stale), never computing;
  - how long the background refresh takes to bring the snapshots up to date after each
    (polling "stale"), and how many months it computed (scaleupd_progress_months_computed_total):
    the revision recomputes the few months that read the oldest month, not every month.
It prints medians and 95th percentiles and their ratio to the floor; it fails (exit 1) when
the median of GET …/progress?by=region is not under 100 ms. Timings are informative, not a
test: the machine is shared.
"""

import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

SOURCE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SLUG = "bench-progress"
SITES, REGIONS, MONTHS = 500, 10, 36
LIMIT_MS = 100.0
RUNS = 60


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Client:
    def __init__(self, port, token):
        self.base = f"http://127.0.0.1:{port}"
        self.token = token

    def call(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base + path, data=data, method=method)
        req.add_header("Authorization", f"Bearer {self.token}")
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=300) as resp:
                return resp.status, resp.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()

    def timed(self, path, runs=RUNS):
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            status, body = self.call("GET", path)
            times.append((time.perf_counter() - start) * 1000.0)
            if status != 200:
                raise SystemExit(f"GET {path}: {status} {body[:300]!r}")
        times.sort()
        return statistics.median(times), times[int(len(times) * 0.95) - 1]


def programme():
    sites = [{"code": "BE", "name": "Country", "level": "country"}]
    for r in range(REGIONS):
        sites.append({"code": f"R{r:02d}", "name": f"Region {r}", "level": "region",
                      "parent": "BE"})
    for s in range(SITES):
        sites.append({"code": f"P{s:03d}", "name": f"Practice {s}", "level": "practice",
                      "parent": f"R{s % REGIONS:02d}", "adopted": "2023-01-01"})
    ind = [("patients_enrolled", "count", "coverage"), ("eligible_population", "count",
                                                         "coverage"),
           ("hba1c_tested_pct", "percentage", None), ("bp_controlled_pct", "percentage", None)]
    indicators = [{"code": c, "name": c, "value_type": t, "period_type": "monthly",
                   **({"dimension": d} if d else {})} for c, t, d in ind]
    for code in ("inst_fee_code", "inst_national_indicators", "inst_nurse_role"):
        indicators.append({"code": code, "name": code, "value_type": "score",
                           "period_type": "quarterly", "dimension": "institutionalisation"})
    return {"slug": SLUG, "name": "Progress benchmark", "time_zone": "Europe/Brussels",
            "sites": sites, "indicators": indicators}


def roadmap():
    with open(os.path.join(SOURCE, "config", "roadmap-icp-be.json"), encoding="utf-8") as f:
        doc = json.load(f)
    doc["programme"] = SLUG
    doc["expansion"]["sites"] = {"baseline": 100, "milestones": [
        {"date": "2025-12-31", "target": 400}, {"date": "2027-12-31", "target": 500}]}
    doc["expansion"]["regions"]["milestones"][0]["target"] = REGIONS
    return doc


def months_back(n):
    today = time.gmtime()
    first = today.tm_year * 12 + today.tm_mon - 1 - n  # n months before this month
    return [f"{(first + i) // 12}-{(first + i) % 12 + 1:02d}" for i in range(n)]


def observations():
    rows = []
    for i, period in enumerate(months_back(MONTHS)):
        for s in range(SITES):
            eligible = 1000 + s
            enrolled = int(eligible * min(0.02 + 0.01 * i + 0.0001 * s, 0.9))
            site = f"P{s:03d}"
            rows.append({"indicator": "patients_enrolled", "site": site, "period": period,
                         "value": enrolled})
            rows.append({"indicator": "eligible_population", "site": site, "period": period,
                         "value": eligible})
            den = max(enrolled // 2, 1)
            for code in ("hba1c_tested_pct", "bp_controlled_pct"):
                num = den * 3 // 4
                rows.append({"indicator": code, "site": site, "period": period,
                             "value": round(100 * num / den, 1), "numerator": num,
                             "denominator": den})
    return rows


def start(build, state):
    subprocess.run([os.path.join(SOURCE, "scripts", "pgcluster"), "start-test", state],
                   check=True, stdout=subprocess.DEVNULL)
    with open(os.path.join(state, "conninfo"), encoding="utf-8") as f:
        conninfo = f.read().strip()
    port = free_port()
    conf = os.path.join(state, "scaleupd.conf")
    with open(conf, "w", encoding="utf-8") as f:
        f.write(f"[server]\nlisten_port = {port}\nrate_limit = 0\nworker_threads = 2\n[log]\nlevel = warning\n")
    log = open(os.path.join(state, "scaleupd.log"), "w", encoding="utf-8")
    daemon = subprocess.Popen([os.path.join(build, "scaleupd"), "-c", conf],
                              env={**os.environ, "SCALEUPD_DATABASE": conninfo},
                              stdout=log, stderr=log)
    token = subprocess.run([os.path.join(build, "scaleupctl"), "--database", conninfo, "token",
                            "create", "--admin"], check=True, capture_output=True,
                           text=True).stdout.strip()
    client = Client(port, token)
    for _ in range(200):
        try:
            if client.call("GET", "/readyz")[0] == 200:
                return daemon, client
        except OSError:
            pass
        time.sleep(0.05)
    raise SystemExit("the daemon did not become ready")


def load(client):
    status, body = client.call("POST", "/api/v1/programmes", programme())
    assert status == 201, body
    status, body = client.call("PUT", f"/api/v1/programmes/{SLUG}/roadmap", roadmap())
    assert status == 201, body
    rows = observations()
    start = time.perf_counter()
    for i in range(0, len(rows), 5000):
        status, body = client.call("POST", f"/api/v1/programmes/{SLUG}/observations",
                                   {"observations": rows[i:i + 5000]})
        assert status == 200 and json.loads(body)["rejected"] == 0, body[:500]
    print(f"loaded {len(rows)} observations ({SITES} sites x {MONTHS} months x 4 indicators) "
          f"in {time.perf_counter() - start:.1f} s")
    return rows


def first_call(client, path):
    start = time.perf_counter()
    status, body = client.call("GET", path)
    assert status == 200, body[:300]
    return (time.perf_counter() - start) * 1000.0, json.loads(body)


def months_computed(client):
    status, body = client.call("GET", "/metrics")
    assert status == 200
    for line in body.decode().splitlines():
        if line.startswith("scaleupd_progress_months_computed_total "):
            return float(line.split()[1])
    return 0.0


def until_fresh(client, path, since):
    """Seconds from `since` (perf_counter) until a read says the snapshots are fresh."""
    while True:
        status, body = client.call("GET", path)
        assert status == 200, body[:300]
        if json.loads(body)["stale"] is False:
            return time.perf_counter() - since
        time.sleep(0.05)


def main():
    build = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(SOURCE, "build"))
    state = tempfile.mkdtemp(prefix="scaleupd-bench-progress-")
    daemon = None
    try:
        daemon, client = start(build, state)
        rows = load(client)
        base = f"/api/v1/programmes/{SLUG}"
        loaded = time.perf_counter()
        cold, doc = first_call(client, base + "/progress")
        print(f"first GET …/progress after the load: {cold:.1f} ms (stale: {doc['stale']})")
        fresh = until_fresh(client, base + "/progress", loaded)
        print(f"the background refresh brought them up to date {fresh:.1f} s after the load "
              f"({months_computed(client):.0f} months computed)")
        floor = client.timed("/readyz")
        print(f"{'GET /readyz (the floor)':44s} median {floor[0]:7.2f} ms  p95 {floor[1]:7.2f} ms")
        results = {}
        for path in ("/progress", "/progress?by=region", "/progress/history"):
            results[path] = client.timed(base + path)
            median, p95 = results[path]
            print(f"{'GET …' + path:44s} median {median:7.2f} ms  p95 {p95:7.2f} ms  "
                  f"= {median / floor[0]:5.1f} x the floor")
        late = dict(rows[0], value=rows[0]["value"] + 1)
        before = months_computed(client)
        status, _ = client.call("POST", base + "/observations", {"observations": [late]})
        assert status == 200
        revised = time.perf_counter()
        recompute, doc = first_call(client, base + "/progress?by=region")
        print(f"first GET after a revision of the oldest month: {recompute:.1f} ms "
              f"(stale: {doc['stale']})")
        fresh = until_fresh(client, base + "/progress", revised)
        print(f"the background refresh took it in {fresh:.1f} s after the revision "
              f"(kick delay 2 s; {months_computed(client) - before:.0f} of {MONTHS} months "
              f"recomputed)")
        median = results["/progress?by=region"][0]
        verdict = "OK" if median < LIMIT_MS else "TOO SLOW"
        print(f"progress by region: median {median:.2f} ms against the limit of {LIMIT_MS:.0f} "
              f"ms: {verdict}")
        return 0 if median < LIMIT_MS else 1
    finally:
        if daemon is not None:
            daemon.terminate()
            daemon.wait(timeout=30)
        subprocess.run([os.path.join(SOURCE, "scripts", "pgcluster"), "stop", state],
                       check=False, stdout=subprocess.DEVNULL)


if __name__ == "__main__":
    sys.exit(main())
