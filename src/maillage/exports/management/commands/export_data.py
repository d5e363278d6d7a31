"""``manage.py export_data {etablissements,flux,suggestions} --user LOGIN --format csv|xlsx -o FILE``:
export what this user may see (each dataset's owning app's policy and visible_* rules), as the web
page and the API do."""

from pathlib import Path

from django.core.exceptions import PermissionDenied
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from maillage.accounts.models import User
from maillage.exports.datasets import DATASETS, dataset_for
from maillage.exports.files import FORMATS, export


class Command(BaseCommand):
    help = (
        "Exporte les établissements, les flux ou les suggestions visibles par un utilisateur, en "
        "CSV (« ; », UTF-8, pour Excel) ou en XLSX. Les flux exportés sont tracés dans le journal."
    )

    def add_arguments(self, parser):
        parser.add_argument("dataset", choices=list(DATASETS))
        parser.add_argument("--user", required=True, help="identifiant de l'utilisateur")
        parser.add_argument("--format", choices=list(FORMATS), help="par défaut : l'extension")
        parser.add_argument("-o", "--output", required=True, help="fichier à écrire")

    def handle(self, *args, dataset, user, format, output, **options):
        try:
            account = User.objects.get(username=user)
        except User.DoesNotExist:
            raise CommandError(f"Utilisateur « {user} » inconnu.") from None
        path = Path(output)
        fmt = format or path.suffix.lower().lstrip(".")
        if fmt not in FORMATS:
            raise CommandError("Format inconnu : précisez --format csv ou --format xlsx.")
        try:
            total = dataset_for(account, dataset).count(account)
        except PermissionDenied as exc:
            raise CommandError(str(exc)) from exc
        partial = path.with_name(path.name + ".partiel")
        try:
            with (
                open(partial, "wb") as out,
                tqdm(total=total, desc=f"Export {dataset}", unit=" lignes", disable=None) as bar,
            ):
                export(account, dataset, fmt, out, progress=bar.update)
            partial.replace(path)  # never leave a truncated file under the requested name
        except OSError as exc:
            raise CommandError(str(exc)) from exc
        finally:
            partial.unlink(missing_ok=True)
        self.stdout.write(f"{total} lignes exportées dans {path}.")
