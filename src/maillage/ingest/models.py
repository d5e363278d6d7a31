"""The ingest app's records: spreadsheet imports confirmed from the web or the command line, each
recorded as a run; and checkpoints of SIRENE stock imports, so that a killed import of the national
file (40 million lines) continues where it stopped instead of starting again."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
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


class SireneImport(models.Model):
    """One import of one stock file with given options. ``key`` identifies the file (size, date,
    first megabyte) and the options; an unfinished import with the same key is resumed."""

    key = models.CharField(_("empreinte du fichier et des options"), max_length=64)
    path = models.CharField(_("fichier"), max_length=1024)
    parts = models.PositiveSmallIntegerField(_("écrivains"), default=1)
    # The establishment table was empty when the import began: batches are tried as plain inserts.
    into_empty_table = models.BooleanField(_("table vide au départ"), default=False)
    # Indexes and foreign keys of the establishment table dropped for a first load and not yet
    # built again (``ingest.deferred``): [{"kind", "name", "sql"}…]
    deferred = models.JSONField(_("index et clés mis de côté"), default=list, blank=True)
    started_at = models.DateTimeField(_("commencé le"), auto_now_add=True)
    finished_at = models.DateTimeField(_("terminé le"), null=True, blank=True)

    class Meta:
        verbose_name = _("import SIRENE")
        verbose_name_plural = _("imports SIRENE")
        ordering = ["-started_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["key"],
                condition=Q(finished_at__isnull=True),
                name="sirene_import_one_unfinished_per_key",
            )
        ]

    def __str__(self) -> str:
        return self.path


class SireneImportPart(models.Model):
    """What one writer has committed: every line of its share of the file before ``next_line``
    (which starts at byte ``next_offset``), with the outcomes counted so far. Updated in the same
    transaction as each batch, so it never claims a batch that was not written. Part 0 also carries
    what the reader finds outside the batches (filtered lines, rejections, warnings)."""

    sirene_import = models.ForeignKey(SireneImport, on_delete=models.CASCADE, related_name="+")
    part = models.PositiveSmallIntegerField()
    next_line = models.BigIntegerField(default=2)  # line 1 is the header
    next_offset = models.BigIntegerField(default=0)  # 0: not started (the header is read again)
    created = models.BigIntegerField(default=0)
    updated = models.BigIntegerField(default=0)
    unchanged = models.BigIntegerField(default=0)
    closed = models.BigIntegerField(default=0)
    skipped = models.BigIntegerField(default=0)

    class Meta:
        ordering = ["sirene_import", "part"]
        constraints = [
            models.UniqueConstraint(fields=["sirene_import", "part"], name="sirene_import_part")
        ]

    def __str__(self) -> str:
        return f"{self.sirene_import_id}/{self.part}"


class SireneImportIssue(models.Model):
    """A rejected line or a warning, kept so that the report of a resumed import lists them all."""

    class Kind(models.TextChoices):
        REJECTED = "rejected", _("rejet")
        WARNING = "warning", _("avertissement")

    sirene_import = models.ForeignKey(SireneImport, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    line = models.BigIntegerField()
    reason = models.TextField()

    class Meta:
        ordering = ["sirene_import", "kind", "line", "reason"]
        indexes = [models.Index(fields=["sirene_import", "kind", "line"])]

    def __str__(self) -> str:
        return f"{self.line} : {self.reason}"
