"""The flows and establishments the live index (``incremental``) takes, as plain records."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from maillage.engine.data_model import NO_WASTE_CODE, Flows


@dataclass(frozen=True)
class EstablishmentRecord:
    """An establishment as the engine reads it (see ``data_model.Establishments``)."""

    id: int
    lat: float
    lon: float
    naf: str  # digits only, as precise as known ("3822", "38")
    headcount: float = np.nan
    may_receive_hazardous: bool | None = None  # None: the default of its NAF code


@dataclass(frozen=True)
class FlowRecord:
    """A flow as the engine reads it (see ``data_model.Flows``), its establishment by id."""

    id: int
    establishment_id: int
    resource_class: int  # position in CompiledTaxonomy.codes
    is_offer: bool
    quantity: float = np.nan
    temperature: float = np.nan
    hazardous: bool = False
    declared: bool = True
    waste_code: int = NO_WASTE_CODE


def one_row(flow: FlowRecord) -> Flows:
    """The flow as a one-row table, its establishment at row 0 (the hazard of its waste code
    added, as for every flow)."""
    code = int(flow.waste_code)
    return Flows.build(
        [flow.id],
        [0],
        [flow.resource_class],
        [flow.is_offer],
        [flow.quantity],
        [flow.temperature],
        [flow.hazardous],
        [flow.declared],
        None if code < 0 else np.array([code], dtype=np.int32),
    )
