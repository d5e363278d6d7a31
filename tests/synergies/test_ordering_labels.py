"""The synergies list's sort options are all labelled in French (django-filter would otherwise
make « … (descending) » labels for the descending orders)."""

from __future__ import annotations

from django.utils import translation

from maillage.synergies.filters import SuggestionFilter


def test_every_sort_option_has_its_french_label():
    with translation.override("fr"):
        labels = dict(SuggestionFilter().filters["tri"].field.choices)
    assert labels == {
        "": "score (décroissant)",
        "score": "score",
        "-score": "score (décroissant)",
        "distance": "distance",
        "-distance": "distance (décroissante)",
        "quantite": "quantité",
        "-quantite": "quantité (décroissante)",
        "date": "date de détection",
        "-date": "date de détection (récentes d'abord)",
    }
