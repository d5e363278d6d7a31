"""The advisor's loop, as a user walks it: the advisor records a visit at a sawmill (wood waste
out) and at a boiler house (wood fuel in), searches the sawmill flow's partners from its
establishment page, opens the suggestion and proposes the introduction; each company is notified
and accepts in its space; the advisor then marks the synergy implemented with the quantity
actually exchanged, and the dashboard counts that quantity, not the detected one."""

from __future__ import annotations

import pytest

from maillage.synergies.models import Suggestion
from maillage.synergies.selectors import realised_impact
from tests.browser.session import sign_in, sign_out

pytestmark = pytest.mark.browser


def _fr(value: float) -> str:
    """A figure as the pages print it (one decimal, French comma)."""
    return f"{value:.1f}".replace(".", ",")


def _record_visit(page, name: str, date: str, flow: dict[str, str]) -> None:
    """From the establishment search, open `name` and record a visit with one flow."""
    page.click("nav >> text=Établissements")
    page.fill("#id_q", name)
    page.wait_for_selector("#results >> text=1 établissement")
    page.click(f"#results >> text={name}")
    page.click("text=Enregistrer une visite")
    page.fill("#id_date", date)
    for field, value in flow.items():
        if field == "direction":
            page.select_option("#id_flux-0-direction", value)
        else:
            page.fill(f"#id_flux-0-{field}", value)
    page.click("text=Enregistrer la visite et ses flux")
    page.wait_for_selector("text=Visite enregistrée avec 1 flux")


def test_advisor_visit_partners_introduction_opt_in_implemented_dashboard(
    live_server, page, brie, settings
):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    base = live_server.url
    sawmill, boiler = brie["sawmill"], brie["boiler"]

    # The advisor visits both companies and records their flows on the visit page.
    sign_in(page, base, "conseillere")
    _record_visit(
        page,
        "Chaufferie de Melun",
        "2025-06-10",
        {"direction": "need", "resource_class": "wood_fuel", "quantity": "500", "unit": "t"},
    )
    assert "500 t" in page.inner_text("section.card:has(h2:has-text('Flux de ressources'))")
    _record_visit(
        page,
        "Scierie de la Brie",
        "2025-06-12",
        {
            "direction": "offer",
            "waste_code": "03 01 05",
            "quantity": "400",
            "unit": "t",
            "description": "Sciure et copeaux de chêne",
        },
    )
    flows = page.inner_text("section.card:has(h2:has-text('Flux de ressources'))")
    assert "Sciure et copeaux de chêne" in flows and "03 01 05" in flows and "400 t" in flows

    # On the sawmill's page, « Chercher des partenaires » for that flow: the boiler comes first,
    # with the reasons of the match.
    assert not Suggestion.objects.exists()
    page.click(
        "tr:has-text('Sciure et copeaux de chêne') >> button:has-text('Chercher des partenaires')"
    )
    page.wait_for_selector("text=Recherche terminée")
    assert "Partenaires pour" in page.inner_text("h1")
    partners = page.locator("#partners article.suggestion")
    assert partners.count() >= 1
    first = partners.first
    assert "Chaufferie de Melun" in first.inner_text()
    assert "Scierie de la Brie" in first.inner_text()
    reasons = first.locator("ul.why li")
    assert reasons.count() >= 1 and reasons.first.inner_text().strip()
    s = Suggestion.objects.get(offer_flow__establishment=sawmill, need_flow__establishment=boiler)
    estimated_t, estimated_co2e = s.tonnes_diverted, s.co2e_avoided_t
    assert estimated_t == pytest.approx(400)
    assert f"{estimated_t:.0f} t/an détournées" in first.inner_text()

    # The suggestion's page, then the introduction.
    first.locator(f"a[href='/synergies/{s.pk}/']").click()
    page.wait_for_selector("h2:has-text('Mise en relation')")
    assert "Chaufferie de Melun" in page.inner_text("article.suggestion")
    page.click("text=Proposer une mise en relation")
    page.wait_for_selector("text=Mise en relation proposée")
    assert "aucun compte utilisateur" not in page.content()
    intro = page.inner_text("#introduction")
    assert intro.count("proposée") >= 2  # both sides wait for an answer
    sign_out(page)

    # Each company is notified, opens the proposal from the notification and accepts it.
    for username, other, other_email in (
        ("scierie", "Chaufferie de Melun", "bruno@melun.test"),
        ("chaufferie", "Scierie de la Brie", "anne@brie.test"),
    ):
        sign_in(page, base, username)
        page.click("nav >> text=Notifications")
        notice = page.locator("ul.card li", has_text="Proposition de mise en relation")
        assert notice.count() == 1
        assert "Déchets de bois non traité" in notice.inner_text()
        assert "les contacts ne sont communiqués que si" in notice.inner_text()
        assert other not in page.content()  # the notification stays anonymous
        notice.locator("a").click()
        page.wait_for_selector("h1:has-text('Mes opportunités')")
        card = page.inner_text("article.opportunity")
        assert "Déchets de bois non traité" in card and "Votre réponse" in card
        assert other not in page.content() and other_email not in page.content()
        page.click("text=Accepter la mise en relation")
        page.wait_for_selector("text=Vous avez accepté la mise en relation")
        if username == "chaufferie":  # both have accepted: the partner is revealed
            page.wait_for_selector(f"text={other_email}")
            assert other in page.inner_text("article.opportunity")
        sign_out(page)

    # The sawmill was told the introduction is now mutual.
    sign_in(page, base, "scierie")
    page.click("nav >> text=Notifications")
    mutual = page.locator("ul.card li", has_text="Mise en relation acceptée")
    assert mutual.count() == 1
    assert "Les deux entreprises ont accepté" in mutual.inner_text()
    sign_out(page)

    # The advisor sees both acceptances and records the outcome: 350 t actually exchanged.
    sign_in(page, base, "conseillere")
    page.click("nav >> text=Synergies")
    page.click(f"a[href='/synergies/{s.pk}/']")
    page.wait_for_selector("#introduction")
    intro = page.inner_text("#introduction")
    assert intro.count("acceptée") >= 2
    assert "Les deux entreprises ont accepté" in intro
    assert "anne@brie.test" in intro and "bruno@melun.test" in intro
    page.select_option("#id_to_status", "implemented")
    page.fill("#id_actual_quantity", "350")
    page.fill("#id_actual_savings_eur", "4200")
    page.fill("#id_note", "Contrat signé pour 350 t par an")
    page.click("button:has-text('Valider')")
    page.wait_for_selector("h2:has-text('Résultat')")
    s.refresh_from_db()
    assert s.status == "implemented" and s.actual_quantity == pytest.approx(350)
    impact = realised_impact(s)
    assert impact["is_actual"] and impact["tonnes"] == pytest.approx(350)
    assert impact["co2e"] == pytest.approx(estimated_co2e * 350 / 400, rel=1e-3)
    result = page.inner_text("section.card:has(h2:has-text('Résultat'))")
    assert "350 t/an" in result
    assert "350,0" in result and _fr(impact["co2e"]) in result
    assert "4200 €" in result
    assert "mise en œuvre" in page.inner_text("section.card:has(h2:has-text('Historique'))")

    # The dashboard counts the quantity exchanged and its recomputed CO2e, not the estimate.
    page.click("nav >> text=Tableau de bord")
    page.wait_for_selector("#impact-tonnes")
    assert page.inner_text("#impact-tonnes strong") == "350,0 t"
    assert "1 synergie mise en œuvre" in page.inner_text("#impact-tonnes")
    assert page.inner_text("#impact-co2 strong") == f"{_fr(impact['co2e'])} tCO2e"
    implemented = page.inner_text("#implemented tbody")
    assert "350,0" in implemented and _fr(impact["co2e"]) in implemented
    assert "350,0 t" in implemented and "4\xa0200" in implemented  # quantity and savings
    assert _fr(estimated_t) not in implemented and _fr(estimated_co2e) not in implemented
