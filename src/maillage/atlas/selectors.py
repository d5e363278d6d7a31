"""Reads of the map and the territorial dashboard, always through the apps' ``policy`` modules.

Map layers are GeoJSON FeatureCollections (plain dicts) built with a fixed number of queries,
whatever the number of features; the API serves them as JSON bytes cached per visibility scope
and parameters (``*_json``, see maillage.caching).
"""

from __future__ import annotations

import json
import math
from collections import Counter, defaultdict
from dataclasses import dataclass
from decimal import Decimal
from functools import cache

import shapely
from django.db.models import Count, Q, Sum
from django.utils.formats import number_format

from maillage import caching
from maillage.accounts import policy as accounts_policy
from maillage.accounts.models import Chamber, TerritoryCommune
from maillage.atlas import boundaries, policy
from maillage.directory import policy as directory_policy
from maillage.directory.models import Establishment
from maillage.engine import secrecy
from maillage.engine.taxonomy import CATEGORIES
from maillage.flows import policy as flows_policy
from maillage.flows.models import Flow
from maillage.networks.models import Network
from maillage.reference.models import Commune, Departement, Epci, ResourceClass
from maillage.synergies import policy as synergies_policy
from maillage.synergies.models import Suggestion
from maillage.synergies.partners import distance_band

# One colour per flow category (legend of the map and of the dashboard charts).
COLOURS = {
    "material": "#1f77b4",
    "waste": "#8c564b",
    "energy": "#d62728",
    "water": "#17becf",
    "equipment": "#7f7f7f",
    "space": "#bcbd22",
    "skills": "#9467bd",
    "logistics": "#ff7f0e",
    "service": "#2ca02c",
    "none": "#555555",
}


@dataclass(frozen=True)
class Filters:
    category: str = ""
    resource_class: str = ""
    direction: str = ""
    network: int | None = None
    chamber: int | None = None
    status: str = ""


def collection(features: list[dict], **meta) -> dict:
    return {"type": "FeatureCollection", "features": features, "meta": meta}


def _point(lon: float, lat: float) -> dict:
    return {"type": "Point", "coordinates": [round(lon, 6), round(lat, 6)]}


def _flows(user, f: Filters):
    flows = flows_policy.visible_flows(user).filter(
        is_archived=False, establishment__is_active=True
    )
    if f.category:
        flows = flows.filter(category=f.category)
    if f.resource_class:
        flows = flows.filter(resource_class_id=f.resource_class)
    if f.direction:
        flows = flows.filter(direction=f.direction)
    return flows


def _flow_filtered(f: Filters) -> bool:
    return bool(f.category or f.resource_class or f.direction)


def establishments_layer(user, f: Filters) -> dict:
    """Chamber staff: visible establishments with a position; the colour is the main category of
    the flows the user may read ("none" if none or not readable). Company users: their own
    establishments. Three queries."""
    qs = directory_policy.visible_establishments(user).filter(
        is_active=True, latitude__isnull=False
    )
    if f.chamber:
        qs = qs.filter(commune__territory__chamber_id=f.chamber)
    if f.network:
        qs = qs.filter(memberships__network_id=f.network)
    flows = _flows(user, f)
    if _flow_filtered(f):
        qs = qs.filter(pk__in=flows.values("establishment_id"))
    rows = list(
        qs.values_list("pk", "name", "latitude", "longitude", "commune__name", "naf_id")
        .order_by("pk")
        .distinct()
    )
    ids = [r[0] for r in rows]
    per_establishment: dict[int, Counter] = defaultdict(Counter)
    if ids:
        for est_id, category, n in (
            flows.filter(establishment_id__in=ids)
            .values_list("establishment_id", "category")
            .annotate(n=Count("pk"))
            .order_by()
        ):
            per_establishment[est_id][category] += n
    features = []
    for pk, name, lat, lon, commune, naf in rows:
        counts = per_establishment.get(pk, Counter())
        main = min(counts, key=lambda c: (-counts[c], c)) if counts else "none"
        features.append(
            {
                "type": "Feature",
                "id": pk,
                "geometry": _point(lon, lat),
                "properties": {
                    "id": pk,
                    "kind": "establishment",
                    "name": name,
                    "commune": commune,
                    "naf": naf,
                    "category": main,
                    "colour": COLOURS[main],
                    "categories": sorted(counts),
                    "n_flows": sum(counts.values()),
                },
            }
        )
    return collection(features, layer="establishments", count=len(features))


def _json(layer: dict) -> bytes:
    return json.dumps(layer, separators=(",", ":")).encode()


def establishments_json(user, f: Filters) -> bytes:
    """The establishments layer as the API answers it (a company's opportunities added), cached
    per visibility scope and filters."""

    def build() -> dict:
        layer = establishments_layer(user, f)
        if policy.map_mode(user) == policy.MAP_COMPANY:
            layer["features"] += company_opportunities(user)["features"]
            layer["meta"]["count"] = len(layer["features"])
        return layer

    scope = accounts_policy.visibility_scope(user)
    topics = (caching.DIRECTORY, caching.SYNERGIES)
    return caching.get_or_build("map-establishments", (scope, f), topics, lambda: _json(build()))


def links_json(user, f: Filters, limit: int | None = None) -> bytes:
    """The links layer, cached per visibility scope, filters and limit."""
    scope = accounts_policy.visibility_scope(user)
    return caching.get_or_build(
        "map-links",
        (scope, f, limit),
        (caching.DIRECTORY, caching.SYNERGIES),
        lambda: _json(links_layer(user, f, limit)),
    )


def choropleth_json(user, level: str, f: Filters, unit: str = "t") -> bytes:
    """The choropleth, cached per visibility scope for chamber staff (exact figures) and once for
    everyone else (the public aggregates do not depend on who asks)."""
    exact = policy.map_mode(user) == policy.MAP_CHAMBER
    scope = accounts_policy.visibility_scope(user) if exact else ("public",)
    return caching.get_or_build(
        "map-choropleth",
        (scope, level, f, unit),
        (caching.DIRECTORY,),
        lambda: _json(choropleth_layer(user, level, f, unit, scope if exact else None)),
    )


def _quantity_band(value: float | None, unit: str) -> str:
    """Order of magnitude of an anonymised quantity: « 10 à 100 t/an »."""
    if not value or value <= 0:
        return "—"
    low = 10 ** math.floor(math.log10(value))
    return f"{_fr(low)} à {_fr(low * 10)} {unit}/an"


def quantity_text(value) -> str:
    """A recorded quantity in French without padding zeros: « 12,5 », « 4 217,375 », « 300 »."""
    d = Decimal(str(value)).normalize()
    places = max(0, -int(d.as_tuple().exponent))
    return number_format(d, min(places, 3), use_l10n=True, force_grouping=True)


def _fr(value: float) -> str:
    """A number in the active locale (« 0,1 », « 1 000 »), as the map's own labels print it."""
    digits = max(0, -math.floor(math.log10(value))) if value > 0 else 0
    return number_format(value, digits, use_l10n=True, force_grouping=True)


def company_opportunities(user) -> dict:
    """A company's opportunities, anonymised: drawn at its own site with the distance band as a
    radius; resource, quantity band and distance band only (no other name or position)."""
    qs = (
        synergies_policy.company_opportunities(user)
        .select_related("resource_class", "offer_flow__establishment", "need_flow__establishment")
        .order_by("-score", "pk")[:200]
    )
    own = set(directory_policy.visible_establishments(user).values_list("pk", flat=True))
    features = []
    for s in qs:
        mine, role = (s.offer_flow, "offer")
        if s.offer_flow is None or s.offer_flow.establishment_id not in own:
            mine, role = (s.need_flow, "need")
        site = mine.establishment
        if site.latitude is None:
            continue
        features.append(
            {
                "type": "Feature",
                "id": f"o{s.pk}",
                "geometry": _point(site.longitude, site.latitude),
                "properties": {
                    "kind": "opportunity",
                    "resource": s.resource_class.label,
                    "category": s.resource_class.category,
                    "colour": COLOURS.get(s.resource_class.category, COLOURS["none"]),
                    "role": role,
                    "quantity_band": _quantity_band(s.quantity, s.unit),
                    "distance_band_km": distance_band(s.distance_km or 0.0),
                    "status": s.status,
                },
            }
        )
    return collection(features, layer="opportunities", count=len(features))


LINKS_DEFAULT = 200
LINKS_MAX = 2000


def links_layer(user, f: Filters, limit: int | None = None) -> dict:
    """Synergy links (offer → need) between two establishments the user sees, as lines: the best
    ``limit`` by score (``LINKS_DEFAULT`` unless given, at most ``LINKS_MAX``); ``meta.total`` says how many there are in all
    (up to ``LINKS_MAX``), so that the map can offer the rest on demand."""
    limit = max(1, min(LINKS_DEFAULT if limit is None else limit, LINKS_MAX))
    qs = synergies_policy.visible_suggestions(user).filter(
        is_current=True, offer_flow__isnull=False, need_flow__isnull=False
    )
    if f.status:
        qs = qs.filter(status=f.status)
    if f.category:
        qs = qs.filter(resource_class__category=f.category)
    if f.resource_class:
        qs = qs.filter(resource_class_id=f.resource_class)
    rows = list(
        qs.values_list(
            "pk",
            "status",
            "score",
            "tonnes_diverted",
            "resource_class__label",
            "resource_class__category",
            "offer_flow__establishment_id",
            "offer_flow__establishment__longitude",
            "offer_flow__establishment__latitude",
            "need_flow__establishment_id",
            "need_flow__establishment__longitude",
            "need_flow__establishment__latitude",
        ).order_by("-score", "pk")[:LINKS_MAX]
    )
    ends = {r[6] for r in rows} | {r[9] for r in rows}
    visible = directory_policy.visible_establishment_ids(user, ends)
    labels = dict(Suggestion.Status.choices)
    features = []
    for pk, status, score, tonnes, label, category, a, ax, ay, b, bx, by in rows:
        if a not in visible or b not in visible or None in (ax, ay, bx, by):
            continue
        features.append(
            {
                "type": "Feature",
                "id": pk,
                "geometry": {
                    "type": "LineString",
                    "coordinates": [[round(ax, 6), round(ay, 6)], [round(bx, 6), round(by, 6)]],
                },
                "properties": {
                    "id": pk,
                    "kind": "link",
                    "status": status,
                    "status_label": str(labels.get(status, status)),
                    "score": round(score, 3),
                    "tonnes_diverted": tonnes,
                    "resource": label,
                    "category": category,
                    "colour": COLOURS.get(category, COLOURS["none"]),
                    "offer": a,
                    "need": b,
                },
            }
        )
    total = len(features)
    features = features[:limit]
    return collection(
        features, layer="links", count=len(features), total=total, truncated=total > limit
    )


LEVELS = {"epci": "commune__epci_id", "commune": "commune_id"}


def choropleth_layer(user, level: str, f: Filters, unit: str = "t", scope=None) -> dict:
    """Yearly quantities (canonical ``unit``) of flows by EPCI or commune.

    Chamber staff: the flows they may read, over the areas of their visible territory (exact).
    Everyone else: all flows, but each area's figures are published only under statistical
    secrecy (``engine.secrecy``): at least ``accounts_policy.PUBLIC_MIN_GROUP`` establishments, the largest
    under 85 % of the total and the two largest under 90 %.
    ``scope``: the user's ``visibility_scope`` when the caller already has it."""
    key = LEVELS[level]
    exact = policy.map_mode(user) == policy.MAP_CHAMBER
    every_chamber = set(Chamber.objects.values_list("pk", flat=True))
    if exact:
        directory_ids, flow_ids = accounts_policy.scope_chamber_ids(
            scope or accounts_policy.visibility_scope(user)
        )
        chamber_ids = directory_ids or every_chamber
        readable = flow_ids or every_chamber  # superusers read every flow
        flows = _flows(user, f)
        establishments = directory_policy.visible_establishments(user)
    else:
        chamber_ids = readable = every_chamber
        flows = Flow.objects.filter(is_archived=False, establishment__is_active=True)
        if f.category:
            flows = flows.filter(category=f.category)
        if f.resource_class:
            flows = flows.filter(resource_class_id=f.resource_class)
        if f.direction:
            flows = flows.filter(direction=f.direction)
        establishments = Establishment.objects.all()
    if f.chamber:
        chamber_ids &= {f.chamber}
    establishments = establishments.filter(
        is_active=True, commune__territory__chamber_id__in=chamber_ids
    )
    flows = flows.filter(establishment__commune__territory__chamber_id__in=chamber_ids)
    n_est = dict(establishments.values_list(key).annotate(n=Count("pk")).order_by())
    # Per area, each establishment's contribution: the public figure is checked against the
    # frequency and dominance rules of ``engine.secrecy`` (one site must not make the total).
    contributions: dict[str, list[float]] = defaultdict(list)
    for area, total in (
        flows.filter(canonical_unit=unit)
        .values_list("establishment__" + key, "establishment_id")
        .annotate(total=Sum("yearly_quantity"))
        .order_by()
        .values_list("establishment__" + key, "total")
    ):
        contributions[area].append(total or 0.0)
    communes = TerritoryCommune.objects.filter(chamber_id__in=chamber_ids)
    # Areas where the user reads flows (a partner under a "matching" agreement shows no quantity).
    area_of = "commune__epci_id" if level == "epci" else "commune_id"
    with_flows = set(communes.filter(chamber_id__in=readable).values_list(area_of, flat=True))
    if level == "epci":
        pairs = set(
            communes.exclude(commune__epci_id=None).values_list("commune__epci_id", "commune_id")
        )
        codes = {epci for epci, _commune in pairs}
        departements = {boundaries.departement_of(commune) for _epci, commune in pairs}
        names = dict(Epci.objects.filter(pk__in=codes).values_list("pk", "name"))
    else:
        codes = set(communes.values_list("commune_id", flat=True))
        departements = {boundaries.departement_of(code) for code in codes}
        names = dict(Commune.objects.filter(pk__in=codes).values_list("pk", "name"))
    # The drawn shapes of the territories' départements (small precomputed files, as the
    # background): the France-wide caches would take seconds to parse on a first request.
    shapes: dict[str, dict] = {}
    for dep in sorted(departements):
        shapes.update(boundaries.background_shapes(level if level == "epci" else "communes", dep))
    features = []
    for code in sorted(codes):
        geometry = shapes.get(code)
        if geometry is None:
            continue
        count = n_est.get(code, 0)
        parts = contributions.get(code, [])
        total = math.fsum(parts)
        if exact:
            shown_count = count
            shown_total = round(total, 3) if code in with_flows else None
        else:
            shown_count = secrecy.public_count(count, accounts_policy.PUBLIC_MIN_GROUP)
            shown_total = (
                round(total, 1)
                if secrecy.is_publishable(parts, min_group=accounts_policy.PUBLIC_MIN_GROUP)
                else None
            )
        features.append(
            {
                "type": "Feature",
                "id": code,
                "geometry": geometry,
                "properties": {
                    "code": code,
                    "name": names.get(code, code),
                    "establishments": shown_count,
                    "quantity": shown_total,
                    "unit": unit,
                },
            }
        )
    return collection(
        features,
        layer=f"choropleth-{level}",
        count=len(features),
        exact=exact,
        min_group=accounts_policy.PUBLIC_MIN_GROUP,
    )


BACKGROUND_LEVELS = ("departements", "epci", "communes")


def background_layer(level: str = "departements", departement: str = "") -> bytes | None:
    """Offline background, serialised once per level (public reference data, no company data).

    * ``departements``: the départements around the chambers' territories (every département if
      no territory is defined yet), at about 1 km precision (drawn at every zoom);
    * ``epci``: the EPCI of those départements, at about 300 m (drawn from zoom 9);
    * ``communes``: the communes of one ``departement`` at about 100 m (drawn from zoom 11, one
      département at a time, as the map pans), ``None`` for an unknown département."""
    deps = frozenset(
        TerritoryCommune.objects.values_list("commune__departement_id", flat=True).distinct()
    )
    if level == "epci":
        return _epci_background(_area_departements(deps))
    if level == "communes":
        if not Departement.objects.filter(pk=departement).exists():
            return None
        return _communes_background(departement)
    return _background(deps)


def _dump(features: list[dict], layer: str) -> bytes:
    data = collection(features, layer=layer, count=len(features))
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()


def _feature(code: str, geometry: dict, name: str) -> dict:
    return {
        "type": "Feature",
        "id": code,
        "geometry": geometry,
        "properties": {"code": code, "name": name},
    }


@cache
def _area_departements(territory_departements: frozenset[str]) -> frozenset[str]:
    """The départements drawn around the territories (all of them without a territory)."""
    geoms = {
        code: shapely.from_geojson(json.dumps(g))
        for code, g in boundaries.background_departements().items()
    }
    if territory_departements:
        core = [geoms[c] for c in territory_departements if c in geoms]
        area = shapely.buffer(shapely.envelope(shapely.union_all(core)), 0.5) if core else None
        if area is not None:
            return frozenset(c for c, g in geoms.items() if shapely.intersects(g, area))
    return frozenset(geoms)


# The drawn geometries are precomputed per département (boundaries.background_*): a request only
# reads small files and attaches the names.


@cache
def _background(territory_departements: frozenset[str]) -> bytes:
    names = dict(Departement.objects.values_list("pk", "name"))
    shapes = boundaries.background_departements()
    features = [
        _feature(code, shapes[code], names.get(code, code))
        for code in sorted(_area_departements(territory_departements))
    ]
    return _dump(features, "departements")


@cache
def _epci_background(departements: frozenset[str]) -> bytes:
    codes = set(
        Commune.objects.filter(departement_id__in=departements)
        .exclude(epci_id=None)
        .values_list("epci_id", flat=True)
    )
    names = dict(Epci.objects.filter(pk__in=codes).values_list("pk", "name"))
    shapes: dict[str, dict] = {}
    for dep in sorted(departements):
        shapes.update(boundaries.background_shapes("epci", dep))
    features = [
        _feature(code, shapes[code], names.get(code, code))
        for code in sorted(codes)
        if code in shapes
    ]
    return _dump(features, "epci")


@cache
def _communes_background(departement: str) -> bytes:
    names = dict(Commune.objects.filter(departement_id=departement).values_list("pk", "name"))
    shapes = boundaries.background_shapes("communes", departement)
    features = [
        _feature(code, shapes[code], name) for code, name in sorted(names.items()) if code in shapes
    ]
    return _dump(features, f"communes-{departement}")


TOWNS_LIMIT = 300


def towns_layer(bbox: tuple[float, float, float, float], min_population: int = 0) -> dict:
    """Labels of the main towns in a view (west, south, east, north): town-hall points of the
    communes from ``min_population`` inhabitants, the most populous first (public reference)."""
    west, south, east, north = bbox
    rows = (
        Commune.objects.filter(
            longitude__gte=west,
            longitude__lte=east,
            latitude__gte=south,
            latitude__lte=north,
            population__gte=min_population,
        )
        .order_by("-population", "code")
        .values_list("code", "name", "population", "longitude", "latitude")[:TOWNS_LIMIT]
    )
    features = [
        {
            "type": "Feature",
            "id": code,
            "geometry": _point(lon, lat),
            "properties": {"code": code, "name": name, "population": population},
        }
        for code, name, population, lon, lat in rows
        if lon is not None and lat is not None  # (the box already leaves unplaced ones out)
    ]
    return collection(features, layer="towns", count=len(features))


def filter_choices(user) -> dict:
    """Values offered by the map's filters (only networks and chambers the user may know of)."""
    chambers = list(
        accounts_policy.visible_chambers(user).order_by("name").values_list("pk", "name")
    )
    networks = []
    if policy.map_mode(user) == policy.MAP_CHAMBER:
        networks = list(
            Network.objects.filter(
                Q(chamber__in=[pk for pk, _n in chambers]) | Q(chamber__isnull=True)
            )
            .order_by("name")
            .values_list("pk", "name")
        )
    return {
        "categories": list(CATEGORIES.items()),
        "classes": list(
            ResourceClass.objects.order_by("category", "label").values_list("code", "label")
        ),
        "chambers": chambers,
        "networks": networks,
        "statuses": list(Suggestion.Status.choices),
        "colours": COLOURS,
    }
