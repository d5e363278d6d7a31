"""Marketplace fixtures: a buyer, relevant and unrelated suppliers with users and profiles."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from maillage.accounts.models import User
from maillage.marketplace import services
from maillage.marketplace.models import Need
from tests.marketplace.factories import SupplierProfileFactory


@pytest.fixture
def profile(db):
    def factory(establishment, capabilities, radius=60, categories="", tags=""):
        return SupplierProfileFactory(
            establishment=establishment,
            capabilities=capabilities,
            service_radius_km=radius,
            categories=categories,
            tags=tags,
        )

    return factory


@pytest.fixture
def market(territory, make_establishment, make_user, profile):
    """In 77 (Melun area): a buyer, two machining shops and an electrician; a machining shop in
    Versailles (78, too far for its 20 km radius); a baker."""
    t = territory
    buyer = make_establishment(
        "77288", name="Grand Donneur d'Ordre", naf="29.10Z", is_large_buyer=True
    )
    mech1 = make_establishment(
        "77288", name="Usinage Briard", naf="25.62B", latitude=48.54, longitude=2.66
    )
    mech2 = make_establishment(
        "77305", name="Mécanique de Moissy", naf="25.62A", latitude=48.62, longitude=2.59
    )
    elec = make_establishment(
        "77288", name="Électricité Melunaise", naf="43.21A", latitude=48.54, longitude=2.66
    )
    far = make_establishment(
        "78646", name="Tournage Versaillais", naf="25.62B", latitude=48.80, longitude=2.13
    )
    baker = make_establishment(
        "77288", name="Boulangerie du Centre", naf="10.71C", latitude=48.54, longitude=2.66
    )
    profile(
        mech1,
        "Usinage de pièces mécaniques de précision, tournage et fraisage CN.",
        categories="mechanics",
    )
    profile(
        mech2, "Tournage, fraisages et décolletage de pièces en séries.", categories="mechanics"
    )
    profile(
        elec,
        "Installations électriques industrielles, armoires et câblages.",
        categories="electricity",
    )
    profile(far, "Tournage et fraisage de pièces unitaires.", radius=20, categories="mechanics")
    profile(baker, "Pains, viennoiseries et pâtisseries pour vos événements.", categories="food")
    users = {}
    for key, e in {
        "buyer": buyer,
        "mech1": mech1,
        "mech2": mech2,
        "elec": elec,
        "far": far,
        "baker": baker,
    }.items():
        u = make_user(f"u-{key}", User.Role.COMPANY, establishments=[e])
        u.email = f"{key}@example.test"
        u.save(update_fields=["email"])
        users[key] = u
    return {
        **t,
        "buyer": buyer,
        "mech1": mech1,
        "mech2": mech2,
        "elec": elec,
        "far": far,
        "baker": baker,
        "users": users,
    }


@pytest.fixture
def make_need(db):
    def factory(buyer, user, **kw):
        defaults = {
            "theme": Need.Theme.PURCHASING,
            "kind": Need.Kind.SERVICE,
            "title": "Usinage de pièces de rechange",
            "description": "Nous cherchons un atelier pour tourner et fraiser des pièces mécaniques.",
            "category": "mechanics",
            "closes_on": timezone.localdate() + datetime.timedelta(days=30),
        }
        defaults.update(kw)
        lots = defaults.pop("lots", [])
        return services.save_need(user, Need(buyer=buyer, **defaults), lots)

    return factory
