"""The synergy pipeline on the web: suggestion page, board, introduction proposed by the advisor,
double opt-in by the two companies (anonymised until both accept), outcome with recomputed CO2e;
and who may do and see each of them."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from maillage.accounts.models import User
from maillage.synergies import introductions, services
from maillage.synergies.models import Introduction, Suggestion
from tests.directory.factories import ContactFactory
from tests.factories import FlowFactory
from tests.flows.factories import wood_synergy
from tests.pages import html_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def pair(territory, make_user):
    """A sawmill (77) offering 437 t of wood waste, a boiler (91, partner chamber) needing 512 t."""
    wood_synergy(territory, offered=437, needed=512)
    ContactFactory(
        establishment=territory["e77"],
        first_name="Anne",
        last_name="Scieur",
        email="anne@scierie.test",
        phone="01 23 45 67 89",
    )
    ContactFactory(
        establishment=territory["e91"],
        first_name="Bruno",
        last_name="Chauffe",
        email="bruno@chaufferie.test",
        phone="01 98 76 54 32",
    )
    territory["company91"] = make_user("co91", User.Role.COMPANY, establishments=[territory["e91"]])
    services.detect()
    territory["s"] = Suggestion.objects.get(
        kind="substitution",
        offer_flow__establishment=territory["e77"],
        need_flow__establishment=territory["e91"],
    )
    return territory


SECRETS_OF_91 = ("Chaufferie", "Évry", "bruno@chaufferie.test", "512")
SECRETS_OF_77 = ("Scierie", "Melun", "anne@scierie.test", "437")


def test_advisor_reads_the_suggestion_and_proposes_an_introduction(client, pair):
    s = pair["s"]
    client.force_login(pair["advisor77"])
    html = html_of(client.get(reverse("suggestion-detail", args=[s.pk])))
    assert "peut remplacer" in html and "Proposer une mise en relation" in html
    assert '<option value="proposed">' not in html  # only through the introduction
    response = client.post(reverse("suggestion-propose", args=[s.pk]))
    assert response.status_code == 302
    s.refresh_from_db()
    assert s.status == "proposed"
    sides = list(s.introductions.order_by("establishment_id"))
    assert [i.establishment for i in sides] == [pair["e77"], pair["e91"]]
    assert all(i.state == "proposed" and i.proposed_by == pair["advisor77"] for i in sides)
    event = s.events.get()
    assert (event.from_status, event.to_status, event.user) == (
        "detected",
        "proposed",
        pair["advisor77"],
    )
    again = client.post(reverse("suggestion-propose", args=[s.pk]), follow=True)
    assert "déjà" in html_of(again) and s.introductions.count() == 2


@pytest.mark.parametrize("who,status", [("advisor78", 404), ("company77", 403), ("admin78", 404)])
def test_others_cannot_read_or_propose(client, pair, who, status):
    s = pair["s"]
    client.force_login(pair[who])
    response = client.get(reverse("suggestion-detail", args=[s.pk]))
    assert response.status_code == status and "Chaufferie" not in response.content.decode()
    assert client.post(reverse("suggestion-propose", args=[s.pk])).status_code == status
    assert (
        client.post(
            reverse("suggestion-transition", args=[s.pk]), {"to_status": "abandoned", "note": "x"}
        ).status_code
        == status
    )
    assert client.get(reverse("suggestion-board")).status_code in (200, 403)
    client.logout()
    assert client.get(reverse("suggestion-detail", args=[s.pk])).status_code == 302
    s.refresh_from_db()
    assert s.status == "detected" and not Introduction.objects.exists()


def test_double_opt_in_reveals_contacts_only_when_both_accept(client, pair):
    s = pair["s"]
    introductions.propose_introduction(s, pair["advisor77"])
    mine77 = Introduction.objects.get(establishment=pair["e77"])
    mine91 = Introduction.objects.get(establishment=pair["e91"])
    opportunities = reverse("opportunity-list")

    client.force_login(pair["company77"])
    html = html_of(client.get(opportunities))
    assert "Déchets de bois non traité" in html and "de 100 à 1\u202f000 t/an" in html
    from maillage.synergies.partners import distance_band

    assert f"Distance : moins de {distance_band(s.distance_km):.0f} km" in html
    assert f"{s.distance_km:.1f}".replace(".", ",") not in html
    for secret in SECRETS_OF_91:
        assert secret not in html
    mine77.refresh_from_db()
    assert mine77.viewed_at is not None and mine77.state == "viewed"
    client.post(reverse("opportunity-respond", args=[mine77.pk]), {"reponse": "accepter"})
    s.refresh_from_db()
    assert s.status == "proposed"
    html = html_of(client.get(opportunities))
    for secret in SECRETS_OF_91:
        assert secret not in html  # still anonymous: the other side has not accepted

    client.force_login(pair["company91"])
    html = html_of(client.get(opportunities))
    for secret in SECRETS_OF_77:
        assert secret not in html
    assert "L'autre entreprise : elle a accepté" in html  # its answer, not its identity
    assert "Elle peut remplacer ce que vous déclarez : « Bois énergie" in html
    # a company cannot answer for another establishment
    assert (
        client.post(
            reverse("opportunity-respond", args=[mine77.pk]), {"reponse": "decliner"}
        ).status_code
        == 404
    )
    client.post(reverse("opportunity-respond", args=[mine91.pk]), {"reponse": "accepter"})
    s.refresh_from_db()
    assert s.status == "discussion"
    assert s.events.last().user == pair["company91"]
    html = html_of(client.get(opportunities))
    assert "Scierie de Melun-Test" in html and "anne@scierie.test" in html and "437" in html

    client.force_login(pair["company77"])
    html = html_of(client.get(opportunities))
    assert "Chaufferie d&#x27;Évry-Test" in html and "bruno@chaufferie.test" in html
    assert "01 98 76 54 32" in html

    # another company sees nothing of it
    client.force_login(pair["company78"])
    html = html_of(client.get(opportunities))
    assert "Aucune mise en relation" in html
    for secret in SECRETS_OF_77 + SECRETS_OF_91:
        assert secret not in html


def test_a_refusal_abandons_and_reveals_nothing(client, pair):
    s = pair["s"]
    introductions.propose_introduction(s, pair["advisor77"])
    mine91 = Introduction.objects.get(establishment=pair["e91"])
    mine77 = Introduction.objects.get(establishment=pair["e77"])
    client.force_login(pair["company91"])
    client.post(reverse("opportunity-respond", args=[mine91.pk]), {"reponse": "decliner"})
    s.refresh_from_db()
    assert s.status == "abandoned" and "déclinée" in s.abandon_reason
    mine91.refresh_from_db()
    assert mine91.state == "declined" and mine91.responded_by == pair["company91"]
    client.force_login(pair["company77"])
    response = client.post(
        reverse("opportunity-respond", args=[mine77.pk]), {"reponse": "accepter"}, follow=True
    )
    html = html_of(response)
    assert "n&#x27;attend plus de réponse" in html
    for secret in SECRETS_OF_91:
        assert secret not in html


def test_outcome_recomputes_co2e_and_errors_are_in_french(client, pair):
    s = pair["s"]
    introductions.propose_introduction(s, pair["advisor77"])
    for side in s.introductions.all():
        user = pair["company77"] if side.establishment == pair["e77"] else pair["company91"]
        introductions.respond_introduction(user, side, accept=True)
    client.force_login(pair["advisor77"])
    url = reverse("suggestion-transition", args=[s.pk])
    html = html_of(client.get(reverse("suggestion-detail", args=[s.pk])))
    assert "bruno@chaufferie.test" in html  # the advisor sees both contacts once mutual
    missing = client.post(url, {"to_status": "implemented"})
    assert missing.status_code == 400 and "quantité réellement échangée" in html_of(missing)
    wrong = client.post(url, {"to_status": "detected"})
    assert wrong.status_code == 400 and "impossible" in html_of(wrong)
    s.refresh_from_db()
    assert s.status == "discussion"
    done = client.post(
        url, {"to_status": "implemented", "actual_quantity": "300", "actual_savings_eur": "9000"}
    )
    assert done.status_code == 302
    s.refresh_from_db()
    assert s.status == "implemented" and s.actual_quantity == 300
    assert s.actual_co2e_avoided_t is not None
    # the estimate was for min(437, 512) t; the outcome scales with the real 300 t
    assert s.actual_co2e_avoided_t == pytest.approx(s.co2e_avoided_t * 300 / 437, rel=1e-3)
    html = html_of(client.get(reverse("suggestion-detail", args=[s.pk])))
    assert "9000 €" in html
    board = html_of(client.get(reverse("suggestion-board")))
    assert "Réel : 300 t/an" in board
    assert [e.to_status for e in s.events.order_by("at", "pk")] == [
        "proposed",
        "discussion",
        "implemented",
    ]
    no_reason = client.post(url, {"to_status": "abandoned", "note": " "})
    assert no_reason.status_code == 400 and "motif" in html_of(no_reason)


def test_board_shows_columns_in_constant_queries(client, pair, make_establishment):
    client.force_login(pair["advisor77"])

    def count():
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(reverse("suggestion-board"))
        assert response.status_code == 200
        return len(ctx.captured_queries), html_of(response)

    few, html = count()
    assert "Scierie de Melun-Test" in html and "En discussion" in html
    for i in range(6):
        site = make_establishment("77288", name=f"Menuiserie {i}", naf="16.23Z")
        FlowFactory(
            establishment=site, direction="offer", waste_code="03 01 05", quantity=10 + i, unit="t"
        )
    services.detect()
    many, html = count()
    assert few == many and "Menuiserie 5" in html
    client.force_login(pair["advisor78"])
    html = html_of(client.get(reverse("suggestion-board")))
    assert "Scierie" not in html and "Chaufferie" not in html
    for who in ("company77", "company91"):
        client.force_login(pair[who])
        assert client.get(reverse("suggestion-board")).status_code == 403


def test_opportunities_are_for_companies_only(client, pair):
    introductions.propose_introduction(pair["s"], pair["advisor77"])
    for who in ("advisor77", "advisor78"):
        client.force_login(pair[who])
        assert client.get(reverse("opportunity-list")).status_code == 403
        side = Introduction.objects.first()
        assert (
            client.post(
                reverse("opportunity-respond", args=[side.pk]), {"reponse": "accepter"}
            ).status_code
            == 404
        )
    client.logout()
    assert client.get(reverse("opportunity-list")).status_code == 302
    assert not Introduction.objects.filter(accepted_at__isnull=False).exists()


def test_opportunity_list_in_constant_queries(client, pair, make_establishment):
    client.force_login(pair["company77"])
    introductions.propose_introduction(pair["s"], pair["advisor77"])

    def count():
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(reverse("opportunity-list")).status_code == 200
        return len(ctx.captured_queries)

    one = count()
    for i in range(3):
        site = make_establishment("77288", name=f"Chaudière {i}", naf="35.30Z")
        FlowFactory(
            establishment=site, direction="need", resource_class="wood_fuel", quantity=50, unit="t"
        )
    services.detect()
    for s in Suggestion.objects.filter(status="detected", kind="substitution"):
        introductions.propose_introduction(s, pair["advisor77"])
    assert Introduction.objects.filter(establishment=pair["e77"]).count() >= 3
    assert count() == one


def test_companies_see_detected_leads_anonymised(client, pair):
    client.force_login(pair["company77"])
    html = html_of(client.get(reverse("opportunity-list")))
    assert "Pistes repérées" in html and "Déchets de bois non traité" in html
    assert "de 100 à 1\u202f000 t/an" in html and "vous proposez" in html
    for secret in SECRETS_OF_91:
        assert secret not in html
    client.force_login(pair["company91"])
    html = html_of(client.get(reverse("opportunity-list")))
    assert "vous recherchez" in html
    for secret in SECRETS_OF_77:
        assert secret not in html
    client.force_login(pair["company78"])
    html = html_of(client.get(reverse("opportunity-list")))
    assert "Aucune piste" in html and "Déchets de bois" not in html


def test_every_page_of_this_part_refuses_anonymous_visitors(client, pair):
    from maillage.flows.models import Flow

    introductions.propose_introduction(pair["s"], pair["advisor77"])
    e, f, s = pair["e77"], Flow.objects.filter(establishment=pair["e77"]).first(), pair["s"]
    side = Introduction.objects.first()
    urls = [
        reverse("establishment-search"),
        reverse("establishment-edit", args=[e.pk]),
        reverse("visit-create", args=[e.pk]),
        reverse("flow-create", args=[e.pk]),
        reverse("flow-edit", args=[f.pk]),
        reverse("flow-history", args=[f.pk]),
        reverse("options-waste-codes"),
        reverse("reference-naf"),
        reverse("reference-communes"),
        reverse("suggestion-board"),
        reverse("suggestion-detail", args=[s.pk]),
        reverse("opportunity-list"),
    ]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 302 and "/comptes/login/" in response.url, url
    for url in (
        reverse("flow-archive", args=[f.pk]),
        reverse("suggestion-propose", args=[s.pk]),
        reverse("suggestion-transition", args=[s.pk]),
        reverse("opportunity-respond", args=[side.pk]),
    ):
        response = client.post(url, {"reponse": "accepter", "to_status": "abandoned", "note": "x"})
        assert response.status_code == 302 and "/comptes/login/" in response.url, url
    s.refresh_from_db()
    assert s.status == "proposed" and not Introduction.objects.filter(accepted_at__isnull=False)
