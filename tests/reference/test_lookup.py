"""NAF and commune autocompletion: what a user types (code, name, part of a name, without
accents) finds the reference entry; forms resolve a pick, a code or an unambiguous name, and
explain ambiguous names in French. The endpoints are for signed-in users only."""

from __future__ import annotations

import pytest
from django import forms
from django.urls import reverse

from maillage.accounts.models import User
from maillage.reference import lookup
from maillage.reference.fields import CommuneField, NafField
from maillage.reference.models import NafCode

pytestmark = pytest.mark.django_db


def _codes(entries):
    return [e.code for e in entries]


@pytest.mark.parametrize("typed", ["scierie", "Sciage", "sciage rabotage", "16.10", "1610a"])
def test_naf_search_finds_the_sawmill(typed):
    assert "16.10A" in _codes(lookup.search_naf(typed))


def test_naf_search_ranks_whole_words_before_longer_ones():
    found = _codes(lookup.search_naf("bois"))
    assert found[0] == "16.10A"  # « …du bois… » before « boissons »
    assert found.index("11.07B") > found.index("16.29Z")


def test_naf_search_is_limited_and_on_subclasses_only():
    found = lookup.search_naf("fabrication")
    assert len(found) == lookup.LIMIT
    assert all(n.level == NafCode.Level.SUBCLASS for n in found)


@pytest.mark.parametrize(
    "typed",
    [
        "16.10A",
        "1610a",
        "16.10 A",
        "16.10A — Sciage et rabotage du bois, hors imprégnation",
        "scierie",
        "SCIAGE ET RABOTAGE DU BOIS, HORS IMPREGNATION",
    ],
)
def test_naf_resolution(typed):
    assert lookup.resolve_naf(typed).code == "16.10A"


def test_ambiguous_and_unknown_naf_are_explained_in_french():
    with pytest.raises(forms.ValidationError) as ambiguous:
        lookup.resolve_naf("bois")
    message = ambiguous.value.messages[0]
    assert "Plusieurs activités correspondent à « bois »" in message
    assert "16.10A — Sciage et rabotage du bois" in message
    with pytest.raises(forms.ValidationError) as unknown:
        lookup.resolve_naf("99.99Q")
    assert "Code NAF « 99.99Q » inconnu" in unknown.value.messages[0]


@pytest.mark.parametrize(
    ("typed", "first"),
    [
        ("Dunk", "59183"),
        ("dunkerque", "59183"),
        ("DUNKERQUE", "59183"),
        ("59183", "59183"),
        ("59640", "59183"),  # one of Dunkerque's postal codes
        ("evry courcouronnes", "91228"),  # no accent, no hyphen
        ("Évry-Courcouronnes", "91228"),
    ],
)
def test_commune_search(typed, first):
    assert _codes(lookup.search_communes(typed))[0] == first


def test_commune_search_puts_the_exact_name_first_then_the_most_populous():
    found = lookup.search_communes("saint denis")
    assert len(found) == lookup.LIMIT
    exact = [c for c in found if c.name == "Saint-Denis"]
    assert found[: len(exact)] == exact and len(exact) >= 3
    assert exact[0].code in ("93066", "97411")  # the two largest Saint-Denis


@pytest.mark.parametrize(
    "typed", ["59183", "Dunkerque (59183)", "Dunkerque", "dunkerque", " DUNKERQUE "]
)
def test_commune_resolution(typed):
    assert lookup.resolve_commune(typed).code == "59183"


def test_ambiguous_commune_names_list_the_candidates():
    with pytest.raises(forms.ValidationError) as ambiguous:
        lookup.resolve_commune("Saint-Denis")
    message = ambiguous.value.messages[0]
    assert "Plusieurs communes correspondent à « Saint-Denis »" in message
    assert "Saint-Denis (93066)" in message and "Saint-Denis (97411)" in message


def test_partial_commune_names_are_not_guessed_but_suggested():
    with pytest.raises(forms.ValidationError) as unknown:
        lookup.resolve_commune("Dunk")
    assert (
        "Commune « Dunk » inconnue. Vouliez-vous dire : Dunkerque (59183)"
        in (unknown.value.messages[0])
    )
    with pytest.raises(forms.ValidationError) as nothing:
        lookup.resolve_commune("Xqzw")
    assert (
        "Commune « Xqzw » inconnue : attendu son nom ou son code INSEE"
        in (nothing.value.messages[0])
    )


def test_fields_show_the_label_of_a_stored_code():
    assert NafField().prepare_value("16.10A").startswith("16.10A — Sciage")
    assert CommuneField().prepare_value("59183") == "Dunkerque (59183)"
    assert CommuneField().clean("Dunkerque (59183)").code == "59183"


def test_endpoints_answer_signed_in_users_with_at_most_twenty_entries(client, make_user):
    client.force_login(make_user("someone", User.Role.COMPANY))
    naf = client.get(reverse("reference-naf"), {"q": "scierie"}).json()["results"]
    assert naf[0] == {
        "value": "16.10A — Sciage et rabotage du bois, hors imprégnation",
        "label": "16.10A — Sciage et rabotage du bois, hors imprégnation",
        "code": "16.10A",
    }
    communes = client.get(reverse("reference-communes"), {"q": "Dunk"}).json()["results"]
    assert communes[0]["value"] == "Dunkerque (59183)"
    many = client.get(reverse("reference-communes"), {"q": "sa"}).json()["results"]
    assert len(many) == 20
    assert client.get(reverse("reference-communes"), {"q": ""}).json() == {"results": []}
    assert client.get(reverse("reference-naf"), {"q": "x\x00" * 500}).status_code == 200


def test_endpoints_refuse_anonymous_visitors(client):
    for name in ("reference-naf", "reference-communes"):
        response = client.get(reverse(name), {"q": "Dunk"})
        assert response.status_code == 302 and "/comptes/login/" in response.url
        assert b"Dunkerque" not in response.content
