"""Reads of the directory app (through accounts.policy): export advisors and clusters, and the
ranking of both for an SME's export project, with French explanations."""

from __future__ import annotations

import gettext
from functools import lru_cache

from django.utils.translation import gettext as _

from maillage.directory.models import (
    AdvisorContactRequest,
    Cluster,
    ExportAdvisor,
    ExportSector,
)
from maillage.engine import export


@lru_cache(maxsize=1)
def _country_names() -> dict[str, str]:
    import pycountry

    fr = gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=["fr"], fallback=True)
    return {c.alpha_2: fr.gettext(c.name) for c in pycountry.countries}


@lru_cache(maxsize=1)
def _language_names() -> dict[str, str]:
    import pycountry

    fr = gettext.translation("iso639-3", pycountry.LOCALES_DIR, languages=["fr"], fallback=True)
    return {
        lang.alpha_2: fr.gettext(lang.name).lower()
        for lang in pycountry.languages
        if hasattr(lang, "alpha_2")
    }


def country_name(code: str) -> str:
    return _country_names().get(code.upper(), code)


def country_choices() -> list[tuple[str, str]]:
    return sorted(_country_names().items(), key=lambda kv: kv[1])


def sector_name(code: str) -> str:
    return str(dict(ExportSector.choices).get(code, code))


def advisors():
    return ExportAdvisor.objects.order_by("name", "pk")


def clusters():
    return Cluster.objects.prefetch_related("programmes").order_by("name", "pk")


def _why(match: export.Match) -> list[str]:
    reasons = []
    if match.countries:
        reasons.append(
            _("connaît %(c)s") % {"c": ", ".join(country_name(c) for c in match.countries)}
            if match.kind == "advisor"
            else _("programme international : %(c)s")
            % {"c": ", ".join(country_name(c) for c in match.countries)}
        )
    if match.sectors:
        reasons.append(
            _("secteur %(s)s") % {"s": ", ".join(sector_name(s.lower()) for s in match.sectors)}
        )
    if match.languages:
        reasons.append(
            _("parle %(l)s")
            % {"l": ", ".join(_language_names().get(x.lower(), x) for x in match.languages)}
        )
    if match.kind == "advisor" and not match.available:
        reasons.append(_("actuellement peu disponible"))
    return reasons


def matches_for(project, languages: tuple[str, ...] = ("fr",)) -> dict[str, list[dict]]:
    """Advisors and clusters ranked for an export project, each with the reasons."""
    advisor_rows = {a.pk: a for a in advisors()}
    cluster_rows = {c.pk: c for c in clusters()}
    candidates = [
        export.Candidate(
            a.pk,
            "advisor",
            frozenset(a.countries),
            frozenset(a.sectors),
            frozenset(a.languages),
            a.available,
        )
        for a in advisor_rows.values()
    ] + [
        export.Candidate(
            c.pk,
            "cluster",
            frozenset(code for p in c.programmes.all() for code in p.countries),
            frozenset(c.sectors),
        )
        for c in cluster_rows.values()
    ]
    ranked = export.rank(project.countries, project.sectors, candidates, languages)
    out: dict[str, list[dict]] = {"advisors": [], "clusters": []}
    for m in ranked:
        if m.kind == "advisor":
            out["advisors"].append({"advisor": advisor_rows[m.id], "why": _why(m)})
        else:
            out["clusters"].append({"cluster": cluster_rows[m.id], "why": _why(m)})
    return out


def requests_of_establishment(establishment):
    return list(
        AdvisorContactRequest.objects.filter(establishment=establishment)
        .select_related("advisor__user")
        .order_by("-created_at", "-pk")
    )


def requests_to_advisor(user):
    return list(
        AdvisorContactRequest.objects.filter(advisor__user=user)
        .select_related("establishment__commune", "requested_by")
        .order_by("-created_at", "-pk")
    )
