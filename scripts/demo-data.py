#!/usr/bin/env python3
"""Generates the demo: the example programme scaled up to forty practices in three regions,
a roadmap at that scale, and a realistic two-year monthly history that ends with the last
complete month before today.

    scripts/demo-data.py OUTDIR [--today YYYY-MM-DD]

writes OUTDIR/programme.json (the example's sites, codes and indicators, plus more
practices), OUTDIR/roadmap.json (the example roadmap, coverage and institutionalisation
unchanged, expansion targets scaled to forty practices) and OUTDIR/observations-NNN.json
(batches for POST /api/v1/programmes/{slug}/observations).

The story the figures tell: Flanders scales up early and is on track; Brussels follows;
Wallonia adopts late, enrols slowly and four of its practices stop reporting, so it is the
region that lags most. Nationally, the fee code for the package is stalled at 2 of 4 for
several quarters (the comments say why), while the data-system item progresses.

Deterministic: a fixed seed, and --today fixes the end of the history (default: today).
Python standard library only.
"""

import argparse
import copy
import datetime
import json
import math
import os
import random

SEED = 20250101
BATCH_ROWS = 2000
BASELINE = datetime.date(2025, 1, 1)

# The example programme as config/ ships it (the sample the README's run command loads).
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "config",
                       "programme-icp-be.json"), encoding="utf-8") as _f:
    EXAMPLE_PROGRAMME = json.load(_f)

# How each region scales up: practices, months over which they adopt (counted from the
# baseline, 0 = January 2025), the share of eligible patients enrolment tends to, and how
# many months it takes to get about two thirds of the way there.
REGIONS = {
    "BE-VLG": {"practices": 18, "adopt": (1, 15), "ceiling": 0.50, "months": 13,
               "prefix": "Huisartsenpraktijk", "places": [
                   "De Linde", "Zuid", "Ter Beke", "Sint-Anna", "De Brug", "Het Anker",
                   "Kouter", "De Vlier", "Zonnebloem", "Ter Heide", "Meerhof", "De Schakel",
                   "Oosterveld", "De Kastanje", "Leiezicht", "De Populier", "Vijverhof",
                   "Dijleland"]},
    "BE-WAL": {"practices": 14, "adopt": (9, 20), "ceiling": 0.32, "months": 20,
               "prefix": "Maison medicale", "places": [
                   "du Centre", "de la Citadelle", "des Tanneurs", "du Sart", "de la Meuse",
                   "des Trixhes", "du Laveu", "de Bomel", "du Pont", "des Coteaux",
                   "de la Sambre", "du Beguinage", "des Hayettes", "de Jambes"]},
    "BE-BRU": {"practices": 8, "adopt": (5, 17), "ceiling": 0.45, "months": 14,
               "prefix": "Wijkgezondheidscentrum", "places": [
                   "Noord", "Marollen", "Molenbeek", "Anderlecht", "Schaerbeek",
                   "Sint-Gillis", "Vorst", "Elsene"]},
}
# Wallonia's practices that stop reporting, and the month (from the baseline) they stop.
QUIET = {"BE-WAL-GP004": 15, "BE-WAL-GP007": 16, "BE-WAL-GP009": 18, "BE-WAL-GP012": 19}

# Quarterly institutionalisation scores from 2024Q4 on, with the justification of each; the
# last score repeats (with its comment) for later quarters.
SCORES = {
    "inst_fee_code": [
        (0, "not started: no nomenclature code for care packages"),
        (1, "proposal for a package fee code sent to the national insurance institute"),
        (1, "proposal under review by the medical-mutualist agreement committee"),
        (2, "fee code drafted in the royal decree project; budget line not yet agreed"),
        (2, "stalled: the budget line for the fee code was deferred to next year's budget"),
    ],
    "inst_national_indicators": [
        (1, "indicator definitions agreed with the national data system"),
        (1, "data dictionary published"),
        (2, "pilot extraction from practice software in Flanders"),
        (2, "extraction extended to Brussels"),
        (3, "package indicators reported nationally every quarter"),
        (3, "validation of the Walloon extraction ongoing"),
        (4, "package indicators part of the national primary-care dashboard"),
    ],
    "inst_nurse_role": [
        (0, "not started"),
        (1, "role description drafted with the nursing federations"),
        (1, "consultation with the joint committee"),
        (2, "practice-nurse profile added to the job classification"),
    ],
}


def month_add(d, n):
    m = d.year * 12 + d.month - 1 + n
    return datetime.date(m // 12, m % 12 + 1, 1)


def months_between(a, b):
    return (b.year - a.year) * 12 + b.month - a.month


def demo_programme():
    """The example programme with more practices; the example's own entries unchanged."""
    doc = copy.deepcopy(EXAMPLE_PROGRAMME)
    known = {s["code"] for s in doc["sites"]}
    practices = []
    for region, spec in REGIONS.items():
        first, last = spec["adopt"]
        for i in range(1, spec["practices"] + 1):
            code = f"{region}-GP{i:03d}"
            step = (last - first) / max(spec["practices"] - 2, 1)
            adopted = month_add(BASELINE, first + round((i - 2) * step)) if i > 1 else None
            practices.append((code, region, adopted))
            if code in known:
                continue
            doc["sites"].append({"code": code, "name": f"{spec['prefix']} {spec['places'][i - 1]}",
                                 "level": "practice", "parent": region,
                                 "adopted": adopted.isoformat()})
    adoption = {s["code"]: s.get("adopted") for s in doc["sites"]}
    return doc, [(code, region, adoption[code]) for code, region, _ in practices]


def demo_roadmap():
    """The example roadmap with expansion targets for forty practices."""
    here = os.path.dirname(os.path.abspath(__file__))
    with open(os.path.join(here, "..", "config", "roadmap-icp-be.json"), encoding="utf-8") as f:
        doc = json.load(f)
    doc["label"] = "Roadmap 2025-2027, version of January 2025, at demo scale (40 practices)"
    doc["expansion"]["sites"] = {"baseline": 1, "milestones": [
        {"date": "2025-12-31", "target": 20}, {"date": "2027-12-31", "target": 45}]}
    return doc


def practice_rows(rng, code, region, adopted, months):
    """Monthly rows of one practice: enrolment follows an adoption curve, quality
    indicators carry numerators and denominators."""
    spec = REGIONS[region]
    eligible = rng.randint(700, 1600)
    pilot = code == "BE-VLG-GP001"
    rows = []
    for month in months:
        eligible = round(eligible * (1 + rng.uniform(-0.002, 0.006)))
        if adopted is None or (month < adopted and not pilot):
            continue
        since = QUIET.get(code)
        if since is not None and months_between(BASELINE, month) >= since:
            continue
        if rng.random() < 0.03:  # a month that never arrives
            continue
        age = max(months_between(adopted, month), 0)
        share = 0.02 + spec["ceiling"] * (1 - math.exp(-age / spec["months"]))
        enrolled = min(round(eligible * share * rng.uniform(0.95, 1.05)), eligible)
        period = month.strftime("%Y-%m")
        rows.append(obs("patients_enrolled", code, period, enrolled))
        rows.append(obs("eligible_population", code, period, eligible))
        for indicator, part, low, high in (("hba1c_tested_pct", 0.45, 0.68, 0.88),
                                           ("bp_controlled_pct", 0.6, 0.52, 0.72)):
            den = round(enrolled * part)
            if den == 0:
                continue
            num = min(round(den * rng.uniform(low, high)), den)
            rows.append(obs(indicator, code, period, round(100 * num / den, 1),
                            numerator=num, denominator=den))
    return rows


def score_rows(today):
    rows = []
    quarter = datetime.date(2024, 10, 1)
    n = 0
    while month_add(quarter, 3) <= today:  # complete quarters only
        label = f"{quarter.year}Q{(quarter.month - 1) // 3 + 1}"
        for indicator, steps in SCORES.items():
            value, comment = steps[min(n, len(steps) - 1)]
            rows.append(obs(indicator, "BE", label, value, comment=comment))
        quarter = month_add(quarter, 3)
        n += 1
    return rows


def obs(indicator, site, period, value, **extra):
    return dict(indicator=indicator, site=site, period=period, value=value, **extra)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("outdir")
    parser.add_argument("--today", type=datetime.date.fromisoformat,
                        default=datetime.date.today())
    args = parser.parse_args()
    rng = random.Random(SEED)
    end = month_add(args.today.replace(day=1), -1)  # the last complete month
    months = [month_add(end, -i) for i in range(23, -1, -1)]
    programme, practices = demo_programme()
    rows = []
    for code, region, adopted in practices:
        day = datetime.date.fromisoformat(adopted) if adopted else None
        rows += practice_rows(rng, code, region, day, months)
    rows += score_rows(args.today)
    os.makedirs(args.outdir, exist_ok=True)
    with open(os.path.join(args.outdir, "programme.json"), "w", encoding="utf-8") as f:
        json.dump(programme, f, indent=1)
    with open(os.path.join(args.outdir, "roadmap.json"), "w", encoding="utf-8") as f:
        json.dump(demo_roadmap(), f, indent=1)
    for i in range(0, len(rows), BATCH_ROWS):
        path = os.path.join(args.outdir, f"observations-{i // BATCH_ROWS + 1:03d}.json")
        with open(path, "w", encoding="utf-8") as f:
            json.dump({"observations": rows[i:i + BATCH_ROWS]}, f)
    print(f"{len(practices)} practices, {len(rows)} observations from {months[0]:%Y-%m} to "
          f"{end:%Y-%m} in {args.outdir}")


if __name__ == "__main__":
    main()
