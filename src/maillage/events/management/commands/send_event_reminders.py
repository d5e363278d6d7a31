"""Send the reminder e-mail to confirmed participants of events starting soon (idempotent: each
participant is reminded once), and expire meeting requests left unanswered."""

from django.core.management.base import BaseCommand
from django.utils import timezone

from maillage.events import services


class Command(BaseCommand):
    help = "Rappels par courriel des événements à venir (une seule fois par participant)."

    def add_arguments(self, parser):
        parser.add_argument("--hours", type=int, default=48, help="fenêtre en heures (48)")

    def handle(self, *args, hours: int, **options):
        now = timezone.now()
        expired = services.expire_requests(now)
        sent = services.send_reminders(now, within_hours=hours)
        self.stdout.write(f"{sent} rappel(s) envoyé(s), {expired} demande(s) expirée(s).")
