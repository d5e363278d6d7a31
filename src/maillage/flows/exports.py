"""The flows' export: the raw resource flows a user may see (``policy.visible_flows``, archived
ones left out), registered as « flux »; each establishment whose flows leave is written to the
audit log, like any other view of them."""

from __future__ import annotations

from collections.abc import Iterator

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from maillage.accounts import services
from maillage.accounts.models import AuditLog
from maillage.exports.datasets import Column, Dataset, register
from maillage.flows import policy
from maillage.spreadsheets import CHUNK, chunks


def _flows(user):
    return (
        policy.visible_flows(user)
        .filter(is_archived=False)
        .select_related("establishment__commune", "resource_class", "waste_code")
        .order_by("establishment_id", "direction", "pk")
    )


FLOW_COLUMNS = [
    Column(gettext_lazy("Identifiant"), lambda f: f.pk),
    Column(gettext_lazy("SIRET"), lambda f: f.establishment.siret),
    Column(gettext_lazy("Établissement"), lambda f: f.establishment.name),
    Column(gettext_lazy("Commune"), lambda f: f.establishment.commune.name),
    Column(gettext_lazy("Sens"), lambda f: f.get_direction_display()),
    Column(gettext_lazy("Catégorie"), lambda f: f.get_category_display()),
    Column(gettext_lazy("Ressource"), lambda f: f.resource_class.label),
    Column(gettext_lazy("Code déchet"), lambda f: f.waste_code.code if f.waste_code else None),
    Column(gettext_lazy("Dangereux"), lambda f: f.hazardous),
    Column(gettext_lazy("Quantité"), lambda f: float(f.quantity)),
    Column(gettext_lazy("Unité"), lambda f: f.unit),
    Column(gettext_lazy("Période"), lambda f: f.get_period_display()),
    Column(gettext_lazy("Quantité annuelle"), lambda f: f.yearly_quantity),
    Column(gettext_lazy("Unité annuelle"), lambda f: f.canonical_unit),
    Column(gettext_lazy("État physique"), lambda f: f.get_physical_state_display()),
    Column(gettext_lazy("Température (°C)"), lambda f: f.temperature_c),
    Column(gettext_lazy("Disponible à partir du"), lambda f: f.available_from),
    Column(gettext_lazy("Disponible jusqu'au"), lambda f: f.available_until),
    Column(gettext_lazy("Description"), lambda f: f.description),
]


def flow_rows(user) -> Iterator[list]:
    """Raw flows, audited: each establishment whose flows are exported is logged once."""
    logged: set[int] = set()
    for chunk in chunks(_flows(user).iterator(chunk_size=CHUNK)):
        new = {f.establishment_id for f in chunk} - logged
        if new:
            services.record_flow_views(
                user, new, detail=_("export des flux"), action=AuditLog.Action.EXPORT
            )
            logged |= new
        for f in chunk:
            yield [c.value(f) for c in FLOW_COLUMNS]


register(
    "flux",
    Dataset(
        gettext_lazy("Flux de ressources"),
        [c.header for c in FLOW_COLUMNS],
        flow_rows,
        lambda user: _flows(user).count(),
        policy.can_export_flows,
    ),
)
