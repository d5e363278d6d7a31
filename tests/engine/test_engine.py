"""Property and example tests of the Django-free synergy engine."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from maillage.engine import mutualisation, prospects, reverse_match, substitution
from maillage.engine.classify import classify_text
from maillage.engine.data_model import Establishments, Flows
from maillage.engine.geo import haversine_km
from maillage.engine.impacts import substitution_impacts
from maillage.engine.pairs import UNKNOWN_QUANTITY_TERM, Pairs, score_pairs
from maillage.engine.taxonomy import class_for_waste_code, compiled

TAX = compiled()
C = TAX.index
POOL = [
    C[c]
    for c in (
        "wood_waste",
        "wood_fuel",
        "wood_packaging_waste",
        "pallets",
        "solvents_haz",
        "chemicals_raw",
        "waste_heat_low",
        "heat",
        "cardboard_paper_waste",
        "paper_pulp_raw",
    )
]


def test_engine_imports_no_django():
    import subprocess
    import sys

    code = (
        "import sys, maillage.engine.substitution, maillage.engine.mutualisation, "
        "maillage.engine.prospects, maillage.engine.impacts, maillage.engine.marketplace, "
        "maillage.engine.consortia; "
        "sys.exit(any(m.startswith('django') for m in sys.modules))"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_waste_codes_to_classes():
    assert class_for_waste_code("15 01 03") == "wood_packaging_waste"
    assert class_for_waste_code("03 01 05") == "wood_waste"
    assert class_for_waste_code("17 06 05*") == "asbestos_haz"
    assert class_for_waste_code("10 02 02") == "slag"


def sawmill_and_boiler(distance_deg=0.05):
    est = Establishments.build(
        id=[1, 2, 3],
        lat=[48.5, 48.5 + distance_deg, 48.5],
        lon=[2.6, 2.6, 2.6 + distance_deg],
        division=["16", "35", "10"],
        headcount=[30, 10, 5],
    )
    flows = Flows.build(
        id=[10, 20, 30],
        establishment=[0, 1, 2],
        resource_class=[C["wood_waste"], C["wood_fuel"], C["wood_fuel"]],
        is_offer=[True, False, False],
        quantity=[400.0, 500.0, np.nan],
    )
    return est, flows


def test_a_sawmill_feeds_a_wood_boiler_nearby():
    est, flows = sawmill_and_boiler()
    pairs = substitution.match(est, flows, TAX, k=5)
    assert set(flows.id[pairs.need]) == {20, 30}
    best = pairs.need[0]
    assert flows.id[best] == 20  # known, balanced quantity beats unknown
    assert pairs.coverage[0] == pytest.approx(0.8)
    assert 0 < pairs.score[0] <= 1
    impacts = substitution_impacts(
        TAX,
        flows.resource_class[pairs.offer],
        flows.quantity[pairs.offer],
        flows.quantity[pairs.need],
        pairs.distance_km,
    )
    assert impacts.tonnes_diverted[0] == pytest.approx(400)


def test_too_far_is_not_suggested():
    est, flows = sawmill_and_boiler(distance_deg=3.0)  # > 300 km
    assert len(substitution.match(est, flows, TAX)) == 0


@st.composite
def territories(draw):
    n_est = draw(st.integers(2, 25))
    lat = draw(st.lists(st.floats(48.0, 49.2), min_size=n_est, max_size=n_est))
    lon = draw(st.lists(st.floats(1.5, 3.2), min_size=n_est, max_size=n_est))
    division = draw(
        st.lists(
            st.sampled_from(["16", "35", "38", "10", "17", "62"]), min_size=n_est, max_size=n_est
        )
    )
    n_flows = draw(st.integers(1, 40))
    est_idx = draw(st.lists(st.integers(0, n_est - 1), min_size=n_flows, max_size=n_flows))
    classes = draw(st.lists(st.sampled_from(POOL), min_size=n_flows, max_size=n_flows))
    offers = draw(st.lists(st.booleans(), min_size=n_flows, max_size=n_flows))
    qty = draw(
        st.lists(
            st.one_of(st.just(np.nan), st.floats(0.1, 1e4)), min_size=n_flows, max_size=n_flows
        )
    )
    temp = draw(
        st.lists(st.one_of(st.just(np.nan), st.floats(20, 200)), min_size=n_flows, max_size=n_flows)
    )
    est = Establishments.build(
        id=np.arange(1, n_est + 1) * 7,
        lat=lat,
        lon=lon,
        division=division,
        headcount=np.full(n_est, 10.0),
    )
    flows = Flows.build(
        id=np.arange(1, n_flows + 1) * 3,
        establishment=est_idx,
        resource_class=classes,
        is_offer=offers,
        quantity=qty,
        temperature=temp,
        hazardous=TAX.hazardous[np.array(classes)],
    )
    return est, flows


def as_set(est, flows, pairs):
    return {
        (int(flows.id[o]), int(flows.id[n]), round(float(s), 9))
        for o, n, s in zip(pairs.offer, pairs.need, pairs.score, strict=True)
    }


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(territories(), st.randoms(use_true_random=False))
def test_substitution_properties(territory, rnd):
    est, flows = territory
    pairs = substitution.match(est, flows, TAX, k=5)
    if len(pairs):
        eo, en = flows.establishment[pairs.offer], flows.establishment[pairs.need]
        assert np.all(eo != en)  # no self-match
        d = haversine_km(est.lat[eo], est.lon[eo], est.lat[en], est.lon[en])
        assert np.all(d <= TAX.max_distance_km[flows.resource_class[pairs.offer]] + 1e-9)
        assert np.all((pairs.score >= 0) & (pairs.score <= 1))
        hazardous = flows.hazardous[pairs.offer]
        assert np.all(est.may_receive_hazardous[en][hazardous])
        assert np.all(flows.is_offer[pairs.offer]) and not np.any(flows.is_offer[pairs.need])
        _counts = np.unique(pairs.offer, return_counts=True)[1]
        assert _counts.max() <= 5
        assert len({(o, n) for o, n in zip(pairs.offer, pairs.need, strict=True)}) == len(pairs)
    # independent of the order of establishments and flows
    est_perm = np.array(rnd.sample(range(len(est)), len(est)))
    inverse = np.argsort(est_perm)
    est2 = Establishments(**{f: getattr(est, f)[est_perm] for f in est.__dataclass_fields__})
    flow_perm = np.array(rnd.sample(range(len(flows)), len(flows)))
    flows2 = flows.take(flow_perm)
    flows2 = Flows(**{**flows2.__dict__, "establishment": inverse[flows2.establishment]})
    assert as_set(est2, flows2, substitution.match(est2, flows2, TAX, k=5)) == as_set(
        est, flows, pairs
    )


def test_hazardous_waste_goes_only_to_authorised_receivers():
    est = Establishments.build(
        id=[1, 2, 3],
        lat=[48.5, 48.51, 48.52],
        lon=[2.6, 2.6, 2.6],
        division=["20", "62", "38"],
        headcount=[50, 50, 50],
    )
    flows = Flows.build(
        id=[1, 2, 3],
        establishment=[0, 1, 2],
        resource_class=[C["solvents_haz"], C["chemicals_raw"], C["chemicals_raw"]],
        is_offer=[True, False, False],
        hazardous=[True, False, False],
    )
    pairs = substitution.match(est, flows, TAX)
    assert list(flows.id[pairs.need]) == [3]


def test_heat_flows_downhill_only():
    est = Establishments.build(
        id=[1, 2, 3],
        lat=[48.5, 48.505, 48.51],
        lon=[2.6, 2.6, 2.6],
        division=["63", "01", "10"],
        headcount=[20, 20, 20],
    )
    flows = Flows.build(
        id=[1, 2, 3],
        establishment=[0, 1, 2],
        resource_class=[C["waste_heat_low"], C["heat"], C["heat"]],
        is_offer=[True, False, False],
        temperature=[45.0, 35.0, 80.0],
    )
    pairs = substitution.match(est, flows, TAX)
    assert list(flows.id[pairs.need]) == [2]


def test_mutualisation_groups_neighbours_with_the_same_need():
    n = 6
    est = Establishments.build(
        id=np.arange(1, n + 1),
        lat=48.5 + np.arange(n) * 0.005,
        lon=np.full(n, 2.6),
        division=["62"] * n,
        headcount=[10] * n,
    )
    flows = Flows.build(
        id=np.arange(1, n + 1),
        establishment=np.arange(n),
        resource_class=[C["cardboard_paper_waste"]] * n,
        is_offer=[True] * n,
        quantity=np.full(n, 2.0),
    )
    found = mutualisation.groups(est, flows, TAX)
    assert len(found) == 1
    assert len(found[0].members) == n and found[0].total_quantity == pytest.approx(12.0)


def test_prospects_are_establishments_without_flows_of_a_consuming_sector():
    est = Establishments.build(
        id=[1, 2, 3],
        lat=[48.5, 48.52, 48.51],
        lon=[2.6, 2.6, 2.62],
        division=["16", "35", "62"],
        headcount=[30, 10, 10],
    )
    flows = Flows.build(
        id=[1], establishment=[0], resource_class=[C["wood_waste"]], is_offer=[True]
    )
    found = prospects.find(est, flows, TAX)
    assert 1 in set(found.establishment)  # the energy company (division 35)
    assert 0 not in set(found.establishment)
    assert np.all((found.score >= 0) & (found.score <= 1))


@pytest.mark.parametrize(
    ("text", "direction", "expected"),
    [
        ("Chutes et sciures de hêtre issues du délignage", "offer", "wood_waste"),
        ("PALETTES cassées", "offer", "wood_packaging_waste"),
        ("drêches de brasserie humides", "offer", "brewery_spent_grain"),
        ("Besoin de plaquettes forestières pour la chaudière", "need", "wood_fuel"),
        ("laitiers d’aciérie", "offer", "slag"),
        ("huiles de friture usagées", "offer", "cooking_oil_waste"),
        ("gravats de démolition", "offer", "inert_construction_waste"),
        ("cartons d'emballage", "offer", "cardboard_paper_waste"),
    ],
)
def test_free_text_descriptions_find_their_class(text, direction, expected):
    assert classify_text(text, direction)[0][0] == expected


def test_free_text_without_known_words_gives_nothing():
    assert classify_text("divers", "offer") == []
    assert classify_text("", "offer") == []


def test_a_large_need_beyond_the_nearest_small_ones_is_examined():
    """30 small wood-fuel needs next door and one boiler 40 km away that takes the whole offer:
    the boiler scores best, so candidate generation must not stop at the nearest needs."""
    n_small = 30
    lat = np.r_[48.5, 48.5 + np.arange(1, n_small + 1) * 0.001, 48.5 + 40 / 111.2]
    est = Establishments.build(
        id=np.arange(1, n_small + 3),
        lat=lat,
        lon=np.full(n_small + 2, 2.6),
        division=["16"] + ["56"] * n_small + ["35"],
        headcount=np.full(n_small + 2, 10.0),
    )
    flows = Flows.build(
        id=np.arange(1, n_small + 3),
        establishment=np.arange(n_small + 2),
        resource_class=np.full(n_small + 2, C["wood_fuel"]).tolist(),
        is_offer=[True] + [False] * (n_small + 1),
        quantity=np.r_[5000.0, np.full(n_small, 5.0), 8000.0],
    )
    flows = Flows(
        **{
            **flows.__dict__,
            "resource_class": np.r_[C["wood_waste"], flows.resource_class[1:]].astype(np.int32),
        }
    )
    pairs = substitution.match(est, flows, TAX, k=10)
    assert flows.id[pairs.need[0]] == n_small + 2
    assert pairs.distance_km[0] == pytest.approx(40, abs=0.5)


@pytest.mark.parametrize(
    "text",
    [
        "Gaz sidérurgiques brûlés en chaudières : chaleur disponible 5,3 MW",
        "chaleur excédentaire du four, récupérable",
    ],
)
def test_offered_heat_words_pool_into_waste_heat(text):
    assert classify_text(text, "offer")[0][0].startswith("waste_heat")


def test_offered_gas_alone_stays_gas():
    assert classify_text("Gaz naturel excédentaire", "offer")[0][0] == "natural_gas"


def test_restricted_substitution_goes_only_to_the_receivers_that_practise_it():
    """Stale bread as an ingredient goes to a brewery (11.05), not to a restaurant (56) that
    also buys ingredients; the same restaurant's need for the same class is still matched by an
    offer of that very class."""
    est = Establishments.build(
        id=[1, 2, 3, 4],
        lat=[48.5, 48.501, 48.502, 48.503],
        lon=[2.6, 2.6, 2.6, 2.6],
        division=["10", "56", "11", "01"],
        headcount=[10, 10, 10, 10],
        naf=["10.71C", "56.10A", "11.05Z", "01.13Z"],
    )
    flows = Flows.build(
        id=[1, 2, 3, 4],
        establishment=[0, 1, 2, 3],
        resource_class=[
            C["bakery_waste"],
            C["food_ingredients"],
            C["food_ingredients"],
            C["food_ingredients"],
        ],
        is_offer=[True, False, False, True],
        quantity=[10.0, 10.0, 10.0, 10.0],
    )
    index = substitution.Index.build(est, flows, TAX)
    pairs = index.match(np.array([0]))
    assert list(flows.id[pairs.need]) == [3]
    assert set(flows.id[index.match(np.array([3])).need]) == {2, 3}
    # the reverse query applies the same rule
    assert 1 not in set(flows.id[reverse_match.offers_for_need(index, 1).offer])
    assert 1 in set(flows.id[reverse_match.offers_for_need(index, 2).offer])
    # and so do prospects: a restaurant with no flows is not a prospect for the bread
    est2 = Establishments.build(
        id=[1, 2, 3],
        lat=[48.5, 48.501, 48.502],
        lon=[2.6, 2.6, 2.6],
        division=["10", "56", "11"],
        headcount=[10, 10, 10],
        naf=["10.71C", "56.10A", "11.05Z"],
    )
    flows2 = Flows.build(
        id=[1], establishment=[0], resource_class=[C["bakery_waste"]], is_offer=[True]
    )
    found = prospects.find(est2, flows2, TAX)
    assert 1 not in set(found.establishment[found.resource_class == C["food_ingredients"]])


def test_division_numbers_tolerate_unknown_divisions():
    from maillage.engine.taxonomy import UNKNOWN_DIVISION, division_numbers

    assert list(division_numbers(np.array(["01", "56", "", "x"]))) == [
        1,
        56,
        UNKNOWN_DIVISION,
        UNKNOWN_DIVISION,
    ]


def test_quantity_term_is_the_share_absorbed_whatever_the_scale():
    def term(q_offer, q_need):
        return score_pairs(
            np.array([0.0]),
            10.0,
            np.log1p(np.array([q_offer])),
            np.log1p(np.array([q_need])),
            1.0,
        )[0]

    # a need that takes all of the offer beats one that takes 1.6 % of it, by a wide margin
    assert term(15000, 23000) == pytest.approx(1.0)
    assert term(15000, 240) < 0.7
    # the same share scores about the same at any scale
    assert term(15000, 1500) == pytest.approx(term(1500, 150), abs=0.01)
    # unknown quantities are neutral
    assert term(15000, np.nan) == pytest.approx(0.4 + 0.6 * UNKNOWN_QUANTITY_TERM)


@pytest.mark.parametrize(
    ("plural", "singular_form"),
    [("résidus", "residu"), ("tissus", "tissu"), ("copeaux", "copeau"), ("plus", "plus")],
)
def test_french_plurals_fold_to_the_singular(plural, singular_form):
    from maillage.engine.taxonomy import tokens

    assert tokens(plural) == [singular_form]


def test_plural_keywords_classify_wheat_residues():
    assert classify_text("Résidus de blé de la fabrication de glucose", "offer")[0][0] == (
        "agrifood_byproducts"
    )


def test_no_pair_twice_on_a_generated_territory():
    """The near and size-aware candidate trees overlap; a need must still be suggested once."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
    from generator import ILE_DE_FRANCE, generate

    est, flows = generate(3000, 0, declared_share=0.2, departements=ILE_DE_FRANCE)
    pairs = substitution.match(est, flows, TAX, k=20)
    keys = pairs.offer.astype(np.int64) * len(flows) + pairs.need
    assert len(np.unique(keys)) == len(keys)


def test_energy_recovery_of_recyclable_paper_ranks_below_its_recycling():
    """Waste hierarchy: the same paper, the same distance and quantities, a paper mill and a
    cement kiln burning solid recovered fuel: the mill comes first."""
    est = Establishments.build(
        id=[1, 2, 3],
        lat=[48.5, 48.55, 48.45],
        lon=[2.6, 2.6, 2.6],
        division=["47", "17", "23"],
        headcount=[10, 10, 10],
    )
    flows = Flows.build(
        id=[1, 2, 3],
        establishment=[0, 1, 2],
        resource_class=[
            C["cardboard_paper_waste"],
            C["paper_pulp_raw"],
            C["solid_recovered_fuel"],
        ],
        is_offer=[True, False, False],
        quantity=[50.0, 500.0, 500.0],
    )
    pairs = substitution.match(est, flows, TAX)
    assert list(flows.id[pairs.need]) == [2, 3]
    assert pairs.score[0] > pairs.score[1]
    assert pairs.class_strength[1] < pairs.class_strength[0]


def test_a_direct_user_comes_before_a_waste_operator_farther_away():
    """Plastic film: a plastics processor (22) that takes regrind 3 km away and a waste operator
    (38) that takes plastic waste 6 km away: without the rule the operator's exact class match
    would win; the direct user is the synergy."""
    est = Establishments.build(
        id=[1, 2, 3],
        lat=[48.5, 48.56, 48.47],
        lon=[2.6, 2.6, 2.6],
        division=["46", "38", "22"],
        headcount=[10, 10, 10],
        naf=["46.90Z", "38.32Z", "22.22Z"],
    )
    flows = Flows.build(
        id=[1, 2, 3],
        establishment=[0, 1, 2],
        resource_class=[C["plastic_waste"], C["plastic_waste"], C["recycled_plastic_raw"]],
        is_offer=[True, False, False],
        quantity=[20.0, 200.0, 200.0],
    )
    index = substitution.Index.build(est, flows, TAX)
    pairs = index.match()
    assert list(flows.id[pairs.need]) == [3, 2]
    # the reverse query weighs the operator the same way
    assert reverse_match.offers_for_need(index, 1).class_strength[0] == pytest.approx(0.85)


def test_threads_chunks_and_one_offer_queries_give_the_same_pairs():
    """Chunks run on several threads; neither that, nor the chunk size, nor querying one offer
    at a time may change a pair, its order or its score."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
    from generator import ILE_DE_FRANCE, generate

    est, flows = generate(3000, 1, declared_share=0.2, departements=ILE_DE_FRANCE)
    index = substitution.Index.build(est, flows, TAX)
    serial = index.match(k=20, workers=1)
    fields = Pairs.__dataclass_fields__
    for parallel in (index.match(k=20, workers=2), index.match(k=20, workers=3, chunk=97)):
        for f in fields:
            np.testing.assert_array_equal(getattr(parallel, f), getattr(serial, f))
    offers = np.unique(serial.offer)
    assert len(offers) > 100
    for row in offers[:: len(offers) // 25]:
        alone = index.match(np.array([row]), k=20)
        mine = serial.offer == row
        for f in fields:
            np.testing.assert_array_equal(getattr(alone, f), getattr(serial, f)[mine])
