"""``manage.py import_sirene FILE [--departement 78 …]``: import the SIRENE establishment stock."""

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from maillage.ingest.sirene import BATCH_SIZE, WRITERS, SireneImporter, as_text


class Command(BaseCommand):
    help = (
        "Importe le fichier SIRENE des établissements (StockEtablissement, CSV ou ZIP, avec ou sans "
        "coordonnées Lambert). Ré-importer met à jour sans créer de doublon."
    )

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument(
            "--departement",
            action="append",
            default=[],
            help="ne garder que ce département (répétable)",
        )
        parser.add_argument(
            "--include-closed",
            action="store_true",
            help="importer aussi les établissements fermés inconnus",
        )
        parser.add_argument("--batch-size", type=int, default=BATCH_SIZE)
        parser.add_argument(
            "--writers",
            type=int,
            default=WRITERS,
            help="connexions qui écrivent en même temps sur PostgreSQL (SQLite : une seule ; "
            "0 : écrire depuis le fil de lecture)",
        )

    def handle(self, *args, file, departement, include_closed, batch_size, writers, **options):
        with tqdm(desc="Import SIRENE", unit=" lignes", disable=None) as bar:
            importer = SireneImporter(
                departement, include_closed, batch_size, bar.update, writers=writers
            )
            try:
                report = importer.run(file)
            except (OSError, ValueError) as exc:
                raise CommandError(str(exc)) from exc
        self.stdout.write(as_text(report))
