"""``manage.py detect_synergies [--chamber SLUG] [--flow ID]``: run the synergy engine."""

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from maillage.accounts.models import Chamber
from maillage.flows.models import Flow
from maillage.synergies import services


class Command(BaseCommand):
    help = (
        "Détecte les synergies (substitution, mutualisation, partenaires potentiels) et les "
        "enregistre sans doublon."
    )

    def add_arguments(self, parser):
        parser.add_argument("--chamber", help="identifiant (slug) de la chambre à traiter")
        parser.add_argument("--flow", type=int, help="mode incrémental : un seul flux (id)")
        parser.add_argument("-k", type=int, default=20, help="partenaires par flux (défaut 20)")

    def handle(self, *args, chamber=None, flow=None, k=20, **options):
        if flow is not None:
            try:
                target = Flow.objects.select_related("establishment__commune").get(pk=flow)
            except Flow.DoesNotExist:
                raise CommandError(f"Flux {flow} introuvable.") from None
            self._report(services.detect_for_flow(target, k=k))
            return
        scope = None
        if chamber:
            try:
                scope = Chamber.objects.get(slug=chamber)
            except Chamber.DoesNotExist:
                slugs = ", ".join(Chamber.objects.order_by("slug").values_list("slug", flat=True))
                raise CommandError(f"Chambre « {chamber} » inconnue (connues : {slugs}).") from None
        with tqdm(total=100, desc="Détection", unit="%", disable=None) as bar:

            def progress(percent: int, step: str) -> None:
                bar.set_postfix_str(step)
                bar.update(percent - bar.n)

            results = services.detect(scope, k=k, progress=progress)
        self._report(results)

    def _report(self, results):
        for kind, counts in results.items():
            detail = ", ".join(f"{n} {what}" for what, n in counts.items())
            self.stdout.write(f"{kind} : {detail}")
