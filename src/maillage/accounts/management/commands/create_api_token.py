"""``manage.py create_api_token USERNAME [--name NAME] [--days N]``: print a new personal API
token (valid ``MAILLAGE_API_TOKEN_DAYS`` days unless ``--days`` says otherwise)."""

from django.core.management.base import BaseCommand, CommandError

from maillage.accounts.models import User
from maillage.accounts.tokens import create_token


class Command(BaseCommand):
    help = "Crée un jeton d'API personnel (affiché une seule fois)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", default="API")
        parser.add_argument("--days", type=int, default=None, help="durée de validité en jours")

    def handle(self, *args, username, name, days, **options):
        try:
            user = User.objects.get(username=username)
        except User.DoesNotExist:
            raise CommandError(f"Utilisateur « {username} » inconnu.") from None
        if days is not None and days < 1:
            raise CommandError("La durée de validité doit être d'au moins un jour.")
        self.stdout.write(create_token(user, name, days=days))
