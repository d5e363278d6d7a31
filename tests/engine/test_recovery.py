"""The recovery knowledge: List of Waste codes → recovery operations → receiving activities."""

from __future__ import annotations

import csv

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from maillage.engine import recovery
from maillage.engine.data_model import hazardous_authorisation
from tests.conftest import SHARED_DATA

LOW_FILE = SHARED_DATA / "ewc_liste_dechets_fr_en.csv"


def _low() -> dict[str, bool]:
    with LOW_FILE.open(encoding="utf-8") as fh:
        return {row["code"]: row["dangerous"] == "True" for row in csv.DictReader(fh)}


LOW = _low()
HAZARDOUS_CODES = sorted(code for code, danger in LOW.items() if danger)
# Food, drink, feed, farming, forestry, fishing: never a receiver of hazardous waste.
FOOD_FEED_FARM = ["01.11Z", "01.41Z", "01.50Z", "02.10Z", "03.22Z", "10.91Z", "10.11Z", "11.05Z"]
FOOD_FEED_FARM += ["10.41A", "10.71A", "10.51A", "10.92Z", "01.61Z", "10.81Z"]


def test_operations_are_the_annex_ii_codes():
    assert list(recovery.OPERATIONS) == [f"R{i}" for i in range(1, 14)]
    assert recovery.OPERATIONS["R9"].startswith("Régénération")


@pytest.mark.parametrize(
    "code, first",
    [
        ("10 01 05", "R5"),  # desulphurisation gypsum: plaster or cement raw material
        ("100105", "R5"),
        ("13 02 05*", "R9"),  # mineral engine oil: re-refining first
        ("14 06 03*", "R2"),  # solvents: regeneration before burning
        ("02 03 04", "R3"),
        ("06 01 06*", "R6"),
        ("19 12 10", "R1"),  # solid recovered fuel
        ("17 04 05", "R4"),
    ],
)
def test_operations_for_waste_preferred_first(code, first):
    ops = recovery.operations_for_waste(code)
    assert ops[0] == first
    assert set(ops) <= set(recovery.OPERATIONS)


def test_every_row_names_a_real_list_of_waste_entry_and_its_hazard():
    for prefix, row in recovery.waste_table().items():
        if len(prefix) == 6:
            assert prefix in LOW, prefix
            assert ("hazardous" in row.properties) == LOW[prefix], prefix
        else:
            assert any(code.startswith(prefix) for code in LOW), prefix
        assert row.sources and row.operations


def test_every_chapter_of_the_list_has_operations():
    for code in LOW:
        assert recovery.operations_for_waste(code), code


@pytest.mark.parametrize(
    "waste, naf, operation",
    [
        ("10 01 05", "23.62Z", "R5"),  # FGD gypsum → plasterboard
        ("100105", "2351Z", "R5"),  # → cement (set regulator)
        ("10 02 01", "23.51", "R5"),  # slag → cement
        ("10 02 01", "42.11Z", "R5"),  # slag → road building
        ("10 02 07*", "24.43Z", "R4"),  # EAF dust → zinc recycler
        ("10 02 10", "24.10Z", "R4"),  # mill scale → steel works
        ("10 09 08", "23.51Z", "R5"),  # foundry sand → cement
        ("14 06 03*", "38.22Z", "R2"),  # solvents → regenerator
        ("14 06 03*", "23.51Z", "R1"),  # solvents → cement kiln as fuel
        ("13 02 05*", "19.20Z", "R9"),
        ("15 01 01", "17.12Z", "R3"),
        ("02 03 04", "10.91Z", "R3"),  # unfit food → feed
        ("19 08 05", "01.11Z", "R10"),
        ("19 12 10", "35.30Z", "R1"),
        ("15 01 07", "23.13Z", "R5"),
        ("06 01 06*", "20.13Z", "R6"),
        ("05 01 16", "20.13Z", "R5"),  # refinery sulphur → sulphuric acid
        ("10 10 08", "23.99Z", "R5"),  # foundry sand → asphalt plant
        ("02 03 04", "20.14Z", "R3"),  # plant residues → ethanol distillery
    ],
)
def test_operation_for_known_routes(waste, naf, operation):
    assert recovery.operation_for(waste, naf) == operation


@pytest.mark.parametrize(
    "waste, naf",
    [
        ("14 06 03*", "10.91Z"),  # hazardous solvent never to feed
        ("10 02 07*", "01.11Z"),
        ("15 01 07", "24.10Z"),  # glass is not recovered by a steel works
        ("13 02 05*", "23.62Z"),
        ("02 03 04", "24.10Z"),
        ("19 08 05", "62.01Z"),
    ],
)
def test_operation_for_none_where_no_route(waste, naf):
    assert recovery.operation_for(waste, naf) is None


def test_a_star_or_an_explicit_flag_makes_a_mirror_entry_hazardous():
    # 17 05 04 soils are non-hazardous, 17 05 03* hazardous: only authorised activities take them
    assert recovery.operation_for("17 05 04", "08.12Z") == "R5"
    assert recovery.operation_for("17 05 04", "08.12Z", hazardous=True) is None
    assert recovery.operation_for("17 05 03*", "38.22Z") == "R5"


def test_rubriques_and_defaults():
    assert "2771" in recovery.receiver_rubriques("R1", "23.51Z")
    assert "2770" in recovery.receiver_rubriques("R1", "2351Z")
    assert "2790" in recovery.receiver_rubriques("R2", "38.22")
    assert recovery.receiver_rubriques("R9", "10.91Z") == ()
    assert "2771" in recovery.default_rubriques("23.51Z")
    assert "2790" in recovery.default_rubriques("3822Z")
    assert recovery.default_rubriques("10.71A") == ()


def test_hazardous_rows_name_a_hazardous_rubrique():
    for row in recovery.receiver_table():
        if row.hazardous_ok:
            assert recovery.HAZARDOUS_RUBRIQUES.intersection(row.rubriques), row
            assert not row.naf.startswith(("01", "02", "03", "10", "11")), row


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(HAZARDOUS_CODES), st.sampled_from(FOOD_FEED_FARM), st.booleans())
def test_hazardous_waste_never_goes_to_food_feed_or_farms(code, naf, spaced):
    # hazardous entries are written with their star (as the list prints them)
    written = (f"{code[:2]} {code[2:4]} {code[4:]}" if spaced else code) + "*"
    assert recovery.operation_for(written, naf) is None
    assert not any(key.startswith(naf[:2]) for key in recovery.receivers_of_waste(written))


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(sorted(LOW)), st.sampled_from(FOOD_FEED_FARM))
def test_any_waste_flagged_hazardous_never_goes_to_food_feed_or_farms(code, naf):
    assert recovery.operation_for(code, naf, hazardous=True) is None


def test_code_and_naf_spellings_agree():
    assert recovery.operation_for("10 01 05", "23.62Z") == recovery.operation_for("100105", "2362")
    assert recovery.operation_for("100105", "23.62") == "R5"


def test_cement_kilns_may_receive_hazardous_waste_by_default_but_not_division_23():
    naf = np.array(["2351", "2352", "235", "23", "1091", "3822", "38"])
    assert list(hazardous_authorisation(naf)) == [True, False, False, False, False, True, True]


# -- the recovery knowledge feeds prospects ------------------------------------------------------

from maillage.engine import prospects  # noqa: E402
from maillage.engine.data_model import Establishments, Flows  # noqa: E402
from maillage.engine.taxonomy import compiled  # noqa: E402

TAX = compiled()
C = TAX.index


def _line(nafs: list[str]) -> Establishments:
    """Establishments 1 km apart on a meridian, in the given order (default authorisations)."""
    n = len(nafs)
    return Establishments.build(
        id=np.arange(1, n + 1),
        lat=48.5 + 0.009 * np.arange(n),
        lon=np.full(n, 2.6),
        division=[c[:2] for c in nafs],
        headcount=np.full(n, 50.0),
        naf=nafs,
    )


def _prospect_nafs(nafs: list[str], klass: str, hazardous: bool = False) -> set[str]:
    est = _line(nafs)
    flows = Flows.build(
        id=[1], establishment=[0], resource_class=[C[klass]], is_offer=[True], hazardous=[hazardous]
    )
    found = prospects.find(est, flows, TAX, k=10)
    return {str(est.naf[e]) for e in found.establishment}


def test_steel_slag_finds_a_road_builder_and_a_zinc_recycler_takes_steel_dust():
    # neither profile lists a need that slag can feed: only the recovery routes reach them
    assert TAX.profile_weight["need"][TAX.naf_nodes(np.array(["4211"]))[0], C["slag"]] == 0
    found = _prospect_nafs(["24.10Z", "42.11Z", "62.01Z", "24.43Z"], "slag")
    assert {"4211", "2443"} <= found and "6201" not in found


def test_hazardous_solvents_go_to_a_cement_kiln_and_a_regenerator_not_to_a_feed_mill():
    found = _prospect_nafs(["20.30Z", "10.91Z", "23.51Z", "38.22Z", "01.11Z"], "solvents_haz", True)
    assert found == {"2351", "3822"}


def test_recovery_weight_follows_the_operations_of_the_class():
    node = TAX.naf_nodes(np.array(["2351", "1091", "0111", "2362"]))
    ops = list(recovery.OPERATIONS)
    assert TAX.recovery_weight[node[0], C["fly_ash"]] > 0
    assert ops[TAX.recovery_operation[node[3], C["plaster_waste"]]] == "R5"
    for klass in ("solvents_haz", "waste_oils_haz", "chemical_waste_haz", "sludge_haz"):
        assert TAX.recovery_weight[node[1], C[klass]] == 0
        assert TAX.recovery_weight[node[2], C[klass]] == 0


def test_explanation_names_the_operation_and_the_hazardous_rubrique():
    text = recovery.explanation("R1", "23.51Z", hazardous=True)
    assert text.startswith("Valorisation R1") and "suppose une autorisation ICPE 2770" in text
    assert "ICPE" not in recovery.explanation("R5", "42.11Z", hazardous=False)


HAZARDOUS_CLASSES = sorted(c for c in C if TAX.hazardous[C[c]])
NAF_POOL = ["01.11Z", "01.46Z", "10.91Z", "10.71A", "11.05Z", "02.20Z", "03.22Z"]
NAF_POOL += ["23.51Z", "38.22Z", "38.12Z", "20.14Z", "24.43Z", "42.11Z", "35.11Z", "17.12Z"]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.sampled_from(NAF_POOL), min_size=2, max_size=25),
    st.sampled_from(HAZARDOUS_CLASSES),
    st.integers(0, 10_000),
)
def test_hazardous_offers_never_reach_food_feed_or_farm_prospects(nafs, klass, seed):
    rng = np.random.default_rng(seed)
    n = len(nafs)
    est = Establishments.build(
        id=np.arange(1, n + 1),
        lat=48.5 + rng.uniform(0, 0.1, n),
        lon=2.6 + rng.uniform(0, 0.1, n),
        division=[c[:2] for c in nafs],
        headcount=rng.choice([5.0, 50.0, 500.0], n),
        naf=nafs,
    )
    flows = Flows.build(
        id=[1], establishment=[0], resource_class=[C[klass]], is_offer=[True], hazardous=[True]
    )
    found = prospects.find(est, flows, TAX, k=10)
    assert np.all(est.may_receive_hazardous[found.establishment])
    assert not any(
        str(est.naf[e])[:2] in ("01", "02", "03", "10", "11") for e in found.establishment
    )


def test_every_entry_of_the_list_resolves_to_material_or_energy_recovery_and_properties():
    """Each of the 842 entries resolves (by entry, sub-chapter or chapter) to operations in
    hierarchy order with at least one of R1-R11 and a receiving activity, and to properties;
    the only exceptions are the entries the knowledge documents as going to preparation
    (R12/R13) or treatment only (``recovery.PREPARATION_ONLY``)."""
    assert len(LOW) == 842
    missing = []
    for code in LOW:
        found = recovery.waste_recovery(code)
        assert found is not None, code
        assert found.sources, code
        if code in recovery.PREPARATION_ONLY:
            assert not set(found.operations) - {"R12", "R13"}, code
            continue
        material = [op for op in found.operations if op not in ("R12", "R13")]
        if not material or not found.properties:
            missing.append(code)
            continue
        assert recovery.receivers_of_waste(code, LOW[code]), code
        # waste hierarchy: preparation last
        ranks = [list(recovery.OPERATIONS).index(op) for op in found.operations]
        assert all(r < 11 for r in ranks[: len(material)]), code
    assert not missing, missing


def test_a_non_hazardous_entry_is_never_taken_for_hazardous_and_a_starred_one_always():
    """A mirror or absolute non-hazardous entry of a sub-chapter whose row is marked hazardous
    (05 07 02 sulphur, 19 02 10 combustible waste...) stays non-hazardous."""
    for code, danger in LOW.items():
        if danger:
            assert recovery.is_hazardous(code + "*"), code
        else:
            assert not recovery.is_hazardous(code), code


def test_every_source_key_of_the_recovery_rows_is_described_in_sources_md():
    """Each row cites keys of the table of the section « Valorisation » of SOURCES.md."""
    from importlib import resources

    text = resources.files("maillage.engine").joinpath("data", "SOURCES.md").read_text("utf-8")
    section = text[text.index("## Valorisation") :]
    described = {
        line.split("|")[1].strip() for line in section.splitlines() if line.startswith("| ")
    }
    used = {key for row in recovery.waste_table().values() for key in row.sources}
    used |= {key for row in recovery.receiver_table() for key in row.sources}
    assert used - {"clé"} <= described, used - described


def _class_weight(klass: str, naf: str) -> float:
    found = recovery.best_for_naf(recovery.class_receivers().get(klass, {}), naf)
    return found[1] if found else 0.0


@pytest.mark.parametrize(
    "klass, specific, generic",
    [
        ("fly_ash", "23.51Z", "38.32Z"),  # fly ash → cement kiln, not a sorting plant
        ("plaster_waste", "23.62Z", "38.32Z"),
        ("glass_waste", "23.13Z", "38.32Z"),
        ("cardboard_paper_waste", "17.12Z", "38.32Z"),
        ("ferrous_metal_scrap", "24.10Z", "38.32Z"),
        ("slag", "23.51Z", "38.32Z"),
        ("rubber_tyres_waste", "23.51Z", "38.11Z"),
        ("sludge_organic", "38.21Z", "38.32Z"),
        ("mineral_waste", "23.51Z", "46.77Z"),
    ],
)
def test_a_specific_near_universal_route_outranks_a_generic_one(klass, specific, generic):
    assert _class_weight(klass, specific) > _class_weight(klass, generic) > 0


def test_spreading_goes_to_crop_farms_not_to_every_agricultural_activity():
    assert recovery.operation_for("19 08 05", "01.11Z") == "R10"
    assert recovery.recovery_route("02 04 02", "01.11Z")[0] == "R10"  # sugar-factory lime
    assert recovery.recovery_route("02 04 01", "01.13Z")[0] == "R10"  # beet washing soil
    for naf in ("01.70Z", "01.62Z", "01.30Z"):  # hunting, livestock support, propagation
        assert recovery.operation_for("19 08 05", naf) is None, naf
    assert all(not (r.operation == "R10" and r.naf == "01") for r in recovery.receiver_table())


def test_sludges_are_co_incinerated_by_power_plants_and_used_by_brickworks():
    assert recovery.recovery_route("19 08 05", "35.11Z")[1] >= 0.6
    assert recovery.recovery_route("03 03 11", "23.32Z")[0] == "R5"
    assert _class_weight("sludge_organic", "35.11Z") >= 0.5


def test_tyres_go_to_material_recovery_before_energy_and_kilns_prefer_their_usual_fuels():
    assert recovery.operations_for_waste("16 01 03")[:2] == ("R3", "R1")
    assert recovery.recovery_route("16 01 03", "23.51Z")[1] == 0.9  # tyres: a usual kiln fuel
    assert recovery.recovery_route("19 12 10", "23.51Z")[1] == 0.9  # SRF
    # garden and park waste is not a kiln fuel: biomass boilers burn its woody part
    assert recovery.operation_for("20 02 01", "23.51Z") is None
    assert recovery.operation_for("20 02 01", "35.30Z") == "R1"


def test_pet_food_makers_take_animal_by_products_never_hazardous_waste():
    assert recovery.operation_for("02 02 03", "10.92Z") == "R3"
    assert recovery.operation_for("02 02 03", "10.92Z", hazardous=True) is None


def test_tannery_and_non_ferrous_entries_belong_to_their_material_class():
    from maillage.engine.taxonomy import class_for_waste_code

    assert class_for_waste_code("04 01 01") == "animal_byproducts"  # fleshings
    assert class_for_waste_code("04 01 08") == "textile_waste"  # tanned leather
    assert class_for_waste_code("03 03 01") == "wood_waste"  # bark
    assert class_for_waste_code("02 04 02") == "mineral_waste"  # carbonation lime
    assert class_for_waste_code("10 03 16") == "nonferrous_metal_scrap"  # skimmings
    assert class_for_waste_code("11 05 02") == "nonferrous_metal_scrap"  # zinc ash
    assert class_for_waste_code("10 03 08*") == "mineral_waste_haz"
    assert _class_weight("textile_waste", "38.21Z") < _class_weight("textile_waste", "38.32Z")


def test_a_declared_agrifood_waste_ranks_low_as_a_food_ingredient():
    from maillage.engine.taxonomy import SUBSTITUTE_STRENGTH, substitution_strengths

    strengths = substitution_strengths()
    assert strengths[("agrifood_byproducts", "food_ingredients")] <= 0.5
    assert strengths[("agrifood_byproducts", "animal_feed")] == SUBSTITUTE_STRENGTH


@pytest.mark.parametrize(
    "waste, naf, operation",
    [
        ("10 01 02", "23.51Z", "R5"),  # cement kiln, raw material
        ("19 12 10", "23.51Z", "R1"),  # cement kiln, fuel
        ("07 01 04*", "23.51Z", "R1"),  # cement kiln, hazardous fuel (2770)
        ("03 01 05", "23.52Z", "R1"),  # lime kiln, fuel
        ("03 03 11", "23.32Z", "R5"),  # brickworks
        ("10 02 02", "23.63Z", "R5"),  # ready-mixed concrete, ground slag
        ("10 01 05", "23.62Z", "R5"),  # plasterboard
        ("10 02 02", "23.99Z", "R5"),  # slag wool
        ("20 01 02", "23.13Z", "R5"),  # container glass
        ("19 01 12", "42.11Z", "R5"),  # road building
        ("17 05 04", "43.12A", "R5"),  # earthworks
        ("19 08 05", "20.15Z", "R3"),  # fertiliser and soil improvers
        ("20 02 01", "38.21Z", "R3"),  # composting
        ("20 01 08", "35.21Z", "R3"),  # anaerobic digestion
        ("02 01 06", "01.11Z", "R10"),  # spreading by crop farms
        ("02 07 02", "10.91Z", "R3"),  # compound feed
        ("02 02 03", "10.92Z", "R3"),  # pet food
        ("05 01 16", "20.13B", "R5"),  # inorganic chemistry: sulphur
        ("06 01 06*", "20.13B", "R6"),  # acid regeneration (with its rubrique)
        ("14 06 03*", "20.14Z", "R2"),  # solvent regeneration (with its rubrique)
        ("03 01 05", "35.30Z", "R1"),  # heat plant, wood
        ("19 12 10", "35.11Z", "R1"),  # power plant, SRF
        ("19 08 05", "35.11Z", "R1"),  # power plant, sewage sludge
        ("10 02 10", "24.10Z", "R4"),  # steel works, mill scale
        ("12 01 01", "24.51Z", "R4"),  # iron foundry, filings
        ("10 02 07*", "24.43Z", "R4"),  # zinc recycler, EAF dust (with its rubrique)
        ("11 05 02", "24.43Z", "R4"),  # zinc ash
        ("15 01 01", "17.12Z", "R3"),  # paper and board mill, fibres
        ("03 03 07", "17.12Z", "R3"),
        ("15 01 02", "22.22Z", "R3"),  # plastics converter
        ("15 01 02", "38.32Z", "R3"),  # plastics recycler
        ("20 01 11", "13.10Z", "R3"),  # textile fibres
        ("17 02 01", "16.21Z", "R3"),  # particle board
        ("15 01 03", "16.24Z", "R3"),  # pallet maker
        ("13 02 05*", "19.20Z", "R9"),  # oil re-refining (with its rubrique)
        ("16 01 17", "38.32Z", "R4"),  # metal recovery
        ("16 05 06*", "38.22Z", "R6"),  # hazardous-waste treatment
    ],
)
def test_each_receiver_family_of_real_exchanges_has_a_route(waste, naf, operation):
    assert recovery.operation_for(waste, naf) == operation, (waste, naf)


def test_no_prefix_or_receiver_row_is_written_twice():
    """A second row for the same prefix (or operation × property × NAF) would silently replace
    the first."""
    from importlib import resources

    data = resources.files("maillage.engine").joinpath("data")
    for name, width in (("recovery_waste_operations.csv", 1), ("recovery_receivers.csv", 3)):
        with data.joinpath(name).open(encoding="utf-8") as fh:
            keys = [tuple(row[:width]) for row in list(csv.reader(fh))[1:]]
        assert len(keys) == len(set(keys)), name
    with data.joinpath("waste_code_classes.csv").open(encoding="utf-8") as fh:
        prefixes = [row[0] for row in list(csv.reader(fh))[1:]]
    assert len(prefixes) == len(set(prefixes))


def test_the_legal_path_names_an_operation_for_class_substitutions_too():
    """A pair found by class substitution where no receiver row describes the receiving activity
    (plaster waste to a ceramics works) still gets the waste's preferred recovery operation, never
    the R12/R13 preparation outside division 38; the activity's own route wins when it exists."""
    assert recovery.operation_for("17 08 02", "23.41") is None
    assert recovery.likely_operation("17 08 02", "23.41") == "R5"
    assert recovery.likely_operation("15 01 03", "11.05") == "R3"
    assert recovery.likely_operation("02 01 04", "38.11") == recovery.operation_for(
        "02 01 04", "38.11"
    )
    assert recovery.likely_operation("16 06 01*", "11.05") not in ("R12", "R13")
