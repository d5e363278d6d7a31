"""Exports of establishments, resource flows and synergy suggestions to CSV (for Excel in French:
« ; » separator, UTF-8 with a byte-order mark, decimal comma) and to XLSX (openpyxl's write-only
mode), streamed in chunks so that memory stays flat however long the list.

What a user gets is decided by the owning apps' policies only (the same querysets as the pages and the
API); exported raw flows are written to the audit log like any other advisor view of them.
"""

from __future__ import annotations

import datetime
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import IO, Any

from django.core.exceptions import PermissionDenied
from django.http import StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from maillage.accounts import services
from maillage.accounts.models import AuditLog
from maillage.directory import policy as directory_policy
from maillage.flows import policy as flows_policy
from maillage.ingest import policy
from maillage.spreadsheets import (  # noqa: F401  (the writers are part of this module's API)
    CHUNK,
    chunks,
    csv_cell,
    csv_chunks,
    write_csv,
    write_xlsx,
)
from maillage.synergies import policy as synergies_policy
from maillage.synergies.explain import explain

FORMATS = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


@dataclass(frozen=True)
class Column:
    header: Any  # lazy translation
    value: Callable[[Any], Any]


@dataclass(frozen=True)
class Dataset:
    label: Any
    headers: list  # lazy translations
    rows: Callable[[Any], Iterator[list]]  # user → rows (already filtered by the policy)
    count: Callable[[Any], int]


# Establishments ---------------------------------------------------------------------------------


def _establishments(user):
    return (
        directory_policy.visible_establishments(user)
        .select_related("naf", "commune")
        .order_by("name", "pk")
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


# Flows ------------------------------------------------------------------------------------------


def _flows(user):
    return (
        flows_policy.visible_flows(user)
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


# Suggestions ------------------------------------------------------------------------------------


def _suggestions(user):
    return (
        synergies_policy.visible_suggestions(user)
        .filter(is_current=True)
        .select_related(
            "resource_class",
            "offer_flow__establishment__commune",
            "need_flow__establishment__commune",
            "prospect__commune",
        )
        .order_by("-score", "pk")
    )


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
    for chunk in chunks(_suggestions(user).iterator(chunk_size=CHUNK)):
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


DATASETS: dict[str, Dataset] = {
    "etablissements": Dataset(
        gettext_lazy("Établissements"),
        [c.header for c in ESTABLISHMENT_COLUMNS],
        establishment_rows,
        lambda user: _establishments(user).count(),
    ),
    "flux": Dataset(
        gettext_lazy("Flux de ressources"),
        [c.header for c in FLOW_COLUMNS],
        flow_rows,
        lambda user: _flows(user).count(),
    ),
    "suggestions": Dataset(
        gettext_lazy("Suggestions de synergie"),
        SUGGESTION_HEADERS,
        suggestion_rows,
        lambda user: _suggestions(user).count(),
    ),
}


def dataset_for(user, name: str) -> Dataset:
    """The dataset, if the policy lets this user export it (PermissionDenied otherwise)."""
    if name not in DATASETS or name not in policy.exportable_datasets(user):
        raise PermissionDenied(_("Vous n'avez pas accès à cet export."))
    return DATASETS[name]


def headers(dataset: Dataset) -> list[str]:
    return [str(h) for h in dataset.headers]


# Writers ----------------------------------------------------------------------------------------


def export(
    user, name: str, fmt: str, out: IO[bytes], progress: Callable[[int], None] | None = None
) -> None:
    """Write the export ``name`` in format ``fmt`` ("csv" or "xlsx") to a binary file;
    ``progress`` is told of every row written."""
    dataset = dataset_for(user, name)
    rows = dataset.rows(user)
    if progress is not None:
        rows = _reporting(rows, progress)
    if fmt == "csv":
        write_csv(out, headers(dataset), rows)
    elif fmt == "xlsx":
        write_xlsx(out, str(dataset.label), headers(dataset), rows)
    else:
        raise ValueError(_("Format inconnu « %(fmt)s » : csv ou xlsx.") % {"fmt": fmt})


def _reporting(rows: Iterable[list], progress: Callable[[int], None]) -> Iterator[list]:
    for row in rows:
        yield row
        progress(1)


def xlsx_file(user, name: str) -> IO[bytes]:
    """The XLSX export in an anonymous temporary file (deleted when closed), rewound."""
    spool = tempfile.TemporaryFile()  # noqa: SIM115 (closed by the caller: a FileResponse)
    try:
        export(user, name, "xlsx", spool)
    except BaseException:
        spool.close()
        raise
    spool.seek(0)
    return spool


class _FileChunks:
    """A temporary file sent in chunks and closed once read, or when dropped: a client that
    never calls the response's close() (some WSGI test transports) still leaks no file."""

    def __init__(self, file: IO[bytes]):
        self.file = file

    def __iter__(self):
        return self

    def __next__(self) -> bytes:
        data = self.file.read(64 * 1024)
        if not data:
            self.close()
            raise StopIteration
        return data

    def close(self) -> None:
        self.file.close()

    def __del__(self):
        self.file.close()


def filename(name: str, fmt: str) -> str:
    return f"maillage_{name}_{datetime.date.today():%Y%m%d}.{fmt}"


def http_response(user, name: str, fmt: str) -> HttpResponseBase:
    """The download, for the web page and the API: CSV streamed as it is written, XLSX built in
    a temporary file then streamed. PermissionDenied when the policy refuses the dataset."""
    dataset = dataset_for(user, name)
    response: HttpResponseBase
    if fmt == "csv":
        response = StreamingHttpResponse(
            csv_chunks(headers(dataset), dataset.rows(user)), content_type=FORMATS["csv"]
        )
    elif fmt == "xlsx":
        spool = xlsx_file(user, name)
        size = spool.seek(0, 2)
        spool.seek(0)
        response = StreamingHttpResponse(_FileChunks(spool), content_type=FORMATS["xlsx"])
        response["Content-Length"] = str(size)
    else:
        raise ValueError(_("Format inconnu « %(fmt)s » : csv ou xlsx.") % {"fmt": fmt})
    response["Content-Disposition"] = f'attachment; filename="{filename(name, fmt)}"'
    return response
