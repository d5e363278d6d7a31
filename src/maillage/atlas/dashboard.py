"""The territorial dashboard: what a chamber's territory (or one of its départements / EPCI)
recorded and achieved, by month, and its XLSX export. Reads only; the scope comes from
``forms.DashboardFilter``, itself limited by ``atlas.policy.dashboard_chambers``."""

from __future__ import annotations

import csv
import io

from django.db.models import Count, DateField, Q, Sum
from django.db.models.functions import Coalesce, TruncDate, TruncMonth
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Font

from maillage import caching
from maillage.accounts.models import TerritoryCommune
from maillage.atlas import charts
from maillage.atlas.forms import Scope
from maillage.atlas.selectors import COLOURS
from maillage.directory.models import Establishment
from maillage.engine.taxonomy import CATEGORIES, DIRECTIONS
from maillage.flows.models import Flow, Visit
from maillage.reference.models import Departement, Epci
from maillage.spreadsheets import csv_cell, neutralise_xlsx_cell
from maillage.synergies.models import Suggestion, SuggestionEvent
from maillage.synergies.selectors import realised_impact


def _communes(scope: Scope):
    communes = TerritoryCommune.objects.filter(chamber_id=scope.chamber_id)
    if scope.departement:
        communes = communes.filter(commune__departement_id=scope.departement)
    if scope.epci:
        communes = communes.filter(commune__epci_id=scope.epci)
    return communes.values("commune_id")


def _month(value) -> str:
    return f"{value:%Y-%m}" if value else ""


def _month_range(keys: list[str]) -> list[str]:
    """Every "YYYY-MM" from the earliest to the latest of ``keys`` (none when empty)."""
    if not keys:
        return []
    first, last = min(keys), max(keys)
    year, mon = int(first[:4]), int(first[5:7])
    out = []
    while f"{year:04d}-{mon:02d}" <= last:
        out.append(f"{year:04d}-{mon:02d}")
        year, mon = (year + 1, 1) if mon == 12 else (year, mon + 1)
    return out


def cached(scope: Scope) -> dict:
    """``build(scope)`` through the shared cache: the page and both exports of one scope read
    the same entry until a write to what it counts (establishments, territories, flows, visits,
    suggestions and their history) renews a topic. The key is the scope itself, which the form
    has already limited to the chambers the reader may see."""
    return caching.get_or_build(
        "dashboard",
        (scope.chamber_id, scope.departement, scope.epci),
        (caching.DIRECTORY, caching.SYNERGIES, caching.ACTIVITY),
        lambda: build(scope),
    )


def build(scope: Scope) -> dict:
    """All figures of the dashboard, a fixed number of queries."""
    communes = _communes(scope)
    establishments = Establishment.objects.filter(commune__in=communes)
    visits = Visit.objects.filter(establishment__commune__in=communes)
    flows = Flow.objects.filter(establishment__commune__in=communes, is_archived=False)
    suggestions = Suggestion.objects.filter(chamber_id=scope.chamber_id).filter(
        Q(offer_flow__establishment__commune__in=communes)
        | Q(need_flow__establishment__commune__in=communes)
        | Q(prospect__commune__in=communes)
    )

    by_category: dict[str, dict] = {
        code: {"label": label, "offer": 0, "need": 0, "tonnes": 0.0}
        for code, label in CATEGORIES.items()
    }
    for category, direction, n, tonnes in (
        flows.values_list("category", "direction")
        .annotate(n=Count("pk"), t=Sum("yearly_quantity", filter=Q(canonical_unit="t")))
        .order_by()
        .values_list("category", "direction", "n", "t")
    ):
        by_category[category][direction] = n
        by_category[category]["tonnes"] += tonnes or 0.0
    status_counts = dict(
        suggestions.values_list("status").annotate(n=Count("pk", distinct=True)).order_by()
    )
    by_status = [(label, status_counts.get(code, 0)) for code, label in Suggestion.Status.choices]

    implemented = list(
        suggestions.filter(status=Suggestion.Status.IMPLEMENTED)
        .select_related("resource_class")
        .distinct()
        .order_by("-tonnes_diverted", "pk")
    )
    # Month of the (last) move to "implemented" of each synergy, from the pipeline history.
    implemented_at = dict(
        SuggestionEvent.objects.filter(
            suggestion__in=[s.pk for s in implemented], to_status=Suggestion.Status.IMPLEMENTED
        )
        .order_by("at", "pk")
        .values_list("suggestion_id", "at")
    )
    # The quantities actually exchanged where recorded, as the suggestion's own page shows them.
    impacts = [
        {
            "pk": s.pk,
            "kind": s.get_kind_display(),
            "resource": s.resource_class.label,
            "tonnes": impact["tonnes"] or 0.0,
            "co2e": impact["co2e"] or 0.0,
            "distance_km": impact["distance_km"],
            "actual_quantity": s.actual_quantity,
            "unit": s.unit,
            "savings": s.actual_savings_eur,
            "month": _month(implemented_at.get(s.pk)),
        }
        for s in implemented
        for impact in (realised_impact(s),)
    ]

    months: dict[str, dict] = {}

    def month(key: str) -> dict:
        return months.setdefault(
            key,
            {"visits": 0, "visited": 0, "flows": 0, "implemented": 0, "tonnes": 0.0, "co2e": 0.0},
        )

    for m, n, visited in (
        visits.annotate(m=TruncMonth("date"))
        .values_list("m")
        .annotate(n=Count("pk"), v=Count("establishment", distinct=True))
        .order_by()
        .values_list("m", "n", "v")
    ):
        month(_month(m))["visits"] += n
        month(_month(m))["visited"] += visited
    # A flow counts in the month of the visit that recorded it (else the month it was entered).
    for m, n in (
        flows.annotate(
            m=TruncMonth(Coalesce("visit__date", TruncDate("created_at"), output_field=DateField()))
        )
        .values_list("m")
        .annotate(n=Count("pk"))
        .order_by()
        .values_list("m", "n")
    ):
        month(_month(m))["flows"] += n
    for row in impacts:
        if row["month"]:
            month(row["month"])["implemented"] += 1
            month(row["month"])["tonnes"] += row["tonnes"]
            month(row["month"])["co2e"] += row["co2e"]
    for key in _month_range([k for k in months if k]):
        month(key)  # a month with nothing recorded is a row of zeros, not a gap
    monthly = [{"month": k, **v} for k, v in sorted(months.items()) if k]

    areas = _by_area(scope, establishments, visits, flows)

    kpis = {
        "establishments": establishments.filter(is_active=True).count(),
        "visited": visits.values("establishment_id").distinct().count(),
        "visits": visits.count(),
        "flows": flows.count(),
        "implemented": len(impacts),
        "tonnes": sum(r["tonnes"] for r in impacts),
        "co2e": sum(r["co2e"] for r in impacts),
    }
    categories = list(by_category.values())
    return {
        "kpis": kpis,
        "categories": categories,
        "by_status": by_status,
        "impacts": impacts,
        "monthly": monthly,
        "areas": areas,
        "charts": {
            "tonnes": charts.bar_chart(
                [(c["label"], c["tonnes"]) for c in categories],
                COLOURS["waste"],
                _("Tonnage annuel des flux par catégorie"),
            ),
            "status": charts.bar_chart(by_status, "#0b6e4f", _("Suggestions par statut")),
            "visits": charts.column_chart(
                [(r["month"], r["visits"]) for r in monthly[-24:]],
                "#1f77b4",
                _("Visites par mois"),
            ),
            "impact": charts.column_chart(
                [(r["month"], r["tonnes"]) for r in monthly[-24:]],
                "#2ca02c",
                _("Tonnes détournées par mois (synergies mises en œuvre)"),
            ),
        },
    }


def _by_area(scope: Scope, establishments, visits, flows) -> list[dict]:
    """One row per EPCI (per département when the whole chamber is shown and it spans several):
    establishments, visited ones, flows and their tonnage. Four grouped queries."""

    by_departement = not scope.epci and not scope.departement
    key = "commune__departement_id" if by_departement else "commune__epci_id"
    model = Departement if by_departement else Epci
    n_est = dict(
        establishments.filter(is_active=True).values_list(key).annotate(n=Count("pk")).order_by()
    )
    n_visited = dict(
        visits.values_list("establishment__" + key)
        .annotate(n=Count("establishment_id", distinct=True))
        .order_by()
    )
    flow_rows = {
        area: (n, t)
        for area, n, t in flows.values_list("establishment__" + key)
        .annotate(n=Count("pk"), t=Sum("yearly_quantity", filter=Q(canonical_unit="t")))
        .order_by()
        .values_list("establishment__" + key, "n", "t")
    }
    names = dict(model.objects.filter(pk__in=set(n_est) | set(flow_rows)).values_list("pk", "name"))
    rows = [
        {
            "code": code,
            "name": names.get(code, _("sans EPCI")),
            "establishments": n_est.get(code, 0),
            "visited": n_visited.get(code, 0),
            "flows": flow_rows.get(code, (0, 0.0))[0],
            "tonnes": flow_rows.get(code, (0, 0.0))[1] or 0.0,
        }
        for code in set(n_est) | set(flow_rows)
    ]
    rows.sort(key=lambda r: (-r["establishments"], str(r["name"])))
    return rows


def tables(d: dict, scope: Scope) -> list[tuple[str, list, list[tuple]]]:
    """The dashboard's tables as (title, header, rows), for the XLSX and CSV exports."""
    return [
        (
            _("Synthèse"),
            [_("Indicateur"), _("Valeur")],
            [
                (_("Périmètre"), scope.label),
                (_("Établissements actifs"), d["kpis"]["establishments"]),
                (_("Établissements visités"), d["kpis"]["visited"]),
                (_("Visites"), d["kpis"]["visits"]),
                (_("Flux recensés"), d["kpis"]["flows"]),
                (_("Synergies mises en œuvre"), d["kpis"]["implemented"]),
                (_("Tonnes détournées par an"), round(d["kpis"]["tonnes"], 3)),
                (_("tCO2e évitées par an"), round(d["kpis"]["co2e"], 3)),
            ],
        ),
        (
            _("Flux par catégorie"),
            [_("Catégorie"), DIRECTIONS["offer"], DIRECTIONS["need"], _("Tonnes par an")],
            [(c["label"], c["offer"], c["need"], round(c["tonnes"], 3)) for c in d["categories"]],
        ),
        (
            _("Par territoire"),
            [
                _("Code"),
                _("Territoire"),
                _("Établissements actifs"),
                _("Établissements visités"),
                _("Flux recensés"),
                _("Tonnes par an"),
            ],
            [
                (
                    r["code"] or "",
                    str(r["name"]),
                    r["establishments"],
                    r["visited"],
                    r["flows"],
                    round(r["tonnes"], 3),
                )
                for r in d["areas"]
            ],
        ),
        (
            _("Suggestions par statut"),
            [_("Statut"), _("Nombre")],
            [(str(label), n) for label, n in d["by_status"]],
        ),
        (
            _("Synergies mises en œuvre"),
            [
                _("Type"),
                _("Ressource"),
                _("Mois"),
                _("Tonnes détournées par an"),
                _("tCO2e évitées par an"),
                _("Distance (km)"),
                _("Quantité réelle par an"),
                _("Unité"),
                _("Économies annuelles (€)"),
            ],
            [
                (
                    r["kind"],
                    r["resource"],
                    r["month"],
                    r["tonnes"],
                    r["co2e"],
                    r["distance_km"],
                    r["actual_quantity"],
                    r["unit"],
                    r["savings"],
                )
                for r in d["impacts"]
            ],
        ),
        (
            _("Par mois"),
            [
                _("Mois"),
                _("Visites"),
                _("Établissements visités"),
                _("Flux recensés"),
                _("Synergies mises en œuvre"),
                _("Tonnes détournées par an"),
                _("tCO2e évitées par an"),
            ],
            [
                (
                    r["month"],
                    r["visits"],
                    r["visited"],
                    r["flows"],
                    r["implemented"],
                    r["tonnes"],
                    r["co2e"],
                )
                for r in d["monthly"]
            ],
        ),
    ]


def to_xlsx(d: dict, scope: Scope) -> bytes:
    """The dashboard's tables, one sheet each (openpyxl)."""
    wb = Workbook()
    wb.remove(wb.active)
    for title, header, rows in tables(d, scope):
        ws = wb.create_sheet(title[:31])
        ws.append([str(h) for h in header])
        for cell in ws[1]:
            cell.font = Font(bold=True)
        for row in rows:
            ws.append(list(row))
        # Territory and category names are data: never let one be read as a formula.
        for line in ws.iter_rows():
            for cell in line:
                neutralise_xlsx_cell(cell)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def to_csv(d: dict, scope: Scope) -> bytes:
    """The dashboard's tables one after the other in one CSV for French spreadsheet programs
    (the conventions of the data exports: « ; », UTF-8 with a byte-order mark, decimal comma,
    no formula): each table is its title line, its header, its rows and an empty line."""

    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    for title, header, rows in tables(d, scope):
        writer.writerow([csv_cell(str(title))])
        writer.writerow([csv_cell(str(h)) for h in header])
        for row in rows:
            writer.writerow([csv_cell(v) for v in row])
        writer.writerow([])
    return ("\ufeff" + out.getvalue()).encode()
