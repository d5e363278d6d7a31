"""Marketplace pages: the buyer's and suppliers' journeys, the sourcing directory, and who may not
see or do what (another chamber's advisor, another company, an anonymous visitor)."""

from __future__ import annotations

import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from maillage.marketplace import services
from maillage.marketplace.models import Need, NeedEvent, Response
from tests.marketplace.factories import AttachmentFactory, NeedEventFactory
from tests.marketplace.need_post import lot_rows

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def _login(client, user):
    client.force_login(user)
    return client


def test_buyer_publishes_supplier_responds_buyer_shortlists_and_closes(client, market):
    u = market["users"]
    _login(client, u["buyer"])
    closes = (timezone.localdate() + datetime.timedelta(days=20)).isoformat()
    r = client.post(
        reverse("marketplace:need-create"),
        {
            "buyer": market["buyer"].pk,
            "theme": "purchasing",
            "kind": "service",
            "title": "Fraisage de supports acier",
            "description": "Série de 200 supports en acier à fraiser et percer.",
            "category": "mechanics",
            "quantity": "200 pièces",
            "delivery_commune": "77288",
            "budget": "lt25k",
            "visibility": "platform",
            "hide_buyer": "on",
            "closes_on": closes,
            **lot_rows(("Fraisage", "mechanics"), ("Traitement de surface", ""), rows=3),
            "files": SimpleUploadedFile("cahier.pdf", b"%PDF-1.4 cahier des charges"),
        },
    )
    need = Need.objects.get(title="Fraisage de supports acier")
    assert r.status_code == 302 and need.status == "draft"
    assert list(need.lots.values_list("title", flat=True)) == ["Fraisage", "Traitement de surface"]
    assert need.attachments.get().name == "cahier.pdf"
    r = client.post(reverse("marketplace:need-transition", args=[need.pk]), {"action": "publish"})
    need.refresh_from_db()
    assert need.status == "published"

    # The supplier: sees it in its list, the buyer hidden, downloads the specification, responds.
    _login(client, u["mech1"])
    page = client.get(reverse("marketplace:need-list")).content.decode()
    assert "Fraisage de supports acier" in page
    page = client.get(reverse("marketplace:need-detail", args=[need.pk])).content.decode()
    assert "Grand Donneur" not in page and "identité masquée" in page
    a = need.attachments.get()
    download = client.get(reverse("marketplace:attachment", args=[a.pk]))
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == b"%PDF-1.4 cahier des charges"
    for closer in download._resource_closers:  # not .close(): it ends the test DB connection
        closer()
    r = client.post(
        reverse("marketplace:need-respond", args=[need.pk]),
        {
            "supplier": market["mech1"].pk,
            "message": "Nous avons un centre 5 axes.",
            "price_band": "lt25k",
            "files": SimpleUploadedFile("devis.pdf", b"%PDF devis"),
        },
    )
    assert r.status_code == 302
    response = Response.objects.get(need=need)

    # The buyer compares, shortlists (htmx) and closes.
    _login(client, u["buyer"])
    page = client.get(reverse("marketplace:need-detail", args=[need.pk])).content.decode()
    assert "Nous avons un centre 5 axes." in page and "Usinage Briard" in page
    r = client.post(
        reverse("marketplace:response-shortlist", args=[response.pk]),
        {"on": "1"},
        HTTP_HX_REQUEST="true",
    )
    assert r.status_code == 200 and "présélectionnée" in r.content.decode()
    client.post(
        reverse("marketplace:need-transition", args=[need.pk]),
        {"action": "close", "winner": response.pk},
    )
    need.refresh_from_db()
    assert need.status == "awarded"

    # The supplier sees the outcome and, shortlisted, the buyer's identity.
    _login(client, u["mech1"])
    page = client.get(reverse("marketplace:need-detail", args=[need.pk])).content.decode()
    assert "retenue" in page and "Grand Donneur" in page
    assert "Répondre" not in page


def test_bad_input_gets_french_errors_and_keeps_nothing(client, market):
    _login(client, market["users"]["buyer"])
    r = client.post(
        reverse("marketplace:need-create"),
        {
            "buyer": market["buyer"].pk,
            "theme": "innovation",
            "kind": "product",
            "title": "X",
            "description": "Y",
            "visibility": "platform",
            "closes_on": "2030-01-01",
            "delivery_commune": "99999",
            **lot_rows(("Lot", "inconnue")),
        },
    )
    page = r.content.decode()
    assert r.status_code == 200
    assert "Commune « 99999 » inconnue" in page
    assert "Sélectionnez un choix valide" in page and "inconnue" in page
    assert not Need.objects.exists()


@pytest.fixture
def published(market, make_need):
    u = market["users"]
    need = make_need(
        market["buyer"],
        u["buyer"],
        visibility="chamber",
        visibility_chamber=market["chambers"][0],
    )
    services.publish(u["buyer"], need)
    response = services.respond(u["mech1"], need, market["mech1"], message="Offre confidentielle")
    AttachmentFactory(
        need=need,
        response=response,
        file=SimpleUploadedFile("prix.pdf", b"secret"),
        name="prix.pdf",
    )
    draft = make_need(market["buyer"], u["buyer"], title="Brouillon secret")
    return {"need": need, "response": response, "draft": draft}


def test_security_other_chamber_advisor_company_and_anonymous(client, market, published):
    need, response, draft = published["need"], published["response"], published["draft"]
    detail = reverse("marketplace:need-detail", args=[need.pk])
    attachment = response.attachments.get()

    # Anonymous: sent to the login page everywhere.
    for url in [
        reverse("marketplace:need-list"),
        detail,
        reverse("marketplace:directory"),
        reverse("marketplace:attachment", args=[attachment.pk]),
    ]:
        r = client.get(url)
        assert r.status_code == 302 and "/comptes/login/" in r["Location"]

    # Another chamber's advisor (78) does not see a need restricted to the 77 chamber.
    _login(client, market["advisor78"])
    assert client.get(detail).status_code == 404
    assert "Usinage de pièces" not in client.get(reverse("marketplace:need-list")).content.decode()
    # ... whereas the 77 advisor does, without the responses.
    _login(client, market["advisor77"])
    page = client.get(detail).content.decode()
    assert "Usinage de pièces" in page and "Offre confidentielle" not in page

    # Another company (78) sees neither the chamber need nor the draft.
    _login(client, market["users"]["far"])
    assert client.get(detail).status_code == 404
    assert client.get(reverse("marketplace:need-detail", args=[draft.pk])).status_code == 404
    # A competitor in the same chamber sees the need but not another supplier's response.
    _login(client, market["users"]["mech2"])
    page = client.get(detail).content.decode()
    assert "Offre confidentielle" not in page
    assert client.get(reverse("marketplace:attachment", args=[attachment.pk])).status_code == 404
    assert client.get(reverse("marketplace:need-detail", args=[draft.pk])).status_code == 404
    # ... and may not shortlist, close, edit or answer in someone else's name.
    r = client.post(reverse("marketplace:response-shortlist", args=[response.pk]), {"on": "1"})
    assert r.status_code == 404
    client.post(reverse("marketplace:need-transition", args=[need.pk]), {"action": "close"})
    need.refresh_from_db()
    assert need.status == "published"
    assert client.get(reverse("marketplace:need-edit", args=[need.pk])).status_code == 403
    client.post(
        reverse("marketplace:need-respond", args=[need.pk]),
        {"supplier": market["mech1"].pk, "message": "usurpation"},
    )
    assert Response.objects.get(pk=response.pk).message == "Offre confidentielle"
    # A company without establishment rights cannot edit someone's supplier profile.
    assert (
        client.get(reverse("marketplace:profile-edit", args=[market["mech1"].pk])).status_code
        == 404
    )


def test_need_list_queries_do_not_grow_with_rows(
    client, market, make_need, django_assert_max_num_queries
):
    u = market["users"]
    for i in range(12):
        services.publish(u["buyer"], make_need(market["buyer"], u["buyer"], title=f"Besoin {i}"))
    _login(client, u["mech1"])
    with django_assert_max_num_queries(12):
        r = client.get(reverse("marketplace:need-list"))
    assert r.content.decode().count("Besoin ") >= 12


def test_directory_words_category_distance_size_network(
    client, market, django_assert_max_num_queries
):
    _login(client, market["users"]["baker"])
    url = reverse("marketplace:directory")

    def names(**params):
        with django_assert_max_num_queries(10):
            page = client.get(url, params).content.decode()
        return [
            n
            for n in (
                "Usinage Briard",
                "Mécanique de Moissy",
                "Électricité Melunaise",
                "Tournage Versaillais",
                "Boulangerie du Centre",
            )
            if n in page
        ]

    # Accents, case and plurals: "FRAISAGES" finds "fraisage", "câblage" finds "câblages".
    assert names(q="FRAISAGES") == ["Usinage Briard", "Mécanique de Moissy", "Tournage Versaillais"]
    assert names(q="câblage") == ["Électricité Melunaise"]
    assert names(category="food") == ["Boulangerie du Centre"]
    near = names(category="mechanics", commune="77288", km="30")
    assert "Tournage Versaillais" not in near and "Usinage Briard" in near
    assert "Usinage Briard" in names(size="pme")
    page = client.get(url, {"commune": "00000"}).content.decode()
    assert "Commune « 00000 » inconnue" in page


def test_supplier_edits_own_profile_and_notification_preferences(client, market):
    u = market["users"]
    _login(client, u["elec"])
    r = client.post(
        reverse("marketplace:profile-edit", args=[market["elec"].pk]),
        {
            "capabilities": "Automatismes et variateurs",
            "tags": "automates, GTB",
            "categories": ["electricity"],
            "service_radius_km": "40",
            "is_active": "on",
        },
    )
    assert r.status_code == 302
    profile = market["elec"].supplier_profile
    profile.refresh_from_db()
    assert profile.categories == "electricity" and " automate " in profile.search_text
    r = client.post(
        reverse("notifications:list"),
        {
            "new_need": "daily",
            "new_response": "never",
            "shortlisted": "immediate",
            "need_outcome": "immediate",
            "consortium_response": "never",
            "need_expired": "immediate",
            "closing_reminder": "daily",
            "export_request": "immediate",
            "export_answer": "daily",
        },
    )
    assert r.status_code == 302
    assert u["elec"].notification_preferences.get(kind="new_need").frequency == "daily"
    prefs = u["elec"].notification_preferences
    assert prefs.get(kind="consortium_response").frequency == "never"


def test_buyer_detail_queries_do_not_grow_with_responses(
    client, market, make_need, make_establishment, make_user, profile, django_assert_max_num_queries
):
    from maillage.accounts.models import User

    u = market["users"]
    need = make_need(market["buyer"], u["buyer"])
    services.publish(u["buyer"], need)
    for i in range(8):
        shop = make_establishment("77288", name=f"Atelier {i}", naf="25.62B")
        profile(shop, "Usinage et tournage.")
        user = make_user(f"shop{i}", User.Role.COMPANY, establishments=[shop])
        services.respond(user, need, shop, message=f"Offre {i}")
    _login(client, u["buyer"])
    with django_assert_max_num_queries(30):
        page = client.get(reverse("marketplace:need-detail", args=[need.pk])).content.decode()
    assert all(f"Offre {i}" in page for i in range(8))
    assert "8 réponses" in page


def test_need_list_shows_counters_to_the_buyer_only(client, market, make_need):
    """Notified / seen / responses are the buyer's figures (as in the API), not its suppliers'."""
    u = market["users"]
    need = make_need(market["buyer"], u["buyer"])
    services.publish(u["buyer"], need)
    services.respond(u["mech1"], need, market["mech1"], message="Oui")

    def row(user) -> str:
        _login(client, user)
        page = client.get(reverse("marketplace:need-list")).content.decode()
        return page[page.index(need.title) :].split("</tr>")[0]

    assert row(u["buyer"]).endswith("<td>2</td><td>1</td><td>1</td>")  # notified, seen, responses
    for user in (u["mech1"], u["mech2"], market["advisor78"]):
        assert "<td>—</td><td>—</td><td>—</td>" in row(user)


def test_need_history_records_and_shows_no_step_that_changed_nothing(client, market, make_need):
    """Issue 16.12: « brouillon → brouillon » in a need's history. Creating and re-saving a
    draft records no step; a row left by older versions (creation as draft → draft) is hidden,
    the real steps still show."""
    u = market["users"]
    need = make_need(market["buyer"], u["buyer"])
    need.title = "Usinage de pièces de rechange (révisé)"
    services.save_need(u["buyer"], need)
    assert not NeedEvent.objects.filter(need=need).exists()
    NeedEventFactory(need=need, by=u["buyer"], from_status="draft", to_status="draft")
    services.transition(u["buyer"], need, Need.Status.PUBLISHED)
    assert NeedEvent.objects.filter(need=need).exclude(from_status=F("to_status")).count() == 1
    page = _login(client, u["buyer"]).get(reverse("marketplace:need-detail", args=[need.pk]))
    html = page.content.decode()
    assert "brouillon → publié" in html
    assert "brouillon → brouillon" not in html
