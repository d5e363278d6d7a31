"""Server time of the main pages and API map layers on the demo territory
(``load_demo --seed 1`` + detection, ~5,000 establishments, ~2,000 flows), per role.

    python bench/pages.py [--repeat 7] [--database-url sqlite:///var/maillage.sqlite3]

Without ``--database-url`` a fresh SQLite database is built in a temporary folder (migrate,
reference data, demo territory, detection, one implemented synergy, some audit entries).
Each URL is requested ``--repeat`` times through Django's test client (full middleware, session
login, templates, no network); the first request is reported apart (cold caches: offline
boundaries in memory, compiled templates), then the median and the maximum of the others, and
the number of SQL queries. Layers and cards are cached (maillage.caching, here in this process's
memory): the repeats are answered from the cache, and « sans cache » is the median of
``--repeat`` requests each made right after emptying it (the cost after any write). Target:
median < 300 ms.
"""

from __future__ import annotations

import argparse
import datetime
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))


def prepare() -> None:
    from django.core.management import call_command

    from maillage.accounts.models import AuditLog, User
    from maillage.directory.models import Establishment
    from maillage.synergies import services
    from maillage.synergies.models import Suggestion

    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    call_command("load_reference", verbosity=0)
    call_command("load_demo", seed=1, verbosity=0)
    call_command("load_demo_marketplace", seed=1, verbosity=0)
    services.detect()
    advisor = User.objects.get(username="conseiller1.seine-et-marne")
    suggestion = (
        Suggestion.objects.filter(
            chamber_id=advisor.chamber_id, kind="substitution", status="detected"
        )
        .order_by("-score", "pk")
        .first()
    )
    services.change_status(suggestion, advisor, "proposed")
    services.change_status(
        suggestion,
        advisor,
        "discussion",
        "Accord obtenu hors plateforme (banc d'essai)",
        agreement_on=datetime.date.today(),
    )
    services.change_status(suggestion, advisor, "implemented", "", 100.0, 5000.0)
    ids = Establishment.objects.of_chambers([advisor.chamber_id]).values_list("pk", flat=True)
    AuditLog.objects.bulk_create(
        AuditLog(user=advisor, action="view_flows", establishment_id=pk, detail="bench")
        for pk in list(ids)[:500]
    )
    print(f"base de démonstration prête en {time.perf_counter() - started:.0f} s", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    tmp = tempfile.mkdtemp()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "maillage.config.settings")
    os.environ["DATABASE_URL"] = args.database_url or f"sqlite:///{tmp}/pages.sqlite3"
    os.environ["CACHE_URL"] = "locmem://"
    if not args.database_url:
        os.environ["MAILLAGE_VAR_DIR"] = tmp
    import django

    django.setup()
    from django.core.cache import cache
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from maillage.accounts.models import User
    from maillage.atlas import boundaries
    from maillage.directory.models import Establishment

    if not args.database_url:
        prepare()
    started = time.perf_counter()
    boundaries.build()
    print(f"fond de carte précalculé en {time.perf_counter() - started:.1f} s", flush=True)

    advisor = User.objects.get(username="conseiller1.seine-et-marne")
    admin = User.objects.get(username="admin.seine-et-marne")
    company = User.objects.get(username="entreprise1")
    est = (
        Establishment.objects.of_chambers([advisor.chamber_id])
        .filter(flows__isnull=False)
        .order_by("pk")
        .first()
    )
    from maillage.directory.models import Network
    from maillage.events.models import Event
    from maillage.marketplace.models import Need
    from maillage.synergies.models import Suggestion

    animator = User.objects.get(username="animateur.club")
    suggestion = (
        Suggestion.objects.filter(chamber_id=advisor.chamber_id, kind="substitution")
        .order_by("-score", "pk")
        .first()
    )
    network = Network.objects.filter(animators=animator).order_by("pk").first()
    event = Event.objects.order_by("pk").first()
    buyer = User.objects.get(username="acheteur")
    need = Need.objects.filter(created_by=buyer).order_by("pk").first()
    cases = [
        (None, "/"),
        (None, "/carte/"),
        (None, "/api/map/choropleth?level=epci"),
        (None, "/api/map/background"),
        (advisor, "/"),
        (advisor, "/carte/"),
        (advisor, "/api/map/establishments"),
        (advisor, "/api/map/establishments?category=waste"),
        (advisor, "/api/map/links"),
        (advisor, "/api/map/choropleth?level=epci"),
        (advisor, "/api/map/choropleth?level=commune"),
        (advisor, f"/carte/panneau/{est.pk}/"),
        (advisor, f"/etablissements/{est.pk}/"),
        (advisor, "/synergies/"),
        (advisor, "/tableau-de-bord/"),
        (advisor, "/tableau-de-bord/export.xlsx"),
        (advisor, "/etablissements/"),
        (advisor, "/etablissements/?q=sa&visite=oui"),
        (advisor, "/synergies/tableau/"),
        (advisor, f"/synergies/{suggestion.pk}/"),
        (advisor, "/marche/"),
        (advisor, "/marche/fournisseurs/?q=maintenance"),
        (advisor, "/evenements/"),
        (advisor, f"/evenements/{event.pk}/"),
        (advisor, "/international/"),
        (advisor, "/export/"),
        (admin, "/journal/"),
        (animator, "/"),
        (animator, f"/reseaux/{network.pk}/"),
        (company, "/synergies/opportunites/"),
        (company, "/marche/"),
        (buyer, f"/marche/besoins/{need.pk}/"),
        (company, "/evenements/"),
        (company, "/international/"),
        (company, "/"),
        (company, "/carte/"),
        (company, "/api/map/establishments"),
    ]
    print(
        f"{'rôle':<12} {'page':<44} {'1re (ms)':>9} {'médiane':>8} {'max':>7} {'requêtes':>9}"
        f" {'sans cache':>11} {'requêtes':>9}"
    )
    worst = 0.0
    for user, url in cases:
        client = Client()
        if user is not None:
            client.force_login(user)
        times = []
        for _ in range(args.repeat + 1):
            with CaptureQueriesContext(connection) as queries:
                t0 = time.perf_counter()
                response = client.get(url)
                times.append((time.perf_counter() - t0) * 1000)
            if response.status_code != 200:
                raise SystemExit(f"{url}: HTTP {response.status_code}")
        cached_queries = len(queries)
        built = []
        for _ in range(args.repeat):
            cache.clear()
            with CaptureQueriesContext(connection) as queries:
                t0 = time.perf_counter()
                client.get(url)
                built.append((time.perf_counter() - t0) * 1000)
        median = statistics.median(times[1:])
        worst = max(worst, median)
        role = user.get_role_display()[:12] if user else "anonyme"
        print(
            f"{role:<12} {url:<44} {times[0]:>9.0f} {median:>8.0f} {max(times[1:]):>7.0f}"
            f" {cached_queries:>9} {statistics.median(built):>11.0f} {len(queries):>9}",
            flush=True,
        )
    print(f"pire médiane : {worst:.0f} ms (objectif < 300 ms)")


if __name__ == "__main__":
    main()
