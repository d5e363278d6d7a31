"""Point 5: the free-text description refines vague or wrong List of Waste codes."""

from __future__ import annotations

import pytest

from maillage.engine.taxonomy import (
    class_for_waste_code,
    correct_spelling,
    is_vague_waste_code,
    resource_classes,
    waste_class,
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
