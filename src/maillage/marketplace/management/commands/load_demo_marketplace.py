"""``manage.py load_demo_marketplace --seed N``: supplier profiles and needs on the demo territory
(after ``load_demo``; deterministic and idempotent)."""

from django.core.management.base import BaseCommand, CommandError

from maillage.directory.models import Establishment
from maillage.marketplace.demo import load_demo_marketplace


class Command(BaseCommand):
    help = "Charge les profils fournisseurs et les besoins de démonstration. Idempotent."

    def add_arguments(self, parser):
        parser.add_argument("--seed", type=int, default=1, help="graine du générateur (défaut 1)")

    def handle(self, *args, seed, **options):
        if not Establishment.objects.exists():
            raise CommandError("Aucun établissement : lancez d'abord « manage.py load_demo ».")
        created = load_demo_marketplace(seed)
        summary = ", ".join(f"{n} {what}" for what, n in created.items())
        self.stdout.write(f"Place de marché de démonstration chargée (créés : {summary}).")
