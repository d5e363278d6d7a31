"""``manage.py disable_two_factor USERNAME``: remove a user's second factor (lost phone and
backup codes); they sign in with their password alone and, if their role requires it, enrol
again at once."""

from django.core.management.base import BaseCommand, CommandError

from maillage.accounts import two_factor
from maillage.accounts.models import User


class Command(BaseCommand):
    help = "Désactive la double authentification d'un utilisateur (téléphone perdu)."

    def add_arguments(self, parser):
        parser.add_argument("username")

    def handle(self, *args, username, **options):
        try:
            user = User.objects.get(username=username)
        except User.DoesNotExist:
            raise CommandError(f"Utilisateur « {username} » inconnu.") from None
        had = two_factor.has_device(user)
        two_factor.disable(user)
        if had:
            self.stdout.write(f"Double authentification désactivée pour « {username} ».")
        else:
            self.stdout.write(f"« {username} » n'avait pas de double authentification.")
