"""Export page and downloads (/export/). Who: each dataset's owning app's policy
(``exports.datasets.exportable_datasets``: chamber staff, their chamber and agreements; a
company, its own establishments and flows); rows come from that app's visible_* querysets."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import render

from maillage.exports import datasets, files


@login_required
def export_page(request):
    names = datasets.exportable_datasets(request.user)
    if not names:
        raise PermissionDenied
    rows = [
        {
            "name": n,
            "label": datasets.DATASETS[n].label,
            "count": datasets.DATASETS[n].count(request.user),
        }
        for n in names
    ]
    return render(
        request, "exports/export.html", {"datasets": rows, "formats": list(files.FORMATS)}
    )


@login_required
def export_download(request, name: str, fmt: str):
    if fmt not in files.FORMATS or name not in datasets.DATASETS:
        raise Http404
    return files.http_response(request.user, name, fmt)
