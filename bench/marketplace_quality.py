"""Marketplace matching quality: 50 hand-written needs of the demo territory (``load_demo --seed 1``
then ``load_demo_marketplace --seed 1``), each with a known good supplier; counts how often that
supplier is in the top 10 returned by the matching (the app's own path: Need saved, then
``marketplace.selectors.rank_candidates`` → ``engine.marketplace.rank_suppliers``).

    python bench/marketplace_quality.py                   # the specific set (the figure)
    python bench/marketplace_quality.py --set generic     # the first, generic set
    python bench/marketplace_quality.py --propose         # the draw behind the specific set

How the sets were built:

- ``generic`` (``bench/data/marketplace_needs_generic.csv``, the first set): 50 needs written in a
  buyer's words, one per (trade = NAF prefix, capability ``key``, commune), without looking at
  suppliers. A good supplier is an establishment of that trade whose profile states ``key``,
  located within ``LOCAL_KM`` (20 km) of the place and whose service area covers it; the reference
  was drawn at random among them and frozen. In dense trades a dozen suppliers qualify and state
  exactly the same thing, so which of them is "the" good one is a coin toss: the figure to read is
  the expected count over draws (for each need, the share of qualified suppliers in the top 10).
- ``specific`` (``bench/data/marketplace_needs.csv``, the figure): same 50 (trade, key, commune).
  For each, ``--propose`` drew one reference supplier with ``random.Random(20261123)`` among the
  suppliers qualified as above, once (the draw is the ``good_siret`` column; it was not redone).
  Then the need was rewritten by hand, as a buyer who wants what that supplier offers would write
  it, by a fixed rule: it asks for ``key`` and for every other capability phrase of the
  reference's profile (column ``asks``, words of the profile, ``|``-separated), names its
  certification if it has one (column ``certification``) and the first client sector of its
  references if any (column ``sector``: the buyer's own sector, "nous sommes un site
  pharmaceutique"); budget is left unknown. ``--propose`` prints the worksheet (reference, its
  capabilities, certification, references) the needs were written from; the evaluation checks
  every row against the rule (``rule_problems``) and prints any departure. Demo certifications are
  drawn regardless of trade (an IT firm may hold "Qualibat"): the rule names them anyway. Suppliers
  that satisfy all of that (trade, every phrase of ``asks``, certification, sector, within 20 km
  and serving the place) are equally good: the expected count over draws is computed over them.
  This set is easier by construction (the reference is usually the only such supplier): it
  measures whether the ranking uses what a buyer states, the generic set how it breaks ties.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
SETS = {
    "specific": ROOT / "bench" / "data" / "marketplace_needs.csv",
    "generic": ROOT / "bench" / "data" / "marketplace_needs_generic.csv",
}
SEED = 20261123
# "Tous acheteurs, tous vendeurs" is about local business: a good supplier works near the buyer.
LOCAL_KM = 20.0


def setup(db_dir: str | None) -> None:
    tmp = db_dir or tempfile.mkdtemp()
    fresh = not Path(tmp, "demo.sqlite3").exists()
    os.environ.update(
        DJANGO_SETTINGS_MODULE="maillage.config.settings",
        MAILLAGE_VAR_DIR=tmp,
        DATABASE_URL=f"sqlite:///{tmp}/demo.sqlite3",
        EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
    )
    import django

    django.setup()
    if fresh:
        from django.core.management import call_command

        print("Base de démonstration : migrate, load_reference, load_demo, load_demo_marketplace…")
        call_command("migrate", verbosity=0)
        call_command("load_reference", stdout=io.StringIO())
        call_command("load_demo", "--seed", "1", stdout=io.StringIO())
        call_command("load_demo_marketplace", "--seed", "1", stdout=io.StringIO())


def rows(name: str = "specific") -> list[dict]:
    with SETS[name].open(encoding="utf-8") as f:
        return list(csv.DictReader(f, delimiter=";"))


def qualified(row: dict) -> list[str]:
    """SIRETs of suppliers that fit the definition of a good supplier for this need: its trade,
    every capability asked, the certification and client sector named (if any), within
    ``LOCAL_KM`` of the place and serving it."""
    from maillage.engine.geo import haversine_km
    from maillage.engine.taxonomy import fold
    from maillage.marketplace.models import SupplierProfile
    from maillage.reference.models import Commune

    place = Commune.objects.get(pk=row["commune"])
    keys = [row["key"], *filter(None, (row.get("asks") or "").split("|"))]
    out = []
    for p in (
        SupplierProfile.objects.filter(
            is_active=True, establishment__naf__code__startswith=row["trade"]
        )
        .select_related("establishment")
        .order_by("establishment__siret")
    ):
        e = p.establishment
        d = float(haversine_km(place.latitude, place.longitude, e.latitude, e.longitude))
        if (
            all(fold(k) in fold(p.capabilities) for k in keys)
            and fold(row.get("certification") or "") in fold(p.certifications)
            and fold(row.get("sector") or "") in fold(p.references)
            and d <= min(p.service_radius_km, LOCAL_KM)
        ):
            out.append(e.siret)
    return out


def rule_problems(row: dict) -> list[str]:
    """How a row of the specific set departs from its construction rule (see the docstring):
    a capability phrase of the reference not asked, another certification, another sector."""
    from maillage.engine.taxonomy import fold
    from maillage.marketplace.models import SupplierProfile

    p = SupplierProfile.objects.get(establishment__siret=row["good_siret"])
    asked = [fold(a) for a in [row["key"], *row["asks"].split("|")] if a]
    phrases = [fold(x.strip()) for x in p.capabilities.rstrip(".").split(",") if x.strip()]
    problems = [f"non demandé : {x}" for x in phrases if not any(x in a or a in x for a in asked)]
    if fold(row["certification"]) != fold(p.certifications):
        problems.append(f"certification : {p.certifications!r}")
    first_sector = p.references.removeprefix("Références :").split(",")[0].strip(" .")
    if fold(row["sector"]) != fold(first_sector):
        problems.append(f"secteur : {first_sector!r}")
    return problems


def propose() -> None:
    """The one draw behind the specific set: for each (trade, key, commune) of the generic set, a
    reference among the qualified suppliers, printed with what its profile says."""
    from maillage.marketplace.models import SupplierProfile

    rng = random.Random(SEED)
    for row in rows("generic"):
        sirets = qualified({**row, "asks": "", "certification": "", "sector": ""})
        siret = rng.choice(sirets) if sirets else ""
        p = (
            SupplierProfile.objects.select_related("establishment")
            .filter(establishment__siret=siret)
            .first()
        )
        print(
            f"{row['id']};{row['trade']};{row['key']};{row['commune']};{siret};"
            f"{p.capabilities if p else ''};{p.certifications if p else ''};"
            f"{p.references if p else ''}"
        )


def evaluate(name: str) -> None:
    from maillage.accounts.models import User
    from maillage.marketplace import selectors
    from maillage.marketplace.models import Need

    buyer_user = User.objects.get(username="acheteur")
    buyer = buyer_user.establishments.order_by("pk").first()
    hits, missing, ranks, times = 0, 0, [], []
    expected, any_hit = 0.0, 0
    for row in rows(name):
        if not row.get("good_siret"):
            missing += 1
            print(f"{row['id']:>2} sans fournisseur de référence")
            continue
        need = Need(
            buyer=buyer,
            theme=Need.Theme.PURCHASING,
            kind=Need.Kind.SERVICE,
            title=row["title"],
            description=row["description"],
            category=row["category"] if row["category"] != "other" else "",
            delivery_commune_id=row["commune"],
            closes_on="2030-01-01",
        )
        need.save()
        start = time.perf_counter()
        ranked = selectors.rank_candidates(need, limit=10)
        times.append(time.perf_counter() - start)
        need.delete()
        sirets = dict(
            buyer.__class__.objects.filter(pk__in=[c.supplier_id for c in ranked]).values_list(
                "pk", "siret"
            )
        )
        order = [sirets[c.supplier_id] for c in ranked]
        rank = order.index(row["good_siret"]) + 1 if row["good_siret"] in order else None
        hits += rank is not None
        ranks.append(rank)
        # Robustness of the figure to the draw: the share of all qualified suppliers in the top 10
        # is the chance that another draw of the reference would have been found.
        pool = set(qualified(row))
        if row["good_siret"] not in pool or ("asks" in row and rule_problems(row)):
            print(f"{row['id']:>2} hors règle : {rule_problems(row) if 'asks' in row else ''}")
            pool.add(row["good_siret"])
        expected += len(pool & set(order)) / len(pool)
        any_hit += bool(pool & set(order))
        print(
            f"{row['id']:>2} {row['title'][:50]:<50} rang {rank or '> 10':>4}   "
            f"qualifiés dans le top 10 : {len(pool & set(order))}/{len(pool)}"
        )
    total = len(ranks)
    print(
        f"\nFournisseur de référence dans le top 10 : {hits}/{total} besoins "
        f"({missing} sans référence); rang 1 : {sum(r == 1 for r in ranks)}; "
        f"temps médian d'un classement : {sorted(times)[len(times) // 2] * 1000:.0f} ms "
        f"(le premier, à froid : {times[0] * 1000:.0f} ms)\n"
        f"Espérance sur un autre tirage du fournisseur de référence : {expected:.1f}/{total}; "
        f"au moins un fournisseur qualifié dans le top 10 : {any_hit}/{total}"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--propose", action="store_true")
    parser.add_argument("--set", choices=sorted(SETS), default="specific")
    parser.add_argument("--db-dir", help="reuse a demo database directory (created if empty)")
    args = parser.parse_args()
    setup(args.db_dir)
    if args.propose:
        propose()
    else:
        evaluate(args.set)


if __name__ == "__main__":
    main()
