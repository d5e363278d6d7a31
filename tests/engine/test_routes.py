"""Recovery routes in the engine: the flow's own List of Waste code in ``Flows``, routes that
feed ``substitution.match``, and the platform's outcomes applied to ``prospects.find``."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from maillage.engine import feedback, prospects, reverse_match, routes, substitution
from maillage.engine.data_model import (
    NO_WASTE_CODE,
    Establishments,
    Flows,
    waste_code_numbers,
    waste_code_strings,
)
from maillage.engine.taxonomy import compiled

TAX = compiled()
C = TAX.index


def _line(nafs: list[str], authorised=None) -> Establishments:
    """Establishments 1 km apart on a meridian, in the given order."""
    n = len(nafs)
    return Establishments.build(
        id=np.arange(1, n + 1),
        lat=48.5 + 0.009 * np.arange(n),
        lon=np.full(n, 2.6),
        division=[c[:2] for c in nafs],
        headcount=np.full(n, 50.0),
        naf=nafs,
        may_receive_hazardous=authorised,
    )


def _offer_and_needs(klass, code, needs, hazardous=False):
    """One offer at establishment 0 of ``klass`` with ``code``, then one need per (establishment,
    class) in ``needs``."""
    n = 1 + len(needs)
    return Flows.build(
        id=np.arange(1, n + 1),
        establishment=[0] + [e for e, _c in needs],
        resource_class=[C[klass]] + [C[c] for _e, c in needs],
        is_offer=[True] + [False] * len(needs),
        quantity=[100.0] * n,
        hazardous=[hazardous] + [False] * len(needs),
        waste_code=[code] + [None] * len(needs),
    )


def _matches(est, flows):
    pairs = substitution.match(est, flows, TAX)
    return {
        (
            str(est.naf[flows.establishment[n]]),
            TAX.codes[flows.resource_class[n]],
            routes.operation_code(int(o)),
        )
        for n, o in zip(pairs.need, pairs.operation, strict=True)
    }


# -- 1. the per-flow waste code ------------------------------------------------------------------


def test_waste_codes_in_any_spelling_become_one_number_per_flow():
    codes = waste_code_numbers(["17 04 05", "160506*", "020104", None, "", "1002"])
    assert list(codes) == [170405, 160506, 20104, NO_WASTE_CODE, NO_WASTE_CODE, NO_WASTE_CODE]
    assert list(waste_code_strings(codes[:3])) == ["170405", "160506", "020104"]
    flows = Flows.build(id=[1, 2], establishment=[0, 0], resource_class=[0, 0], is_offer=[1, 1])
    assert list(flows.waste_code) == [NO_WASTE_CODE] * 2
    assert list(flows.take(np.array([1])).waste_code) == [NO_WASTE_CODE]


def test_a_starred_or_absolute_hazardous_code_makes_the_flow_hazardous():
    flows = Flows.build(
        id=[1, 2, 3],
        establishment=[0, 0, 0],
        resource_class=[C["solvents_haz"], C["mineral_waste"], C["ferrous_metal_scrap"]],
        is_offer=[True] * 3,
        waste_code=["14 06 03*", "10 01 01", "17 04 05"],
    )
    assert list(flows.hazardous) == [True, False, False]
    # the recorded hazard of a mirror entry is kept
    flows = Flows.build(
        id=[1], establishment=[0], resource_class=[0], is_offer=[1], hazardous=[True],
        waste_code=["17 05 04"],
    )  # fmt: skip
    assert flows.hazardous[0]


def test_the_code_not_the_class_decides_the_route():
    """Two offers of one class with different codes: each reaches the activities recovering its
    own code. Aluminium dross goes to a non-ferrous recycler's charge; a class without a code
    has no route at all (only class substitutions)."""
    est = _line(["24.42Z", "24.42Z", "24.10Z"])
    code_routes = routes.flow_routes(
        waste_code_numbers(["10 03 16", None]), np.array([False, False])
    )
    assert code_routes.of_flow[0] >= 0 and code_routes.of_flow[1] == -1
    found = code_routes.routes[code_routes.of_flow[0]]
    node = TAX.naf_nodes(est.naf)
    assert found.weight[node[0]] > 0
    with_code = _matches(
        est, _offer_and_needs("mineral_waste", "10 03 16", [(1, "nonferrous_raw")])
    )
    without = _matches(est, _offer_and_needs("mineral_waste", None, [(1, "nonferrous_raw")]))
    assert ("2442", "nonferrous_raw", "R4") in with_code
    assert not without


# -- 2. routes feed substitution.match -----------------------------------------------------------


def test_a_calorific_hazardous_waste_reaches_a_cement_kilns_fuel_need_by_r1():
    # no class substitution from spent solvents to solid recovered fuel
    assert C["solid_recovered_fuel"] not in {t for t, _s in TAX.targets[C["solvents_haz"]]}
    est = _line(["20.14Z", "23.51Z", "10.91Z", "23.61Z"])
    needs = [(1, "solid_recovered_fuel"), (2, "solid_recovered_fuel"), (3, "solid_recovered_fuel")]
    flows = _offer_and_needs("solvents_haz", "07 01 04*", needs, hazardous=True)
    assert _matches(est, flows) == {("2351", "solid_recovered_fuel", "R1")}
    # without the code, the class alone reaches none of them
    without = _offer_and_needs("solvents_haz", None, needs, hazardous=True)
    assert _matches(est, without) == set()


def test_a_mineral_waste_reaches_a_cement_kilns_raw_material_need_by_r5():
    klass = "mineral_waste_haz"
    assert C["cement_raw_materials"] not in {t for t, _s in TAX.targets[C[klass]]}
    est = _line(["24.10Z", "23.51Z", "01.11Z"])
    # oil fly ash (10 01 04*): a kiln's raw material by R5, nothing for a farm's fertiliser need
    needs = [(1, "cement_raw_materials"), (2, "compost_fertiliser")]
    flows = _offer_and_needs(klass, "10 01 04*", needs, True)
    assert _matches(est, flows) == {("2351", "cement_raw_materials", "R5")}
    assert _matches(est, _offer_and_needs(klass, None, needs, True)) == set()


def test_a_hazardous_route_needs_an_authorised_receiver():
    est = _line(["20.14Z", "23.51Z"], authorised=[False, False])
    flows = _offer_and_needs("solvents_haz", "07 01 04*", [(1, "solid_recovered_fuel")], True)
    assert _matches(est, flows) == set()


def test_existing_class_substitutions_are_kept_and_not_doubled():
    """Slag already feeds cement raw materials by class: the pair stays a class pair (no
    operation), found once."""
    est = _line(["24.10Z", "23.51Z"])
    flows = _offer_and_needs("slag", "10 02 02", [(1, "cement_raw_materials")])
    pairs = substitution.match(est, flows, TAX)
    assert len(pairs) == 1 and pairs.operation[0] == routes.NO_OPERATION
    assert pairs.class_strength[0] == pytest.approx(
        dict(TAX.targets[C["slag"]])[C["cement_raw_materials"]]
    )


def test_the_route_weighs_no_more_than_a_substitution_and_by_the_receiver_row():
    est = _line(["20.14Z", "23.51Z"])
    flows = _offer_and_needs("solvents_haz", "07 01 04*", [(1, "solid_recovered_fuel")], True)
    pairs = substitution.match(est, flows, TAX)
    assert 0 < pairs.class_strength[0] <= routes.ROUTE_STRENGTH
    found = routes.route("0701", True) or routes.route("070104", True)
    assert found is not None


HAZARDOUS_CODES = ["07 01 04*", "10 02 07*", "16 05 06*", "13 02 05*", "19 02 05*", "06 01 06*"]
NAF_POOL = ["01.11Z", "01.46Z", "10.91Z", "10.71A", "11.05Z", "02.20Z", "03.22Z", "10.11Z"]
NAF_POOL += ["23.51Z", "38.22Z", "38.12Z", "20.14Z", "24.43Z", "42.11Z", "35.11Z", "17.12Z"]
NEED_POOL = sorted({klass for _op, _p, klass in routes.ROUTE_INPUTS} | {"food_ingredients"})


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from(NAF_POOL), st.sampled_from(NEED_POOL)), min_size=1),
    st.sampled_from(HAZARDOUS_CODES),
    st.sampled_from(["solvents_haz", "mineral_waste_haz", "chemical_waste_haz", "sludge_haz"]),
)
def test_hazardous_codes_never_reach_food_feed_farms_or_unauthorised_receivers(
    receivers, code, klass
):
    nafs = ["20.14Z"] + [naf for naf, _c in receivers]
    est = _line(nafs)
    needs = [(i + 1, c) for i, (_naf, c) in enumerate(receivers)]
    flows = _offer_and_needs(klass, code, needs, hazardous=True)
    pairs = substitution.match(est, flows, TAX)
    receiving = flows.establishment[pairs.need]
    assert np.all(est.may_receive_hazardous[receiving])
    assert not any(str(est.naf[e])[:2] in ("01", "02", "03", "10", "11") for e in receiving)
    assert not np.isin(
        flows.resource_class[pairs.need], [C["animal_feed"], C["food_ingredients"]]
    ).any()


# -- 3. feedback applied to prospects ------------------------------------------------------------


def _outcomes(rows):
    cols = list(zip(*rows, strict=True))
    return feedback.Outcomes(*(np.array(c) for c in cols))


def _ferrous_prospects(outcomes, code="17 04 05"):
    """Steel scrap offered at 0; prospects without flows that recover it by R4: a foundry
    (24.51) 1 km away and a steelworks (24.10) 3 km away, which its stronger route ranks first."""
    est = _line(["38.32Z", "24.51Z", "62.01Z", "24.10Z"])
    flows = Flows.build(
        id=[1],
        establishment=[0],
        resource_class=[C["ferrous_metal_scrap"]],
        is_offer=[True],
        waste_code=[code],
    )
    found = prospects.find(est, flows, TAX, k=1, outcomes=outcomes)
    return [str(est.naf[e]) for e in found.establishment], found


def test_prospects_without_feedback_prefer_the_steelworks():
    first, found = _ferrous_prospects(None)
    assert first == ["2410"] and found.feedback_implemented[0] == 0


def test_implemented_outcomes_lift_a_prospect_past_a_stronger_one():
    outcomes = _outcomes([("170405|24.51", 4, 3, 3, 0, 0, 0)])
    first, found = _ferrous_prospects(outcomes)
    assert first == ["2451"]
    assert found.feedback_implemented[0] == 4


def test_impossible_outcomes_sink_a_prospect():
    outcomes = _outcomes([("170405|24.10", 0, 0, 0, 5, 3, 3)])
    first, found = _ferrous_prospects(outcomes)
    assert first == ["2451"]
    assert found.feedback_impossible[0] == 0  # the one shown was not penalised


def test_prospect_feedback_needs_the_same_minimum_counts():
    # two suggestions, or one receiving company, or one producing company: nothing changes
    for row in [
        ("170405|24.51", 2, 2, 2, 0, 0, 0),
        ("170405|24.51", 6, 3, 1, 0, 0, 0),
        ("170405|24.51", 6, 1, 3, 0, 0, 0),
    ]:
        first, found = _ferrous_prospects(_outcomes([row]))
        assert first == ["2410"] and found.feedback_implemented[0] == 0


def test_prospect_feedback_reads_the_flows_code_not_its_class():
    outcomes = _outcomes([("170405|24.51", 4, 3, 3, 0, 0, 0)])
    # another code of the class, or none: the outcome of 17 04 05 says nothing of it
    assert _ferrous_prospects(outcomes, "12 01 01")[0] == ["2410"]
    assert _ferrous_prospects(outcomes, None)[0] == ["2410"]


def test_integer_keys_agree_with_string_keys():
    naf = feedback.naf_numbers(np.array(["2410", "241", "24", "", "ab"]))
    assert list(naf) == [24104, 2413, 242, -1, -1]
    table = feedback.lookup(_outcomes([("170405|24.10", 3, 2, 2, 0, 0, 0)]))
    assert table is not None
    keys = feedback.number_keys(np.array([170405, 170405, -1]), naf[[0, 1, 0]])
    implemented, impossible = table.counts(keys)
    assert list(implemented) == [3, 0, 0] and list(impossible) == [0, 0, 0]
    assert feedback.lookup(_outcomes([("170405|24.10", 2, 2, 2, 0, 0, 0)])) is None
    assert feedback.lookup(feedback.Outcomes.empty()) is None


def test_a_prospect_found_by_the_flows_code_records_its_operation():
    est = _line(["24.10Z", "23.51Z"])
    flows = Flows.build(
        id=[1], establishment=[0], resource_class=[C["slag"]], is_offer=[True],
        waste_code=["10 02 02"],
    )  # fmt: skip
    found = prospects.find(est, flows, TAX, k=5)
    ops = {
        str(est.naf[e]): routes.operation_code(int(o))
        for e, o in zip(found.establishment, found.operation, strict=True)
    }
    assert ops.get("2351") == "R5"


def test_prospects_of_an_offer_with_a_code_follow_that_codes_route_not_the_class():
    """Aluminium skimmings (10 03 16) recorded as a mineral waste: non-ferrous recyclers take
    them by R4; a quarry that is backfilled with other mineral wastes of the class (R5) is not a
    prospect for this code, though it is for the class without a code."""
    est = _line(["24.10Z", "08.12Z", "24.42Z", "62.01Z"])

    def found(code):
        flows = Flows.build(
            id=[1], establishment=[0], resource_class=[C["mineral_waste"]], is_offer=[True],
            waste_code=[code],
        )  # fmt: skip
        out = prospects.find(est, flows, TAX, k=10)
        return {
            str(est.naf[e]): routes.operation_code(int(o))
            for e, o in zip(out.establishment, out.operation, strict=True)
        }

    assert found("10 03 16") == {"2442": "R4"}
    assert found(None).get("0812") == "R5" and found(None).get("2442") == "R4"


def test_the_reverse_query_finds_route_offers_with_the_same_score_and_operation():
    est = _line(["20.14Z", "23.51Z", "10.91Z"])
    needs = [(1, "solid_recovered_fuel"), (2, "solid_recovered_fuel")]
    flows = _offer_and_needs("solvents_haz", "07 01 04*", needs, hazardous=True)
    index = substitution.Index.build(est, flows, TAX)
    forward = index.match(k=5)
    assert len(forward) == 1
    reverse = reverse_match.offers_for_need(index, int(forward.need[0]), k=5)
    assert list(reverse.offer) == [0]
    assert reverse.operation[0] == forward.operation[0]
    assert routes.operation_code(int(reverse.operation[0])) == "R1"
    assert reverse.score[0] == pytest.approx(forward.score[0], abs=1e-5)
    # the feed mill's need gets no offer: its activity does not recover the solvents
    assert len(reverse_match.offers_for_need(index, 2, k=5)) == 0


def test_coded_offers_keep_at_most_k_pairs_and_the_class_pairs():
    """Offers with codes are grouped by route: each still gets its best ``k`` needs, the same as
    without codes where the route adds no input class."""
    est = _line(["38.32Z"] * 3 + ["24.10Z"] * 8)
    n_offers, needs = 3, [(3 + i, "ferrous_metal_scrap") for i in range(8)]
    flows = Flows.build(
        id=np.arange(1, n_offers + len(needs) + 1),
        establishment=[0, 1, 2] + [e for e, _c in needs],
        resource_class=[C["ferrous_metal_scrap"]] * (n_offers + len(needs)),
        is_offer=[True] * n_offers + [False] * len(needs),
        quantity=np.full(n_offers + len(needs), 10.0),
        waste_code=["17 04 05", "12 01 01", None] + [None] * len(needs),
    )
    coded = substitution.match(est, flows, TAX, k=3)
    assert np.bincount(coded.offer, minlength=3).max() <= 3
    plain = substitution.match(
        est, dataclasses.replace(flows, waste_code=np.full(len(flows), -1, np.int32)), TAX, k=3
    )
    assert sorted(zip(coded.offer, coded.need, strict=True)) == sorted(
        zip(plain.offer, plain.need, strict=True)
    )


def test_a_hazardous_code_reaches_an_activity_that_recovers_it_as_a_prospect_ranked_below():
    """Spent sulphuric acid (06 01 01*): a chemical plant (20.13, acid regeneration R6 under
    2790) is a prospect although its activity is not authorised by default, ranked below the
    same route's authorised receiver; never a farm nor a food plant; without a code (class
    routes) the unauthorised plant is not reached."""
    # the unauthorised plant (1) stands nearer the producer (3) than the authorised one (0)
    est = _line(["20.13B", "20.13B", "01.11Z", "10.51A"], authorised=[True, False, False, False])

    def found(code):
        flows = Flows.build(
            id=[1], establishment=[3], resource_class=[C["chemical_waste_haz"]], is_offer=[True],
            hazardous=[True], waste_code=[code],
        )  # fmt: skip
        out = prospects.find(est, flows, TAX, k=10)
        return dict(zip(out.establishment.tolist(), out.score.tolist(), strict=True))

    with_code = found("06 01 01*")
    assert set(with_code) == {0, 1}
    assert with_code[1] < with_code[0]
    assert 1 not in found(None)
