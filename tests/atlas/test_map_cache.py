"""Cached map layers and suggestion cards (maillage.caching): an entry never answers another
visibility scope, and every kind of write (an instance saved, a queryset updated, a bulk write, a
detection, an agreement ended, a company user's sites changed) makes the next answer fresh."""

from __future__ import annotations

import datetime

import pytest
from django.core.cache import cache

from maillage import caching
from maillage.accounts import policy as accounts_policy
from maillage.accounts.models import User
from maillage.flows.models import Flow
from maillage.flows.services import build_flow
from maillage.synergies import services
from maillage.synergies.models import Suggestion
from tests.factories import FlowFactory

pytestmark = pytest.mark.django_db

LAYERS = ("/api/map/establishments", "/api/map/links", "/api/map/choropleth?level=commune")


def names(layer: dict) -> set[str]:
    return {f["properties"].get("name") for f in layer["features"]} - {None}


def bulk_flow(establishment, **kw) -> Flow:
    """A flow written by ``bulk_create`` (no save(), no signal), as the imports do."""
    flow = build_flow(establishment, unit="t", **kw)
    flow.compute_yearly()
    (flow,) = Flow.objects.bulk_create([flow])
    return flow


def layer_of(client, user, url="/api/map/establishments") -> dict:
    client.force_login(user)
    response = client.get(url)
    assert response.status_code == 200, url
    return response.json()


def test_a_cached_layer_never_answers_another_chamber(client, mapped):
    """Each advisor in turn, every layer twice (the second answer comes from the cache)."""
    seen: dict[tuple[str, str], bytes] = {}
    for who in ("advisor77", "advisor78", "advisor91", "advisor77", "advisor78"):
        client.force_login(mapped[who])
        for url in LAYERS:
            body = client.get(url).content
            seen.setdefault((who, url), body)
            assert body == seen[(who, url)], (who, url)
    assert names(layer_of(client, mapped["advisor78"])) == {"Boulangerie de Versailles-Test"}
    assert names(layer_of(client, mapped["advisor77"])) == {
        "Scierie de Melun-Test",
        "Chaufferie d'Évry-Test",
    }
    # 78 has no agreement: nothing of 77 or 91 in any of its layers.
    for url in LAYERS:
        text = layer_of(client, mapped["advisor78"], url)
        assert "Melun" not in str(text) and "Évry" not in str(text), url
    # The public choropleth (anonymous) is not the chamber's exact one.
    client.logout()
    public = client.get("/api/map/choropleth?level=commune").json()
    assert public["meta"]["exact"] is False


def test_company_users_get_their_own_layer_each(client, mapped):
    assert names(layer_of(client, mapped["company77"])) == {"Scierie de Melun-Test"}
    assert names(layer_of(client, mapped["company78"])) == {"Boulangerie de Versailles-Test"}
    assert names(layer_of(client, mapped["company77"])) == {"Scierie de Melun-Test"}


def test_establishment_edit_is_shown_at_once(client, mapped):
    advisor = mapped["advisor77"]
    assert "Scierie de Melun-Test" in names(layer_of(client, advisor))
    mapped["e77"].name = "Scierie renommée"
    mapped["e77"].save()
    assert "Scierie renommée" in names(layer_of(client, advisor))


def test_flow_changes_are_shown_at_once_saved_updated_or_bulk(client, mapped):
    advisor = mapped["advisor77"]

    def melun() -> dict:
        layer = layer_of(client, advisor)
        return next(f for f in layer["features"] if f["id"] == mapped["e77"].pk)["properties"]

    assert melun()["n_flows"] == 1
    FlowFactory(
        establishment=mapped["e77"],
        direction="offer",
        resource_class="wood_fuel",
        quantity=3,
        unit="t",
    )
    assert melun()["n_flows"] == 2
    Flow.objects.filter(establishment=mapped["e77"]).update(is_archived=True)  # no signal
    assert melun()["n_flows"] == 0
    bulk_flow(mapped["e77"], direction="need", resource_class="wood_fuel", quantity=9)
    assert melun()["n_flows"] == 1
    Flow.objects.filter(establishment=mapped["e77"], is_archived=True).delete()
    assert melun()["n_flows"] == 1


def test_detection_and_status_changes_refresh_links_and_cards(client, mapped):
    advisor = mapped["advisor77"]
    links = layer_of(client, advisor, "/api/map/links")
    assert links["features"], "the sawdust of 77 and the wood-fuel need of 91 make a link"
    assert {f["properties"]["status"] for f in links["features"]} == {"detected"}
    pk = links["features"][0]["id"]
    proposed = f'<span class="status">{Suggestion.Status.PROPOSED.label}</span>'
    client.force_login(advisor)
    assert proposed not in client.get("/synergies/").content.decode()
    Suggestion.objects.filter(pk=pk).update(status="proposed")  # a queryset update: no signal
    statuses = {
        f["id"]: f["properties"]["status"]
        for f in layer_of(client, advisor, "/api/map/links")["features"]
    }
    assert statuses[pk] == "proposed"
    client.force_login(advisor)
    assert proposed in client.get("/synergies/").content.decode()
    # A detection (bulk writes only) finds a partner for a flow added by a bulk write.
    need = bulk_flow(mapped["e91"], direction="need", resource_class="wood_fuel", quantity=60)
    before = layer_of(client, advisor, "/api/map/links")
    services.detect()
    new = set(
        Suggestion.objects.filter(need_flow=need, is_current=True).values_list("pk", flat=True)
    )
    assert new, "the detection links the new need"
    assert not new & {f["id"] for f in before["features"]}
    assert new <= {f["id"] for f in layer_of(client, advisor, "/api/map/links")["features"]}


def test_an_ended_agreement_hides_the_partner_at_once(client, mapped):
    advisor = mapped["advisor77"]
    assert "Chaufferie d'Évry-Test" in names(layer_of(client, advisor))
    before = accounts_policy.visibility_scope(advisor)
    agreement = mapped["agreement"]
    agreement.end = datetime.date.today() - datetime.timedelta(days=1)
    agreement.save()
    assert accounts_policy.visibility_scope(advisor) != before
    assert names(layer_of(client, advisor)) == {"Scierie de Melun-Test"}
    client.force_login(advisor)
    assert "Évry" not in client.get("/api/map/links").content.decode()


def test_a_company_user_who_loses_a_site_stops_seeing_it(client, mapped):
    company = mapped["company77"]
    assert names(layer_of(client, company)) == {"Scierie de Melun-Test"}
    company.establishments.remove(mapped["e77"])
    company.establishments.add(mapped["e78"])
    assert names(layer_of(client, company)) == {"Boulangerie de Versailles-Test"}


def test_a_role_change_changes_the_scope(client, mapped):
    advisor = mapped["advisor78"]
    assert names(layer_of(client, advisor)) == {"Boulangerie de Versailles-Test"}
    advisor.chamber = mapped["chambers"][0]
    advisor.save()
    assert names(layer_of(client, advisor)) == {"Scierie de Melun-Test", "Chaufferie d'Évry-Test"}
    advisor.role = User.Role.COMPANY
    advisor.chamber = None
    advisor.save()
    client.force_login(advisor)
    assert client.get("/api/map/links").json()["features"] == []


def test_cards_of_one_chamber_never_reach_another(client, mapped):
    """The same pks asked for two scopes give two entries: the names follow each reader's rights."""
    from maillage.synergies import cards

    pks = list(
        Suggestion.objects.filter(is_current=True, chamber=mapped["chambers"][0])
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    assert pks
    own = cards.cards_html(mapped["advisor77"], pks)
    other = cards.cards_html(mapped["advisor78"], pks)
    assert "Scierie de Melun-Test" in own
    assert "Scierie de Melun-Test" not in other


def test_generations_are_renewed_now_and_on_commit(django_capture_on_commit_callbacks):
    before = caching.generations(caching.TOPICS)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        caching.bump(caching.DIRECTORY)
    now = caching.generations(caching.TOPICS)
    assert now[0] != before[0] and now[1] == before[1]
    for callback in callbacks:
        callback()
    assert caching.generations(caching.TOPICS)[0] not in (before[0], now[0])


def test_a_lost_generation_is_a_new_one():
    built = []
    value = caching.get_or_build("t", ("a",), (caching.DIRECTORY,), lambda: built.append(1) or 1)
    assert value == 1 and built == [1]
    assert caching.get_or_build("t", ("a",), (caching.DIRECTORY,), lambda: 2) == 1
    cache.delete("maillage:generation:directory")
    assert caching.get_or_build("t", ("a",), (caching.DIRECTORY,), lambda: 3) == 3
