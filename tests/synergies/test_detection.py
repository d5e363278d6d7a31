"""Detection runs on the database: stored idempotently, pipeline kept, incremental mode, rights."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command

from maillage.synergies import services
from maillage.synergies.models import Suggestion, SuggestionEvent
from tests.factories import FlowFactory
from tests.flows.factories import wood_synergy

pytestmark = pytest.mark.django_db


@pytest.fixture
def wood(territory, make_establishment):
    """A sawmill in Melun (77) with wood waste; a wood boiler in Évry (91, partner chamber) and one
    in Versailles (78, no agreement) that need wood fuel; a panel maker near Melun."""
    offer, boiler91 = wood_synergy(territory, offered=400, needed=500)
    boiler78 = FlowFactory(
        establishment=territory["e78"],
        direction="need",
        resource_class="wood_fuel",
        quantity=500,
        unit="t",
    )
    return {**territory, "offer": offer, "boiler91": boiler91, "boiler78": boiler78}


def substitutions():
    return Suggestion.objects.filter(kind=Suggestion.Kind.SUBSTITUTION)


def test_detection_crosses_the_agreement_border_only(wood):
    services.detect(wood["chambers"][0])  # CCI 77
    pairs = set(substitutions().values_list("offer_flow_id", "need_flow_id"))
    assert (wood["offer"].pk, wood["boiler91"].pk) in pairs
    assert (wood["offer"].pk, wood["boiler78"].pk) not in pairs  # Melun–Versailles: no agreement
    s = substitutions().get(need_flow=wood["boiler91"])
    assert s.chamber == wood["chambers"][0] and s.partner_chamber == wood["chambers"][1]
    assert 0 < s.score <= 1
    assert s.tonnes_diverted == pytest.approx(400)
    assert s.co2e_avoided_t is not None
    assert s.explanation["offer_class"] == "wood_waste"
    assert s.explanation["need_class"] == "wood_fuel"
    assert s.explanation["waste_code"] == "03 01 05"
    assert s.explanation["distance_km"] == pytest.approx(s.distance_km, abs=0.1)


def test_rerun_updates_never_duplicates_and_keeps_the_pipeline(wood):
    services.detect()
    s = substitutions().get(need_flow=wood["boiler91"])
    services.change_status(s, wood["advisor77"], Suggestion.Status.PROPOSED, "Appel fait")
    count = Suggestion.objects.count()
    call_command("detect_synergies", stdout=__import__("io").StringIO())
    assert Suggestion.objects.count() == count
    s.refresh_from_db()
    assert s.status == Suggestion.Status.PROPOSED and s.is_current
    assert SuggestionEvent.objects.filter(suggestion=s).count() == 1


def test_a_suggestion_that_disappears_is_retired_not_deleted(wood):
    services.detect()
    s = substitutions().get(need_flow=wood["boiler91"])
    wood["boiler91"].is_archived = True
    wood["boiler91"].save()
    services.detect()
    s.refresh_from_db()
    assert not s.is_current


def test_incremental_mode_for_a_new_flow(wood):
    services.detect()
    before = substitutions().count()
    new_need = FlowFactory(
        establishment=wood["e77"],
        direction="need",
        resource_class="wood_fuel",
        quantity=50,
        unit="t",
    )
    assert not substitutions().filter(need_flow=new_need).exists()
    services.detect_for_flow(new_need)
    # the sawmill's own need is never matched with its own offer
    assert not substitutions().filter(need_flow=new_need, offer_flow=wood["offer"]).exists()
    assert substitutions().count() == before
    other = FlowFactory(
        establishment=wood["e91"],
        direction="offer",
        resource_class="wood_waste",
        quantity=80,
        unit="t",
    )
    services.detect_for_flow(other)
    assert substitutions().filter(offer_flow=other, need_flow=new_need).exists()


def test_pipeline_transitions_are_checked_and_logged(wood):
    services.detect()
    s = substitutions().get(need_flow=wood["boiler91"])
    adv = wood["advisor77"]
    with pytest.raises(ValidationError):
        services.change_status(s, adv, Suggestion.Status.IMPLEMENTED)
    with pytest.raises(ValidationError, match="motif"):
        services.change_status(s, adv, Suggestion.Status.ABANDONED, "")
    services.change_status(s, adv, Suggestion.Status.PROPOSED)
    services.change_status(  # partner chamber; no introduction: the offline agreement is stated
        s,
        wood["advisor91"],
        Suggestion.Status.DISCUSSION,
        "Accord des deux directeurs en réunion",
        agreement_on=datetime.date.today(),
    )
    services.change_status(
        s,
        adv,
        Suggestion.Status.IMPLEMENTED,
        "Contrat signé",
        actual_quantity=350,
        actual_savings_eur=12000,
    )
    s.refresh_from_db()
    assert s.status == "implemented" and s.actual_quantity == 350
    history = list(s.events.values_list("from_status", "to_status", "user__username"))
    assert history == [
        ("detected", "proposed", "adv77"),
        ("proposed", "discussion", "adv91"),
        ("discussion", "implemented", "adv77"),
    ]


def test_only_advisors_of_the_chambers_involved_move_a_suggestion(wood):
    services.detect()
    s = substitutions().get(need_flow=wood["boiler91"])
    for who in ("advisor78", "company77", "admin78"):
        with pytest.raises(PermissionDenied):
            services.change_status(s, wood[who], Suggestion.Status.PROPOSED)
    from maillage.synergies import policy as synergies_policy

    assert not synergies_policy.visible_suggestions(wood["advisor78"]).filter(pk=s.pk).exists()
    assert synergies_policy.visible_suggestions(wood["advisor91"]).filter(pk=s.pk).exists()


def test_mutualisation_and_prospects(territory, make_establishment):
    sites = [make_establishment("77288", name=f"Bureau {i}", naf="62.01Z") for i in range(4)]
    for site in sites:
        FlowFactory(
            establishment=site, direction="offer", waste_code="20 01 01", quantity=3, unit="t"
        )
    paper_mill = make_establishment("77288", name="Cartonnerie", naf="17.12Z")  # no flows
    services.detect()
    group = Suggestion.objects.get(kind=Suggestion.Kind.MUTUALISATION)
    assert group.members.count() == 4 and group.quantity == pytest.approx(12)
    prospects = Suggestion.objects.filter(kind=Suggestion.Kind.PROSPECT, prospect=paper_mill)
    assert prospects.exists()


def test_full_detection_never_crosses_a_border_without_agreement(wood, make_establishment):
    # a panel maker in Versailles (78, no agreement with 77) with no flows: a would-be prospect
    make_establishment("78646", name="Panneaux de Versailles", naf="16.21Z")
    services.detect()
    pairs = set(substitutions().values_list("offer_flow_id", "need_flow_id"))
    assert (wood["offer"].pk, wood["boiler91"].pk) in pairs
    assert (wood["offer"].pk, wood["boiler78"].pk) not in pairs
    crossing = Suggestion.objects.filter(
        kind=Suggestion.Kind.PROSPECT,
        chamber=wood["chambers"][0],
        prospect__commune__departement_id="78",
    )
    assert not crossing.exists()
    # running it again, chamber by chamber or all at once, changes nothing
    count = Suggestion.objects.filter(is_current=True).count()
    for chamber in wood["chambers"]:
        services.detect(chamber)
    services.detect()
    assert Suggestion.objects.filter(is_current=True).count() == count


def test_detection_on_a_chamber_with_no_establishment_finds_nothing(make_chamber):
    """A new chamber (territory without any establishment yet) may start a detection: it ends with
    nothing found instead of failing on empty arrays."""
    empty = make_chamber("nouvelle", "48")
    results = services.detect(empty)
    assert all(counts.get("created", 0) == 0 for counts in results.values())
    assert not Suggestion.objects.exists()
