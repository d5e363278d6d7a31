"""The demo marketplace: profiles and needs on the demo territory, deterministic and idempotent."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from maillage.ingest.demo import load_demo
from maillage.marketplace.models import Match, Need, Response, SupplierProfile

pytestmark = pytest.mark.django_db


def counts():
    return [m.objects.count() for m in (SupplierProfile, Need, Match, Response)]


def test_demo_marketplace_is_deterministic_and_idempotent():
    load_demo(seed=1, n_establishments=800, n_visited=200)
    out = io.StringIO()
    call_command("load_demo_marketplace", "--seed", "1", stdout=out)
    assert "Place de marché de démonstration chargée" in out.getvalue()
    first = counts()
    texts = list(
        SupplierProfile.objects.order_by("establishment__siret").values_list(
            "capabilities", flat=True
        )
    )
    profiles, needs, matches, _responses = first
    assert 150 <= profiles <= 500
    assert needs == 5
    assert Need.objects.filter(status="draft").count() == 1
    assert matches > 0
    works = Need.objects.get(title__startswith="Réaménagement")
    assert works.lots.count() == 4
    call_command("load_demo_marketplace", "--seed", "1", stdout=io.StringIO())
    assert counts() == first
    SupplierProfile.objects.all().delete()
    call_command("load_demo_marketplace", "--seed", "1", stdout=io.StringIO())
    again = list(
        SupplierProfile.objects.order_by("establishment__siret").values_list(
            "capabilities", flat=True
        )
    )
    assert again == texts
