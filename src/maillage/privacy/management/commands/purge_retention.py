"""``manage.py purge_retention [--dry-run]``: delete the audit-log entries and notifications older
than their retention period (MAILLAGE_AUDIT_RETENTION_DAYS, MAILLAGE_NOTIFICATION_RETENTION_DAYS);
run daily (docs/operations.md)."""

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from maillage.privacy import retention


class Command(BaseCommand):
    help = (
        "Supprime les entrées des journaux et les notifications plus anciennes que leur durée "
        "de conservation (une fois par jour). Avec --dry-run, compte sans rien supprimer."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run", action="store_true", help="compter les lignes sans les supprimer"
        )
        parser.add_argument(
            "--batch", type=int, default=retention.BATCH, help="lignes supprimées par lot"
        )

    def handle(self, *args, dry_run, batch, **options):
        if batch < 1:
            raise CommandError("--batch doit être un entier positif.")
        bars: dict[str, tqdm] = {}

        def progress(table: str, done: int, total: int) -> None:
            bar = bars.get(table)
            if bar is None:
                bar = bars[table] = tqdm(total=total, desc=table, unit=" lignes", disable=None)
            bar.n = done
            bar.refresh()

        try:
            counts = retention.purge(dry_run=dry_run, batch=batch, progress=progress)
        finally:
            for bar in bars.values():
                bar.close()
        verb = "à supprimer" if dry_run else "supprimée(s)"
        for table, n in counts.items():
            self.stdout.write(f"{table} : {n} ligne(s) {verb}")
