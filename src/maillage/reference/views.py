"""Autocompletion endpoints over the public reference tables (NAF, communes): JSON lists of at
most 20 entries, each with the text to put in the field and the label to show.

Who: any signed-in user (the tables are public reference data, but the endpoints are part of the
application's forms); anonymous visitors are sent to the login page."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.views.decorators.http import require_GET

from maillage.reference import lookup

MAX_QUERY = 80


def _query(request) -> str:
    return request.GET.get("q", "").replace("\x00", "").strip()[:MAX_QUERY]


@login_required
@require_GET
def naf_suggestions(request):
    results = [
        {"value": lookup.naf_label(n), "label": lookup.naf_label(n), "code": n.code}
        for n in lookup.search_naf(_query(request))
    ]
    return JsonResponse({"results": results})


@login_required
@require_GET
def commune_suggestions(request):
    results = [
        {"value": lookup.commune_label(c), "label": lookup.commune_label(c), "code": c.code}
        for c in lookup.search_communes(_query(request))
    ]
    return JsonResponse({"results": results})
