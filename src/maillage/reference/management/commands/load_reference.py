"""``manage.py load_reference``: load NAF, geography, resource classes and the List of Waste."""

from django.core.management.base import BaseCommand
from tqdm import tqdm

from maillage.reference import services


class Command(BaseCommand):
    help = (
        "Charge les référentiels (NAF, communes, EPCI, déchets, classes de ressources). Idempotent."
    )

    def handle(self, *args, **options):
        steps = [
            ("NAF rév. 2", services.load_naf),
            ("géographie", services.load_geography),
            ("classes de ressources", services.load_resource_classes),
            ("liste des déchets", services.load_waste_codes),
        ]
        with tqdm(total=len(steps), desc="Référentiels", unit="étape", disable=None) as bar:
            for label, step in steps:
                bar.set_postfix_str(label)
                result = step()
                items = result.items() if isinstance(result, dict) else [(label, result)]
                for name, counts in items:
                    self.stdout.write(f"{name} : {counts}")
                bar.update()
