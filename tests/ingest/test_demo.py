"""The demo territory: realistic sizes, deterministic, idempotent, with working logins."""

import pytest
from django.db.models import Count
from django.http import HttpRequest

from maillage.accounts.models import Chamber, DataSharingAgreement, User
from maillage.directory.models import Contact, Establishment
from maillage.flows import policy as flows_policy
from maillage.flows.models import Flow, Visit
from maillage.ingest.demo import DEMO_PASSWORD, load_demo
from maillage.networks.models import Membership, Network

pytestmark = pytest.mark.django_db

MODELS = [
    Chamber,
    DataSharingAgreement,
    User,
    Establishment,
    Contact,
    Network,
    Membership,
    Visit,
    Flow,
]


def snapshot():
    return {m.__name__: m.objects.count() for m in MODELS}


def test_demo_territory_is_realistic_and_idempotent(client):
    load_demo(seed=1)
    first = snapshot()
    assert 4800 <= first["Establishment"] <= 5200
    assert first["Visit"] == 400
    assert 1500 <= first["Flow"] <= 2600
    assert first["Chamber"] == 3 and first["DataSharingAgreement"] == 1
    club = Network.objects.get(kind="club")
    assert club.federation is not None and club.memberships.count() >= 200
    # every role has a demo login, and it works
    roles = set(User.objects.values_list("role", flat=True))
    assert roles == set(User.Role.values)
    for username in ("conseiller1.essonne", "entreprise1", "animateur.club", "admin"):
        assert client.login(request=HttpRequest(), username=username, password=DEMO_PASSWORD), (
            username
        )
        client.logout()
    # flows make sense for the activity: sawmills reject wood, bakeries need flour-like inputs
    sawmill_offers = set(
        Flow.objects.filter(
            establishment__naf__code__startswith="16.10", direction="offer"
        ).values_list("resource_class__category", flat=True)
    )
    assert "waste" in sawmill_offers
    # each chamber gets establishments in proportion to its population, all inside its territory
    per_chamber = dict(
        Establishment.objects.values_list("commune__territory__chamber__slug")
        .annotate(n=Count("pk"))
        .order_by()
    )
    assert set(per_chamber) == {"cci-versailles", "cci-seine-et-marne", "cci-essonne"}
    assert per_chamber["cci-versailles"] > per_chamber["cci-essonne"]
    # the 77/91 agreement works on the demo data
    adv91 = User.objects.get(username="conseiller1.essonne")
    visible = set(
        flows_policy.visible_flows(adv91)
        .values_list("establishment__commune__departement_id", flat=True)
        .distinct()
    )
    assert visible == {"77", "91"}

    # the synergy engine finds plenty on the demo territory
    from maillage.synergies import services as synergies
    from maillage.synergies.models import Suggestion

    synergies.detect()
    kinds = dict(Suggestion.objects.values_list("kind").annotate(n=Count("pk")).order_by())
    assert kinds["substitution"] >= 100 and kinds["mutualisation"] >= 20
    assert kinds["prospect"] >= 100

    load_demo(seed=1)
    assert snapshot() == first
    from maillage.reference import services

    services.load_all()
    assert snapshot() == first


def test_same_seed_same_territory():
    load_demo(seed=7, n_establishments=300, n_visited=30)
    sirets = list(Establishment.objects.order_by("siret").values_list("siret", "naf_id"))
    flows = list(
        Flow.objects.order_by("establishment__siret", "direction", "resource_class_id").values_list(
            "establishment__siret", "resource_class_id", "quantity"
        )
    )
    Establishment.objects.all().delete()
    load_demo(seed=7, n_establishments=300, n_visited=30)
    assert list(Establishment.objects.order_by("siret").values_list("siret", "naf_id")) == sirets
    assert (
        list(
            Flow.objects.order_by(
                "establishment__siret", "direction", "resource_class_id"
            ).values_list("establishment__siret", "resource_class_id", "quantity")
        )
        == flows
    )
