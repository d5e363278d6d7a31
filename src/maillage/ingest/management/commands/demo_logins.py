"""``manage.py demo_logins``: print the demo accounts, one per role, for `make demo`."""

from django.core.management.base import BaseCommand

from maillage.accounts.models import User
from maillage.directory.models import ExportAdvisor
from maillage.ingest.demo import DEMO_PASSWORD


def _export_advisor_entry(user) -> str:
    advisor = ExportAdvisor.objects.filter(user=user).first()
    if advisor is None:
        return ""
    return f"{advisor.organisation} ({', '.join(advisor.countries)})"


class Command(BaseCommand):
    help = "Affiche les comptes de démonstration."

    def handle(self, *args, **options):
        users = (
            User.objects.filter(email__endswith="@demo.maillage.localhost")
            .select_related("chamber")
            .order_by("role", "username")
        )
        self.stdout.write("")
        self.stdout.write(f"Comptes de démonstration (mot de passe : {DEMO_PASSWORD})")
        self.stdout.write("-" * 78)
        for user in users:
            where = (
                user.chamber.name
                if user.chamber
                else ", ".join(e.name for e in user.establishments.all())
                or ", ".join(n.name for n in user.animated_networks.all())
                or ", ".join(c.name for c in user.managed_clusters.all())
                or _export_advisor_entry(user)
            )
            self.stdout.write(f"  {user.username:<28} {user.get_role_display():<34} {where}")
        self.stdout.write("-" * 78)
        self.stdout.write("Application : http://127.0.0.1:8000/   Administration : /admin/")
