#!/usr/bin/env python3
"""Data of bench/scale.sh: the national programme, its roadmap, its observations and the
load through the API.

  scale_load.py programme             prints the programme document (JSON)
  scale_load.py roadmap               prints its roadmap (the example's, adapted)
  scale_load.py generate DIR          writes each client's JSON bodies to DIR/client-N.jsonl
                                      (one body of BATCH rows a line) and the national scores
                                      to DIR/scores.json; prints one JSON line of counts
  scale_load.py load URL TOKEN DIR    CLIENTS processes POST their files; one JSON line out
  scale_load.py revision              prints a body revising a value of the oldest month

The programme (environment, defaults in brackets): a country NA, REGIONS [20] regions of
PRACTICES/REGIONS practices each (PRACTICES [7000]); the 7 indicators of
/work/shared/examples/programme-icp-be.json (two monthly counts, two monthly percentages,
three quarterly scores) plus 16 monthly percentages: 20 monthly series per practice and
MONTHS [72] months ending with the latest month due today (15 days' grace, as GET …/feeds
counts), i.e. PRACTICES x 20 x MONTHS observations (10.08 million by default), less those of
the late practices, plus the three national scores of each quarter.

The values are deterministic (SEED [20261201]; each practice-month has its own generator, so
the data do not depend on CLIENTS): a practice has a list size, a prevalence, an adoption
date (a tenth are pilots adopted in 2023-24, the others from January 2025 to the last months)
and for each percentage a baseline rate and the lift the package brings after adoption;
eligible_population drifts slowly, patients_enrolled is 0 before adoption and then ramps
towards a ceiling, each percentage has a denominator (the practice's diabetic or hypertensive
patients) and a numerator drawn around its rate. In the latest month LATE_SHARE [4 %] of the
practices send nothing and PARTIAL_SHARE [2 %] only half their indicators, so the feeds view
has late and partial practices.

The load is the way a national feed arrives: CLIENTS [4] data teams, each owning the
practices of every CLIENTS-th region, each POSTing its months in order, every batch of BATCH
[1000] rows all indicators of a slice of its practices for one month, on one keep-alive
connection; the files are written before the load so that generating them is not timed.
"""

import datetime
import http.client
import json
import math
import multiprocessing
import os
import random
import sys
import time
import urllib.parse

EXAMPLES = os.environ.get("EXAMPLES", "/work/shared/examples")
SLUG = os.environ.get("SLUG", "national-scale")
PRACTICES = int(os.environ.get("PRACTICES", "7000"))
REGIONS = int(os.environ.get("REGIONS", "20"))
MONTHS = int(os.environ.get("MONTHS", "72"))
BATCH = int(os.environ.get("BATCH", "1000"))
CLIENTS = int(os.environ.get("CLIENTS", "4"))
SEED = int(os.environ.get("SEED", "20261201"))
GRACE_DAYS = 15
LATE_SHARE = float(os.environ.get("LATE_SHARE", "0.04"))
PARTIAL_SHARE = float(os.environ.get("PARTIAL_SHARE", "0.02"))
COUNTRY = "NA"

# The 16 monthly percentages added to the example's: (code, name, population, rate).
EXTRA = [
    ("hba1c_controlled_pct", "Diabetes patients with HbA1c under 7 %", "dm"),
    ("foot_exam_pct", "Diabetes patients with a foot examination this year", "dm"),
    ("retinal_screening_pct", "Diabetes patients with retinal screening in two years", "dm"),
    ("egfr_tested_pct", "Patients with an eGFR in the last 12 months", "all"),
    ("uacr_tested_pct", "Diabetes patients with a urine albumin test this year", "dm"),
    ("statin_prescribed_pct", "Patients over 40 prescribed a statin", "all"),
    ("ldl_controlled_pct", "Patients with LDL cholesterol under target", "all"),
    ("bp_measured_pct", "Hypertension patients with a blood pressure this half-year", "htn"),
    ("bmi_recorded_pct", "Patients with a BMI recorded this year", "all"),
    ("smoking_recorded_pct", "Patients with a smoking status recorded", "all"),
    ("flu_vaccinated_pct", "Patients vaccinated against influenza this season", "all"),
    ("medication_review_pct", "Patients with a medication review this year", "all"),
    ("care_plan_pct", "Enrolled patients with a written care plan", "all"),
    ("self_management_pct", "Patients referred to self-management education", "all"),
    ("depression_screened_pct", "Patients screened for depression this year", "all"),
    ("lifestyle_advice_pct", "Patients given lifestyle advice this year", "all"),
]
# The example's two percentages: their populations.
EXAMPLE_PCT = [("hba1c_tested_pct", "dm"), ("bp_controlled_pct", "htn")]
PERCENTAGES = EXAMPLE_PCT + [(code, pop) for code, _, pop in EXTRA]
SCORES = ["inst_fee_code", "inst_national_indicators", "inst_nurse_role"]


def month_index(year, month):
    return year * 12 + month - 1


def label(m):
    return f"{m // 12}-{m % 12 + 1:02d}"


def last_due_month():
    """The latest month due today with the feeds' default grace (services/feeds.c), in the
    programme's time zone; LAST_MONTH=YYYY-MM overrides it."""
    if os.environ.get("LAST_MONTH"):
        y, m = os.environ["LAST_MONTH"].split("-")
        return month_index(int(y), int(m))
    try:
        from zoneinfo import ZoneInfo
        today = datetime.datetime.now(ZoneInfo("Europe/Brussels")).date()
    except Exception:  # no tz database: UTC is off by a day at most
        today = datetime.datetime.now(datetime.timezone.utc).date()
    day = today - datetime.timedelta(days=GRACE_DAYS + 1)
    m = month_index(day.year, day.month)
    end = datetime.date((m + 1) // 12, (m + 1) % 12 + 1, 1) - datetime.timedelta(days=1)
    if end + datetime.timedelta(days=GRACE_DAYS) >= today:
        m -= 1
    return m


LAST = last_due_month()
FIRST = LAST - MONTHS + 1
PER_REGION = math.ceil(PRACTICES / REGIONS)


def region_code(r):
    return f"NA-R{r + 1:02d}"


def practice_region(s):
    return s // PER_REGION


def practice_code(s):
    return f"{region_code(practice_region(s))}-GP{s % PER_REGION + 1:04d}"


class Practice:
    """The fixed traits of practice s."""

    def __init__(self, s):
        rng = random.Random(f"{SEED}:practice:{s}")
        self.list_size = rng.randint(1200, 9000)
        self.prevalence = rng.uniform(0.09, 0.16)
        self.dm_share = rng.uniform(0.30, 0.45)
        self.htn_share = rng.uniform(0.55, 0.75)
        if rng.random() < 0.10:  # pilots
            self.adopted = rng.randint(month_index(2023, 1), month_index(2024, 12))
        else:
            self.adopted = rng.randint(month_index(2025, 1), max(LAST - 2, month_index(2025, 1)))
        self.ceiling = rng.uniform(0.25, 0.75)
        self.ramp = rng.uniform(3.0, 12.0)
        self.rates = [(rng.uniform(0.30, 0.85), rng.uniform(0.02, 0.15)) for _ in PERCENTAGES]
        draw = rng.random()
        self.late = draw < LATE_SHARE
        self.partial = LATE_SHARE <= draw < LATE_SHARE + PARTIAL_SHARE


def practice_month(p, s, m):
    """The 20 observations of practice p (index s) for month m, as JSON text fragments."""
    rng = random.Random(f"{SEED}:{s}:{m}")
    site, period = practice_code(s), label(m)
    since = m - p.adopted
    drift = 1.0 + 0.0015 * (m - FIRST)
    eligible = max(20, round(p.list_size * p.prevalence * drift * rng.uniform(0.99, 1.01)))
    enrolled = 0
    uptake = 0.0
    if since >= 0:
        uptake = 1.0 - math.exp(-(since + 1) / p.ramp)
        enrolled = min(eligible, round(eligible * p.ceiling * uptake * rng.uniform(0.97, 1.03)))
    head = f'"site":"{site}","period":"{period}"'
    rows = [f'{{"indicator":"patients_enrolled",{head},"value":{enrolled}}}',
            f'{{"indicator":"eligible_population",{head},"value":{eligible}}}']
    populations = {"dm": max(5, round(eligible * p.dm_share)),
                   "htn": max(5, round(eligible * p.htn_share)), "all": eligible}
    for (code, pop), (base, lift) in zip(PERCENTAGES, p.rates):
        den = max(5, round(populations[pop] * rng.uniform(0.98, 1.0)))
        rate = min(0.98, base + lift * uptake + rng.gauss(0.0, 0.02))
        num = max(0, min(den, round(den * rate)))
        rows.append(f'{{"indicator":"{code}",{head},"value":{round(100.0 * num / den, 1)},'
                    f'"numerator":{num},"denominator":{den}}}')
    if m == LAST and p.late:
        return []
    if m == LAST and p.partial:
        return rows[::2]
    return rows


def client_practices(c):
    return [s for s in range(PRACTICES) if practice_region(s) % CLIENTS == c]


def generate_client(c, directory):
    """Writes client c's bodies, month by month; returns its row count."""
    practices = [(s, Practice(s)) for s in client_practices(c)]
    total = 0
    with open(os.path.join(directory, f"client-{c}.jsonl"), "w", encoding="utf-8") as f:
        for m in range(FIRST, LAST + 1):
            rows = []
            for s, p in practices:
                rows.extend(practice_month(p, s, m))
            for k in range(0, len(rows), BATCH):
                f.write('{"observations":[' + ",".join(rows[k:k + BATCH]) + "]}\n")
            total += len(rows)
    return total


def scores():
    """The national institutionalisation scores, one a quarter: steps from 0 towards 4."""
    rows = []
    first_q, last_q = FIRST // 3, (LAST + 1) // 3 - 1  # the quarters complete by LAST
    for i, code in enumerate(SCORES):
        rng = random.Random(f"{SEED}:score:{code}")
        level = 0
        for q in range(first_q, last_q + 1):
            if q >= month_index(2024, 1) // 3 + i and level < 4 and rng.random() < 0.3:
                level += 1
            rows.append({"indicator": code, "site": COUNTRY,
                         "period": f"{q // 4}Q{q % 4 + 1}", "value": level})
    return {"observations": rows}


def programme():
    with open(os.path.join(EXAMPLES, "programme-icp-be.json"), encoding="utf-8") as f:
        example = json.load(f)
    sites = [{"code": COUNTRY, "name": "Nation", "level": "country"}]
    sites += [{"code": region_code(r), "name": f"Region {r + 1}", "level": "region",
               "parent": COUNTRY} for r in range(REGIONS)]
    for s in range(PRACTICES):
        p = Practice(s)
        sites.append({"code": practice_code(s), "name": f"Practice {s + 1}",
                      "level": "practice", "parent": region_code(practice_region(s)),
                      "adopted": label(p.adopted) + "-01"})
    indicators = list(example["indicators"])
    indicators += [{"code": code, "name": name, "unit": "%", "value_type": "percentage",
                    "period_type": "monthly", "direction": "up", "aggregate": "weighted"}
                   for code, name, _ in EXTRA]
    return {"slug": SLUG, "name": "National scale-up of the integrated care package",
            "time_zone": example["time_zone"], "sites": sites, "indicators": indicators}


def roadmap():
    with open(os.path.join(EXAMPLES, "roadmap-icp-be.json"), encoding="utf-8") as f:
        doc = json.load(f)
    doc["programme"] = SLUG
    doc["label"] = "National roadmap 2025-2027"
    doc["expansion"]["sites"] = {"baseline": max(1, PRACTICES // 10), "milestones": [
        {"date": "2025-12-31", "target": PRACTICES // 2},
        {"date": "2027-12-31", "target": PRACTICES}]}
    doc["expansion"]["regions"] = {"baseline": max(1, REGIONS // 4), "milestones": [
        {"date": "2026-06-30", "target": REGIONS}]}
    return doc


def revision():
    """eligible_population of the first practice in the oldest month, corrected (+3)."""
    rows = practice_month(Practice(0), 0, FIRST)
    row = json.loads(rows[1])
    row["value"] += 3
    return {"observations": [row]}


def generate(directory):
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(min(CLIENTS, os.cpu_count() or 1)) as pool:
        counts = pool.starmap(generate_client, [(c, directory) for c in range(CLIENTS)])
    doc = scores()
    with open(os.path.join(directory, "scores.json"), "w", encoding="utf-8") as f:
        json.dump(doc, f)
    late = sum(1 for s in range(PRACTICES) if Practice(s).late)
    partial = sum(1 for s in range(PRACTICES) if Practice(s).partial)
    print(json.dumps({"rows": sum(counts), "per_client": counts,
                      "scores": len(doc["observations"]), "first": label(FIRST),
                      "last": label(LAST), "late_practices": late,
                      "partial_practices": partial}))


def post(conn, path, token, body):
    conn.request("POST", path, body, {"Authorization": f"Bearer {token}",
                                      "Content-Type": "application/json"})
    resp = conn.getresponse()
    return resp.status, resp.read()


def client(url, token, path, filename, start, results):
    u = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=600)
    totals = {"requests": 0, "imported": 0, "updated": 0, "unchanged": 0, "rejected": 0,
              "errors": 0}
    with open(filename, "rb") as f:
        start.wait()
        for body in f:
            status, data = post(conn, path, token, body.rstrip(b"\n"))
            totals["requests"] += 1
            if status != 200:
                totals["errors"] += 1
                sys.stderr.write(f"scale_load: answer {status}: {data[:300]!r}\n")
                continue
            report = json.loads(data)
            for key in ("imported", "updated", "unchanged", "rejected"):
                totals[key] += report.get(key, 0)
            if report.get("rejected") and totals["rejected"] == report["rejected"]:
                sys.stderr.write(f"scale_load: rejected rows: {data[:500]!r}\n")
    results.put(totals)


def load(url, token, directory):
    path = f"/api/v1/programmes/{SLUG}/observations"
    ctx = multiprocessing.get_context("fork")
    start, results = ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=client, args=(url, token, path,
                                              os.path.join(directory, f"client-{c}.jsonl"),
                                              start, results)) for c in range(CLIENTS)]
    for p in procs:
        p.start()
    time.sleep(0.5)
    t0 = time.perf_counter()
    start.set()
    totals = [results.get() for _ in procs]
    elapsed = time.perf_counter() - t0
    for p in procs:
        p.join()
    sums = {k: sum(t[k] for t in totals) for k in totals[0]}
    rows = sums["imported"] + sums["updated"] + sums["unchanged"]
    print(json.dumps({"clients": CLIENTS, "batch": BATCH, "rows": rows, "seconds": elapsed,
                      "rows_per_second": rows / elapsed, **sums}))


def main():
    args = sys.argv[1:]
    if args == ["programme"]:
        json.dump(programme(), sys.stdout)
    elif args == ["roadmap"]:
        json.dump(roadmap(), sys.stdout)
    elif args == ["revision"]:
        json.dump(revision(), sys.stdout)
    elif len(args) == 2 and args[0] == "generate":
        generate(args[1])
    elif len(args) == 4 and args[0] == "load":
        load(*args[1:])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
