"""The buyer's loop on the marketplace (issue 16 points 1, 7, 8, 12; issue 17 point 5): editing a
need, lots by French category labels, invitations from the match list with a true count, per-lot
responses with their history, contacts revealed on award, the paginated sourcing directory."""

from __future__ import annotations

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from maillage.engine import marketplace as engine
from maillage.marketplace import policy as marketplace_policy
from maillage.marketplace import selectors, services
from maillage.marketplace.forms import NeedForm, category_from_label
from maillage.marketplace.models import Match, Need, Response
from maillage.notifications.models import Notification
from tests.directory.factories import ContactFactory
from tests.marketplace.need_post import lot_rows


def _page(client, user, name, *args, **kw):
    client.force_login(user)
    return client.get(reverse(name, args=args), **kw)


# -- 16.1 / 17.5: editing a need ---------------------------------------------------------------
def test_buyer_edits_a_need_and_picks_lot_categories_from_french_labels(client, market, make_need):
    u = market["users"]
    need = make_need(market["buyer"], u["buyer"], lots=[("Tournage", "mechanics")])
    page = _page(client, u["buyer"], "marketplace:need-edit", need.pk)
    assert page.status_code == 200
    form = page.context["form"]
    assert form.lots.forms[0].initial == {"title": "Tournage", "category": "mechanics"}
    # The existing lot and three empty rows, each a select of the French labels.
    assert len(form.lots.forms) == 4
    html = page.content.decode()
    assert '<select name="lots-0-category"' in html
    assert '<option value="mechanics" selected>mécanique, usinage, chaudronnerie</option>' in html
    assert '<option value="electricity">électricité, automatismes</option>' in html
    assert 'for="id_lots-1-category">Catégorie du lot 2</label>' in html
    lot = need.lots.get()
    post = {
        "theme": "purchasing",
        "kind": "service",
        "title": "Usinage corrigé",
        "description": need.description,
        "category": "mechanics",
        "visibility": "platform",
        "closes_on": need.closes_on.isoformat(),
        **lot_rows(("Tournage", "mechanics"), ("", ""), ("Câblage des armoires", "electricity")),
    }
    response = client.post(reverse("marketplace:need-edit", args=[need.pk]), post)
    assert response.status_code == 302
    need.refresh_from_db()
    assert need.title == "Usinage corrigé"
    assert list(need.lots.values_list("number", "title", "category")) == [
        (1, "Tournage", "mechanics"),
        (2, "Câblage des armoires", "electricity"),
    ]
    assert need.lots.get(number=1).pk == lot.pk  # updated in place: responses keep their lot


def test_need_edit_refused_to_others(client, market, make_need):
    u = market["users"]
    need = make_need(market["buyer"], u["buyer"])
    services.publish(u["buyer"], need)
    url = reverse("marketplace:need-edit", args=[need.pk])
    for outsider in (u["mech1"], market["advisor78"], market["advisor77"]):
        client.force_login(outsider)
        assert client.get(url).status_code == 403
        assert client.post(url, {"title": "piraté"}).status_code == 403
    client.logout()
    assert client.get(url).status_code == 302  # to the login page
    need.refresh_from_db()
    assert need.title == "Usinage de pièces de rechange"


def test_lot_categories_by_french_labels_and_clear_error():
    assert category_from_label("mécanique") == "mechanics"
    assert category_from_label("MECANIQUE, USINAGE, CHAUDRONNERIE") == "mechanics"
    assert category_from_label("Electricité") == "electricity"
    assert category_from_label("mechanics") == "mechanics"
    assert category_from_label("plomberie") is None
    base = {"theme": "purchasing", "kind": "service", "title": "x"}
    # a category that is not one of the choices (typed into a forged request) is refused
    form = NeedForm({**base, **lot_rows(("Lot A", "plomberie"))}, buyers=None)
    assert not form.is_valid()
    assert "Sélectionnez un choix valide" in " ".join(form.lots.forms[0].errors["category"])
    # a category without a title says what is missing
    form = NeedForm({**base, **lot_rows(("", "mechanics"))}, buyers=None)
    assert not form.is_valid()
    assert "Donnez un intitulé à ce lot" in " ".join(form.lots.forms[0].errors["title"])
    # more than ten rows is refused
    form = NeedForm({**base, **lot_rows(*[(f"L{i}", "") for i in range(11)])}, buyers=None)
    assert not form.is_valid()
    assert form.lots.non_form_errors()


def test_cannot_remove_a_lot_that_has_responses(market, make_need):
    u = market["users"]
    need = make_need(market["buyer"], u["buyer"], lots=[("Tournage", ""), ("Fraisage", "")])
    services.publish(u["buyer"], need)
    services.respond(
        u["mech1"], need, market["mech1"], message="Lot 2", lot=need.lots.get(number=2)
    )
    with pytest.raises(ValidationError) as exc:
        services.save_need(u["buyer"], need, [("Tournage", "")])
    assert "a déjà reçu des réponses" in " ".join(exc.value.messages)
    assert need.lots.count() == 2


# -- 12: reasons in French with accents -------------------------------------------------------
def test_matching_reasons_keep_the_buyers_accents(market, make_need):
    u = market["users"]
    need = make_need(
        market["buyer"],
        u["buyer"],
        title="Pièces mécaniques de précision",
        description="Tournage et fraisage de pièces mécaniques.",
    )
    matches = services.publish(u["buyer"], need)
    explanation = Match.objects.get(need=need, supplier=market["mech1"]).explanation
    words = explanation["words_as_written"]
    assert "mécaniques" in words and "précision" in words
    assert "mecanique" in explanation["words"]  # the engine's own tokens stay as they were
    assert matches
    assert engine.as_written("d’étanchéité", ["etancheite"]) == ["étanchéité"]
    # a row stored without the written words still reads in French on the buyer's page
    Match.objects.filter(need=need).update(explanation={"words": ["piece", "mecanique"]})
    shown = selectors.matches_for_buyer(need)
    assert shown[0].reason_words == ["pièces", "mécaniques"]


# -- 16.8: invitations and a true count -------------------------------------------------------
@pytest.fixture
def silent_supplier(market, make_establishment, profile):
    """A machining shop with no user account but a contact with an e-mail address."""
    shop = make_establishment(
        "77288", name="Tôlerie Sans Compte", naf="25.62B", latitude=48.54, longitude=2.66
    )
    profile(shop, "Usinage, tournage et fraisage de pièces mécaniques.", categories="mechanics")
    ContactFactory(
        establishment=shop, first_name="Inès", last_name="Roux", email="ines@tolerie.test"
    )
    return shop


def test_publish_counts_truly_then_buyer_invites_from_the_match_list(
    client, market, make_need, silent_supplier, django_capture_on_commit_callbacks
):
    u = market["users"]
    need = make_need(market["buyer"], u["buyer"])
    client.force_login(u["buyer"])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("marketplace:need-transition", args=[need.pk]),
            {"action": "publish"},
            follow=True,
        )
    html = response.content.decode()
    matches = list(need.matches.all())
    notified = [m for m in matches if m.notified_at]
    silent = Match.objects.get(need=need, supplier=silent_supplier)
    assert silent.notified_at is None
    assert len(notified) == len(matches) - 1
    assert (
        f"{len(matches)} fournisseur(s) pertinent(s) trouvé(s), {len(notified)} prévenu(s)" in html
    )
    assert f"{len(notified)} fournisseurs prévenus" in html
    assert f'name="supplier" value="{silent_supplier.pk}"' in html
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("marketplace:need-invite", args=[need.pk]),
            {"supplier": [str(silent_supplier.pk), str(market["baker"].pk)]},
            follow=True,
        )
    html = response.content.decode()
    assert "1 fournisseur invité." in html  # the baker is not in the match list: ignored
    assert f"{len(notified) + 1} fournisseurs prévenus" in html
    silent.refresh_from_db()
    assert silent.invited_at and silent.notified_at and silent.invited_by == u["buyer"]
    assert [m.to for m in mail.outbox] == [["ines@tolerie.test"]]
    assert "Usinage de pièces de rechange" in mail.outbox[0].body
    assert f"/marche/besoins/{need.pk}/" in mail.outbox[0].body


def test_invite_refused_to_others(client, market, make_need, silent_supplier):
    u = market["users"]
    need = make_need(market["buyer"], u["buyer"])
    services.publish(u["buyer"], need)
    url = reverse("marketplace:need-invite", args=[need.pk])
    for outsider in (u["mech1"], market["advisor78"], market["advisor77"]):
        client.force_login(outsider)
        assert client.post(url, {"supplier": [silent_supplier.pk]}).status_code == 403
        with pytest.raises(PermissionDenied):
            services.invite(outsider, need, [silent_supplier.pk])
    client.logout()
    assert client.post(url, {"supplier": [silent_supplier.pk]}).status_code == 302
    assert Match.objects.get(need=need, supplier=silent_supplier).invited_at is None


# -- 16.8: per-lot responses, versions ---------------------------------------------------------
def test_per_lot_responses_keep_every_version(client, market, make_need):
    u = market["users"]
    need = make_need(market["buyer"], u["buyer"], lots=[("Tournage", ""), ("Câblage", "")])
    services.publish(u["buyer"], need)
    lot1, lot2 = need.lots.order_by("number")
    first = services.respond(u["mech1"], need, market["mech1"], message="Offre A", lot=lot1)
    again = services.respond(
        u["mech1"], need, market["mech1"], message="Offre A révisée", price_band="lt25k", lot=lot1
    )
    other = services.respond(u["mech1"], need, market["mech1"], message="Offre B", lot=lot2)
    assert again.pk == first.pk and other.pk != first.pk
    assert [(v.number, v.message) for v in first.versions.all()] == [
        (1, "Offre A"),
        (2, "Offre A révisée"),
    ]
    assert Response.objects.filter(need=need, supplier=market["mech1"]).count() == 2
    titles = list(
        Notification.objects.filter(user=u["buyer"], kind="new_response").values_list(
            "title", flat=True
        )
    )
    assert sum("révisée" in t for t in titles) == 1
    page = _page(client, u["buyer"], "marketplace:need-detail", need.pk).content.decode()
    assert "Lot 1 : Tournage" in page and "Lot 2 : Câblage" in page
    assert "2 versions" in page and "Offre A révisée" in page
    assert "version 1 du" in page and "Offre A" in page
    # Someone else's lot: refused
    other_need = make_need(market["buyer"], u["buyer"], lots=[("X", "")])
    with pytest.raises(ValidationError):
        services.respond(u["mech2"], need, market["mech2"], message="x", lot=other_need.lots.get())


def test_supplier_responds_to_a_lot_through_the_page(client, market, make_need):
    u = market["users"]
    need = make_need(market["buyer"], u["buyer"], lots=[("Tournage", ""), ("Câblage", "")])
    services.publish(u["buyer"], need)
    lot2 = need.lots.get(number=2)
    html = _page(client, u["elec"], "marketplace:need-detail", need.pk).content.decode()
    assert "Lot 2 : Câblage" in html and "l&#x27;ensemble du besoin" in html
    for text in ("Première offre", "Offre corrigée"):
        client.post(
            reverse("marketplace:need-respond", args=[need.pk]),
            {"supplier": market["elec"].pk, "message": text, "lot": lot2.pk},
        )
    r = Response.objects.get(need=need, supplier=market["elec"])
    assert r.lot == lot2 and r.message == "Offre corrigée" and r.versions.count() == 2
    # the other companies do not see it
    assert not marketplace_policy.visible_responses(u["mech1"]).filter(pk=r.pk).exists()


# -- 16.8: contacts on award ---------------------------------------------------------------------
def test_award_reveals_contacts_to_both_sides_only(client, market, make_need):
    u = market["users"]
    ContactFactory(
        establishment=market["mech1"],
        first_name="Paul",
        last_name="Briard",
        role="gérant",
        email="paul@usinage.test",
        phone="01 60 00 00 01",
    )
    ContactFactory(
        establishment=market["buyer"], first_name="Anne", last_name="Achat", email="anne@do.test"
    )
    need = make_need(market["buyer"], u["buyer"])
    services.publish(u["buyer"], need)
    r1 = services.respond(u["mech1"], need, market["mech1"], message="Offre")
    services.respond(u["mech2"], need, market["mech2"], message="Autre offre")
    assert (
        marketplace_policy.award_contact_establishment_ids(u["buyer"], need) == []
    )  # not before the award
    services.shortlist(u["buyer"], r1)
    services.close(u["buyer"], need, winner=r1)
    buyer_page = _page(client, u["buyer"], "marketplace:need-detail", need.pk).content.decode()
    assert "Contact du fournisseur retenu" in buyer_page and "paul@usinage.test" in buyer_page
    supplier_page = _page(client, u["mech1"], "marketplace:need-detail", need.pk).content.decode()
    assert "Contact de l'acheteur" in supplier_page and "anne@do.test" in supplier_page
    for outsider in (u["mech2"], market["advisor78"], market["advisor77"]):
        page = _page(client, outsider, "marketplace:need-detail", need.pk).content.decode()
        assert "paul@usinage.test" not in page and "anne@do.test" not in page
        assert marketplace_policy.award_contact_establishment_ids(outsider, need) == []
    buyer_note = Notification.objects.get(user=u["buyer"], kind="need_outcome")
    assert "paul@usinage.test" in buyer_note.body
    won = Notification.objects.get(user=u["mech1"], kind="need_outcome")
    assert "anne@do.test" in won.body
    lost = Notification.objects.get(user=u["mech2"], kind="need_outcome")
    assert "anne@do.test" not in lost.body


# -- 16.8: the sourcing directory ---------------------------------------------------------------
def test_directory_shows_siret_profile_and_paginates(
    client, market, make_establishment, profile, make_user
):
    for i in range(55):
        shop = make_establishment("77288", name=f"Atelier {i:02d}", naf="25.62B")
        profile(shop, "Usinage et tournage.", categories="mechanics", tags="tournage")
    ContactFactory(
        establishment=market["mech1"], first_name="Paul", last_name="Briard", email="paul@u.test"
    )
    client.force_login(market["users"]["buyer"])
    first = client.get(reverse("marketplace:directory")).content.decode()
    assert "60 fournisseurs" in first and "page 1 sur 2" in first
    assert market["mech1"].siret in first or "Atelier 00" in first
    assert "mécanique, usinage, chaudronnerie" in first
    second = client.get(reverse("marketplace:directory"), {"page": 2}).content.decode()
    assert "Usinage Briard" in second and market["mech1"].siret in second
    assert "paul@u.test" not in second  # another company's contact: not for this buyer
    near = client.get(
        reverse("marketplace:directory"), {"commune": "77288", "km": "50", "page": "2"}
    ).content.decode()
    assert "page 2 sur 2" in near
    # its chamber's advisor sees the contact; an anonymous visitor sees nothing
    client.force_login(market["advisor77"])
    second = client.get(reverse("marketplace:directory"), {"page": 2}).content.decode()
    assert "paul@u.test" in second
    client.logout()
    assert client.get(reverse("marketplace:directory")).status_code == 302
    results = selectors.search_suppliers(market["users"]["buyer"])
    assert len(results) == 60 and len(list(results)) == 60


def test_need_model_status_is_unchanged_by_edit_form(market, make_need):
    """The edit form has no buyer field: an existing need's buyer cannot be moved."""
    u = market["users"]
    need = make_need(market["buyer"], u["buyer"])
    form = NeedForm(instance=need)
    assert "buyer" not in form.fields
    assert Need.objects.get(pk=need.pk).buyer == market["buyer"]
