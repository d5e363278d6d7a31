"""API schemas (pydantic, through django-ninja)."""

from __future__ import annotations

import datetime
from typing import Annotated, Literal

from ninja import Field, Schema


class Error(Schema):
    detail: str | list | dict


# Database keys: anything larger is answered 422 rather than overflowing the database.
Id = Annotated[int, Field(ge=1, le=2**53)]

# Free-text query parameters: bounded, and no NUL character (PostgreSQL refuses them in text).
Text = Annotated[str, Field(max_length=200, pattern=r"^[^\x00]*$")]
Direction = Literal["", "offer", "need"]
Category = Literal[
    "",
    "material",
    "waste",
    "energy",
    "water",
    "equipment",
    "space",
    "skills",
    "logistics",
    "service",
]
Kind = Literal["", "substitution", "mutualisation", "prospect"]
Status = Literal["", "detected", "proposed", "discussion", "implemented", "abandoned"]

# Every operation may answer these (no or bad token; invalid parameters).
ERRORS: dict = {401: Error, 422: Error}


class EstablishmentOut(Schema):
    id: int
    siret: str
    name: str
    naf: str = Field(..., alias="naf_id")
    naf_label: str = Field(..., alias="naf.label")
    headcount_band: str
    address: str
    commune: str = Field(..., alias="commune_id")
    commune_name: str = Field(..., alias="commune.name")
    departement: str = Field(..., alias="commune.departement_id")
    epci: str | None = Field(None, alias="commune.epci_id")
    latitude: float | None
    longitude: float | None
    is_active: bool


class FlowOut(Schema):
    id: int
    establishment: int = Field(..., alias="establishment_id")
    visit: int | None = Field(None, alias="visit_id")
    direction: str
    category: str
    resource_class: str = Field(..., alias="resource_class_id")
    waste_code: str | None = Field(None, alias="waste_code_id")
    hazardous: bool
    quantity: float
    unit: str
    period: str
    yearly_quantity: float
    canonical_unit: str
    physical_state: str
    temperature_c: float | None
    available_from: datetime.date | None
    available_until: datetime.date | None
    description: str


class VisitOut(Schema):
    id: int
    establishment: int = Field(..., alias="establishment_id")
    advisor: str = Field(..., alias="advisor.username")
    date: datetime.date
    notes: str


class SuggestionOut(Schema):
    id: int
    kind: str
    status: str
    resource_class: str
    score: float
    distance_km: float | None
    quantity: float | None
    unit: str
    tonnes_diverted: float | None
    co2e_avoided_t: float | None
    offer_flow: int | None
    need_flow: int | None
    prospect: int | None
    explanation: list[str]


class StatusIn(Schema):
    status: Literal["detected", "proposed", "discussion", "implemented", "abandoned"]
    note: str = ""
    actual_quantity: float | None = None
    actual_savings_eur: float | None = None
    agreement_on: datetime.date | None = Field(
        None,
        description="sans mise en relation proposée sur la plateforme, pour passer en discussion "
        "ou en mise en œuvre : la date de l'accord obtenu hors plateforme (décrit dans note)",
    )


class PartnerOut(Schema):
    flow: int
    establishment: int | None  # None: the partner's identity is not disclosed to this user
    establishment_name: str | None
    commune: str | None  # None when the partner is anonymised
    resource_class: str
    distance_km: float
    score: float
    coverage: float | None
