"""Send the daily digest e-mails of the notifications of every app (marketplace, events,
networks) waiting for it (run once a day, e.g. by cron)."""

from django.core.management.base import BaseCommand

from maillage.notifications.services import send_digests


class Command(BaseCommand):
    help = "Envoie le résumé quotidien des notifications en attente (une fois par jour)."

    def handle(self, *args, **options):
        sent = send_digests()
        self.stdout.write(f"{sent} résumé(s) envoyé(s).")
