"""Point 5: the free-text description refines vague or wrong List of Waste codes."""

from __future__ import annotations

import pytest

from maillage.engine.classify import (
    classify_text,
    correct_spelling,
    is_vague_waste_code,
    waste_class,
)
from maillage.engine.taxonomy import (
    class_for_waste_code,
    profile_entries,
    resource_classes,
    substitutions,
)


@pytest.mark.parametrize(
    "code, vague",
    [("10 01 99", True), ("02 03 99", True), ("16 01 99", True), ("1001", True)]
    + [("10 01 05", False), ("15 01 01", False), ("07 05 99", True)],
)
def test_catch_all_and_short_codes_are_vague(code, vague):
    assert is_vague_waste_code(code) is vague


@pytest.mark.parametrize(
    "code, text, expected",
    [
        ("10 01 99", "Sciures et copeaux de bois de la chaufferie", "wood_waste"),
        ("10 01 99", "sciures de boix et copeaux", "wood_waste"),  # misspelt
        ("02 03 99", "drèches de brasserie humides", "brewery_spent_grain"),
        ("02 03 99", "drêches de brasseries", "brewery_spent_grain"),
        ("16 01 99", "pneux usagés de poids lourds", "rubber_tyres_waste"),  # misspelt
        ("16 01 99", "palettes en bois cassées", "wood_packaging_waste"),
        ("20 03 99", "déchets de plactique d'emballage", "plastic_waste"),  # misspelt
        ("19 12 12", "ferailles et chutes d'acier", "ferrous_metal_scrap"),  # misspelt
    ],
)
def test_vague_codes_take_the_class_their_description_names(code, text, expected):
    assert class_for_waste_code(code) != expected  # the code alone says something else
    assert waste_class(code, text) == expected


def test_a_precise_code_wins_over_its_description():
    # 10 01 05 is desulphurisation gypsum whatever the (wrong) words say
    assert waste_class("10 01 05", "sciures de bois") == class_for_waste_code("10 01 05")


def test_without_useful_words_the_code_class_stays():
    assert waste_class("10 01 99", "divers, à voir") == class_for_waste_code("10 01 99")
    assert waste_class("10 01 99", "") == class_for_waste_code("10 01 99")


def test_text_never_makes_a_hazardous_waste_harmless():
    found = waste_class("16 01 99*", "chiffons souillés d'huile et de solvant")
    assert found is not None and resource_classes()[found].hazardous


def test_spelling_correction_leaves_known_and_short_words():
    assert correct_spelling("boues d'épurration") == "boue epuration"
    assert correct_spelling("bois") == "boi"


@pytest.mark.parametrize(
    "code,expected,label_word",
    [
        ("02 05 01", "dairy_byproducts", "laitiers"),  # dairy products industry
        ("02 05 99", "dairy_byproducts", "laitiers"),
        ("02 02 03", "animal_byproducts", "animaux"),  # meat, fish
        ("02 03 04", "agrifood_byproducts", "végétaux"),  # fruit, vegetables, cereals
        ("02 04 99", "agrifood_byproducts", "végétaux"),  # sugar
        ("02 06 01", "bakery_waste", "boulangerie"),  # baking and confectionery
        ("02 07 02", "brewery_spent_grain", "distillerie"),  # beverages
    ],
)
def test_chapter_02_sub_chapters_get_their_own_industry_class(code, expected, label_word):
    """Issue 16.12: dairy waste 02 05 01 was labelled « végétaux »; each sub-chapter of
    chapter 02 now lands in a class whose French label names what it is."""
    from maillage.engine.taxonomy import class_for_waste_code, resource_classes

    cls = class_for_waste_code(code.replace(" ", ""))
    assert cls == expected
    label = resource_classes()[cls].label
    assert label_word in label
    if expected == "dairy_byproducts":
        assert "végétaux" not in label


def test_whey_is_classified_as_a_dairy_byproduct_that_feeds_animals():
    assert classify_text("Lactosérum de fromagerie", "offer")[0][0] == "dairy_byproducts"
    assert ("dairy_byproducts", "animal_feed") in substitutions()
    assert "dairy_byproducts" in {e.class_code for e in profile_entries("10.51C")}
