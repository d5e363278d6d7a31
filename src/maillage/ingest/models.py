"""Spreadsheet imports confirmed from the web or the command line, each recorded as a run."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from maillage.accounts.models import Chamber
from maillage.runs import BackgroundRun


class ImportRun(BackgroundRun):
    """One committed import of a file: its status while it writes, then what it wrote. The file
    is written in one transaction, so a failed or interrupted run has written nothing."""

    class Kind(models.TextChoices):
        ESTABLISHMENTS = "etablissements", _("Établissements")
        CONTACTS = "contacts", _("Contacts")
        FLOWS = "flux", _("Flux de ressources")

    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    chamber = models.ForeignKey(
        Chamber, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    kind = models.CharField(_("contenu"), max_length=20, choices=Kind.choices)
    file_name = models.CharField(_("fichier"), max_length=255)
    digest = models.CharField(_("empreinte SHA-256"), max_length=64)
    rows = models.PositiveIntegerField(_("lignes"), default=0)
    created = models.PositiveIntegerField(_("créations"), default=0)
    updated = models.PositiveIntegerField(_("mises à jour"), default=0)
    # The first errors of a file refused at write time: [{"line", "column", "message"}…]
    errors = models.JSONField(_("erreurs"), default=list, blank=True)

    class Meta:
        verbose_name = _("import de tableur")
        verbose_name_plural = _("imports de tableur")
        ordering = ["-created_at", "-pk"]

    def __str__(self):
        return f"{self.file_name} {self.created_at:%Y-%m-%d %H:%M} {self.state}"
