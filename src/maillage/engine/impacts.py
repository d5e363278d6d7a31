"""Estimated impacts of a substitution: tonnes diverted from disposal, CO2e avoided net of transport.

For a mass flow of a waste class: diverted = the exchanged quantity (the smaller of offer and need);
CO2e avoided = diverted × (disposal − recovery + avoided production) − diverted × distance × the road
freight factor. For heat and steam the factors are per MWh and there is no road transport.
Factors: data/emission_factors.csv (ADEME Base Carbone, see data/SOURCES.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from maillage.engine.taxonomy import CompiledTaxonomy, emission_factors

TRANSPORT_KEY = "_transport_truck"
DEFAULT_TRUCK_KG_PER_TKM = 0.1


@dataclass(frozen=True)
class Impacts:
    exchanged: np.ndarray  # quantity in the offer class's canonical unit per year, NaN if unknown
    tonnes_diverted: np.ndarray  # t/yr diverted from disposal (0 when the offer is not a waste)
    co2e_avoided_t: np.ndarray  # tCO2e/yr, net of transport; NaN when unknown
    transport_tkm: np.ndarray


def factor_table(tax: CompiledTaxonomy) -> np.ndarray:
    """(classes, 3) array of disposal, recovery and avoided kgCO2e per unit (NaN if unknown)."""
    factors = emission_factors()
    table = np.full((len(tax.codes), 3), np.nan)
    for code, i in tax.index.items():
        if code in factors:
            table[i] = factors[code]
    return table


def substitution_impacts(
    tax: CompiledTaxonomy,
    source_class: np.ndarray,
    q_offer: np.ndarray,
    q_need: np.ndarray,
    distance_km: np.ndarray,
) -> Impacts:
    exchanged = np.fmin(q_offer, q_need)  # NaN only when both are unknown
    exchanged = np.where(np.isfinite(q_offer) & np.isfinite(q_need), exchanged, np.nan)
    categories = np.array(tax.category)[source_class]
    units = np.array(tax.unit)[source_class]
    is_mass = units == "t"
    is_waste = categories == "waste"
    diverted = np.where(is_mass & is_waste, np.nan_to_num(exchanged), 0.0)
    table = factor_table(tax)[source_class]
    benefit_kg = exchanged * (table[:, 0] - table[:, 1] + table[:, 2])
    truck = emission_factors().get(TRANSPORT_KEY, (DEFAULT_TRUCK_KG_PER_TKM, 0, 0))[0]
    tkm = np.where(is_mass, np.nan_to_num(exchanged) * distance_km, 0.0)
    co2e = (benefit_kg - tkm * truck) / 1000.0
    return Impacts(
        exchanged=exchanged, tonnes_diverted=diverted, co2e_avoided_t=co2e, transport_tkm=tkm
    )
