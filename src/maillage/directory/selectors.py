"""Reads of the directory app (through directory.policy): export advisors and clusters, and the
ranking of both for an SME's export project, with French explanations."""

from __future__ import annotations

import gettext
import unicodedata
from functools import lru_cache

import pycountry
from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef
from django.utils.translation import gettext as _

from maillage.directory import policy
from maillage.directory.models import (
    Cluster,
    ExportAdvisor,
    ExportContactRequest,
    ExportSector,
)
from maillage.engine import export


@lru_cache(maxsize=1)
def _country_names() -> dict[str, str]:
    fr = gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=["fr"], fallback=True)
    return {c.alpha_2: fr.gettext(c.name) for c in pycountry.countries}


@lru_cache(maxsize=1)
def _language_names() -> dict[str, str]:
    fr = gettext.translation("iso639-3", pycountry.LOCALES_DIR, languages=["fr"], fallback=True)
    return {
        lang.alpha_2: fr.gettext(lang.name).lower()
        for lang in pycountry.languages
        if hasattr(lang, "alpha_2")
    }


def country_name(code: str) -> str:
    return _country_names().get(code.upper(), code)


def country_choices() -> list[tuple[str, str]]:
    return sorted(_country_names().items(), key=lambda kv: _fold(kv[1]))


def _fold(text: str) -> str:
    """Case- and accent-insensitive form of a name (« Viêt Nam » → « viet nam »)."""

    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(plain.replace("-", " ").replace("’", "'").split())


@lru_cache(maxsize=1)
def _country_lookup() -> dict[str, str]:
    """Folded French name, English names and ISO codes (alpha-2 and alpha-3) → alpha-2 code."""
    french = _country_names()
    lookup: dict[str, str] = {}
    for c in pycountry.countries:
        names = [c.name, getattr(c, "common_name", ""), getattr(c, "official_name", "")]
        for name in names:
            if name:
                lookup.setdefault(_fold(name), c.alpha_2)
    for code, name in french.items():
        lookup[_fold(name)] = code  # French names win over an English homograph
        # « Maroc » for « Maroc (le) »-style names: also the part before a parenthesis or comma.
        short = name.split("(")[0].split(",")[0].strip()
        lookup.setdefault(_fold(short), code)
    for c in pycountry.countries:
        lookup[_fold(c.alpha_2)] = c.alpha_2
        lookup.setdefault(_fold(c.alpha_3), c.alpha_2)
    return lookup


def country_code(text: str) -> str | None:
    """The ISO 3166 alpha-2 code of a country typed by its French or English name or its code
    (« Maroc », « maroc », « Viet Nam », « MA », « MAR »); None if unknown."""
    return _country_lookup().get(_fold(text))


def country_codes(texts: list[str]) -> list[str]:
    """Codes of the countries typed (one per item, blanks skipped), sorted and unique; a
    ValidationError on ``countries`` names every item not recognised, in French."""

    codes, unknown = set(), []
    for text in texts:
        text = text.strip()
        if not text:
            continue
        code = country_code(text)
        if code is None:
            unknown.append(text)
        else:
            codes.add(code)
    if unknown:
        raise ValidationError(
            {
                "countries": _(
                    "Pays inconnu : %(names)s. Tapez le nom du pays en français (ex. Maroc, "
                    "Viêt Nam) ou son code ISO (MA, VN)."
                )
                % {"names": ", ".join(f"« {t} »" for t in unknown)}
            }
        )
    return sorted(codes)


def country_names_text(codes: list[str]) -> str:
    """Stored codes shown back in a form field as French names, comma-separated."""
    return ", ".join(country_name(c) for c in codes)


def sector_name(code: str) -> str:
    return str(dict(ExportSector.choices).get(code, code))


def advisors():
    return ExportAdvisor.objects.order_by("name", "pk")


def clusters():
    """Clusters with their programmes; ``has_contacts`` says whether one may ask for a contact."""
    contacts = Cluster.managers.through.objects.filter(cluster_id=OuterRef("pk"))
    return (
        Cluster.objects.prefetch_related("programmes")
        .annotate(has_contacts=Exists(contacts))
        .order_by("name", "pk")
    )


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


def language_name(code: str) -> str:
    return _language_names().get(code.lower(), code)


def _with_parties(qs):
    return qs.select_related(
        "establishment__commune", "requested_by", "advisor__user", "cluster", "answered_by"
    ).order_by("-created_at", "-pk")


def requests_of_establishment(establishment):
    """The SME's requests (the caller has checked that the user may manage its project)."""
    return list(_with_parties(ExportContactRequest.objects.filter(establishment=establishment)))


def requests_addressed_to(user):
    """An export advisor's or a cluster contact's inbox: pending requests first."""
    rows = list(_with_parties(policy.export_requests_addressed_to(user)))
    pending = ExportContactRequest.Status.PENDING
    return [r for r in rows if r.status == pending] + [r for r in rows if r.status != pending]


def visible_requests(user):
    """Every request the user may see (their inbox and their SMEs' own), newest first, each
    annotated ``addressed_to_me``."""

    addressed = policy.export_requests_addressed_to(user).filter(pk=OuterRef("pk"))
    return _with_parties(policy.visible_export_requests(user)).annotate(
        addressed_to_me=Exists(addressed)
    )


def export_request(user, pk: int):
    """One request, or None when the user may not see it."""
    req = _with_parties(ExportContactRequest.objects.filter(pk=pk)).first()
    if req is None or not policy.can_view_export_request(user, req):
        return None
    return req


def addressee_contact(user, req) -> dict | None:
    """What the SME's side sees of the addressee once accepted: name, organisation, e-mail,
    phone (the advisor; for a cluster, the contact who answered)."""
    if not policy.can_see_export_contacts(user, req):
        return None
    if req.advisor_id:
        a = req.advisor
        return {
            "name": a.name,
            "organisation": a.organisation,
            "email": a.user.email,
            "phone": a.phone,
        }
    person = req.answered_by
    return {
        "name": (person.get_full_name() or person.username) if person else "",
        "organisation": req.cluster.name,
        "email": person.email if person else "",
        "phone": "",
    }


def requester_contact(user, req) -> dict | None:
    """What the addressee sees of the SME once accepted: who asked, their e-mail, the address."""
    if not policy.can_see_export_contacts(user, req):
        return None
    e = req.establishment
    return {
        "name": req.requested_by.get_full_name() or req.requested_by.username,
        "email": req.requested_by.email,
        "establishment": e.name,
        "address": ", ".join(x for x in (e.address, e.commune.name) if x),
    }


def describe_request(req) -> dict:
    """The SME's declared project as carried by the request, in French."""
    return {
        "countries": [country_name(c) for c in req.countries],
        "sectors": [sector_name(s) for s in req.sectors],
    }
