"""Sector profiles and receiver restrictions at NAF group and class level: the most specific level
the taxonomy describes applies, for substitution, prospects and the demo's flows alike."""

from __future__ import annotations

import numpy as np
import pytest

from maillage.engine import prospects, reverse_match, substitution
from maillage.engine.data_model import Establishments, Flows, hazardous_authorisation
from maillage.engine.taxonomy import (
    UNKNOWN_DIVISION,
    compiled,
    naf_falls_under,
    naf_key,
    profile_entries,
)

TAX = compiled()
C = TAX.index


def classes(naf: str, direction: str) -> set[str]:
    return {e.class_code for e in profile_entries(naf) if e.direction == direction}


def territory(nafs: list[str], headcount: float = 50.0) -> Establishments:
    """Establishments 1 km apart on a meridian, in the given order."""
    n = len(nafs)
    return Establishments.build(
        id=np.arange(1, n + 1),
        lat=48.5 + 0.009 * np.arange(n),
        lon=np.full(n, 2.6),
        division=[c[:2] for c in nafs],
        headcount=np.full(n, headcount),
        naf=nafs,
    )


def test_naf_keys_and_ancestry():
    assert naf_key("38.22Z") == "38.22"
    assert naf_key("1721") == "17.21"
    assert naf_key("17.1") == "17.1"
    assert naf_key("1") == "01"
    assert naf_falls_under("38.22Z", ["38.2"])
    assert naf_falls_under("38", ["38"])
    assert not naf_falls_under("38", ["38.2"])  # a division alone is not known to be a 38.2
    assert not naf_falls_under("10.73Z", ["10.71", "10.72", "11"])


def test_each_code_maps_to_its_most_specific_node():
    nodes = TAX.naf_nodes(np.array(["1729", "172", "1712", "17", "3822", "2339", "2332", "", "x9"]))
    keys = [TAX.naf_keys[n] for n in nodes]
    assert keys == ["17.2", "17.2", "17.12", "17", "38.22", "23.3", "23.32", "", ""]
    assert nodes[-1] == UNKNOWN_DIVISION
    # a division alone is its own node, numbered as the division
    assert list(TAX.naf_nodes(np.array(["01", "56", "99"]))) == [1, 56, 99]


def test_vectorised_profiles_equal_the_resolved_profile_of_every_code():
    """The (node x class) weight arrays that prospects use, looked up through ``naf_nodes``, are
    the profile ``profile_entries`` resolves code by code (which the demo uses): for every
    four-digit code and every division."""
    codes = [f"{d:02d}{g}{c}" for d in range(1, 100) for g in range(10) for c in range(10)]
    codes += [f"{d:02d}" for d in range(1, 100)]
    nodes = TAX.naf_nodes(np.array(codes))
    for direction in ("offer", "need"):
        weights = TAX.profile_weight[direction][nodes]
        quantities = TAX.profile_per_employee[direction][nodes]
        for row, code in enumerate(codes):
            expected_w = np.zeros(len(TAX.codes))
            expected_q = np.full(len(TAX.codes), np.nan)
            for e in profile_entries(code):
                if e.direction == direction:
                    expected_w[C[e.class_code]] = e.weight
                    expected_q[C[e.class_code]] = e.t_per_employee_year or np.nan
            np.testing.assert_array_equal(weights[row], expected_w, err_msg=code)
            np.testing.assert_array_equal(quantities[row], expected_q, err_msg=code)


def test_a_group_or_class_replaces_its_division_per_direction():
    # 17.21 (corrugated board) is in group 17.2: board converters, no recovered paper nor pulp
    assert {"cardboard_paper_waste", "paper_pulp_raw"} & classes("17.21Z", "need") == set()
    assert "cardboard_paper_waste" in classes("17.21Z", "offer")
    # 17.12 (paper and board mills) consume recovered paper
    assert "cardboard_paper_waste" in classes("17.12Z", "need")
    # 23.32 (bricks) writes its needs only: its offers are those of group 23.3
    assert classes("23.32Z", "offer") == classes("23.3", "offer")
    assert classes("23.32Z", "need") != classes("23.31Z", "need")
    # a code the data does not refine keeps its division's profile
    assert profile_entries("10.85Z") == profile_entries("10")


@pytest.mark.parametrize(
    ("naf", "direction", "absent"),
    [
        ("38.22Z", "need", "cardboard_paper_waste"),  # hazardous waste treatment
        ("38.31Z", "need", "cardboard_paper_waste"),  # dismantling of wrecks
        ("38.31Z", "need", "food_biowaste"),
        ("38.11Z", "need", "waste_oils_haz"),  # non-hazardous waste collection
        ("23.31Z", "need", "solid_recovered_fuel"),  # ceramic tiles: no kiln fuel substitution
        ("23.31Z", "need", "aggregates"),
        ("41.10A", "need", "aggregates"),  # property developers do not build
        ("22.11Z", "need", "recycled_plastic_raw"),  # tyres are rubber
        ("10.73Z", "offer", "bakery_waste"),  # pasta makers
        ("24.45Z", "need", "ferrous_metal_scrap"),  # non-ferrous metallurgy
        ("24.20Z", "need", "ferrous_metal_scrap"),  # steel tubes: bought as steel, not melted
        ("35.14Z", "need", "wood_fuel"),  # electricity trade: no boiler
        ("49.31Z", "offer", "freight_transport"),  # urban passenger transport
        ("43.34Z", "need", "aggregates"),  # painting and glazing
        ("46.12B", "need", "pallets"),  # trade agents do not handle the goods
        ("10.92Z", "offer", "agrifood_byproducts"),  # pet food: not food-grade ingredients
        ("08.93Z", "offer", "aggregates"),  # salt works are not quarries
        ("08.93Z", "need", "inert_construction_waste"),
    ],
)
def test_implausible_classes_are_gone_from_the_finer_profiles(naf, direction, absent):
    assert absent not in classes(naf, direction)
    # the division's profile (for establishments known only by division) has it: the finer
    # level is what removes it
    assert absent in classes(naf[:2], direction)


def test_cement_kilns_take_recovered_fuel():
    assert "solid_recovered_fuel" in classes("23.51Z", "need")
    assert "solid_recovered_fuel" in classes("23.52Z", "need")


def test_recovered_paper_prospects_are_paper_mills_not_board_converters():
    """A 17.21 establishment is not offered recovered paper as raw material; a 17.12 one is."""
    est = territory(["82.11Z", "17.21A", "17.12Z", "17.29Z"])
    flows = Flows.build(
        id=[1],
        establishment=[0],
        resource_class=[C["cardboard_paper_waste"]],
        is_offer=[True],
        quantity=[30.0],
    )
    found = prospects.find(est, flows, TAX, k=10)
    prospect_naf = {str(est.naf[e]) for e in found.establishment}
    assert "1712" in prospect_naf
    assert not prospect_naf & {"1721", "1729"}


def test_cardboard_prospects_exclude_hazardous_treaters_and_wreck_dismantlers():
    est = territory(["86.10Z", "38.22Z", "38.31Z", "38.11Z", "38.32Z"])
    flows = Flows.build(
        id=[1],
        establishment=[0],
        resource_class=[C["cardboard_paper_waste"]],
        is_offer=[True],
        quantity=[1.0],
    )
    found = prospects.find(est, flows, TAX, k=10)
    prospect_naf = {str(est.naf[e]) for e in found.establishment}
    assert prospect_naf == {"3811", "3832"}


def test_recovered_fuel_prospects_are_kilns_not_tile_makers():
    """Clinic paper as fuel: a cement works (23.51) is a prospect, a tile maker (23.31) is not."""
    est = territory(["86.10Z", "23.31Z", "23.51Z"])
    flows = Flows.build(
        id=[1],
        establishment=[0],
        resource_class=[C["cardboard_paper_waste"]],
        is_offer=[True],
        quantity=[5.0],
    )
    found = prospects.find(est, flows, TAX, k=10)
    # the kiln takes the paper as fuel (R1), by its recovery route or as recovered fuel
    assert {str(est.naf[e]) for e in found.establishment} == {"2351"}


def test_stale_bread_goes_to_a_brewery_not_to_a_pasta_maker():
    """Both declare a need for food ingredients; only the brewery (11.05) practises the
    substitution, the pasta maker (10.73) nearer by does not."""
    est = territory(["10.71C", "10.73Z", "11.05Z"])
    flows = Flows.build(
        id=[1, 2, 3],
        establishment=[0, 1, 2],
        resource_class=[C["bakery_waste"], C["food_ingredients"], C["food_ingredients"]],
        is_offer=[True, False, False],
        quantity=[10.0, 10.0, 10.0],
    )
    index = substitution.Index.build(est, flows, TAX)
    assert list(flows.id[index.match(np.array([0])).need]) == [3]
    assert len(reverse_match.offers_for_need(index, 1)) == 0
    assert list(flows.id[reverse_match.offers_for_need(index, 2).offer]) == [1]


def test_wood_packaging_goes_to_particle_board_not_to_a_sawmill():
    est = territory(["46.90Z", "16.10A", "16.21Z"])
    flows = Flows.build(
        id=[1, 2, 3],
        establishment=[0, 1, 2],
        resource_class=[
            C["wood_packaging_waste"],
            C["wood_raw_material"],
            C["wood_raw_material"],
        ],
        is_offer=[True, False, False],
        quantity=[50.0, 500.0, 500.0],
    )
    pairs = substitution.match(est, flows, TAX)
    assert list(flows.id[pairs.need]) == [3]


def test_wholesale_of_waste_and_scrap_is_an_intermediary():
    """Scrap offered to a scrap dealer (46.77) weighs like a substitution, as to a 38."""
    est = territory(["25.62B", "46.77Z", "24.10Z"])
    flows = Flows.build(
        id=[1, 2, 3],
        establishment=[0, 1, 2],
        resource_class=[C["ferrous_metal_scrap"], C["ferrous_metal_scrap"], C["steel_raw"]],
        is_offer=[True, False, False],
        quantity=[20.0, 20.0, 20.0],
    )
    pairs = substitution.match(est, flows, TAX)
    strength = dict(zip(flows.id[pairs.need], pairs.class_strength, strict=True))
    assert strength[2] == pytest.approx(0.85) and strength[3] == pytest.approx(0.85)


def test_hazardous_authorisation_follows_the_naf_class():
    naf = np.array(["3811", "3812", "3821", "3822", "3831", "3832", "3900", "38", "381", "20"])
    assert list(hazardous_authorisation(naf)) == [
        False,
        True,
        False,
        True,
        True,
        False,
        True,
        True,  # known only as division 38: may be a hazardous-waste operator
        True,
        False,
    ]
    est = territory(["20.14Z", "38.21Z", "38.22Z"])
    flows = Flows.build(
        id=[1, 2, 3],
        establishment=[0, 1, 2],
        resource_class=[C["solvents_haz"]] * 3,
        is_offer=[True, False, False],
        quantity=[5.0, 5.0, 5.0],
        hazardous=[True, False, False],
    )
    assert list(flows.id[substitution.match(est, flows, TAX).need]) == [3]


def test_shredded_tyres_go_to_civil_engineering_not_to_a_house_builder():
    est = territory(["45.20A", "41.20A", "42.11Z"])
    flows = Flows.build(
        id=[1, 2, 3],
        establishment=[0, 1, 2],
        resource_class=[C["rubber_tyres_waste"], C["aggregates"], C["aggregates"]],
        is_offer=[True, False, False],
        quantity=[80.0, 100.0, 100.0],
    )
    assert list(flows.id[substitution.match(est, flows, TAX).need]) == [3]


def test_a_reserved_substitution_looks_past_many_nearer_receivers_of_other_activities():
    """Stale bread (10.71) and thirty nearer pasta makers (10.73) needing food ingredients, then
    a brewery (11.05) farther away: the brewery is found, although more than k needs of the class
    are nearer, because a reserved substitution searches the needs of its receivers only."""
    nafs = ["10.71C"] + ["10.73Z"] * 30 + ["11.05Z"]
    est = territory(nafs)
    n = len(nafs)
    flows = Flows.build(
        id=np.arange(1, n + 1),
        establishment=np.arange(n),
        resource_class=[C["bakery_waste"]] + [C["food_ingredients"]] * (n - 1),
        is_offer=[True] + [False] * (n - 1),
        quantity=np.full(n, 10.0),
    )
    index = substitution.Index.build(est, flows, TAX)
    for k in (1, 5, 20):
        assert list(flows.id[index.match(np.array([0]), k=k).need]) == [n]
