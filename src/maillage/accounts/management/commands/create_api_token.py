"""``manage.py create_api_token USERNAME [--name NAME]``: print a new personal API token."""

from django.core.management.base import BaseCommand, CommandError

from maillage.accounts.models import User
from maillage.accounts.tokens import create_token


class Command(BaseCommand):
    help = "Crée un jeton d'API personnel (affiché une seule fois)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", default="API")

    def handle(self, *args, username, name, **options):
        try:
            user = User.objects.get(username=username)
        except User.DoesNotExist:
            raise CommandError(f"Utilisateur « {username} » inconnu.") from None
        self.stdout.write(create_token(user, name))
