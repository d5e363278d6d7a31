"""Partners of new, changed and deleted flows come at once, the same as from an index rebuilt
from the database; in process or from the partner index server, and in process again when the
server is down."""

from __future__ import annotations

import logging
import shutil
import tempfile
import threading

import pytest
from django.test import override_settings

from maillage.synergies import partner_index, partner_server, partners
from maillage.synergies.snapshot import scope_chamber_ids
from tests.factories import FlowFactory
from tests.flows.factories import wood_synergy

pytestmark = pytest.mark.django_db


@pytest.fixture
def flows(territory):
    partners.clear_cache()
    offer, need = wood_synergy(territory, offered=400, needed=500)
    yield {**territory, "offer": offer, "need": need}
    partners.clear_cache()


@pytest.fixture
def builds(monkeypatch):
    """Counts the indexes built from a database snapshot."""
    made = []
    build = partner_index.build

    def counted(key):
        made.append(key)
        return build(key)

    monkeypatch.setattr(partner_index, "build", counted)
    return made


def rebuilt(user, flow):
    """Today's path: an index built from the database now (the cache emptied), in process."""
    partners.clear_cache()
    with override_settings(MAILLAGE_PARTNER_INDEX_SOCKET=""):
        found = partners.for_flow(user, flow)
    partners.clear_cache()
    return found


def new_need(territory, quantity=60):
    need = FlowFactory(
        establishment=territory["e91"],
        direction="need",
        resource_class="wood_fuel",
        quantity=quantity,
        unit="t",
    )
    return need


def test_new_changed_and_deleted_flows_in_process(
    flows, builds, django_capture_on_commit_callbacks
):
    advisor, offer = flows["advisor77"], flows["offer"]
    before = partners.for_flow(advisor, offer)
    assert [p["flow"] for p in before] == [flows["need"].pk]
    with django_capture_on_commit_callbacks(execute=True):
        added = new_need(flows)
    live_offer = partners.for_flow(advisor, offer)
    live_need = partners.for_flow(advisor, added)
    assert len(builds) == 1  # no rebuild for the new flow
    assert {p["flow"] for p in live_offer} == {flows["need"].pk, added.pk}
    assert [p["flow"] for p in live_need] == [offer.pk]
    expected_offer, expected_need = rebuilt(advisor, offer), rebuilt(advisor, added)
    assert live_offer == expected_offer and live_need == expected_need

    # changed: the first need grows past the offer, the new one becomes an offer of no use
    partners.for_flow(advisor, offer)
    builds.clear()
    with django_capture_on_commit_callbacks(execute=True):
        flows["need"].quantity = flows["need"].yearly_quantity = 5000
        flows["need"].save()
        added.direction = "offer"
        added.save()
    live_offer = partners.for_flow(advisor, offer)
    assert builds == []
    assert [p["flow"] for p in live_offer] == [flows["need"].pk]
    assert live_offer[0]["coverage"] == round(400 / 5000, 4)
    assert live_offer == rebuilt(advisor, offer)

    # deleted
    partners.for_flow(advisor, offer)
    builds.clear()
    with django_capture_on_commit_callbacks(execute=True):
        flows["need"].delete()
    assert partners.for_flow(advisor, offer) == [] == rebuilt(advisor, offer)
    assert builds == [partner_index.scope_key(scope_chamber_ids(flows["e77"].chamber))]


class RunningServer:
    """A partner index server in a thread, on a socket of its own. Its indexes are built in the
    test's thread (the test's database transaction is not visible from another connection)."""

    def __init__(self, keys):
        self.dir = tempfile.mkdtemp(prefix="maillage-pi-", dir="/tmp")
        self.address = f"{self.dir}/partners.sock"
        built = {key: partner_index.build(key) for key in keys}
        self.server = partner_server.Server(build=built.__getitem__, refresh_s=3600)
        ready = threading.Event()
        self.thread = threading.Thread(target=self.server.serve, args=(self.address, ready))
        self.thread.start()
        assert ready.wait(10)

    def stop(self):
        self.server.stop(self.address)
        self.thread.join(10)
        shutil.rmtree(self.dir, ignore_errors=True)


def test_the_server_holds_the_index_and_the_api_falls_back_when_it_is_down(
    flows, client, django_capture_on_commit_callbacks, caplog
):
    advisor, offer = flows["advisor77"], flows["offer"]
    keys = {partner_index.scope_key(scope_chamber_ids(flows[e].chamber)) for e in ("e77", "e91")}
    running = RunningServer(keys)
    try:
        with override_settings(MAILLAGE_PARTNER_INDEX_SOCKET=running.address):
            assert partner_server.request(("ping",)) == {}
            partners.for_flow(advisor, offer)  # the server builds the scope
            with django_capture_on_commit_callbacks(execute=True):
                added = new_need(flows)
            got_offer = partners.for_flow(advisor, offer)
            got_need = partners.for_flow(advisor, added)
            assert partners._cache == {}  # answered by the server, nothing built here
            assert set(running.server.scopes) <= keys and running.server.scopes
        assert {p["flow"] for p in got_offer} == {flows["need"].pk, added.pk}
        assert got_offer == rebuilt(advisor, offer)
        assert got_need == rebuilt(advisor, added)

        with override_settings(MAILLAGE_PARTNER_INDEX_SOCKET=running.address):
            # a deletion reaches the server
            with django_capture_on_commit_callbacks(execute=True):
                added.delete()
            assert [p["flow"] for p in partners.for_flow(advisor, offer)] == [flows["need"].pk]
            running.stop()
            # down: the API answers from an index built in process, and says so in the log
            with caplog.at_level(logging.WARNING, logger="maillage.synergies.partners"):
                fallback = partners.for_flow(advisor, offer)
            assert "unavailable" in caplog.text
            assert partners._cache
            assert fallback == rebuilt(advisor, offer)
            # the endpoint too
            token = flows["advisor77"]
            from maillage.accounts.tokens import create_token

            headers = {"Authorization": f"Bearer {create_token(token, 'test')}"}
            r = client.get(f"/api/flows/{offer.pk}/partners", headers=headers)
            assert r.status_code == 200 and [p["flow"] for p in r.json()] == [flows["need"].pk]
            # restarted: served again, with the flows written while it was down
            with django_capture_on_commit_callbacks(execute=True):
                later = new_need(flows, quantity=30)
        partners.clear_cache()
        running = RunningServer(keys)
        with override_settings(MAILLAGE_PARTNER_INDEX_SOCKET=running.address):
            served = partners.for_flow(advisor, later)
            assert partners._cache == {}
        assert served == rebuilt(advisor, later) and served
    finally:
        running.stop()


def test_a_scope_gets_no_flow_of_another(flows):
    """The server answers from the scope asked for only: a flow outside it has no partners."""
    key_77 = partner_index.scope_key(scope_chamber_ids(flows["e77"].chamber))
    versailles = FlowFactory(
        establishment=flows["e78"],
        direction="need",
        resource_class="wood_fuel",
        quantity=500,
        unit="t",
    )
    live = partner_index.build(key_77)
    assert partner_index.answer(live, key_77, partner_index.records(versailles), 20) == []
    assert live.row_of(versailles.pk) is None
    offer_rows = partner_index.answer(live, key_77, partner_index.records(flows["offer"]), 20)
    assert [r[0] for r in offer_rows] == [flows["need"].pk]
