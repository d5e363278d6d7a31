"""Spreadsheet import pages (the exports are the exports app's).

Who: chamber staff only (advisors and chamber administrators); what they may write is checked
row by row by the import (their chamber's territory, the establishments they may edit).
"""

from __future__ import annotations

import base64

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _

from maillage.ingest import policy, services
from maillage.ingest.spreadsheet import run
from maillage.ingest.spreadsheet_format import COLUMNS, FileError, template

MAX_BYTES = 5 * 1024 * 1024
SESSION_KEY = "maillage_pending_import"

KIND_LABELS = {
    "etablissements": _("Établissements"),
    "contacts": _("Contacts"),
    "flux": _("Flux de ressources"),
}


class UploadForm(forms.Form):
    kind = forms.ChoiceField(label=_("Contenu"), choices=list(KIND_LABELS.items()))
    file = forms.FileField(label=_("Fichier (XLSX ou CSV)"))

    def clean_file(self):
        f = self.cleaned_data["file"]
        if not f.name.lower().endswith((".xlsx", ".csv")):
            raise forms.ValidationError(_("Format non pris en charge : XLSX ou CSV attendu."))
        if f.size > MAX_BYTES:
            raise forms.ValidationError(_("Fichier trop volumineux (5 Mo au plus)."))
        return f


def _check(user) -> None:
    if not policy.can_import_spreadsheets(user):
        raise PermissionDenied


@login_required
def import_page(request):
    """Upload (dry run), then confirm. The confirmation names the file it confirms by the SHA-256
    of its content: any new upload first discards the pending file, so confirming after a
    rejected upload never imports an earlier file. Each confirmed import is recorded as an
    ImportRun; the page lists the user's own latest ones with their status."""
    _check(request.user)
    context = {"form": UploadForm(), "kinds": KIND_LABELS}
    if request.method == "POST" and "confirm" in request.POST:
        pending = request.session.get(SESSION_KEY)
        if not pending or request.POST.get("digest") != pending["digest"]:
            request.session.pop(SESSION_KEY, None)
            context["file_error"] = _(
                "Ce fichier n'est plus celui en attente de confirmation : déposez-le à nouveau."
            )
        else:
            content = base64.b64decode(pending["content"])
            try:
                _record, result = services.import_file(
                    request.user, pending["kind"], pending["name"], content
                )
            except FileError as exc:
                context["file_error"] = str(exc)
            else:
                del request.session[SESSION_KEY]
                context["result"] = result
                context["file_name"] = pending["name"]
    elif request.method == "POST":
        request.session.pop(SESSION_KEY, None)
        form = UploadForm(request.POST, request.FILES)
        context["form"] = form
        if form.is_valid():
            upload = form.cleaned_data["file"]
            content = upload.read()
            kind = form.cleaned_data["kind"]
            try:
                result = run(request.user, kind, upload.name, content, commit=False)
            except FileError as exc:
                context["file_error"] = str(exc)
            else:
                context["result"] = result
                context["file_name"] = upload.name
                if result.ok:
                    request.session[SESSION_KEY] = {
                        "kind": kind,
                        "name": upload.name,
                        "digest": result.digest,
                        "content": base64.b64encode(content).decode(),
                    }
    context["imports"] = services.recent_imports(request.user)
    return render(request, "ingest/import.html", context)


@login_required
def template_download(request, kind: str):
    _check(request.user)
    if kind not in COLUMNS:
        raise PermissionDenied
    response = HttpResponse(
        template(kind),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Content-Disposition"] = f'attachment; filename="modele_{kind}.xlsx"'
    return response
