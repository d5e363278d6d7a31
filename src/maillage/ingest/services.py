"""Committed spreadsheet imports, each recorded as an ImportRun (who, which file, status)."""

from __future__ import annotations

import hashlib

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from maillage import runs
from maillage.ingest.models import ImportRun
from maillage.ingest.spreadsheet import ERRORS_SHOWN, ImportResult, run
from maillage.ingest.spreadsheet_format import FileError


def import_file(user, kind: str, name: str, content: bytes) -> tuple[ImportRun, ImportResult]:
    """Write the file (all or nothing) and record the run: done with its counts, or failed with
    the reason; a FileError is raised again for the caller to show. The import runs in one
    transaction, so a process killed meanwhile leaves the run "running" (recovered as failed by
    the stale rule) and has written nothing."""
    record = ImportRun.objects.create(
        requested_by=user,
        chamber_id=getattr(user, "chamber_id", None),
        kind=kind[:20],
        file_name=name[:255],
        digest=hashlib.sha256(content).hexdigest(),
    )
    record.start()
    try:
        result = run(user, kind, name, content, commit=True, each_row=_each_row)
    except FileError as exc:
        record.fail(str(exc))
        raise
    except Exception:
        record.fail(_("Erreur inattendue pendant l'écriture : rien n'a été écrit."))
        raise
    if result.errors:
        record.fail(
            ngettext(
                "%(n)s erreur : rien n'a été écrit. Corrigez le fichier et déposez-le à nouveau.",
                "%(n)s erreurs : rien n'a été écrit. Corrigez le fichier et déposez-le à nouveau.",
                len(result.errors),
            )
            % {"n": len(result.errors)},
            rows=result.rows,
            errors=[
                {"line": e.line, "column": e.column, "message": e.message}
                for e in result.errors[:ERRORS_SHOWN]
            ],
        )
    else:
        record.finish(rows=result.rows, created=result.created, updated=result.updated)
    return record, result


def _each_row(n: int) -> None:
    # No heartbeat here: the row would be written inside the import's transaction, unseen
    # until it commits. Only the fault tests' slow-down hook runs per row.
    runs.slow_down()


def recent_imports(user, limit: int = 10):
    """The user's own latest imports (the import page shows nobody else's), lost ones
    recovered as failed first."""
    mine = ImportRun.objects.filter(requested_by=user)
    runs.recover_stale(mine)
    return mine.order_by("-created_at", "-pk")[:limit]
