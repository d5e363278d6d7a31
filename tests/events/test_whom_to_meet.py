"""« Whom to meet » before an event: the marketplace engine's supplier ranking in both directions
(their offer for my search, my offer for theirs) and the stored synergy suggestions between the
participants' establishments — only with both participants' consent or after a mutually accepted
introduction — with French reasons; nothing for anyone else."""

from __future__ import annotations

import dataclasses
import datetime

import pytest
from django.contrib.auth.models import AnonymousUser
from django.urls import reverse

from maillage.accounts.models import User
from maillage.engine import marketplace as supplier_matching
from maillage.events import selectors, services
from maillage.events import selectors as events_selectors
from maillage.events.models import Registration
from maillage.synergies import introductions
from maillage.synergies import services as synergies
from maillage.synergies.models import Suggestion
from tests.events.conftest import answers
from tests.events.factories import EventFactory
from tests.factories import FlowFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def fair(world, make_user, make_establishment):
    """Four participants of the event: the sawmill (company77) has wood waste and seeks pallets; the
    joinery (company_b) burns wood (a detected synergy, nothing in common in their profiles); the
    box maker (company_c) offers pallets and seeks sawdust; a law firm offers and seeks nothing
    related. A boiler in Évry (partner chamber) also needs wood but does not come. Nobody has
    consented yet to the use of detected synergies (the registration default)."""
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
    FlowFactory(
        establishment=world["e77"], direction="offer", waste_code="03 01 05", quantity=400, unit="t"
    )
    for establishment in (b.establishment, world["e91"]):
        FlowFactory(
            establishment=establishment,
            direction="need",
            resource_class="wood_fuel",
            quantity=500,
            unit="t",
        )
    synergies.detect()
    return {**world, "a": a, "b": b, "c": c, "d": d, "lawyer": lawyer}


def _reasons(user, registration):
    return {s["registration"].pk: s["reasons"] for s in selectors.whom_to_meet(user, registration)}


def _consent(user, registration, consent=True):
    services.update_profile(
        user,
        registration,
        registration.offers,
        registration.seeks,
        registration.unavailable_slots,
        synergy_consent=consent,
    )


def test_suggestions_come_from_the_marketplace_engine_and_the_synergies(fair, monkeypatch):
    a, b, c, d = fair["a"], fair["b"], fair["c"], fair["d"]
    _consent(fair["company77"], a)
    _consent(fair["company_b"], b)
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
    _consent(fair["company77"], a)
    _consent(fair["company_b"], b)
    assert b.pk in _reasons(fair["company77"], a)
    Suggestion.objects.filter(need_flow__establishment=b.establishment).update(
        status=Suggestion.Status.ABANDONED
    )
    assert b.pk not in _reasons(fair["company77"], a)


def test_nobody_else_sees_the_suggestions(fair, client):
    a = fair["a"]
    _consent(fair["company77"], a)
    _consent(fair["company_b"], fair["b"])
    # The boiler in Évry has a synergy with the sawmill but is not at the event: never named.
    assert Suggestion.objects.filter(need_flow__establishment=fair["e91"], is_current=True)
    assert len(events_selectors.meeting_synergies(fair["company77"], a)) == 1
    # Another company, the organiser, another chamber's advisor, an anonymous visitor: nothing.
    for user in (
        fair["company78"],
        fair["advisor77"],
        fair["advisor78"],
        fair["company_b"],
        AnonymousUser(),
    ):
        assert selectors.whom_to_meet(user, a) == []
        assert events_selectors.meeting_synergies(user, a) == []
    # Another event's participant sees only that event's participants.
    other = EventFactory(
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
    assert events_selectors.meeting_synergies(b_user, elsewhere) == []
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


def _synergy_reasons(user, registration):
    return {
        pk: [r for r in reasons if r.startswith("synergie détectée")]
        for pk, reasons in _reasons(user, registration).items()
    }


def test_a_synergy_is_used_only_when_both_participants_consent(fair):
    a, b, c = fair["a"], fair["b"], fair["c"]
    sawmill, joinery = fair["company77"], fair["company_b"]
    without = _reasons(sawmill, a)
    # Nobody consented: the synergy is ignored entirely, no reason and no effect on the ranking
    # (the joinery has nothing in common with the sawmill's profile, so it is not listed).
    assert b.pk not in without and a.pk not in _reasons(joinery, b)
    assert (
        events_selectors.meeting_synergies(sawmill, a)
        == events_selectors.meeting_synergies(joinery, b)
        == []
    )
    # One side only, either one: still nothing.
    _consent(sawmill, a)
    assert b.pk not in _reasons(sawmill, a) and a.pk not in _reasons(joinery, b)
    _consent(sawmill, a, False)
    _consent(joinery, b)
    assert b.pk not in _reasons(sawmill, a) and a.pk not in _reasons(joinery, b)
    # Both: used in both lists, ranked first, told the resource class only.
    _consent(sawmill, a)
    label = Suggestion.objects.get(
        offer_flow__establishment=a.establishment, need_flow__establishment=b.establishment
    ).resource_class.label.lower()
    assert _synergy_reasons(sawmill, a)[b.pk] == [
        f"synergie détectée : votre {label} peut l'intéresser"
    ]
    assert _synergy_reasons(joinery, b)[a.pk] == [
        f"synergie détectée : il peut vous fournir {label}"
    ]
    # What the policy hands over: whom, which resource, which direction; no quantity, no place.
    (link,) = events_selectors.meeting_synergies(sawmill, a)
    assert (link.registration_id, link.resource_label.lower(), link.mine_offers) == (
        b.pk,
        label,
        True,
    )
    assert [f.name for f in dataclasses.fields(link)] == [
        "registration_id",
        "resource_label",
        "mine_offers",
    ]
    # Consent does not touch the text matching: the box maker's reasons are the same.
    assert _reasons(sawmill, a)[c.pk] == without[c.pk]
    # One side withdraws (the other's registration object is stale: the policy reads the
    # database): no longer used, on either side.
    stale_b = Registration.objects.get(pk=b.pk)
    _consent(joinery, b, False)
    assert b.pk not in _reasons(sawmill, a)
    assert a.pk not in _reasons(joinery, stale_b)


def test_a_mutually_accepted_introduction_lets_the_synergy_be_used(fair):
    a, b = fair["a"], fair["b"]
    sawmill, joinery = fair["company77"], fair["company_b"]
    suggestion = Suggestion.objects.get(
        offer_flow__establishment=a.establishment, need_flow__establishment=b.establishment
    )
    first, second = introductions.propose_introduction(suggestion, fair["advisor77"])
    sides = {i.establishment_id: i for i in (first, second)}
    introductions.respond_introduction(sawmill, sides[a.establishment_id], True)
    # Accepted by one side only: not enough.
    assert b.pk not in _reasons(sawmill, a)
    introductions.respond_introduction(joinery, sides[b.establishment_id], True)
    # Both accepted, no consent at the event: used, in both directions.
    assert a.synergy_consent_at is None and b.synergy_consent_at is None
    assert _synergy_reasons(sawmill, a)[b.pk][0].endswith("peut l'intéresser")
    assert _synergy_reasons(joinery, b)[a.pk][0].startswith("synergie détectée : il peut vous")


def test_a_declined_introduction_without_consent_is_not_used(fair):
    a, b = fair["a"], fair["b"]
    suggestion = Suggestion.objects.get(
        offer_flow__establishment=a.establishment, need_flow__establishment=b.establishment
    )
    intro = {
        i.establishment_id: i
        for i in introductions.propose_introduction(suggestion, fair["advisor77"])
    }
    introductions.respond_introduction(fair["company77"], intro[a.establishment_id], True)
    introductions.respond_introduction(fair["company_b"], intro[b.establishment_id], False)
    assert events_selectors.meeting_synergies(fair["company77"], a) == []


def test_consent_on_the_registration_form_and_the_profile_page(fair, client):
    event = fair["event"]
    b = fair["b"]
    joinery = fair["company_b"]
    client.force_login(joinery)
    # Registration form: the checkbox is there, unchecked.
    services.cancel(joinery, b)
    html = client.get(reverse("event-detail", args=[event.pk])).content.decode()
    assert 'name="synergy_consent">' in html
    assert "complémentarités de ressources détectées par la CCI" in html
    r = client.post(
        reverse("event-register", args=[event.pk]),
        {
            "establishment": b.establishment_id,
            "synergy_consent": "on",
            **{f"q-{k}": v for k, v in answers(event).items()},
        },
    )
    assert r.status_code == 302
    b.refresh_from_db()
    assert b.status == "confirmed" and b.synergy_consent_at is not None
    given = b.synergy_consent_at
    # Profile page: checked; saving it checked keeps the date, unchecked withdraws.
    url = reverse("event-meetings", args=[event.pk])
    assert 'name="synergy_consent" checked>' in client.get(url).content.decode()
    profile = reverse("event-profile", args=[event.pk])
    client.post(profile, {"offers": "x", "seeks": "y", "synergy_consent": "on"})
    b.refresh_from_db()
    assert b.synergy_consent_at == given
    client.post(profile, {"offers": "x", "seeks": "y"})
    b.refresh_from_db()
    assert b.synergy_consent_at is None
    assert 'name="synergy_consent">' in client.get(url).content.decode()
    # Registering without ticking the box: no consent.
    services.cancel(joinery, b)
    client.post(
        reverse("event-register", args=[event.pk]),
        {"establishment": b.establishment_id, **{f"q-{k}": v for k, v in answers(event).items()}},
    )
    b.refresh_from_db()
    assert b.status == "confirmed" and b.synergy_consent_at is None
