"""``manage.py import_spreadsheet KIND FILE --user LOGIN [--commit]``: dry run, then import."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from maillage.accounts.models import User
from maillage.ingest.services import import_file
from maillage.ingest.spreadsheet import run_path
from maillage.ingest.spreadsheet_format import COLUMNS, FileError


class Command(BaseCommand):
    help = (
        "Importe un tableur (XLSX ou CSV) d'établissements, de contacts ou de flux. Sans --commit, "
        "vérifie seulement et liste les erreurs ligne par ligne."
    )

    def add_arguments(self, parser):
        parser.add_argument("kind", choices=list(COLUMNS))
        parser.add_argument("file")
        parser.add_argument("--user", required=True, help="identifiant du conseiller")
        parser.add_argument("--commit", action="store_true", help="écrire si aucune erreur")

    def handle(self, *args, kind, file, user, commit, **options):
        try:
            account = User.objects.get(username=user)
        except User.DoesNotExist:
            raise CommandError(f"Utilisateur « {user} » inconnu.") from None
        try:
            if commit:  # recorded as an ImportRun, like an import confirmed on the web
                path = Path(file)
                _record, result = import_file(account, kind, path.name, path.read_bytes())
            else:
                result = run_path(account, kind, Path(file), commit=False)
        except (OSError, FileError) as exc:
            raise CommandError(str(exc)) from exc
        for error in result.errors:
            self.stdout.write(
                f"ligne {error.line}, colonne {error.column or '—'} : {error.message}"
            )
        if result.errors:
            raise CommandError(
                f"{len(result.errors)} erreur(s) sur {result.rows} lignes : rien n'a été écrit."
            )
        verb = "écrites" if result.written else "valides (rien écrit : ajoutez --commit)"
        self.stdout.write(
            f"{result.rows} lignes {verb} — {result.created} créations, {result.updated} mises à jour."
        )
