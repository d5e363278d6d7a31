"""The synergies' export: the current suggestions a user may see (``policy.visible_suggestions``),
registered as « suggestions »; a side's name stays hidden where the directory's rules hide it."""

from __future__ import annotations

from collections.abc import Iterator

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from maillage.directory import policy as directory_policy
from maillage.exports.datasets import Dataset, register
from maillage.spreadsheets import CHUNK, chunks
from maillage.synergies import policy
from maillage.synergies.explain import explain
from maillage.synergies.selectors import current_suggestions


def _party(establishment, visible: set[int]) -> tuple[str | None, str | None]:
    """(name, commune) of one side; the name stays hidden when the policy does not show it."""
    if establishment is None:
        return None, None
    name = establishment.name if establishment.pk in visible else _("(non communiqué)")
    return name, establishment.commune.name


SUGGESTION_HEADERS = [
    gettext_lazy("Identifiant"),
    gettext_lazy("Type"),
    gettext_lazy("Statut"),
    gettext_lazy("Ressource"),
    gettext_lazy("Score"),
    gettext_lazy("Distance (km)"),
    gettext_lazy("Quantité par an"),
    gettext_lazy("Unité"),
    gettext_lazy("Tonnes détournées par an"),
    gettext_lazy("tCO2e évitées par an"),
    gettext_lazy("Offre : établissement"),
    gettext_lazy("Offre : commune"),
    gettext_lazy("Besoin : établissement"),
    gettext_lazy("Besoin : commune"),
    gettext_lazy("Prospect"),
    gettext_lazy("Prospect : commune"),
    gettext_lazy("Explication"),
]


def suggestion_rows(user) -> Iterator[list]:
    """One visibility query per chunk of suggestions (never one per row)."""
    for chunk in chunks(current_suggestions(user).iterator(chunk_size=CHUNK)):
        ids: set[int] = set()
        for s in chunk:
            ids.update(f.establishment_id for f in (s.offer_flow, s.need_flow) if f is not None)
            if s.prospect_id:
                ids.add(s.prospect_id)
        visible = directory_policy.visible_establishment_ids(user, ids)
        for s in chunk:
            offer = s.offer_flow.establishment if s.offer_flow else None
            need = s.need_flow.establishment if s.need_flow else None
            yield [
                s.pk,
                s.get_kind_display(),
                s.get_status_display(),
                s.resource_class.label,
                round(s.score, 4),
                s.distance_km,
                s.quantity,
                s.unit,
                s.tonnes_diverted,
                s.co2e_avoided_t,
                *_party(offer, visible),
                *_party(need, visible),
                *_party(s.prospect, visible),
                " ".join(explain(s.kind, s.explanation)),
            ]


register(
    "suggestions",
    Dataset(
        gettext_lazy("Suggestions de synergie"),
        SUGGESTION_HEADERS,
        suggestion_rows,
        lambda user: current_suggestions(user).count(),
        policy.can_export_suggestions,
    ),
)
