"""``manage.py import_sirene FILE [--departement 78 …]``: import the SIRENE establishment stock;
an interrupted import of the same file resumes at its checkpoint (``--restart`` to start over)."""

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from maillage.ingest.sirene import BATCH_SIZE, BLOCK_BYTES, WRITERS, SireneImporter, as_text


class Command(BaseCommand):
    help = (
        "Importe le fichier SIRENE des établissements (StockEtablissement, CSV ou ZIP, avec ou sans "
        "coordonnées Lambert). Ré-importer met à jour sans créer de doublon ; un import interrompu "
        "reprend là où il s'était arrêté."
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
        parser.add_argument(
            "--block-bytes",
            type=int,
            default=BLOCK_BYTES,
            help="taille des blocs lus (octets) ; un lot est fait de blocs entiers",
        )
        parser.add_argument(
            "--restart",
            action="store_true",
            help="ne pas reprendre un import interrompu de ce fichier : tout relire",
        )

    def handle(
        self,
        *args,
        file,
        departement,
        include_closed,
        batch_size,
        writers,
        block_bytes,
        restart,
        **options,
    ):
        if batch_size < 1 or block_bytes < 1024:
            raise CommandError("--batch-size doit être positif et --block-bytes au moins 1024.")
        with tqdm(desc="Import SIRENE", unit=" lignes", unit_scale=True, disable=None) as bar:
            importer = SireneImporter(
                departement,
                include_closed,
                batch_size,
                bar.update,
                block_bytes=block_bytes,
                writers=writers,
                resume=not restart,
                notify=lambda message: bar.write(f"Import SIRENE : {message}"),
            )
            try:
                report = importer.run(file)
            except (OSError, ValueError) as exc:
                raise CommandError(str(exc)) from exc
        self.stdout.write(as_text(report))
