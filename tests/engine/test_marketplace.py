"""The marketplace matching steps, each on its own, then the ranking and the consortia solver."""

from __future__ import annotations

import numpy as np
import pytest

from maillage.engine import consortia, marketplace
from maillage.engine.marketplace import NeedQuery, Suppliers


def test_activity_levels():
    codes = ["25.62B", "25.62A", "25.61Z", "25.11Z", "43.21A", ""]
    assert marketplace.activity_scores(["25.62B"], codes).tolist() == [1.0, 0.8, 0.6, 0.4, 0.0, 0.0]
    assert marketplace.activity_scores(["25.62"], codes).tolist()[:2] == [1.0, 1.0]
    assert marketplace.activity_scores([], codes).tolist() == [0.0] * 6


def test_text_handles_accents_plurals_and_elisions():
    scores, words = marketplace.text_scores(
        "Fraisages de l'ÉLECTRODE", ["fraisage d'électrodes", "Electrode", "boulangerie"]
    )
    assert scores[0] == pytest.approx(1.0)
    assert 0 < scores[1] < 1
    assert scores[2] == 0
    assert words[0] == ["fraisage", "electrode"]


def test_word_variants():
    assert marketplace.words_match("electrique", "electricite")
    assert marketplace.words_match("nettoyage", "nettoyer")
    assert not marketplace.words_match("electrique", "electronique")
    assert not marketplace.words_match("bois", "boise")


def test_rare_words_weigh_more():
    scores, _ = marketplace.text_scores(
        "pièces en titane", ["pièces acier", "titane", "pièces bois", "pièces alu"]
    )
    assert scores[1] > scores[0]


def test_service_area_and_proximity():
    d = np.array([5.0, 40.0, 80.0, np.nan])
    r = np.array([10.0, 50.0, 50.0, 10.0])
    assert marketplace.service_area_ok(d, r).tolist() == [True, True, False, True]
    assert marketplace.service_area_ok(d, r, max_km=30).tolist() == [True, False, False, True]
    p = marketplace.proximity_scores(d)
    assert p[0] == pytest.approx(np.exp(-((5 / 40) ** 2))) and p[3] == 0.5
    assert p[0] > p[1] > p[2] > 0


def test_proximity_is_gentle_inside_a_local_area_and_steep_far_away():
    p = marketplace.proximity_scores(np.array([2.0, 18.0, 60.0]))
    assert p[0] - p[1] < 0.25  # 2 km and 18 km away are both local
    assert p[1] - p[2] > 0.5


def test_proximity_drops_at_the_edge_of_the_service_area():
    d = np.array([20.0, 20.0, 20.0])
    p = marketplace.proximity_scores(d, np.array([100.0, 25.0, 20.0]))
    assert p[0] > p[1] > p[2]
    assert p[2] == pytest.approx(np.exp(-((20 / 40) ** 2)) * marketplace.EDGE_OF_AREA)


def test_synonyms_match_a_buyer_word_to_a_supplier_word():
    scores, words = marketplace.text_scores(
        "Refonte du site internet", ["création de sites web", "hébergement de serveurs"]
    )
    assert scores[0] > 0 and "internet" in words[0]
    assert scores[1] == 0
    assert marketplace.synonyms("interimaire") >= {"temporaire", "interim"}
    assert marketplace.synonyms("boulon") == {"boulon"}


def test_related_naf_label_names_what_the_need_asks():
    labels = [
        "Travaux d'installation d'équipements thermiques et de climatisation",
        "Travaux d'installation électrique dans tous locaux",
        "Travaux de peinture et vitrerie",
    ]
    scores = marketplace.related_activity_scores("Climatisation réversible des bureaux", labels)
    assert scores[0] == pytest.approx(marketplace.RELATED_NAF)
    assert scores[1] == 0 and scores[2] == 0
    assert marketplace.related_activity_scores("", labels).tolist() == [0.0, 0.0, 0.0]


def test_category_fit_gives_way_to_a_label_naming_the_need():
    category = np.array([1.0, 1.0, 0.0, 0.0])
    labels = np.array([0.0, 0.9, 0.9, 0.0])
    a = marketplace.activity_with_labels(category, labels)
    assert a[1] > a[0] == pytest.approx(marketplace.CATEGORY_SHARE)
    assert a[2] == pytest.approx(marketplace.RELATED_NAF * 0.9) and a[3] == 0
    # no label names anything: the category alone
    assert marketplace.activity_with_labels(category, np.zeros(4)).tolist() == category.tolist()


def test_title_words_weigh_more_than_description_words():
    texts = ["installation d'équipements", "climatisation et chauffage"]
    need = "Climatisation des bureaux. Installation d'une climatisation réversible"
    plain, _ = marketplace.text_scores(need, texts)
    titled, _ = marketplace.text_scores(need, texts, title="Climatisation des bureaux")
    assert titled[1] > plain[1] and titled[0] < plain[0]
    assert titled[1] > titled[0]


def test_certifications_asked_in_the_need():
    certs = ["ISO 9001, Qualibat", "ISO 14001", "", "iso 9001"]
    scores, asked = marketplace.certification_scores(
        "Prestataire certifié ISO 9001 et Qualibat exigé", certs
    )
    assert asked == ["iso 9001", "qualibat"]
    assert scores.tolist() == [1.0, 0.0, 0.0, 0.5]
    none, asked = marketplace.certification_scores("Peinture des bureaux", certs)
    assert asked == [] and none.tolist() == [0.0] * 4
    # whole words only
    assert marketplace.certification_scores("norme ISO 90012", certs)[1] == []


def test_size_fit_to_budget():
    bands = ["00", "12", "41", "NN"]  # 0, 20-49, 500-999 staff, unknown
    big = marketplace.size_fit_scores("gt100k", bands)
    small = marketplace.size_fit_scores("lt5k", bands)
    assert big[1] == big[2] == 1.0 and big[0] < 1.0
    assert small[0] == small[1] == 1.0 and small[2] < 1.0
    assert big[3] == small[3] == 0.5
    assert marketplace.size_fit_scores("", bands).tolist() == [0.5] * 4


def test_history_is_bounded_and_monotonic():
    h = marketplace.history_scores(np.array([0.0, 1, 5, 1000]), np.array([0.0, 0, 2, 1000]))
    assert h[0] == 0 and h[1] < h[2] <= h[3] == 1.0


def _suppliers():
    return Suppliers.from_rows(
        [
            {
                "id": 1,
                "naf": "25.62B",
                "text": "usinage tournage fraisage",
                "latitude": 48.55,
                "longitude": 2.66,
                "radius_km": 50,
            },
            {"id": 2, "naf": "25.62A", "text": "tournage", "latitude": 48.6, "longitude": 2.6},
            {"id": 3, "naf": "10.71C", "text": "boulangerie", "latitude": 48.55, "longitude": 2.66},
            {
                "id": 4,
                "naf": "25.62B",
                "text": "usinage tournage fraisage",
                "latitude": 45.0,
                "longitude": 5.0,
                "radius_km": 30,
            },
            {
                "id": 5,
                "naf": "25.62B",
                "text": "usinage tournage fraisage",
                "latitude": 48.55,
                "longitude": 2.66,
                "responses": 5,
                "shortlists": 2,
            },
        ]
    )


def test_rank_filters_explains_and_is_deterministic():
    q = NeedQuery(text="Tournage et fraisage", naf_codes=("25",), latitude=48.54, longitude=2.65)
    ranked = marketplace.rank_suppliers(q, _suppliers())
    ids = [c.supplier_id for c in ranked]
    assert 3 not in ids and 4 not in ids
    assert ids[0] == 5  # same as 1, but answers needs
    assert ids.index(1) < ids.index(2)
    assert ranked[0].explanation["words"] == ["tournage", "fraisage"]
    assert ranked == marketplace.rank_suppliers(q, _suppliers())
    assert [c.supplier_id for c in marketplace.rank_suppliers(q, _suppliers(), exclude_ids=[5])][
        0
    ] == 1
    assert marketplace.rank_suppliers(q, Suppliers.from_rows([])) == []


def test_rank_uses_certification_naf_label_and_size():
    base = {"latitude": 48.55, "longitude": 2.66, "radius_km": 50}
    rows = [
        {"id": 1, "naf": "43.22B", "text": "climatisation et chauffage", **base},
        {"id": 2, "naf": "43.22B", "text": "climatisation et chauffage", **base},
        {"id": 3, "naf": "43.22B", "text": "climatisation et chauffage", **base},
        {"id": 4, "naf": "43.34Z", "text": "peinture", **base},
    ]
    labels = ["Travaux d'installation d'équipements thermiques et de climatisation"] * 3
    extra = [
        {"naf_label": labels[0], "certifications": "", "headcount_band": "00"},
        {"naf_label": labels[0], "certifications": "RGE", "headcount_band": "00"},
        {"naf_label": labels[0], "certifications": "", "headcount_band": "12"},
        {"naf_label": "Travaux de peinture et vitrerie", "certifications": "RGE"},
    ]
    suppliers = Suppliers.from_rows([r | e for r, e in zip(rows, extra, strict=True)])
    q = NeedQuery(
        text="Climatisation de 2 000 m² de bureaux, entreprise RGE",
        naf_codes=("43.3",),  # filed under finishing works: 43.22B only by its label
        latitude=48.55,
        longitude=2.66,
        budget="gt100k",
    )
    ranked = marketplace.rank_suppliers(q, suppliers)
    assert [c.supplier_id for c in ranked][0] == 2  # the RGE one
    assert ranked[0].explanation["certifications"] == ["rge"]
    assert ranked[0].explanation["activity"] == marketplace.RELATED_NAF
    ids = [c.supplier_id for c in ranked]
    assert ids.index(3) < ids.index(1)  # 20-49 staff fits a large budget better than one person


def test_consortium_covers_all_lots_with_complementary_smes():
    # lots: 0 machining, 1 electricity, 2 painting
    scores = np.array(
        [
            [0.9, 0.0, 0.0],  # 10 machining, near
            [0.0, 0.9, 0.0],  # 11 electricity, near
            [0.0, 0.0, 0.8],  # 12 painting, near
            [0.9, 0.9, 0.9],  # 13 does everything but is a large firm
            [0.0, 0.9, 0.0],  # 14 electricity, far away
            [0.3, 0.0, 0.85],  # 15 painting + some machining
        ]
    )
    lat = np.array([48.5, 48.52, 48.51, 48.5, 43.3, 48.53])
    lon = np.array([2.6, 2.62, 2.61, 2.6, 5.4, 2.63])
    headcount = np.array([15, 30, 8, 800, 20, 12])
    groups = consortia.suggest_groups(np.arange(10, 16), scores, lat, lon, headcount, n_groups=3)
    assert groups
    best = groups[0]
    assert set(best.lots) == {0, 1, 2}
    assert 13 not in best.members and 14 not in best.members
    assert 2 <= len(best.members) <= 5
    assert set(best.lots.values()) == set(best.members)
    assert len({g.members for g in groups}) == len(groups)
    assert [g.objective for g in groups] == sorted((g.objective for g in groups), reverse=True)


def test_consortium_impossible_when_a_lot_has_no_taker():
    scores = np.array([[0.9, 0.0], [0.8, 0.0]])
    z = np.zeros(2)
    assert consortia.suggest_groups(np.arange(2), scores, z, z, np.array([5, 5])) == []
