"""« Whom to meet » before an event: the marketplace engine's supplier ranking in both directions
(their offer for my search, my offer for theirs) and the stored synergy suggestions between the
participants' establishments, with French reasons; nothing for anyone else."""

from __future__ import annotations

import datetime

import pytest
from django.contrib.auth.models import AnonymousUser
from django.urls import reverse

from maillage.accounts import policy
from maillage.accounts.models import User
from maillage.engine import marketplace as supplier_matching
from maillage.events import selectors, services
from maillage.events.models import Event
from maillage.flows.services import build_flow
from maillage.synergies import services as synergies
from maillage.synergies.models import Suggestion
from tests.events.conftest import answers

pytestmark = pytest.mark.django_db


@pytest.fixture
def fair(world, make_user, make_establishment):
    """Four participants of the event: the sawmill (company77) has wood waste and seeks pallets; the
    joinery (company_b) burns wood (a detected synergy, nothing in common in their profiles); the
    box maker (company_c) offers pallets and seeks sawdust; a law firm offers and seeks nothing
    related. A boiler in Évry (partner chamber) also needs wood but does not come."""
    event = world["event"]
    event.capacity = 10
    event.save()
    e_law = make_establishment("77288", name="Cabinet Juridique Test", naf="69.10Z")
    lawyer = make_user("law", User.Role.COMPANY, establishments=[e_law])
    users = (world["company77"], world["company_b"], world["company_c"], lawyer)
    a, b, c, d = (
        services.register(u, event, u.establishments.get(), answers(event)) for u in users
    )
    services.update_profile(world["company77"], a, "Sciure et copeaux", "Des palettes en bois", [])
    services.update_profile(world["company_b"], b, "Escaliers sur mesure", "Menuiserie vitrée", [])
    services.update_profile(
        world["company_c"], c, "Palettes bois de récupération", "Sciure pour litière", []
    )
    services.update_profile(lawyer, d, "Conseil juridique", "Expert-comptable", [])
    build_flow(
        world["e77"], direction="offer", waste_code="03 01 05", quantity=400, unit="t"
    ).save()
    for establishment in (b.establishment, world["e91"]):
        build_flow(
            establishment, direction="need", resource_class="wood_fuel", quantity=500, unit="t"
        ).save()
    synergies.detect()
    return {**world, "a": a, "b": b, "c": c, "d": d, "lawyer": lawyer}


def _reasons(user, registration):
    return {s["registration"].pk: s["reasons"] for s in selectors.whom_to_meet(user, registration)}


def test_suggestions_come_from_the_marketplace_engine_and_the_synergies(fair, monkeypatch):
    a, b, c, d = fair["a"], fair["b"], fair["c"], fair["d"]
    queries = []
    real = supplier_matching.rank_suppliers

    def spy(query, suppliers, **kw):
        queries.append((query.text, sorted(int(i) for i in suppliers.ids)))
        return real(query, suppliers, **kw)

    monkeypatch.setattr(supplier_matching, "rank_suppliers", spy)
    reasons = _reasons(fair["company77"], a)
    # The marketplace ranking was asked twice: what a seeks over the others' offers, and a's offer
    # over what the others seek.
    assert queries == [
        ("Des palettes en bois", sorted([b.pk, c.pk, d.pk])),
        ("Sciure et copeaux", sorted([b.pk, c.pk, d.pk])),
    ]
    assert set(reasons) == {b.pk, c.pk}  # the law firm matches nothing
    assert reasons[c.pk] == [
        "son offre répond à ce que vous recherchez (palettes, bois)",
        "votre offre répond à ce qu'il recherche (sciure)",
    ]
    (synergy,) = reasons[b.pk]
    assert synergy.startswith("synergie détectée : votre ") and "peut l'intéresser" in synergy
    # The other side of the same suggestion reads it the other way round.
    assert any(
        r.startswith("synergie détectée : il peut vous fournir")
        for r in _reasons(fair["company_b"], b)[a.pk]
    )


def test_an_abandoned_synergy_is_not_suggested(fair):
    a, b = fair["a"], fair["b"]
    Suggestion.objects.filter(need_flow__establishment=b.establishment).update(
        status=Suggestion.Status.ABANDONED
    )
    assert b.pk not in _reasons(fair["company77"], a)


def test_nobody_else_sees_the_suggestions(fair, client):
    a = fair["a"]
    # The boiler in Évry has a synergy with the sawmill but is not at the event: never named.
    assert Suggestion.objects.filter(need_flow__establishment=fair["e91"], is_current=True)
    assert policy.meeting_synergies(fair["company77"], a).count() == 1
    # Another company, the organiser, another chamber's advisor, an anonymous visitor: nothing.
    for user in (
        fair["company78"],
        fair["advisor77"],
        fair["advisor78"],
        fair["company_b"],
        AnonymousUser(),
    ):
        assert selectors.whom_to_meet(user, a) == []
        assert not policy.meeting_synergies(user, a).exists()
    # Another event's participant sees only that event's participants.
    other = Event.objects.create(
        title="Autre rencontre",
        starts_at=a.event.starts_at,
        ends_at=a.event.ends_at + datetime.timedelta(hours=1),
        place="Évry",
        capacity=5,
        chamber=fair["chambers"][0],
        meetings_enabled=True,
        slot_count=4,
        table_count=2,
        max_meetings=3,
    )
    b_user = fair["company_b"]
    elsewhere = services.register(b_user, other, b_user.establishments.get(), answers(other))
    services.update_profile(b_user, elsewhere, "Palettes", "Des palettes en bois", [])
    assert selectors.whom_to_meet(b_user, elsewhere) == []
    assert not policy.meeting_synergies(b_user, elsewhere).exists()
    # A participant still on the waiting list gets no suggestion.
    a.status = "waiting"
    a.save()
    assert selectors.whom_to_meet(fair["company77"], a) == []
    a.status = "confirmed"
    a.save()
    # On the web: the participant's page shows the reasons, never the other side's quantities;
    # the page is closed to another company and to an anonymous visitor.
    url = reverse("event-meetings", args=[a.event.pk])
    client.force_login(fair["company_b"])
    html = client.get(url).content.decode()
    assert "synergie détectée : il peut vous fournir" in html and "400" not in html
    client.force_login(fair["company78"])
    assert client.get(url).status_code == 403
    client.logout()
    assert client.get(url).status_code == 302
