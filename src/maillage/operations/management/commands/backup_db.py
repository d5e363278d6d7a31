"""``manage.py backup_db [-o FILE]``: a consistent copy of the database while the site runs."""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from maillage.operations import backup


class Command(BaseCommand):
    help = (
        "Sauvegarde la base de données : pg_dump au format personnalisé (PostgreSQL) ou copie "
        "en ligne (SQLite). Par défaut dans var/sauvegardes/, horodatée."
    )

    def add_arguments(self, parser):
        parser.add_argument("-o", "--output", help="fichier à écrire")

    def handle(self, *args, output, **options):
        if output:
            path = Path(output)
        else:
            stamp = timezone.localtime().strftime("%Y%m%d-%H%M%S")
            path = settings.VAR_DIR / "sauvegardes" / f"maillage-{stamp}{backup.default_suffix()}"
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.name + ".partiel")
        try:
            backup.backup(partial)
            partial.replace(path)  # never leave a truncated backup under the requested name
        except backup.BackupError as exc:
            raise CommandError(str(exc)) from exc
        finally:
            partial.unlink(missing_ok=True)
        path.chmod(0o600)  # the backup holds every company's confidential flows
        self.stdout.write(f"Sauvegarde écrite : {path} ({path.stat().st_size} octets).")
