"""``manage.py partner_index_server``: the process that holds the live partner indexes
(``synergies.partner_server``), listening on ``MAILLAGE_PARTNER_INDEX_SOCKET``."""

import signal

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from maillage.synergies import partner_server


class Command(BaseCommand):
    help = (
        "Serveur de l'index des partenaires : garde en mémoire l'index de chaque périmètre de "
        "chambre, reçoit les flux modifiés et le reconstruit en arrière-plan."
    )

    def handle(self, *args, **options):
        address = settings.MAILLAGE_PARTNER_INDEX_SOCKET
        if not address:
            raise CommandError("MAILLAGE_PARTNER_INDEX_SOCKET n'est pas défini.")
        server = partner_server.Server()
        signal.signal(signal.SIGTERM, lambda *_: server.stop(address))
        self.stdout.write(f"Index des partenaires : écoute sur {address}")
        try:
            server.serve(address)
        except KeyboardInterrupt:
            server.stop(address)
