"""Close the published needs whose closing date has passed and remind, once, the notified
suppliers who have not answered a need closing soon (run daily, e.g. by cron; idempotent)."""

from django.core.management.base import BaseCommand
from tqdm import tqdm

from maillage.marketplace.services import close_expired_needs


class Command(BaseCommand):
    help = (
        "Clôt (sans attribution) les besoins publiés dont la date de clôture est passée et "
        "relance une fois les fournisseurs prévenus qui n'ont pas répondu (une fois par jour)."
    )

    def handle(self, *args, **options):
        with tqdm(desc="Besoins et relances", unit="étape", disable=None) as bar:

            def progress(done: int, total: int) -> None:
                bar.total = total
                bar.n = done
                bar.refresh()

            counts = close_expired_needs(progress=progress)
        self.stdout.write(
            f"{counts['closed']} besoin(s) clos, {counts['reminded']} relance(s) envoyée(s)."
        )
