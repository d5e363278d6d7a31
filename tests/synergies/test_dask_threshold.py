"""Detections go to Dask only when large (MAILLAGE_DASK_MIN_FLOWS) or when a scheduler is set."""

import contextlib

import pytest

from maillage.engine import distributed
from maillage.synergies import services
from maillage.synergies.models import Suggestion
from tests.factories import FlowFactory
from tests.flows.factories import wood_synergy

pytestmark = pytest.mark.django_db


@pytest.fixture
def wood(territory):
    wood_synergy(territory, offered=400, needed=500)
    FlowFactory(
        establishment=territory["e78"],
        direction="need",
        resource_class="wood_fuel",
        quantity=500,
        unit="t",
    )
    return territory


def found():
    rows = Suggestion.objects.filter(kind=Suggestion.Kind.SUBSTITUTION, is_current=True)
    return sorted(rows.values_list("offer_flow_id", "need_flow_id", "score", "distance_km"))


def test_a_small_detection_without_a_scheduler_starts_no_cluster(wood, monkeypatch, settings):
    assert settings.MAILLAGE_DASK_SCHEDULER == ""

    def no_cluster(*args, **kwargs):
        raise AssertionError("a cluster was started")

    monkeypatch.setattr(distributed, "client", no_cluster)
    services.detect()
    assert found()


def test_a_large_detection_runs_on_a_cluster_with_the_same_suggestions(wood, monkeypatch, settings):
    services.detect()
    in_process = found()
    assert in_process
    Suggestion.objects.all().delete()
    started = []
    real_client = distributed.client

    @contextlib.contextmanager
    def local_threads(scheduler=None, **options):
        started.append(scheduler)
        # threads rather than processes: quick to start in a test
        with real_client(None, n_workers=2, processes=False) as c:
            yield c

    monkeypatch.setattr(distributed, "client", local_threads)
    settings.MAILLAGE_DASK_MIN_FLOWS = 1
    services.detect()
    assert started and set(started) == {""}  # one detection per chamber, each on the cluster
    assert found() == in_process
