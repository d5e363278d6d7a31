"""Marketplace matching quality: 50 hand-written needs of the demo territory (``load_demo --seed 1``
then ``load_demo_marketplace --seed 1``), each with a known good supplier; counts how often that
supplier is in the top 10 returned by the matching (the app's own path: Need saved, then
``marketplace.selectors.rank_candidates`` → ``engine.marketplace.rank_suppliers``).

    python bench/marketplace_quality.py              # builds a fresh demo database in a temp dir
    python bench/marketplace_quality.py --propose    # (re)choose the good suppliers, print CSV

The needs (``bench/data/marketplace_needs.csv``) are written in a buyer's words. A known good
supplier is an establishment of the trade the need asks for (NAF prefix, column ``trade``) whose
supplier profile states the capability (column ``key``), located within ``LOCAL_KM`` (20 km) of
the place and whose service area covers it;
``--propose`` drew one at random (seeded) among all such suppliers and the draw is frozen in the
CSV (``good_siret``) so that the figure does not move with the ranking code. Because several
suppliers usually qualify, the script also prints the expected count over other draws (for each
need, the share of qualified suppliers that made the top 10).
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
DATA = ROOT / "bench" / "data" / "marketplace_needs.csv"
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


def rows() -> list[dict]:
    with DATA.open(encoding="utf-8") as f:
        return list(csv.DictReader(f, delimiter=";"))


def qualified(row: dict) -> list[str]:
    """SIRETs of suppliers that fit the definition of a good supplier for this need."""
    from maillage.engine.geo import haversine_km
    from maillage.engine.taxonomy import fold
    from maillage.marketplace.models import SupplierProfile
    from maillage.reference.models import Commune

    place = Commune.objects.get(pk=row["commune"])
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
        if fold(row["key"]) in fold(p.capabilities) and d <= min(p.service_radius_km, LOCAL_KM):
            out.append(e.siret)
    return out


def propose() -> None:
    rng = random.Random(2026)
    writer = csv.writer(sys.stdout, delimiter=";", lineterminator="\n")
    fields = ["id", "trade", "key", "commune", "category", "title", "description", "good_siret"]
    writer.writerow(fields)
    for row in rows():
        sirets = qualified(row)
        row["good_siret"] = rng.choice(sirets) if sirets else ""
        writer.writerow([row[f] for f in fields])


def evaluate() -> None:
    from maillage.accounts.models import User
    from maillage.marketplace import selectors
    from maillage.marketplace.models import Need

    buyer_user = User.objects.get(username="acheteur")
    buyer = buyer_user.establishments.order_by("pk").first()
    hits, missing, ranks, times = 0, 0, [], []
    expected, any_hit = 0.0, 0
    for row in rows():
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
        expected += len(pool & set(order)) / len(pool)
        any_hit += bool(pool & set(order))
        print(f"{row['id']:>2} {row['title'][:50]:<50} rang {rank or '> 10'}")
    total = len(ranks)
    print(
        f"\nFournisseur de référence dans le top 10 : {hits}/{total} besoins "
        f"({missing} sans référence); rang 1 : {sum(r == 1 for r in ranks)}; "
        f"temps médian d'un classement : {sorted(times)[len(times) // 2] * 1000:.0f} ms\n"
        f"Espérance sur un autre tirage du fournisseur de référence : {expected:.1f}/{total}; "
        f"au moins un fournisseur qualifié dans le top 10 : {any_hit}/{total}"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--propose", action="store_true")
    parser.add_argument("--db-dir", help="reuse a demo database directory (created if empty)")
    args = parser.parse_args()
    setup(args.db_dir)
    if args.propose:
        propose()
    else:
        evaluate()


if __name__ == "__main__":
    main()
