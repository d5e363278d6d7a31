"""``manage.py load_demo --seed N``: the deterministic demo territory (idempotent)."""

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from maillage.ingest.demo import load_demo


class Command(BaseCommand):
    help = "Charge le territoire de démonstration (3 chambres, ~5 000 établissements). Idempotent."

    def add_arguments(self, parser):
        parser.add_argument("--seed", type=int, default=1, help="graine du générateur (défaut 1)")
        parser.add_argument("--establishments", type=int, default=5000)
        parser.add_argument("--visited", type=int, default=400)

    def handle(self, *args, seed, establishments, visited, **options):
        try:
            summary = load_demo(seed, establishments, visited)
        except RuntimeError as exc:
            raise CommandError(str(exc)) from exc
        created = ", ".join(f"{n} {what}" for what, n in summary.created.items()) or "rien"
        self.stdout.write(f"Territoire de démonstration chargé (créés : {created}).")
        self.summary = summary
        # The map's offline background, precomputed so that its first request is quick.
        call_command("build_boundaries", stdout=self.stdout)
