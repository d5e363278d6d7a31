"""Remind export advisors and cluster contacts of contact requests left unanswered, then expire
those still unanswered a month on (run daily; each request is reminded once, expired once)."""

from django.core.management.base import BaseCommand

from maillage.directory import services


class Command(BaseCommand):
    help = "Relance les conseillers et pôles qui n'ont pas répondu à une demande de contact export."

    def add_arguments(self, parser):
        parser.add_argument(
            "--days",
            type=int,
            default=services.REMIND_AFTER_DAYS,
            help=f"relancer après ce nombre de jours sans réponse ({services.REMIND_AFTER_DAYS})",
        )

        parser.add_argument(
            "--expire-days",
            type=int,
            default=services.EXPIRE_AFTER_DAYS,
            help="clore les demandes relancées restées sans réponse après ce nombre de jours "
            f"({services.EXPIRE_AFTER_DAYS})",
        )

    def handle(self, *args, days: int, expire_days: int, **options):
        sent = services.remind_unanswered_export_requests(after_days=days)
        self.stdout.write(f"{sent} demande(s) de contact export relancée(s).")
        expired = services.expire_unanswered_export_requests(after_days=expire_days)
        self.stdout.write(f"{expired} demande(s) de contact export expirée(s).")
