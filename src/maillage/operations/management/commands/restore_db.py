"""``manage.py restore_db FILE [--yes]``: replaces the database's content by a backup."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from maillage import caching
from maillage.operations import backup


class Command(BaseCommand):
    help = (
        "Restaure une sauvegarde faite par backup_db (pg_restore ou copie SQLite). Le contenu "
        "actuel de la base est remplacé : arrêtez le site et les processus de calcul avant."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="fichier de sauvegarde")
        parser.add_argument("--yes", action="store_true", help="ne pas demander de confirmation")

    def handle(self, *args, file, yes, **options):
        path = Path(file)
        if not yes:
            answer = input(
                f"Remplacer tout le contenu de la base par {path} ? Tapez « oui » pour confirmer : "
            )
            if answer.strip().lower() != "oui":
                raise CommandError("Restauration annulée.")
        try:
            backup.restore(path)
        except backup.BackupError as exc:
            raise CommandError(str(exc)) from exc
        # Cached layers and lists were built from the rows the restore replaced.
        caching.bump()
        self.stdout.write(f"Base restaurée depuis {path}.")
