"""The directory's export: the establishments a user may see (``policy.visible_establishments``),
registered with the export registry as « etablissements »."""

from __future__ import annotations

from collections.abc import Iterator

from django.utils.translation import gettext_lazy

from maillage.directory import policy
from maillage.exports.datasets import Column, Dataset, register
from maillage.spreadsheets import CHUNK


def _establishments(user):
    return (
        policy.visible_establishments(user).select_related("naf", "commune").order_by("name", "pk")
    )


ESTABLISHMENT_COLUMNS = [
    Column(gettext_lazy("SIRET"), lambda e: e.siret),
    Column(gettext_lazy("Raison sociale ou enseigne"), lambda e: e.name),
    Column(gettext_lazy("Code NAF"), lambda e: e.naf_id),
    Column(gettext_lazy("Activité"), lambda e: e.naf.label),
    Column(gettext_lazy("Tranche d'effectif"), lambda e: e.get_headcount_band_display()),
    Column(gettext_lazy("Adresse"), lambda e: e.address),
    Column(gettext_lazy("Code commune"), lambda e: e.commune_id),
    Column(gettext_lazy("Commune"), lambda e: e.commune.name),
    Column(gettext_lazy("Département"), lambda e: e.commune.departement_id),
    Column(gettext_lazy("EPCI"), lambda e: e.commune.epci_id),
    Column(gettext_lazy("Latitude"), lambda e: e.latitude),
    Column(gettext_lazy("Longitude"), lambda e: e.longitude),
    Column(gettext_lazy("Actif"), lambda e: e.is_active),
    Column(gettext_lazy("Fermé le"), lambda e: e.closed_on),
]


def establishment_rows(user) -> Iterator[list]:
    for e in _establishments(user).iterator(chunk_size=CHUNK):
        yield [c.value(e) for c in ESTABLISHMENT_COLUMNS]


register(
    "etablissements",
    Dataset(
        gettext_lazy("Établissements"),
        [c.header for c in ESTABLISHMENT_COLUMNS],
        establishment_rows,
        lambda user: _establishments(user).count(),
        policy.can_export_establishments,
    ),
)
